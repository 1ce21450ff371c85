// Runs rules over JSONL events through the real source, engine and sink.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ptag/compiler.hpp"
#include "ptag/engine.hpp"
#include "ptag/event_source.hpp"
#include "ptag/program.hpp"

namespace ptag::testing {

// Keeps records in a short form: "TIME PARTNER ACTION TAG RULE CAUSE [EVENT]",
// with the time as written by the JSONL sink.
class ShortSink : public Sink {
 public:
  std::vector<std::string> records;
  std::string json;
  void record(const ChangeRecord& r) override {
    static const char* kActions[] = {"add", "remove", "emit"};
    std::string line = format_time(r.time) + " " + std::string(r.partner) + " " +
                       kActions[static_cast<int>(r.action)] + " " + std::string(r.tag) + " | " +
                       std::string(r.rule) + " " + (r.timer ? "timer" : "event");
    if (r.has_event_id) line += " " + std::string(r.event_id);
    records.push_back(line);
    append_record_json(json, r);
  }
};

struct Outcome {
  std::vector<std::string> records;
  std::string json;
  std::vector<std::string> bad;   // "LINE: reason"
  std::vector<std::string> tags;  // "partner: A, B"
  EngineStats stats;
  std::vector<std::string> diagnostics;
};

// `prepare`, when given, sees the program before the engine does (the JIT
// attaches its native code there).
inline Outcome run(const std::string& rules, const std::string& events,
                   std::optional<std::string> until = std::nullopt,
                   const std::function<void(Program&)>& prepare = {}) {
  Outcome out;
  Unit unit = load_text("t.ptag", rules);
  check(unit);
  for (const Diagnostic& d : unit.diagnostics.all()) {
    if (d.severity == Severity::error) out.diagnostics.push_back(render_text(d, unit.sources));
  }
  if (unit.diagnostics.has_errors()) return out;
  Program program = lower(unit);
  if (prepare) prepare(program);
  ShortSink sink;
  Engine engine(program, sink);
  std::string text = events;
  std::FILE* in = fmemopen(text.data(), text.size(), "r");
  JsonlSource source(in);
  Event event;
  std::string error;
  for (;;) {
    auto status = source.next(event, error);
    if (status == EventSource::Status::end) break;
    if (status == EventSource::Status::event && engine.push(event, &error) != PushResult::invalid)
      continue;
    out.bad.push_back(std::to_string(source.line()) + ": " + error);
  }
  std::fclose(in);
  if (until) engine.advance_to(*parse_time(*until, true));
  out.records = sink.records;
  out.json = sink.json;
  out.stats = engine.stats();
  for (std::size_t i = 0; i < engine.partner_count(); ++i) {
    std::string line = std::string(engine.partner_id(i)) + ":";
    for (auto t : engine.partner_tags(i)) line += " " + std::string(t) + ",";
    if (line.back() == ',') line.pop_back();
    out.tags.push_back(line);
  }
  return out;
}

// One JSONL event line. `data` is the JSON text of the data object, or "".
inline std::string ev(const std::string& id, const std::string& type, const std::string& partner,
                      const std::string& time, const std::string& data = "") {
  std::string line = "{";
  if (!id.empty()) line += "\"id\":\"" + id + "\",";
  line += "\"type\":\"" + type + "\",\"partner\":\"" + partner + "\",\"time\":\"" + time + "\"";
  if (!data.empty()) line += ",\"data\":" + data;
  return line + "}\n";
}

}  // namespace ptag::testing
