// Event time: whole seconds since the Unix epoch, UTC (docs/events.md, "Times").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ptag {

using Seconds = std::int64_t;

// Every time ptag takes, as text or as epoch seconds, is from
// 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (docs/events.md, "Times").
inline constexpr Seconds kMinEpochSeconds = 0;
inline constexpr Seconds kMaxEpochSeconds = 253402300799;

// RFC 3339 (`2026-03-01T10:15:00Z`, `...+02:00`, fractional seconds dropped),
// within kMinEpochSeconds..kMaxEpochSeconds.
// With `allow_date_only`, a bare `2026-03-01` means its midnight UTC.
std::optional<Seconds> parse_time(std::string_view text, bool allow_date_only = false);

// For a text parse_time() rejects, how to fix the common wrong forms (a
// space instead of 'T', no zone, a date alone), or empty.
std::string time_hint(std::string_view text);

// `YYYY-MM-DDTHH:MM:SSZ` (a year outside 0000-9999 as it is: `10499-05-03T00:00:00Z`, `-001-...`)
std::string format_time(Seconds t);
// The inverse of format_time() for every time it writes, years outside
// 0000-9999 too (an expiry can be up to 1000 years after the clock); what
// parse_time() accepts besides. Empty for anything else.
std::optional<Seconds> parse_stored_time(std::string_view text);

}  // namespace ptag
