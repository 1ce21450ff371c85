// What the partners page shows that the engine does not hold: partners per
// tag over time and flows between two tags, both read from the records of the
// last commit; and CSV fields for the export. docs/serve.md, "The partners page".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "ptag/store.hpp"

namespace ptag::serve {

enum class Interval { day, week, month };
std::optional<Interval> parse_interval(std::string_view name);
const char* interval_name(Interval i);
// The start (UTC) of the interval holding `t`; weeks start on Monday.
Seconds interval_start(Seconds t, Interval i);
Seconds next_interval(Seconds start, Interval i);

struct TagHistory {
  Interval interval = Interval::day;
  std::vector<Seconds> times;  // the start of each interval
  // Per tag (by name): partners holding it at the end of each interval.
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> tags;
};
// Partners per tag per day, from the add and remove records, kept up to
// date by reading only the records committed since the last update (the page
// asks again every few seconds). Not thread-safe: one lock around both calls.
class TagTimeline {
 public:
  void update(const StoreReader& store);
  // Partners per tag over time, of these tags (every tag added when empty),
  // over the days from the first to the last record. No interval: day, week
  // or month, the first that needs at most 400 intervals. An error message
  // when more than `max_intervals` would be needed.
  std::variant<TagHistory, std::string> history(const std::vector<std::string>& tags,
                                                std::optional<Interval> interval, std::size_t max_intervals) const;

 private:
  std::int64_t seq_ = 0;  // the last record read
  std::optional<std::int64_t> first_day_, last_day_;
  std::map<std::string, std::map<std::int64_t, std::int64_t>, std::less<>> changes_;  // tag -> day -> +/-
  std::unordered_map<std::string, Seconds> latest_;  // partner '\0' tag -> when its last change counted
};

struct Flow {
  std::int64_t from_partners = 0;  // partners ever given `from`
  std::int64_t moved = 0;          // of those, given `to` after their first `from`
  // Seconds from the first `from` to the first `to` after it; empty when moved == 0.
  std::optional<std::int64_t> min, p25, median, p75, max;
};
Flow flow(const StoreReader& store, const std::string& from, const std::string& to);

// The p-quantile (0..1) of sorted values, interpolated linearly between the
// two nearest ranks and rounded to the nearest whole number.
std::int64_t quantile(const std::vector<std::int64_t>& sorted, double p);

// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
// break. A text that a spreadsheet would run as a formula (starting with =,
// +, -, @, tab or carriage return) gets a leading apostrophe.
std::string csv_text(std::string_view text);

}  // namespace ptag::serve
