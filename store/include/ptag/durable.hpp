// An engine whose state lives in a store (docs/embedding.md, "Durable
// engines"): every commit writes the records since the last one, the partners
// and tags that changed, and what changed of the engine's state, in one
// SQLite transaction.
//
//   auto durable = ptag::DurableEngine::open("tags.db");
//   ptag::Engine& engine = durable->start(program, {.sink = &my_sink});
//   engine.push(events);          // as any engine
//   durable->commit();            // queued; the engine goes on
//   durable->flush();             // durable now
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ptag/engine.hpp"
#include "ptag/program.hpp"
#include "ptag/sink.hpp"
#include "ptag/source.hpp"
#include "ptag/store.hpp"

namespace ptag {

// What a store keeps of the program: the rule files by name and text
// (imports resolve again from there when the text is compiled again).
std::string encode_program(std::span<const SourceFile> files);
// The files of `sources` with these names (the rule files given on a command line).
std::string encode_program(const std::vector<std::string>& names, const SourceSet& sources);
// The files back; empty when the text is not in that form.
std::vector<SourceFile> decode_program(std::string_view text);

// An engine in the state of a store's last commit (`contents` read from the
// same reader), for reading it (`ptag query`): rows or a version 4 blob; a
// new engine when nothing was committed. std::invalid_argument as
// Engine::restore().
Engine restore_stored(const StoreReader& reader, const StoreContents& contents, const Program& program);

struct DurableStart {
  Sink* sink = nullptr;  // where records go too, after the store's batch has them
  // Rules new to the program act now for the partners they would have fired
  // for ("cause":"backfill"; docs/store.md, "Rule changes on live state").
  bool backfill = false;
  std::optional<Seconds> dedup_window = std::nullopt;
  // The program's files (encode_program), stored with the next commit.
  std::string program_text = {};  // `= {}`: `{.sink = &s}` then leaves -Wextra silent
};

// Where a durable engine's extra time goes (the caller's thread).
struct DurableTimes {
  std::uint64_t commits = 0, partner_rows = 0, tags = 0;  // tags: in the partner rows written
  std::uint64_t state_rows = 0;   // partners' state rows written
  std::uint64_t state_bytes = 0;  // bytes of state (head, rows, new ids and customers) written
  double changes = 0;     // finding the changed partners, with their tags
  double state = 0;       // making the state rows
  double wait = 0;        // waiting for room in the writer's queue
  double flush_wait = 0;  // waiting in flush() for commits to be durable
};

class DurableEngine {
 public:
  // Opens (or creates) the store; the engine comes with start(). Throws
  // StoreError (see Store::open).
  static std::unique_ptr<DurableEngine> open(const std::string& path,
                                             const StoreOptions& options = {});
  ~DurableEngine();
  DurableEngine(const DurableEngine&) = delete;
  DurableEngine& operator=(const DurableEngine&) = delete;

  // What the store held when opened.
  const StoreContents& loaded() const;
  const std::string& path() const;

  // The engine, restored from the stored state with `program` (rules matched
  // as docs/store.md says) or new for a new store. Once only. Throws
  // std::invalid_argument for a stored state it cannot read.
  Engine& start(const Program& program, const DurableStart& options = {});
  Engine& engine();
  // What restoring (or the last reload) changed: rules kept, added, removed.
  const RuleChanges& rule_changes() const;

  // A partner's current tags with since when, by which rule and until when,
  // in the order they were added (as `partner_tags` will have them).
  std::vector<StoredTag> partner_tags(std::size_t index) const;

  // Queues a commit of everything since the last one, with the input
  // position `at` (for resuming a file; empty for none) and new outbox
  // deliveries (for records of this commit) and the server's rows, and
  // returns; the store's writer thread makes it durable. Throws StoreError
  // once a commit has failed.
  std::uint64_t commit(const InputPosition& at = {}, std::vector<Delivery> deliveries = {}, ServerRows server = {});
  // Waits until that commit is durable (any thread; the engine may go on).
  void wait(std::uint64_t commit);
  // Waits until every commit queued is durable; throws the first error.
  void flush();
  // The store, for what the engine does not hold (the outbox).
  Store& store();
  // Records durable so far, across every run on the store.
  std::int64_t durable_records() const;
  // Records made so far, durable or not, across every run on the store: the
  // seq of the last (ChangeRecord::seq).
  std::int64_t records() const;

  // Another program for the same state, as a restart with it would do (the
  // state carried over, rules matched, `backfill` as in start()). The old
  // program may be destroyed afterwards; `program` must outlive the engine.
  const RuleChanges& reload(const Program& program, bool backfill, std::string program_text);

  const DurableTimes& times() const;

  struct Impl;

 private:
  explicit DurableEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ptag
