// ptag fmt FILE... [-w | --check]
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "commands.hpp"
#include "ptag/format.hpp"
#include "ptag/parser.hpp"

namespace ptag::cli {

// Replaces `path` in one step, so a failure never leaves half a file.
static bool write_whole(const std::string& path, const std::string& text) {
  std::string temporary = path + ".ptag-fmt.tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) std::filesystem::remove(temporary, ec);
  return !ec;
}

Run add_fmt(CLI::App& app) {
  struct Options {
    std::vector<std::string> files;
    bool write = false;
    bool check = false;
  };
  auto options = std::make_shared<Options>();
  app.add_option("files", options->files, "Rule files")->required()->check(CLI::ExistingFile);
  auto* write = app.add_flag("-w,--write", options->write, "Rewrite the files in place");
  app.add_flag("--check", options->check, "List files that are not formatted; exit 1 if any")
      ->excludes(write);
  app.footer(
      "Without -w or --check the formatted text goes to stdout.\n"
      "Exit status: 0 on success, 1 on syntax errors or (with --check) unformatted files, 2 on "
      "usage errors.\n"
      "Examples:\n"
      "  ptag fmt rules.ptag\n"
      "  ptag fmt -w examples/*.ptag\n"
      "  ptag fmt --check examples/*.ptag");
  return [options] {
    int status = kOk;
    for (const std::string& path : options->files) {
      SourceSet sources;
      std::string text;
      if (!read_file(path, text)) {
        std::fprintf(stderr, "ptag fmt: cannot read '%s'\n", path.c_str());
        status = kFailed;
        continue;
      }
      FileId file = sources.add(path, text);
      ParseResult parsed = parse(sources, file);
      if (parsed.diagnostics.has_errors()) {
        print_diagnostics(parsed.diagnostics, sources);
        status = kFailed;
        continue;
      }
      std::string formatted = format_module(parsed.module, text);
      if (options->check) {
        if (formatted != text) {
          std::fprintf(stderr, "%s: not formatted\n", path.c_str());
          status = kFailed;
        }
      } else if (options->write) {
        if (formatted != text && !write_whole(path, formatted)) {
          std::fprintf(stderr, "ptag fmt: cannot write '%s'\n", path.c_str());
          status = kFailed;
        }
      } else {
        std::fputs(formatted.c_str(), stdout);
      }
    }
    return status;
  };
}

}  // namespace ptag::cli
