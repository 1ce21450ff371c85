// `ptag serve`: the always-on automation (docs/serve.md).
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace ptag {
struct Program;
}

namespace ptag::serve {

// Readies a freshly compiled program for its engine (the JIT, when the
// command line asks for it) and says what runs it, for the log ("vm", or
// the JIT and its compile time). Throws std::runtime_error when it cannot.
using PrepareProgram = std::function<std::string(Program&)>;

// Registers `ptag serve` and its options; the returned function runs it.
// `prepare` is called on the program at the start and on every reload.
std::function<int()> add_serve_command(CLI::App& app, PrepareProgram prepare = {});

}  // namespace ptag::serve
