#include <cstdio>
#include <map>
#include <memory>

#include "commands.hpp"
#include "engine_choice.hpp"
#include "ptag/lsp.hpp"
#include "ptag/serve.hpp"
#include "ptag/text.hpp"

namespace ptag::cli {

Run add_version(CLI::App& app) {
  app.footer("Also: ptag --version");
  return [] {
    std::printf("ptag %s\n", PTAG_VERSION);
    return kOk;
  };
}

}  // namespace ptag::cli

namespace {

// CLI11 gives a misspelled option's value to a positional argument and then
// reports that value as a missing file ("File does not exist: 2027-01-01").
// So unknown commands and options are found here first, with a suggestion.
std::string unknown_word(const CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    commands.push_back(sub->get_name());
  // Commands are quoted, options not: "did you mean 'check'?", "did you mean --until?".
  auto suggest = [](const std::string& word, const std::vector<std::string>& names) {
    std::vector<std::string_view> views(names.begin(), names.end());
    std::string best(ptag::closest_name(word, views));
    if (best.empty() || (word.size() == 2 && word[0] == '-')) return std::string();
    return "; did you mean " + (best[0] == '-' ? best : "'" + best + "'") + "?";
  };
  if (args[0].starts_with('-')) {
    if (args[0] == "-h" || args[0] == "--help") return {};
    return "ptag: unknown option " + args[0] + suggest(args[0], {"--help", "--version"});
  }
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; }))
    if (s->get_name() == args[0]) sub = s;
  if (!sub) return "ptag: unknown command '" + args[0] + "'" + suggest(args[0], commands);

  std::vector<std::string> long_names{"--help"}, short_names{"-h"};
  std::map<std::string, bool> takes_value;
  for (const CLI::Option* opt : sub->get_options()) {
    for (const std::string& n : opt->get_lnames()) {
      long_names.push_back("--" + n);
      takes_value["--" + n] = opt->get_type_size() != 0;
    }
    for (const std::string& n : opt->get_snames()) {
      short_names.push_back("-" + n);
      takes_value["-" + n] = opt->get_type_size() != 0;
    }
  }
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    std::string name = a.starts_with("--") ? a.substr(0, a.find('=')) : a.substr(0, 2);
    auto known = takes_value.find(name);
    if (known != takes_value.end() || name == "--help" || name == "-h") {
      // The next word is this option's value, whatever it looks like.
      if (known != takes_value.end() && known->second && name == a) ++i;
      continue;
    }
    const auto& names = a.starts_with("--") ? long_names : short_names;
    return "ptag " + args[0] + ": unknown option " + name + suggest(name, names);
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ptag: partner tag automation rules: check, format, test and run them", "ptag"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  ptag check examples/*.ptag        check rule files (as one program)\n"
      "  ptag run examples/tiers.ptag --events examples/events.jsonl\n"
      "  ptag fmt -w examples/tiers.ptag   rewrite a file in the canonical layout\n"
      "Run 'ptag COMMAND --help' for a command's options; 'ptag --version' for the version.");
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
  add("tags", ptag::cli::add_tags, "Print partners' current tags from a store");
  add("query", ptag::cli::add_query, "Print the partners of a store that match a guard expression");
  add("why", ptag::cli::add_why, "Print the records that added and removed a partner's tag");
  add("diff", ptag::cli::add_diff, "Compare the tags two rule files give over the same events");
  {
    CLI::App* sub = app.add_subcommand("serve", "Serve the rules always-on: webhooks in, wall-clock timers, webhooks out");
    auto engine = std::make_shared<ptag::cli::EngineChoice>();
    ptag::cli::add_engine_options(*sub, *engine);
    commands[sub] = ptag::serve::add_serve_command(*sub, [engine](ptag::Program& program) {
      return ptag::cli::describe(program, *engine, ptag::cli::prepare_engine(program, *engine));
    });
  }
  add("lsp", ptag::lsp::add_lsp_command, "Serve editors over the Language Server Protocol (stdio)");
  add("version", ptag::cli::add_version, "Print the version");

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(app.help().c_str(), stdout);
    return ptag::cli::kOk;
  }
  if (args[0] == "--version") return commands[app.get_subcommand("version")]();
  if (std::string unknown = unknown_word(app, args); !unknown.empty()) {
    bool command = unknown.starts_with("ptag: unknown command") || args[0].starts_with('-');
    std::fprintf(stderr, "%s\nRun 'ptag %s--help' for %s.\n", unknown.c_str(),
                 command ? "" : (args[0] + " ").c_str(), command ? "the commands" : "its options");
    return ptag::cli::kUsage;
  }
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
