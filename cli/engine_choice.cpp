#include "engine_choice.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>

#ifdef PTAG_HAVE_JIT
#include "ptag/jit.hpp"
#endif

namespace ptag::cli {

void add_engine_options(CLI::App& app, EngineChoice& choice) {
  app.add_option("--engine", choice.engine,
                 "What runs the guards and rules: vm (the bytecode interpreter), jit (native code; only in a "
                 "build with -DPTAG_JIT=ON) or auto (the default: the JIT when built in and the program has more "
                 "than " + std::to_string(kJitGuardedRules) + " guarded rules)")
      ->check(CLI::IsMember({"auto", "vm", "jit"}));
  app.add_option("--jit-opt", choice.jit_opt, "The JIT's optimization level: 0, 1 or 2 (the default)")
      ->check(CLI::Range(0, 2));
}

EngineUsed prepare_engine(Program& program, const EngineChoice& choice) {
#ifdef PTAG_HAVE_JIT
  bool jit = choice.engine == "jit" || (choice.engine == "auto" && guarded_rules(program) > kJitGuardedRules);
  if (!jit) return {};
  jit::JitStats stats;
  try {
    program.native = jit::compile(program, {.opt_level = choice.jit_opt}, &stats);
  } catch (const jit::JitError& e) {
    program.native.reset();
    if (choice.engine == "jit") throw std::runtime_error(e.what());
    // auto: the VM runs the same rules with the same results.
    std::fprintf(stderr, "ptag: warning: %s; the rules run on the VM\n", e.what());
    return {};
  }
  return {true, stats.compile_seconds};
#else
  (void)program;
  if (choice.engine != "jit") return {};
  throw std::runtime_error("--engine jit: this ptag was built without the JIT (configure with -DPTAG_JIT=ON)");
#endif
}

std::string describe(const Program& program, const EngineChoice& choice, const EngineUsed& used) {
  if (!used.jit) return "vm";
  char text[96];
  std::snprintf(text, sizeof text, "jit (%zu guarded rules, -O%d, %.3f s)", guarded_rules(program), choice.jit_opt,
                used.compile_seconds);
  return text;
}

}  // namespace ptag::cli
