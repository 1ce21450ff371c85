// The timer queue: a calendar of buckets of 2^Shift seconds. A push appends
// to the bucket of its deadline; a bucket is sorted by (deadline, partner)
// only when the clock reaches it, and then drained in order. See
// docs/performance.md ("Timers: a calendar queue").
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <vector>

#include "ptag/time.hpp"

namespace ptag {

// A timer-queue entry: the partner's earliest deadline when it was queued.
struct TimerEntry {
  Seconds deadline;
  std::uint32_t partner;

  bool before(const TimerEntry& o) const {
    return deadline != o.deadline ? deadline < o.deadline : partner < o.partner;
  }
};
static_assert(sizeof(TimerEntry) == 16);

// A 4-ary min-heap of entries whose four children share one 64-byte cache
// line. The calendar keeps its far future and its late pushes in one.
class TimerHeap {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  const TimerEntry& top() const { return at(0); }

  void push(TimerEntry e) {
    if (size_ == capacity_) grow();
    std::size_t i = size_++;
    while (i > 0) {
      std::size_t parent = (i - 1) / 4;
      if (!e.before(at(parent))) break;
      at(i) = at(parent);
      i = parent;
    }
    at(i) = e;
  }

  void pop() {
    TimerEntry last = at(--size_);
    if (size_ == 0) return;
    std::size_t i = 0;
    for (;;) {
      std::size_t first = 4 * i + 1;
      if (first >= size_) break;
      std::size_t end = first + 4 < size_ ? first + 4 : size_;
      std::size_t best = first;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (at(c).before(at(best))) best = c;
      }
      if (!at(best).before(last)) break;
      at(i) = at(best);
      i = best;
    }
    at(i) = last;
  }

 private:
  // Slot i lives at buffer index i + 3, so children 4i+1..4i+4 start on a
  // 64-byte boundary.
  static constexpr std::size_t kPad = 3;
  struct Free {
    void operator()(TimerEntry* p) const { std::free(p); }
  };
  TimerEntry& at(std::size_t i) { return buffer_.get()[i + kPad]; }
  const TimerEntry& at(std::size_t i) const { return buffer_.get()[i + kPad]; }

  void grow() {
    std::size_t capacity = capacity_ ? capacity_ * 2 : 64;
    std::size_t bytes = (capacity + kPad + 1) * sizeof(TimerEntry);
    bytes = (bytes + 63) / 64 * 64;
    auto* fresh = static_cast<TimerEntry*>(std::aligned_alloc(64, bytes));
    if (!fresh) throw std::bad_alloc();
    if (size_) std::memcpy(fresh + kPad, buffer_.get() + kPad, size_ * sizeof(TimerEntry));
    buffer_.reset(fresh);
    capacity_ = capacity;
  }

  std::unique_ptr<TimerEntry, Free> buffer_;
  std::size_t size_ = 0, capacity_ = 0;
};

// What the queue asks of its owner when a bucket comes due: `touch` starts
// loading a partner's state, `keep` says whether an entry is still live.
// Dropped entries are never returned; the default keeps every entry.
struct KeepAllTimers {
  void touch(std::uint32_t) const {}
  bool keep(const TimerEntry&) const { return true; }
};

// Buckets b (deadlines in [b << Shift, (b + 1) << Shift)) in the window
// [base_, base_ + 2^RingBits) live in a ring of appends; later ones wait in
// an overflow heap and move into the ring as the window passes them. The
// bucket being drained is a sorted array; a push into it, or before it,
// goes to a small heap beside it, and the top is the smaller of the two, so
// the order is exactly (deadline, partner) whatever is pushed when.
template <int Shift, int RingBits>
class CalendarQueue {
  static_assert(Shift >= 2 && Shift <= 31, "an offset within a bucket must fit in 32 bits");
  static_assert(RingBits >= 6 && RingBits <= 20);
  static constexpr std::size_t kBuckets = std::size_t{1} << RingBits;
  static constexpr std::size_t kWords = kBuckets / 64;
  static constexpr std::size_t kAhead = 8;  // how far ahead for_next looks

 public:
  static constexpr Seconds kBucketSeconds = Seconds{1} << Shift;

  CalendarQueue() : ring_(kBuckets), bits_(kWords, 0) {}

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  void push(TimerEntry e) {
    Seconds b = bucket_of(e.deadline);
    if (size_++ == 0) {
      base_ = b;  // an empty queue starts its window anywhere
      next_known_ = false;
    }
    if (b < base_) {
      // Before the window: into the current bucket's heap, unless nothing
      // is being drained and the window can simply start earlier.
      if (current() || (in_ring_ && ring_max_ >= b + static_cast<Seconds>(kBuckets))) {
        late_.push(e);
        return;
      }
      base_ = b;
    }
    if (b - base_ >= static_cast<Seconds>(kBuckets)) {
      overflow_.push(e);
      return;
    }
    append(b, e);
  }

  // The first entry if its deadline is at or before `limit`, else null.
  // Every bucket the clock (`limit`) has reached is sorted on the way.
  template <typename Hooks>
  const TimerEntry* next_due(Seconds limit, const Hooks& hooks) {
    if (!current() && !take_due(bucket_of(limit), hooks)) return nullptr;
    load_top();
    return top_.deadline <= limit ? &top_ : nullptr;
  }
  const TimerEntry* next_due(Seconds limit) { return next_due(limit, KeepAllTimers{}); }

  // The first entry; the queue must not be empty.
  const TimerEntry& top() {
    next_due(std::numeric_limits<Seconds>::max());
    return top_;
  }

  // Removes the first entry; the queue must not be empty.
  void pop() {
    if (!current()) take_due(std::numeric_limits<Seconds>::max() >> Shift, KeepAllTimers{});
    --size_;
    if (head_ < drain_.size() && (late_.empty() || !late_.top().before(drained(head_)))) {
      ++head_;
    } else {
      late_.pop();
    }
  }

  // An entry a few places after the first in the bucket being drained, so
  // that its partner can load while the ones before it are handled.
  template <typename Fn>
  void for_next(const Fn& fn) const {
    if (head_ + kAhead < drain_.size()) fn(drained(head_ + kAhead));
  }

 private:
  static Seconds bucket_of(Seconds t) { return t >> Shift; }  // floor, also below zero
  static std::size_t slot_of(Seconds b) { return static_cast<std::size_t>(b) & (kBuckets - 1); }

  bool current() const { return head_ < drain_.size() || !late_.empty(); }

  // An entry of a bucket as one sortable number: its offset in the bucket,
  // then its partner.
  static std::uint64_t key_of(const TimerEntry& e) {
    auto offset = static_cast<std::uint64_t>(e.deadline & (kBucketSeconds - 1));
    return offset << 32 | e.partner;
  }
  TimerEntry drained(std::size_t i) const {
    std::uint64_t k = drain_[i];
    return {drain_start_ + static_cast<Seconds>(k >> 32), static_cast<std::uint32_t>(k)};
  }

  void load_top() {
    if (head_ < drain_.size()) {
      top_ = drained(head_);
      if (!late_.empty() && late_.top().before(top_)) top_ = late_.top();
    } else {
      top_ = late_.top();
    }
  }

  void append(Seconds b, const TimerEntry& e) {
    std::size_t s = slot_of(b);
    ring_[s].push_back(key_of(e));
    bits_[s / 64] |= std::uint64_t{1} << (s % 64);
    if (in_ring_++ == 0 || b > ring_max_) ring_max_ = b;
    if (next_known_ && b < next_) next_ = b;
  }

  // The first non-empty bucket of the ring (which must not be empty).
  Seconds first_in_ring() {
    if (next_known_) return next_;
    std::size_t start = slot_of(base_);
    std::size_t w = start / 64;
    std::uint64_t m = bits_[w] & (~std::uint64_t{0} << (start % 64));
    for (std::size_t i = 0; !m && i < kWords; ++i) {
      w = (w + 1) % kWords;
      m = bits_[w];
    }
    std::size_t s = w * 64 + static_cast<std::size_t>(std::countr_zero(m));
    next_ = base_ + static_cast<Seconds>((s - start) & (kBuckets - 1));
    next_known_ = true;
    return next_;
  }

  // Moves the window to start at bucket `b`; nothing in the ring is before it.
  void rebase(Seconds b) {
    base_ = b;
    while (!overflow_.empty() &&
           bucket_of(overflow_.top().deadline) - base_ < static_cast<Seconds>(kBuckets)) {
      append(bucket_of(overflow_.top().deadline), overflow_.top());
      overflow_.pop();
    }
  }

  // Makes the first bucket at or before bucket `now` current: sorted, with
  // the entries `hooks` drops removed. False if there is none.
  template <typename Hooks>
  bool take_due(Seconds now, const Hooks& hooks) {
    for (;;) {
      if (in_ring_ == 0) {
        if (overflow_.empty()) return false;
        Seconds b = bucket_of(overflow_.top().deadline);
        if (b > now) {
          if (now > base_) rebase(now);
          return false;
        }
        next_known_ = false;
        rebase(b);  // a jump over empty time, however far
      }
      Seconds b = first_in_ring();
      if (b > now) {
        if (now > base_) rebase(now);  // the window follows the clock
        return false;
      }
      std::size_t s = slot_of(b);
      // The drained bucket's storage goes: memory follows the entries queued.
      drain_ = std::move(ring_[s]);
      ring_[s] = {};
      bits_[s / 64] &= ~(std::uint64_t{1} << (s % 64));
      in_ring_ -= drain_.size();
      next_known_ = false;
      head_ = 0;
      drain_start_ = b << Shift;
      rebase(b + 1);
      filter(hooks);
      std::sort(drain_.begin(), drain_.end());
      if (!drain_.empty()) return true;
    }
  }

  // Drops what `hooks` calls stale, loading each partner a few entries ahead.
  template <typename Hooks>
  void filter(const Hooks& hooks) {
    constexpr std::size_t kLead = 16;
    std::size_t n = drain_.size(), kept = 0;
    for (std::size_t i = 0; i < n && i < kLead; ++i) hooks.touch(static_cast<std::uint32_t>(drain_[i]));
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kLead < n) hooks.touch(static_cast<std::uint32_t>(drain_[i + kLead]));
      if (hooks.keep(drained(i))) drain_[kept++] = drain_[i];
    }
    size_ -= n - kept;
    drain_.resize(kept);
  }

  std::vector<std::vector<std::uint64_t>> ring_;  // keys by bucket, unsorted
  std::vector<std::uint64_t> bits_;               // which ring slots hold keys
  TimerHeap overflow_;                            // buckets at or after base_ + 2^RingBits
  TimerHeap late_;                                // pushes before base_ while draining
  std::vector<std::uint64_t> drain_;              // the current bucket, sorted
  std::size_t head_ = 0;                          // drain_[head_] is its next entry
  Seconds drain_start_ = 0;                       // its first second
  Seconds base_ = 0;                              // the ring's first bucket
  Seconds ring_max_ = 0;                          // no ring bucket is after it
  Seconds next_ = 0;                              // the ring's first non-empty bucket,
  bool next_known_ = false;                       //   if known
  std::size_t in_ring_ = 0, size_ = 0;
  TimerEntry top_{};
};

// Buckets of 2^12 s (68 minutes); the ring covers 388 days, so the
// workload's 30d to 365d timers are appends and never meet the heap.
using TimerQueue = CalendarQueue<12, 13>;

}  // namespace ptag
