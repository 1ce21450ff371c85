#include "reports.hpp"

#include "ptag/time.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <functional>
#include <unordered_map>

namespace ptag::serve {

namespace {

constexpr Seconds kDay = 86400;

Seconds floor_div(Seconds a, Seconds b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

std::size_t intervals_between(Seconds first, Seconds last, Interval i, std::size_t stop_after) {
  std::size_t n = 0;
  for (Seconds at = interval_start(first, i); at <= last && n <= stop_after; at = next_interval(at, i)) ++n;
  return n;
}

}  // namespace

std::optional<Interval> parse_interval(std::string_view name) {
  if (name == "day") return Interval::day;
  if (name == "week") return Interval::week;
  if (name == "month") return Interval::month;
  return std::nullopt;
}

const char* interval_name(Interval i) {
  switch (i) {
    case Interval::day: return "day";
    case Interval::week: return "week";
    case Interval::month: return "month";
  }
  return "day";
}

Seconds interval_start(Seconds t, Interval i) {
  Seconds day = floor_div(t, kDay);
  switch (i) {
    case Interval::day: return day * kDay;
    case Interval::week: {
      Seconds since_monday = ((day + 3) % 7 + 7) % 7;  // 1970-01-01 was a Thursday
      return (day - since_monday) * kDay;
    }
    case Interval::month: {
      using namespace std::chrono;
      year_month_day ymd{sys_days{days{day}}};
      return sys_days{ymd.year() / ymd.month() / 1}.time_since_epoch().count() * kDay;
    }
  }
  return day * kDay;
}

Seconds next_interval(Seconds start, Interval i) {
  switch (i) {
    case Interval::day: return start + kDay;
    case Interval::week: return start + 7 * kDay;
    case Interval::month: {
      using namespace std::chrono;
      year_month_day ymd{sys_days{days{floor_div(start, kDay)}}};
      year_month_day next = ymd.year() / ymd.month() / 1;
      next += months{1};
      return sys_days{next}.time_since_epoch().count() * kDay;
    }
  }
  return start + kDay;
}

void TagTimeline::update(const StoreReader& store) {
  std::map<std::int64_t, std::int64_t>* last_tag = nullptr;
  std::string last_name;
  std::string key;
  store.tag_changes({}, false, seq_, [&](const StoreReader::TagChange& c) {
    seq_ = c.seq;
    // A late event's change can be older than the partner's change before
    // it: each change counts at the latest time of its partner and tag, so
    // that a partner holds a tag over one span at a time and every count
    // stays within 0 and the partners.
    key.assign(c.partner).append(1, '\0').append(c.tag);
    Seconds& latest = latest_[key];
    latest = std::max(latest, c.time);
    std::int64_t day = floor_div(latest, kDay);
    if (!last_tag || c.tag != last_name) {  // records of one tag often come in runs
      last_name = c.tag;
      auto at = changes_.find(c.tag);
      if (at == changes_.end()) at = changes_.emplace(std::string(c.tag), std::map<std::int64_t, std::int64_t>{}).first;
      last_tag = &at->second;
    }
    (*last_tag)[day] += c.added ? 1 : -1;
    first_day_ = std::min(first_day_.value_or(day), day);
    last_day_ = std::max(last_day_.value_or(day), day);
  });
}

std::variant<TagHistory, std::string> TagTimeline::history(const std::vector<std::string>& tags,
                                                           std::optional<Interval> interval,
                                                           std::size_t max_intervals) const {
  TagHistory out;
  if (first_day_) {
    Seconds first = *first_day_ * kDay, last = *last_day_ * kDay;
    bool chosen = !interval;
    if (chosen) {
      interval = Interval::month;
      for (Interval i : {Interval::day, Interval::week})
        if (intervals_between(first, last, i, 400) <= 400) {
          interval = i;
          break;
        }
    }
    if (intervals_between(first, last, *interval, max_intervals) > max_intervals) {
      std::string span = "the records span more than " + std::to_string(max_intervals) + " " +
                         interval_name(*interval) + "s";
      if (*interval == Interval::month) return span + (chosen ? "" : " (the longest interval)");
      return span + ": ask for a longer interval (" +
             (*interval == Interval::day ? "interval=week or interval=month" : "interval=month") + ")";
    }
    for (Seconds at = interval_start(first, *interval); at <= last; at = next_interval(at, *interval))
      out.times.push_back(at);
  }
  if (interval) out.interval = *interval;
  std::vector<std::string> names = tags;
  if (names.empty())
    for (const auto& [tag, days] : changes_) names.push_back(tag);  // by name
  static const std::map<std::int64_t, std::int64_t> kNone;
  for (const std::string& name : names) {
    auto found = changes_.find(name);
    const std::map<std::int64_t, std::int64_t>& days = found == changes_.end() ? kNone : found->second;
    std::vector<std::int64_t> series;
    series.reserve(out.times.size());
    std::int64_t held = 0;
    auto day = days.begin();
    for (Seconds start : out.times) {
      Seconds end = next_interval(start, out.interval);
      for (; day != days.end() && day->first * kDay < end; ++day) held += day->second;
      series.push_back(held);
    }
    out.tags.emplace_back(name, std::move(series));
  }
  return out;
}

Flow flow(const StoreReader& store, const std::string& from, const std::string& to) {
  struct State {
    Seconds first_from;
    bool moved = false;
  };
  std::unordered_map<std::string, State, TextHash, std::equal_to<>> partners;
  std::vector<std::int64_t> took;
  store.tag_changes({from, to}, true, 0, [&](const StoreReader::TagChange& c) {
    Seconds t = c.time;
    if (c.tag == from) {
      if (partners.find(c.partner) == partners.end()) partners.emplace(std::string(c.partner), State{t});
      return;
    }
    auto at = partners.find(c.partner);
    if (at == partners.end() || at->second.moved) return;
    at->second.moved = true;
    took.push_back(std::max<std::int64_t>(0, t - at->second.first_from));  // a late event's add may be earlier
  });
  Flow out;
  out.from_partners = static_cast<std::int64_t>(partners.size());
  out.moved = static_cast<std::int64_t>(took.size());
  if (!took.empty()) {
    std::sort(took.begin(), took.end());
    out.min = took.front();
    out.p25 = quantile(took, 0.25);
    out.median = quantile(took, 0.5);
    out.p75 = quantile(took, 0.75);
    out.max = took.back();
  }
  return out;
}

std::int64_t quantile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  double at = p * static_cast<double>(sorted.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(at));
  std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  double value = static_cast<double>(sorted[lo]) +
                 (static_cast<double>(sorted[hi]) - static_cast<double>(sorted[lo])) * (at - static_cast<double>(lo));
  return std::llround(value);
}

std::string csv_text(std::string_view text) {
  std::string field;
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos) field = "'";
  field += text;
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace ptag::serve
