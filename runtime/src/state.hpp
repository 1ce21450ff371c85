// The engine's private state: partners, timers, the cascade queue.
//
// Layout (docs/performance.md): a partner is one 128-byte struct in a
// vector, numbered in order of first appearance. What few partners have
// (attributes, expiring tags) lives in a side table; tags past the 64th in a
// side array of bit words. Per timer kind a partner keeps only how many of
// that kind's rules (sorted by duration) have fired since it was armed, and
// the timer queue holds one live entry per partner: its earliest deadline.
#pragma once

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ptag/engine.hpp"
#include "ptag/state_rows.hpp"
#include "applied_ids.hpp"
#include "text_table.hpp"
#include "timer_queue.hpp"

namespace ptag {

struct Attribute {
  std::string name;
  Value::Kind kind = Value::Kind::number;
  std::int64_t number = 0;
  std::string text;
};

struct Expiry {
  TagId tag;
  Seconds deadline;
  RuleId rule;          // the rule whose `add ... for` set it (§9.10)
  std::uint32_t order;  // its instruction's pc + 1: (action, tag) order (§9.9)
};

// The order expiries fire in (§4: deadline, then rule, then action; the tag
// only keeps the order total).
inline bool fires_before(const Expiry& a, const Expiry& b) {
  if (a.deadline != b.deadline) return a.deadline < b.deadline;
  if (a.rule != b.rule) return a.rule < b.rule;
  if (a.order != b.order) return a.order < b.order;
  return a.tag < b.tag;
}

// What few partners have.
struct PartnerExtra {
  std::vector<Attribute> attributes;
  // In fires_before() order, so that the next is the first: a partner may
  // hold hundreds.
  std::vector<Expiry> expiries;
  void add_expiry(const Expiry& e) {
    expiries.insert(std::upper_bound(expiries.begin(), expiries.end(), e, fires_before), e);
  }
};

inline constexpr Seconds kNotQueued = INT64_MIN;

// Tags in the order they were added: three inline, more on the heap; at
// most 65,535 (Engine refuses programs with more tags).
class TagList {
 public:
  TagList() = default;
  TagList(const TagList&) = delete;
  TagList& operator=(const TagList&) = delete;
  TagList(TagList&& o) noexcept { steal(o); }
  TagList& operator=(TagList&& o) noexcept {
    if (this != &o) {
      release();
      steal(o);
    }
    return *this;
  }
  ~TagList() { release(); }

  std::size_t size() const { return size_; }
  const TagId* begin() const { return data(); }
  const TagId* end() const { return data() + size_; }
  void push_back(TagId t) {
    if (size_ == capacity()) reserve(std::min<std::size_t>(size_ * 2u, UINT16_MAX));
    data()[size_++] = t;
  }
  void erase(TagId t) {
    TagId* d = data();
    TagId* at = std::find(d, d + size_, t);
    if (at == d + size_) return;
    std::memmove(at, at + 1, static_cast<std::size_t>(d + size_ - at - 1) * sizeof(TagId));
    --size_;
  }

 private:
  static constexpr std::uint16_t kInline = 3;
  std::uint16_t capacity() const { return cap_ ? cap_ : kInline; }
  TagId* heap() const {
    TagId* p;
    std::memcpy(&p, bytes_, sizeof p);
    return p;
  }
  TagId* data() { return cap_ ? heap() : reinterpret_cast<TagId*>(bytes_); }
  const TagId* data() const { return cap_ ? heap() : reinterpret_cast<const TagId*>(bytes_); }
  void reserve(std::size_t n) {
    TagId* p = new TagId[n];
    std::memcpy(p, data(), size_ * sizeof(TagId));
    release();
    std::memcpy(bytes_, &p, sizeof p);
    cap_ = static_cast<std::uint16_t>(n);
  }
  void release() {
    if (cap_) delete[] heap();
    cap_ = 0;
  }
  void steal(TagList& o) {
    std::memcpy(bytes_, o.bytes_, sizeof bytes_);
    size_ = o.size_;
    cap_ = o.cap_;
    o.cap_ = 0;
    o.size_ = 0;
  }

  alignas(4) unsigned char bytes_[kInline * sizeof(TagId)];
  std::uint16_t size_ = 0, cap_ = 0;  // cap_ 0: inline
};

struct Partner {
  CompactText id;
  std::int64_t money[kMoneyMetrics]{};  // the money metrics by slot, in millionths (ptag/metric_table.hpp)
  Seconds joined_at = 0, last_activity = 0, last_referral = 0;
  Seconds queued = kNotQueued;  // deadline of its live timer-queue entry
  std::uint64_t tag_bits = 0;   // tags 0-63; more in State::more_tags
  std::uint32_t counts[kCountMetrics]{};  // the count metrics by slot
  std::uint32_t extra = kNone;  // index into State::extras
  std::uint16_t timer_next[kTimerKinds]{};  // per kind: rules fired since armed
  std::uint16_t milestone_next[kMetrics]{};  // per metric: latched milestones
  std::uint8_t firsts = 0;  // bit per event type already seen
  bool expiring = false;    // it has expiring tags (in its extra)
  TagList tags;

  // A metric's stored value: a count, or millionths for money.
  std::int64_t raw(Metric m) const {
    const MetricSpec& spec = metric_spec(m);
    return spec.unit == MetricUnit::money ? money[spec.slot] : counts[spec.slot];
  }
};

// What a save renumbers: held tags the program no longer names and removed
// rules that expiring tags still name are written after the program's own;
// the others are dropped.
struct SaveMap {
  std::vector<std::uint32_t> tag;   // per engine tag id: written number, or kNone
  std::vector<std::uint32_t> rule;  // per engine rule id
  std::vector<std::string_view> tags, gone;
};

// What a snapshot saves (runtime/src/snapshot.cpp): everything the
// semantics depend on, except the timer queue, which is rebuilt from the
// partners' own deadlines, and the indexes over the program.
struct DurableState {
  // Partners, numbered in order of first appearance.
  std::vector<Partner> partners;
  std::vector<PartnerExtra> extras;
  std::vector<std::uint64_t> more_tags;  // more_words per partner
  std::size_t more_words = 0;
  PartnerIndex partner_index;
  TextArena id_arena;
  AppliedIds seen_ids;  // without a dedup window
  // With a dedup window: ids with their event times. An id older than
  // clock - window counts as never applied; forget_ids() drops such ids
  // when the clock has moved a window past the last time it did.
  std::optional<Seconds> dedup_window;
  TimedTextSet timed_ids;
  Seconds next_forget = INT64_MIN;
  TextSet customers;  // partner number (4 bytes) + customer id
  bool has_clock = false;
  Seconds clock = 0;  // the largest event time seen

  // After a rule change (docs/store.md, "Rule changes on live state"): tags
  // partners still hold that the program no longer names (ids after the
  // program's), and removed rules that expiring tags still name (ids after
  // the program's rules).
  std::vector<std::string> old_tags;
  std::vector<std::string> gone_rules;
  bool applied_before(std::string_view id, std::uint64_t hash) const {
    if (!dedup_window) return seen_ids.contains(id, hash);
    std::optional<Seconds> t = timed_ids.time_of(id, hash);
    return t && *t >= window_start();
  }
  void forget_ids() {
    if (!dedup_window || clock < next_forget) return;
    timed_ids.keep_since(window_start());
    if (rows.on) rows.forget_before = window_start();
    next_forget = clock > INT64_MAX - *dedup_window ? INT64_MAX : clock + *dedup_window;
  }
  // clock - window, saturating: a window may be as large as Seconds holds.
  Seconds window_start() const {
    return clock < INT64_MIN + *dedup_window ? INT64_MIN : clock - *dedup_window;
  }

  // What `backfill` runs: (partner, rule) in partner order, then rule order.
  std::vector<std::pair<std::uint32_t, RuleId>> backfill;

  // State rows (runtime/src/state_rows.cpp): what changed since the last
  // take, besides the partners the engine marks.
  struct RowLog {
    bool on = false;
    bool all = true;             // the next take writes everything
    std::string stored_head;     // the head the rows were restored from
    SaveMap map;                 // tag and rule numbers as written, fixed while rows are written
    std::string program_section; // the head's program part under `map`
    std::vector<std::uint32_t> customer_partners;
    TextRows customers;
    AppliedIds::Log ids;          // without a dedup window
    TextRows timed_ids;           // with one: ids applied, with their times
    std::vector<Seconds> timed_times;
    std::optional<Seconds> forget_before;
  };
  RowLog rows;
};

// The engine's state as a snapshot blob (docs/semantics.md, "Engine snapshots").
std::string save_snapshot(const Program& program, const DurableState& state);
// Fills a fresh state from a blob, matching the rules of another program
// (and listing what `backfill` runs when asked); std::invalid_argument for
// a blob that is truncated, corrupt or of a newer format.
void load_snapshot(const Program& program, std::string_view blob, DurableState& state,
                   bool backfill, RuleChanges* changes);
RuleChanges describe_snapshot_changes(const Program& program, std::string_view blob);

// State rows (runtime/src/state_rows.cpp): filling a fresh state from a
// store's rows (std::invalid_argument as load_snapshot), starting to log
// changes, and taking them.
void load_state_rows(const Program& program, StateRowsReader& in, DurableState& state, bool backfill,
                     RuleChanges* changes);
void start_state_rows(const Program& program, DurableState& state);
StateRows take_rows(const Program& program, DurableState& state, std::span<const std::uint32_t> changed);

// A metric as guards see it: millionths.
inline std::int64_t metric_value(const Partner& p, Metric m) {
  std::int64_t raw = p.raw(m);
  return (m == Metric::revenue || m == Metric::commissions) ? raw : raw * 1'000'000;
}

// One partner as a guard sees it.
struct PartnerView {
  const Partner& partner;
  const std::uint64_t* more_tags;  // words for tags 64 and up
  std::size_t more_words;
  const PartnerExtra* extra;  // null when it has none

  // A tag a segment query names but the program never adds is simply absent.
  bool has(TagId t) const {
    if (t < 64) return (partner.tag_bits >> t) & 1;
    return t / 64 - 1 < more_words && ((more_tags[t / 64 - 1] >> (t % 64)) & 1);
  }
  const Attribute* attribute(std::string_view name) const {
    if (!extra) return nullptr;
    for (const Attribute& a : extra->attributes) {
      if (a.name == name) return &a;
    }
    return nullptr;
  }
};

// What the rules of one event or timer see.
struct Context {
  const Event* event = nullptr;  // none for timers
  Seconds record_time = 0;       // the event's own time or the timer's deadline
  RecordCause cause = RecordCause::event;
};

// Whole days from `from` to `to`, rounded down, in millionths (days_since_*).
inline std::int64_t whole_days(Seconds from, Seconds to) {
  Seconds d = to - from;
  Seconds days = d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
  return days * 1'000'000;
}

// Guards' `*` and `/` on millionths, rounded half-to-even; false when the
// result does not fit (or for `/ 0`).
bool exact_multiply(std::int64_t a, std::int64_t b, std::int64_t* out);
bool exact_divide(std::int64_t a, std::int64_t b, std::int64_t* out);

// Evaluates a rule's guard: 1 true, 0 false, -1 error (§9.15).
int evaluate_guard(const Program& program, std::uint32_t pc, const PartnerView& partner,
                   const Event* event, Seconds now);

}  // namespace ptag
