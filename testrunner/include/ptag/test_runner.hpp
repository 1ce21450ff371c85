// `ptag test`: the test blocks of rule files (docs/language.md, "Tests"), run on the
// same engine as `ptag run`, and `# expect error: LINE:COL: message` lines
// checked against the compiler's diagnostics.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace ptag {

struct Program;

struct TestOptions {
  std::string filter;   // run only tests whose name contains this
  bool verbose = false; // print every record and every passing test
  // Sees each file's program before its tests run (`--engine jit` attaches
  // native code there).
  std::function<void(Program&)> prepare;
};

struct TestSummary {
  std::size_t passed = 0;
  std::size_t failed = 0;
  std::size_t tests_run = 0;  // test blocks that matched the filter and ran
};

// Runs every file on its own (with its imports) and prints failures to `out`:
// `FILE:LINE: test "NAME": expected ..., got ...`, the partner's tags and the
// records that led there. The caller prints the closing `N passed, N failed`.
TestSummary run_test_files(const std::vector<std::string>& files, const TestOptions& options, std::FILE* out);

}  // namespace ptag
