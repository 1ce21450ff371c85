// The engine's private state: partners, timers, the cascade queue.
#pragma once

#include <deque>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ptag/engine.hpp"
#include "ptag/string_map.hpp"

namespace ptag {

struct Attribute {
  std::string name;
  Value::Kind kind = Value::Kind::number;
  std::int64_t number = 0;
  std::string text;
};

// The heap holds at most one live entry per timer: `queued` is the deadline
// of that entry. A deadline that moves later is not pushed again; when the
// old entry surfaces it is pushed anew at the current deadline.
inline constexpr Seconds kNotQueued = INT64_MIN;

struct Expiry {
  TagId tag;
  Seconds deadline;
  RuleId rule;          // the rule whose `add ... for` set it (§9.10)
  std::uint32_t order;  // its instruction's pc: (action, tag) order (§9.9)
  Seconds queued = kNotQueued;
};

struct TimerState {
  Seconds deadline = 0;
  bool armed = false;  // inactive / no_referral: until it fires; anniversary: until it fires once
  Seconds queued = kNotQueued;
};

struct Partner {
  std::string id;
  std::uint32_t index = 0;  // order of first appearance
  std::vector<std::uint64_t> tag_bits;
  std::vector<TagId> tags_in_order;
  std::array<std::int64_t, kMetrics> metrics{};  // counts, or millionths for money
  StringSet customers;
  Seconds joined_at = 0, last_activity = 0, last_referral = 0;
  bool had_signup = false;
  std::uint8_t firsts = 0;  // bit per event type already seen
  std::vector<bool> milestones;
  std::vector<TimerState> timers;  // per timer slot
  std::vector<Expiry> expiries;
  std::vector<Attribute> attributes;

  // A tag a segment query names but the program never adds is simply absent.
  bool has(TagId t) const {
    return t / 64 < tag_bits.size() && ((tag_bits[t / 64] >> (t % 64)) & 1);
  }
  const Attribute* attribute(std::string_view name) const {
    for (const Attribute& a : attributes) {
      if (a.name == name) return &a;
    }
    return nullptr;
  }
};

// A scheduled timer: a rule's trigger (order 0) or a tag's expiry (order pc+1).
struct TimerEntry {
  Seconds deadline;
  std::uint32_t partner;
  RuleId rule;
  std::uint32_t order;
  TagId tag;

  bool operator>(const TimerEntry& o) const {
    if (deadline != o.deadline) return deadline > o.deadline;
    if (partner != o.partner) return partner > o.partner;
    if (rule != o.rule) return rule > o.rule;
    return order > o.order;
  }
};

// What the rules of one event or timer see.
struct Context {
  const Event* event = nullptr;  // none for timers
  Seconds record_time = 0;       // the event's own time or the timer's deadline
  bool timer = false;
};

// Whole days from `from` to `to`, rounded down, in millionths (days_since_*).
inline std::int64_t whole_days(Seconds from, Seconds to) {
  Seconds d = to - from;
  Seconds days = d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
  return days * 1'000'000;
}

// Evaluates a rule's guard: 1 true, 0 false, -1 error (§9.15).
int evaluate_guard(const Program& program, std::uint32_t pc, const Partner& partner,
                   const Event* event, Seconds now);

}  // namespace ptag
