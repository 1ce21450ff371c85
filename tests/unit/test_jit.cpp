// The JIT against the VM: random guards over random events must give the
// same records, rule fires and guard errors with either engine, at every
// optimization level. Built only with -DPTAG_JIT=ON.
#include <catch2/catch.hpp>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"
#include "ptag/jit.hpp"

using namespace ptag;
using ptag::testing::ev;

namespace {

class Guards {
 public:
  explicit Guards(std::uint32_t seed) : rng_(seed) {}

  std::string boolean(int depth) {
    switch (pick(depth > 0 ? 9 : 4)) {
      case 0: return "tagged \"T" + std::to_string(pick(6)) + "\"";
      case 1: return one({"true", "false", "event.flag", "partner.vip", "event.n"});
      case 2: return number(depth - 1) + " " + one({"==", "!=", "<", "<=", ">", ">="}) + " " + number(depth - 1);
      case 3: return text(depth - 1) + " " + one({"==", "!=", "<", "<=", ">", ">="}) + " " + text(depth - 1);
      case 4: return "not " + boolean(depth - 1);
      case 5: return "(" + boolean(depth - 1) + " and " + boolean(depth - 1) + ")";
      case 6: return "(" + boolean(depth - 1) + " or " + boolean(depth - 1) + ")";
      case 7: return number(depth - 1) + " in " + one({"[1, 2, 3]", "[0, 0.5, -2]", "[]", "[1, \"x\"]", "[5000]"});
      default: return text(depth - 1) + " in " + one({"[\"DE\", \"AT\"]", "[\"pro\"]", "[\"\", 3]", "[true]"});
    }
  }

 private:
  std::string number(int depth) {
    switch (pick(depth > 0 ? 8 : 4)) {
      case 0: return one({"signups", "customers", "revenue", "sales", "clicks", "commissions"});
      case 1: return one({"days_since_join", "days_since_activity"});
      case 2: return one({"0", "1", "2.5", "0.000001", "3", "1000", "9223372036854", "4611686018427.387903"});
      case 3: return one({"event.amount", "event.n", "partner.score", "event.missing"});
      case 4: return "-" + number(depth - 1);
      case 5: return "(" + number(depth - 1) + " " + one({"+", "-", "*", "/"}) + " " + number(depth - 1) + ")";
      case 6: return number(depth - 1) + " * " + number(depth - 1);
      default: return number(depth - 1) + " / " + number(depth - 1);
    }
  }
  std::string text(int depth) {
    (void)depth;
    return one({"\"DE\"", "\"AT\"", "\"\"", "\"pro\"", "\"zz\"", "event.plan", "partner.country", "event.n"});
  }
  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  std::string one(std::initializer_list<const char*> choices) { return *(choices.begin() + pick(choices.size())); }
  std::mt19937 rng_;
};

// Events whose fields change kind from one event to the next.
std::string events(std::uint32_t seed, int count) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  const char* values[] = {"3", "0", "-2.5", "5000", "\"DE\"", "\"pro\"", "\"\"", "true", "false"};
  auto value = [&] { return std::string(values[pick(9)]); };
  std::string out;
  for (int p = 0; p < 6; ++p) {
    std::string data = "{\"country\":" + value() + ",\"score\":" + value() + (pick(2) ? ",\"vip\":" + value() : "") + "}";
    out += ev("j" + std::to_string(p), "join", "p" + std::to_string(p), "2026-01-01T00:00:0" + std::to_string(p) + "Z", data);
  }
  for (int i = 0; i < count; ++i) {
    std::string time = format_time(1767225600 + 3600 * (i + 1));
    std::string data = "{";
    if (pick(4)) data += "\"amount\":" + value() + ",";
    if (pick(2)) data += "\"n\":" + value() + ",";
    if (pick(2)) data += "\"plan\":" + value() + ",";
    if (pick(2)) data += "\"flag\":" + value() + ",";
    if (data.size() > 1) data.pop_back();
    data += "}";
    const char* type = pick(3) == 0 ? "sale" : pick(2) ? "click" : pick(3) == 0 ? "custom.x" : "update";
    if (std::string(type) == "sale") data = data.size() > 2 ? data.substr(0, data.size() - 1) + ",\"amount\":12.5}" : "{\"amount\":12.5}";
    out += ev("e" + std::to_string(i), type, "p" + std::to_string(pick(6)), time, data);
  }
  return out;
}

std::string rules(std::uint32_t seed, int count) {
  Guards g(seed);
  std::string out;
  for (int r = 0; r < count; ++r) {
    std::string name = "T" + std::to_string(r % 6);
    switch (r % 3) {
      case 0: out += "on click when " + g.boolean(3) + " add \"" + name + "\"\n"; break;
      case 1: out += "on sale when " + g.boolean(3) + " remove \"" + name + "\"\n"; break;
      default: out += "on click when " + g.boolean(3) + " emit \"e" + std::to_string(r) + "\"\n"; break;
    }
  }
  return out;
}

// Many click rules (more than one function's worth), some unguarded, with
// cascades from tag_added and tag_removed rules, first_click and milestone
// rules among them (run from the native code in their places), rules of a
// custom event type, exclusive tags, and more than 64 tags, so that a firing
// rule moves the partner's further tags while the native code runs.
std::string whole_program(std::uint32_t seed) {
  Guards g(seed);
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  std::string out = "exclusive \"T0\", \"T1\"\n";
  for (int r = 0; r < 150; ++r) {
    std::string tag = "T" + std::to_string(pick(80));
    std::string action = pick(3) == 0 ? "remove \"" + tag + "\"" : "add \"" + tag + "\"";
    switch (pick(13)) {
      case 12: out += "on event \"custom.x\" when " + g.boolean(2) + " " + action + "\n"; break;
      case 0: out += "on click " + action + "\n"; break;
      case 10: out += "on first_click when " + g.boolean(2) + " " + action + "\n"; break;
      case 11: out += "on milestone clicks >= " + std::to_string(1 + pick(6)) + " " + action + "\n"; break;
      case 1: out += "on tag_added \"T" + std::to_string(pick(80)) + "\" when " + g.boolean(2) + " " + action + "\n"; break;
      case 2: out += "on tag_removed \"T" + std::to_string(pick(80)) + "\" " + action + "\n"; break;
      case 3: out += "on click when " + g.boolean(2) + " emit \"e" + std::to_string(r) + "\"\n"; break;
      default: out += "on click when " + g.boolean(3) + " " + action + "\n"; break;
    }
  }
  out += "on first_click when clicks >= 1 add \"T70\"\n";
  out += "on milestone clicks >= 3 add \"T71\"\n";
  return out;
}

Program compiled(const char* text) {
  Unit unit = load_text("t.ptag", text);
  check(unit);
  REQUIRE_FALSE(unit.diagnostics.has_errors());
  return lower(unit);
}

// The same records, rule fires, guard errors and final tags.
void same_outcome(const ptag::testing::Outcome& native, const ptag::testing::Outcome& vm) {
  REQUIRE(native.diagnostics.empty());
  CHECK(native.json == vm.json);
  CHECK(native.stats.rule_fires == vm.stats.rule_fires);
  CHECK(native.stats.guard_errors == vm.stats.guard_errors);
  CHECK(native.tags == vm.tags);
}

}  // namespace

TEST_CASE("jit: an event type's rules as whole functions give the VM's records", "[jit]") {
  int compared = 0;
  std::uint64_t fires = 0;
  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    std::string text = whole_program(seed);
    std::string input = events(seed, 150);
    ptag::testing::Outcome vm = ptag::testing::run(text, input);
    if (!vm.diagnostics.empty()) continue;
    ptag::testing::Outcome native = ptag::testing::run(text, input, std::nullopt, [&](Program& p) {
      jit::JitStats stats;
      p.native = jit::compile(p, {}, &stats);
      CHECK(stats.functions >= 2);  // the click rules in more than one function
      for (const auto& [type, rules] : p.index.custom) CHECK_FALSE(p.native->custom_rules(rules.front()).empty());
    });
    INFO("seed " << seed << "\n" << text);
    same_outcome(native, vm);
    ++compared;
    for (std::uint64_t f : vm.stats.rule_fires) fires += f;
  }
  CHECK(compared >= 6);
  CHECK(fires > 500);
}

TEST_CASE("jit: random guards give the VM's records, fires and guard errors", "[jit]") {
  int compared = 0, skipped = 0;
  std::uint64_t errors = 0, fires = 0;
  for (std::uint32_t seed = 1; seed <= 60; ++seed) {
    std::string text = rules(seed, 24);
    std::string input = events(seed, 120);
    ptag::testing::Outcome vm = ptag::testing::run(text, input);
    if (!vm.diagnostics.empty()) {
      ++skipped;  // the checker refused a statically mixed guard
      continue;
    }
    for (int level : {0, 1, 2}) {
      ptag::testing::Outcome native = ptag::testing::run(text, input, std::nullopt, [&](Program& p) {
        jit::JitStats stats;
        p.native = jit::compile(p, {.opt_level = level}, &stats);
        CHECK(stats.guards == p.rules.size());
      });
      INFO("seed " << seed << " at -O" << level << "\n" << text);
      same_outcome(native, vm);
    }
    ++compared;
    for (std::uint64_t e : vm.stats.guard_errors) errors += e;
    for (std::uint64_t f : vm.stats.rule_fires) fires += f;
  }
  INFO("compared " << compared << ", skipped " << skipped);
  // The workload must exercise both outcomes and errors, or the comparison says little.
  CHECK(compared >= 30);
  CHECK(errors > 100);
  CHECK(fires > 100);
}

TEST_CASE("jit: a program without guards, and the compile statistics", "[jit]") {
  Program program = compiled(
      "on join add \"A\"\non click when clicks > 2 add \"B\"\n"
      "on tag_added \"B\" when clicks > 3 add \"C\"\n");
  jit::JitStats stats;
  auto code = jit::compile(program, {}, &stats);
  CHECK(stats.guards == 2);
  CHECK(stats.left_to_vm == 0);
  CHECK(stats.compile_seconds > 0);
  CHECK(code->guard(0) == nullptr);  // no guard
  CHECK(code->guard(1) == nullptr);  // inline in click's rules only
  CHECK(code->guard(2) != nullptr);  // a cascade's rule: a guard of its own
  CHECK(code->guard(7) == nullptr);
  CHECK(stats.functions == 2);  // join's rule, click's rule
  CHECK(code->event_rules(static_cast<std::size_t>(EventType::click)).size() == 1);
  CHECK(code->event_rules(static_cast<std::size_t>(EventType::sale)).empty());
  CHECK_THROWS_AS(jit::compile(program, {.opt_level = 3}), jit::JitError);
}

TEST_CASE("jit: a sink's exception comes out of native code as it does out of the VM", "[jit]") {
  // The second record throws: from inside a rule that native code handed
  // back to the engine, through the JIT's frames, to the caller.
  struct Throwing : Sink {
    int seen = 0;
    void record(const ChangeRecord&) override {
      if (++seen == 2) throw std::runtime_error("the sink is full");
    }
  };
  for (bool native : {false, true}) {
    Program program =
        compiled("on join add \"A\"\non click when clicks >= 1 add \"B\"\non milestone clicks >= 1 add \"C\"\n");
    if (native) program.native = jit::compile(program);
    Throwing sink;
    Engine engine(program, sink);
    Event e;
    e.partner = "p1";
    e.type = "join";
    e.time = 1767225600;
    engine.push(e);
    e.type = "click";
    e.time += 60;
    INFO((native ? "jit" : "vm"));
    CHECK_THROWS_WITH(engine.push(e), "the sink is full");
    CHECK(sink.seen == 2);
  }
}
