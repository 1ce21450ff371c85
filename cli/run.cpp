// ptag run RULES.ptag... --events FILE|- [--until TIME] [--out FILE] [--tags-out FILE] [--strict]
#include <fmt/format.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>

#include "commands.hpp"
#include "ptag/compiler.hpp"
#include "ptag/engine.hpp"
#include "ptag/event_batch.hpp"
#include "ptag/event_source.hpp"
#include "ptag/program.hpp"
#include "ptag/text.hpp"

namespace ptag::cli {
namespace {

struct Options {
  std::vector<std::string> rules;
  std::string events;
  std::string until;
  std::string out;
  std::string tags_out;
  bool strict = false;
  bool stats = false;
};

using Clock = std::chrono::steady_clock;

// Times the records' formatting and writing, for --stats.
class TimedSink : public Sink {
 public:
  explicit TimedSink(Sink& inner) : inner_(inner) {}
  double seconds = 0;
  void record(const ChangeRecord& r) override {
    auto start = Clock::now();
    inner_.record(r);
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
  }
  void flush() override {
    auto start = Clock::now();
    inner_.flush();
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
  }

 private:
  Sink& inner_;
};

// Closes what it opened, never stdin or stdout.
struct File {
  std::FILE* handle = nullptr;
  bool owned = false;
  File(std::FILE* h, bool own) : handle(h), owned(own) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (owned && handle) std::fclose(handle);
  }
};

bool write_tags(const Engine& engine, const std::string& path) {
  File out{std::fopen(path.c_str(), "wb"), true};
  if (!out.handle) return false;
  std::string text;
  for (std::size_t i = 0; i < engine.partner_count(); ++i) {
    text += "{\"partner\":" + json_quote(engine.partner_id(i)) + ",\"tags\":[";
    auto tags = engine.partner_tags(i);
    for (std::size_t t = 0; t < tags.size(); ++t) text += (t ? "," : "") + json_quote(tags[t]);
    text += "]}\n";
  }
  return std::fwrite(text.data(), 1, text.size(), out.handle) == text.size();
}

int run(const Options& o) {
  auto started = std::chrono::steady_clock::now();
  std::optional<Seconds> until;
  if (!o.until.empty()) {
    until = parse_time(o.until, true);
    if (!until) {
      std::fprintf(stderr, "ptag run: --until '%s' is not an RFC 3339 time\n", o.until.c_str());
      return kUsage;
    }
  }
  Unit unit = compile_files(o.rules);
  print_diagnostics(unit.diagnostics, unit.sources);
  if (unit.diagnostics.has_errors()) {
    std::fprintf(stderr, "%s: nothing ran\n", summary_line(unit.diagnostics).c_str());
    return kFailed;
  }
  Program program = lower(unit);

  bool from_stdin = o.events == "-";
  File in{from_stdin ? stdin : std::fopen(o.events.c_str(), "rb"), !from_stdin};
  if (!in.handle) {
    std::fprintf(stderr, "ptag run: cannot read events from '%s'\n", o.events.c_str());
    return kUsage;
  }
  File out{o.out.empty() ? stdout : std::fopen(o.out.c_str(), "wb"), !o.out.empty()};
  if (!out.handle) {
    std::fprintf(stderr, "ptag run: cannot write '%s'\n", o.out.c_str());
    return kUsage;
  }
  std::string events_name = o.events == "-" ? "stdin" : o.events;

  JsonlSink jsonl(out.handle);
  TimedSink timed(jsonl);
  Sink& sink = o.stats ? static_cast<Sink&>(timed) : jsonl;
  Engine engine(program, sink);
  double parse_seconds = 0, push_seconds = 0;
  JsonlSource source(in.handle);
  Event event;
  std::string error;
  std::uint64_t read = 0, bad = 0;
  bool progress = isatty(STDERR_FILENO);
  int status = kOk;
  // Events go to the engine in batches (faster on large state); a bad line
  // first pushes the events before it, so output keeps the input's order.
  constexpr std::size_t kBatch = 256;
  EventBatch batch;
  std::vector<Rejection> rejected;
  auto report = [&](std::size_t line, const std::string& why) {
    ++bad;
    std::fprintf(stderr, "%s:%zu: %s\n", events_name.c_str(), line, why.c_str());
    if (o.strict) status = kFailed;
  };
  auto push_batch = [&] {
    Clock::time_point t0 = o.stats ? Clock::now() : Clock::time_point{};
    rejected.clear();
    engine.push(batch.events(), &rejected, o.strict);
    if (o.stats) push_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    for (const Rejection& r : rejected) report(batch.line(r.index), r.why);
    batch.clear();
  };
  for (;;) {
    Clock::time_point t0 = o.stats ? Clock::now() : Clock::time_point{};
    EventSource::Status got = source.next(event, error);
    if (got == EventSource::Status::event) batch.add(event, source.line());
    if (o.stats) parse_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    if (got == EventSource::Status::end) break;
    ++read;
    if (progress && read % 1'000'000 == 0)
      std::fprintf(stderr, "\r%llu events...", static_cast<unsigned long long>(read));
    if (got == EventSource::Status::bad_line || batch.size() == kBatch) push_batch();
    if (got == EventSource::Status::bad_line && status == kOk) report(source.line(), error);
    if (status != kOk) break;
  }
  if (status == kOk) push_batch();
  if (progress && read >= 1'000'000) std::fputc('\n', stderr);
  if (until && status == kOk) {
    Clock::time_point t0 = Clock::now();
    engine.advance_to(*until);
    push_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  sink.flush();
  if (!o.tags_out.empty() && !write_tags(engine, o.tags_out)) {
    std::fprintf(stderr, "ptag run: cannot write '%s'\n", o.tags_out.c_str());
    status = kFailed;
  }

  const EngineStats& stats = engine.stats();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(
      stderr,
      "ptag run: %llu events read, %llu applied, %llu duplicates, %llu bad lines, %llu records, "
      "%zu partners, %.3f s, %.0f events/s\n",
      static_cast<unsigned long long>(read), static_cast<unsigned long long>(stats.applied),
      static_cast<unsigned long long>(stats.duplicates), static_cast<unsigned long long>(bad),
      static_cast<unsigned long long>(stats.records), engine.partner_count(), seconds,
      seconds > 0 ? static_cast<double>(read) / seconds : 0.0);
  for (std::size_t r = 0; r < program.rules.size(); ++r) {
    if (stats.guard_errors[r] == 0) continue;
    std::fprintf(stderr, "ptag run: rule %s: %llu guard errors (missing field or kind mismatch)\n",
                 json_quote(program.rules[r].name).c_str(),
                 static_cast<unsigned long long>(stats.guard_errors[r]));
  }
  if (o.stats) {
    double output = timed.seconds;
    std::fprintf(stderr, "ptag run: time: parse %.3f s, evaluate %.3f s, output %.3f s\n", parse_seconds,
                 push_seconds - output > 0 ? push_seconds - output : 0.0, output);
    std::fprintf(stderr, "ptag run: rule fires (guard passed, actions ran):\n");
    for (std::size_t r = 0; r < program.rules.size(); ++r) {
      std::fprintf(stderr, "  %10llu  %s\n", static_cast<unsigned long long>(stats.rule_fires[r]),
                   json_quote(program.rules[r].name).c_str());
    }
  }
  if (status != kOk && o.strict)
    std::fprintf(stderr, "ptag run: stopped at the first bad line (--strict)\n");
  return status;
}

}  // namespace

Run add_run(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("rules", o->rules, "Rule files; together they form one program")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--events", o->events, "JSONL events, one object per line; - for stdin")
      ->required();
  app.add_option("--until", o->until,
                 "After the input, fire the timers due up to this time (RFC 3339)");
  app.add_option("--out", o->out, "Write change records here instead of stdout");
  app.add_option("--tags-out", o->tags_out, "Write every partner's final tags here (JSONL)");
  app.add_flag("--strict", o->strict, "Stop with exit 1 at the first bad event line");
  app.add_flag("--stats", o->stats, "Print per-rule fire counts and time per phase (parse, evaluate, output)");
  app.footer(
      "Records (stdout or --out): "
      "{\"time\",\"partner\",\"action\",\"tag\"|\"name\",\"rule\",\"cause\",\"event\"}.\n"
      "Bad event lines are reported as FILE:LINE: reason and skipped (or stop the run with "
      "--strict).\n"
      "Exit status: 0 success, 1 rule errors or a --strict stop, 2 usage errors.\n"
      "Examples:\n"
      "  ptag run examples/onboarding.ptag --events examples/events.jsonl\n"
      "  cat events.jsonl | ptag run rules.ptag --events - --until 2027-01-01T00:00:00Z --tags-out "
      "tags.jsonl");
  return [o] { return run(*o); };
}

Run add_disasm(CLI::App& app) {
  auto files = std::make_shared<std::vector<std::string>>();
  app.add_option("files", *files, "Rule files; together they form one program")
      ->required()
      ->check(CLI::ExistingFile);
  app.footer(
      "Prints the compiled program: tags, exclusive groups, and each rule's guard and actions as "
      "bytecode.\n"
      "Example:\n  ptag disasm examples/tiers.ptag");
  return [files] {
    Unit unit = compile_files(*files);
    print_diagnostics(unit.diagnostics, unit.sources);
    if (unit.diagnostics.has_errors()) return kFailed;
    std::fputs(disassemble(lower(unit)).c_str(), stdout);
    return kOk;
  };
}

}  // namespace ptag::cli
