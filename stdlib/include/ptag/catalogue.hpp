// The built-in catalogue: triggers, metrics, event types, duration units and
// rule packs. One table each; the compiler and runtime look things up here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ptag {

// What follows a trigger's keyword.
enum class TriggerShape : std::uint8_t {
  bare,       // on join
  duration,   // on inactive 30d
  text,       // on event "contract.signed", on tag_added "VIP"
  milestone,  // on milestone revenue >= 5000
};

// What makes a trigger fire.
enum class TriggerKind : std::uint8_t {
  each_event,    // every event of one type
  first_event,   // the partner's first event of one type
  custom_event,  // every custom event with a given name
  milestone,     // the event that first makes a metric reach a threshold
  timer,         // the clock reaching a deadline (no current event)
  tag_change,    // a tag actually added to or removed from the partner
};

struct TriggerInfo {
  std::string_view name;
  TriggerShape shape;
  TriggerKind kind;
  std::string_view event_type;  // for each_event / first_event
  std::string_view summary;
  std::string_view detail;  // what a user needs to know beyond the summary (editor hovers)
};

// A name a guard can read (a metric, days_since_*), and what it holds.
struct GuardNameInfo {
  std::string_view name;
  std::string_view summary;
};

struct EventTypeInfo {
  std::string_view name;
  bool activity;  // moves last_activity
  bool referral;  // moves last_referral
  bool needs_amount;
};

struct DurationUnit {
  std::string_view name;
  std::int64_t seconds;
  std::string_view word;  // singular: "day"
};

struct RulePack {
  std::string_view name;  // "std/onboarding"
  std::string_view text;
};

const std::vector<TriggerInfo>& triggers();
const std::vector<EventTypeInfo>& event_types();
const std::vector<std::string_view>& metrics();
// Names a guard may read besides metrics and constants.
const std::vector<std::string_view>& guard_builtins();
// The metrics and the built-ins with what they hold, in the order of metrics() and guard_builtins().
const std::vector<GuardNameInfo>& metric_infos();
const std::vector<GuardNameInfo>& guard_builtin_infos();
// A metric's or built-in's entry, or nullptr.
const GuardNameInfo* find_guard_name(std::string_view name);
const std::vector<DurationUnit>& duration_units();
const std::vector<RulePack>& rule_packs();

const TriggerInfo* find_trigger(std::string_view name);
const EventTypeInfo* find_event_type(std::string_view name);
bool is_metric(std::string_view name);
bool is_guard_builtin(std::string_view name);  // days_since_join, days_since_activity
std::optional<std::int64_t> unit_seconds(std::string_view unit);
const RulePack* find_rule_pack(std::string_view name);

// Names of a table, for "did you mean" suggestions and messages.
template <typename T>
std::vector<std::string_view> names_of(const std::vector<T>& table) {
  std::vector<std::string_view> out;
  for (const T& entry : table) out.push_back(entry.name);
  return out;
}

// "a, b and c", for help texts made from a table.
std::string names_and(const std::vector<std::string_view>& names);

}  // namespace ptag
