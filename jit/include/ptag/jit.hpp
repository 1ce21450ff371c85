// The optional LLVM ORC JIT (built with -DPTAG_JIT=ON): a Program's guards,
// and each event type's every-event rules as whole functions, compiled to
// native code, run by the engine in place of the bytecode interpreter with
// the same results (docs/jit.md).
#pragma once

#include <memory>
#include <stdexcept>

#include "ptag/native.hpp"
#include "ptag/program.hpp"

namespace ptag::jit {

struct JitOptions {
  int opt_level = 2;  // 0, 1 or 2: LLVM's optimization pipeline and code generation
};

struct JitStats {
  double compile_seconds = 0;  // building, optimizing and compiling the module
  std::size_t guards = 0;      // compiled
  std::size_t left_to_vm = 0;  // guards the code generator does not take (none today)
  std::size_t functions = 0;   // NativeRules: runs of an event type's every-event rules
};

class JitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Compiles `program`'s guards and every-event rules; the result does not refer to `program` (it
// keeps its own copies of the texts it compares). Throws JitError when LLVM
// cannot set up a native target.
std::shared_ptr<const NativeCode> compile(const Program& program, const JitOptions& options = {},
                                          JitStats* stats = nullptr);

}  // namespace ptag::jit
