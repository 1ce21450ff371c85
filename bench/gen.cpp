// ptag-gen events [--partners P] [--events N] [--seed S]   JSONL events on stdout
// ptag-gen rules [--rules N] [--seed S]                    a rule file on stdout
#include <CLI/CLI.hpp>
#include <cstdio>

#include "workload.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ptag-gen: seeded workloads for ptag's benchmarks and tests (docs/performance.md)",
               "ptag-gen"};
  app.require_subcommand(1);
  ptag::bench::EventMix mix;
  std::uint64_t rules = 100;
  CLI::App* events = app.add_subcommand("events", "Write JSONL partner events to stdout");
  events->add_option("--partners", mix.partners, "Partners")->capture_default_str();
  events->add_option("--events", mix.events, "Events, joins included")->capture_default_str();
  events->add_option("--seed", mix.seed, "Random seed")->capture_default_str();
  CLI::App* rule_file = app.add_subcommand("rules", "Write a generated rule file to stdout");
  rule_file->add_option("--rules", rules, "Rules")->capture_default_str();
  rule_file->add_option("--seed", mix.seed, "Random seed")->capture_default_str();
  app.footer(
      "Examples:\n"
      "  ptag-gen events --partners 1000 --events 20000 > events.jsonl\n"
      "  ptag-gen rules --rules 10 > rules.ptag");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e);
    return status == 0 ? 0 : 2;
  }
  if (events->parsed()) ptag::bench::write_events(stdout, mix);
  else std::fputs(ptag::bench::make_rules(rules, mix.seed).c_str(), stdout);
  return 0;
}
