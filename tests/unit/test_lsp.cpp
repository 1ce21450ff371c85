// `ptag lsp` without the protocol: positions, URIs, framing, and the
// answers of the workspace on small rule files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "ptag/compiler.hpp"
#include "ptag/lsp.hpp"
#include "ptag/lsp_analysis.hpp"

using namespace ptag;
using namespace ptag::lsp;
namespace fs = std::filesystem;

namespace {

// A folder of rule files, removed at the end.
struct Folder {
  fs::path dir;
  explicit Folder(const std::string& name) : dir(fs::temp_directory_path() / name) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Folder() { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return path_to_uri((dir / name).string());
  }
  std::string uri(const std::string& name) const { return path_to_uri((dir / name).string()); }
};

// The position of the `nth` occurrence of `needle` in `text`, plus `skip` bytes.
Position at(const std::string& text, const std::string& needle, std::size_t skip = 0, int nth = 0) {
  std::size_t offset = text.find(needle);
  for (int i = 0; i < nth; ++i) offset = text.find(needle, offset + 1);
  REQUIRE(offset != std::string::npos);
  return LineIndex(text).position(offset + skip);
}

std::vector<std::string> labels(const std::vector<CompletionItem>& items) {
  std::vector<std::string> out;
  for (const CompletionItem& c : items) out.push_back(c.label);
  return out;
}

bool has(const std::vector<std::string>& list, const std::string& x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

// The hover's text at `p`, or "(none)".
std::string hover_markdown(Workspace& ws, const std::string& uri, Position p) {
  auto h = ws.hover(uri, p);
  return h ? h->markdown : std::string("(none)");
}

const FileDiagnostics* diagnostics_of(const std::vector<FileDiagnostics>& all, const std::string& uri) {
  for (const FileDiagnostics& f : all) {
    if (f.uri == uri) return &f;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("positions: bytes to UTF-16 code units and back") {
  // a, é (2 bytes, 1 unit), 🎉 (4 bytes, 2 units), b
  std::string text = "a\xC3\xA9\xF0\x9F\x8E\x89" "b\nxyz\r\nlast";
  LineIndex lines(text);
  CHECK(lines.position(0) == Position{0, 0});
  CHECK(lines.position(1) == Position{0, 1});
  CHECK(lines.position(3) == Position{0, 2});
  CHECK(lines.position(7) == Position{0, 4});
  CHECK(lines.position(8) == Position{0, 5});
  CHECK(lines.position(9) == Position{1, 0});
  CHECK(lines.position(text.size()) == Position{2, 4});
  CHECK(lines.position(text.size() + 10) == Position{2, 4});
  CHECK(lines.offset({0, 4}) == 7);
  CHECK(lines.offset({0, 3}) == 3);    // inside the surrogate pair: the character's start
  CHECK(lines.offset({0, 99}) == 8);   // past the line's end: the end
  CHECK(lines.offset({1, 99}) == 12);  // before "\r\n"
  CHECK(lines.offset({7, 0}) == text.size());
  for (std::size_t offset : {0u, 1u, 3u, 7u, 8u, 9u, 12u, 14u}) {
    INFO(offset);
    CHECK(lines.offset(lines.position(offset)) == offset);
  }
  CHECK(lines.range(3, 4) == Range{{0, 2}, {0, 4}});
}

TEST_CASE("URIs: file paths with spaces and non-ASCII names") {
  CHECK(path_to_uri("/a b/caf\xC3\xA9.ptag") == "file:///a%20b/caf%C3%A9.ptag");
  CHECK(uri_to_path("file:///a%20b/caf%C3%A9.ptag") == "/a b/caf\xC3\xA9.ptag");
  CHECK(uri_to_path("file://localhost/x/y.ptag") == "/x/y.ptag");
  CHECK(uri_to_path("file:///x/%3a.ptag") == "/x/:.ptag");
  CHECK(uri_to_path("untitled:Untitled-1").empty());
  CHECK(uri_to_path("file://other-host/x").empty());
}

TEST_CASE("framing: Content-Length messages split, joined and broken") {
  MessageReader reader;
  std::string body, error;
  std::string both = frame("{\"a\":1}") + frame("[2]");
  reader.feed(both.substr(0, 10));
  CHECK(reader.next(body, error) == MessageReader::Status::need_more);
  reader.feed(both.substr(10));
  REQUIRE(reader.next(body, error) == MessageReader::Status::message);
  CHECK(body == "{\"a\":1}");
  REQUIRE(reader.next(body, error) == MessageReader::Status::message);
  CHECK(body == "[2]");
  CHECK(reader.next(body, error) == MessageReader::Status::need_more);

  reader.feed("content-length:  3 \r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}x");
  REQUIRE(reader.next(body, error) == MessageReader::Status::message);
  CHECK(body == "{}x");

  reader.feed("X-Other: 1\r\n\r\n" + frame("{}"));
  CHECK(reader.next(body, error) == MessageReader::Status::bad_header);
  CHECK(error.find("Content-Length") != std::string::npos);
  REQUIRE(reader.next(body, error) == MessageReader::Status::message);
  CHECK(body == "{}");

  reader.feed("Content-Length: 99999999999999999999\r\n\r\n" + frame("[]"));
  CHECK(reader.next(body, error) == MessageReader::Status::bad_header);
  REQUIRE(reader.next(body, error) == MessageReader::Status::message);
  CHECK(body == "[]");

  reader.feed(std::string(MessageReader::kMaxHeader + 1, 'x'));
  CHECK(reader.next(body, error) == MessageReader::Status::bad_header);
  reader.feed(frame("1"));
  REQUIRE(reader.next(body, error) == MessageReader::Status::message);
  CHECK(body == "1");
}

TEST_CASE("diagnostics: the checker's codes and messages, help lines, cleared on close") {
  Folder folder("ptag-lsp-diagnostics");
  Workspace ws;
  ws.set_root(folder.dir.string());
  std::string uri = folder.uri("a.ptag");
  ws.open(uri, "on first_sael add \"X\"\n", 3);
  ws.analyze();
  auto all = ws.diagnostics();
  const FileDiagnostics* a = diagnostics_of(all, uri);
  REQUIRE(a);
  CHECK(a->version == 3);
  REQUIRE(a->diagnostics.size() == 1);
  const FileDiagnostic& d = a->diagnostics[0];
  CHECK(d.code == "E101");
  CHECK(d.error);
  CHECK(d.message == "unknown trigger 'first_sael'\nhelp: did you mean 'first_sale'?");
  CHECK(d.range == Range{{0, 3}, {0, 13}});

  REQUIRE(ws.change(uri, "on first_sale add \"X\"\n", 4));
  ws.analyze();
  all = ws.diagnostics();
  REQUIRE(diagnostics_of(all, uri));
  CHECK(diagnostics_of(all, uri)->diagnostics.empty());
  CHECK_FALSE(ws.change(folder.uri("other.ptag"), "", 1));

  ws.close(uri);
  CHECK_FALSE(ws.hover(uri, {0, 4}));  // closed: no answers, even before the next analyze()
  ws.analyze();
  all = ws.diagnostics();
  REQUIRE(all.size() == 1);
  CHECK(all[0].uri == uri);
  CHECK_FALSE(all[0].version);
  CHECK(all[0].diagnostics.empty());
  CHECK(ws.diagnostics().empty());  // reported once
}

TEST_CASE("diagnostics: an imported file is checked as part of the open file that imports it") {
  Folder folder("ptag-lsp-program");
  std::string lib_text = "on milestone revenue >= vip add \"VIP\"\n";
  std::string lib = folder.write("lib.ptag", lib_text);
  std::string main_text = "import \"lib.ptag\"\nlet vip = 5000\non sale when tagged \"VIP\" add \"Big\"\n";
  std::string main = folder.write("main.ptag", main_text);
  Workspace ws;
  ws.set_root(folder.dir.string());
  ws.open(lib, lib_text, 1);
  ws.analyze();
  // On its own, lib.ptag lacks the constant.
  auto all = ws.diagnostics();
  REQUIRE(diagnostics_of(all, lib));
  REQUIRE(diagnostics_of(all, lib)->diagnostics.size() == 1);
  CHECK(diagnostics_of(all, lib)->diagnostics[0].code == "E108");

  ws.open(main, main_text, 1);
  ws.analyze();
  all = ws.diagnostics();
  CHECK(diagnostics_of(all, lib)->diagnostics.empty());
  CHECK(diagnostics_of(all, main)->diagnostics.empty());
  // Hover in the imported file sees the importer's constant and rules.
  auto hover = ws.hover(lib, at(lib_text, "vip"));
  REQUIRE(hover);
  CHECK(hover->markdown.find("let vip = 5000") != std::string::npos);
  // An unsaved change in the open lib.ptag is what main.ptag imports.
  ws.change(lib, "on milestone revenue >= vipp add \"VIP\"\n", 2);
  ws.analyze();
  all = ws.diagnostics();
  REQUIRE(diagnostics_of(all, lib)->diagnostics.size() == 1);
  CHECK(diagnostics_of(all, lib)->diagnostics[0].message.find("did you mean 'vip'?") != std::string::npos);

  // An error in an imported file that is not open is shown at the import.
  ws.close(lib);
  folder.write("lib.ptag", "on sael add \"VIP\"\n");
  ws.analyze();
  all = ws.diagnostics();
  const FileDiagnostics* m = diagnostics_of(all, main);
  REQUIRE(m);

  CHECK(m->diagnostics[1].code == "W003");
  CHECK(m->diagnostics[0].code == "E101");
  CHECK(m->diagnostics[0].message.starts_with("in lib.ptag (line 1): unknown trigger 'sael'"));
  CHECK(m->diagnostics[0].range == Range{{0, 7}, {0, 17}});
  REQUIRE_FALSE(m->diagnostics[0].related.empty());
  CHECK(m->diagnostics[0].related[0].location.uri == lib);
  CHECK(m->diagnostics[0].related[0].location.range == Range{{0, 3}, {0, 7}});
}

TEST_CASE("hover: the program's currency and time zone") {
  std::string text = "currency \"EUR\"\ntimezone \"Europe/Berlin\"\non sale add \"Seller\"\n";
  Workspace ws;
  ws.set_root("/w");
  ws.open("file:///w/s.ptag", text, 1);
  ws.analyze();
  auto markdown = [&](Position p) { return hover_markdown(ws, "file:///w/s.ptag", p); };
  std::string currency = markdown(at(text, "EUR"));
  CHECK(currency.find("**currency \"EUR\"**: the program's currency") != std::string::npos);
  CHECK(currency.find("bad line") != std::string::npos);
  std::string zone = markdown(at(text, "Europe/Berlin"));
  CHECK(zone.find("**timezone \"Europe/Berlin\"**: the program's calendar") != std::string::npos);
  CHECK(zone.find("23 or 25 hours") != std::string::npos);
  // A zone the tz database does not know is a diagnostic in the editor too.
  ws.change("file:///w/s.ptag", "timezone \"Europe/berlin\"\n", 2);
  ws.analyze();
  auto all = ws.diagnostics();
  const FileDiagnostics* m = diagnostics_of(all, "file:///w/s.ptag");
  REQUIRE(m);
  REQUIRE(m->diagnostics.size() == 1);
  CHECK(m->diagnostics[0].code == "E126");
}

TEST_CASE("hover: triggers, metrics, durations, tags, constants, rules") {
  std::string text =
      "let vip_threshold = 5000\n"
      "exclusive \"Bronze\", \"Silver\"\n"
      "on first_sale add \"Bronze\"\n"
      "rule \"Up\" on milestone revenue >= vip_threshold add \"Silver\" for 2w\n"
      "on tag_removed \"Bronze\" emit \"lost_bronze\"\n"
      "on inactive 30d when days_since_join > 3 remove \"Silver\"\n";
  Workspace ws;
  ws.set_root("/w");
  ws.open("file:///w/t.ptag", text, 1);
  ws.analyze();
  auto markdown = [&](Position p) { return hover_markdown(ws, "file:///w/t.ptag", p); };
  std::string trigger = markdown(at(text, "inactive", 2));
  CHECK(trigger.find("on inactive D") != std::string::npos);
  CHECK(trigger.find("last_activity + D") != std::string::npos);
  CHECK(markdown(at(text, "revenue")).find("sales less its refunds") != std::string::npos);
  CHECK(markdown(at(text, "days_since_join")).find("joined_at") != std::string::npos);
  CHECK(markdown(at(text, "30d")) == "**30d**: 30 days (2592000 seconds)");
  CHECK(markdown(at(text, "2w")) == "**2w**: 2 weeks (1209600 seconds)");
  std::string constant = markdown(at(text, "vip_threshold", 0, 1));
  CHECK(constant.find("let vip_threshold = 5000") != std::string::npos);
  CHECK(constant.find("t.ptag:1") != std::string::npos);

  std::string silver = markdown(at(text, "\"Silver\"", 1, 1));  // in rule "Up"
  CHECK(silver.find("**tag \"Silver\"**") != std::string::npos);
  CHECK(silver.find("Added by `Up` (t.ptag:4)") != std::string::npos);
  CHECK(silver.find("Removed by `t.ptag:6`") != std::string::npos);
  CHECK(silver.find("exclusive \"Bronze\", \"Silver\"") != std::string::npos);
  std::string bronze = markdown(at(text, "\"Bronze\"", 1, 2));  // in tag_removed
  CHECK(bronze.find("Watched by `t.ptag:5`") != std::string::npos);

  std::string rule = markdown(at(text, "\"Up\"", 1));
  CHECK(rule.find("on milestone revenue >= vip_threshold") != std::string::npos);
  CHECK(rule.find("Adds \"Silver\" for 2 weeks") != std::string::npos);
  CHECK(markdown(at(text, "lost_bronze")).find("notification") != std::string::npos);
  CHECK(markdown({0, 0}) == "(none)");  // `let` itself
  CHECK(markdown({99, 99}) == "(none)");
  CHECK_FALSE(ws.hover("file:///w/not-open.ptag", {0, 0}));
}

TEST_CASE("definition and references: constants, tags, rules, imports") {
  Folder folder("ptag-lsp-definition");
  folder.write("lib.ptag", "on join add \"New\"\n");
  std::string text =
      "import \"lib.ptag\"\n"
      "let n = 10\n"
      "rule \"Ten\" on milestone clicks >= n add \"Clicker\"\n"
      "on tag_added \"Clicker\" when tagged \"New\" remove \"New\"\n"
      "test \"t\" {\n"
      "  at 2026-01-01 join \"p\"\n"
      "  expect records [add \"New\" by \"lib.ptag:1\"]\n"
      "}\n";
  std::string uri = folder.write("main.ptag", text);
  Workspace ws;
  ws.set_root(folder.dir.string());
  ws.open(uri, text, 1);
  ws.analyze();
  auto def = ws.definition(uri, at(text, "n add", 0));
  REQUIRE(def.size() == 1);
  CHECK(def[0] == Location{uri, Range{{1, 4}, {1, 5}}});
  def = ws.definition(uri, at(text, "\"Clicker\"", 2, 1));  // tag_added "Clicker"
  REQUIRE(def.size() == 1);
  CHECK(def[0].range == Range{{2, 40}, {2, 49}});
  def = ws.definition(uri, at(text, "\"New\"", 1));  // tagged "New": added in lib.ptag
  REQUIRE(def.size() == 1);
  CHECK(def[0] == Location{folder.uri("lib.ptag"), Range{{0, 12}, {0, 17}}});
  def = ws.definition(uri, at(text, "lib.ptag"));
  REQUIRE(def.size() == 1);
  CHECK(def[0] == Location{folder.uri("lib.ptag"), Range{}});
  def = ws.definition(uri, at(text, "\"lib.ptag:1\"", 2));  // a rule named in a test
  REQUIRE(def.size() == 1);
  CHECK(def[0] == Location{folder.uri("lib.ptag"), Range{{0, 0}, {0, 2}}});

  auto refs = ws.references(uri, at(text, "let n", 4), true);
  CHECK(refs.size() == 2);
  CHECK(ws.references(uri, at(text, "let n", 4), false).size() == 1);
  // "New": lib's add, tagged, remove, the test's expected record.
  CHECK(ws.references(uri, at(text, "\"New\"", 1), true).size() == 4);
}

TEST_CASE("completion: triggers, metrics, durations, tags, constants, snippets") {
  std::string text =
      "let limit = 5\n"
      "on join add \"New Partner\"\n"
      "on milestone \n"
      "on inactive 3\n"
      "on sale add \"New P\n"
      "on \n"
      "\n";
  Workspace ws;
  ws.open("file:///w/c.ptag", text, 1);
  ws.analyze();
  auto complete = [&](Position p) { return ws.completion("file:///w/c.ptag", p); };
  auto triggers = labels(complete({5, 3}));
  CHECK(has(triggers, "inactive"));
  CHECK(has(triggers, "first_sale"));
  CHECK_FALSE(has(triggers, "revenue"));
  auto metrics = labels(complete({2, 13}));
  CHECK(has(metrics, "revenue"));
  CHECK_FALSE(has(metrics, "join"));
  auto units = labels(complete({3, 13}));
  CHECK(has(units, "3d"));
  CHECK(has(units, "3w"));
  auto tags = complete({4, 18});
  REQUIRE(labels(tags) == std::vector<std::string>{"New Partner"});
  REQUIRE(tags[0].replace);
  CHECK(*tags[0].replace == Range{{4, 13}, {4, 18}});  // the string typed so far
  auto top = complete({6, 0});
  CHECK(has(labels(top), "limit"));
  CHECK(has(labels(top), "rule block"));
  CHECK(has(labels(top), "test block"));
  CHECK(has(labels(top), "days_since_join"));
  CHECK(complete({1, 0}).size() == top.size() - 0);
  CHECK(complete({0, 0}).size() > 10);
  // In a comment: nothing.
  ws.change("file:///w/c.ptag", "# on \n", 2);
  CHECK(complete({0, 5}).empty());
}

TEST_CASE("symbols, quick fixes and formatting") {
  std::string text =
      "let x = 1\n"
      "exclusive \"A\", \"B\"\n"
      "rule \"Named\"\non join\n  add \"A\"\n"
      "on sael add \"B\"\n"
      "on sale when tagged \"a\" add \"B\"\n"
      "test \"a test\" {\n  at 2026-01-01 join \"p\"\n}\n";
  Workspace ws;
  ws.set_root("/w/");
  ws.open("file:///w/s.ptag", text, 1);
  ws.analyze();
  auto symbols = ws.symbols("file:///w/s.ptag");
  REQUIRE(symbols.size() == 6);
  CHECK(symbols[0].name == "x");
  CHECK(symbols[0].kind == SymbolKind::constant);
  CHECK(symbols[1].kind == SymbolKind::group);
  CHECK(symbols[1].children.size() == 2);
  CHECK(symbols[2].name == "Named");
  CHECK(symbols[2].range == Range{{2, 0}, {4, 9}});
  CHECK(symbols[2].selection == Range{{2, 5}, {2, 12}});
  CHECK(symbols[3].name == "s.ptag:6");
  CHECK(symbols[5].kind == SymbolKind::test);
  CHECK(symbols[5].range == Range{{7, 0}, {9, 1}});

  auto fixes = ws.code_actions("file:///w/s.ptag", {{5, 4}, {5, 4}});
  REQUIRE(fixes.size() == 1);
  CHECK(fixes[0].edit.text == "sale");
  CHECK(fixes[0].edit.range == Range{{5, 3}, {5, 7}});
  CHECK(fixes[0].diagnostic.code == "E101");
  CHECK(ws.code_actions("file:///w/s.ptag", {{0, 0}, {0, 1}}).empty());
  // Fix the trigger; then the tag spelt in the wrong case is the one quick fix.
  ws.change("file:///w/s.ptag", text.replace(text.find("sael"), 4, "sale"), 2);
  ws.analyze();
  fixes = ws.code_actions("file:///w/s.ptag", {{6, 0}, {6, 30}});
  REQUIRE(fixes.size() == 1);
  CHECK(fixes[0].edit.text == "\"A\"");
  CHECK(fixes[0].edit.range == Range{{6, 20}, {6, 23}});

  FormatResult formatted = ws.format("file:///w/s.ptag");
  REQUIRE(formatted.error.empty());
  REQUIRE(formatted.edits.size() == 1);
  CHECK(formatted.edits[0].range == Range{{0, 0}, {10, 0}});
  ws.change("file:///w/s.ptag", formatted.edits[0].text, 3);
  CHECK(ws.format("file:///w/s.ptag").edits.empty());  // formatted already
  ws.change("file:///w/s.ptag", "on join add\n", 4);
  CHECK(ws.format("file:///w/s.ptag").error.find("syntax error at line 1") != std::string::npos);
}

TEST_CASE("random edits never break the analysis, and every range lies in its document") {
  std::string text;
  REQUIRE(read_file(PTAG_SOURCE_DIR "/examples/tiers.ptag", text));
  const std::vector<std::string> pieces = {"\"", "on ", "add ", "\n", "{", "}", "when ", "(",
                                           "tagged \"", "\xC3\xA9", "\xF0\x9F\x8E\x89", "30d", "#",
                                           "rule \"", "test \"t\" {", "let x = ", "import \"", ",",
                                           ">= ", "\\", "\r\n", "\xFF", "milestone "};
  std::mt19937 random(1234);
  Workspace ws;
  const std::string uri = "file:///nowhere/fuzz.ptag";
  ws.open(uri, text, 0);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n)(random); };
  for (int round = 0; round < 300; ++round) {
    std::size_t where = pick(text.size());
    if (pick(2) == 0 && !text.empty()) {
      text.erase(where, pick(20));
    } else {
      text.insert(where, pieces[pick(pieces.size() - 1)]);
    }
    ws.change(uri, text, round + 1);
    ws.analyze();
    LineIndex lines(text);
    Position end = lines.position(text.size());
    auto inside = [&](const Range& r) {
      return r.start.line <= end.line && r.end.line <= end.line && !(r.end.line < r.start.line);
    };
    for (const FileDiagnostics& f : ws.diagnostics()) {
      for (const FileDiagnostic& d : f.diagnostics) CHECK(inside(d.range));
    }
    Position p{static_cast<std::uint32_t>(pick(end.line + 1)), static_cast<std::uint32_t>(pick(40))};
    if (auto h = ws.hover(uri, p)) CHECK(inside(h->range));
    for (const Location& l : ws.definition(uri, p)) CHECK((l.uri != uri || inside(l.range)));
    for (const Location& l : ws.references(uri, p, true)) CHECK((l.uri != uri || inside(l.range)));
    for (const CompletionItem& c : ws.completion(uri, p)) CHECK((!c.replace || inside(*c.replace)));
    for (const Symbol& s : ws.symbols(uri)) CHECK(inside(s.range));
    for (const CodeAction& a : ws.code_actions(uri, {{0, 0}, end})) CHECK(inside(a.edit.range));
    FormatResult f = ws.format(uri);
    if (!f.edits.empty()) CHECK(f.edits[0].range.end == end);
  }
}
