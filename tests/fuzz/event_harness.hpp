// Shared by the event fuzzers: runs JSONL bytes through the real JsonlSource
// and two Engines with the fixed program of events.ptag and JsonlSinks (event
// by event, and in batches as `ptag run` does), and aborts on any broken
// invariant, so that libFuzzer reports it as a finding.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ptag/compiler.hpp"
#include "ptag/engine.hpp"
#include "ptag/event_batch.hpp"
#include "ptag/event_source.hpp"
#include "ptag/sink.hpp"

namespace ptag::fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant broken: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

inline const Program& program() {
  static const Program p = [] {
    Unit unit = compile_files({PTAG_FUZZ_RULES});
    if (unit.diagnostics.has_errors()) fail("events.ptag does not compile");
    return lower(unit);
  }();
  return p;
}

// Records (the JsonlSink's bytes), final tags and counters of one run.
struct Outcome {
  std::string records;
  std::string tags;
  EngineStats stats;
};

inline bool same(const EngineStats& a, const EngineStats& b) {
  return a.applied == b.applied && a.duplicates == b.duplicates && a.invalid == b.invalid &&
         a.records == b.records && a.timers_fired == b.timers_fired &&
         a.guard_errors == b.guard_errors && a.rule_fires == b.rule_fires;
}

// A memory stream for the sink: its bytes are valid after close().
class MemoryOut {
 public:
  MemoryOut() : file_(open_memstream(&data_, &size_)) {
    if (!file_) fail("open_memstream");
  }
  ~MemoryOut() {
    close();
    std::free(data_);
  }
  std::FILE* file() { return file_; }
  std::string close() {
    if (file_) std::fclose(file_);
    file_ = nullptr;
    return {data_, size_};
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

// Every record is one JSON object of §5 about a partner the engine knows.
inline void check_records(const std::string& records,
                          const std::unordered_set<std::string>& partners) {
  simdjson::dom::parser parser;
  std::size_t start = 0;
  while (start < records.size()) {
    std::size_t end = records.find('\n', start);
    if (end == std::string::npos) fail("a record without its newline", records);
    std::string_view line(records.data() + start, end - start);
    simdjson::dom::object o;
    std::string_view time, partner, action;
    if (parser.parse(line).get(o) || o["time"].get(time) || o["partner"].get(partner) ||
        o["action"].get(action) || o["rule"].error() || o["cause"].error())
      fail("a record is not the JSON object of §5", line);
    if (!parse_time(time)) fail("a record's time does not read back", line);
    if (!partners.count(std::string(partner)))
      fail("a record names an unknown partner", line);
    if (action != "add" && action != "remove" && action != "emit") fail("unknown action", line);
    start = end + 1;
  }
}

inline std::string tags_of(const Engine& engine) {
  std::string out;
  for (std::size_t i = 0; i < engine.partner_count(); ++i) {
    out += engine.partner_id(i);
    int tiers = 0;
    for (std::string_view t : engine.partner_tags(i)) {
      out += '|';
      out += t;
      tiers += t == "Bronze" || t == "Silver" || t == "Gold";
    }
    if (tiers > 1) fail("two tags of an exclusive group", out);
    out += '\n';
  }
  return out;
}

// A later time to move the clock to, as `--until` could: at most 9999-12-31T23:59:59Z.
inline Seconds later(Seconds clock) {
  constexpr Seconds kLast = 253402300799, kDays = 400 * 86400;
  return clock < kLast - kDays ? clock + kDays : kLast;
}

// What the source made of one line, for a target's own checks.
using LineHook = void (*)(std::size_t line, EventSource::Status got, const Event& event,
                          const std::string& error);

// One pass over the input feeds two engines: one event by event, checking
// what each push may change, and one in batches as `ptag run` does (cut
// short by a bad line). Both must agree on every record, tag and counter;
// the partners must be exactly those of the applied events, in order of
// first appearance. (One source only: each allocates a 1 MB buffer, which
// would otherwise cost most of the time under ASan.)
inline void run_both(std::string input, LineHook hook = nullptr) {
  if (input.empty()) return;  // fmemopen refuses an empty buffer
  constexpr std::size_t kBatch = 20;  // more than the engine's 16 events of look-ahead
  std::FILE* in = fmemopen(input.data(), input.size(), "r");
  if (!in) fail("fmemopen");
  MemoryOut out1, out2;
  Outcome single, batched;
  std::unordered_set<std::string> known;
  std::vector<std::size_t> rejected_lines, batch_rejected_lines;
  {  // the sinks flush into `out1`, `out2` until they are destroyed
    JsonlSink sink1(out1.file()), sink2(out2.file());
    Engine engine(program(), sink1), engine2(program(), sink2);
    JsonlSource source(in);
    Event event;
    std::string error, why;
    std::vector<std::string> partners;
    EventBatch batch;
    std::vector<Rejection> rejected;
    auto push_batch = [&] {
      rejected.clear();
      PushCounts c = engine2.push(batch.events(), &rejected);
      if (c.applied + c.duplicates + c.invalid != batch.size() || rejected.size() != c.invalid)
        fail("batch counts");
      for (const Rejection& r : rejected) batch_rejected_lines.push_back(batch.line(r.index));
      batch.clear();
    };
    for (;;) {
      EventSource::Status got = source.next(event, error);
      if (got == EventSource::Status::end) break;
      if (hook) hook(source.line(), got, event, error);
      if (got == EventSource::Status::bad_line) {
        if (error.empty()) fail("a bad line without a reason");
        push_batch();
        continue;
      }
      batch.add(event, source.line());
      std::uint64_t records = engine.stats().records;
      bool had_clock = engine.has_clock();
      Seconds clock = had_clock ? engine.clock() : 0;
      PushResult r = engine.push(event, &why);
      if (r != PushResult::applied) {
        if (engine.stats().records != records) fail("a rejected event wrote records");
        if (engine.has_clock() != had_clock || (had_clock && engine.clock() != clock))
          fail("a rejected event moved the clock");
        if (r == PushResult::invalid) {
          if (why.empty()) fail("an invalid event without a reason");
          rejected_lines.push_back(source.line());
        }
      } else {
        if (engine.clock() < event.time) fail("the clock is behind an applied event");
        if (known.insert(std::string(event.partner)).second) partners.emplace_back(event.partner);
      }
      if (batch.size() == kBatch) push_batch();
    }
    push_batch();
    std::fclose(in);
    if (engine.partner_count() != partners.size()) fail("partner count");
    for (std::size_t i = 0; i < partners.size(); ++i) {
      if (engine.partner_id(i) != partners[i]) fail("partner order", partners[i]);
    }
    if (engine.has_clock()) {
      Seconds clock_before = engine.clock();
      Seconds until = later(clock_before);
      engine.advance_to(until);
      if (engine.clock() != std::max(until, clock_before)) fail("advance_to: wrong clock");
      engine2.advance_to(until);
    }
    single = {{}, tags_of(engine), engine.stats()};
    batched = {{}, tags_of(engine2), engine2.stats()};
  }
  single.records = out1.close();
  batched.records = out2.close();
  check_records(single.records, known);
  if (single.records != batched.records) fail("batched records differ", batched.records);
  if (single.tags != batched.tags) fail("batched tags differ", batched.tags);
  if (!same(single.stats, batched.stats)) fail("batched counters differ");
  if (rejected_lines != batch_rejected_lines) fail("batched rejections differ");
}

}  // namespace ptag::fuzz
