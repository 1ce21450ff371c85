// Small text helpers shared by the renderer, the checks and the formatter.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ptag {

// Characters (UTF-8 code points) in `text`.
std::size_t char_count(std::string_view text);
// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);
// Appends `text` as a JSON string literal to `out` (no temporary string).
void append_json_quoted(std::string& out, std::string_view text);
// `text` as a ptag string literal, quotes included.
std::string ptag_quote(std::string_view text);
// Equal but for the case of ASCII letters (HTTP header names).
bool equal_ignoring_case(std::string_view a, std::string_view b);
// The candidate closest to `name` by edit distance, or "" when none is close.
std::string_view closest_name(std::string_view name,
                              const std::vector<std::string_view>& candidates);

}  // namespace ptag
