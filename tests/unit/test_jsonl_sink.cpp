// JsonlSink writes exactly the text of append_record_json, whatever its caches
// (quoted names, the time per second and per day) and large writes do.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ptag/sink.hpp"

using namespace ptag;

namespace {

// A JsonlSink over an in-memory FILE.
class Captured {
 public:
  Captured() : file_(open_memstream(&buffer_, &size_)), sink_(file_) {}
  ~Captured() {
    sink_.flush();
    std::fclose(file_);
    std::free(buffer_);
  }
  JsonlSink& sink() { return sink_; }
  // What the FILE holds after flush(), and its position as `ptag run --state` reads it.
  std::string text() {
    sink_.flush();
    return std::string(buffer_, size_);
  }
  long position() { return std::ftell(file_); }

 private:
  char* buffer_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
  JsonlSink sink_;
};

std::string plain_json(const std::vector<ChangeRecord>& records) {
  std::string out;
  for (const ChangeRecord& r : records) append_record_json(out, r);
  return out;
}

std::string through_sink(const std::vector<ChangeRecord>& records) {
  Captured c;
  for (const ChangeRecord& r : records) c.sink().record(r);
  return c.text();
}

ChangeRecord record(Seconds time, std::string_view partner, std::string_view tag, std::string_view rule) {
  ChangeRecord r;
  r.time = time;
  r.partner = partner;
  r.tag = tag;
  r.rule = rule;
  return r;
}

// The first line where `a` and `b` differ, both versions, or "" when equal.
std::string first_difference(const std::string& a, const std::string& b) {
  if (a == b) return "";
  std::size_t at = 0;
  while (at < a.size() && at < b.size() && a[at] == b[at]) ++at;
  std::size_t line = a.rfind('\n', at == 0 ? 0 : at - 1);
  line = line == std::string::npos ? 0 : line + 1;
  auto to_end = [line](const std::string& s) { return s.substr(line, s.find('\n', line) - line); };
  return "at byte " + std::to_string(at) + ":\n  " + to_end(a) + "\n  " + to_end(b);
}

}  // namespace

TEST_CASE("JsonlSink escapes names, partners and event ids as JSON") {
  std::string tag = "a\"b\\c\x01";
  std::string rule = "Gr\xC3\xB6\xC3\x9F" "e \xE2\x9C\x93\n\t\r";
  std::string partner = "p\"1\x1f";
  std::string event = "e\\2";
  ChangeRecord r = record(0, partner, tag, rule);
  r.event_id = event;
  r.has_event_id = true;
  std::string expected =
      R"({"time":"1970-01-01T00:00:00Z","partner":"p\"1\u001f","action":"add","tag":"a\"b\\c\u0001",)"
      "\"rule\":\"Gr\xC3\xB6\xC3\x9F" R"(e ✓\n\t\r","cause":"event","event":"e\\2"})"
      "\n";
  CHECK(plain_json({r}) == expected);
  CHECK(through_sink({r}) == expected);
  // The same again: now from the cache of quoted names.
  CHECK(through_sink({r, r}) == expected + expected);
}

TEST_CASE("JsonlSink prints every time as format_time does, kept or not") {
  std::vector<Seconds> times = {
      1772360100,            // 2026-03-01T10:15:00Z
      1772360100,            // equal
      1772360101,            // the next second, same day
      1772409599,            // the day's last second
      1772409600,            // the next day
      1772360099,            // back a day
      253402300799,          // 9999-12-31T23:59:59Z
      -62167219200,          // 0000-01-01T00:00:00Z
      -1,                    // 1969-12-31T23:59:59Z
      -86400,                // 1969-12-31T00:00:00Z
      -86401,                // 1969-12-30T23:59:59Z
      -1,
      0,
      253402300800,          // year 10000: longer than 20 characters
      253402300801,
      -62167219201,          // year -1
      Seconds{1} << 60,      // far outside the day arithmetic
      -(Seconds{1} << 60),
      1772360100,
  };
  std::vector<ChangeRecord> records;
  for (Seconds t : times) records.push_back(record(t, "p-1", "Tag", "Rule"));
  std::string text = through_sink(records);
  CHECK(text == plain_json(records));
  CHECK(text.find(R"("time":"1969-12-31T23:59:59Z")") != std::string::npos);
  CHECK(text.find(R"("time":"1969-12-30T23:59:59Z")") != std::string::npos);
  CHECK(text.find(R"("time":"2026-03-02T00:00:00Z")") != std::string::npos);
  CHECK(text.find(R"("time":"2026-03-01T23:59:59Z")") != std::string::npos);
  CHECK(text.find(R"("time":"2026-03-01T10:14:59Z")") != std::string::npos);
  CHECK(text.find(R"("time":"0000-01-01T00:00:00Z")") != std::string::npos);
}

TEST_CASE("JsonlSink writes emits, causes and records without an event id") {
  std::vector<ChangeRecord> records;
  ChangeRecord emit = record(100, "p-1", "welcome-mail", "greet");
  emit.action = RecordAction::emit;
  records.push_back(emit);
  ChangeRecord removed = record(100, "p-1", "Trial", "expire");
  removed.action = RecordAction::remove;
  removed.timer = true;  // made by hand: `timer` alone reads as a timer's
  records.push_back(removed);
  ChangeRecord timer = record(101, "p-2", "Trial", "expire");
  timer.timer = true;
  timer.cause = RecordCause::timer;
  records.push_back(timer);
  ChangeRecord backfill = record(102, "p-3", "Gold", "tiers");
  backfill.cause = RecordCause::backfill;
  records.push_back(backfill);
  ChangeRecord with_id = record(103, "p-4", "Gold", "tiers");
  with_id.event_id = "e-9";
  with_id.has_event_id = true;
  records.push_back(with_id);
  std::string text = through_sink(records);
  CHECK(text == plain_json(records));
  CHECK(text.find(R"("action":"emit","name":"welcome-mail","rule":"greet","cause":"event"})") != std::string::npos);
  CHECK(text.find(R"("action":"remove","tag":"Trial","rule":"expire","cause":"timer"})") != std::string::npos);
  CHECK(text.find(R"("partner":"p-3","action":"add","tag":"Gold","rule":"tiers","cause":"backfill"})") !=
        std::string::npos);
  CHECK(text.find(R"("cause":"event","event":"e-9"})") != std::string::npos);
}

TEST_CASE("JsonlSink never reuses a quoted name for other text at the same address") {
  Captured c;
  std::string name = "Silver";  // one buffer, rewritten in place: same address and size
  std::vector<ChangeRecord> records;
  std::string expected;
  for (const char* text : {"Silver", "Golden", "Silver", "Bronze"}) {
    name.assign(text);
    ChangeRecord r = record(5, "p-1", name, name);
    c.sink().record(r);
    append_record_json(expected, r);
  }
  ChangeRecord empty = record(6, "p-1", std::string_view(), std::string_view());  // null data
  c.sink().record(empty);
  append_record_json(expected, empty);
  std::string text = c.text();
  CHECK(text == expected);
  CHECK(text.find(R"("tag":"Bronze","rule":"Bronze")") != std::string::npos);
  CHECK(text.find(R"("tag":"","rule":"")") != std::string::npos);
}

TEST_CASE("JsonlSink: after flush() everything is in the FILE, also a record larger than its buffer") {
  Captured c;
  std::string huge(600 * 1024, 'x');
  huge[1000] = '"';
  std::vector<ChangeRecord> records = {record(1, "p-1", "Tag", "Rule"), record(2, huge, "Tag", huge),
                                       record(3, "p-2", "Tag", "Rule")};
  for (const ChangeRecord& r : records) c.sink().record(r);
  c.sink().flush();
  std::string expected = plain_json(records);
  CHECK(c.position() == static_cast<long>(expected.size()));
  CHECK(c.text() == expected);
}

TEST_CASE("JsonlSink equals append_record_json on random records") {
  std::mt19937_64 random(20261202);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  const std::vector<std::string> names = {"New Partner", "Gold", "a\"b", "back\\slash", "tab\there",
                                          "\xC3\xA9t\xC3\xA9", "ctl\x02", "", "x", "Silver tier"};
  std::vector<std::string> program(names.begin(), names.end());  // stable, like the program's strings
  std::vector<std::unique_ptr<std::string>> kept;  // every record's texts, alive until the comparison
  std::vector<ChangeRecord> records;
  Seconds t = 1772360100;
  for (int i = 0; i < 5000; ++i) {
    switch (pick(10)) {
      case 0: t -= static_cast<Seconds>(pick(200000)); break;   // back
      case 1: t += static_cast<Seconds>(pick(400000000)); break;  // far ahead
      case 2: case 3: case 4: break;                             // equal
      default: t += static_cast<Seconds>(pick(90)); break;
    }
    if (pick(500) == 0) t = -static_cast<Seconds>(pick(100000000));  // before 1970
    auto text = [&](std::string s) {
      kept.push_back(std::make_unique<std::string>(std::move(s)));
      return std::string_view(*kept.back());
    };
    ChangeRecord r;
    r.time = t;
    r.partner = text(pick(20) == 0 ? names[pick(names.size())] : "p-" + std::to_string(pick(1000)));
    r.action = static_cast<RecordAction>(pick(3));
    // Mostly the program's own strings; now and then a copy elsewhere (as a stored record's).
    r.tag = pick(4) ? std::string_view(program[pick(program.size())]) : text(names[pick(names.size())]);
    r.rule = pick(4) ? std::string_view(program[pick(program.size())]) : text(names[pick(names.size())]);
    r.cause = static_cast<RecordCause>(pick(3));
    r.timer = r.cause == RecordCause::timer;
    r.has_event_id = pick(2) == 0;
    if (r.has_event_id) r.event_id = text(pick(30) == 0 ? "e\"" + std::to_string(i) : "e-" + std::to_string(i));
    records.push_back(r);
  }
  std::string expected = plain_json(records);
  REQUIRE(expected.size() > (std::size_t{1} << 19));  // several of the sink's buffers
  CHECK(first_difference(through_sink(records), expected) == "");
}
