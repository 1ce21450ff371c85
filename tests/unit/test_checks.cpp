// Check passes, asserted on the diagnostics they produce.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "ptag/compiler.hpp"
#include "ptag/diagnostic_codes.hpp"

using namespace ptag;

namespace {

Unit compile(const std::string& text) {
  Unit unit = load_text("t.ptag", text);
  check(unit);
  return unit;
}

std::vector<std::string> codes_of(const Unit& unit) {
  std::vector<std::string> out;
  for (const Diagnostic& d : unit.diagnostics.all()) out.emplace_back(d.code);
  return out;
}

using Codes = std::vector<std::string>;

}  // namespace

TEST_CASE("clean programs have no diagnostics") {
  Unit unit = compile(
      "let vip = 5000\nexclusive \"Bronze\", \"Silver\"\non first_sale add \"Bronze\"\n"
      "on milestone revenue >= vip add \"Silver\"\n"
      "on inactive 30d when tagged \"Silver\" and days_since_activity > 29 add \"At Risk\" for 2w\n"
      "on tag_added \"At Risk\" when event.amount > 1 emit \"risk\"\n"
      "on sale when partner.country in [\"DE\"] remove \"At Risk\"\n");
  CHECK(codes_of(unit) == Codes{});
}

TEST_CASE("the rule name is its own or FILE:LINE of 'on'") {
  Unit unit = compile("\n\nrule \"Named\"\non join add \"A\"\n\non sale add \"B\"\n");
  auto rules = unit.all<ast::Rule>();
  REQUIRE(rules.size() == 2);
  CHECK(unit.rule_name(*rules[0]) == "Named");
  CHECK(unit.rule_name(*rules[1]) == "t.ptag:6");
}

TEST_CASE("triggers, metrics and units are checked against the catalogue") {
  CHECK(codes_of(compile("on frist_sale add \"A\"")) == Codes{"E101"});
  CHECK(codes_of(compile("on sale 5d add \"A\"")) == Codes{"E102"});
  CHECK(codes_of(compile("on milestone revnue >= 5 add \"A\"")) == Codes{"E103"});
  CHECK(codes_of(compile("on inactive 5y add \"A\"")) == Codes{"E105"});
  CHECK(codes_of(compile("on inactive 0h add \"A\"")) == Codes{"E106"});
  CHECK(codes_of(compile("on milestone sales >= 0 add \"A\"")) == Codes{"E107"});
  CHECK(codes_of(compile("on event \"refund\" add \"A\"")) == Codes{"E120"});
  CHECK(codes_of(compile("on event \"\" add \"A\"")) == Codes{"E119"});
}

TEST_CASE("timer rules cannot read the event; tag rules can") {
  CHECK(codes_of(compile("on anniversary 1w when event.x == 1 add \"A\"")) == Codes{"E109"});
  CHECK(codes_of(compile("on no_referral 1w when not (event.x == 1) add \"A\"")) == Codes{"E109"});
  CHECK(codes_of(compile("on join add \"B\"\non tag_added \"B\" when event.x == 1 add \"A\"")) ==
        Codes{});
}

TEST_CASE("cascade cycles name every rule on the cycle") {
  Unit unit = compile(
      "rule \"one\" on tag_added \"A\" add \"B\"\n"
      "rule \"two\" on tag_added \"B\" add \"C\"\n"
      "rule \"three\" on tag_added \"C\" add \"A\"\n"
      "rule \"start\" on join add \"A\"\n");
  REQUIRE(codes_of(unit) == Codes{"E112"});
  const Diagnostic& d = unit.diagnostics.all()[0];
  CHECK(d.message ==
        "these rules can trigger each other without end: 'one' → 'two' → 'three' → 'one'");
  CHECK(d.notes.size() == 3);
}

TEST_CASE("no cycle when the chain ends") {
  CHECK(
      codes_of(compile(
          "on join add \"A\"\non tag_added \"A\" add \"B\"\non tag_added \"B\" remove \"A\"\n")) ==
      Codes{});
}

TEST_CASE("exclusive removals count as changes for cycles") {
  Unit unit = compile(
      "exclusive \"X\", \"Y\"\non join add \"X\"\nrule \"flip\" on tag_removed \"X\" add \"Y\"\n"
      "rule \"flop\" on tag_removed \"Y\" add \"X\"\n");
  // Each rule re-triggers itself: adding Y removes X, which is what 'flip' watches.
  REQUIRE(codes_of(unit) == Codes{"E112", "E112"});
  CHECK(unit.diagnostics.all()[0].notes[0].message ==
        "'flip' removes 'X' (it adds 'Y', exclusive with it), which triggers 'flip'");
}

TEST_CASE("imports: packs, files, diamonds, missing and cyclic") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "ptag-import-test";
  fs::remove_all(dir);
  fs::create_directories(dir / "lib");
  auto write = [&](const fs::path& p, const std::string& text) { std::ofstream(p) << text; };
  write(dir / "lib" / "base.ptag", "on join add \"Base\"\n");
  write(dir / "lib" / "a.ptag", "import \"base.ptag\"\non sale add \"A\"\n");
  write(dir / "lib" / "b.ptag", "import \"base.ptag\"\non click add \"B\"\n");
  write(
      dir / "main.ptag",
      "import \"lib/a.ptag\"\nimport \"lib/b.ptag\"\nimport \"std/tiers\"\non signup add \"M\"\n");
  Unit unit = compile_files({(dir / "main.ptag").string()});
  CHECK(codes_of(unit) == Codes{});
  std::vector<std::string> order;
  for (const ast::Rule* r : unit.all<ast::Rule>()) order.push_back(r->actions[0].tags[0].value);
  // Imports in place, each file once: base (via a), a, b, the tiers pack, then main.
  REQUIRE(order.size() >= 5);
  CHECK(order[0] == "Base");
  CHECK(order[1] == "A");
  CHECK(order[2] == "B");
  CHECK(order.back() == "M");

  write(dir / "lib" / "c1.ptag", "import \"c2.ptag\"\n");
  write(dir / "lib" / "c2.ptag", "import \"c1.ptag\"\n");
  CHECK(codes_of(compile_files({(dir / "lib" / "c1.ptag").string()})) == Codes{"E114"});
  CHECK(codes_of(compile_files({(dir / "lib" / "nope.ptag").string()})) == Codes{"E004"});
  CHECK(codes_of(compile("import \"std/nope\"")) == Codes{"E113"});
  fs::remove_all(dir);
}

TEST_CASE("guard kinds known at compile time") {
  CHECK(codes_of(compile("on sale when revenue add \"A\"")) == Codes{"E117"});
  CHECK(codes_of(compile("on sale when not revenue add \"A\"")) == Codes{"E117"});
  CHECK(codes_of(compile("on sale when \"a\" - 1 > 0 add \"A\"")) == Codes{"E117"});
  CHECK(codes_of(compile("on sale when revenue in 5 add \"A\"")) == Codes{"E118"});
  CHECK(codes_of(compile("let c = [\"DE\"]\non sale when partner.country in c add \"A\"")) ==
        Codes{});
  CHECK(codes_of(compile("on sale when revenue == true add \"A\"")) == Codes{"W004"});
  CHECK(codes_of(compile("on sale when revenue / 0 > 1 add \"A\"")) == Codes{"W005"});
  // Fields are only known at run time: no complaint.
  CHECK(codes_of(compile("on sale when event.amount + partner.bonus > 1 add \"A\"")) == Codes{});
}

TEST_CASE("warnings: never added, added and removed, unused constants") {
  CHECK(codes_of(compile("on sale remove \"Ghost\"")) == Codes{"W001"});
  CHECK(codes_of(compile("on sale when tagged \"Ghost\" emit \"boo\"")) == Codes{"W001"});
  CHECK(codes_of(compile("on sale add \"X\" remove \"X\"")) == Codes{"W002"});
  CHECK(codes_of(compile("let unused = 1\non sale add \"X\"")) == Codes{"W003"});
}

TEST_CASE("several errors are reported in one run, in source order") {
  Unit unit = compile(
      "on frist_sale add \"A\"\non milestone revnue >= 0 add \"B\"\nrule \"r\" on join add \"C\"\n"
      "rule \"r\" on click add \"D\"\n");
  CHECK(codes_of(unit) == Codes{"E101", "E103", "E107", "E110"});
}

TEST_CASE("tier order: a lower tier written after a higher one of its group") {
  const std::string tiers = "exclusive \"Bronze\", \"Gold\"\n";
  CHECK(codes_of(compile(tiers + "on milestone revenue >= 5000 add \"Gold\"\n"
                                 "on milestone revenue >= 100 add \"Bronze\"\n")) ==
        Codes{"W006"});
  CHECK(codes_of(compile(tiers + "let top = 5000\non milestone revenue >= top add \"Gold\"\n"
                                 "on first_sale add \"Bronze\"\n")) == Codes{"W006"});
  // Ascending order, other metrics, or tags of no common group: no trap.
  CHECK(codes_of(compile(tiers + "on milestone revenue >= 100 add \"Bronze\"\n"
                                 "on milestone revenue >= 5000 add \"Gold\"\n")) == Codes{});
  CHECK(codes_of(compile(tiers + "on milestone revenue >= 5000 add \"Gold\"\n"
                                 "on milestone sales >= 10 add \"Bronze\"\n")) == Codes{});
  CHECK(codes_of(compile("on milestone revenue >= 5000 add \"Gold\"\n"
                         "on milestone revenue >= 100 add \"Bronze\"\n")) == Codes{});
  Unit unit = compile(tiers + "rule \"G\" on milestone revenue >= 5000 add \"Gold\"\n"
                              "rule \"B\" on milestone revenue >= 100 add \"Bronze\"\n");
  REQUIRE(unit.diagnostics.all().size() == 1);
  CHECK(unit.diagnostics.all()[0].message ==
        "tier rule 'B' (revenue >= 100) comes after 'G' (revenue >= 5000): one event that "
        "crosses both thresholds ends on 'Bronze', not 'Gold'");
}

TEST_CASE("timers under an hour are flagged; an hour or more is not") {
  CHECK(codes_of(compile("on inactive 3m add \"A\"")) == Codes{"W007"});
  CHECK(codes_of(compile("on no_referral 59m add \"A\"")) == Codes{"W007"});
  CHECK(codes_of(compile("on anniversary 3599s add \"A\"")) == Codes{"W007"});
  CHECK(codes_of(compile("on inactive 60m add \"A\"")) == Codes{});
  CHECK(codes_of(compile("on inactive 1h add \"A\"")) == Codes{});
  CHECK(codes_of(compile("on join add \"A\" for 5m")) == Codes{});  // an expiry, not a timer
  CHECK(codes_of(compile("on inactive 0m add \"A\"")) == Codes{"E106"});
}

TEST_CASE("custom events named like a built-in type") {
  for (const char* name : {"Sale", "sales", "SIGNUPS", "sign_up", "sign-ups", "Refund"}) {
    INFO(name);
    CHECK(codes_of(compile(std::string("on event \"") + name + "\" add \"A\"")) ==
          Codes{"W008"});
  }
  for (const char* name : {"scale", "purchase", "contract.signed", "signup.confirmed"}) {
    INFO(name);
    CHECK(codes_of(compile(std::string("on event \"") + name + "\" add \"A\"")) == Codes{});
  }
  CHECK(codes_of(compile("on event \"sale\" add \"A\"")) == Codes{"E120"});
  CHECK(codes_of(compile("on join add \"A\"\ntest \"t\" {\n  at 2026-01-01 event \"Join\" \"p\"\n}"))
        == Codes{"W008"});
}

TEST_CASE("names that differ only in case") {
  CHECK(codes_of(compile("on sale add \"VIP\"\non click add \"Vip\"")) == Codes{"W009"});
  // "Gold" is not in the group "gold" is in: only the case warning, no exclusive pair.
  CHECK(codes_of(compile("exclusive \"gold\", \"Silver\"\non sale add \"Gold\", \"Silver\"")) ==
        Codes{"W009"});
  CHECK(codes_of(compile("let a = 1\nlet A = 2\non sale when a + A > 1 add \"X\"")) ==
        Codes{"W009"});
  CHECK(codes_of(compile("let Sales = 2\non sale when Sales > 1 add \"X\"")) == Codes{"W009"});
  // A tag only tested in another spelling is W001, with the spelling to use.
  Unit unit = compile("on sale add \"VIP\"\non click when tagged \"Vip\" emit \"n\"");
  REQUIRE(codes_of(unit) == Codes{"W001"});
  CHECK(unit.diagnostics.all()[0].notes.at(0).message == "help: did you mean 'VIP'?");
}

TEST_CASE("never added: imports and other files add tags, exclusive groups and tests do not") {
  CHECK(codes_of(compile("import \"std/tiers\"\non tag_added \"Gold\" emit \"gold\"\n"
                         "on refund when tagged \"Silver\" remove \"Rising Star\"")) == Codes{});
  Unit both = load_texts({{"a.ptag", "on sale add \"Seller\""},
                          {"b.ptag", "on tag_removed \"Seller\" emit \"lost\""}});
  check(both);
  CHECK(codes_of(both) == Codes{});
  CHECK(codes_of(compile("exclusive \"A\", \"B\"\non sale add \"A\"\non tag_added \"B\" emit \"b\"")) ==
        Codes{"W001"});
  CHECK(codes_of(compile("on sale add \"A\"\ntest \"t\" {\n  at 2026-01-01 join \"p\"\n"
                         "  expect \"p\" lacks \"B\"\n  expect \"p\" tags [\"A\", \"C\"]\n}")) ==
        Codes{"W001", "W001"});
}

TEST_CASE("add and remove in one rule, in either order or through a group") {
  CHECK(codes_of(compile("on sale add \"X\" for 7d remove \"X\"")) == Codes{"W002"});
  CHECK(codes_of(compile("on sale remove \"X\" add \"X\"")) == Codes{"W002"});
  CHECK(codes_of(compile("exclusive \"A\", \"B\"\non sale add \"A\" add \"B\" for 2d")) ==
        Codes{"W002"});
  CHECK(codes_of(compile("exclusive \"A\", \"B\"\non sale add \"A\" remove \"B\"\n"
                         "on click add \"B\"")) == Codes{});
}

TEST_CASE("load_text: a reader supplies imported files; every import is linked to its file") {
  std::map<std::string, std::string> files = {{"lib/base.ptag", "on join add \"Base\"\n"},
                                              {"lib/a.ptag", "import \"base.ptag\"\n"}};
  std::vector<std::string> asked;
  FileReader read = [&](const std::string& path, std::string& out) {
    asked.push_back(path);
    auto it = files.find(path);
    if (it == files.end()) return false;
    out = it->second;
    return true;
  };
  Unit unit = load_text("main.ptag",
                        "import \"lib/a.ptag\"\nimport \"lib/base.ptag\"\nimport \"std/tiers\"\n"
                        "import \"gone.ptag\"\non sale when tagged \"Base\" add \"M\"\n",
                        read);
  check(unit);
  CHECK(codes_of(unit) == Codes{"E113"});  // gone.ptag only
  CHECK(asked == std::vector<std::string>{"lib/a.ptag", "lib/base.ptag", "gone.ptag"});
  // a.ptag's import of base.ptag, main's import of a.ptag, of base.ptag (already loaded), the pack.
  REQUIRE(unit.imports.size() == 4);
  auto name_of = [&](const ImportLink& l) { return unit.sources.file(l.file).name; };
  CHECK(name_of(unit.imports[0]) == "lib/base.ptag");
  CHECK(unit.imports[0].at.file == 1);
  CHECK(name_of(unit.imports[1]) == "lib/a.ptag");
  CHECK(unit.imports[1].at.line == 1);
  CHECK(name_of(unit.imports[2]) == "lib/base.ptag");
  CHECK(unit.imports[2].at.line == 2);
  CHECK(name_of(unit.imports[3]) == "std/tiers");
}
