// Deterministic workloads: partner events and generated rule files.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace ptag::bench {

struct EventMix {
  std::uint64_t partners = 100'000;
  std::uint64_t events = 2'000'000;  // joins included
  std::uint64_t seed = 1;
};

// Writes JSONL: every partner joins during the first year, then a mix of
// clicks (~70 %), signups (~15 %), sales (~10 %, amounts, repeat customers),
// commissions (~4 %) and refunds (~1 %) over the next year. Times mostly
// increase; about one event in 500 arrives up to two days late. Ids are
// unique. Returns the number of lines written.
std::uint64_t write_events(std::FILE* out, const EventMix& mix);

// A rule file of `count` rules of realistic shape: every trigger kind,
// guards, exclusive tiers, expiring tags. It compiles without errors.
std::string make_rules(std::uint64_t count, std::uint64_t seed = 1);
// Rules that fire as rarely as real ones (docs/performance.md, "R1000"):
// almost every rule guarded by a condition few events meet, one timer rule
// in a hundred. For measuring dispatch rather than what rules do.
std::string make_sparse_rules(std::uint64_t count, std::uint64_t seed = 1);
// Every rule guarded and on an every-event trigger, spread over the event
// types like W1's events (four in ten on click), so that an event runs
// hundreds of guards: metrics, partner and event fields, `in` lists, tag
// tests, exact `*` and `/`. For measuring guards (the JIT against the VM).
std::string make_guarded_rules(std::uint64_t count, std::uint64_t seed = 1);

}  // namespace ptag::bench
