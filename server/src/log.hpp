// Logs of `ptag serve`: one JSON object per line on stderr.
#pragma once

#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace ptag::serve {

// A field's value, already JSON (json_text() quotes text).
struct LogField {
  std::string_view name;
  std::string json;
};
std::string json_text(std::string_view text);
// A duration as a log field: seconds with three decimals.
std::string seconds_text(std::chrono::steady_clock::duration d);

// {"time":"...","level":"info","msg":"...", fields...}; one write, so lines
// of several threads never interleave.
void log(std::string_view level, std::string_view msg, std::initializer_list<LogField> fields = {});

}  // namespace ptag::serve
