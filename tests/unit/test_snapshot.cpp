// Engine snapshots (docs/semantics.md, "Engine snapshots"): a run split into
// parts, the engine snapshotted, destroyed and restored at every split, writes
// the same records and ends in the same state as one run; and every blob that
// is not a good snapshot of this program is refused, never trusted.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "ptag/compiler.hpp"
#include "ptag/engine.hpp"
#include "ptag/event_batch.hpp"
#include "ptag/event_source.hpp"
#include "ptag/sink.hpp"
#include "row_store.hpp"
#include "text_table.hpp"  // hash_text: the snapshot's checksum
#include "workload.hpp"

using namespace ptag;

namespace {

// Every field of every record, as the JSONL sink writes them.
class JsonSink : public Sink {
 public:
  std::string json;
  std::size_t count = 0;
  void record(const ChangeRecord& r) override {
    append_record_json(json, r);
    ++count;
  }
};

// A program and what it was compiled from (a conformance file's tests need the AST).
struct Compiled {
  Unit unit;
  Program program;
};

std::unique_ptr<Compiled> compile_unit(Unit unit) {
  check(unit);
  if (unit.diagnostics.has_errors()) return nullptr;
  auto c = std::make_unique<Compiled>();
  c->unit = std::move(unit);
  c->program = lower(c->unit);
  return c;
}

Program compile_text(const std::string& text) {
  Unit unit = load_text("t.ptag", text);
  check(unit);
  std::string errors;
  for (const Diagnostic& d : unit.diagnostics.all()) errors += render_text(d, unit.sources);
  INFO(errors);
  REQUIRE_FALSE(unit.diagnostics.has_errors());
  return lower(unit);
}

// An input: events and ticks (advance_to) in order, then `until` on the last part only.
struct Workload {
  EventBatch events;
  struct Step {
    bool tick = false;
    Seconds time = 0;       // tick
    std::size_t event = 0;  // index into events
  };
  std::vector<Step> steps;
  std::optional<Seconds> until;
  std::set<std::string> attribute_names;  // of join / update data, for the state dump

  void add(const Event& e) {
    steps.push_back({false, 0, events.size()});
    events.add(e);
    if (e.type == "join" || e.type == "update")
      for (const Field& f : e.data) attribute_names.emplace(f.name);
  }
  void tick(Seconds t) { steps.push_back({true, t, 0}); }
};

void add_jsonl(Workload& w, const std::string& text) {
  std::string copy = text;
  std::FILE* in = fmemopen(copy.data(), copy.size(), "r");
  REQUIRE(in);
  JsonlSource source(in);
  Event e;
  std::string error;
  for (;;) {
    auto status = source.next(e, error);
    if (status == EventSource::Status::end) break;
    REQUIRE(status == EventSource::Status::event);
    w.add(e);
  }
  std::fclose(in);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What a run leaves: its records, its final state readably, the final
// snapshot, and the stats summed over its parts.
struct Outcome {
  std::string records;
  std::string state;
  std::string snapshot;
  std::uint64_t applied = 0, duplicates = 0, invalid = 0, late = 0, timers = 0, records_count = 0;
  std::vector<std::uint64_t> rule_fires;
  // Per step: whether it fired a timer, was a duplicate, was late (for choosing splits).
  std::vector<bool> fired, duplicate, was_late;
};

std::string dump_state(const Engine& e, const Workload& w) {
  std::string out = e.has_clock() ? "clock " + std::to_string(e.clock()) + "\n" : "no clock\n";
  for (std::size_t i = 0; i < e.partner_count(); ++i) {
    out += std::string(e.partner_id(i)) + ":";
    for (auto t : e.partner_tags(i)) out += " [" + std::string(t) + "]";
    for (std::string_view m : metrics()) out += " " + std::string(m) + "=" + std::to_string(*e.partner_value(i, m));
    out += " dj=" + std::to_string(*e.partner_value(i, "days_since_join"));
    out += " da=" + std::to_string(*e.partner_value(i, "days_since_activity"));
    for (const std::string& a : w.attribute_names) {
      if (auto v = e.partner_attribute(i, a))
        out += " " + a + "=" + std::to_string(static_cast<int>(v->kind)) + ":" +
               std::to_string(v->number) + ":" + std::string(v->text);
    }
    out += "\n";
  }
  return out;
}

void add_stats(Outcome& o, const EngineStats& s) {
  o.applied += s.applied;
  o.duplicates += s.duplicates;
  o.invalid += s.invalid;
  o.late += s.late;
  o.timers += s.timers_fired;
  o.records_count += s.records;
  if (o.rule_fires.empty()) o.rule_fires.assign(s.rule_fires.size(), 0);
  for (std::size_t i = 0; i < s.rule_fires.size(); ++i) o.rule_fires[i] += s.rule_fires[i];
}

// How a split hands the state over: a snapshot blob, or the state rows
// taken since the last split applied to a store of rows (what a durable
// store does at each commit).
enum class Handover { blob, rows };

// Runs the workload, handing the engine's state over before each step in
// `cuts`, destroying it and continuing in an engine restored from it.
// Events between cuts go in as batches (`batches`) or one by one.
Outcome run(const Program& program, const Workload& w, std::set<std::size_t> cuts, bool batches,
            Handover how = Handover::blob, std::optional<Seconds> window = std::nullopt) {
  Outcome o;
  JsonSink sink;
  EngineOptions options{.sink = &sink, .dedup_window = window};
  auto engine = std::make_unique<Engine>(program, options);
  testing::RowStore rows;
  if (how == Handover::rows) engine->track_state_rows();
  auto events = w.events.events();
  for (std::size_t i = 0; i < w.steps.size();) {
    if (cuts.count(i)) {
      add_stats(o, engine->stats());
      if (how == Handover::blob) {
        std::string blob = engine->snapshot();
        engine.reset();
        engine = std::make_unique<Engine>(Engine::restore(program, options, blob));
      } else {
        rows.apply(engine->take_state_rows(engine->take_changed_partners()));
        engine.reset();
        engine = std::make_unique<Engine>(Engine::restore(program, options, rows));
        engine->track_state_rows();
      }
    }
    const Workload::Step& s = w.steps[i];
    EngineStats before = engine->stats();
    if (s.tick) {
      engine->advance_to(s.time);
      ++i;
    } else if (batches) {
      std::size_t end = i + 1;
      while (end < w.steps.size() && !w.steps[end].tick && !cuts.count(end)) ++end;
      engine->push(events.subspan(w.steps[i].event, end - i));
      i = end;
    } else {
      engine->push(events[s.event]);
      ++i;
    }
    if (!batches) {
      const EngineStats& after = engine->stats();
      o.fired.push_back(after.timers_fired != before.timers_fired);
      o.duplicate.push_back(after.duplicates != before.duplicates);
      o.was_late.push_back(after.late != before.late);
    }
  }
  if (w.until) engine->advance_to(*w.until);
  add_stats(o, engine->stats());
  o.records = sink.json;
  o.state = dump_state(*engine, w);
  o.snapshot = engine->snapshot();
  return o;
}

void check_same(const Outcome& whole, const Outcome& split) {
  REQUIRE(split.records_count == whole.records_count);
  REQUIRE(split.records == whole.records);
  REQUIRE(split.state == whole.state);
  CHECK(split.snapshot == whole.snapshot);
  CHECK(split.applied == whole.applied);
  CHECK(split.duplicates == whole.duplicates);
  CHECK(split.invalid == whole.invalid);
  CHECK(split.late == whole.late);
  CHECK(split.timers == whole.timers);
  CHECK(split.rule_fires == whole.rule_fires);
}

// Splits every `every` steps, at `random` random steps, and right before and
// after every step that fired a timer, was a duplicate or was late.
std::set<std::size_t> every_n(std::size_t steps, std::size_t every) {
  std::set<std::size_t> cuts;
  for (std::size_t i = every; i < steps; i += every) cuts.insert(i);
  return cuts;
}

std::set<std::size_t> interesting(const Outcome& whole, std::size_t random, std::uint64_t seed) {
  std::set<std::size_t> cuts;
  std::size_t steps = whole.fired.size();
  for (std::size_t i = 0; i < steps; ++i) {
    if (whole.fired[i] || whole.duplicate[i] || whole.was_late[i]) {
      cuts.insert(i);
      cuts.insert(i + 1);
    }
  }
  std::mt19937_64 rng(seed);
  for (std::size_t k = 0; k < random && steps > 0; ++k) cuts.insert(rng() % steps);
  return cuts;
}

// A W1-like input: generated events with some repeated later (duplicates
// across parts) and some moved later in the file (late events).
Workload generated_workload(std::uint64_t partners, std::uint64_t events, std::uint64_t seed) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  bench::write_events(out, {partners, events, seed});
  std::fclose(out);
  std::vector<std::string> lines;
  std::istringstream in(std::string(buffer, size));
  std::free(buffer);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    text += lines[i] + "\n";
    if (i % 97 == 50) text += lines[i - 40] + "\n";  // a duplicate, 40 lines on
  }
  Workload w;
  add_jsonl(w, text);
  return w;
}

}  // namespace

TEST_CASE("snapshot: generated rules over a generated workload, split every few events and at random") {
  Workload w = generated_workload(200, 5000, 7);
  w.until = w.events.events().back().time + 400 * 86400;
  for (std::uint64_t rules : {10, 25, 50}) {
    INFO("rules: " << rules);
    Program program = compile_text(bench::make_rules(rules, rules));
    Outcome whole = run(program, w, {}, false);
    REQUIRE(whole.duplicates > 0);
    REQUIRE(whole.late > 0);
    REQUIRE(whole.timers > 0);
    check_same(whole, run(program, w, every_n(w.steps.size(), 7), true));
    check_same(whole, run(program, w, every_n(w.steps.size(), 101), false));
    check_same(whole, run(program, w, interesting(whole, 200, rules), true));
    check_same(whole, run(program, w, every_n(w.steps.size(), 13), true, Handover::rows));
    check_same(whole, run(program, w, interesting(whole, 100, rules + 1), false, Handover::rows));
  }
}

TEST_CASE("state rows: under a dedup window, split every few events, as one run") {
  Workload w = generated_workload(200, 5000, 9);
  w.until = w.events.events().back().time + 400 * 86400;
  Program program = compile_text(bench::make_rules(25, 25));
  // A window of one second forgets almost every id (the store deletes them).
  for (Seconds window : {Seconds{1}, Seconds{30 * 86400}, Seconds{400 * 86400}}) {
    INFO("window: " << window);
    Outcome whole = run(program, w, {}, false, Handover::blob, window);
    if (window > 86400) REQUIRE(whole.duplicates > 0);
    check_same(whole, run(program, w, every_n(w.steps.size(), 11), true, Handover::rows, window));
    check_same(whole, run(program, w, interesting(whole, 100, 5), false, Handover::rows, window));
  }
}

TEST_CASE("snapshot: a split at every single event gives the same run") {
  Workload w = generated_workload(30, 600, 3);
  w.until = w.events.events().back().time + 100 * 86400;
  Program program = compile_text(bench::make_rules(30, 5));
  Outcome whole = run(program, w, {}, false);
  REQUIRE(whole.records_count > 50);
  check_same(whole, run(program, w, every_n(w.steps.size(), 1), false));
  check_same(whole, run(program, w, every_n(w.steps.size(), 1), false, Handover::rows));
}

TEST_CASE("snapshot: the three examples over examples/events.jsonl, with --until on the last part") {
  std::vector<std::string> files;
  for (const char* f : {"onboarding", "tiers", "reengagement"})
    files.push_back(std::string(PTAG_SOURCE_DIR) + "/examples/" + f + ".ptag");
  auto compiled = compile_unit(load_files(files));
  REQUIRE(compiled);
  Workload w;
  add_jsonl(w, read_file(std::string(PTAG_SOURCE_DIR) + "/examples/events.jsonl"));
  w.until = *parse_time("2027-01-01T00:00:00Z", true);
  Outcome whole = run(compiled->program, w, {}, false);
  REQUIRE(whole.timers > 0);
  check_same(whole, run(compiled->program, w, every_n(w.steps.size(), 97), true));
  check_same(whole, run(compiled->program, w, interesting(whole, 300, 11), false));
}

TEST_CASE("snapshot: every test of the conformance suite, split before every step") {
  std::size_t tests = 0, files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(PTAG_SOURCE_DIR) + "/tests/conformance")) {
    if (entry.path().extension() != ".ptag") continue;
    auto compiled = compile_unit(load_files({entry.path().string()}));
    if (!compiled) continue;  // the bad_* files: no program to run
    ++files;
    for (const ast::Test* t : compiled->unit.all<ast::Test>()) {
      INFO(entry.path().filename().string() << ": test " << t->name.value);
      Workload w;
      for (const ast::Step& s : t->steps) {
        if (s.kind == ast::StepKind::tick) w.tick(s.time);
        if (s.kind != ast::StepKind::event) continue;
        Event e;
        e.type = s.event_type.value;
        e.partner = s.partner.value;
        e.time = s.time;
        for (const ast::Field& f : s.fields) {
          if (f.name.value == "id") {
            e.id = f.value.text;
            e.has_id = true;
          } else if (f.value.kind == ast::ExprKind::string) {
            e.data.push_back({f.name.value, {Value::Kind::text, 0, f.value.text}});
          } else {
            e.data.push_back({f.name.value,
                              {f.value.kind == ast::ExprKind::boolean ? Value::Kind::boolean
                                                                      : Value::Kind::number,
                               f.value.number,
                               {}}});
          }
        }
        w.add(e);
      }
      Outcome whole = run(compiled->program, w, {}, false);
      check_same(whole, run(compiled->program, w, every_n(w.steps.size(), 1), false));
      check_same(whole, run(compiled->program, w, every_n(w.steps.size(), 1), false, Handover::rows));
      // Through rows split in two, as a store continued once.
      check_same(whole, run(compiled->program, w, {w.steps.size() / 2}, false, Handover::rows));
      ++tests;
    }
  }
  CHECK(files >= 10);
  CHECK(tests >= 50);
}

// ---- the blob and its refusals --------------------------------------------------

namespace {

const char* kRules = R"(rule "welcome" on join add "New"
rule "risk" on inactive 30d add "At Risk"
rule "first sale" on first_sale add "Seller" for 10d
rule "k" on milestone revenue >= 100 add "100"
exclusive "New", "Seller"
)";

std::string small_events() {
  return R"({"id":"e1","type":"join","partner":"p1","time":"2026-01-01T00:00:00Z","data":{"plan":"pro","seats":3}}
{"id":"e2","type":"sale","partner":"p1","time":"2026-01-02T00:00:00Z","data":{"amount":150,"customer":"c1"}}
{"id":"e3","type":"join","partner":"p2","time":"2026-01-03T00:00:00Z"}
)";
}

std::string small_snapshot(const Program& program) {
  Workload w;
  add_jsonl(w, small_events());
  Engine e(program, EngineOptions{});
  e.push(w.events.events());
  return e.snapshot();
}

std::string refusal(const Program& program, std::string_view blob) {
  try {
    Engine::restore(program, EngineOptions{}, blob);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

std::uint64_t le64(const std::string& s, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}
void set_le(std::string& s, std::size_t at, std::uint64_t v, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
// The checksum over everything before it (docs/semantics.md), made right again.
void reseal(std::string& s) {
  set_le(s, s.size() - 8, hash_text(std::string_view(s).substr(0, s.size() - 8), 0x70746167736e6170ULL), 8);
}

}  // namespace

TEST_CASE("snapshot: the header is magic, version, flags, total length; the end a checksum") {
  Program program = compile_text(kRules);
  std::string blob = small_snapshot(program);
  CHECK(blob.substr(0, 8) == "PTAGSNAP");
  CHECK(le64(blob, 8) == 4);  // version 4, flags 0
  CHECK(le64(blob, 16) == blob.size());
  CHECK(le64(blob, blob.size() - 8) ==
        hash_text(std::string_view(blob).substr(0, blob.size() - 8), 0x70746167736e6170ULL));
  // The same state is the same bytes: a restored engine snapshots identically.
  Engine restored = Engine::restore(program, EngineOptions{}, blob);
  CHECK(restored.snapshot() == blob);
}

TEST_CASE("snapshot: a restored engine keeps tags, metrics, attributes, customers, ids and timers") {
  Program program = compile_text(kRules);
  JsonSink sink;
  Engine e = Engine::restore(program, sink, small_snapshot(program));
  CHECK(e.stats().applied == 0);  // stats start again from zero
  REQUIRE(e.partner_count() == 2);
  CHECK(e.clock() == *parse_time("2026-01-03T00:00:00Z", true));
  CHECK(e.partner_tags(0) == std::vector<std::string_view>{"Seller", "100"});
  CHECK(e.partner_metric(0, Metric::revenue) == 150'000'000);
  CHECK(e.partner_metric(0, Metric::customers) == 1'000'000);
  CHECK(e.partner_attribute(0, "plan")->text == "pro");
  CHECK(e.partner_attribute(0, "seats")->number == 3'000'000);
  // An applied id is still a duplicate; a known customer is not counted again;
  // the first sale and the milestone are spent.
  Workload more;
  add_jsonl(more,
            R"({"id":"e2","type":"sale","partner":"p1","time":"2026-01-04T00:00:00Z","data":{"amount":1}}
{"id":"e4","type":"sale","partner":"p1","time":"2026-01-04T00:00:00Z","data":{"amount":1,"customer":"c1"}}
)");
  CHECK(e.push(more.events.events()[0]) == PushResult::duplicate);
  CHECK(e.push(more.events.events()[1]) == PushResult::applied);
  CHECK(e.partner_metric(0, Metric::customers) == 1'000'000);
  CHECK(sink.count == 0);
  // The expiring tag and the inactive timer fire after the restore, in order.
  e.advance_to(*parse_time("2026-02-10T00:00:00Z", true));
  CHECK(sink.json ==
        R"({"time":"2026-01-12T00:00:00Z","partner":"p1","action":"remove","tag":"Seller","rule":"first sale","cause":"timer"})"
        "\n"
        R"({"time":"2026-02-02T00:00:00Z","partner":"p2","action":"add","tag":"At Risk","rule":"risk","cause":"timer"})"
        "\n"
        R"({"time":"2026-02-03T00:00:00Z","partner":"p1","action":"add","tag":"At Risk","rule":"risk","cause":"timer"})"
        "\n");
}

TEST_CASE("snapshot: an engine with no events round-trips, clock and all") {
  Program program = compile_text(kRules);
  Engine fresh(program, EngineOptions{});
  Engine e = Engine::restore(program, EngineOptions{}, fresh.snapshot());
  CHECK_FALSE(e.has_clock());
  CHECK(e.partner_count() == 0);
  Engine ticked(program, EngineOptions{});
  ticked.advance_to(1000);
  Engine t = Engine::restore(program, EngineOptions{}, ticked.snapshot());
  CHECK(t.has_clock());
  CHECK(t.clock() == 1000);
}

TEST_CASE("snapshot: truncated at every byte is refused") {
  Program program = compile_text(kRules);
  std::string blob = small_snapshot(program);
  REQUIRE(refusal(program, blob).empty());
  for (std::size_t n = 0; n < blob.size(); ++n) {
    INFO("length " << n);
    std::string why = refusal(program, std::string_view(blob).substr(0, n));
    CHECK_THAT(why, Catch::StartsWith("engine snapshot: "));
    if (n >= 32) CHECK_THAT(why, Catch::Contains("truncated (" + std::to_string(n) + " bytes of "));
  }
  CHECK(refusal(program, "") == "engine snapshot: empty");
  CHECK_THAT(refusal(program, blob + "x"), Catch::Contains("corrupt (1 bytes after its end)"));
}

TEST_CASE("snapshot: a flipped byte anywhere is refused, in the payload by the checksum") {
  Program program = compile_text(kRules);
  std::string blob = small_snapshot(program);
  for (std::size_t at = 0; at < blob.size(); ++at) {
    for (int bit : {0x01, 0x80}) {
      INFO("byte " << at << " ^ " << int(bit));
      std::string bad = blob;
      bad[at] = static_cast<char>(bad[at] ^ bit);
      std::string why = refusal(program, bad);
      CHECK_THAT(why, Catch::StartsWith("engine snapshot: "));
      if (at >= 24) CHECK_THAT(why, Catch::Contains("the checksum does not match"));
    }
  }
}

TEST_CASE("snapshot: a resealed blob with any byte changed is refused or restored, never trusted blindly") {
  // With the checksum made right again, what is left is the parser's own
  // checks: no crash, no huge allocation, a clear refusal or a valid state.
  Program program = compile_text(kRules);
  std::string blob = small_snapshot(program);
  std::size_t refused = 0;
  for (std::size_t at = 24; at + 8 < blob.size(); ++at) {
    for (int value : {0x00, 0x01, 0x7f, 0xff}) {
      std::string bad = blob;
      bad[at] = static_cast<char>(value);
      reseal(bad);
      std::string why = refusal(program, bad);
      if (!why.empty()) {
        ++refused;
        CHECK_THAT(why, Catch::StartsWith("engine snapshot: "));
      }
    }
  }
  CHECK(refused > 0);
}

TEST_CASE("snapshot: a newer format version is refused") {
  Program program = compile_text(kRules);
  std::string blob = small_snapshot(program);
  set_le(blob, 8, 5, 4);
  reseal(blob);
  CHECK(refusal(program, blob) ==
        "engine snapshot: format version 5 is newer than this ptag reads (4); use a newer ptag");
  CHECK(refusal(program, "PTAGSNAQ and more bytes than a header holds") ==
        "engine snapshot: not a ptag engine snapshot (it does not start with \"PTAGSNAP\")");
}

TEST_CASE("snapshot: another program is restored; describe_rule_changes says what was kept, added, removed") {
  Program program = compile_text(kRules);
  std::string blob = small_snapshot(program);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = kRules;
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    Program changed = compile_text(text);
    CHECK(refusal(changed, blob).empty());
    RuleChanges restored;
    Engine::restore(changed, EngineOptions{}, blob, {.changes = &restored});
    RuleChanges described = describe_rule_changes(changed, blob);
    CHECK(restored.added == described.added);
    CHECK(restored.removed == described.removed);
    CHECK(restored.kept.size() == described.kept.size());
    return described;
  };
  auto changed_rules = [](const RuleChanges& c) {
    std::vector<std::string> out;
    for (const auto& k : c.kept) {
      if (k.changed) out.push_back(k.name);
    }
    return out;
  };
  using Names = std::vector<std::string>;
  RuleChanges same = describe_rule_changes(program, blob);
  CHECK(same.same_program);
  CHECK(same.kept.size() == 4);
  CHECK(same.added.empty());
  CHECK(same.removed.empty());
  RuleChanges k = with(">= 100", ">= 200");
  CHECK_FALSE(k.same_program);
  CHECK(changed_rules(k) == Names{"k"});
  CHECK(k.kept.size() == 4);
  CHECK(changed_rules(with("for 10d", "for 11d")) == Names{"first sale"});
  CHECK(changed_rules(with("30d", "31d")) == Names{"risk"});
  RuleChanges renamed = with("\"risk\"", "\"danger\"");
  CHECK(renamed.added == Names{"danger"});
  CHECK(renamed.removed == Names{"risk"});
  CHECK(renamed.kept.size() == 3);
  RuleChanges extra = with("exclusive \"New\", \"Seller\"\n", "rule \"extra\" on click add \"New\"\nexclusive \"New\", \"Seller\"\n");
  CHECK(extra.added == Names{"extra"});
  CHECK(changed_rules(extra).empty());
  RuleChanges gone = with("rule \"k\" on milestone revenue >= 100 add \"100\"\n", "");
  CHECK(gone.removed == Names{"k"});
  CHECK(gone.tags_removed == Names{"100"});
  RuleChanges groups = with("exclusive \"New\", \"Seller\"\n", "exclusive \"New\", \"Seller\"\nexclusive \"At Risk\", \"100\"\n");
  CHECK_FALSE(groups.same_program);
  CHECK(groups.kept.size() == 4);
  CHECK(changed_rules(groups).empty());
  CHECK(groups.added.empty());
  CHECK(groups.removed.empty());
}

// Figures for docs/semantics.md: set PTAG_SNAPSHOT_EVENTS to a W1 input
// (`ptag-gen events --partners 100000 --events 2000000`) and run
// `test_snapshot "[.measure]"`. It prints, it asserts nothing about time.
TEST_CASE("snapshot: size and time after W1", "[.measure]") {
  const char* path = std::getenv("PTAG_SNAPSHOT_EVENTS");
  if (!path) return;
  Workload w;
  add_jsonl(w, read_file(path));
  std::vector<std::string> files;
  for (const char* f : {"onboarding", "tiers", "reengagement"})
    files.push_back(std::string(PTAG_SOURCE_DIR) + "/examples/" + f + ".ptag");
  auto examples = compile_unit(load_files(files));
  REQUIRE(examples);
  Program generated = compile_text(bench::make_rules(50, 1));
  for (const Program* program : {&examples->program, &generated}) {
    Engine e(*program, EngineOptions{});
    e.push(w.events.events());
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    std::string blob = e.snapshot();
    auto t1 = Clock::now();
    Engine r = Engine::restore(*program, EngineOptions{}, blob);
    auto t2 = Clock::now();
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::size_t tags = 0;
    for (std::size_t i = 0; i < e.partner_count(); ++i) tags += e.partner_tags(i).size();
    std::printf("%s: %zu partners, %zu tags, %zu events: %zu bytes (%.1f MB), snapshot %.0f ms, restore %.0f ms\n",
                program == &generated ? "50 generated rules" : "example rules", e.partner_count(), tags,
                w.events.size(), blob.size(), static_cast<double>(blob.size()) / 1e6, ms(t1 - t0),
                ms(t2 - t1));
    CHECK(r.snapshot() == blob);
  }
}
