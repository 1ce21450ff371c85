// The disassembly is the compiler's test oracle.
#include <catch2/catch.hpp>

#include "ptag/compiler.hpp"
#include "ptag/program.hpp"

using namespace ptag;

static std::string disasm(const std::string& text) {
  Unit unit = load_text("t.ptag", text);
  check(unit);
  REQUIRE_FALSE(unit.diagnostics.has_errors());
  return disassemble(lower(unit));
}

TEST_CASE("rules, tables and actions") {
  CHECK(
      disasm(
          "exclusive \"Bronze\", \"Silver\"\nlet vip = 5000\n"
          "rule \"Top\" on milestone revenue >= vip add \"Silver\" remove \"Bronze\" emit \"top\"\n"
          "on inactive 2w add \"Quiet\" for 12h\n") ==
      "program: 2 rules, 3 tags, 1 texts, 0 lists, 30 code bytes\n"
      "tag 0 \"Bronze\"\n"
      "tag 1 \"Silver\"\n"
      "tag 2 \"Quiet\"\n"
      "exclusive 0: 0 1\n"
      "rule 0 \"Top\" on milestone revenue >= 5000\n"
      "  do\n"
      "    0000  ADD_TAG 1                 ; \"Silver\"\n"
      "    0005  REMOVE_TAG 0              ; \"Bronze\"\n"
      "    0010  EMIT 0                    ; \"top\"\n"
      "    0015  END\n"
      "rule 1 \"t.ptag:4\" on inactive 2w\n"
      "  do\n"
      "    0016  ADD_TAG_FOR 2 43200       ; \"Quiet\" for 43200s\n"
      "    0029  END\n");
}

TEST_CASE("guards: precedence, short circuits and constants") {
  CHECK(disasm("let regions = [\"DE\", \"AT\"]\n"
               "on sale when partner.country in regions or not tagged \"VIP\" and event.amount * 2 "
               "> 10 emit \"x\"\n") ==
        "program: 1 rules, 1 tags, 5 texts, 1 lists, 61 code bytes\n"
        "tag 0 \"VIP\"\n"
        "rule 0 \"t.ptag:2\" on sale\n"
        "  when\n"
        "    0000  PARTNER_FIELD 0           ; \"country\"\n"
        "    0005  PUSH_LIST 0               ; [\"DE\", \"AT\"]\n"
        "    0010  IN\n"
        "    0011  OR_ELSE 0054\n"
        "    0016  TAGGED 0                  ; \"VIP\"\n"
        "    0021  NOT\n"
        "    0022  AND_THEN 0053\n"
        "    0027  EVENT_FIELD 3             ; \"amount\"\n"
        "    0032  PUSH_NUMBER 2000000\n"
        "    0041  MUL\n"
        "    0042  PUSH_NUMBER 10000000\n"
        "    0051  GT\n"
        "    0052  EXPECT_BOOL\n"
        "    0053  EXPECT_BOOL\n"
        "    0054  RETURN\n"
        "  do\n"
        "    0055  EMIT 4                    ; \"x\"\n"
        "    0060  END\n");
}

TEST_CASE("rules are indexed by what can fire them") {
  Unit unit =
      load_text("t.ptag",
                "on sale add \"A\"\non first_sale add \"B\"\non milestone revenue >= 5 add \"C\"\n"
                "on refund add \"D\"\non event \"x.y\" add \"E\"\non tag_added \"A\" add \"F\"\n"
                "on tag_removed \"A\" add \"G\"\non inactive 1d add \"H\"\non milestone customers "
                ">= 2 add \"I\"\n");
  check(unit);
  Program p = lower(unit);
  const RuleIndex& x = p.index;
  auto at = [](const auto& table, auto key) { return table[static_cast<std::size_t>(key)]; };
  CHECK(at(x.plain, EventType::sale) == std::vector<RuleId>{0});
  CHECK(at(x.firsts, EventType::sale) == std::vector<RuleId>{1});
  CHECK(at(x.besides, EventType::sale) == std::vector<RuleId>{1, 2, 8});  // firsts and milestones, source order
  CHECK(at(x.besides, EventType::refund) == std::vector<RuleId>{2});      // a refund moves revenue
  CHECK(at(x.plain, EventType::refund) == std::vector<RuleId>{3});
  CHECK(at(x.plain, EventType::click).empty());
  CHECK(at(x.besides, EventType::click).empty());
  CHECK(x.custom.at("x.y") == std::vector<RuleId>{4});
  CHECK(x.added[0] == std::vector<RuleId>{5});
  CHECK(x.removed[0] == std::vector<RuleId>{6});
  CHECK(at(x.timers, TimerKind::inactive) == std::vector<RuleId>{7});
  CHECK(at(x.durations, TimerKind::inactive) == std::vector<Seconds>{86400});
  CHECK(at(x.milestones, Metric::revenue) == std::vector<RuleId>{2});
  CHECK(at(x.milestones, Metric::customers) == std::vector<RuleId>{8});
  CHECK(at(x.thresholds, Metric::customers) == std::vector<std::int64_t>{2'000'000});
}

TEST_CASE("timers and milestones are indexed in latch order: by duration or threshold, then source order") {
  Unit unit = load_text("t.ptag",
                        "on inactive 30d add \"A\"\non inactive 7d add \"B\"\non inactive 30d add \"C\"\n"
                        "on milestone sales >= 10 add \"D\"\non milestone sales >= 1 add \"E\"\n");
  check(unit);
  Program p = lower(unit);
  CHECK(p.index.timers[static_cast<std::size_t>(TimerKind::inactive)] == std::vector<RuleId>{1, 0, 2});
  CHECK(p.index.durations[static_cast<std::size_t>(TimerKind::inactive)] ==
        std::vector<Seconds>{7 * 86400, 30 * 86400, 30 * 86400});
  CHECK(p.index.milestones[static_cast<std::size_t>(Metric::sales)] == std::vector<RuleId>{4, 3});
  CHECK(p.index.thresholds[static_cast<std::size_t>(Metric::sales)] == std::vector<std::int64_t>{1'000'000, 10'000'000});
}

TEST_CASE("every opcode has a name, a size and documentation") {
  for (std::size_t i = 0; i < kOpCount; ++i) {
    const OpInfo& info = kOps[i];
    CHECK_FALSE(info.name.empty());
    CHECK_FALSE(info.doc.empty());
    CHECK(info.size == 1 + operand_bytes(info.operands));
  }
  CHECK(op_info(Op::ADD_TAG_FOR).size == 13);
  CHECK(op_info(Op::LOAD_METRIC).size == 2);
}
