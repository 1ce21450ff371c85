// What the compiler hands the runtime: bytecode plus tables. The runtime never
// sees the syntax tree.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ptag/catalogue.hpp"
#include "ptag/metric_table.hpp"
#include "ptag/native.hpp"
#include "ptag/opcodes.hpp"
#include "ptag/string_map.hpp"
#include "ptag/time.hpp"

namespace ptag {

using TagId = std::uint32_t;
using RuleId = std::uint32_t;
inline constexpr std::uint32_t kNone = UINT32_MAX;

// Built-in event types, in catalogue order; anything else is custom.
enum class EventType : std::uint8_t {
  join,
  update,
  click,
  signup,
  sale,
  refund,
  commission,
  custom
};
inline constexpr std::size_t kEventTypes = 8;

// The metrics, made from their table (ptag/metric_table.hpp).
#define PTAG_METRIC_ENUM(name, unit, slot, adds, by, takes, summary) name,
enum class Metric : std::uint8_t { PTAG_METRICS(PTAG_METRIC_ENUM) };
#undef PTAG_METRIC_ENUM

enum class MetricUnit : std::uint8_t { count, money };
enum class MetricChange : std::uint8_t { one, amount, new_customer };

// A metric's line of the table, as the engine and the JIT use it.
struct MetricSpec {
  Metric metric;
  MetricUnit unit;
  std::uint8_t slot;   // in Partner::counts or Partner::money
  EventType adds;      // the event type that adds to it
  MetricChange by;     // what it adds
  EventType takes;     // the event type that takes data.amount from it; custom: none
};

inline constexpr MetricSpec kMetricSpecs[] = {
#define PTAG_METRIC_SPEC(name, unit, slot, adds, by, takes, summary)                                \
  {Metric::name, MetricUnit::unit, slot, EventType::adds, MetricChange::by, EventType::takes},
#define none custom
    PTAG_METRICS(PTAG_METRIC_SPEC)
#undef none
#undef PTAG_METRIC_SPEC
};
inline constexpr std::size_t kMetrics = std::size(kMetricSpecs);

constexpr const MetricSpec& metric_spec(Metric m) {
  return kMetricSpecs[static_cast<std::size_t>(m)];
}

// How many metrics of a unit (the partner's arrays are this long).
constexpr std::size_t metrics_of_unit(MetricUnit unit) {
  std::size_t n = 0;
  for (const MetricSpec& m : kMetricSpecs) n += m.unit == unit;
  return n;
}
inline constexpr std::size_t kCountMetrics = metrics_of_unit(MetricUnit::count);
inline constexpr std::size_t kMoneyMetrics = metrics_of_unit(MetricUnit::money);

// The table is consistent: in enum order, slots numbered from 0 within each
// unit, counts changed by whole events, money by amounts.
constexpr bool metric_table_ok() {
  std::size_t next[2]{};
  for (std::size_t i = 0; i < kMetrics; ++i) {
    const MetricSpec& m = kMetricSpecs[i];
    if (static_cast<std::size_t>(m.metric) != i) return false;
    if (m.slot != next[static_cast<std::size_t>(m.unit)]++) return false;
    if ((m.unit == MetricUnit::money) != (m.by == MetricChange::amount)) return false;
    if (m.takes != EventType::custom && m.unit != MetricUnit::money) return false;
  }
  return true;
}
static_assert(metric_table_ok(), "ptag/metric_table.hpp: slots, units and changes must agree");

enum class TimerKind : std::uint8_t { anniversary, inactive, no_referral };
inline constexpr std::size_t kTimerKinds = 3;

EventType event_type_of(std::string_view type);
std::string_view metric_name(Metric m);

// A constant value in the program (list elements).
struct Constant {
  enum class Kind : std::uint8_t { number, text, boolean } kind = Kind::number;
  std::int64_t number = 0;  // millionths, or 0/1
  std::uint32_t text = 0;   // index into Program::texts
};

struct ProgramRule {
  std::string name;  // as records name it
  bool named = false;  // `rule "NAME"`; else the name is FILE:LINE
  TriggerKind kind = TriggerKind::each_event;
  EventType event_type = EventType::join;  // each_event / first_event
  std::uint32_t custom_type = kNone;       // custom_event: text index
  TagId tag = kNone;                       // tag_change
  bool on_added = true;                    // tag_added (or tag_removed)
  Metric metric = Metric::revenue;         // milestone
  std::int64_t threshold = 0;              // milestone, millionths
  TimerKind timer = TimerKind::inactive;   // timer
  Seconds duration = 0;                    // timer
  std::uint32_t guard = kNone;             // entry pc, or kNone for no guard
  std::uint32_t actions = 0;               // entry pc
  std::string trigger_text;                // for the disassembler
};

// The rules by what triggers them: built once, by lowering, and used by the
// engine, the JIT and snapshots (each in source order unless it says).
struct RuleIndex {
  // Every-event and first-of-type rules, by built-in event type.
  std::array<std::vector<RuleId>, kEventTypes> plain, firsts;
  // What an event of a type may trigger besides its plain rules: its firsts,
  // and the milestones on the metrics it changes (the JIT compiles these in).
  std::array<std::vector<RuleId>, kEventTypes> besides;
  // Timer rules by kind, in latch order (duration, then source order), with
  // their durations: a partner's next timer of a kind is the next in line.
  std::array<std::vector<RuleId>, kTimerKinds> timers;
  std::array<std::vector<Seconds>, kTimerKinds> durations;
  // Milestone rules by metric, in latch order (threshold, then source), with
  // their thresholds.
  std::array<std::vector<RuleId>, kMetrics> milestones;
  std::array<std::vector<std::int64_t>, kMetrics> thresholds;
  StringMap<std::vector<RuleId>> custom;            // custom-event rules by type name
  std::vector<std::vector<RuleId>> added, removed;  // tag_added / tag_removed rules by tag
};

struct Program {
  std::vector<std::uint8_t> code;
  std::vector<std::string> tags;
  std::vector<std::string> texts;
  std::vector<std::vector<Constant>> lists;
  std::vector<ProgramRule> rules;  // source order
  std::vector<std::vector<TagId>> exclusive_groups;
  std::vector<std::uint32_t> group_of_tag;  // per tag: its group or kNone

  // The rules by what triggers them, built once by lowering.
  RuleIndex index;
  // `currency "EUR"`, in upper case; empty without a declaration.
  std::string currency;
  // `timezone "Europe/Berlin"`: the program's calendar (days, weeks, months)
  // for windows; "UTC" without a declaration.
  std::string timezone = "UTC";
  // A segment query (compile_segment): one guard at pc 0, its tags those of
  // the program it was compiled against, then any it names that are new.
  bool segment_query = false;
  // Native code for the guards (the JIT, jit/), or null: the bytecode
  // interpreter runs them. Engines use it for every rule it compiled.
  std::shared_ptr<const NativeCode> native;

  template <typename T>
  T read(std::size_t pc) const {
    T value;
    std::memcpy(&value, code.data() + pc, sizeof(T));
    return value;
  }
};

// Whether an event of `type` can change `metric` (and so pass a milestone
// on it): what the engine's state update does with each type.
constexpr bool changes_metric(EventType type, Metric metric) {
  const MetricSpec& m = metric_spec(metric);
  return type != EventType::custom && (m.adds == type || m.takes == type);
}

// Rules with a guard: what decides whether the JIT pays (kJitGuardedRules).
inline std::size_t guarded_rules(const Program& program) {
  std::size_t n = 0;
  for (const ProgramRule& r : program.rules) n += r.guard != kNone;
  return n;
}

// Prints the Program readably: tables, then each rule's trigger, guard and
// actions as instructions. The compiler's tests compare this text.
std::string disassemble(const Program& program);

}  // namespace ptag
