// Whether an event can be applied at all (language.md, "Events"): the
// engine's first step, and Engine::check_event's.
#pragma once

#include <cstdint>
#include <string>

#include "ptag/event.hpp"
#include "ptag/program.hpp"

namespace ptag {

// True, with `amount` set for the types that carry one; else false, with the
// reason in `why` (when given).
bool valid_event(const Event& e, EventType type, std::int64_t& amount, std::string* why);

}  // namespace ptag
