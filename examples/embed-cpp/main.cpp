// A host program embedding ptag: it compiles rule files, makes its own
// events (here a deterministic simulation of partners), and prints changes.
//
//   embed-cpp RULES.ptag...                      print every change
//   embed-cpp RULES.ptag... --shards 2 --quiet   shard partners over 2 threads, print throughput
//   embed-cpp RULES.ptag... --state tags.db      a durable engine: the state is kept in the
//                                                store and the next run continues it
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <ptag/decimal.hpp>
#include <ptag/ptag.hpp>

namespace {

// Prints each change; counts them when quiet.
class PrintSink : public ptag::Sink {
 public:
  explicit PrintSink(bool quiet) : quiet_(quiet) {}
  std::size_t records = 0;
  void record(const ptag::ChangeRecord& r) override {
    ++records;
    if (quiet_) return;
    static const char* kActions[] = {"add", "remove", "emit"};
    std::printf("%s %.*s %s %.*s  (rule %.*s, %s)\n", ptag::format_time(r.time).c_str(),
                int(r.partner.size()), r.partner.data(), kActions[int(r.action)], int(r.tag.size()),
                r.tag.data(), int(r.rule.size()), r.rule.data(), r.timer ? "timer" : "event");
  }

 private:
  bool quiet_;
};

// The host's own event source: partners join, click, refer and sell over a
// year. Events are built once; pushing them allocates nothing.
struct Simulation {
  std::vector<std::string> partners;
  std::vector<ptag::Event> events;

  Simulation(std::size_t partner_count, std::size_t event_count) {
    static const char* kCountries[] = {"DE", "FR", "AT", "US"};
    for (std::size_t p = 0; p < partner_count; ++p)
      partners.push_back("partner-" + std::to_string(p));
    std::uint64_t seed = 42;
    auto next = [&seed] {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      return seed >> 33;
    };
    ptag::Seconds start = *ptag::parse_time("2026-01-01T00:00:00Z");
    for (std::size_t p = 0; p < partner_count; ++p) {
      ptag::Event join;
      join.type = "join";
      join.partner = partners[p];
      join.time = start + static_cast<ptag::Seconds>(p % 86400);
      join.data.push_back({"country", {ptag::Value::Kind::text, 0, kCountries[p % 4]}});
      events.push_back(join);
    }
    for (std::size_t i = 0; events.size() < event_count; ++i) {
      ptag::Event e;
      e.partner = partners[next() % partner_count];
      e.time = start + 86400 + static_cast<ptag::Seconds>(i * (365 * 86400 / event_count));
      std::uint64_t kind = next() % 100;
      if (kind < 70) {
        e.type = "click";
      } else if (kind < 85) {
        e.type = "signup";
      } else if (kind < 99) {
        e.type = "sale";
        e.data.push_back({"amount",
                          {ptag::Value::Kind::number,
                           static_cast<std::int64_t>(next() % 300 + 1) * 1'000'000,
                           {}}});
      } else {
        e.type = "refund";
        e.data.push_back({"amount", {ptag::Value::Kind::number, 10'000'000, {}}});
      }
      events.push_back(std::move(e));
    }
  }
};

// Runs `shards` engines on as many threads; each takes the partners whose id
// hashes to it, so every partner's events stay in order on one engine.
double run_sharded(const ptag::Program& program, const Simulation& sim, unsigned shards,
                   std::size_t& records) {
  std::vector<PrintSink> sinks(shards, PrintSink(true));
  auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (unsigned s = 0; s < shards; ++s) {
    threads.emplace_back([&, s] {
      ptag::Engine engine(program, {.sink = &sinks[s]});
      std::hash<std::string_view> hash;
      for (const ptag::Event& e : sim.events) {
        if (hash(e.partner) % shards == s) engine.push(e);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  records = 0;
  for (const PrintSink& sink : sinks) records += sink.records;
  return seconds;
}

// The rule files as text: a store keeps them (so `ptag query --state` works).
std::optional<std::vector<ptag::RuleSource>> read_rules(const std::vector<std::string>& files) {
  std::vector<ptag::RuleSource> sources;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "embed-cpp: cannot read '%s'\n", file.c_str());
      return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    sources.push_back({file, text.str()});
  }
  return sources;
}

std::size_t active_vips(const ptag::Program& program, const ptag::Engine& engine) {
  auto query = ptag::compile_segment_query(program, "tagged \"VIP\" and not tagged \"Inactive\"");
  if (query) return ptag::segment(engine, query.value()).size();
  std::fputs(query.render().c_str(), stderr);  // rules without these tags
  return 0;
}

// The engine's state lives in the store at `path`: a run continues the last
// one's. The simulation is the same every run, so the events at or before
// the stored clock were applied already and are skipped.
int run_durable(const ptag::Program& program, std::span<const ptag::RuleSource> sources,
                const Simulation& sim, const std::string& path, bool quiet) {
  PrintSink sink(quiet);
  try {
    std::unique_ptr<ptag::DurableEngine> durable = ptag::DurableEngine::open(path);
    ptag::Engine& engine =
        durable->start(program, {.sink = &sink, .program_text = ptag::encode_program(sources)});
    std::span<const ptag::Event> events(sim.events);
    std::size_t from = 0, applied = 0;
    while (engine.has_clock() && from < events.size() && events[from].time <= engine.clock()) ++from;
    for (std::size_t at = from; at < events.size(); at += 500) {
      applied += engine.push(events.subspan(at, std::min<std::size_t>(500, events.size() - at))).applied;
      durable->commit();  // queued: the store's writer thread writes it while the engine goes on
    }
    engine.advance_to(*ptag::parse_time("2027-01-01T00:00:00Z"));
    durable->commit();
    durable->flush();  // durable now
    std::printf("%zu events applied, %zu records, %zu active VIPs; the store %s holds %lld records\n",
                applied, sink.records, active_vips(program, engine), path.c_str(),
                static_cast<long long>(durable->durable_records()));
    return 0;
  } catch (const ptag::StoreError& e) {  // names the file
    std::fprintf(stderr, "embed-cpp: %s\n", e.what());
  } catch (const std::invalid_argument& e) {  // a stored state these rules cannot continue
    std::fprintf(stderr, "embed-cpp: the store %s cannot run these rules: %s\n", path.c_str(), e.what());
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  std::string state;
  unsigned shards = 0;
  bool quiet = false;
  std::size_t partner_count = 50, event_count = 2000;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--shards") && i + 1 < argc) {
      shards = static_cast<unsigned>(std::stoul(argv[++i]));
    } else if (!std::strcmp(argv[i], "--partners") && i + 1 < argc) {
      partner_count = std::stoul(argv[++i]);
    } else if (!std::strcmp(argv[i], "--events") && i + 1 < argc) {
      event_count = std::stoul(argv[++i]);
    } else if (!std::strcmp(argv[i], "--state") && i + 1 < argc) {
      state = argv[++i];
    } else if (!std::strcmp(argv[i], "--quiet")) {
      quiet = true;
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.empty()) {
    std::fprintf(
        stderr,
        "usage: embed-cpp RULES.ptag... [--partners N] [--events N] [--shards K | --state DB] [--quiet]\n");
    return 2;
  }
  std::optional<std::vector<ptag::RuleSource>> sources = read_rules(files);
  if (!sources) return 1;
  ptag::Result<ptag::Program> rules = ptag::compile(*sources);
  std::fputs(rules.render().c_str(), stderr);  // warnings, or the errors
  if (!rules) return 1;
  Simulation sim(partner_count, event_count);
  if (!state.empty()) return run_durable(rules.value(), *sources, sim, state, quiet);

  if (shards > 0) {
    std::size_t one_records = 0, many_records = 0;
    double one = run_sharded(rules.value(), sim, 1, one_records);
    double many = run_sharded(rules.value(), sim, shards, many_records);
    std::printf("1 engine: %.3f s, %.0f events/s, %zu records\n", one,
                double(sim.events.size()) / one, one_records);
    std::printf("%u engines: %.3f s, %.0f events/s, %zu records, speedup %.2fx\n", shards, many,
                double(sim.events.size()) / many, many_records, one / many);
    return one_records == many_records ? 0 : 1;
  }

  PrintSink sink(quiet);
  ptag::Engine engine(rules.value(), {.sink = &sink});
  ptag::PushCounts counts = engine.push(sim.events);
  engine.advance_to(*ptag::parse_time("2027-01-01T00:00:00Z"));

  // Read access: one partner's tags and metrics, and a segment query.
  if (std::optional<std::size_t> p = engine.find_partner("partner-7")) {
    std::printf("partner-7 tags:");
    for (std::string_view tag : engine.partner_tags(*p))
      std::printf(" [%.*s]", int(tag.size()), tag.data());
    std::printf("; revenue %s\n",
                ptag::format_decimal(*engine.partner_value(*p, "revenue")).c_str());
  } else {
    std::printf("partner-7 had no events\n");
  }
  std::printf("%zu events applied, %zu records, %zu active VIPs\n", counts.applied, sink.records,
              active_vips(rules.value(), engine));
  return 0;
}
