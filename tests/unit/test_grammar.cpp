// Grammar rule tables: input -> accepted, or rejected at line:col with a message.
#include <catch2/catch.hpp>
#include <string>

#include "ptag/parser.hpp"

using namespace ptag;

namespace {

struct Outcome {
  bool accepted;
  std::string where;    // "line:col" of the first error
  std::string message;  // the first error
  std::string tree;     // dump when accepted
};

Outcome parse_text(const std::string& text) {
  SourceSet sources;
  FileId f = sources.add("t.ptag", text);
  ParseResult r = parse(sources, f);
  Outcome o;
  o.accepted = !r.diagnostics.has_errors();
  if (!o.accepted) {
    const Diagnostic& d = r.diagnostics.all().front();
    o.where = std::to_string(d.span.line) + ":" + std::to_string(d.span.column);
    o.message = d.message;
  } else {
    o.tree = ast::dump(r.module);
  }
  return o;
}

}  // namespace

TEST_CASE("the grammar has no loops that match nothing and no left recursion") {
  CHECK(analyze_grammar() == 0);
}

TEST_CASE("accepted rule files and their trees") {
  struct Row {
    const char* input;
    const char* tree;
  };
  const Row rows[] = {
      {"on join add \"New Partner\"", "(rule (on join) (add \"New Partner\"))\n"},
      {"on first_signup remove \"New Partner\" add \"Activated\"",
       "(rule (on first_signup) (remove \"New Partner\") (add \"Activated\"))\n"},
      {"on milestone revenue >= 5000 add \"VIP\"",
       "(rule (on milestone revenue >= 5000) (add \"VIP\"))\n"},
      {"on milestone revenue >= vip add \"VIP\"",
       "(rule (on milestone revenue >= vip) (add \"VIP\"))\n"},
      {"on inactive 30d add \"At Risk\"", "(rule (on inactive 30d) (add \"At Risk\"))\n"},
      {"on event \"contract.signed\" emit \"hello\"",
       "(rule (on event \"contract.signed\") (emit \"hello\"))\n"},
      {"on tag_added \"VIP\" emit \"vip\"", "(rule (on tag_added \"VIP\") (emit \"vip\"))\n"},
      {"rule \"Top\" on sale add \"A\", \"B\" for 7d",
       "(rule \"Top\" (on sale) (add \"A\" \"B\" for 7d))\n"},
      {"rule \"Top\"\non sale\nwhen revenue > 1\nadd \"A\"\n\nremove \"B\" # done\n",
       "(rule \"Top\" (on sale) (when (> revenue 1)) (add \"A\") (remove \"B\"))\n"},
      // precedence: or < and < not < comparison < + - < * /
      {"on sale when a or b and not c add \"X\"",
       "(rule (on sale) (when (or a (and b (not c)))) (add \"X\"))\n"},
      {"on sale when 1 + 2 * 3 - 4 / 5 == 0 add \"X\"",
       "(rule (on sale) (when (== (- (+ 1 (* 2 3)) (/ 4 5)) 0)) (add \"X\"))\n"},
      {"on sale when (a or b) and c add \"X\"",
       "(rule (on sale) (when (and (or a b) c)) (add \"X\"))\n"},
      {"on sale when not not true add \"X\"",
       "(rule (on sale) (when (not (not true))) (add \"X\"))\n"},
      {"on sale when -revenue < -5 add \"X\"",
       "(rule (on sale) (when (< (- revenue) (- 5))) (add \"X\"))\n"},
      {"on sale when partner.country in [\"DE\", \"AT\"] and event.amount >= 0.5 add \"X\"",
       "(rule (on sale) (when (and (in partner.country [\"DE\" \"AT\"]) (>= event.amount 0.5))) "
       "(add \"X\"))\n"},
      {"on sale when tagged \"VIP\" and days_since_join > 30 add \"X\"",
       "(rule (on sale) (when (and (tagged \"VIP\") (> days_since_join 30))) (add \"X\"))\n"},
      {"on sale when partner.verified add \"X\"",
       "(rule (on sale) (when partner.verified) (add \"X\"))\n"},
      {"let t = 5000\nlet l = [\"DE\", -1, true]\nexclusive \"A\", \"B\"\nimport \"std/tiers\"",
       "(let t 5000)\n(let l [\"DE\" -1 true])\n(exclusive \"A\" \"B\")\n(import \"std/tiers\")\n"},
      {"on join add \"a \\\"quoted\\\" \\\\ tag\"",
       "(rule (on join) (add \"a \\\"quoted\\\" \\\\ tag\"))\n"},
      {"on join add \"Ünïcödé ✓\"", "(rule (on join) (add \"Ünïcödé ✓\"))\n"},
      {"# only a comment\n\n", ""},
      {"", ""},
      {"test \"t\" {\n at 2026-01-01 sale \"p1\" { amount: -1 }\n expect rejected \"negative\"\n}",
       "(test \"t\"\n  (at 1767225600 sale \"p1\" amount=-1)\n  (rejected \"negative\")\n)\n"},
      {"on join add \"A\" on sale add \"B\"",
       "(rule (on join) (add \"A\"))\n(rule (on sale) (add \"B\"))\n"},
      {"test \"t\" {\n at 2026-01-01 join \"p1\" { country: \"DE\", n: -2.5, ok: true }\n"
       " at 2026-01-02T10:00:00Z event \"contract.signed\" \"p1\"\n at 2026-02-01 tick\n"
       " expect \"p1\" has \"A\"\n expect \"p1\" lacks \"B\"\n expect \"p1\" tags [\"A\", \"C\"]\n"
       " expect \"p1\" revenue >= 10\n expect records [add \"A\", remove \"B\" by \"r\", emit "
       "\"n\"]\n"
       " expect no records\n}",
       "(test \"t\"\n  (at 1767225600 join \"p1\" country=\"DE\" n=-2.5 ok=true)\n"
       "  (at 1767348000 event \"contract.signed\" \"p1\")\n  (at 1769904000 tick)\n"
       "  (has \"p1\" \"A\")\n  (lacks \"p1\" \"B\")\n  (tags \"p1\" \"A\" \"C\")\n"
       "  (metric \"p1\" revenue >= 10)\n  (records (add \"A\") (remove \"B\" by \"r\") (emit "
       "\"n\"))\n"
       "  (no-records)\n)\n"},
  };
  for (const Row& row : rows) {
    INFO(row.input);
    Outcome o = parse_text(row.input);
    CHECK(o.message == "");
    CHECK(o.accepted);
    CHECK(o.tree == row.tree);
  }
}

TEST_CASE("rejected inputs stop where the fault is, with a human message") {
  struct Row {
    const char* input;
    const char* where;
    const char* message;
  };
  const Row rows[] = {
      {"on join add", "1:12", "expected a tag name in quotes after 'add'"},
      {"on join add\non sale add \"X\"", "1:12", "expected a tag name in quotes after 'add'"},
      {"on join add # why\n", "1:12", "expected a tag name in quotes after 'add'"},
      {"on join", "1:8", "expected an action: add \"TAG\", remove \"TAG\" or emit \"NAME\""},
      {"on", "1:3",
       "expected a trigger after 'on' (join, sale, first_sale, milestone revenue >= 5000, inactive "
       "30d, ...)"},
      {"on join add \"A\", ", "1:18", "expected another tag name in quotes after ','"},
      {"on join add \"A", "1:15", "unterminated string: add a closing '\"' on the same line"},
      {"on join add \"A\\x\"", "1:16", "unknown escape in a string; use \\\" \\\\ \\n or \\t"},
      {"on milestone revenue > 5 add \"A\"", "1:22",
       "expected '>=' after the metric: a milestone fires when the metric reaches a threshold"},
      {"on milestone revenue >= add \"A\"", "1:25",
       "expected a threshold (a number or a constant) after '>='"},
      {"on inactive add \"A\"", "1:13",
       "expected a duration after the trigger, such as 30d, 12h or 2w"},
      {"on inactive 30 add \"A\"", "1:15",
       "expected a unit after the number: s, m, h, d or w (as in 30d)"},
      {"on tag_added VIP add \"A\"", "1:14",
       "expected a name in quotes after the trigger (as in event \"contract.signed\" or tag_added "
       "\"VIP\")"},
      {"on sale when add \"A\"", "1:14", "expected a condition after 'when'"},
      {"on sale when a = 1 add \"A\"", "1:16",
       "'=' is not a comparison; use '==' to compare values"},
      {"on sale when (a add \"A\"", "1:17", "expected ')' to close the '('"},
      {"on sale when a > add \"A\"", "1:18", "expected a value after the comparison"},
      {"on sale when a + add \"A\"", "1:18", "expected a value after the operator"},
      {"on sale when a and add \"A\"", "1:20", "expected a condition after 'and'"},
      {"on sale when a in add \"A\"", "1:19",
       "expected a list after 'in' (as in [\"DE\", \"AT\"])"},
      {"on sale when [1, add \"A\"", "1:18", "expected a value after ',' in the list"},
      {"on sale when 1.x > 0 add \"A\"", "1:16", "expected digits after the decimal point"},
      {"on sale when event. add \"A\"", "1:20",
       "expected a field name after 'event.' (as in event.amount)"},
      {"on sale add \"A\" for add", "1:21", "expected a duration after 'for', such as 7d"},
      {"rule on join add \"A\"", "1:6", "expected the rule's name in quotes after 'rule'"},
      {"rule \"r\" add \"A\"", "1:10", "expected 'on' and a trigger after the rule's name"},
      {"let = 1", "1:5", "expected a constant's name after 'let'"},
      {"let x 1", "1:7", "expected '=' after the constant's name"},
      {"let x = revenue", "1:9",
       "expected a value after '=': a number, a text in quotes, true, false or a list"},
      {"exclusive Gold", "1:11", "expected tag names in quotes after 'exclusive'"},
      {"import tiers", "1:8", "expected a file name in quotes after 'import'"},
      {"currency EUR", "1:10", "expected the currency's ISO 4217 code in quotes (as in currency \"EUR\")"},
      {"timezone Europe/Berlin", "1:10", "expected the time zone's name in quotes (as in timezone \"Europe/Berlin\")"},
      {"hello", "1:1",
       "expected a rule ('on TRIGGER ...' or 'rule \"NAME\"'), 'let', 'exclusive', 'import', "
       "'test', 'currency' or 'timezone'"},
      {"on join add \"A\"\n  when x", "2:3",
       "expected a rule ('on TRIGGER ...' or 'rule \"NAME\"'), 'let', 'exclusive', 'import', "
       "'test', 'currency' or 'timezone'"},
      {"test {", "1:6", "expected the test's name in quotes after 'test'"},
      {"test \"t\" at", "1:10", "expected '{' to open the test's steps"},
      {"test \"t\" {", "1:11",
       "expected a step ('at ...' or 'expect ...') or '}' to close the test"},
      {"test \"t\" { at tomorrow join \"p\" }", "1:15",
       "expected a time after 'at', such as 2026-01-01 or 2026-01-01T10:00:00Z"},
      {"test \"t\" { at 2026-01-01 \"p\" }", "1:26",
       "expected an event (join, sale, event \"NAME\", ...) or 'tick' after the time"},
      {"test \"t\" { at 2026-01-01 join p }", "1:31", "expected the partner's id in quotes"},
      {"test \"t\" { at 2026-01-01 sale \"p\" { amount 5 } }", "1:44",
       "expected ':' after the field name"},
      {"test \"t\" { at 2026-01-01 sale \"p\" { amount: } }", "1:45",
       "expected a value after ':' (a number, a text in quotes, true or false)"},
      {"test \"t\" { expect p }", "1:19",
       "expected a partner id in quotes, 'records [...]', 'no records' or 'rejected \"...\"' after 'expect'"},
      {"test \"t\" { expect \"p\" owns \"A\" }", "1:23",
       "expected has \"TAG\", lacks \"TAG\", tags [...] or a metric comparison after the partner"},
      {"test \"t\" { expect \"p\" revenue 5 }", "1:23",
       "expected has \"TAG\", lacks \"TAG\", tags [...] or a metric comparison after the partner"},
      {"test \"t\" { expect \"p\" revenue > x }", "1:33", "expected a number after the comparison"},
      {"test \"t\" { expect no rec }", "1:22", "expected 'records' after 'expect no'"},
      {"test \"t\" { expect rejected }", "1:28",
       "expected part of the rejection's reason in quotes after 'rejected' (as in rejected \"negative\")"},
      {"test \"t\" { expect records [add] }", "1:31",
       "expected a tag or notification name in quotes"},
  };
  for (const Row& row : rows) {
    INFO(row.input);
    Outcome o = parse_text(row.input);
    CHECK_FALSE(o.accepted);
    CHECK(o.where == row.where);
    CHECK(o.message == row.message);
  }
}

TEST_CASE("deep nesting is refused with an error, not a crash") {
  std::string deep = "on sale when " + std::string(100000, '(') + "a" + " add \"X\"";
  Outcome o = parse_text(deep);
  CHECK_FALSE(o.accepted);
  CHECK(o.message == "the condition is nested too deeply (more than 64 levels)");
  std::string nots = "on sale when ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  CHECK_FALSE(parse_text(nots + "a add \"X\"").accepted);
  std::string ok =
      "on sale when " + std::string(60, '(') + "a" + std::string(60, ')') + " add \"X\"";
  CHECK(parse_text(ok).accepted);
}

TEST_CASE("after an error the parser resumes at the next rule and reports more") {
  SourceSet sources;
  FileId f =
      sources.add("t.ptag", "on join add\non sale when add \"X\"\non click add \"C\"\nlet = 5\n");
  ParseResult r = parse(sources, f);
  REQUIRE(r.diagnostics.all().size() == 3);
  CHECK(r.diagnostics.all()[0].span.line == 1);
  CHECK(r.diagnostics.all()[1].span.line == 2);
  CHECK(r.diagnostics.all()[2].span.line == 4);
  REQUIRE(r.module.items.size() == 1);  // the click rule parsed
  CHECK(std::get<ast::Rule>(r.module.items[0]).trigger.name.value == "click");
}

TEST_CASE("spans point at the source") {
  SourceSet sources;
  FileId f = sources.add("t.ptag", "# x\nrule \"R\"\n  on inactive 30d add \"At Risk\" for 2w\n");
  ParseResult r = parse(sources, f);
  REQUIRE(r.module.items.size() == 1);
  const auto& rule = std::get<ast::Rule>(r.module.items[0]);
  CHECK(rule.span.line == 3);
  CHECK(rule.span.column == 3);
  CHECK(rule.name->span.line == 2);
  CHECK(rule.trigger.duration->span.column == 15);
  CHECK(rule.trigger.duration->span.length == 3);
  CHECK(rule.trigger.duration->amount == 30);
  CHECK(rule.actions[0].tags[0].span.column == 23);
  CHECK(rule.actions[0].expires->unit == "w");
  REQUIRE(r.module.comments.size() == 1);
  CHECK(r.module.comments[0].text == "# x");
  CHECK_FALSE(r.module.comments[0].trailing);
}

TEST_CASE("comments inside strings are not comments") {
  SourceSet sources;
  FileId f = sources.add("t.ptag", "on join add \"#1 fan\"  # real\n");
  ParseResult r = parse(sources, f);
  REQUIRE(r.module.comments.size() == 1);
  CHECK(r.module.comments[0].text == "# real");
  CHECK(r.module.comments[0].trailing);
  CHECK(std::get<ast::Rule>(r.module.items[0]).actions[0].tags[0].value == "#1 fan");
}
