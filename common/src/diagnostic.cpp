#include "ptag/diagnostic.hpp"

#include <fmt/format.h>
#include <algorithm>

#include "ptag/text.hpp"

namespace ptag {

Diagnostic& Diagnostics::error(std::string_view code, Span span, std::string message) {
  ++errors_;
  list_.push_back({Severity::error, code, span, std::move(message), {}});
  return list_.back();
}

Diagnostic& Diagnostics::warning(std::string_view code, Span span, std::string message) {
  list_.push_back({Severity::warning, code, span, std::move(message), {}});
  return list_.back();
}

void Diagnostics::append(const Diagnostics& other) {
  list_.insert(list_.end(), other.list_.begin(), other.list_.end());
  errors_ += other.errors_;
}

void Diagnostics::sort() {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.span.file != b.span.file) return a.span.file < b.span.file;
    return a.span.offset < b.span.offset;
  });
}

namespace {

struct Place {
  std::string_view file;
  std::string_view line;
  std::size_t column = 0;  // 1-based, in characters
  std::size_t width = 1;   // caret width, in characters
};

Place place_of(const Span& span, const SourceSet& sources) {
  Place p;
  if (!span.valid() || span.file >= sources.size()) return p;
  p.file = sources.file(span.file).name;
  p.line = sources.line_text(span);
  std::size_t byte_column = span.column == 0 ? 0 : span.column - 1;
  byte_column = std::min(byte_column, p.line.size());
  p.column = char_count(p.line.substr(0, byte_column)) + 1;
  std::string_view rest = p.line.substr(byte_column);
  p.width = std::max<std::size_t>(1, char_count(rest.substr(0, span.length)));
  return p;
}

// The source line and a caret under the span; tabs are kept so the caret lines up.
void append_excerpt(std::string& out, const Span& span, const Place& p, std::string_view mark) {
  std::string number = std::to_string(span.line);
  std::string gutter(number.size(), ' ');
  out += fmt::format("{} |\n{} | {}\n{} | ", gutter, number, p.line, gutter);
  std::size_t chars = 0;
  for (std::size_t i = 0; i < p.line.size() && chars + 1 < p.column; ++i) {
    if ((p.line[i] & 0xC0) == 0x80) continue;
    out += p.line[i] == '\t' ? '\t' : ' ';
    ++chars;
  }
  out += std::string(p.column > 1 && chars + 1 < p.column ? p.column - 1 - chars : 0, ' ');
  for (std::size_t i = 0; i < p.width; ++i) out += mark;
  out += '\n';
}

}  // namespace

std::string render_text(const Diagnostic& d, const SourceSet& sources, bool color) {
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  const char* tint = color ? (d.severity == Severity::error ? "\033[1;31m" : "\033[1;33m") : "";
  std::string_view severity = d.severity == Severity::error ? "error" : "warning";
  std::string out;
  Place p = place_of(d.span, sources);
  if (d.span.valid())
    out += fmt::format("{}{}:{}:{}: {}", bold, p.file, d.span.line, p.column, reset);
  out += fmt::format("{}{}[{}]{}: {}{}{}\n", tint, severity, d.code, reset, bold, d.message, reset);
  if (d.span.valid()) append_excerpt(out, d.span, p, "^");
  for (const DiagnosticNote& n : d.notes) {
    if (n.span.valid()) {
      Place np = place_of(n.span, sources);
      out += fmt::format("{}:{}:{}: note: {}\n", np.file, n.span.line, np.column, n.message);
      append_excerpt(out, n.span, np, "-");
    } else {
      out += fmt::format("  = {}\n", n.message);
    }
  }
  return out;
}

static std::string json_place(const Span& span, const SourceSet& sources) {
  if (!span.valid()) return R"("file":null,"line":null,"column":null,"length":0)";
  Place p = place_of(span, sources);
  return fmt::format(R"("file":{},"line":{},"column":{},"length":{})", json_quote(p.file),
                     span.line, p.column, p.width);
}

namespace {
std::string render_json_list(const std::vector<Diagnostic>& list, const SourceSet& sources, bool rendered) {
  std::string out = "[";
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Diagnostic& d = list[i];
    out += fmt::format(R"({}{{"severity":"{}","code":"{}",{},"message":{},"notes":[)", i ? "," : "",
                       d.severity == Severity::error ? "error" : "warning", d.code,
                       json_place(d.span, sources), json_quote(d.message));
    for (std::size_t j = 0; j < d.notes.size(); ++j) {
      out += fmt::format(R"({}{{{},"message":{}}})", j ? "," : "",
                         json_place(d.notes[j].span, sources), json_quote(d.notes[j].message));
    }
    out += "]";
    if (rendered) out += R"(,"rendered":)" + json_quote(render_text(d, sources));
    out += "}";
  }
  out += "]\n";
  return out;
}
}  // namespace

std::string render_json(const std::vector<Diagnostic>& list, const SourceSet& sources) {
  return render_json_list(list, sources, false);
}

std::string render_json_rendered(const std::vector<Diagnostic>& list, const SourceSet& sources) {
  return render_json_list(list, sources, true);
}

std::size_t display_column(const Span& span, const SourceSet& sources) {
  return place_of(span, sources).column;
}

std::string summary_line(const Diagnostics& d) {
  auto plural = [](std::size_t n, std::string_view word) {
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
  };
  return plural(d.error_count(), "error") + ", " + plural(d.warning_count(), "warning");
}

}  // namespace ptag
