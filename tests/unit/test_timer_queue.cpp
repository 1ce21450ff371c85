// The calendar timer queue against a plain priority queue: the same pushes
// and pops must give the same entries in the same (deadline, partner) order.
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "timer_queue.hpp"

using ptag::Seconds;
using ptag::TimerEntry;

namespace {

struct Later {
  bool operator()(const TimerEntry& a, const TimerEntry& b) const { return b.before(a); }
};
using Reference = std::priority_queue<TimerEntry, std::vector<TimerEntry>, Later>;

bool same(const TimerEntry& a, const TimerEntry& b) {
  return a.deadline == b.deadline && a.partner == b.partner;
}

// Drives a queue and the reference with one random script: pushes around a
// moving clock (some before it, some in the bucket being drained, many on
// equal deadlines, some years ahead), pops of everything due, and emptying.
template <typename Queue>
void drive(std::uint32_t seed, Seconds bucket, int steps) {
  Queue q;
  Reference ref;
  std::mt19937_64 rng(seed);
  auto pick = [&](std::uint64_t n) { return static_cast<std::int64_t>(rng() % n); };
  Seconds clock = pick(1000) - 500;  // below zero too
  std::uint64_t popped = 0;
  for (int step = 0; step < steps; ++step) {
    int what = static_cast<int>(pick(100));
    if (what < 55) {
      Seconds deadline = clock;
      switch (pick(8)) {
        case 0: deadline = clock - pick(3 * bucket); break;   // before the clock: first out
        case 1: deadline = clock + pick(bucket); break;       // the bucket being drained
        case 2: deadline = clock; break;                      // due now
        case 3: deadline = clock + pick(4) * bucket; break;   // equal deadlines, near
        case 4: deadline = clock + pick(5000) * bucket; break;  // past the ring
        case 5: deadline = clock + (pick(2) ? 1 : -1) * (Seconds{1} << (20 + pick(30))); break;  // years
        default: deadline = clock + pick(50 * bucket); break;
      }
      TimerEntry e{deadline, static_cast<std::uint32_t>(pick(pick(2) ? 4 : 1'000'000))};
      q.push(e);
      ref.push(e);
    } else if (what < 90) {
      // Everything due at a clock that moves on, sometimes far.
      clock += pick(10) == 0 ? pick(Seconds{1} << 40) : pick(3 * bucket);
      while (const TimerEntry* t = q.next_due(clock)) {
        REQUIRE(!ref.empty());
        REQUIRE(ref.top().deadline <= clock);
        REQUIRE(same(*t, ref.top()));
        q.pop();
        ref.pop();
        ++popped;
      }
      REQUIRE((ref.empty() || ref.top().deadline > clock));
    } else if (what < 97) {
      // A few pops regardless of the clock, through top().
      for (std::int64_t i = 0, k = pick(20); i < k && !ref.empty(); ++i) {
        REQUIRE(!q.empty());
        REQUIRE(same(q.top(), ref.top()));
        q.pop();
        ref.pop();
        ++popped;
      }
    } else {
      // Empty it, then refill from a clock somewhere else.
      while (!ref.empty()) {
        REQUIRE(same(q.top(), ref.top()));
        q.pop();
        ref.pop();
        ++popped;
      }
      REQUIRE(q.empty());
      clock += pick(2) ? pick(Seconds{1} << 36) : -pick(Seconds{1} << 36);
    }
    REQUIRE(q.size() == ref.size());
  }
  while (!ref.empty()) {
    REQUIRE(same(q.top(), ref.top()));
    q.pop();
    ref.pop();
  }
  REQUIRE(q.empty());
  REQUIRE(popped > static_cast<std::uint64_t>(steps) / 4);
}

}  // namespace

TEST_CASE("the calendar queue pops in (deadline, partner) order like a heap", "[timers]") {
  // Tiny buckets and a tiny ring: every path (wrap, overflow, jumps) is hot.
  for (std::uint32_t seed = 1; seed <= 40; ++seed) drive<ptag::CalendarQueue<2, 6>>(seed, 4, 3000);
  // The engine's shape.
  for (std::uint32_t seed = 100; seed <= 110; ++seed) drive<ptag::TimerQueue>(seed, ptag::TimerQueue::kBucketSeconds, 20000);
}

TEST_CASE("equal deadlines come out by partner, whatever the push order", "[timers]") {
  ptag::TimerQueue q;
  const Seconds t = 1'800'000'000;
  for (std::uint32_t p : {7u, 3u, 9u, 1u, 3u}) q.push({t, p});
  q.push({t - 1, 8});
  REQUIRE(q.next_due(t - 2) == nullptr);
  const TimerEntry* first = q.next_due(t);
  REQUIRE(first);
  CHECK(first->deadline == t - 1);
  q.pop();
  // The bucket is being drained now: a push into it keeps the order.
  q.push({t, 2});
  q.push({t, 0});
  std::vector<std::uint32_t> order;
  while (const TimerEntry* e = q.next_due(t)) {
    CHECK(e->deadline == t);
    order.push_back(e->partner);
    q.pop();
  }
  CHECK(order == std::vector<std::uint32_t>{0, 1, 2, 3, 3, 7, 9});
  CHECK(q.empty());
}

TEST_CASE("a push before the bucket being drained comes out first", "[timers]") {
  ptag::TimerQueue q;
  const Seconds b = ptag::TimerQueue::kBucketSeconds;
  q.push({10 * b + 5, 1});
  q.push({10 * b + 9, 2});
  REQUIRE(q.next_due(10 * b + 5));  // bucket 10 is current now
  q.push({3 * b, 4});               // far before it
  q.push({10 * b + 6, 3});          // inside it
  std::vector<std::uint32_t> order;
  while (!q.empty()) {
    order.push_back(q.top().partner);
    q.pop();
  }
  CHECK(order == std::vector<std::uint32_t>{4, 1, 3, 2});
}

TEST_CASE("a jump over years finds the next bucket without waiting for it", "[timers]") {
  ptag::TimerQueue q;
  const Seconds year = 365 * 86400;
  q.push({0, 1});
  q.push({40 * year, 2});    // far past the ring
  q.push({40 * year, 0});
  q.push({200 * year, 3});
  REQUIRE(q.next_due(0));
  q.pop();
  REQUIRE(q.next_due(40 * year - 1) == nullptr);
  REQUIRE(q.next_due(100 * year));
  CHECK(q.next_due(100 * year)->partner == 0);
  q.pop();
  CHECK(q.next_due(100 * year)->partner == 2);
  q.pop();
  CHECK(q.next_due(100 * year) == nullptr);
  // A near deadline after the jump goes in front of the far one.
  q.push({100 * year + 30 * 86400, 4});
  CHECK(q.top().partner == 4);
  CHECK(q.size() == 2);
}

namespace {
// Marks entries stale after their push, as a partner's earlier deadline does.
struct Stale {
  std::set<std::pair<Seconds, std::uint32_t>>* dead;
  void touch(std::uint32_t) const {}
  bool keep(const TimerEntry& e) const { return !dead->count({e.deadline, e.partner}); }
};
}  // namespace

TEST_CASE("entries dropped when their bucket comes due never come out", "[timers]") {
  std::mt19937_64 rng(7);
  ptag::CalendarQueue<4, 6> q;
  Reference ref;
  std::set<std::pair<Seconds, std::uint32_t>> dead;
  Stale hooks{&dead};
  Seconds clock = 0;
  std::size_t dropped = 0;
  for (int step = 0; step < 20000; ++step) {
    if (rng() % 2) {
      TimerEntry e{clock + static_cast<Seconds>(rng() % 2000), static_cast<std::uint32_t>(rng() % 1000)};
      q.push(e);
      ref.push(e);
      if (rng() % 4 == 0) dead.insert({e.deadline, e.partner});
    } else {
      clock += static_cast<Seconds>(rng() % 40);
      while (const TimerEntry* t = q.next_due(clock, hooks)) {
        // The reference skips the dead lazily; the queue may have dropped them.
        while (!ref.empty() && ref.top().before(*t) && dead.count({ref.top().deadline, ref.top().partner})) {
          ref.pop();
          ++dropped;
        }
        REQUIRE(!ref.empty());
        REQUIRE(same(*t, ref.top()));
        q.pop();
        ref.pop();
      }
    }
  }
  CHECK(dropped > 1000);  // most dead entries were dropped, not returned
}

TEST_CASE("an earlier push while nothing is due is found at once", "[timers]") {
  ptag::TimerQueue q;
  const Seconds b = ptag::TimerQueue::kBucketSeconds;
  q.push({10 * b + 5, 1});
  REQUIRE(q.next_due(0) == nullptr);  // the queue has looked for its next bucket
  q.push({3 * b, 2});                 // before it
  REQUIRE(q.next_due(3 * b - 1) == nullptr);
  const TimerEntry* e = q.next_due(3 * b);
  REQUIRE(e);
  CHECK(e->partner == 2);
}

TEST_CASE("entries beyond the ring move into it as the window passes them", "[timers]") {
  ptag::CalendarQueue<2, 6> q;  // 4 s buckets, a ring of 64: 256 s
  q.push({0, 1});
  q.push({250, 2});  // in the ring
  q.push({300, 3});  // beyond it
  std::vector<std::uint32_t> order;
  order.push_back(q.top().partner);
  q.pop();
  order.push_back(q.top().partner);  // bucket 62 is current: the window reaches past 300
  q.pop();
  q.push({304, 4});  // in the ring now, after the entry that came from beyond it
  while (!q.empty()) {
    order.push_back(q.top().partner);
    q.pop();
  }
  CHECK(order == std::vector<std::uint32_t>{1, 2, 3, 4});
}
