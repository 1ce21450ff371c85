// Whether an event can be applied at all (language.md, "Events"): the
// engine's first step, and Engine::check_event's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ptag/event.hpp"
#include "ptag/program.hpp"

namespace ptag {

// True, with `amount` set for the types that carry one; else false, with the
// reason in `why` (when given). `currency`: the program's (`currency "EUR"`,
// upper case), or empty for none: a money event in another is not valid.
bool valid_event(const Event& e, EventType type, std::int64_t& amount, std::string* why,
                 std::string_view currency = {});
// An event's `data.currency` when it is a string, else empty.
std::string_view event_currency(const Event& e);

}  // namespace ptag
