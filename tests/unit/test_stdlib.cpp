#include <catch2/catch.hpp>

#include "ptag/catalogue.hpp"

using namespace ptag;

TEST_CASE("the trigger table covers every trigger of the language") {
  for (const char* name :
       {"join", "click", "signup", "sale", "refund", "commission", "update", "event", "first_click",
        "first_signup", "first_sale", "first_commission", "milestone", "anniversary", "inactive",
        "no_referral", "tag_added", "tag_removed"}) {
    INFO(name);
    REQUIRE(find_trigger(name) != nullptr);
  }
  CHECK(find_trigger("first_refund") == nullptr);
  CHECK(find_trigger("inactive")->kind == TriggerKind::timer);
  CHECK(find_trigger("inactive")->shape == TriggerShape::duration);
  CHECK(find_trigger("first_sale")->event_type == "sale");
  CHECK(find_trigger("milestone")->shape == TriggerShape::milestone);
}

TEST_CASE("event types carry their activity and referral effects (language.md §2)") {
  CHECK(find_event_type("signup")->activity);
  CHECK(find_event_type("signup")->referral);
  CHECK_FALSE(find_event_type("refund")->activity);
  CHECK_FALSE(find_event_type("update")->activity);
  CHECK(find_event_type("commission")->needs_amount);
  CHECK(find_event_type("contract.signed") == nullptr);
}

TEST_CASE("units, metrics and rule packs") {
  CHECK(unit_seconds("w") == 604800);
  CHECK(unit_seconds("d") == 86400);
  CHECK_FALSE(unit_seconds("y"));
  CHECK(is_metric("revenue"));
  CHECK_FALSE(is_metric("days_since_join"));
  CHECK(is_guard_builtin("days_since_join"));
  REQUIRE(find_rule_pack("std/tiers") != nullptr);
  CHECK(std::string(find_rule_pack("std/tiers")->text).find("exclusive \"Bronze\"") !=
        std::string::npos);
  CHECK(rule_packs().size() == 3);
}

TEST_CASE("every trigger, metric, built-in and unit is explained in the catalogue (editor hovers)") {
  for (const TriggerInfo& t : triggers()) {
    INFO(t.name);
    CHECK_FALSE(t.summary.empty());
    CHECK_FALSE(t.detail.empty());
  }
  REQUIRE(metric_infos().size() == metrics().size());
  for (std::size_t i = 0; i < metrics().size(); ++i) {
    CHECK(metric_infos()[i].name == metrics()[i]);
    CHECK_FALSE(metric_infos()[i].summary.empty());
  }
  REQUIRE(guard_builtin_infos().size() == guard_builtins().size());
  CHECK(find_guard_name("revenue") == &metric_infos()[2]);
  CHECK(find_guard_name("days_since_join")->summary.find("joined_at") != std::string_view::npos);
  CHECK(find_guard_name("vip") == nullptr);
  for (const DurationUnit& u : duration_units()) CHECK_FALSE(u.word.empty());
  CHECK(duration_units()[3].word == "day");
}
