// The canonical layout of a rule file (`ptag fmt`).
#pragma once

#include <string>
#include <string_view>

#include "ptag/ast.hpp"

namespace ptag {

// Lays out `module` (parsed from `source` without errors) canonically:
// one-line rules with aligned actions, multi-line rules indented, minimal
// parentheses, comments and blank lines between items kept. Idempotent, and
// the result parses to the same tree.
std::string format_module(const ast::Module& module, std::string_view source);

// A guard expression with the fewest parentheses that keep its meaning.
std::string format_expr(const ast::Expr& e);

}  // namespace ptag
