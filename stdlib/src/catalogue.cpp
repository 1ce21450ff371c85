#include "ptag/catalogue.hpp"

#include <algorithm>

namespace ptag {

const std::vector<TriggerInfo>& triggers() {
  using S = TriggerShape;
  using K = TriggerKind;
  static const std::vector<TriggerInfo> kTriggers = {
      {"join", S::bare, K::each_event, "join", "on each join event"},
      {"update", S::bare, K::each_event, "update", "on each update event"},
      {"click", S::bare, K::each_event, "click", "on each click event"},
      {"signup", S::bare, K::each_event, "signup", "on each signup event"},
      {"sale", S::bare, K::each_event, "sale", "on each sale event"},
      {"refund", S::bare, K::each_event, "refund", "on each refund event"},
      {"commission", S::bare, K::each_event, "commission", "on each commission event"},
      {"event", S::text, K::custom_event, "", "on each custom event with the given type"},
      {"first_click", S::bare, K::first_event, "click", "on the partner's first click"},
      {"first_signup", S::bare, K::first_event, "signup", "on the partner's first signup"},
      {"first_sale", S::bare, K::first_event, "sale", "on the partner's first sale"},
      {"first_commission", S::bare, K::first_event, "commission",
       "on the partner's first commission"},
      {"milestone", S::milestone, K::milestone, "", "once, when a metric first reaches N"},
      {"anniversary", S::duration, K::timer, "", "once, when the clock reaches joined_at + D"},
      {"inactive", S::duration, K::timer, "", "when the clock reaches last_activity + D"},
      {"no_referral", S::duration, K::timer, "", "when the clock reaches last_referral + D"},
      {"tag_added", S::text, K::tag_change, "", "each time the tag is actually added"},
      {"tag_removed", S::text, K::tag_change, "", "each time the tag is actually removed"},
  };
  return kTriggers;
}

const std::vector<EventTypeInfo>& event_types() {
  static const std::vector<EventTypeInfo> kTypes = {
      {"join", true, false, false},       {"update", false, false, false},
      {"click", true, false, false},      {"signup", true, true, false},
      {"sale", true, false, true},        {"refund", false, false, true},
      {"commission", false, false, true},
  };
  return kTypes;
}

const std::vector<std::string_view>& metrics() {
  static const std::vector<std::string_view> kMetrics = {"signups", "customers", "revenue",
                                                         "sales",   "clicks",    "commissions"};
  return kMetrics;
}

const std::vector<std::string_view>& guard_builtins() {
  static const std::vector<std::string_view> kBuiltins = {"days_since_join", "days_since_activity"};
  return kBuiltins;
}

const std::vector<DurationUnit>& duration_units() {
  static const std::vector<DurationUnit> kUnits = {
      {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}};
  return kUnits;
}

template <typename T>
static const T* find_by_name(const std::vector<T>& table, std::string_view name) {
  auto it = std::find_if(table.begin(), table.end(), [&](const T& e) { return e.name == name; });
  return it == table.end() ? nullptr : &*it;
}

const TriggerInfo* find_trigger(std::string_view name) {
  return find_by_name(triggers(), name);
}
const EventTypeInfo* find_event_type(std::string_view name) {
  return find_by_name(event_types(), name);
}
const RulePack* find_rule_pack(std::string_view name) {
  return find_by_name(rule_packs(), name);
}

bool is_metric(std::string_view name) {
  return std::find(metrics().begin(), metrics().end(), name) != metrics().end();
}

std::optional<std::int64_t> unit_seconds(std::string_view unit) {
  const DurationUnit* u = find_by_name(duration_units(), unit);
  return u ? std::optional<std::int64_t>(u->seconds) : std::nullopt;
}

}  // namespace ptag

namespace ptag {

bool is_guard_builtin(std::string_view name) {
  return std::find(guard_builtins().begin(), guard_builtins().end(), name) !=
         guard_builtins().end();
}

}  // namespace ptag
