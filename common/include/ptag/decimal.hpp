// Exact decimals: a signed 64-bit count of millionths (docs/events.md, "Numbers and amounts").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ptag {

inline constexpr std::int64_t kMillion = 1'000'000;

// Reads a decimal number (`-12`, `0.7`, `129.90`, JSON's `1.5e3`), rounding
// half-to-even to six fractional digits. Empty when the text is not a number
// or the value is outside ±(2^63-1) millionths.
std::optional<std::int64_t> parse_decimal(std::string_view text);

// The shortest exact text: 5000, 0.7, -129.9.
std::string format_decimal(std::int64_t millionths);

}  // namespace ptag
