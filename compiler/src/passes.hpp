// The check passes, run in this order by check().
#pragma once

#include <set>
#include <string>

#include "ptag/compiler.hpp"

namespace ptag::passes {

// Constants, triggers, metrics, durations, event types, names in guards.
// Fills `used_constants` for the unused-constant warning.
void check_names(Unit& unit, std::set<std::string>& used_constants);
// Kinds in guards (number, text, boolean, list) where they are known.
void check_guards(Unit& unit);
// Rule names, exclusive groups, tag cascades, tags never added, unused constants.
void check_program(Unit& unit, const std::set<std::string>& used_constants);
// Test blocks: event types, fields, metrics, duplicate names.
void check_tests(Unit& unit);

// Shared helpers.
std::string quoted(std::string_view text);
void check_duration(Unit& unit, const ast::Duration& d, std::string_view what);
// The built-in event type a custom event's name is close to ("Sale", "sign_ups"), or "".
std::string_view builtin_event_like(std::string_view name);
// ASCII lower case: for names that differ only in case.
std::string lower_case(std::string_view text);

}  // namespace ptag::passes
