// --engine vm|jit and --jit-opt, shared by `ptag run` and `ptag test`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "ptag/program.hpp"

namespace ptag::cli {

struct EngineChoice {
  std::string engine = "vm";
  int jit_opt = 2;
};

void add_engine_options(CLI::App& app, EngineChoice& choice);

// For --engine jit, compiles the program's guards to native code (attached
// to `program`) and returns the seconds it took; 0 for the VM. Throws
// std::runtime_error with the message to print when it cannot.
double prepare_engine(Program& program, const EngineChoice& choice);

}  // namespace ptag::cli
