#include "ptag/time.hpp"

#include <fmt/format.h>

#include <vector>

namespace ptag {
namespace {

// Days from 1970-01-01 to a civil date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `i`.
bool digits(std::string_view s, std::size_t& i, std::size_t n, unsigned& out) {
  if (i + n > s.size()) return false;
  out = 0;
  for (std::size_t k = 0; k < n; ++k) {
    char c = s[i + k];
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  i += n;
  return true;
}

bool expect(std::string_view s, std::size_t& i, char c) {
  if (i < s.size() && s[i] == c) {
    ++i;
    return true;
  }
  return false;
}

}  // namespace

std::optional<Seconds> parse_time(std::string_view s, bool allow_date_only) {
  std::size_t i = 0;
  unsigned year, month, day, hour, minute, second;
  if (!digits(s, i, 4, year) || !expect(s, i, '-') || !digits(s, i, 2, month) ||
      !expect(s, i, '-') || !digits(s, i, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  Seconds date = days_from_civil(year, month, day) * 86400;
  if (i == s.size()) return allow_date_only && date >= kMinEpochSeconds ? std::optional<Seconds>(date) : std::nullopt;
  if (s[i] != 'T' && s[i] != 't') return std::nullopt;
  ++i;
  if (!digits(s, i, 2, hour) || !expect(s, i, ':') || !digits(s, i, 2, minute) ||
      !expect(s, i, ':') || !digits(s, i, 2, second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  if (expect(s, i, '.')) {
    std::size_t before = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == before) return std::nullopt;
  }
  Seconds offset = 0;
  if (expect(s, i, 'Z') || expect(s, i, 'z')) {
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    bool minus = s[i++] == '-';
    unsigned oh, om;
    if (!digits(s, i, 2, oh) || !expect(s, i, ':') || !digits(s, i, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (minus ? -1 : 1) * static_cast<Seconds>(oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  Seconds t = date + hour * 3600 + minute * 60 + second - offset;
  // One range for every time form (an offset or :60 can leave it).
  if (t < kMinEpochSeconds || t > kMaxEpochSeconds) return std::nullopt;
  return t;
}

std::string time_hint(std::string_view text) {
  if (parse_time(text)) return {};
  if (std::optional<Seconds> t = parse_stored_time(text); t && (*t < kMinEpochSeconds || *t > kMaxEpochSeconds))
    return "times run from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z";
  if (parse_time(text, true)) {
    return fmt::format("a date alone is not a time: write {}T00:00:00Z", text);
  }
  std::string fixed(text);
  std::vector<std::string> fixes;
  if (fixed.size() > 10 && fixed[10] == ' ') {
    fixed[10] = 'T';
    fixes.push_back("write a 'T' between the date and the time");
  }
  if (!parse_time(fixed) && parse_time(fixed + "Z")) fixes.push_back("add 'Z' for UTC or an offset such as +02:00");
  if (!parse_time(fixed)) {
    if (parse_time(fixed + "Z")) fixed += "Z";
    else return {};
  }
  std::string hint;
  for (std::size_t i = 0; i < fixes.size(); ++i) hint += (i ? " and " : "") + fixes[i];
  return hint + ", as in " + fixed;
}

std::optional<Seconds> parse_stored_time(std::string_view text) {
  if (std::optional<Seconds> t = parse_time(text)) return t;
  // format_time()'s far years: [-]Y...Y-MM-DDTHH:MM:SSZ, the rest fixed.
  constexpr std::size_t kTail = 16;  // "-MM-DDTHH:MM:SSZ"
  if (text.size() <= kTail || text.size() > kTail + 12) return std::nullopt;
  std::string_view year = text.substr(0, text.size() - kTail), tail = text.substr(text.size() - kTail);
  bool minus = year.front() == '-';
  if (minus) year.remove_prefix(1);
  if (year.empty() || year.size() > 11) return std::nullopt;  // 11 digits: the seconds fit 64 bits
  std::int64_t y = 0;
  for (char c : year) {
    if (c < '0' || c > '9') return std::nullopt;
    y = y * 10 + (c - '0');
  }
  if (minus) y = -y;
  auto two = [&](std::size_t at) -> int {
    char a = tail[at], b = tail[at + 1];
    return a >= '0' && a <= '9' && b >= '0' && b <= '9' ? (a - '0') * 10 + (b - '0') : -1;
  };
  int mo = two(1), d = two(4), h = two(7), mi = two(10), sec = two(13);
  if (tail[0] != '-' || tail[3] != '-' || tail[6] != 'T' || tail[9] != ':' || tail[12] != ':' || tail[15] != 'Z')
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return std::nullopt;
  // The day must exist: a round trip through the calendar gives it back.
  std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  std::int64_t ry;
  unsigned rm, rd;
  civil_from_days(days, ry, rm, rd);
  if (ry != y || rm != static_cast<unsigned>(mo) || rd != static_cast<unsigned>(d)) return std::nullopt;
  return days * 86400 + h * 3600 + mi * 60 + sec;
}

std::string format_time(Seconds t) {
  std::int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  Seconds rest = t - days * 86400;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  if (y < 0 || y > 9999) {
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, m, d, rest / 3600, rest / 60 % 60, rest % 60);
  }
  // The common case by hand: this runs once per change record.
  char text[] = "0000-00-00T00:00:00Z";
  auto two = [&text](std::size_t at, std::int64_t v) {
    text[at] = static_cast<char>('0' + v / 10);
    text[at + 1] = static_cast<char>('0' + v % 10);
  };
  two(0, y / 100);
  two(2, y % 100);
  two(5, m);
  two(8, d);
  two(11, rest / 3600);
  two(14, rest / 60 % 60);
  two(17, rest % 60);
  return std::string(text, 20);
}

}  // namespace ptag
