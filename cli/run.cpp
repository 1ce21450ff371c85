// ptag run RULES.ptag... --events FILE|- [--until TIME] [--out FILE] [--tags-out FILE]
//          [--strict] [--max-bad N|N%] [--sort] [--stats]
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "ptag/compiler.hpp"
#include "ptag/engine.hpp"
#include "ptag/event_batch.hpp"
#include "ptag/event_source.hpp"
#include "ptag/pipeline.hpp"
#include "ptag/program.hpp"
#include "ptag/text.hpp"
#include "async_sink.hpp"
#include "engine_choice.hpp"
#include "read_ahead.hpp"
#include "run_files.hpp"
#include "progress.hpp"
#include "run_state.hpp"
#include "run_summary.hpp"

namespace ptag::cli {
namespace {

struct Options {
  std::vector<std::string> rules;
  std::string events;
  std::string until;
  std::string out;
  std::string tags_out;
  std::string max_bad;
  std::string state;
  std::string sync = "full";
  std::string commit_every;
  std::string dedup_window;
  bool strict = false;
  bool backfill = false;
  bool stats = false;
  bool sort = false;
  bool progress = false, no_progress = false;  // the live line (default: on a terminal)
  unsigned threads = 0;  // 0: as many as help (docs/cli.md)
  EngineChoice engine;
};

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Times the records' formatting and writing, for --stats.
class TimedSink : public Sink {
 public:
  explicit TimedSink(Sink& inner) : inner_(inner) {}
  double seconds = 0;
  void record(const ChangeRecord& r) override {
    auto start = Clock::now();
    inner_.record(r);
    seconds += since(start);
  }
  void flush() override {
    auto start = Clock::now();
    inner_.flush();
    seconds += since(start);
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

bool write_tags(const Engine& engine, std::FILE* out) {
  std::string text;
  for (std::size_t i = 0; i < engine.partner_count(); ++i) {
    text += "{\"partner\":" + json_quote(engine.partner_id(i)) + ",\"tags\":[";
    auto tags = engine.partner_tags(i);
    for (std::size_t t = 0; t < tags.size(); ++t) text += (t ? "," : "") + json_quote(tags[t]);
    text += "]}\n";
  }
  return std::fwrite(text.data(), 1, text.size(), out) == text.size();
}

// --max-bad N (a count) or N% (of the lines read, judged at the end).
struct MaxBad {
  std::optional<std::uint64_t> count;
  std::optional<double> percent;
};

std::optional<MaxBad> parse_max_bad(const std::string& text) {
  MaxBad m;
  if (text.empty()) return m;
  std::optional<CountOr> v = parse_count_or(text, '%');
  if (!v || (v->suffixed && v->amount > 100)) return std::nullopt;
  if (v->suffixed) m.percent = v->amount;
  else m.count = v->count;
  return m;
}

// Reads events, pushes them to the engine in batches and reports bad lines.
class Runner {
 public:
  Runner(const Options& o, const MaxBad& max_bad, Pipeline& pipeline, Sink& sink, std::string name)
      : o_(o), max_bad_(max_bad), pipeline_(pipeline), sink_(sink), name_(std::move(name)) {}

  RunTotals totals;
  double parse_seconds = 0, push_seconds = 0;
  int status = kOk;
  std::string stop_reason;
  // --state: `checkpoint` runs after each batch, at a line boundary of the input.
  std::function<void()> checkpoint = [] {};
  Progress* progress = nullptr;  // the live line, when shown
  bool store_failed = false;
  // Where the input was consumed to: after the last line the engine was
  // given (a reader thread may have read further).
  std::uint64_t consumed_offset = 0;
  std::size_t consumed_line = 0;
  int read_error = 0;

  // Events go to the engine in batches (faster on large state); a bad line
  // first pushes the events before it, so output keeps the input's order.
  // A stream (not a regular file) pushes and flushes whatever has arrived
  // whenever its reader would block.
  static constexpr std::size_t kBatch = 256;

  void run(JsonlSource& source) {
    auto consumed = [&] {
      consumed_offset = source.offset();
      consumed_line = source.line();
      show();
    };
    for (;;) {
      Clock::time_point t0 = now();
      EventSource::Status got = source.next(event_, error_);
      if (got == EventSource::Status::event) batch_.add(event_, source.line());
      if (o_.stats) parse_seconds += since(t0);
      if (got == EventSource::Status::end) break;
      if (got == EventSource::Status::waiting) {
        push(batch_, batch_.events(), 0);
        batch_.clear();
        sink_.flush();
        consumed();
        if (status == kOk) checkpoint();
        if (status != kOk) break;
        continue;
      }
      ++totals.lines;
      if (got == EventSource::Status::bad_line || batch_.size() == kBatch) {
        push(batch_, batch_.events(), 0);
        batch_.clear();
      }
      if (got == EventSource::Status::bad_line && status == kOk) report(source.line(), error_);
      if (status != kOk) break;
      consumed();
      if (batch_.empty()) checkpoint();
      if (status != kOk) break;
    }
    if (status == kOk) push(batch_, batch_.events(), 0);
    consumed();
    read_error = source.read_error();
  }

  // As run(), with the input parsed ahead on another thread: the same
  // batches, bad lines and checkpoints at the same lines.
  void run_ahead(JsonlSource& source) {
    ReadAhead ahead(source, kBatch);
    for (;;) {
      InputChunk& c = ahead.next();
      totals.lines += c.lines;
      consumed_offset = c.offset;
      consumed_line = c.line;
      show();
      read_error = c.read_error;
      if (c.end) {
        if (status == kOk) push(c.batch, c.batch.events(), 0);
        break;
      }
      push(c.batch, c.batch.events(), 0);
      if (c.bad && status == kOk) report(c.bad_line, c.error);
      if (status != kOk) break;
      checkpoint();
      if (status != kOk) break;
    }
    parse_seconds = ahead.parse_seconds();
  }

  // --sort: the whole input first, then in time order. With --strict a bad
  // line anywhere stops the run before anything is applied.
  void run_sorted(JsonlSource& source) {
    Clock::time_point t0 = Clock::now();
    for (EventSource::Status got; (got = source.next(event_, error_)) != EventSource::Status::end;) {
      ++totals.lines;
      if (got == EventSource::Status::event) batch_.add(event_, source.line());
      if (got == EventSource::Status::bad_line) report(source.line(), error_);
      if (status != kOk) return;
    }
    batch_.sort_by_time();
    parse_seconds += since(t0);
    consumed_offset = source.offset();
    consumed_line = source.line();
    read_error = source.read_error();
    std::span<const Event> all = batch_.events();
    for (std::size_t at = 0; at < all.size() && status == kOk; at += kBatch)
      push(batch_, all.subspan(at, std::min<std::size_t>(kBatch, all.size() - at)), at);
  }

 private:
  void show() {
    if (!progress) return;
    progress->read(consumed_offset, totals.lines);
    progress->records(pipeline_.engine().stats().records);
  }

  void report(std::size_t line, const std::string& why) {
    ++totals.bad;
    std::string text = name_ + ":" + std::to_string(line) + ": " + why + "\n";
    if (progress) progress->message(text);
    else std::fputs(text.c_str(), stderr);
    if (o_.strict) {
      status = kFailed;
      stop_reason = "stopped at the first bad line (--strict)";
    } else if (max_bad_.count && totals.bad > *max_bad_.count) {
      status = kFailed;
      stop_reason = "stopped: more than " + count_of(*max_bad_.count, "bad line") + " (--max-bad " +
                    o_.max_bad + ")";
    }
  }

  // `first` is the position of events[0] in `batch`, for line numbers. When a
  // bad line may stop the run, the engine stops at each rejection, so that
  // nothing after the stopping line is applied.
  void push(const EventBatch& batch, std::span<const Event> events, std::size_t first) {
    PushOptions options{.stop_at_rejection = o_.strict || max_bad_.count.has_value()};
    Clock::time_point t0 = now();
    for (std::size_t done = 0; done < events.size() && status == kOk;) {
      PushOutcome got = pipeline_.push(events.subspan(done), options);
      for (const EventOutcome& r : got.not_applied) report(batch.line(first + done + r.index), r.reason);
      done += got.pushed;
    }
    if (o_.stats) push_seconds += since(t0);
  }

  Clock::time_point now() const { return o_.stats ? Clock::now() : Clock::time_point{}; }

  const Options& o_;
  const MaxBad& max_bad_;
  Pipeline& pipeline_;
  Sink& sink_;
  std::string name_;
  EventBatch batch_;
  Event event_;
  std::string error_;
};

// Threads for the run: parsing on its own thread pays off for a file (a
// stream is applied as it arrives, on one thread) when there are two cores.
// More than two do the same as two for now.
unsigned threads_for(const Options& o, bool regular) {
  if (o.sort || !regular) return 1;
  if (o.threads != 0) return o.threads;
  return std::thread::hardware_concurrency() >= 2 ? 2 : 1;
}

// --out. Continuing the same input into the same --out keeps the records the
// store committed and drops any written after them; another --out starts
// empty. An exit status.
int open_records_out(const Options& o, const std::optional<InputPosition>& resume, File& out) {
  if (o.out.empty()) return kOk;
  // A device or a pipe (/dev/null) keeps nothing to continue: it is written as it is.
  struct stat st {};
  bool special = stat(o.out.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  bool continuing = resume && resume->out_path == o.out && !special;
  if (continuing && (stat(o.out.c_str(), &st) != 0 || st.st_size < resume->out_length)) {
    std::fprintf(stderr,
                 "ptag run: cannot continue --out '%s': it is shorter than the %lld bytes the "
                 "store '%s' committed (was it changed?); give another --out for the new records\n",
                 o.out.c_str(), static_cast<long long>(resume->out_length), o.state.c_str());
    return kFailed;
  }
  out.owned = true;
  out.handle = continuing && ::truncate(o.out.c_str(), resume->out_length) != 0
                   ? nullptr
                   : std::fopen(o.out.c_str(), continuing ? "ab" : "wb");
  if (!out.handle) {
    std::fprintf(stderr, "ptag run: cannot write '%s': %s\n", o.out.c_str(), std::strerror(errno));
    return kUsage;
  }
  return kOk;
}

// The run summary's account of a changed program on a store (docs/store.md).
void print_rule_changes(const RuleChanges& c, bool backfill, bool restored) {
  auto names = [](const std::vector<std::string>& list) {
    std::string out;
    for (const std::string& n : list) out += (out.empty() ? "" : ", ") + json_quote(n);
    return out;
  };
  if (c.same_program) {
    if (backfill && restored)
      std::fprintf(stderr, "ptag run: --backfill: the rules are the store's; nothing to backfill\n");
    return;
  }
  std::vector<std::string> changed, moved;
  for (const RuleChanges::Kept& k : c.kept) {
    if (k.changed) changed.push_back(k.name);
    if (k.name != k.old_name) moved.push_back(json_quote(k.old_name) + " -> " + json_quote(k.name));
  }
  std::fprintf(stderr, "ptag run: the rules differ from the store's: %zu kept (%zu changed), %zu added, %zu removed\n",
               c.kept.size(), changed.size(), c.added.size(), c.removed.size());
  if (!c.added.empty()) std::fprintf(stderr, "ptag run: added: %s\n", names(c.added).c_str());
  if (!c.removed.empty()) std::fprintf(stderr, "ptag run: removed: %s\n", names(c.removed).c_str());
  if (!changed.empty()) std::fprintf(stderr, "ptag run: changed: %s\n", names(changed).c_str());
  for (const std::string& m : moved) std::fprintf(stderr, "ptag run: moved: %s\n", m.c_str());
  if (!c.tags_removed.empty()) {
    std::fprintf(stderr, "ptag run: tags no rule names any more (kept on partners): %s\n",
                 names(c.tags_removed).c_str());
  }
  if (backfill) std::fprintf(stderr, "ptag run: backfill: %s\n", count_of(c.backfilled, "rule action").c_str());
}

int run(const Options& o) {
  Clock::time_point started = Clock::now();
  std::optional<Seconds> until;
  if (!o.until.empty()) {
    until = parse_time(o.until, true);
    if (!until) {
      std::string hint = time_hint(o.until);
      std::fprintf(stderr, "ptag run: --until '%s' is not an RFC 3339 time%s%s\n", o.until.c_str(),
                   hint.empty() ? "" : "; ", hint.c_str());
      return kUsage;
    }
  }
  std::optional<MaxBad> max_bad = parse_max_bad(o.max_bad);
  if (!max_bad) {
    std::fprintf(stderr, "ptag run: --max-bad '%s' is not a count (10) or a percentage (1%%)\n",
                 o.max_bad.c_str());
    return kUsage;
  }
  std::optional<CommitPolicy> commit_every = parse_commit_every(o.commit_every);
  if (!commit_every) {
    std::fprintf(stderr, "ptag run: --commit-every '%s' is not a count of events (50000) or seconds (2s)\n",
                 o.commit_every.c_str());
    return kUsage;
  }
  std::optional<Seconds> dedup_window;
  if (!o.dedup_window.empty()) {
    dedup_window = parse_dedup_window(o.dedup_window);
    if (!dedup_window) {
      std::fprintf(stderr,
                   "ptag run: --dedup-window '%s' is not a duration: a whole number and s, m, h, d "
                   "or w, as in 30d (at most 1000w)\n",
                   o.dedup_window.c_str());
      return kUsage;
    }
  }
  if (auto clash = outputs_clash(o.events, o.rules, o.out, o.tags_out)) {
    std::fprintf(stderr, "ptag run: %s; nothing ran\n", clash->c_str());
    return kUsage;
  }
  bool from_stdin = o.events == "-";
  struct stat input {};
  // Before opening: opening a FIFO waits for its writer.
  bool regular = from_stdin ? fstat(STDIN_FILENO, &input) == 0 && S_ISREG(input.st_mode)
                            : stat(o.events.c_str(), &input) != 0 || S_ISREG(input.st_mode);
  if (o.sort && !regular) {
    std::fprintf(stderr,
                 "ptag run: --sort needs a file: it reads the whole input before running, and %s "
                 "is not a regular file\n",
                 from_stdin ? "stdin" : ("'" + o.events + "'").c_str());
    return kUsage;
  }
  File in{from_stdin ? stdin : std::fopen(o.events.c_str(), "rb"), !from_stdin};
  if (!in.handle) {
    std::fprintf(stderr, "ptag run: cannot read events from '%s': %s\n", o.events.c_str(),
                 std::strerror(errno));
    return kUsage;
  }
  regular = fstat(fileno(in.handle), &input) == 0 && S_ISREG(input.st_mode);
  AtomicFile tags_file;
  std::string error;
  if (!o.tags_out.empty() && !tags_file.open(o.tags_out, error)) {
    std::fprintf(stderr, "ptag run: cannot write --tags-out '%s': %s\n", o.tags_out.c_str(),
                 error.c_str());
    return kUsage;
  }

  Unit unit = compile_files(o.rules);
  print_diagnostics(unit.diagnostics, unit.sources);
  if (unit.diagnostics.has_errors()) {
    std::fprintf(stderr, "%s: nothing ran\n", summary_line(unit.diagnostics).c_str());
    return kFailed;
  }
  Program program = lower(unit);
  EngineUsed engine_used;
  try {
    engine_used = prepare_engine(program, o.engine);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ptag run: %s\n", e.what());
    return kUsage;
  }

  // --state: the store, and where its last commit left this input.
  std::unique_ptr<DurableEngine> durable;
  std::optional<InputPosition> resume;
  std::string fingerprint;
  if (!o.state.empty()) {
    try {
      durable = DurableEngine::open(o.state, {.sync = o.sync == "normal" ? StoreSync::normal : StoreSync::full});
    } catch (const StoreError& e) {
      std::fprintf(stderr, "ptag run: %s; nothing ran\n", e.what());
      return kFailed;
    }
    if (regular && !from_stdin) fingerprint = input_fingerprint(in.handle);
    resume = resume_point(durable->loaded(), o.events, fingerprint);
  }
  File out{stdout, false};
  if (int status = open_records_out(o, resume, out); status != kOk) return status;
  JsonlSink jsonl(out.handle);
  TimedSink timed(jsonl);
  Sink& records_out = o.stats ? static_cast<Sink&>(timed) : jsonl;
  std::optional<Pipeline> pipeline;
  // With the input read ahead, the records are written on a thread of their
  // own as well. Declared after the engine: it is flushed and gone first.
  std::optional<AsyncSink> async;
  bool ahead = threads_for(o, regular) >= 2;
  if (ahead) async.emplace(records_out);
  Sink& sink = ahead ? static_cast<Sink&>(*async) : records_out;
  try {
    if (durable) {
      durable->start(program, {.sink = &sink,
                               .backfill = o.backfill,
                               .dedup_window = dedup_window,
                               .program_text = encode_program(o.rules, unit.sources)});
      pipeline.emplace(*durable, *commit_every);
    } else {
      pipeline.emplace(program, EngineOptions{.sink = &sink, .dedup_window = dedup_window});
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "ptag run: the store '%s' cannot run these rules: %s\n", o.state.c_str(), e.what());
    return kFailed;
  }
  Engine& engine = pipeline->engine();
  Runner runner(o, *max_bad, *pipeline, sink, from_stdin ? "stdin" : o.events);
  JsonlSource source(in.handle, /*stream=*/!regular);
  if (resume && !source.start_at(static_cast<std::uint64_t>(resume->offset), static_cast<std::size_t>(resume->line))) {
    std::fprintf(stderr, "ptag run: cannot continue '%s' at byte %lld\n", o.events.c_str(),
                 static_cast<long long>(resume->offset));
    return kFailed;
  }
  auto position = [&] {
    sink.flush();
    return InputPosition{o.events, fingerprint, static_cast<std::int64_t>(runner.consumed_offset),
                         static_cast<std::int64_t>(runner.consumed_line), o.out,
                         o.out.empty() ? 0 : static_cast<std::int64_t>(std::ftell(out.handle))};
  };
  if (durable) {
    runner.checkpoint = [&] {
      if (o.sort || !pipeline->commit_due(runner.totals.lines)) return;
      try {
        pipeline->commit(position());
        if (runner.progress) runner.progress->committed();
      } catch (const StoreError& e) {
        runner.status = kFailed;
        runner.store_failed = true;
        runner.stop_reason = std::string("stopped: ") + e.what() + "; the last commit is kept";
      }
    };
    if (resume) {
      std::fprintf(stderr, "ptag run: continuing '%s' at line %lld from the store '%s'\n",
                   o.events.c_str(), static_cast<long long>(resume->line), o.state.c_str());
    }
    print_rule_changes(durable->rule_changes(), o.backfill, durable->loaded().state_rows || !durable->loaded().snapshot.empty());
  }
  // The live line: on a terminal unless --no-progress, or with --progress.
  std::optional<Progress> progress;
  if (o.progress || (!o.no_progress && isatty(STDERR_FILENO))) {
    progress.emplace(regular ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(input.st_size)) : std::nullopt,
                     resume ? static_cast<std::uint64_t>(resume->offset) : 0);
    runner.progress = &*progress;
  }
  if (o.sort) runner.run_sorted(source);
  else if (ahead) runner.run_ahead(source);
  else runner.run(source);
  int status = runner.status;
  if (int e = runner.read_error) {
    std::fprintf(stderr, "ptag run: reading '%s' failed after line %zu: %s\n",
                 from_stdin ? "stdin" : o.events.c_str(), runner.consumed_line, std::strerror(e));
    status = kFailed;
  }
  if (until && status == kOk) {
    Clock::time_point t0 = Clock::now();
    engine.advance_to(*until);
    runner.push_seconds += since(t0);
  }
  sink.flush();
  // A run stopped early (--strict, --max-bad, a read error) keeps its last
  // periodic commit: the identical command then stops at the same line again.
  if (durable && runner.stop_reason.empty() && !runner.read_error) {
    try {
      pipeline->commit(position());
      pipeline->flush();
    } catch (const StoreError& e) {
      std::fprintf(stderr, "ptag run: %s: the last commit is kept\n", e.what());
      status = kFailed;
    }
  }
  if (!o.tags_out.empty() && (!write_tags(engine, tags_file.handle()) || !tags_file.commit(error))) {
    std::fprintf(stderr, "ptag run: cannot write --tags-out '%s': %s\n", o.tags_out.c_str(),
                 error.empty() ? "write failed" : error.c_str());
    status = kFailed;
  }

  RunTotals& totals = runner.totals;
  totals.seconds = since(started);
  if (progress) progress->finish();  // the summary takes its line
  print_summary(program, engine, totals);
  print_input_warnings(program, engine.stats());
  if (o.stats) {
    double output = timed.seconds;
    // With threads, parsing and output run beside the engine: not inside its push time.
    double evaluate = ahead ? runner.push_seconds : std::max(0.0, runner.push_seconds - output);
    std::fprintf(stderr, "ptag run: time: parse %.3f s, evaluate %.3f s, output %.3f s%s\n", runner.parse_seconds,
                 evaluate, output, ahead ? " (parse and output on threads of their own)" : "");
    if (engine_used.jit)
      std::fprintf(stderr, "ptag run: jit: %zu guarded rules compiled at -O%d in %.3f s\n", guarded_rules(program),
                   o.engine.jit_opt, engine_used.compile_seconds);
    if (durable) {
      const DurableTimes& t = durable->times();
      std::fprintf(stderr,
                   "ptag run: store: %llu commits (%llu partner rows with %llu tags, %llu state rows, "
                   "%.1f MB of state); changes %.3f s, state rows %.3f s, waiting for the writer %.3f s, "
                   "last commit %.3f s\n",
                   static_cast<unsigned long long>(t.commits), static_cast<unsigned long long>(t.partner_rows),
                   static_cast<unsigned long long>(t.tags), static_cast<unsigned long long>(t.state_rows),
                   static_cast<double>(t.state_bytes) / 1e6, t.changes, t.state, t.wait, t.flush_wait);
    }
    std::fprintf(stderr, "ptag run: rule fires (guard passed, actions ran):\n");
    for (std::size_t r = 0; r < program.rules.size(); ++r) {
      std::fprintf(stderr, "  %10llu  %s\n", static_cast<unsigned long long>(engine.stats().rule_fires[r]),
                   json_quote(program.rules[r].name).c_str());
    }
  }
  if (!runner.stop_reason.empty()) {
    std::fprintf(stderr, "ptag run: %s\n", runner.stop_reason.c_str());
  } else if (max_bad->percent && totals.lines &&
             static_cast<double>(totals.bad) * 100 > *max_bad->percent * static_cast<double>(totals.lines)) {
    std::fprintf(stderr, "ptag run: %.1f%% of the lines were bad, more than --max-bad %s\n",
                 100.0 * static_cast<double>(totals.bad) / static_cast<double>(totals.lines),
                 o.max_bad.c_str());
    status = kFailed;
  } else if (engine.stats().applied == 0 && totals.bad > 0) {
    std::fprintf(stderr, "ptag run: no event was applied: %s read, all bad\n",
                 count_of(totals.lines, "line").c_str());
    status = kFailed;
  }
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
  app.add_option("--max-bad", o->max_bad,
                 "Exit 1 when more lines than this are bad: a count (stop there) or N% of the "
                 "lines read (judged at the end)");
  app.add_flag("--sort", o->sort,
               "Read the whole file, stable-sort the events by time, then run (holds the input "
               "in memory; not for stdin)");
  app.add_option("--threads", o->threads,
                 "Threads: 1 runs everything on one; 2 or more parse the input on a thread of its own "
                 "(the output is identical). Default: 2 on two or more cores, for a file")
      ->check(CLI::Range(1u, 256u));
  auto* progress = app.add_flag("--progress", o->progress,
                                "Show a live progress line on stderr (input read, lines/s, records, last commit, "
                                "time left); the default on a terminal");
  app.add_flag("--no-progress", o->no_progress, "No progress line, even on a terminal")->excludes(progress);
  app.add_flag("--stats", o->stats, "Print per-rule fire counts and time per phase (parse, evaluate, output)");
  add_engine_options(app, o->engine);
  app.add_option("--state", o->state,
                 "Keep the state in this SQLite store: a later run continues from it, a killed "
                 "one resumes (docs/store.md)");
  app.add_option("--sync", o->sync,
                 "full: a commit survives a power loss (default); normal: a process crash only")
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_flag("--backfill", o->backfill,
               "With --state and changed rules: new rules act now for the partners they would "
               "have fired for (\"cause\":\"backfill\")");
  app.add_option("--commit-every", o->commit_every,
                 "Commit to the store every N lines or every Ns seconds (default: every 5s, further apart "
                 "while a commit takes the store longer)");
  app.add_option("--dedup-window", o->dedup_window,
                 "Keep event ids only while their event time is within this of the clock (30d); "
                 "an older duplicate is applied again. Default: every id is kept");
  app.footer(
      "Records (stdout or --out): "
      "{\"time\",\"partner\",\"action\",\"tag\"|\"name\",\"rule\",\"cause\",\"event\"}, one "
      "per line (docs/language.md, \"Change records\").\n"
      "Bad event lines are reported as FILE:LINE: reason and skipped (docs/events.md).\n"
      "From a pipe or FIFO, records are written as soon as the events before them arrive.\n"
      "A summary goes to stderr, with warnings for event types no rule uses and events older "
      "than the clock.\n"
      "Exit status:\n"
      "  0  the run completed (bad lines skipped, within --max-bad)\n"
      "  1  rule errors (nothing ran); a --strict stop; more bad lines than --max-bad; no line\n"
      "     applied and at least one bad; --tags-out could not be written\n"
      "  2  usage errors: unknown option, missing file, bad --until, --max-bad or --dedup-window, an output\n"
      "     naming an input, --sort on stdin\n"
      "Examples:\n"
      "  ptag run examples/onboarding.ptag --events examples/events.jsonl\n"
      "  ptag run rules.ptag --events history.jsonl --sort --max-bad 1% --tags-out tags.jsonl\n"
      "  tail -f events.jsonl | ptag run rules.ptag --events -\n"
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
