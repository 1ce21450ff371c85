#include "expected_errors.hpp"

#include <fmt/format.h>
#include <sstream>

namespace ptag {

std::vector<ExpectedError> find_expected_errors(const std::string& text) {
  static constexpr std::string_view kMark = "# expect error:";
  std::vector<ExpectedError> out;
  std::istringstream lines(text);
  std::string line;
  for (std::size_t n = 1; std::getline(lines, line); ++n) {
    std::size_t at = line.find(kMark);
    if (at == std::string::npos) continue;
    ExpectedError e{n, 0, 0, {}};
    int used = 0;
    std::string rest = line.substr(at + kMark.size());
    if (std::sscanf(rest.c_str(), " %zu:%zu:%n", &e.line, &e.column, &used) < 2 || used == 0)
      continue;
    e.message = rest.substr(static_cast<std::size_t>(used));
    e.message.erase(0, e.message.find_first_not_of(' '));
    out.push_back(std::move(e));
  }
  return out;
}

void check_expected_errors(const Unit& unit, const std::vector<ExpectedError>& expected,
                           const TestOptions& options, TestSummary& summary, std::FILE* out) {
  const std::string& file = unit.sources.file(0).name;
  std::vector<bool> matched(unit.diagnostics.all().size(), false);
  for (const ExpectedError& e : expected) {
    bool found = false;
    for (std::size_t i = 0; i < unit.diagnostics.all().size() && !found; ++i) {
      const Diagnostic& d = unit.diagnostics.all()[i];
      if (d.severity != Severity::error || d.span.file != 0 || d.span.line != e.line) continue;
      if (display_column(d.span, unit.sources) != e.column) continue;
      if (d.message.find(e.message) == std::string::npos) continue;
      found = matched[i] = true;
    }
    if (found) {
      ++summary.passed;
      if (options.verbose)
        std::fprintf(out, "%s:%zu: expected error: ok\n", file.c_str(), e.at_line);
      continue;
    }
    ++summary.failed;
    std::fprintf(out, "%s:%zu: expected an error at %zu:%zu containing \"%s\", got %s\n",
                 file.c_str(), e.at_line, e.line, e.column, e.message.c_str(),
                 "these on that line:");
    bool any = false;
    for (const Diagnostic& d : unit.diagnostics.all()) {
      if (d.severity != Severity::error || d.span.file != 0 || d.span.line != e.line) continue;
      std::fputs(render_text(d, unit.sources).c_str(), out);
      any = true;
    }
    if (!any) std::fprintf(out, "  (none)\n");
  }
  for (std::size_t i = 0; i < matched.size(); ++i) {
    const Diagnostic& d = unit.diagnostics.all()[i];
    if (matched[i] || d.severity != Severity::error) continue;
    ++summary.failed;
    std::fprintf(out, "unexpected error:\n%s", render_text(d, unit.sources).c_str());
  }
}

}  // namespace ptag
