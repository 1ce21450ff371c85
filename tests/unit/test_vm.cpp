// Every opcode, through the real compiler and engine: a guard is true, false, or an error.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace ptag;
using namespace ptag::testing;

namespace {

enum Result { T, F, ERR };

// Evaluates `guard` on a probe event for a partner with attributes, metrics and a tag.
Result probe(const std::string& guard) {
  std::string rules =
      "let limit = 100\nlet regions = [\"DE\", \"AT\"]\non join add \"Known\"\n"
      "rule \"probe\" on event \"probe\" when " +
      guard + " add \"Yes\"\n";
  std::string events =
      ev("e1", "join", "p1", "2026-01-01T00:00:00Z",
         R"({"country":"DE","verified":true,"score":7})") +
      ev("e2", "sale", "p1", "2026-01-05T00:00:00Z", R"({"amount":129.9,"customer":"c1"})") +
      ev("e3", "click", "p1", "2026-01-06T00:00:00Z") +
      ev("e4", "probe", "p1", "2026-01-11T12:00:00Z", R"({"plan":"pro","n":2.5,"flag":false})");
  Outcome o = run(rules, events);
  INFO(guard);
  REQUIRE(o.diagnostics.empty());
  bool added = !o.records.empty() && o.records.back().find(" add Yes ") != std::string::npos;
  std::uint64_t errors = o.stats.guard_errors.back();
  return errors ? ERR : added ? T : F;
}

}  // namespace

TEST_CASE("pushes and loads") {
  CHECK(probe("true") == T);              // PUSH_TRUE
  CHECK(probe("false") == F);             // PUSH_FALSE
  CHECK(probe("129.9 == revenue") == T);  // PUSH_NUMBER, LOAD_METRIC
  CHECK(
      probe(
          "sales == 1 and customers == 1 and clicks == 1 and signups == 0 and commissions == 0") ==
      T);
  CHECK(probe("\"pro\" == event.plan") == T);      // PUSH_TEXT, EVENT_FIELD
  CHECK(probe("event.missing == 1") == ERR);       // EVENT_FIELD, missing
  CHECK(probe("partner.country == \"DE\"") == T);  // PARTNER_FIELD
  CHECK(probe("partner.verified") == T);           // a bare boolean attribute
  CHECK(probe("partner.nothing == 1") == ERR);
  CHECK(probe("tagged \"Known\"") == T);  // TAGGED
  CHECK(probe("tagged \"Yes\"") == F);
  CHECK(probe("days_since_join == 10") == T);     // DAYS_SINCE_JOIN: 10.5 days, rounded down
  CHECK(probe("days_since_activity == 5") == T);  // DAYS_SINCE_ACTIVITY: the click on day 6
  CHECK(probe("limit == 100") == T);              // constants are inlined
}

TEST_CASE("not and negate") {
  CHECK(probe("not false") == T);         // NOT
  CHECK(probe("not event.n") == ERR);     // NOT of a number
  CHECK(probe("-event.n == -2.5") == T);  // NEGATE
  CHECK(probe("-event.plan == 1") == ERR);
}

TEST_CASE("comparisons") {
  CHECK(probe("event.n == 2.5") == T);        // EQ
  CHECK(probe("event.n != 2.5") == F);        // NE
  CHECK(probe("event.n < 3") == T);           // LT
  CHECK(probe("event.n <= 2.5") == T);        // LE
  CHECK(probe("event.n > 2.5") == F);         // GT
  CHECK(probe("event.n >= 2.6") == F);        // GE
  CHECK(probe("event.plan < \"zzz\"") == T);  // texts by bytes
  CHECK(probe("event.plan == 2") == ERR);     // kinds differ
  CHECK(probe("event.flag == false") == T);
  CHECK(probe("event.flag < event.flag") == ERR);  // booleans have no order
}

TEST_CASE("in") {
  CHECK(probe("partner.country in regions") == T);  // IN, PUSH_LIST
  CHECK(probe("event.plan in [\"basic\", \"pro\"]") == T);
  CHECK(probe("event.plan in [\"basic\"]") == F);
  CHECK(probe("event.plan in [\"pro\", 1]") == T);    // a match before the odd element
  CHECK(probe("event.plan in [1, \"pro\"]") == ERR);  // the odd element is reached first
  CHECK(probe("event.plan in []") == F);
}

TEST_CASE("arithmetic is exact; * and / round half to even") {
  CHECK(probe("event.n + 0.5 == 3") == T);          // ADD
  CHECK(probe("event.n - 3 == -0.5") == T);         // SUB
  CHECK(probe("event.n * 2 == 5") == T);            // MUL
  CHECK(probe("0.000001 * 0.5 == 0") == T);         // half of a millionth: to even (0)
  CHECK(probe("0.000003 * 0.5 == 0.000002") == T);  // 1.5 millionths: to even (2)
  CHECK(probe("1 / 3 == 0.333333") == T);           // DIV
  CHECK(probe("2 / 3 == 0.666667") == T);
  CHECK(probe("event.n / (event.n - 2.5) > 0") == ERR);      // x / 0
  CHECK(probe("9000000000000 * 9000000000000 > 0") == ERR);  // out of range
  CHECK(probe("event.plan + 1 > 0") == ERR);
}

TEST_CASE("and / or stop early, left to right; an evaluated error spoils the guard") {
  CHECK(probe("true and true") == T);                 // AND_THEN, EXPECT_BOOL
  CHECK(probe("false and event.missing == 1") == F);  // not evaluated
  CHECK(probe("true or event.missing == 1") == T);    // OR_ELSE
  CHECK(probe("false or event.missing == 1") == ERR);
  CHECK(probe("not (false or event.missing == 1)") == ERR);
  CHECK(probe("event.n and true") == ERR);  // AND_THEN on a number
  CHECK(probe("true and event.n") == ERR);  // EXPECT_BOOL
  CHECK(probe("event.n") == ERR);           // RETURN needs a boolean
}
