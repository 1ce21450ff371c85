#pragma once

#include <string_view>
#include <vector>

#include "ptag/ast.hpp"

namespace ptag {

// Every `#` comment outside strings, in order; the formatter puts them back.
std::vector<ast::Comment> find_comments(std::string_view text, FileId file);

}  // namespace ptag
