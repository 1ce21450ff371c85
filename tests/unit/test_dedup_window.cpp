// The dedup window (EngineOptions::dedup_window): an applied id is kept only
// while its event time is within the window of the clock; a duplicate of an
// older event is applied again. Without the window every id is kept.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ptag/compiler.hpp"
#include "ptag/engine.hpp"
#include "ptag/sink.hpp"

using namespace ptag;

namespace {

constexpr Seconds kDay = 86400;
constexpr Seconds kStart = 1767225600;  // 2026-01-01T00:00:00Z

Program compile_text(const std::string& text) {
  Unit unit = load_text("t.ptag", text);
  check(unit);
  REQUIRE_FALSE(unit.diagnostics.has_errors());
  return lower(unit);
}

const char* kRules = R"(rule "k" on milestone clicks >= 1 add "Clicked"
)";

// Events keep views: the strings live here.
struct Click {
  std::string id;
  Seconds time;
};

PushResult push(Engine& engine, const Click& c) {
  Event e;
  e.id = c.id;
  e.has_id = true;
  e.type = "click";
  e.partner = "p1";
  e.time = c.time;
  return engine.push(e);
}

std::int64_t clicks(const Engine& engine) {
  return engine.partner_metric(0, Metric::clicks) / 1'000'000;
}

}  // namespace

TEST_CASE("dedup window: a duplicate inside the window is skipped, outside it is applied again") {
  Program program = compile_text(kRules);
  Engine engine(program, EngineOptions{.dedup_window = 10 * kDay});
  CHECK(push(engine, {"a", kStart}) == PushResult::applied);
  CHECK(push(engine, {"b", kStart + 5 * kDay}) == PushResult::applied);
  CHECK(push(engine, {"a", kStart}) == PushResult::duplicate);  // clock - 5d
  CHECK(push(engine, {"c", kStart + 10 * kDay}) == PushResult::applied);
  CHECK(push(engine, {"a", kStart}) == PushResult::duplicate);  // exactly the window: kept
  CHECK(push(engine, {"d", kStart + 10 * kDay + 1}) == PushResult::applied);
  CHECK(push(engine, {"a", kStart}) == PushResult::applied);  // one second older: forgotten
  CHECK(push(engine, {"b", kStart + 5 * kDay}) == PushResult::duplicate);
  // The re-applied id is kept with its event time, which is still outside the window.
  CHECK(push(engine, {"a", kStart}) == PushResult::applied);
  CHECK(clicks(engine) == 6);
  CHECK(engine.stats().duplicates == 3);
}

TEST_CASE("dedup window: ids are forgotten in long runs, and --until moves the clock for them") {
  Program program = compile_text(kRules);
  Engine engine(program, EngineOptions{.dedup_window = kDay});
  for (int i = 0; i < 5000; ++i)
    REQUIRE(push(engine, {"e" + std::to_string(i), kStart + i * 60}) == PushResult::applied);
  CHECK(push(engine, {"e4999", kStart + 4999 * 60}) == PushResult::duplicate);
  CHECK(push(engine, {"e3600", kStart + 3600 * 60}) == PushResult::duplicate);  // 23h20m old
  CHECK(push(engine, {"e0", kStart}) == PushResult::applied);  // 3.5 days old
  engine.advance_to(kStart + 4999 * 60 + kDay + 1);
  CHECK(push(engine, {"e4999", kStart + 4999 * 60}) == PushResult::applied);
}

TEST_CASE("dedup window: without it every id is kept, however old") {
  Program program = compile_text(kRules);
  Engine engine(program, EngineOptions{});
  CHECK(push(engine, {"a", kStart}) == PushResult::applied);
  CHECK(push(engine, {"b", kStart + 1000 * kDay}) == PushResult::applied);
  engine.advance_to(kStart + 5000 * kDay);
  CHECK(push(engine, {"a", kStart}) == PushResult::duplicate);
  CHECK(clicks(engine) == 2);
}

TEST_CASE("dedup window: a snapshot keeps the ids' times; a restored engine forgets those outside") {
  Program program = compile_text(kRules);
  Engine engine(program, EngineOptions{.dedup_window = 10 * kDay});
  push(engine, {"a", kStart});
  push(engine, {"b", kStart + 8 * kDay});
  std::string blob = engine.snapshot();
  CHECK(blob.substr(8, 1) == std::string(1, '\3'));  // format version 3: ids with times

  SECTION("restored with the window: each id is forgotten at its own time") {
    Engine restored = Engine::restore(program, EngineOptions{.dedup_window = 10 * kDay}, blob);
    CHECK(push(restored, {"c", kStart + 11 * kDay}) == PushResult::applied);
    CHECK(push(restored, {"a", kStart}) == PushResult::applied);
    CHECK(push(restored, {"b", kStart + 8 * kDay}) == PushResult::duplicate);
  }
  SECTION("restored with a smaller window: the ids outside it are gone at once") {
    Engine restored = Engine::restore(program, EngineOptions{.dedup_window = 2 * kDay}, blob);
    CHECK(push(restored, {"a", kStart}) == PushResult::applied);
    CHECK(push(restored, {"b", kStart + 8 * kDay}) == PushResult::duplicate);
    // Its snapshot holds b alone: a was applied again, but at an event time
    // 8 days before the clock, outside the 2-day window.
    Engine again = Engine::restore(program, EngineOptions{}, restored.snapshot());
    CHECK(push(again, {"a", kStart}) == PushResult::applied);
    CHECK(push(again, {"b", kStart + 8 * kDay}) == PushResult::duplicate);
  }
  SECTION("restored without a window: the saved ids are kept for good") {
    Engine restored = Engine::restore(program, EngineOptions{}, blob);
    restored.advance_to(kStart + 1000 * kDay);
    CHECK(push(restored, {"a", kStart}) == PushResult::duplicate);
  }
}

TEST_CASE("dedup window: a snapshot is the same bytes whether or not the engine forgot yet") {
  Program program = compile_text(kRules);
  auto feed = [&](Engine& e, int from, int to) {
    // A fresh id moves the clock an hour; a repeated one may be a duplicate.
    for (int i = from; i < to; ++i) {
      push(e, {"u" + std::to_string(i), kStart + i * 3600});
      push(e, {"e" + std::to_string(i % 20), kStart + i * 3600});
    }
  };
  Engine whole(program, EngineOptions{.dedup_window = kDay});
  feed(whole, 0, 100);
  Engine first(program, EngineOptions{.dedup_window = kDay});
  feed(first, 0, 37);
  Engine second = Engine::restore(program, EngineOptions{.dedup_window = kDay}, first.snapshot());
  feed(second, 37, 100);
  CHECK(second.snapshot() == whole.snapshot());
  CHECK(clicks(second) == clicks(whole));
  // e<k> at hours k, k+20, k+40, ...: a duplicate 20h after it was applied,
  // applied again 40h after (the duplicate left its time alone).
  CHECK(whole.stats().duplicates == 40);
  CHECK(clicks(whole) == 160);
}

TEST_CASE("dedup window: ids of a snapshot without times count from its clock") {
  Program program = compile_text(kRules);
  Engine engine(program, EngineOptions{});
  push(engine, {"a", kStart});
  push(engine, {"e-17", kStart + kDay});  // numbered: kept as a bit without the window
  push(engine, {"b", kStart + 30 * kDay});
  std::string blob = engine.snapshot();
  CHECK(blob.substr(8, 1) == std::string(1, '\4'));  // format 4 without the window
  Engine restored = Engine::restore(program, EngineOptions{.dedup_window = 10 * kDay}, blob);
  CHECK(push(restored, {"a", kStart}) == PushResult::duplicate);  // kept until clock + 10d
  CHECK(push(restored, {"e-17", kStart}) == PushResult::duplicate);
  CHECK(push(restored, {"e-18", kStart + 30 * kDay}) == PushResult::applied);
  restored.advance_to(kStart + 40 * kDay + 1);
  CHECK(push(restored, {"a", kStart}) == PushResult::applied);
  CHECK(push(restored, {"e-17", kStart}) == PushResult::applied);
}

TEST_CASE("dedup window: a negative window is refused; the largest keeps every id") {
  Program program = compile_text(kRules);
  CHECK_THROWS_AS(Engine(program, EngineOptions{.dedup_window = -1}), std::invalid_argument);
  Engine engine(program, EngineOptions{.dedup_window = INT64_MAX});
  CHECK(push(engine, {"a", -60'000'000'000}) == PushResult::applied);  // year 68 BC
  CHECK(push(engine, {"a", -60'000'000'000}) == PushResult::duplicate);  // clock - window saturates
  CHECK(push(engine, {"b", 250'000'000'000}) == PushResult::applied);  // year 9892
  CHECK(push(engine, {"a", -60'000'000'000}) == PushResult::duplicate);
  Engine restored = Engine::restore(program, EngineOptions{.dedup_window = INT64_MAX}, engine.snapshot());
  CHECK(push(restored, {"a", -60'000'000'000}) == PushResult::duplicate);
}
