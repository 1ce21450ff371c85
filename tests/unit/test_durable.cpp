// DurableEngine through libptag (docs/embedding.md, "Durable engines"):
// runs split over store reopenings equal one in-memory run, a reopened store
// holds its last commit, reload() carries the state to another program, and
// the store's tables agree with the engine.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>

#include "ptag/ptag.hpp"
#include "workload.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace ptag;

namespace {

// Records as `ptag run` writes them: through a JsonlSink, into memory.
class JsonlText : public Sink {
 public:
  JsonlText() : file_(open_memstream(&buffer_, &size_)) { jsonl_.emplace(file_); }
  ~JsonlText() override {
    jsonl_.reset();  // it flushes into the file
    std::fclose(file_);
    std::free(buffer_);
  }
  void record(const ChangeRecord& r) override {
    jsonl_->record(r);
    stored.push_back(StoredRecord::from(r));
  }
  std::string text() {
    jsonl_->flush();
    return std::string(buffer_, size_);
  }
  std::vector<StoredRecord> stored;

 private:
  char* buffer_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
  std::optional<JsonlSink> jsonl_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<RuleSource> example_rules() {
  std::vector<RuleSource> files;
  for (const char* name : {"onboarding.ptag", "tiers.ptag", "reengagement.ptag"}) {
    std::string path = std::string(PTAG_SOURCE_DIR) + "/examples/" + name;
    files.push_back({path, read_file(path)});
  }
  return files;
}

Program compiled(std::span<const RuleSource> files) {
  Result<Program> rules = compile(files);
  INFO(rules.render());
  REQUIRE(rules.ok());
  return std::move(rules.value());
}

// Generated events (bench/workload.hpp), one JSONL line each.
std::vector<std::string> generated_events(std::uint64_t partners, std::uint64_t events, std::uint64_t seed) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  bench::write_events(out, {partners, events, seed});
  std::fclose(out);
  std::istringstream in(std::string(buffer, size));
  std::free(buffer);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
  return lines;
}

// Pushes lines [from, to) through the real source; commits every `every` lines when given.
void push_lines(Engine& engine, const std::vector<std::string>& lines, std::size_t from, std::size_t to,
                DurableEngine* durable = nullptr, std::size_t every = 0) {
  for (std::size_t at = from; at < to;) {
    std::size_t end = every ? std::min(to, at + every) : to;
    std::string text;
    for (std::size_t i = at; i < end; ++i) text += lines[i];
    std::FILE* in = fmemopen(text.data(), text.size(), "r");
    JsonlSource source(in);
    Event event;
    std::string error;
    while (source.next(event, error) == EventSource::Status::event) engine.push(event, &error);
    std::fclose(in);
    if (durable && every) durable->commit();
    at = end;
  }
}

// Every partner's tags with their expiry, in order: "p-1: VIP (until T), Proven".
std::vector<std::string> engine_tags(const Engine& engine) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < engine.partner_count(); ++i) {
    std::string line = std::string(engine.partner_id(i)) + ":";
    for (std::string_view t : engine.partner_tags(i)) {
      line += " " + std::string(t);
      if (auto until = engine.partner_tag_expiry(i, t)) line += " (until " + format_time(*until) + ")";
      line += ",";
    }
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> store_tags(const std::string& path) {
  std::vector<std::string> out;
  for (const PartnerRow& row : StoreReader::open(path)->partners()) {
    std::string line = row.partner + ":";
    for (const StoredTag& t : row.tags) {
      line += " " + t.tag;
      if (t.expires_at) line += " (until " + format_time(*t.expires_at) + ")";
      line += ",";
    }
    out.push_back(line);
  }
  return out;
}

std::vector<StoredRecord> store_records(const std::string& path) {
  return StoreReader::open(path)->records_from(1, std::numeric_limits<std::int64_t>::max());
}

const Seconds kUntil = *parse_time("2028-06-01T00:00:00Z", true);

}  // namespace

TEST_CASE("durable: two runs over two halves of a workload equal one in-memory run over the whole", "[durable]") {
  std::vector<RuleSource> files = example_rules();
  Program program = compiled(files);
  std::vector<std::string> lines = generated_events(300, 12000, 7);
  std::size_t half = lines.size() / 2;

  JsonlText whole;
  Engine reference(program, whole);
  push_lines(reference, lines, 0, lines.size());
  reference.advance_to(kUntil);
  REQUIRE(whole.stored.size() > 1000);

  TempDir dir;
  std::string path = dir.file("tags.db");
  JsonlText first, second;
  {
    auto durable = DurableEngine::open(path);
    CHECK(durable->loaded().created);
    Engine& engine = durable->start(program, {.sink = &first, .program_text = encode_program(files)});
    push_lines(engine, lines, 0, half, durable.get(), 1000);
    durable->flush();
    CHECK(durable->durable_records() == static_cast<std::int64_t>(first.stored.size()));
  }
  std::vector<std::string> tags;
  {
    auto durable = DurableEngine::open(path);
    CHECK_FALSE(durable->loaded().created);
    CHECK(durable->loaded().records == static_cast<std::int64_t>(first.stored.size()));
    Engine& engine = durable->start(program, {.sink = &second});
    CHECK(durable->rule_changes().same_program);
    CHECK(durable->rule_changes().added.empty());
    CHECK(durable->rule_changes().removed.empty());
    push_lines(engine, lines, half, lines.size(), durable.get(), 1000);
    engine.advance_to(kUntil);
    durable->commit();
    durable->flush();
    CHECK(durable->durable_records() == static_cast<std::int64_t>(whole.stored.size()));
    tags = engine_tags(engine);
    CHECK(engine.clock() == reference.clock());
  }
  CHECK(first.text() + second.text() == whole.text());
  CHECK(tags == engine_tags(reference));
  CHECK(store_tags(path) == engine_tags(reference));
  CHECK(store_records(path) == whole.stored);
  // The program's text went with a commit: `ptag query --state` compiles it again.
  CHECK(StoreReader::open(path)->contents().program == encode_program(files));
}

TEST_CASE("durable: reopened, the store holds its last commit and the next run continues the seq", "[durable]") {
  std::vector<RuleSource> files = example_rules();
  Program program = compiled(files);
  std::vector<std::string> lines = generated_events(2000, 60000, 3);
  std::size_t flushed_at = 10000, committed_at = 20000;

  JsonlText whole;
  Engine reference(program, whole);
  push_lines(reference, lines, 0, lines.size());
  reference.advance_to(kUntil);

  TempDir dir;
  std::string path = dir.file("tags.db");
  JsonlText first;
  std::size_t committed_records = 0;
  {
    auto durable = DurableEngine::open(path);
    Engine& engine = durable->start(program, {.sink = &first});
    push_lines(engine, lines, 0, flushed_at);
    durable->commit();
    durable->flush();
    push_lines(engine, lines, flushed_at, committed_at);
    durable->commit();  // not flushed: destroying the engine waits for it
    committed_records = first.stored.size();
    push_lines(engine, lines, committed_at, lines.size());
    engine.advance_to(kUntil);
    // More records than the engine holds back before it hands them to the
    // writer (16,384): some reached the store's open transaction, uncommitted.
    REQUIRE(first.stored.size() - committed_records > 20000);
  }
  REQUIRE(store_records(path).size() == committed_records);
  {
    auto reader = StoreReader::open(path);
    CHECK(reader->contents().records == static_cast<std::int64_t>(committed_records));
    CHECK(reader->records_from(static_cast<std::int64_t>(committed_records) + 1, 10).empty());
  }
  JsonlText second;
  {
    auto durable = DurableEngine::open(path);
    CHECK(durable->loaded().records == static_cast<std::int64_t>(committed_records));
    Engine& engine = durable->start(program, {.sink = &second});
    push_lines(engine, lines, committed_at, lines.size());
    engine.advance_to(kUntil);
    durable->commit();
    durable->flush();
    CHECK(engine_tags(engine) == engine_tags(reference));
  }
  // The first run's records up to its commit, then the second run's, are the whole run's.
  std::vector<StoredRecord> records(first.stored.begin(),
                                    first.stored.begin() + static_cast<std::ptrdiff_t>(committed_records));
  records.insert(records.end(), second.stored.begin(), second.stored.end());
  CHECK(records == whole.stored);
  CHECK(store_records(path) == whole.stored);
  CHECK(store_tags(path) == engine_tags(reference));
}

TEST_CASE("durable: reload carries the state to another program and lets the old one go", "[durable]") {
  const std::vector<RuleSource> v1 = {{"rules.ptag",
                                       "rule \"welcome\" on join add \"New Partner\"\n"
                                       "rule \"proven\" on first_sale add \"Proven\"\n"
                                       "rule \"trial\" on signup add \"Trial\" for 30d\n"}};
  const std::vector<RuleSource> v2 = {{"rules.ptag",
                                       "rule \"welcome\" on join add \"New Partner\"\n"
                                       "rule \"vip\" on milestone revenue >= 500 add \"VIP\"\n"}};
  std::vector<std::string> lines = generated_events(60, 3000, 5);
  std::size_t half = lines.size() / 2;

  // The oracle: the same state handed over by snapshot and restore.
  Program reference_v1 = compiled(v1), reference_v2 = compiled(v2);
  JsonlText whole;
  std::string blob;
  {
    Engine e1(reference_v1, whole);
    push_lines(e1, lines, 0, half);
    blob = e1.snapshot();
  }
  RuleChanges expected;
  Engine e2 = Engine::restore(reference_v2, whole, blob, {.backfill = true, .changes = &expected});
  push_lines(e2, lines, half, lines.size());
  e2.advance_to(kUntil);
  REQUIRE(expected.backfilled > 0);

  TempDir dir;
  std::string path = dir.file("tags.db");
  JsonlText out;
  auto p1 = std::make_unique<Program>(compiled(v1));
  auto p2 = std::make_unique<Program>(compiled(v2));
  auto durable = DurableEngine::open(path);
  Engine& engine = durable->start(*p1, {.sink = &out, .program_text = encode_program(v1)});
  push_lines(engine, lines, 0, half, durable.get(), 500);
  std::size_t reloaded_at = out.stored.size();
  const RuleChanges& changes = durable->reload(*p2, true, encode_program(v2));
  p1.reset();  // the engine now runs on p2 only (ASan sees any view left into p1)
  REQUIRE(changes.kept.size() == 1);
  CHECK(changes.kept[0].name == "welcome");
  CHECK_FALSE(changes.kept[0].changed);
  CHECK(changes.added == std::vector<std::string>{"vip"});
  CHECK(changes.removed == std::vector<std::string>{"proven", "trial"});
  CHECK(changes.backfilled == expected.backfilled);
  CHECK(&durable->rule_changes() == &changes);
  CHECK(&durable->engine() == &engine);  // the same engine object, another program
  push_lines(engine, lines, half, lines.size(), durable.get(), 500);
  engine.advance_to(kUntil);
  durable->commit();
  durable->flush();

  CHECK(out.text() == whole.text());
  CHECK(engine_tags(engine) == engine_tags(e2));
  CHECK(store_tags(path) == engine_tags(e2));
  CHECK(store_records(path) == whole.stored);
  CHECK(StoreReader::open(path)->contents().program == encode_program(v2));
  // The removed rules' tags stayed; "Trial" still expired in its rule's name.
  bool trial_expired = false, proven_kept = false;
  for (std::size_t i = reloaded_at; i < out.stored.size(); ++i) {
    const StoredRecord& r = out.stored[i];
    trial_expired |= r.tag == "Trial" && r.action == RecordAction::remove && r.rule == "trial";
  }
  for (const PartnerRow& row : StoreReader::open(path)->partners()) {
    for (const StoredTag& t : row.tags) proven_kept |= t.tag == "Proven" && t.rule == "proven";
  }
  CHECK(trial_expired);
  CHECK(proven_kept);
}

TEST_CASE("durable: after each commit the store's partners and tags are the engine's", "[durable]") {
  std::vector<RuleSource> files = example_rules();
  Program program = compiled(files);
  std::vector<std::string> lines = generated_events(150, 6000, 11);
  TempDir dir;
  std::string path = dir.file("tags.db");
  auto durable = DurableEngine::open(path);
  Engine& engine = durable->start(program);
  int commits = 0;
  for (std::size_t at = 0; at < lines.size(); at += 700) {
    push_lines(engine, lines, at, std::min(lines.size(), at + 700));
    if (at + 700 >= lines.size()) engine.advance_to(kUntil);
    durable->commit();
    durable->flush();
    ++commits;
    INFO("commit " << commits);
    REQUIRE(store_tags(path) == engine_tags(engine));
    std::vector<PartnerRow> rows = StoreReader::open(path)->partners();
    REQUIRE(rows.size() == engine.partner_count());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      for (std::size_t m = 0; m < kMetrics; ++m)  // every metric of the table, read back from its columns
        CHECK(rows[i].metrics[m] == engine.partner_metric(i, static_cast<Metric>(m)));
      CHECK(rows[i].last_activity == engine.partner_times(i).last_activity);
    }
  }
  CHECK(commits > 5);
  CHECK(StoreReader::open(path)->contents().commits == commits);
}

TEST_CASE("durable: a partner's records by its chain are the audit trail's, across reopenings", "[durable]") {
  std::vector<RuleSource> files = example_rules();
  Program program = compiled(files);
  std::vector<std::string> lines = generated_events(120, 5000, 13);
  TempDir dir;
  std::string path = dir.file("tags.db");
  for (std::size_t at = 0; at < lines.size(); at += 1250) {  // four runs on one store
    auto durable = DurableEngine::open(path);
    Engine& engine = durable->start(program);
    for (std::size_t from = at; from < at + 1250; from += 400) {
      push_lines(engine, lines, from, std::min(at + 1250, from + 400));
      durable->commit();
    }
    if (at + 1250 >= lines.size()) engine.advance_to(kUntil);
    durable->commit();
    durable->flush();
  }
  auto reader = StoreReader::open(path);
  std::vector<StoredRecord> all = store_records(path);
  REQUIRE(all.size() > 1000);
  std::size_t partners = 0;
  for (const PartnerRow& p : reader->partners()) {
    std::vector<StoredRecord> expected;
    for (auto it = all.rbegin(); it != all.rend(); ++it)
      if (it->partner == p.partner) expected.push_back(*it);
    INFO("partner " << p.partner);
    CHECK(reader->partner_records(p.partner, 1'000'000) == expected);
    if (expected.size() > 3) {
      CHECK(reader->partner_records(p.partner, 3) ==
            std::vector<StoredRecord>(expected.begin(), expected.begin() + 3));
      std::vector<StoredRecord> vip;
      for (auto it = expected.rbegin(); it != expected.rend(); ++it)
        if (it->tag == expected.front().tag && it->action != RecordAction::emit) vip.push_back(*it);
      CHECK(reader->records(p.partner, expected.front().tag) == vip);
    }
    partners += !expected.empty();
  }
  CHECK(partners > 100);
  CHECK(reader->partner_records("nobody", 10).empty());
}

TEST_CASE("durable: a commit writes the partners it changed, not the state", "[durable]") {
  std::vector<RuleSource> files = example_rules();
  Program program = compiled(files);
  TempDir dir;
  std::string path = dir.file("tags.db");
  std::vector<std::string> lines = generated_events(20000, 40000, 17);
  {
    auto durable = DurableEngine::open(path);
    Engine& engine = durable->start(program);
    push_lines(engine, lines, 0, lines.size());
    durable->commit();
    durable->flush();
    CHECK(durable->times().state_rows == engine.partner_count());  // the first commit writes every row
  }
  auto durable = DurableEngine::open(path);
  Engine& engine = durable->start(program);
  REQUIRE(engine.partner_count() == 20000);
  DurableTimes before = durable->times();
  // Ten clicks of ten partners a second after the clock: nothing else is due.
  Seconds at = engine.clock() + 1;
  for (int i = 0; i < 10; ++i) {
    Event e;
    e.type = "click";
    std::string partner = std::string(engine.partner_id(static_cast<std::size_t>(i) * 1999));
    e.partner = partner;
    e.time = at;
    std::string id = "tiny-" + std::to_string(i);
    e.id = id;
    e.has_id = true;
    REQUIRE(engine.push(e) == PushResult::applied);
  }
  durable->commit();
  durable->flush();
  const DurableTimes& after = durable->times();
  CHECK(after.state_rows - before.state_rows == 10);
  CHECK(after.state_bytes - before.state_bytes < 10 * 1024);
  // And the store restores to the same engine.
  std::string expected = engine.snapshot();
  durable.reset();
  auto again = DurableEngine::open(path);
  CHECK(again->start(program).snapshot() == expected);
}
