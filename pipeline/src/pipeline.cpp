#include "ptag/pipeline.hpp"

#include <algorithm>

namespace ptag {

Pipeline::Pipeline(const Program& program, const EngineOptions& options)
    : own_(std::in_place, program, options), engine_(&*own_) {}

Pipeline::Pipeline(DurableEngine& durable, CommitPolicy policy)
    : durable_(&durable), engine_(&durable.engine()), policy_(policy) {}

Pipeline::~Pipeline() = default;

Engine& Pipeline::engine() {
  // A reload replaces the durable engine's engine object in place: the
  // pointer stays good, but ask the store in case it ever does not.
  return durable_ ? durable_->engine() : *engine_;
}

const Engine& Pipeline::engine() const {
  return durable_ ? durable_->engine() : *engine_;
}

PushOutcome Pipeline::push(std::span<const Event> events, const PushOptions& options) {
  PushOutcome out;
  Engine& e = engine();
  if (options.list_duplicates) {
    for (std::size_t i = 0; i < events.size(); ++i) {
      EventOutcome one = push(events[i]);
      one.index = i;
      out.pushed = i + 1;
      switch (one.status) {
        case EventStatus::applied: ++out.applied; continue;
        case EventStatus::duplicate: ++out.duplicates; break;
        case EventStatus::rejected: ++out.rejected; break;
      }
      bool stop = one.status == EventStatus::rejected && options.stop_at_rejection;
      out.not_applied.push_back(std::move(one));
      if (stop) break;
    }
    return out;
  }
  rejections_.clear();
  PushCounts counts = e.push(events, &rejections_, options.stop_at_rejection);
  out.applied = counts.applied;
  out.duplicates = counts.duplicates;
  out.rejected = counts.invalid;
  out.not_applied.reserve(rejections_.size());
  for (Rejection& r : rejections_) out.not_applied.push_back({r.index, EventStatus::rejected, std::move(r.why)});
  out.pushed = options.stop_at_rejection && !rejections_.empty() ? rejections_.back().index + 1 : events.size();
  return out;
}

EventOutcome Pipeline::push(const Event& event) {
  EventOutcome out;
  switch (engine().push(event, &out.reason)) {
    case PushResult::applied: out.status = EventStatus::applied; break;
    case PushResult::duplicate:
      out.status = EventStatus::duplicate;
      out.reason = "an event with this id was applied before";
      break;
    case PushResult::invalid: out.status = EventStatus::rejected; break;
  }
  return out;
}

bool Pipeline::commit_due(std::uint64_t done) {
  if (!durable_) return false;
  Store& store = durable_->store();
  double seconds = std::max(policy_.seconds, CommitPolicy::kWriteShare * store.last_commit_seconds());
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_commit_).count();
  bool due = done - done_at_commit_ >= policy_.events || waited >= seconds;
  if (due && policy_.by_time() && store.commits_waiting() > 0) return false;
  if (due) done_at_commit_ = done;
  return due;
}

std::uint64_t Pipeline::commit(const InputPosition& at, std::vector<Delivery> deliveries, ServerRows server) {
  if (!durable_) return 0;
  std::uint64_t number = durable_->commit(at, std::move(deliveries), std::move(server));
  // From the end of a commit: one that waited for the writer is not followed at once by another.
  last_commit_ = std::chrono::steady_clock::now();
  return number;
}

void Pipeline::flush() {
  if (durable_) durable_->flush();
}

std::int64_t Pipeline::records() const {
  if (durable_) return durable_->records();
  return static_cast<std::int64_t>(engine_->stats().records);
}

}  // namespace ptag
