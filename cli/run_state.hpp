// `ptag run --state DB`: the run's state, records and input position kept in
// the SQLite store (docs/store.md), committed in batches by the store's
// writer thread, so that a later run continues, and a killed one resumes.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ptag/durable.hpp"
#include "ptag/engine.hpp"
#include "ptag/event_source.hpp"
#include "ptag/pipeline.hpp"
#include "ptag/program.hpp"
#include "ptag/sink.hpp"
#include "ptag/source.hpp"
#include "ptag/store.hpp"

namespace ptag::cli {

// A whole count ("10"), or a number with a suffix ("1.5%", "2s").
struct CountOr {
  bool suffixed = false;
  std::uint64_t count = 0;
  double amount = 0;
};
std::optional<CountOr> parse_count_or(const std::string& text, char suffix);

// --commit-every: a count of lines, or seconds ("2s"). The default, every
// 5 seconds, keeps the store within a few percent of its best speed on large
// runs (docs/performance.md) and a crash costs at most 5 s of work again.
std::optional<CommitPolicy> parse_commit_every(const std::string& text);
// --dedup-window: a whole number and a unit as rule durations write them
// (s, m, h, d, w: "30d"), positive and at most 1000 weeks; empty when not.
std::optional<Seconds> parse_dedup_window(const std::string& text);

// The head of a file, hashed: the store resumes only the input it read.
std::string input_fingerprint(std::FILE* file);

// Where to continue in `events` (a regular file with its fingerprint), or
// nothing to read it from its start.
std::optional<InputPosition> resume_point(const StoreContents& loaded, const std::string& events,
                                          const std::string& fingerprint);

}  // namespace ptag::cli
