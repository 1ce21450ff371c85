// Diagnostics are data: every phase returns them, one renderer prints them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ptag/source.hpp"

namespace ptag {

enum class Severity { error, warning };

struct DiagnosticNote {
  Span span;  // may be invalid: a note without a place ("help: ...")
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::error;
  std::string_view code;  // one of the codes in diagnostic_codes.hpp
  Span span;
  std::string message;
  std::vector<DiagnosticNote> notes;

  Diagnostic& note(Span where, std::string text) {
    notes.push_back({where, std::move(text)});
    return *this;
  }
  Diagnostic& help(std::string text) { return note(Span{}, "help: " + std::move(text)); }
};

class Diagnostics {
 public:
  Diagnostic& error(std::string_view code, Span span, std::string message);
  Diagnostic& warning(std::string_view code, Span span, std::string message);

  const std::vector<Diagnostic>& all() const { return list_; }
  bool has_errors() const { return errors_ > 0; }
  std::size_t error_count() const { return errors_; }
  std::size_t warning_count() const { return list_.size() - errors_; }
  void append(const Diagnostics& other);
  // Orders by file and position; diagnostics at the same place keep their order.
  void sort();

 private:
  std::vector<Diagnostic> list_;
  std::size_t errors_ = 0;
};

// `file:line:col: error[E101]: message`, the source line, a caret, the notes.
std::string render_text(const Diagnostic& d, const SourceSet& sources, bool color = false);
// The diagnostics as one JSON array, for editors.
std::string render_json(const std::vector<Diagnostic>& list, const SourceSet& sources);
// With each diagnostic's text as render_text() prints it, in "rendered".
std::string render_json_rendered(const std::vector<Diagnostic>& list, const SourceSet& sources);
// The 1-based column of a span in characters, as the renderer prints it.
std::size_t display_column(const Span& span, const SourceSet& sources);
// "2 errors, 1 warning"
std::string summary_line(const Diagnostics& d);

}  // namespace ptag
