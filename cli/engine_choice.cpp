#include "engine_choice.hpp"

#include <stdexcept>

#ifdef PTAG_HAVE_JIT
#include "ptag/jit.hpp"
#endif

namespace ptag::cli {

void add_engine_options(CLI::App& app, EngineChoice& choice) {
  app.add_option("--engine", choice.engine,
                 "What runs the guards: vm (the bytecode interpreter, the default) or jit (native code; "
                 "only in a build with -DPTAG_JIT=ON)")
      ->check(CLI::IsMember({"vm", "jit"}));
  app.add_option("--jit-opt", choice.jit_opt, "The JIT's optimization level: 0, 1 or 2 (the default)")
      ->check(CLI::Range(0, 2));
}

double prepare_engine(Program& program, const EngineChoice& choice) {
  if (choice.engine != "jit") return 0;
#ifdef PTAG_HAVE_JIT
  jit::JitStats stats;
  try {
    program.native = jit::compile(program, {.opt_level = choice.jit_opt}, &stats);
  } catch (const jit::JitError& e) {
    throw std::runtime_error(e.what());
  }
  return stats.compile_seconds;
#else
  (void)program;
  throw std::runtime_error("--engine jit: this ptag was built without the JIT (configure with -DPTAG_JIT=ON)");
#endif
}

}  // namespace ptag::cli
