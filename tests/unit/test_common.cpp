#include <catch2/catch.hpp>

#include "ptag/decimal.hpp"
#include "ptag/diagnostic.hpp"
#include "ptag/text.hpp"
#include "ptag/time.hpp"

using namespace ptag;

TEST_CASE("decimals are exact millionths") {
  CHECK(parse_decimal("0") == 0);
  CHECK(parse_decimal("5000") == 5000 * kMillion);
  CHECK(parse_decimal("129.90") == 129'900'000);
  CHECK(parse_decimal("-0.7") == -700'000);
  CHECK(parse_decimal("1.5e3") == 1500 * kMillion);
  CHECK(parse_decimal("25E-1") == 2'500'000);
  CHECK(*parse_decimal("0.7") + *parse_decimal("0.1") == *parse_decimal("0.8"));
}

TEST_CASE("decimals round half to even at the sixth digit") {
  CHECK(parse_decimal("0.0000005") == 0);   // tie, 0 is even
  CHECK(parse_decimal("0.0000015") == 2);   // tie, up to even
  CHECK(parse_decimal("0.0000025") == 2);   // tie, down to even
  CHECK(parse_decimal("0.00000251") == 3);  // above the tie
  CHECK(parse_decimal("0.0000004999") == 0);
  CHECK(parse_decimal("-0.0000015") == -2);
  CHECK(parse_decimal("1e-30") == 0);
}

TEST_CASE("decimals outside the range or malformed are refused") {
  CHECK(parse_decimal("9223372036854.775807") == INT64_MAX);
  CHECK_FALSE(parse_decimal("9223372036854.775808"));
  CHECK_FALSE(parse_decimal("1e20"));
  CHECK_FALSE(parse_decimal(""));
  CHECK_FALSE(parse_decimal("-"));
  CHECK_FALSE(parse_decimal("1."));
  CHECK_FALSE(parse_decimal(".5"));
  CHECK_FALSE(parse_decimal("12abc"));
  CHECK_FALSE(parse_decimal("1e"));
}

TEST_CASE("decimals print in their shortest exact form") {
  CHECK(format_decimal(5000 * kMillion) == "5000");
  CHECK(format_decimal(129'900'000) == "129.9");
  CHECK(format_decimal(-700'000) == "-0.7");
  CHECK(format_decimal(1) == "0.000001");
  CHECK(format_decimal(INT64_MIN + 1) == "-9223372036854.775807");
}

TEST_CASE("times are RFC 3339 seconds in UTC") {
  CHECK(parse_time("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_time("2026-03-01T10:15:00Z") == 1772360100);
  CHECK(parse_time("2026-03-01T12:15:00+02:00") == 1772360100);
  CHECK(parse_time("2026-03-01T10:15:00.987Z") == 1772360100);  // fractions dropped
  CHECK(parse_time("2024-02-29T00:00:00Z").has_value());
  CHECK_FALSE(parse_time("2026-02-29T00:00:00Z"));
  CHECK_FALSE(parse_time("2026-03-01"));
  CHECK(parse_time("2026-03-01", true) == 1772323200);
  CHECK_FALSE(parse_time("2026-13-01T00:00:00Z"));
  CHECK_FALSE(parse_time("2026-03-01T24:00:00Z"));
  CHECK_FALSE(parse_time("2026-03-01T10:15:00"));
  CHECK(format_time(1772360100) == "2026-03-01T10:15:00Z");
  CHECK(format_time(-1) == "1969-12-31T23:59:59Z");
}

// Found by fuzz_event_fields: these read as years 10000 and -1 in UTC.
TEST_CASE("a time whose UTC form leaves the years 0000..9999 is not a time") {
  CHECK_FALSE(parse_time("9999-12-31T23:59:59-01:00"));
  CHECK_FALSE(parse_time("9999-12-31T23:59:60Z"));
  CHECK_FALSE(parse_time("0000-01-01T00:00:00+01:00"));
  CHECK(parse_time("9999-12-31T23:59:59Z") == 253402300799);
  // One range for every form: before 1970 is refused, as epoch seconds are.
  CHECK_FALSE(parse_time("0000-01-01T00:00:00Z"));
  CHECK_FALSE(parse_time("0001-01-01T00:00:00Z"));
  CHECK_FALSE(parse_time("1969-12-31T23:59:59Z"));
  CHECK_FALSE(parse_time("1970-01-01T00:30:00+01:00"));
  CHECK_FALSE(parse_time("1969-12-31", true));
  CHECK(parse_time("1970-01-01", true) == 0);
  CHECK(time_hint("0001-01-01T00:00:00Z") == "times run from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z");
  CHECK(parse_stored_time("0000-01-01T00:00:00Z") == -62167219200);  // stores written before still read back
  CHECK(format_time(-62167219200) == "0000-01-01T00:00:00Z");
}

TEST_CASE("suggestions only for close names") {
  std::vector<std::string_view> triggers = {"first_sale", "first_signup", "inactive"};
  CHECK(closest_name("frist_sale", triggers) == "first_sale");
  CHECK(closest_name("inactiv", triggers) == "inactive");
  CHECK(closest_name("banana", triggers).empty());
  CHECK(closest_name("W", {"A"}).empty());
}

TEST_CASE("the renderer puts the caret under the span, in characters") {
  SourceSet sources;
  FileId f = sources.add("r.ptag", "on join add \"Neuer Partner\"\n\ton sälé add \"X\"\n");
  Diagnostics d;
  // Line 2: a tab, then "on ", then "sälé" (6 bytes, 4 characters) at byte column 5.
  d.error("E101", Span{f, 2, 5, 32, 6}, "unknown trigger 'sälé'").help("did you mean 'sale'?");
  std::string text = render_text(d.all()[0], sources);
  CHECK(text ==
        "r.ptag:2:5: error[E101]: unknown trigger 'sälé'\n"
        "  |\n"
        "2 | \ton sälé add \"X\"\n"
        "  | \t   ^^^^\n"
        "  = help: did you mean 'sale'?\n");
  std::string json = render_json(d.all(), sources);
  CHECK(json.find(R"("line":2,"column":5,"length":4)") != std::string::npos);
  CHECK(json.find(R"("message":"unknown trigger 'sälé'")") != std::string::npos);
  CHECK(summary_line(d) == "1 error, 0 warnings");
}

TEST_CASE("JSON quoting appends in place, escaping only what must be") {
  std::string out = "x";
  append_json_quoted(out, "plain \"q\" back\\slash\nnew\x01 ü");
  CHECK(out == "x\"plain \\\"q\\\" back\\\\slash\\nnew\\u0001 ü\"");
  CHECK(out.substr(1) == json_quote("plain \"q\" back\\slash\nnew\x01 ü"));
  CHECK(format_time(253402300799) == "9999-12-31T23:59:59Z");
  CHECK(format_time(253402300800) == "10000-01-01T00:00:00Z");
}

TEST_CASE("parse_stored_time reads back every time format_time writes, far years too") {
  // An expiry may lie up to 1000 years after a clock in 9999: the store
  // writes it as format_time() does and must read it back.
  for (Seconds t : {Seconds{0}, Seconds{-1}, Seconds{1772360100}, Seconds{-62167219200}, Seconds{-62167219201},
                    Seconds{253402300799}, Seconds{253402300800}, Seconds{299999999999}, Seconds{-99999999999},
                    Seconds{253402300800 + 1000LL * 366 * 86400}, Seconds{3'000'000'000'000'000}}) {
    INFO(t << " " << format_time(t));
    CHECK(parse_stored_time(format_time(t)) == t);
  }
  REQUIRE(parse_stored_time("10499-05-03T00:00:00Z"));
  CHECK(format_time(*parse_stored_time("10499-05-03T00:00:00Z")) == "10499-05-03T00:00:00Z");
  CHECK(*parse_stored_time("10499-05-03T00:00:00Z") - *parse_stored_time("10499-05-02T23:59:59Z") == 1);
  CHECK(parse_stored_time("2026-03-01T10:15:00+01:00") == parse_time("2026-03-01T10:15:00+01:00"));
  for (const char* bad : {"10499-02-30T00:00:00Z", "10499-05-03T24:00:00Z", "10499-05-03 00:00:00Z", "-05-03T00:00:00Z",
                          "1x499-05-03T00:00:00Z", "123456789012-01-01T00:00:00Z", "", "--1-01-01T00:00:00Z"})
    CHECK_FALSE(parse_stored_time(bad));
}
