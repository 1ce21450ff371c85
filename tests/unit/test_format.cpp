// The formatter keeps meaning, is idempotent, and lays files out canonically.
#include <catch2/catch.hpp>
#include <filesystem>

#include "ptag/format.hpp"
#include "ptag/parser.hpp"

namespace fs = std::filesystem;
using namespace ptag;

namespace {

struct Parsed {
  bool ok;
  std::string tree;
  std::string formatted;
};

Parsed format_text(const std::string& text) {
  SourceSet sources;
  FileId f = sources.add("f.ptag", text);
  ParseResult r = parse(sources, f);
  if (r.diagnostics.has_errors()) return {false, "", ""};
  return {true, ast::dump(r.module), format_module(r.module, text)};
}

std::vector<fs::path> every_rule_file() {
  std::vector<fs::path> files;
  for (const char* dir : {"examples", "stdlib", "tests"}) {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(PTAG_SOURCE_DIR) / dir)) {
      if (e.path().extension() == ".ptag") files.push_back(e.path());
    }
  }
  return files;
}

}  // namespace

TEST_CASE("fmt keeps the meaning and is idempotent on every rule file of the repository") {
  std::size_t formatted_files = 0;
  for (const fs::path& path : every_rule_file()) {
    std::string text;
    REQUIRE(read_file(path.string(), text));
    Parsed first = format_text(text);
    if (!first.ok) continue;  // the diagnostics cases with syntax errors
    INFO(path.string());
    Parsed second = format_text(first.formatted);
    REQUIRE(second.ok);
    CHECK(second.tree == first.tree);
    CHECK(second.formatted == first.formatted);
    ++formatted_files;
  }
  CHECK(formatted_files >= 40);
}

TEST_CASE("the examples and rule packs are already formatted") {
  for (const fs::path& path : every_rule_file()) {
    std::string p = path.string();
    if (p.find("/examples/") == std::string::npos && p.find("/stdlib/") == std::string::npos)
      continue;
    std::string text;
    REQUIRE(read_file(p, text));
    INFO(p);
    CHECK(format_text(text).formatted == text);
  }
}

TEST_CASE("a messy file gets the canonical layout") {
  std::string messy, expected;
  REQUIRE(read_file(PTAG_SOURCE_DIR "/tests/format/messy.ptag", messy));
  REQUIRE(read_file(PTAG_SOURCE_DIR "/tests/format/messy.expected", expected));
  CHECK(format_text(messy).formatted == expected);
}

TEST_CASE("one-line rules: aligned in runs, long ones broken up") {
  CHECK(
      format_text("on join add \"A\"\non first_sale add \"B\"\n\non sale add \"C\"\n").formatted ==
      "on join       add \"A\"\non first_sale add \"B\"\n\non sale add \"C\"\n");
  std::string long_rule =
      "on sale when partner.country in [\"DE\", \"AT\", \"CH\", \"LU\", \"LI\"] and revenue >= "
      "100000 "
      "add \"DACH Premium\", \"Premium\"\n";
  CHECK(format_text(long_rule).formatted ==
        "on sale\n  when partner.country in [\"DE\", \"AT\", \"CH\", \"LU\", \"LI\"] and revenue "
        ">= 100000\n"
        "  add \"DACH Premium\", \"Premium\"\n");
}

TEST_CASE("parentheses are kept only where they change the meaning") {
  struct Row {
    const char* guard;
    const char* canonical;
  };
  const Row rows[] = {
      {"(a and b) or c", "a and b or c"},   {"a and (b or c)", "a and (b or c)"},
      {"not (a == 1)", "not a == 1"},       {"(not a) == b", "(not a) == b"},
      {"a - (b - c)", "a - (b - c)"},       {"(a - b) - c", "a - b - c"},
      {"(a * b) + c", "a * b + c"},         {"a * (b + c)", "a * (b + c)"},
      {"-(a + b) > 0", "-(a + b) > 0"},     {"(a < b) == true", "(a < b) == true"},
      {"((tagged \"X\"))", "tagged \"X\""},
  };
  for (const Row& row : rows) {
    INFO(row.guard);
    Parsed p = format_text(std::string("on sale when ") + row.guard + " add \"T\"\n");
    REQUIRE(p.ok);
    CHECK(p.formatted == std::string("on sale when ") + row.canonical + " add \"T\"\n");
    CHECK(format_text(p.formatted).tree == p.tree);
  }
}

TEST_CASE("comments stay with what they describe") {
  std::string text =
      "# header\n\n# about join\non join add \"A\" # trailing\n"
      "rule \"R\" # named\non sale\n# before the action\nadd \"B\"\n# the end\n";
  Parsed p = format_text(text);
  CHECK(p.formatted ==
        "# header\n\n# about join\non join add \"A\"  # trailing\n"
        "rule \"R\"  # named\non sale\n  # before the action\n  add \"B\"\n# the end\n");
  CHECK(format_text(p.formatted).formatted == p.formatted);
}
