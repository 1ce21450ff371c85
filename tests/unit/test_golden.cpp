// Golden diagnostics: each tests/diagnostics/NAME.ptag is checked on its own
// and its rendered diagnostics must equal NAME.expected. Set
// PTAG_UPDATE_GOLDEN=1 to rewrite the expected files (then review the diff).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "ptag/compiler.hpp"

namespace fs = std::filesystem;
using namespace ptag;

static std::string rendered(const std::string& name) {
  Unit unit = compile_files({name});
  std::string out;
  for (const Diagnostic& d : unit.diagnostics.all()) out += render_text(d, unit.sources);
  out += summary_line(unit.diagnostics) + "\n";
  return out;
}

TEST_CASE("golden diagnostics") {
  fs::path dir = fs::path(PTAG_SOURCE_DIR) / "tests" / "diagnostics";
  fs::current_path(dir);  // file names in the output are relative, as a user types them
  bool update = std::getenv("PTAG_UPDATE_GOLDEN") != nullptr;
  std::set<std::string> codes;
  std::size_t cases = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".ptag") continue;
    std::string name = entry.path().filename().string();
    fs::path expected_path = entry.path();
    expected_path.replace_extension(".expected");
    std::string got = rendered(name);
    if (update) std::ofstream(expected_path, std::ios::binary) << got;
    std::string expected;
    REQUIRE(read_file(expected_path.string(), expected));
    INFO(name);
    CHECK(got == expected);
    ++cases;
    Unit unit = compile_files({name});
    for (const Diagnostic& d : unit.diagnostics.all()) codes.insert(std::string(d.code));
  }
  CHECK(cases >= 40);
  // Every code of diagnostic_codes.hpp but E004 (unreadable file) has a golden case.
  CHECK(codes.size() >= 30);
}
