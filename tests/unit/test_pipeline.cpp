// Pipeline (docs/embedding.md, "Pipelines"): the typed outcome of a push, the
// stop at a rejection, the commit policy, and records numbered once (the
// sink, the store and the pipeline agree on every record's seq, across
// reopenings and a reload).
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <thread>
#include <string>
#include <vector>

#include "ptag/ptag.hpp"
#include "temp_dir.hpp"

using namespace ptag;

namespace {

Program compiled(const std::string& text) {
  std::vector<RuleSource> files{{"rules.ptag", text}};
  Result<Program> rules = compile(files);
  INFO(rules.render());
  REQUIRE(rules.ok());
  return std::move(rules.value());
}

// The JSONL lines as events, each with its line number.
EventBatch events_of(std::string text) {
  EventBatch batch;
  std::FILE* in = fmemopen(text.data(), text.size(), "r");
  JsonlSource source(in);
  Event event;
  std::string error;
  for (EventSource::Status got; (got = source.next(event, error)) != EventSource::Status::end;) {
    INFO(error);
    REQUIRE(got == EventSource::Status::event);
    batch.add(event, source.line());
  }
  std::fclose(in);
  return batch;
}

std::string sale(const std::string& id, const std::string& partner, const std::string& amount, int minute) {
  return R"({"type":"sale","id":")" + id + R"(","partner":")" + partner + R"(","time":"2026-03-01T10:)" +
         (minute < 10 ? "0" : "") + std::to_string(minute) + R"(:00Z","data":{"amount":)" + amount + "}}\n";
}

// The seq of every record it is given.
struct Numbers : Sink {
  std::vector<std::int64_t> seqs;
  void record(const ChangeRecord& r) override { seqs.push_back(r.seq); }
};

const char* kRules = "on sale add \"Buyer\"\non sale when event.amount >= 100 add \"Big\"\n";

}  // namespace

TEST_CASE("a push says what became of each event, and stops at a rejection when asked") {
  Program program = compiled(kRules);
  // A sale without an amount is rejected; the same id twice is a duplicate.
  EventBatch batch = events_of(sale("s1", "p-1", "50", 1) + sale("s1", "p-1", "50", 2) +
                               R"({"type":"sale","id":"s2","partner":"p-2","time":"2026-03-01T10:03:00Z"})" "\n" +
                               sale("s3", "p-3", "150", 4));
  SECTION("the whole batch") {
    Pipeline pipeline(program, EngineOptions{});
    PushOutcome got = pipeline.push(batch.events());
    CHECK(got.applied == 2);
    CHECK(got.duplicates == 1);
    CHECK(got.rejected == 1);
    CHECK(got.pushed == 4);
    REQUIRE(got.not_applied.size() == 1);  // duplicates are counted, not listed
    CHECK(got.not_applied[0].index == 2);
    CHECK(got.not_applied[0].status == EventStatus::rejected);
    CHECK(got.not_applied[0].reason.find("amount") != std::string::npos);
    CHECK(pipeline.engine().partner_count() == 2);
    CHECK(pipeline.records() == 3);  // Buyer for p-1; Buyer and Big for p-3
  }
  SECTION("duplicates listed") {
    Pipeline pipeline(program, EngineOptions{});
    PushOutcome got = pipeline.push(batch.events(), {.list_duplicates = true});
    REQUIRE(got.not_applied.size() == 2);
    CHECK(got.not_applied[0].index == 1);
    CHECK(got.not_applied[0].status == EventStatus::duplicate);
    CHECK(got.not_applied[1].index == 2);
    CHECK(got.not_applied[1].status == EventStatus::rejected);
  }
  SECTION("stopped at the rejection, one at a time or as a batch") {
    for (bool listed : {false, true}) {
      Pipeline pipeline(program, EngineOptions{});
      PushOutcome got = pipeline.push(batch.events(), {.stop_at_rejection = true, .list_duplicates = listed});
      CHECK(got.pushed == 3);
      CHECK(got.rejected == 1);
      CHECK(got.applied == 1);
      CHECK(pipeline.engine().partner_count() == 1);  // p-3 never came
      // The caller goes on after it.
      PushOutcome rest = pipeline.push(batch.events().subspan(got.pushed));
      CHECK(rest.applied == 1);
      CHECK(pipeline.records() == 3);
    }
  }
  SECTION("one event") {
    Pipeline pipeline(program, EngineOptions{});
    CHECK(pipeline.push(batch.events()[0]).status == EventStatus::applied);
    EventOutcome again = pipeline.push(batch.events()[0]);
    CHECK(again.status == EventStatus::duplicate);
    CHECK(again.reason == "an event with this id was applied before");
    CHECK_FALSE(pipeline.commit_due(1'000'000));  // in memory: nothing to commit
    CHECK(pipeline.commit() == 0);
  }
}

TEST_CASE("records are numbered once: the sink, the store and the pipeline agree across runs and a reload") {
  TempDir dir;
  std::string path = dir.file("tags.db");
  Program program = compiled(kRules);
  Program other = compiled(std::string(kRules) + "rule \"gold\" on sale when event.amount >= 200 add \"Gold\"\n");
  std::vector<std::int64_t> seen;
  for (int run = 0; run < 3; ++run) {
    auto durable = DurableEngine::open(path);
    Numbers sink;
    durable->start(program, {.sink = &sink});
    Pipeline pipeline(*durable);
    std::int64_t before = pipeline.records();
    CHECK(before == static_cast<std::int64_t>(seen.size()));
    std::string lines;
    for (int i = 0; i < 5; ++i)
      lines += sale("r" + std::to_string(run) + "-" + std::to_string(i), "p-" + std::to_string(run * 5 + i),
                    std::to_string(60 * (i + 1)), run * 10 + i);
    EventBatch batch = events_of(lines);
    pipeline.push(batch.events().first(2));
    if (run == 1) durable->reload(other, false, "");  // the numbering goes on
    pipeline.push(batch.events().subspan(2));
    pipeline.commit();
    pipeline.flush();
    seen.insert(seen.end(), sink.seqs.begin(), sink.seqs.end());
    CHECK(pipeline.records() == static_cast<std::int64_t>(seen.size()));
    CHECK(durable->durable_records() == pipeline.records());
  }
  // 1, 2, 3, ... with no gap or repeat, each the store's own seq for that record.
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<std::int64_t>(i) + 1);
  auto reader = StoreReader::open(path);
  CHECK(reader->last_seq() == static_cast<std::int64_t>(seen.size()));
}

TEST_CASE("a store refuses records out of sequence") {
  TempDir dir;
  auto store = Store::open(dir.file("tags.db"));
  StoreCommit c;
  ChangeRecord r;
  r.time = 1772360100;
  r.partner = "p-1";
  r.tag = "VIP";
  r.rule = "vip";
  r.seq = 2;  // the store's next is 1
  c.records.add(r);
  store->commit(std::move(c));
  CHECK_THROWS_AS(store->flush(), StoreError);
}

TEST_CASE("the commit policy: every N lines, or by time but not while the writer has a commit waiting") {
  TempDir dir;
  Program program = compiled(kRules);
  auto durable = DurableEngine::open(dir.file("tags.db"));
  durable->start(program);
  SECTION("by lines") {
    Pipeline pipeline(*durable, CommitPolicy{.events = 3, .seconds = 1e300});
    CHECK_FALSE(pipeline.commit_due(2));
    CHECK(pipeline.commit_due(3));
    CHECK_FALSE(pipeline.commit_due(5));  // counted from the last due
    CHECK(pipeline.commit_due(6));
  }
  SECTION("by time") {
    Pipeline pipeline(*durable, CommitPolicy{.seconds = 0});
    CHECK(pipeline.commit_due(1));
    pipeline.commit();
    pipeline.flush();
    // The interval stretches to four times the writer's last commit.
    double stretched = CommitPolicy::kWriteShare * durable->store().last_commit_seconds();
    std::this_thread::sleep_for(std::chrono::duration<double>(stretched + 0.01));
    CHECK(pipeline.commit_due(2));
  }
  SECTION("by time, an interval not yet passed") {
    Pipeline pipeline(*durable, CommitPolicy{.seconds = 3600});
    CHECK_FALSE(pipeline.commit_due(1'000'000));
  }
}
