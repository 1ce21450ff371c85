#include "comments.hpp"

namespace ptag {

std::vector<ast::Comment> find_comments(std::string_view text, FileId file) {
  std::vector<ast::Comment> out;
  std::uint32_t line = 1;
  std::size_t line_start = 0;
  bool in_string = false;
  bool code_on_line = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      in_string = false;
      code_on_line = false;
    } else if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      code_on_line = true;
    } else if (c == '#') {
      std::size_t end = text.find('\n', i);
      if (end == std::string_view::npos) end = text.size();
      std::string_view body = text.substr(i, end - i);
      while (!body.empty() && (body.back() == '\r' || body.back() == ' ' || body.back() == '\t')) {
        body.remove_suffix(1);
      }
      Span span{file, line, static_cast<std::uint32_t>(i - line_start + 1),
                static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(body.size())};
      out.push_back({span, std::string(body), code_on_line});
      i = end - 1;
    } else if (c != ' ' && c != '\t' && c != '\r') {
      code_on_line = true;
    }
  }
  return out;
}

}  // namespace ptag
