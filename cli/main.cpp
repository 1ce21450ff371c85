#include <cstdio>
#include <map>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ptag: partner tag automation rules: check, format and run them"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  ptag check examples/*.ptag        check rule files (as one program)\n"
      "  ptag run examples/tiers.ptag --events examples/events.jsonl\n"
      "  ptag fmt -w examples/tiers.ptag   rewrite a file in the canonical layout\n"
      "Run 'ptag COMMAND --help' for a command's options.");
  std::map<CLI::App*, ptag::cli::Run> commands;
  auto add = [&](const char* name, ptag::cli::Run (*register_command)(CLI::App&),
                 const char* description) {
    CLI::App* sub = app.add_subcommand(name, description);
    commands[sub] = register_command(*sub);
  };
  add("check", ptag::cli::add_check, "Check rule files and report errors and warnings");
  add("fmt", ptag::cli::add_fmt, "Lay out rule files canonically");
  add("run", ptag::cli::add_run, "Run rule files over partner events and write tag changes");
  add("test", ptag::cli::add_test, "Run the test blocks of rule files");
  add("disasm", ptag::cli::add_disasm, "Print the compiled bytecode of rule files");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return ptag::cli::kUsage;
  }
  for (auto& [sub, run] : commands) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const std::exception& e) {  // an implementation limit, or out of memory
      std::fprintf(stderr, "ptag %s: %s\n", sub->get_name().c_str(), e.what());
      return ptag::cli::kFailed;
    }
  }
  return ptag::cli::kUsage;
}
