// The `ptag` subcommands: each registers its options and returns its exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "ptag/diagnostic.hpp"

namespace ptag::cli {

// Exit codes shared by every subcommand.
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;  // errors in the input, or `--check` found work
inline constexpr int kUsage = 2;

using Run = std::function<int()>;

Run add_check(CLI::App& app);
Run add_fmt(CLI::App& app);
Run add_run(CLI::App& app);
Run add_disasm(CLI::App& app);
Run add_test(CLI::App& app);
Run add_version(CLI::App& app);
Run add_tags(CLI::App& app);
Run add_why(CLI::App& app);
Run add_query(CLI::App& app);
Run add_diff(CLI::App& app);

// Prints diagnostics to stderr, in color on a terminal unless NO_COLOR is set.
void print_diagnostics(const Diagnostics& diagnostics, const SourceSet& sources);

}  // namespace ptag::cli
