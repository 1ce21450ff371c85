#include "ptag/decimal.hpp"

#include <fmt/format.h>
#include <cstdlib>

namespace ptag {

std::optional<std::int64_t> parse_decimal(std::string_view text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  std::string digits;  // significant digits, without leading zeros
  long long exponent = 0;
  bool any_digit = false;
  auto take_digits = [&](bool fraction) {
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      any_digit = true;
      if (!(digits.empty() && text[i] == '0')) digits += text[i];
      if (fraction) --exponent;
      ++i;
    }
  };
  take_digits(false);
  if (!any_digit) return std::nullopt;  // ".5" is not a number
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::size_t before = i;
    take_digits(true);
    if (i == before) return std::nullopt;
  }
  if (!any_digit) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) exp_negative = text[i++] == '-';
    std::size_t before = i;
    long long e = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (e < 100000) e = e * 10 + (text[i] - '0');
      ++i;
    }
    if (i == before) return std::nullopt;
    exponent += exp_negative ? -e : e;
  }
  if (i != text.size()) return std::nullopt;
  if (digits.empty()) return 0;

  // value = digits * 10^(exponent + 6) millionths
  long long shift = exponent + 6;
  long long kept = static_cast<long long>(digits.size()) + (shift < 0 ? shift : 0);
  if (shift > 0 && static_cast<long long>(digits.size()) + shift > 19) return std::nullopt;
  std::uint64_t value = 0;
  auto push = [&value](unsigned digit) {
    return !__builtin_mul_overflow(value, 10u, &value) &&
           !__builtin_add_overflow(value, digit, &value) && value <= INT64_MAX;
  };
  for (long long k = 0; k < kept; ++k) {
    if (!push(static_cast<unsigned>(digits[static_cast<std::size_t>(k)] - '0')))
      return std::nullopt;
  }
  for (long long k = 0; k < shift; ++k) {
    if (!push(0)) return std::nullopt;
  }
  if (shift < 0) {
    // Round half-to-even on the dropped digits.
    int first_dropped = kept >= 0 ? digits[static_cast<std::size_t>(kept)] - '0' : 0;
    bool sticky = false;
    for (long long k = std::max<long long>(kept + 1, 0); k < static_cast<long long>(digits.size());
         ++k) {
      sticky = sticky || digits[static_cast<std::size_t>(k)] != '0';
    }
    if (kept < 0) sticky = true;  // every digit lies beyond the first dropped place
    if (kept < 0) first_dropped = 0;
    if (first_dropped > 5 || (first_dropped == 5 && (sticky || (value & 1) != 0))) ++value;
    if (value > INT64_MAX) return std::nullopt;
  }
  std::int64_t result = static_cast<std::int64_t>(value);
  return negative ? -result : result;
}

std::string format_decimal(std::int64_t millionths) {
  bool negative = millionths < 0;
  unsigned long long magnitude = negative ? 0ULL - static_cast<unsigned long long>(millionths)
                                          : static_cast<unsigned long long>(millionths);
  unsigned long long whole = magnitude / kMillion;
  unsigned long long fraction = magnitude % kMillion;
  std::string out = fmt::format("{}{}", negative ? "-" : "", whole);
  if (fraction != 0) {
    std::string digits = fmt::format("{:06}", fraction);
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out;
}

}  // namespace ptag
