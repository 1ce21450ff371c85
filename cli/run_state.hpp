// `ptag run --state DB`: the run's state, records and input position kept in
// the SQLite store (docs/store.md), committed in batches by the store's
// writer thread, so that a later run continues, and a killed one resumes.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ptag/engine.hpp"
#include "ptag/event_source.hpp"
#include "ptag/program.hpp"
#include "ptag/sink.hpp"
#include "ptag/source.hpp"
#include "ptag/store.hpp"
#include "ptag/string_map.hpp"

namespace ptag::cli {

// A whole count ("10"), or a number with a suffix ("1.5%", "2s").
struct CountOr {
  bool suffixed = false;
  std::uint64_t count = 0;
  double amount = 0;
};
std::optional<CountOr> parse_count_or(const std::string& text, char suffix);

// --commit-every: a count of events, or seconds ("2s"); whichever comes first.
struct CommitEvery {
  std::uint64_t events = 100'000;
  double seconds = 1.0;
};
std::optional<CommitEvery> parse_commit_every(const std::string& text);
// --dedup-window: a whole number and a unit as rule durations write them
// (s, m, h, d, w: "30d"), positive and at most 1000 weeks; empty when not.
std::optional<Seconds> parse_dedup_window(const std::string& text);

// What the store keeps of the program: the rule files given on the command
// line, by name and text (imports resolve again from there), length-prefixed.
std::string program_text(const std::vector<std::string>& files, const SourceSet& sources);
// The files back; empty when the text is not in that form.
std::vector<SourceFile> program_files(std::string_view text);

// The head of a file, hashed: the store resumes only the input it read.
std::string input_fingerprint(std::FILE* file);

// Copies every record for the store (and marks its partner changed) while
// passing it on to the records output.
class DurableSink : public Sink {
 public:
  explicit DurableSink(Sink& inner) : inner_(inner) {}
  void record(const ChangeRecord& r) override;
  void flush() override { inner_.flush(); }

  std::vector<StoredRecord> records;  // since the last commit
  StringSet changed;                  // partners changed since the last commit

 private:
  Sink& inner_;
};

class DurableRun {
 public:
  // Opens (or creates) the store; throws StoreError.
  DurableRun(const std::string& path, StoreSync sync, CommitEvery every);

  const StoreContents& loaded() const { return store_->loaded(); }
  // The engine to run: restored from the stored snapshot (carrying the state
  // over to changed rules, and with `backfill` letting new rules act once),
  // or new. Throws std::invalid_argument for a snapshot it cannot read.
  Engine make_engine(const Program& program, Sink& sink, bool backfill,
                     std::optional<Seconds> dedup_window = std::nullopt);
  // What restoring changed: rules kept, added, removed (empty for a new store).
  const RuleChanges& rule_changes() const { return changes_; }
  // Where to continue in `events` (a regular file with its fingerprint), or
  // nothing to read it from its start.
  std::optional<InputPosition> resume_point(const std::string& events, const std::string& fingerprint) const;

  // Marks partners changed by a batch of applied events.
  void touched(std::string_view partner) { sink_->changed.emplace(partner); }
  // Whether enough events (lines read) or time have passed for a commit.
  bool due(std::uint64_t lines_so_far);
  // Queues a commit of the records, changed partners, engine state and input
  // position `at` (the records output flushed up to at.out_length).
  void commit(const InputPosition& at);
  // Commits what is left and waits until it is durable.
  void finish(const InputPosition& at);

  void attach(Engine& engine, DurableSink& sink, std::string program_text);

 private:
  PartnerRow row(std::size_t index, const std::string& id);

  std::unique_ptr<Store> store_;
  RuleChanges changes_;
  CommitEvery every_;
  Engine* engine_ = nullptr;
  DurableSink* sink_ = nullptr;
  std::optional<std::string> program_text_;  // stored with the first commit
  StringMap<std::vector<StoredTag>> tags_;   // every partner's tags: since when, by which rule
  std::uint64_t events_at_commit_ = 0;
  std::chrono::steady_clock::time_point commit_time_ = std::chrono::steady_clock::now();
};

}  // namespace ptag::cli
