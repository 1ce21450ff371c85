#include "reports.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace ptag::serve {

namespace {

constexpr Seconds kDay = 86400;

Seconds floor_div(Seconds a, Seconds b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Interns partner ids and tag names as small numbers.
class Names {
 public:
  std::uint32_t id(std::string_view name) {
    auto [at, added] = ids_.try_emplace(std::string(name), static_cast<std::uint32_t>(names_.size()));
    if (added) names_.push_back(at->first);
    return at->second;
  }
  std::optional<std::uint32_t> find(std::string_view name) const {
    auto at = ids_.find(std::string(name));
    if (at == ids_.end()) return std::nullopt;
    return at->second;
  }
  const std::string& name(std::uint32_t id) const { return names_[id]; }
  std::size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::string> names_;
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

std::variant<TagHistory, std::string> tag_history(const StoreReader& store, const std::vector<std::string>& tags,
                                                  std::optional<Interval> interval, std::size_t max_intervals) {
  struct Delta {
    Seconds time;
    std::uint32_t tag;
    std::int32_t by;
  };
  Names partners, names;
  for (const std::string& t : tags) names.id(t);
  std::unordered_set<std::uint64_t> held;  // partner << 32 | tag
  std::vector<Delta> deltas;
  store.tag_changes(tags, false, [&](const StoreReader::TagChange& c) {
    std::uint64_t key = std::uint64_t{partners.id(c.partner)} << 32 | names.id(c.tag);
    // A record that does not change what is held (none should) moves no count.
    if (c.added ? held.insert(key).second : held.erase(key) == 1)
      deltas.push_back({c.time, static_cast<std::uint32_t>(key), c.added ? 1 : -1});
  });
  std::stable_sort(deltas.begin(), deltas.end(), [](const Delta& a, const Delta& b) { return a.time < b.time; });

  TagHistory out;
  // Every chart spans the whole audit trail, whichever tags it shows.
  std::optional<std::pair<Seconds, Seconds>> span = store.record_times();
  if (span) {
    Seconds first = span->first, last = span->second;
    if (!interval) {
      interval = Interval::month;
      for (Interval i : {Interval::day, Interval::week})
        if (intervals_between(first, last, i, 400) <= 400) {
          interval = i;
          break;
        }
    }
    std::size_t n = intervals_between(first, last, *interval, max_intervals);
    if (n > max_intervals)
      return "the records span more than " + std::to_string(max_intervals) + " " + interval_name(*interval) +
             "s: ask for a longer interval (interval=week or interval=month)";
    out.times.reserve(n);
    for (Seconds at = interval_start(first, *interval); at <= last; at = next_interval(at, *interval))
      out.times.push_back(at);
  }
  if (interval) out.interval = *interval;

  std::vector<std::int64_t> now(names.size(), 0);
  std::vector<std::vector<std::int64_t>> series(names.size());
  std::size_t d = 0;
  for (Seconds start : out.times) {
    Seconds end = next_interval(start, out.interval);
    for (; d < deltas.size() && deltas[d].time < end; ++d) now[deltas[d].tag] += deltas[d].by;
    for (std::size_t t = 0; t < names.size(); ++t) series[t].push_back(now[t]);
  }
  std::vector<std::uint32_t> order(names.size());
  for (std::uint32_t t = 0; t < order.size(); ++t) order[t] = t;
  if (tags.empty())  // every tag, by name; else in the order asked
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return names.name(a) < names.name(b); });
  for (std::uint32_t t : order) out.tags.emplace_back(names.name(t), std::move(series[t]));
  return out;
}

Flow flow(const StoreReader& store, const std::string& from, const std::string& to) {
  struct State {
    Seconds first_from;
    bool moved = false;
  };
  std::unordered_map<std::string, State> partners;
  std::vector<std::int64_t> took;
  store.tag_changes({from, to}, true, [&](const StoreReader::TagChange& c) {
    if (c.tag == from) {
      partners.try_emplace(std::string(c.partner), State{c.time});
      return;
    }
    auto at = partners.find(std::string(c.partner));
    if (at == partners.end() || at->second.moved) return;
    at->second.moved = true;
    took.push_back(std::max<std::int64_t>(0, c.time - at->second.first_from));  // a late event's add may be earlier
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
