// Event time: whole seconds since the Unix epoch, UTC (language.md §9.7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ptag {

using Seconds = std::int64_t;

// RFC 3339 (`2026-03-01T10:15:00Z`, `...+02:00`, fractional seconds dropped).
// With `allow_date_only`, a bare `2026-03-01` means its midnight UTC.
std::optional<Seconds> parse_time(std::string_view text, bool allow_date_only = false);

// `YYYY-MM-DDTHH:MM:SSZ`
std::string format_time(Seconds t);

}  // namespace ptag
