// The IANA time zones of the system's tz database, for `timezone "..."`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ptag {

// Whether `name` is a zone or a link of the tz database ("Europe/Berlin", "UTC").
bool known_zone(std::string_view name);
// Every zone name (links too: the system database keeps them as zones), for "did you mean".
std::vector<std::string> zone_names();

}  // namespace ptag
