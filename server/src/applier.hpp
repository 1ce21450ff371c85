// The engine thread of `ptag serve`: it alone touches the engine. Requests
// queue their events; the thread applies every waiting request, commits them
// together (group commit), and answers each only once the commit is durable.
// Reads, reloads and clock moves run on it too, between groups.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "ingest.hpp"
#include "ptag/durable.hpp"
#include "ptag/pipeline.hpp"
#include "ptag/program.hpp"

namespace prometheus {
class Registry;
}

namespace ptag::serve {

struct Metrics;

enum class ClockMode : std::uint8_t { wall, event };

// What the engine thread answers: an HTTP status and a JSON body.
struct Answer {
  int status = 200;
  std::string body;
};

// What became of a request's events. The engine thread says what happened;
// the HTTP layer makes the answer (http_common.hpp, ingest_answer).
struct IngestOutcome {
  enum class Refused : std::uint8_t {
    none,
    strict,        // ?strict=true and an event was bad: nothing applied (422)
    too_big,       // more events than max_queued_events (413)
    too_many,      // the queue is full (429)
    stopping,      // the server is stopping (503)
    store_failed,  // the store failed; `error` says how (503)
  };
  Refused refused = Refused::none;
  std::string error;
  std::size_t applied = 0, duplicates = 0, rejected = 0;
  std::vector<ItemResult> results;  // the items not applied, by index
  std::size_t late = 0;  // applied though older than the clock by more than late_event_warning
};

// What a reload did: the rule changes, or why the state cannot take the rules.
struct ReloadOutcome {
  bool reloaded = false;
  bool unavailable = false;  // not tried: stopping, or the store failed (503; else 422)
  RuleChanges changes;
  std::string error;
};

// The program and the files it came from (reloads replace both).
struct LoadedRules {
  std::unique_ptr<Program> program;
  std::string text;    // encode_program() of the files
  std::string engine = "vm";  // what runs it, for the log
};

// After the store's batch (records arrive numbered, ChangeRecord::seq):
// counts records and makes an outbox delivery of each record for each
// webhook whose filter it passes.
class RecordTap : public Sink {
 public:
  RecordTap(const ServeConfig& config, Metrics& metrics, std::int64_t last_delivery);
  void record(const ChangeRecord& r) override;
  // The deliveries made since the last call, in id order.
  std::vector<Delivery> take();
  std::uint64_t records_since_take() const { return since_take_; }

 private:
  const ServeConfig& config_;
  Metrics& metrics_;
  std::int64_t last_delivery_;  // the last delivery id
  std::uint64_t since_take_ = 0;
  std::vector<Delivery> made_;
};

class Applier {
 public:
  using Now = std::function<Seconds()>;
  // `delivered`: the deliveries of a commit, once it is durable (to send them).
  using Durable = std::function<void(std::vector<Delivery>)>;
  Applier(const ServeConfig& config, ClockMode clock, DurableEngine& durable, LoadedRules rules,
          RecordTap& tap, Durable durable_deliveries, Metrics& metrics, Now now);
  ~Applier();  // stop()

  void start();
  // Returns once durable (or at once when refused: a strict batch with a
  // bad event, over the queue bound, stopping).
  // With `dead`: a source's payload, kept in the store's dead letters (in the
  // same commit) unless its event is applied; see keep_dead_letter().
  IngestOutcome ingest(ParsedBody body, bool strict, std::optional<DeadLetter> dead = std::nullopt);
  // Runs `work` on the engine thread and returns its answer; with
  // `commits`, after committing what it changed (POST /v1/advance).
  using Work = std::function<Answer(DurableEngine&, const Program&)>;
  Answer call(Work work, bool commits = false);
  // Replaces the program (already compiled) as a restart with it would.
  ReloadOutcome reload(LoadedRules rules, bool backfill);
  // Stops taking requests, applies and commits what waits, and joins.
  void stop();
  bool stopping() const { return stopping_; }
  // The store failed: nothing more can be committed.
  bool failed() const { return failed_; }
  std::size_t queued_events() const { return queued_events_; }

 private:
  struct Job;
  void loop();
  void apply(Job& job);
  void run_reload(Job& job);
  void keep_dead_letter(Job& job);
  struct RefundTotal {
    std::string sale;        // partner '\0' sale id; empty: not a refund given as a total
    std::int64_t total = 0;  // millionths
    Event event;             // with the amount to take back now
    std::string taken_back;  // why nothing is left to take back
  };
  bool refund_as_total(const Event& e, RefundTotal& out, std::string& why) const;
  void commit_and_answer(std::vector<std::unique_ptr<Job>>& done);
  void answer_loop();
  template <typename Result>
  Result submit(std::unique_ptr<Job> job, std::future<Result> result, Result stopping);
  void tick();
  void count_currencies();

  const ServeConfig& config_;
  ClockMode clock_;
  DurableEngine& durable_;
  Pipeline pipeline_;  // events in, commits out
  LoadedRules rules_;
  RecordTap& tap_;
  Durable durable_deliveries_;
  Metrics& metrics_;
  Now now_;
  // The engine thread's: the rows of the next commit, and every refunded
  // sale's total taken back so far.
  ServerRows server_rows_;
  std::unordered_map<std::string, std::int64_t> refunded_;
  // Money events per currency counted into the metrics so far (the engine's
  // stats since it started or was reloaded), and whether a mix was logged.
  std::vector<std::uint64_t> currency_counted_;
  bool mixed_logged_ = false;

  std::mutex m_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Job>> queue_;
  std::atomic<std::size_t> queued_events_{0};
  std::atomic<bool> stopping_{false}, failed_{false};
  bool stop_ = false;
  std::thread thread_;

  // Commits queued to the store, answered by answerer_ once each is durable,
  // while the engine thread goes on with the next requests.
  struct Waiting;
  std::mutex answers_m_;
  std::condition_variable answers_cv_;
  std::deque<std::unique_ptr<Waiting>> answers_;
  bool answers_stop_ = false;
  std::thread answerer_;


};

}  // namespace ptag::serve
