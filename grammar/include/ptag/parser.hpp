// Text to syntax tree. PEGTL stays behind this header.
#pragma once

#include <optional>

#include "ptag/ast.hpp"
#include "ptag/diagnostic.hpp"
#include "ptag/source.hpp"

namespace ptag {

struct ParseResult {
  ast::Module module;
  Diagnostics diagnostics;
};

// Parses one file of `sources`. After a syntax error the parser skips to the
// next line that starts a rule or declaration, so one run reports several.
ParseResult parse(const SourceSet& sources, FileId file);

// Parses one guard expression (file `file` holds only the expression), as a
// segment query: `tagged "VIP" and not tagged "Inactive"`.
struct GuardParse {
  std::optional<ast::Expr> guard;
  Diagnostics diagnostics;
};
GuardParse parse_guard(const SourceSet& sources, FileId file);

// Problems PEGTL's grammar analysis finds (0 for a grammar without
// left recursion or loops that match nothing).
std::size_t analyze_grammar(bool verbose = false);

// The deepest nesting of parentheses, `not` and unary minus a guard may use.
inline constexpr std::size_t kMaxGuardNesting = 64;

}  // namespace ptag
