#include "ptag/catalogue.hpp"
#include "ptag/metric_table.hpp"

#include <algorithm>

namespace ptag {

const std::vector<TriggerInfo>& triggers() {
  using S = TriggerShape;
  using K = TriggerKind;
  static const std::vector<TriggerInfo> kTriggers = {
      {"join", S::bare, K::each_event, "join", "on each join event",
       "A join sets the partner's joined_at (a later join moves it) and its data fields become "
       "partner attributes."},
      {"update", S::bare, K::each_event, "update", "on each update event",
       "An update's data fields merge into the partner's attributes; it is not activity."},
      {"click", S::bare, K::each_event, "click", "on each click event",
       "A click adds 1 to clicks and is activity."},
      {"signup", S::bare, K::each_event, "signup", "on each signup event",
       "A signup (a referred customer or lead) adds 1 to signups; it is activity and a referral."},
      {"sale", S::bare, K::each_event, "sale", "on each sale event",
       "A sale adds 1 to sales and data.amount to revenue; data.customer joins the paying "
       "customers. It is activity."},
      {"refund", S::bare, K::each_event, "refund", "on each refund event",
       "A refund takes data.amount off revenue; sales and customers stay as they were."},
      {"commission", S::bare, K::each_event, "commission", "on each commission event",
       "A commission adds data.amount to commissions."},
      {"event", S::text, K::custom_event, "", "on each custom event with the given type",
       "The type is compared byte for byte and may hold dots: event \"contract.signed\"."},
      {"first_click", S::bare, K::first_event, "click", "on the partner's first click",
       "Once per partner: the first click to arrive."},
      {"first_signup", S::bare, K::first_event, "signup", "on the partner's first signup",
       "Once per partner: the first signup to arrive."},
      {"first_sale", S::bare, K::first_event, "sale", "on the partner's first sale",
       "Once per partner: the first sale to arrive."},
      {"first_commission", S::bare, K::first_event, "commission",
       "on the partner's first commission", "Once per partner: the first commission to arrive."},
      {"milestone", S::milestone, K::milestone, "", "once, when a metric first reaches N",
       "Once per partner, on the event that first makes the metric reach N (a number or a "
       "constant, above zero); spent even if the guard is false."},
      {"anniversary", S::duration, K::timer, "", "once, when the clock reaches joined_at + D",
       "A timer: it has no event, so its guard cannot read event fields. A later join moves it."},
      {"inactive", S::duration, K::timer, "", "when the clock reaches last_activity + D",
       "A timer, once per quiet spell: it re-arms only after new activity (join, click, signup, "
       "sale). Its guard cannot read event fields."},
      {"no_referral", S::duration, K::timer, "", "when the clock reaches last_referral + D",
       "Like inactive, from the last signup (or joined_at until the first). A timer: its guard "
       "cannot read event fields."},
      {"tag_added", S::text, K::tag_change, "", "each time the tag is actually added",
       "Not when the partner already had it. Runs after the rule that added it; its guard reads "
       "the event behind the change (none when a timer made it)."},
      {"tag_removed", S::text, K::tag_change, "", "each time the tag is actually removed",
       "Also when an exclusive group removes it; not when it expires. Its guard reads the event "
       "behind the change (none when a timer made it)."},
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

const std::vector<GuardNameInfo>& metric_infos() {
#define PTAG_METRIC_INFO(name, unit, slot, adds, by, takes, summary) {#name, summary},
  static const std::vector<GuardNameInfo> kMetrics = {PTAG_METRICS(PTAG_METRIC_INFO)};
#undef PTAG_METRIC_INFO
  return kMetrics;
}

const std::vector<GuardNameInfo>& guard_builtin_infos() {
  static const std::vector<GuardNameInfo> kBuiltins = {
      {"days_since_join", "whole days from the partner's joined_at to the clock"},
      {"days_since_activity", "whole days from the partner's last activity to the clock"},
  };
  return kBuiltins;
}

const std::vector<std::string_view>& metrics() {
  static const std::vector<std::string_view> kMetrics = names_of(metric_infos());
  return kMetrics;
}

const std::vector<std::string_view>& guard_builtins() {
  static const std::vector<std::string_view> kBuiltins = names_of(guard_builtin_infos());
  return kBuiltins;
}

const std::vector<DurationUnit>& duration_units() {
  static const std::vector<DurationUnit> kUnits = {{"s", 1, "second"},
                                                   {"m", 60, "minute"},
                                                   {"h", 3600, "hour"},
                                                   {"d", 86400, "day"},
                                                   {"w", 604800, "week"}};
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

const GuardNameInfo* find_guard_name(std::string_view name) {
  if (const GuardNameInfo* m = find_by_name(metric_infos(), name)) return m;
  return find_by_name(guard_builtin_infos(), name);
}

std::string names_and(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += std::string(i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + std::string(names[i]);
  return out;
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
