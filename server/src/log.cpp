#include "log.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "ptag/text.hpp"
#include "ptag/time.hpp"

namespace ptag::serve {

std::string seconds_text(std::chrono::steady_clock::duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", std::chrono::duration<double>(d).count());
  return text;
}

std::string json_text(std::string_view text) {
  return json_quote(text);
}

void log(std::string_view level, std::string_view msg, std::initializer_list<LogField> fields) {
  std::string line = "{\"time\":\"" + format_time(static_cast<Seconds>(std::time(nullptr))) + "\",\"level\":";
  line += json_quote(level);
  line += ",\"msg\":";
  line += json_quote(msg);
  for (const LogField& f : fields) {
    line += ",";
    line += json_quote(f.name);
    line += ":";
    line += f.json;
  }
  line += "}\n";
  ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  (void)written;  // nowhere to report a failed log write
}

}  // namespace ptag::serve
