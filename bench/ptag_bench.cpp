// ptag-bench [--small] [--dir DIR] [--only NAME] [--jit-opt 0|1|2]
//
// Runs the named workloads of docs/performance.md, each in its own process
// (so peak RSS is its own), and prints one table. --small is the CI smoke
// run: the same workloads, a hundredth of the size.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <ptag/ptag.hpp>

#include "workload.hpp"

namespace fs = std::filesystem;

namespace {

int jit_opt = 2;  // the JIT rows' --jit-opt

struct Row {
  double events = 0;
  double seconds = 0;
  double bytes_per_partner = 0;  // 0: not measured
  char note[160] = "";
};

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

long current_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

ptag::Program example_rules() {
  std::vector<ptag::RuleSource> sources;
  for (const char* name : {"onboarding", "tiers", "reengagement"}) {
    fs::path p = fs::path(PTAG_SOURCE_DIR) / "examples" / (std::string(name) + ".ptag");
    sources.push_back({p.string(), read_text(p)});
  }
  auto rules = ptag::compile(sources);
  if (!rules) {
    std::fputs(rules.render().c_str(), stderr);
    std::exit(1);
  }
  return std::move(rules.value());
}

enum class Shape { realistic, sparse, guarded };

ptag::Program generated_rules(std::uint64_t count, Shape shape = Shape::realistic) {
  std::string text = shape == Shape::sparse    ? ptag::bench::make_sparse_rules(count)
                     : shape == Shape::guarded ? ptag::bench::make_guarded_rules(count)
                                               : ptag::bench::make_rules(count);
  auto rules = ptag::compile({{"generated.ptag", text}});
  if (!rules) {
    std::fputs(rules.render().c_str(), stderr);
    std::exit(1);
  }
  return std::move(rules.value());
}

// Events parsed once into memory, owning their strings: the host-API input.
struct ParsedEvents {
  std::deque<std::string> strings;
  std::vector<ptag::Event> events;

  explicit ParsedEvents(const fs::path& file) {
    std::FILE* in = std::fopen(file.c_str(), "rb");
    ptag::JsonlSource source(in);
    ptag::Event e;
    std::string error;
    auto keep = [this](std::string_view s) { return std::string_view(strings.emplace_back(s)); };
    while (source.next(e, error) == ptag::EventSource::Status::event) {
      ptag::Event owned = e;
      owned.id = keep(e.id);
      owned.type = keep(e.type);
      owned.partner = keep(e.partner);
      for (ptag::Field& f : owned.data) {
        f.name = keep(f.name);
        if (f.value.kind == ptag::Value::Kind::text) f.value.text = keep(f.value.text);
      }
      events.push_back(std::move(owned));
    }
    std::fclose(in);
  }
};

class CountingSink : public ptag::Sink {
 public:
  std::uint64_t records = 0;
  void record(const ptag::ChangeRecord&) override { ++records; }
};

Row w1(const fs::path& events, const fs::path& out_file) {
  ptag::Program program = example_rules();
  auto start = std::chrono::steady_clock::now();
  std::FILE* in = std::fopen(events.c_str(), "rb");
  std::FILE* out = std::fopen(out_file.c_str(), "wb");
  Row row;
  {
    ptag::JsonlSink sink(out);
    ptag::Engine engine(program, sink);
    ptag::JsonlSource source(in);
    ptag::Event e;
    std::string error;
    ptag::EventBatch batch;  // as `ptag run` reads
    for (;;) {
      auto got = source.next(e, error);
      if (got == ptag::EventSource::Status::event) batch.add(e, source.line());
      if (got == ptag::EventSource::Status::end || batch.size() == 256) {
        engine.push(batch.events());
        batch.clear();
      }
      if (got == ptag::EventSource::Status::end) break;
      ++row.events;
    }
    std::snprintf(row.note, sizeof row.note, "%llu records", static_cast<unsigned long long>(engine.stats().records));
  }
  std::fclose(out);
  std::fclose(in);
  row.seconds = since(start);
  return row;
}

Row w1_parse(const fs::path& events) {
  auto start = std::chrono::steady_clock::now();
  std::FILE* in = std::fopen(events.c_str(), "rb");
  ptag::JsonlSource source(in);
  ptag::Event e;
  std::string error;
  Row row;
  std::uint64_t fields = 0;
  while (source.next(e, error) != ptag::EventSource::Status::end) {
    ++row.events;
    fields += e.data.size();
  }
  std::fclose(in);
  row.seconds = since(start);
  std::snprintf(row.note, sizeof row.note, "%llu data fields", static_cast<unsigned long long>(fields));
  return row;
}

// The host API over events parsed beforehand (the first `limit`, 0 for all);
// with `jit`, the program's guards and rules as native code first (the
// compile time is not in the row's seconds but in its note).
Row api(const fs::path& events, ptag::Program program, const char* label, bool jit = false, std::size_t limit = 0) {
  ParsedEvents parsed(events);
  if (limit && parsed.events.size() > limit) parsed.events.resize(limit);
  double compile_seconds = 0;
  if (jit)
    compile_seconds = ptag::prepare_engine(program, {.kind = ptag::EngineKind::jit, .jit_opt = jit_opt}).compile_seconds;
  CountingSink sink;
  ptag::Engine engine(program, {.sink = &sink});
  auto start = std::chrono::steady_clock::now();
  engine.push(parsed.events);
  Row row;
  row.seconds = since(start);
  row.events = static_cast<double>(parsed.events.size());
  std::snprintf(row.note, sizeof row.note, "%s: %llu records, %.0f ns/event%s", label,
                static_cast<unsigned long long>(sink.records), row.seconds * 1e9 / row.events,
                jit ? (", JIT -O" + std::to_string(jit_opt) + " compile " +
                       std::to_string(static_cast<int>(compile_seconds * 1000)) + " ms")
                          .c_str()
                    : "");
  return row;
}

std::size_t timer_rules(const ptag::Program& program) {
  std::size_t n = 0;
  for (const auto& kind : program.index.timers) n += kind.size();
  return n;
}

Row partners(std::uint64_t count) {
  ptag::Program program = example_rules();
  CountingSink sink;
  ptag::Engine engine(program, {.sink = &sink});
  long before = current_rss_bytes();
  auto start = std::chrono::steady_clock::now();
  std::string id;
  ptag::Event e;
  e.type = "join";
  ptag::Seconds t0 = *ptag::parse_time("2026-01-01T00:00:00Z");
  for (std::uint64_t p = 0; p < count; ++p) {
    id = "p" + std::to_string(p);
    e.partner = id;
    e.time = t0 + static_cast<ptag::Seconds>(p / 100);
    engine.push(e);
  }
  Row row;
  row.seconds = since(start);
  row.events = static_cast<double>(count);
  row.bytes_per_partner = static_cast<double>(current_rss_bytes() - before) / static_cast<double>(count);
  std::snprintf(row.note, sizeof row.note, "1 tag each (\"New Partner\"), %zu timers each",
                timer_rules(program));
  return row;
}

// The JIT's compile time for the program of compile_time(rules).
Row jit_compile_time(std::uint64_t rules) {
  ptag::Program program = generated_rules(rules);
  auto start = std::chrono::steady_clock::now();
  ptag::prepare_engine(program, {.kind = ptag::EngineKind::jit, .jit_opt = jit_opt});
  Row row;
  row.seconds = since(start);
  std::snprintf(row.note, sizeof row.note, "JIT -O%d of %llu generated rules (%zu guarded)", jit_opt,
                static_cast<unsigned long long>(rules), ptag::guarded_rules(program));
  return row;
}

Row compile_time(std::uint64_t rules) {
  std::string text = ptag::bench::make_rules(rules);
  auto start = std::chrono::steady_clock::now();
  auto result = ptag::compile({{"generated.ptag", text}});
  Row row;
  row.seconds = since(start);
  row.events = 0;
  std::snprintf(row.note, sizeof row.note, "%llu rules, %zu bytes of source, %s", static_cast<unsigned long long>(rules),
                text.size(), result ? "ok" : "errors");
  return row;
}

// `ptag run` itself on the W1 file, records to a file; with `durable`, with
// --state on the local disk and the default commit settings; `threads` 0 for
// the default.
Row cli_run(const fs::path& events, std::uint64_t count, const fs::path& dir, bool durable, int threads = 0,
            const char* db_name = "w1.db") {
  fs::path db = dir / db_name;
  for (const char* suffix : {"", "-wal", "-shm", "-lock"}) fs::remove(db.string() + suffix);
  std::string command = std::string(PTAG_CLI) + " run";
  for (const char* name : {"onboarding", "tiers", "reengagement"})
    command += " " + (fs::path(PTAG_SOURCE_DIR) / "examples" / (std::string(name) + ".ptag")).string();
  command += " --events " + events.string() + " --out " + (dir / "cli-records.jsonl").string();
  if (durable) command += " --state " + db.string();
  if (threads) command += " --threads " + std::to_string(threads);
  command += " 2>/dev/null";
  auto start = std::chrono::steady_clock::now();
  int status = std::system(command.c_str());
  Row row;
  row.seconds = since(start);
  row.events = status == 0 ? static_cast<double>(count) : 0;
  rusage children{};
  getrusage(RUSAGE_CHILDREN, &children);
  double store_mb = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto size = fs::file_size(db.string() + suffix, ec);
    if (!ec) store_mb += static_cast<double>(size) / 1e6;
  }
  if (durable) {
    std::snprintf(row.note, sizeof row.note, "ptag run --state: store %.1f MB, ptag's peak %.0f MiB%s", store_mb,
                  static_cast<double>(children.ru_maxrss) / 1024.0, status == 0 ? "" : ", FAILED");
  } else {
    std::snprintf(row.note, sizeof row.note, "ptag run%s, no store: ptag's peak %.0f MiB%s",
                  threads == 1 ? " --threads 1" : "", static_cast<double>(children.ru_maxrss) / 1024.0,
                  status == 0 ? "" : ", FAILED");
  }
  return row;
}

// M1M: `ptag run` over 1M partners' 2M events in memory, then into a new
// store; the ratio of the two in the note (the store's target: >= 0.5x).
Row m1m_pair(const fs::path& events, std::uint64_t count, const fs::path& dir, const char* db_name = "m1m.db") {
  Row memory = cli_run(events, count, dir, false);
  Row durable = cli_run(events, count, dir, true, 0, db_name);
  std::string note = durable.note;
  std::snprintf(durable.note, sizeof durable.note, "%s; in memory %.2f s: %.2fx", note.c_str(), memory.seconds,
                memory.seconds / durable.seconds);
  return durable;
}

// M10M's workload (10M partners, one join each) as a file, for `ptag run`.
fs::path m10m_file(const fs::path& dir, std::uint64_t count) {
  fs::path path = dir / ("m10m-" + std::to_string(count) + ".jsonl");
  if (fs::exists(path)) return path;
  std::FILE* out = std::fopen(path.c_str(), "wb");
  ptag::Seconds t0 = *ptag::parse_time("2026-01-01T00:00:00Z");
  for (std::uint64_t p = 0; p < count; ++p)
    std::fprintf(out, "{\"type\":\"join\",\"partner\":\"p%llu\",\"time\":\"%s\"}\n",
                 static_cast<unsigned long long>(p), ptag::format_time(t0 + static_cast<ptag::Seconds>(p / 100)).c_str());
  std::fclose(out);
  return path;
}

// Opening and restoring the store M1M-durable left (no events): the start
// of a continuing run or a server on a store of 1M partners.
Row store_start(const fs::path& dir) {
  fs::path empty = dir / "empty.jsonl";
  std::FILE* f = std::fopen(empty.c_str(), "wb");
  if (f) std::fclose(f);
  std::string command = std::string(PTAG_CLI) + " run";
  for (const char* name : {"onboarding", "tiers", "reengagement"})
    command += " " + (fs::path(PTAG_SOURCE_DIR) / "examples" / (std::string(name) + ".ptag")).string();
  command += " --events " + empty.string() + " --out /dev/null --state " + (dir / "m1m.db").string() + " 2>/dev/null";
  auto start = std::chrono::steady_clock::now();
  int status = std::system(command.c_str());
  Row row;
  row.seconds = since(start);
  rusage children{};
  getrusage(RUSAGE_CHILDREN, &children);
  std::snprintf(row.note, sizeof row.note, "open and restore m1m.db (run M1M-durable first); ptag's peak %.0f MiB%s",
                static_cast<double>(children.ru_maxrss) / 1024.0, status == 0 ? "" : ", FAILED");
  return row;
}

// Runs `work` in a child process and prints its row.
void measure(const char* name, const std::function<Row()>& work) {
  int pipe_fd[2];
  if (pipe(pipe_fd) != 0) return;
  pid_t child = fork();
  if (child == 0) {
    close(pipe_fd[0]);
    Row row = work();
    long rss = peak_rss_kib();
    ssize_t ignored = write(pipe_fd[1], &row, sizeof row);
    ignored = write(pipe_fd[1], &rss, sizeof rss);
    (void)ignored;
    _exit(0);
  }
  close(pipe_fd[1]);
  Row row;
  long rss = 0;
  bool ok = read(pipe_fd[0], &row, sizeof row) == sizeof row && read(pipe_fd[0], &rss, sizeof rss) == sizeof rss;
  close(pipe_fd[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!ok || status != 0) {
    std::printf("| %-16s | failed |\n", name);
    return;
  }
  std::printf("| %-16s | %10.0f | %8.3f | %12.0f | %8.1f | %10s | %s |\n", name, row.events, row.seconds,
              row.events > 0 ? row.events / row.seconds : 0.0, static_cast<double>(rss) / 1024.0,
              row.bytes_per_partner > 0 ? std::to_string(static_cast<long>(row.bytes_per_partner)).c_str() : "",
              row.note);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool small = false;
  std::string only;
  fs::path dir = fs::temp_directory_path() / "ptag-bench";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--small")) small = true;
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--jit-opt") && i + 1 < argc) jit_opt = std::atoi(argv[++i]);
  }
  fs::create_directories(dir);
  std::uint64_t scale = small ? 100 : 1;
  ptag::bench::EventMix mix{100'000 / scale, 2'000'000 / scale, 1};
  fs::path events = dir / (small ? "w1-small.jsonl" : "w1.jsonl");
  if (!fs::exists(events)) {
    std::FILE* out = std::fopen(events.c_str(), "wb");
    ptag::bench::write_events(out, mix);
    std::fclose(out);
  }
  std::printf("W1 input: %s, %llu partners, %llu events, %.1f MB\n\n", events.c_str(),
              static_cast<unsigned long long>(mix.partners), static_cast<unsigned long long>(mix.events),
              static_cast<double>(fs::file_size(events)) / 1e6);
  std::printf("| workload         |     events |  seconds |     events/s | peak MiB | B/partner  | notes |\n");
  std::printf("|------------------|------------|----------|--------------|----------|------------|-------|\n");
  auto want = [&](const char* name) { return only.empty() || only == name; };
  if (want("W1")) measure("W1", [&] { return w1(events, dir / "w1-records.jsonl"); });
  if (want("W1-cli")) measure("W1-cli", [&] { return cli_run(events, mix.events, dir, false); });
  if (want("W1-1T")) measure("W1-1T", [&] { return cli_run(events, mix.events, dir, false, 1); });
  if (want("W1-durable")) measure("W1-durable", [&] { return cli_run(events, mix.events, dir, true); });
  if (want("W1-parse")) measure("W1-parse", [&] { return w1_parse(events); });
  if (want("W1-api")) measure("W1-api", [&] { return api(events, example_rules(), "example rules"); });
  if (want("R10")) measure("R10", [&] { return api(events, generated_rules(10), "10 generated rules"); });
  if (want("R1000")) measure("R1000", [&] { return api(events, generated_rules(1000), "1000 generated rules"); });
  if (want("R10-sparse"))
    measure("R10-sparse", [&] { return api(events, generated_rules(10, Shape::sparse), "10 rules that fire rarely"); });
  if (want("R100-sparse"))
    measure("R100-sparse", [&] { return api(events, generated_rules(100, Shape::sparse), "100 rules that fire rarely"); });
  if (want("R1000-sparse"))
    measure("R1000-sparse", [&] { return api(events, generated_rules(1000, Shape::sparse), "1000 rules that fire rarely"); });
  // A quarter of W1's events: each click runs 500 guards.
  std::size_t guarded_events = mix.events / 4;
  if (want("R1000-guards"))
    measure("R1000-guards", [&] {
      return api(events, generated_rules(1000, Shape::guarded), "1000 guarded rules", false, guarded_events);
    });
  if (ptag::jit_available()) {
    if (want("W1-jit")) measure("W1-jit", [&] { return api(events, example_rules(), "example rules", true); });
    if (want("R100-sparse-jit"))
      measure("R100-sparse-jit",
              [&] { return api(events, generated_rules(100, Shape::sparse), "100 rules that fire rarely", true); });
    if (want("R1000-sparse-jit"))
      measure("R1000-sparse-jit",
              [&] { return api(events, generated_rules(1000, Shape::sparse), "1000 rules that fire rarely", true); });
    if (want("R1000-guards-jit"))
      measure("R1000-guards-jit", [&] {
        return api(events, generated_rules(1000, Shape::guarded), "1000 guarded rules", true, guarded_events);
      });
  }
  if (want("M10M")) measure("M10M", [&] { return partners(10'000'000 / scale); });
  if (only == "M1M-durable" || only == "M1M-start" || (only.empty() && !small)) {
    // Not in --small (CI): the input alone is 190 MB; ask for it by name.
    ptag::bench::EventMix m1m{1'000'000 / scale, 2'000'000 / scale, 1};
    fs::path m1m_events = dir / (small ? "m1m-small.jsonl" : "m1m.jsonl");
    if (!fs::exists(m1m_events)) {
      std::FILE* out = std::fopen(m1m_events.c_str(), "wb");
      ptag::bench::write_events(out, m1m);
      std::fclose(out);
    }
    if (want("M1M-durable")) measure("M1M-durable", [&] { return m1m_pair(m1m_events, m1m.events, dir); });
    if (want("M1M-start")) measure("M1M-start", [&] { return store_start(dir); });
  }
  if (only == "M10M-durable") {
    // By name only: about 8 GB of input and store; the pair's ratio as M1M-durable's.
    std::uint64_t count = 10'000'000 / scale;
    fs::path joins = m10m_file(dir, count);
    measure("M10M-durable", [&] { return m1m_pair(joins, count, dir, "m10m.db"); });
  }
  if (want("C10k")) measure("C10k", [&] { return compile_time(10'000 / (small ? 10 : 1)); });
  if (ptag::jit_available() && want("C10k-jit"))
    measure("C10k-jit", [&] { return jit_compile_time(10'000 / (small ? 10 : 1)); });
  return 0;
}
