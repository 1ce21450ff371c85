// ptag check FILE... [--format text|json]
#include <unistd.h>
#include <cstdio>

#include "commands.hpp"
#include "ptag/compiler.hpp"

namespace ptag::cli {

void print_diagnostics(const Diagnostics& diagnostics, const SourceSet& sources) {
  bool color = isatty(STDERR_FILENO) && !std::getenv("NO_COLOR");
  for (const Diagnostic& d : diagnostics.all()) {
    std::fputs(render_text(d, sources, color).c_str(), stderr);
  }
}

Run add_check(CLI::App& app) {
  struct Options {
    std::vector<std::string> files;
    std::string format = "text";
    bool warnings_as_errors = false;
  };
  auto options = std::make_shared<Options>();
  app.add_option("files", options->files, "Rule files; together they form one program")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--format", options->format,
                 "How to print diagnostics: text or json (for editors)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--warnings-as-errors", options->warnings_as_errors,
               "Exit 1 when there is any warning (for CI)");
  app.footer(
      "Exit status: 0 when there are no errors (warnings allowed unless --warnings-as-errors), "
      "1 on errors, 2 on usage errors.\n"
      "Examples:\n"
      "  ptag check rules.ptag\n"
      "  ptag check --format json rules.ptag   # one JSON array of diagnostics on stdout");
  return [options] {
    Unit unit = compile_files(options->files);
    if (options->format == "json") {
      std::fputs(render_json(unit.diagnostics.all(), unit.sources).c_str(), stdout);
    } else {
      print_diagnostics(unit.diagnostics, unit.sources);
      if (!unit.diagnostics.all().empty()) {
        bool strict = options->warnings_as_errors && unit.diagnostics.warning_count();
        std::fprintf(stderr, "%s%s\n", summary_line(unit.diagnostics).c_str(),
                     strict ? " (warnings are errors: --warnings-as-errors)" : "");
      }
    }
    bool failed = unit.diagnostics.has_errors() ||
                  (options->warnings_as_errors && unit.diagnostics.warning_count());
    return failed ? kFailed : kOk;
  };
}

}  // namespace ptag::cli
