#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "ptag/compiler.hpp"
#include "ptag/test_runner.hpp"

namespace ptag {

// `# expect error: LINE:COL: message` in a rule file.
struct ExpectedError {
  std::size_t at_line;  // where the annotation is
  std::size_t line, column;
  std::string message;
};

std::vector<ExpectedError> find_expected_errors(const std::string& text);

// Each annotation is one test: an error at LINE:COL whose message contains
// the text. An error no annotation expects is one more failed test.
void check_expected_errors(const Unit& unit, const std::vector<ExpectedError>& expected,
                           const TestOptions& options, TestSummary& summary, std::FILE* out);

}  // namespace ptag
