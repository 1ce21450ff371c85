// ptag-gen events --partners P --events N [--seed S]   JSONL events on stdout
// ptag-gen rules --rules N [--seed S]                   a rule file on stdout
#include <cstdio>
#include <cstring>
#include <string>

#include "workload.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "events") && std::strcmp(argv[1], "rules"))) {
    std::fprintf(stderr, "usage: ptag-gen events --partners P --events N [--seed S]\n"
                         "       ptag-gen rules --rules N [--seed S]\n");
    return 2;
  }
  ptag::bench::EventMix mix;
  std::uint64_t rules = 100;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::uint64_t value = std::stoull(argv[i + 1]);
    if (!std::strcmp(argv[i], "--partners")) mix.partners = value;
    else if (!std::strcmp(argv[i], "--events")) mix.events = value;
    else if (!std::strcmp(argv[i], "--seed")) mix.seed = value;
    else if (!std::strcmp(argv[i], "--rules")) rules = value;
  }
  if (!std::strcmp(argv[1], "events")) {
    ptag::bench::write_events(stdout, mix);
  } else {
    std::fputs(ptag::bench::make_rules(rules, mix.seed).c_str(), stdout);
  }
  return 0;
}
