#include "run_summary.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdio>

#include "ptag/catalogue.hpp"
#include "ptag/text.hpp"

namespace ptag::cli {
namespace {

std::string with_separators(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string count_of(std::uint64_t n, const char* singular, const char* plural) {
  std::string many = plural ? plural : std::string(singular) + "s";
  return with_separators(n) + " " + (n == 1 ? singular : many);
}

std::string duration_text(Seconds s) {
  static constexpr std::pair<Seconds, char> kUnits[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (std::size_t i = 0; i < std::size(kUnits); ++i) {
    auto [size, unit] = kUnits[i];
    if (s < size) continue;
    std::string out = fmt::format("{}{}", s / size, unit);
    if (i + 1 < std::size(kUnits) && s % size >= kUnits[i + 1].first)
      out += fmt::format(" {}{}", s % size / kUnits[i + 1].first, kUnits[i + 1].second);
    return out;
  }
  return "0s";
}

void print_summary(const Program& program, const Engine& engine, const RunTotals& totals) {
  const EngineStats& st = engine.stats();
  std::string first = fmt::format("ptag run: {} read: {} applied, {}, {}; {}",
                                  count_of(totals.lines, "line"), count_of(st.applied, "event"),
                                  count_of(st.duplicates, "duplicate"),
                                  count_of(totals.bad, "bad line"),
                                  count_of(engine.partner_count(), "partner"));
  if (engine.has_clock()) first += "; clock " + format_time(engine.clock());
  std::fprintf(stderr, "%s\n", first.c_str());
  double rate = totals.seconds > 0 ? static_cast<double>(totals.lines) / totals.seconds : 0.0;
  std::fprintf(stderr, "ptag run: %s: %s add, %s remove, %s emit; %.3f s, %s lines/s\n",
               count_of(st.records, "record").c_str(),
               with_separators(st.records_by_action[0]).c_str(),
               with_separators(st.records_by_action[1]).c_str(),
               with_separators(st.records_by_action[2]).c_str(), totals.seconds,
               with_separators(static_cast<std::uint64_t>(rate)).c_str());
  std::string types;
  const auto& builtin = event_types();
  for (std::size_t t = 0; t < builtin.size() && t + 1 < kEventTypes; ++t) {
    if (st.by_type[t]) types += fmt::format(", {} {}", builtin[t].name, with_separators(st.by_type[t]));
  }
  for (const auto& [name, count] : st.custom_types)
    types += fmt::format(", {} {}", json_quote(name), with_separators(count));
  if (!types.empty()) std::fprintf(stderr, "ptag run: events by type: %s\n", types.c_str() + 2);
  for (std::size_t r = 0; r < program.rules.size(); ++r) {
    if (st.guard_errors[r] == 0) continue;
    std::fprintf(stderr, "ptag run: rule %s: %s (a missing field or a kind mismatch made its guard false)\n",
                 json_quote(program.rules[r].name).c_str(),
                 count_of(st.guard_errors[r], "guard error").c_str());
  }
}

std::size_t print_input_warnings(const Program& program, const EngineStats& st) {
  std::size_t warnings = 0;
  std::vector<std::string_view> builtin = names_of(event_types());
  for (const auto& [name, count] : st.custom_types) {
    if (program.index.custom.count(name)) continue;
    std::string guess(closest_name(lower(name), builtin));
    std::fprintf(stderr, "ptag run: warning: %s of type %s that no rule uses%s\n",
                 count_of(count, "event").c_str(), json_quote(name).c_str(),
                 guess.empty() ? "" : fmt::format("; did you mean \"{}\"? (types are case-sensitive)", guess).c_str());
    ++warnings;
  }
  if (program.currency.empty() && st.currencies.size() > 1) {
    std::string counts;
    for (const auto& [code, count] : st.currencies)
      counts += (counts.empty() ? "" : ", ") + code + ": " + count_of(count, "event");
    std::fprintf(stderr,
                 "ptag run: warning: amounts in %zu currencies were summed as one (%s); convert them before "
                 "sending, and declare the program's currency (currency \"EUR\") so that events in another are "
                 "bad lines\n",
                 st.currencies.size(), counts.c_str());
    ++warnings;
  }
  if (st.late) {
    std::fprintf(stderr,
                 "ptag run: warning: %s arrived older than the clock (the most by %s); timers may "
                 "have fired between them. If the input is not in time order, run with --sort\n",
                 count_of(st.late, "event").c_str(), duration_text(st.most_late).c_str());
    ++warnings;
  }
  return warnings;
}

}  // namespace ptag::cli
