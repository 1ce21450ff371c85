// The C++ embedding API (ptag/ptag.hpp).
#include <catch2/catch.hpp>

#include <limits>
#include <optional>
#include <stdexcept>

#include "ptag/ptag.hpp"

namespace {

struct Collect : ptag::Sink {
  std::vector<std::string> records;
  void record(const ptag::ChangeRecord& r) override {
    records.push_back(std::string(r.partner) + " " + std::string(r.tag));
  }
};

ptag::Event event(std::string_view type, std::string_view partner, const char* time) {
  ptag::Event e;
  e.type = type;
  e.partner = partner;
  e.time = *ptag::parse_time(time);
  return e;
}

}  // namespace

TEST_CASE("compile returns diagnostics as data, rendered like the CLI") {
  auto bad = ptag::compile({{"r.ptag", "on join add \"A\"\non frist_sale add \"B\"\n"}});
  REQUIRE_FALSE(bad.ok());
  REQUIRE(bad.diagnostics().size() == 1);
  CHECK(bad.diagnostics()[0].code == "E101");
  CHECK(bad.diagnostics()[0].span.line == 2);
  CHECK(bad.render().find("r.ptag:2:4: error[E101]: unknown trigger 'frist_sale'\n") == 0);

  auto warned = ptag::compile({{"w.ptag", "let unused = 1\non join add \"A\"\n"}});
  CHECK(warned.ok());
  CHECK(warned.diagnostics().size() == 1);
  CHECK_FALSE(ptag::compile({{"w.ptag", "let unused = 1\non join add \"A\"\n"}},
                            {.warnings_as_errors = true})
                  .ok());
}

TEST_CASE("several in-memory sources are one program") {
  auto rules = ptag::compile({{"a.ptag", "exclusive \"A\", \"B\"\non join add \"A\"\n"},
                              {"b.ptag", "on click add \"B\"\n"}});
  REQUIRE(rules.ok());
  Collect sink;
  ptag::Engine engine(rules.value(), {.sink = &sink});
  std::vector<ptag::Event> events = {event("join", "p1", "2026-01-01T00:00:00Z"),
                                     event("click", "p1", "2026-01-02T00:00:00Z")};
  ptag::PushCounts counts = engine.push(events);
  CHECK(counts.applied == 2);
  CHECK(sink.records == std::vector<std::string>{"p1 A", "p1 B", "p1 A"});
  CHECK(engine.partner_tags(0) == std::vector<std::string_view>{"B"});
}

TEST_CASE("an engine without a sink keeps state; attributes and metrics are readable") {
  auto rules = ptag::compile({{"r.ptag", "on sale add \"Seller\"\n"}});
  REQUIRE(rules.ok());
  ptag::Engine engine(rules.value(), ptag::EngineOptions{});
  ptag::Event join = event("join", "p1", "2026-01-01T00:00:00Z");
  join.data.push_back({"country", {ptag::Value::Kind::text, 0, "DE"}});
  ptag::Event sale = event("sale", "p1", "2026-01-02T00:00:00Z");
  sale.data.push_back({"amount", {ptag::Value::Kind::number, 12'500'000, {}}});
  CHECK(engine.push(join) == ptag::PushResult::applied);
  CHECK(engine.push(sale) == ptag::PushResult::applied);
  CHECK(engine.stats().records == 1);
  CHECK(engine.partner_attribute(0, "country")->text == "DE");
  CHECK_FALSE(engine.partner_attribute(0, "plan"));
  CHECK(engine.partner_value(0, "revenue") == 12'500'000);
}

TEST_CASE("segment queries select partners with a guard") {
  auto rules = ptag::compile(
      {{"r.ptag", "on join add \"New\"\non sale add \"VIP\"\non inactive 10d add \"Inactive\"\n"}});
  REQUIRE(rules.ok());
  ptag::Engine engine(rules.value(), ptag::EngineOptions{});
  ptag::Event sale = event("sale", "p2", "2026-01-01T00:00:00Z");
  sale.data.push_back({"amount", {ptag::Value::Kind::number, 1'000'000, {}}});
  engine.push(event("join", "p1", "2026-01-01T00:00:00Z"));
  engine.push(sale);
  ptag::Event sale3 = sale;
  sale3.partner = "p3";
  sale3.time = *ptag::parse_time("2026-01-20T00:00:00Z");
  engine.push(sale3);  // p1 and p2 are inactive by now
  auto query =
      ptag::compile_segment_query(rules.value(), "tagged \"VIP\" and not tagged \"Inactive\"");
  REQUIRE(query.ok());
  CHECK(ptag::segment(engine, query.value()) == std::vector<std::string_view>{"p3"});
  auto all = ptag::compile_segment_query(rules.value(), "revenue > 0 or tagged \"Unknown Tag\"");
  REQUIRE(all.ok());
  CHECK(ptag::segment(engine, all.value()) == std::vector<std::string_view>{"p2", "p3"});
  auto bad = ptag::compile_segment_query(rules.value(), "event.amount > 5");
  CHECK_FALSE(bad.ok());
  CHECK(ptag::compile_segment_query(rules.value(), "tagged \"VIP\" and")
            .render()
            .find("expected a condition after 'and'") != std::string::npos);
  // A program that is not a query, or a query of another program, is refused.
  CHECK_THROWS_WITH(ptag::segment(engine, rules.value()), Catch::Contains("not a segment query"));
  auto other = ptag::compile({{"o.ptag", "on click add \"Clicker\"\n"}});
  REQUIRE(other.ok());
  auto foreign = ptag::compile_segment_query(other.value(), "tagged \"Clicker\"");
  REQUIRE(foreign.ok());
  CHECK_THROWS_WITH(ptag::segment(engine, foreign.value()), Catch::Contains("another program"));
}

TEST_CASE("a segment query nested too deeply is an error, not a crash") {
  auto rules = ptag::compile({{"r.ptag", "on join add \"A\"\n"}});
  REQUIRE(rules.ok());
  auto deep = ptag::compile_segment_query(rules.value(), std::string(10000, '(') + "tagged \"A\"");
  CHECK_FALSE(deep.ok());
  CHECK(deep.render().find("nested too deeply") != std::string::npos);
}

TEST_CASE("a batch applies events exactly as pushing them one by one") {
  auto rules = ptag::compile({{"r.ptag",
                               "on join add \"New\"\n"
                               "on sale when event.amount >= 50 add \"Big\" for 2d\n"
                               "on inactive 3d add \"Quiet\"\n"
                               "on click remove \"Quiet\"\n"}});
  REQUIRE(rules.ok());
  // Strings the batch must copy: this buffer is overwritten after each add.
  std::string scratch_id, scratch_partner, scratch_customer;
  ptag::EventBatch batch;
  std::vector<ptag::Event> single;
  std::vector<std::string> owned;
  owned.reserve(4000);
  const char* types[] = {"join", "click", "sale", "sale"};
  for (int i = 0; i < 1000; ++i) {
    ptag::Event e;
    e.type = types[i % 4];
    scratch_partner = "partner-" + std::to_string(i * 7 % 97);
    scratch_id = "event-" + std::to_string(i % 900);  // the last 100 are duplicates
    e.partner = scratch_partner;
    e.id = scratch_id;
    e.has_id = true;
    e.time = *ptag::parse_time("2026-01-01T00:00:00Z") + i * 3600;
    if (e.type == "sale" && i % 8 != 2) {  // one sale in four lacks its amount: invalid
      scratch_customer = "customer-" + std::to_string(i % 5);
      e.data.push_back({"amount", {ptag::Value::Kind::number, (i % 100) * 1'000'000, {}}});
      e.data.push_back({"customer", {ptag::Value::Kind::text, 0, scratch_customer}});
    }
    batch.add(e, static_cast<std::size_t>(i + 1));
    ptag::Event copy = e;
    copy.partner = owned.emplace_back(e.partner);
    copy.id = owned.emplace_back(e.id);
    for (ptag::Field& f : copy.data)
      if (f.value.kind == ptag::Value::Kind::text) f.value.text = owned.emplace_back(f.value.text);
    single.push_back(copy);
  }
  REQUIRE(batch.size() == 1000);
  CHECK(batch.line(999) == 1000);
  CHECK(batch.events()[5].partner == "partner-35");

  Collect one_by_one, batched;
  ptag::Engine a(rules.value(), {.sink = &one_by_one});
  std::size_t invalid = 0;
  for (const ptag::Event& e : single) invalid += a.push(e) == ptag::PushResult::invalid;
  ptag::Engine b(rules.value(), {.sink = &batched});
  std::vector<ptag::Rejection> rejected;
  ptag::PushCounts counts = b.push(batch.events(), &rejected);
  CHECK(invalid > 0);
  CHECK(counts.invalid == invalid);
  CHECK(counts.duplicates > 0);
  CHECK(counts.applied + counts.duplicates + counts.invalid == 1000);
  REQUIRE(rejected.size() == invalid);
  CHECK(rejected[0].index == 2);
  CHECK(rejected[0].why == "\"data.amount\" is missing (a sale needs a numeric amount)");
  CHECK(one_by_one.records == batched.records);
  CHECK(one_by_one.records.size() > 100);

  // Stopping at the first invalid event applies nothing after it.
  ptag::Engine c(rules.value(), {.sink = nullptr});
  ptag::PushCounts stopped = c.push(batch.events(), nullptr, true);
  CHECK(stopped.applied == 2);
  CHECK(stopped.invalid == 1);
  CHECK(c.stats().applied == 2);

  batch.clear();
  CHECK(batch.empty());
}

TEST_CASE("an engine refuses more timer rules of one kind than it can count") {
  std::string text;
  for (int i = 0; i < 65'536; ++i) text += "on inactive " + std::to_string(i % 400 + 1) + "d add \"Quiet\"\n";
  auto rules = ptag::compile({{"many.ptag", text}});
  REQUIRE(rules.ok());
  CHECK_THROWS_AS(ptag::Engine(rules.value(), ptag::EngineOptions{}), std::length_error);
  text.resize(text.rfind("on inactive"));  // one rule fewer: 65,535 fit
  auto fewer = ptag::compile({{"fewer.ptag", text}});
  REQUIRE(fewer.ok());
  CHECK_NOTHROW(ptag::Engine(fewer.value(), ptag::EngineOptions{}));
}

TEST_CASE("find_partner says when there is no such partner") {
  auto rules = ptag::compile({{"r.ptag", "on join add \"A\"\n"}});
  REQUIRE(rules.ok());
  ptag::Engine engine(rules.value(), ptag::EngineOptions{});
  CHECK_FALSE(engine.find_partner("p1"));
  engine.push(event("join", "p1", "2026-01-01T00:00:00Z"));
  engine.push(event("join", "p2", "2026-01-01T00:00:00Z"));
  CHECK(engine.find_partner("p2") == std::optional<std::size_t>(1));
  CHECK(engine.find_partner("p1") == std::optional<std::size_t>(0));
  CHECK_FALSE(engine.find_partner("p3"));
  CHECK_FALSE(engine.find_partner(""));
}

TEST_CASE("every partner accessor refuses an index out of range") {
  auto rules = ptag::compile({{"r.ptag", "on join add \"A\"\n"}});
  REQUIRE(rules.ok());
  ptag::Engine engine(rules.value(), ptag::EngineOptions{});
  auto refused = [&engine](std::size_t i) {
    std::string message = "partner index " + std::to_string(i) + " is out of range (partner count " +
                          std::to_string(engine.partner_count()) + ")";
    CHECK_THROWS_MATCHES(engine.partner_id(i), std::out_of_range, Catch::Message(message));
    CHECK_THROWS_MATCHES(engine.partner_tags(i), std::out_of_range, Catch::Message(message));
    CHECK_THROWS_MATCHES(engine.partner_metric(i, ptag::Metric::revenue), std::out_of_range,
                         Catch::Message(message));
    CHECK_THROWS_MATCHES(engine.partner_value(i, "revenue"), std::out_of_range,
                         Catch::Message(message));
    CHECK_THROWS_MATCHES(engine.partner_value(i, "days_since_join"), std::out_of_range,
                         Catch::Message(message));
    CHECK_THROWS_MATCHES(engine.partner_attribute(i, "country"), std::out_of_range,
                         Catch::Message(message));
  };
  refused(0);  // no partner yet
  ptag::Event join = event("join", "p1", "2026-01-01T00:00:00Z");
  join.data.push_back({"country", {ptag::Value::Kind::text, 0, "DE"}});
  engine.push(join);
  CHECK(engine.partner_id(0) == "p1");
  CHECK(engine.partner_tags(0) == std::vector<std::string_view>{"A"});
  CHECK(engine.partner_metric(0, ptag::Metric::revenue) == 0);
  CHECK(engine.partner_attribute(0, "country")->text == "DE");
  refused(1);
  refused(std::numeric_limits<std::size_t>::max());
  refused(std::size_t{1} << 32);  // would wrap to 0 as a 32-bit partner number
  CHECK_THROWS_AS(engine.partner_metric(0, static_cast<ptag::Metric>(200)), std::out_of_range);
}

TEST_CASE("a record's partner view is valid during the record call") {
  // Records of earlier partners while later ones arrive: the partner table
  // grows, so a sink copies what it keeps; copied during the call, it is right.
  auto rules = ptag::compile({{"r.ptag", "on click add \"C\"\n"}});
  REQUIRE(rules.ok());
  Collect sink;
  ptag::Engine engine(rules.value(), {.sink = &sink});
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back("partner-" + std::string(i % 20, 'x') + std::to_string(i));
  for (const std::string& id : ids) engine.push(event("join", id, "2026-01-01T00:00:00Z"));
  for (const std::string& id : ids) {
    engine.push(event("click", id, "2026-01-02T00:00:00Z"));
    engine.push(event("join", id + "-new", "2026-01-02T00:00:00Z"));
  }
  REQUIRE(sink.records.size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) CHECK(sink.records[i] == ids[i] + " C");
}

TEST_CASE("prepare_engine: the VM, the JIT where built in, and the automatic choice") {
  auto few = ptag::compile({{"r.ptag", "on join add \"A\"\non click when clicks >= 2 add \"B\"\n"}});
  REQUIRE(few.ok());
  ptag::Program program = std::move(few.value());
  CHECK(ptag::guarded_rules(program) == 1);
  // One guarded rule: automatic is the VM, with or without the JIT.
  ptag::EngineChosen chosen = ptag::prepare_engine(program);
  CHECK(chosen.kind == ptag::EngineKind::vm);
  CHECK(program.native == nullptr);
  CHECK_THROWS_AS(ptag::prepare_engine(program, {.kind = ptag::EngineKind::jit, .jit_opt = 3}), std::runtime_error);
  if (!ptag::jit_available()) {
    CHECK_THROWS_WITH(ptag::prepare_engine(program, {.kind = ptag::EngineKind::jit}),
                      Catch::Contains("built without"));
    return;
  }
  chosen = ptag::prepare_engine(program, {.kind = ptag::EngineKind::jit, .jit_opt = 0});
  CHECK(chosen.kind == ptag::EngineKind::jit);
  CHECK(chosen.compile_seconds > 0);
  REQUIRE(program.native != nullptr);
  Collect sink;
  ptag::Engine engine(program, {.sink = &sink});
  engine.push(event("join", "p1", "2026-01-01T00:00:00Z"));
  engine.push(event("click", "p1", "2026-01-02T00:00:00Z"));
  engine.push(event("click", "p1", "2026-01-03T00:00:00Z"));
  CHECK(sink.records == std::vector<std::string>{"p1 A", "p1 B"});
  // Asking for the VM again drops the native code.
  CHECK(ptag::prepare_engine(program, {.kind = ptag::EngineKind::vm}).kind == ptag::EngineKind::vm);
  CHECK(program.native == nullptr);
  // More than kJitGuardedRules guarded rules: automatic compiles.
  std::string many;
  for (std::size_t i = 0; i <= ptag::kJitGuardedRules; ++i)
    many += "on click when clicks == " + std::to_string(i) + " add \"C" + std::to_string(i % 5) + "\"\n";
  auto big = ptag::compile({{"many.ptag", many}});
  REQUIRE(big.ok());
  CHECK(ptag::prepare_engine(big.value(), {.jit_opt = 0}).kind == ptag::EngineKind::jit);
}
