// One way from events to records (docs/embedding.md, "Pipelines"): events go
// into an engine, in memory or on a store; what became of each comes back as
// a typed outcome; a commit policy says when the store commits. `ptag run`,
// `ptag serve` and host programs drive the same object, so that a batch, a
// rejection and a commit mean the same everywhere.
//
//   auto store = ptag::DurableEngine::open("tags.db");
//   store->start(program, {.sink = &my_sink});
//   ptag::Pipeline pipeline(*store);
//   ptag::PushOutcome got = pipeline.push(events);
//   if (pipeline.commit_due(got.pushed)) pipeline.commit();
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ptag/durable.hpp"
#include "ptag/engine.hpp"
#include "ptag/store.hpp"

namespace ptag {

// What became of one event.
enum class EventStatus : std::uint8_t { applied, duplicate, rejected };

struct EventOutcome {
  std::size_t index = 0;  // in the pushed events
  EventStatus status = EventStatus::applied;
  std::string reason;  // why a duplicate or a rejection
};

struct PushOptions {
  // End the push at the first rejected event (`--strict`, `--max-bad N`):
  // nothing after it is applied. PushOutcome::pushed says where it ended.
  bool stop_at_rejection = false;
  // List duplicates among the outcomes too (an HTTP answer names them); a
  // batch then goes to the engine one event at a time.
  bool list_duplicates = false;
};

struct PushOutcome {
  std::size_t applied = 0, duplicates = 0, rejected = 0;
  // The events not applied, in order: rejections, and duplicates when asked.
  std::vector<EventOutcome> not_applied;
  std::size_t pushed = 0;  // events the engine was given: all, unless it stopped at a rejection
};

// When a store commits: every `events` events (counted by the caller, as
// lines read), or every `seconds`. By time, the interval stretches to
// kWriteShare times the writer's last commit, and no commit is made while
// the writer still has one waiting: a commit rewrites every partner changed
// since the last, so commits queued behind a busy writer would only add work.
struct CommitPolicy {
  std::uint64_t events = UINT64_MAX;
  double seconds = 5.0;
  static constexpr double kWriteShare = 4;
  bool by_time() const { return events == UINT64_MAX; }
};

class Pipeline {
 public:
  // In memory: the pipeline owns its engine (the program must outlive it).
  Pipeline(const Program& program, const EngineOptions& options);
  // On a store whose engine was started (DurableEngine::start).
  explicit Pipeline(DurableEngine& durable, CommitPolicy policy = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  Engine& engine();
  const Engine& engine() const;
  // The store, or null in memory.
  DurableEngine* durable() { return durable_; }

  // Events in, in order; what became of each.
  PushOutcome push(std::span<const Event> events, const PushOptions& options = {});
  EventOutcome push(const Event& event);

  // Whether the policy asks for a commit now, `done` units (lines) into the
  // input; never in memory. Call at a point the input can resume from.
  bool commit_due(std::uint64_t done);
  // Queues a commit of everything since the last one (see
  // DurableEngine::commit); 0 in memory. Throws StoreError once the store
  // has failed.
  std::uint64_t commit(const InputPosition& at = {}, std::vector<Delivery> deliveries = {},
                       ServerRows server = {});
  // Waits until every commit is durable; throws the first error.
  void flush();

  // Records made so far: in memory, by this engine; on a store, every record
  // the store holds and will hold (`records.seq` of the last one: records are
  // numbered once, as they are made, see ChangeRecord::seq).
  std::int64_t records() const;

 private:
  std::optional<Engine> own_;
  DurableEngine* durable_ = nullptr;
  Engine* engine_ = nullptr;
  CommitPolicy policy_;
  std::uint64_t done_at_commit_ = 0;
  std::chrono::steady_clock::time_point last_commit_ = std::chrono::steady_clock::now();
  std::vector<Rejection> rejections_;
};

}  // namespace ptag
