#include "zones.hpp"

#include <date/tz.h>

#include <stdexcept>

namespace ptag {

bool known_zone(std::string_view name) {
  try {
    return date::locate_zone(name) != nullptr;
  } catch (const std::exception&) {  // unknown, or no tz database on the system
    return false;
  }
}

std::vector<std::string> zone_names() {
  std::vector<std::string> out;
  try {
    const date::tzdb& db = date::get_tzdb();
    for (const date::time_zone& z : db.zones) out.push_back(std::string(z.name()));
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace ptag
