// --engine vm|jit and --jit-opt, shared by `ptag run` and `ptag test`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "ptag/program.hpp"

namespace ptag::cli {

struct EngineChoice {
  std::string engine = "auto";  // auto: the JIT if built in and the program has > kJitGuardedRules guarded rules
  int jit_opt = 2;
};

void add_engine_options(CLI::App& app, EngineChoice& choice);

struct EngineUsed {
  bool jit = false;
  double compile_seconds = 0;
};

// For the JIT, compiles the program's guards and rules to native code
// (attached to `program`). Throws std::runtime_error with the message to
// print when it cannot.
EngineUsed prepare_engine(Program& program, const EngineChoice& choice);

// What runs it, in words for logs: "vm" or "jit (N guarded rules, -O2, 0.012 s)".
std::string describe(const Program& program, const EngineChoice& choice, const EngineUsed& used);

}  // namespace ptag::cli
