// `ptag serve`: the always-on automation (docs/serve.md).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace ptag::serve {

// Registers `ptag serve` and its options; the returned function runs it.
std::function<int()> add_serve_command(CLI::App& app);

}  // namespace ptag::serve
