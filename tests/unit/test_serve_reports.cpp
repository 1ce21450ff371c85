// The partners page's reports: intervals of a chart, quantiles of a flow,
// CSV fields of the export.
#include <catch2/catch.hpp>

#include <algorithm>

#include "ptag/store.hpp"
#include "ptag/time.hpp"
#include "reports.hpp"
#include "temp_dir.hpp"

using namespace ptag::serve;
using ptag::format_time;
using ptag::parse_stored_time;
using ptag::parse_time;
using ptag::Seconds;

namespace {

std::string start(const char* t, Interval i) { return format_time(interval_start(*parse_stored_time(t), i)); }
std::string next(const char* t, Interval i) { return format_time(next_interval(*parse_time(t), i)); }

}  // namespace

TEST_CASE("a chart's intervals start at UTC midnight, on Mondays, on the first of the month") {
  CHECK(start("2026-03-04T23:59:59Z", Interval::day) == "2026-03-04T00:00:00Z");
  CHECK(start("2026-03-04T00:00:00Z", Interval::day) == "2026-03-04T00:00:00Z");
  // 2026-03-04 is a Wednesday; 2026-03-02 the Monday before; a Sunday belongs to the week before it.
  CHECK(start("2026-03-04T12:00:00Z", Interval::week) == "2026-03-02T00:00:00Z");
  CHECK(start("2026-03-08T23:00:00Z", Interval::week) == "2026-03-02T00:00:00Z");
  CHECK(start("2026-03-09T00:00:00Z", Interval::week) == "2026-03-09T00:00:00Z");
  CHECK(start("1969-12-31T10:00:00Z", Interval::week) == "1969-12-29T00:00:00Z");  // before the epoch
  CHECK(start("2024-02-29T10:00:00Z", Interval::month) == "2024-02-01T00:00:00Z");
  CHECK(next("2024-01-01T00:00:00Z", Interval::month) == "2024-02-01T00:00:00Z");
  CHECK(next("2024-02-01T00:00:00Z", Interval::month) == "2024-03-01T00:00:00Z");
  CHECK(next("2025-12-01T00:00:00Z", Interval::month) == "2026-01-01T00:00:00Z");
  CHECK(next("2026-03-02T00:00:00Z", Interval::week) == "2026-03-09T00:00:00Z");
  CHECK(parse_interval("week") == Interval::week);
  CHECK_FALSE(parse_interval("year"));
}

TEST_CASE("quantiles interpolate between the two nearest ranks") {
  CHECK(quantile({5}, 0.5) == 5);
  CHECK(quantile({10, 20}, 0.5) == 15);
  CHECK(quantile({1, 2, 3, 4, 100}, 0.5) == 3);
  CHECK(quantile({0, 10, 20, 30, 40}, 0.25) == 10);
  CHECK(quantile({0, 10, 20, 30}, 0.25) == 8);  // 7.5 rounds to 8
  CHECK(quantile({0, 10, 20, 30}, 1.0) == 30);
}

TEST_CASE("CSV fields are quoted when needed and never run as a formula") {
  CHECK(csv_text("p-42") == "p-42");
  CHECK(csv_text("VIP; Proven") == "VIP; Proven");
  CHECK(csv_text("a,b") == "\"a,b\"");
  CHECK(csv_text("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_text("two\nlines") == "\"two\nlines\"");
  CHECK(csv_text("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"");
  CHECK(csv_text("+1") == "'+1");
  CHECK(csv_text("@sum") == "'@sum");
  CHECK(csv_text("") == "");
}

TEST_CASE("partners per tag over time stay within 0 and the partners with late events") {
  // As a server on the wall clock sees history posted late: p1's timer added
  // "At Risk" on day 10, then p1's late event of day 3 removed it; p2 got it
  // on day 5. Counted at their own times, day 3 would hold -1 partners.
  TempDir dir;
  std::string path = dir.file("state.db");
  const Seconds day = 86400, t0 = *parse_time("2026-03-01T00:00:00Z");
  {
    auto store = ptag::Store::open(path);
    ptag::StoreCommit c;
    auto add = [&](const char* partner, ptag::RecordAction action, Seconds at) {
      ptag::ChangeRecord r;
      r.time = at;
      r.partner = partner;
      r.action = action;
      r.tag = "At Risk";
      r.rule = "risk";
      c.records.add(r);
    };
    add("p1", ptag::RecordAction::add, t0 + 10 * day);
    add("p1", ptag::RecordAction::remove, t0 + 3 * day);
    add("p2", ptag::RecordAction::add, t0 + 5 * day);
    add("p1", ptag::RecordAction::add, t0 + 4 * day);  // another late event gives it back
    c.state.head = "state";
    c.clock = t0 + 10 * day;
    store->commit(std::move(c));
    store->flush();
  }
  TagTimeline timeline;
  timeline.update(*ptag::StoreReader::open(path));
  auto history = timeline.history({"At Risk"}, Interval::day, 1000);
  REQUIRE(std::holds_alternative<TagHistory>(history));
  const TagHistory& h = std::get<TagHistory>(history);
  REQUIRE(h.tags.size() == 1);
  const std::vector<std::int64_t>& series = h.tags[0].second;
  REQUIRE_FALSE(series.empty());
  CHECK(*std::min_element(series.begin(), series.end()) >= 0);
  CHECK(*std::max_element(series.begin(), series.end()) <= 2);
  CHECK(series.back() == 2);  // p1 holds it again, and p2
}
