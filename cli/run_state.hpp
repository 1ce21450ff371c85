// `ptag run --state DB`: the run's state, records and input position kept in
// the SQLite store (docs/store.md), committed in batches by the store's
// writer thread, so that a later run continues, and a killed one resumes.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "ptag/engine.hpp"
#include "ptag/event_source.hpp"
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

// Copies every record for the store while passing it on to the records
// output, and keeps since when and by which rule each partner has each tag
// (the records say; the engine does not keep it).
class DurableSink : public Sink {
 public:
  void record(const ChangeRecord& r) override;
  void flush() override { inner_->flush(); }

 private:
  friend class DurableRun;
  struct HeldTag {
    std::string_view tag;  // the program's, or held in `names_`
    Seconds added_at = 0;
    std::string_view rule;
    std::optional<Seconds> expires_at;
    std::int64_t order = 0;  // the seq of the record that added it
  };
  using Tags = std::vector<HeldTag>;
  void mark(std::uint32_t partner);

  Sink* inner_ = nullptr;
  Store* store_ = nullptr;
  RecordBatch records_;             // since the last commit (or the last append)
  std::int64_t next_seq_ = 1;       // of the next record
  std::vector<Tags> tags_;          // by partner position: as they are now
  std::vector<Tags> committed_;     // as the last commit left them
  std::vector<std::uint32_t> marked_list_;  // partners whose tags changed since the last commit
  std::vector<bool> marked_;                // in marked_list_
  std::unordered_set<std::string> names_;   // tag and rule names read from the store
};

class DurableRun {
 public:
  // Opens (or creates) the store; throws StoreError.
  DurableRun(const std::string& path, StoreSync sync, CommitEvery every);

  const StoreContents& loaded() const { return store_->loaded(); }
  // The sink the engine writes to: the store's, passing records on to `records_out`.
  Sink& sink(Sink& records_out);
  // The engine to run: restored from the stored snapshot (carrying the state
  // over to changed rules, and with `backfill` letting new rules act once),
  // or new. Throws std::invalid_argument for a snapshot it cannot read.
  Engine make_engine(const Program& program, bool backfill,
                     std::optional<Seconds> dedup_window = std::nullopt);
  // What restoring changed: rules kept, added, removed (empty for a new store).
  const RuleChanges& rule_changes() const { return changes_; }
  // Where to continue in `events` (a regular file with its fingerprint), or
  // nothing to read it from its start.
  std::optional<InputPosition> resume_point(const std::string& events, const std::string& fingerprint) const;

  // Whether enough events (lines read) or time have passed for a commit.
  bool due(std::uint64_t lines_so_far);
  // Queues a commit of the records, changed partners, engine state and input
  // position `at` (the records output flushed up to at.out_length).
  void commit(const InputPosition& at);
  // Commits what is left and waits until it is durable.
  void finish(const InputPosition& at);

  void attach(Engine& engine, std::string program_text);

  // Where a durable run's extra time goes, for --stats (engine thread).
  struct Times {
    std::uint64_t commits = 0, partner_rows = 0, tag_changes = 0;
    double changes = 0;     // finding the changed partners and tags
    double snapshot = 0;    // making the engine's snapshot
    double wait = 0;        // waiting for room in the writer's queue
    double final_wait = 0;  // waiting for the last commit to be durable
  };
  const Times& times() const { return times_; }

 private:
  PartnerRow row(std::uint32_t index);
  // The tag changes of one partner since the last commit.
  void tag_changes(std::uint32_t index, bool marked, std::vector<TagChange>& out);

  std::unique_ptr<Store> store_;
  DurableSink sink_;
  RuleChanges changes_;
  CommitEvery every_;
  Engine* engine_ = nullptr;
  std::optional<std::string> program_text_;  // stored with the first commit
  Times times_;
  std::uint64_t events_at_commit_ = 0;
  std::chrono::steady_clock::time_point commit_time_ = std::chrono::steady_clock::now();
};

}  // namespace ptag::cli
