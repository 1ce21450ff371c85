// Any input: no crash, no sanitizer report, and for inputs that parse, the
// formatter keeps their meaning and is idempotent (else abort: a finding).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ptag/compiler.hpp"
#include "ptag/format.hpp"
#include "ptag/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  ptag::Unit unit = ptag::load_text("fuzz.ptag", text);
  ptag::check(unit);
  for (const ptag::Diagnostic& d : unit.diagnostics.all()) (void)ptag::render_text(d, unit.sources);
  (void)ptag::render_json(unit.diagnostics.all(), unit.sources);

  ptag::SourceSet sources;
  ptag::ParseResult first = ptag::parse(sources, sources.add("a.ptag", text));
  if (first.diagnostics.has_errors()) return 0;
  std::string formatted = ptag::format_module(first.module, text);
  ptag::ParseResult second = ptag::parse(sources, sources.add("b.ptag", formatted));
  if (second.diagnostics.has_errors() ||
      ptag::ast::dump(second.module) != ptag::ast::dump(first.module) ||
      ptag::format_module(second.module, formatted) != formatted) {
    std::fprintf(stderr, "formatter changed the meaning or is not idempotent:\n%s\n---\n%s\n",
                 text.c_str(), formatted.c_str());
    std::abort();
  }
  return 0;
}
