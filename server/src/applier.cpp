#include "applier.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "delivery.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "ptag/decimal.hpp"
#include "ptag/text.hpp"

namespace ptag::serve {

RecordTap::RecordTap(const ServeConfig& config, Metrics& metrics, std::int64_t last_delivery)
    : config_(config), metrics_(metrics), last_delivery_(last_delivery) {}

void RecordTap::record(const ChangeRecord& r) {
  ++since_take_;
  switch (r.action) {
    case RecordAction::add: metrics_.records_add.Increment(); break;
    case RecordAction::remove: metrics_.records_remove.Increment(); break;
    case RecordAction::emit: metrics_.records_emit.Increment(); break;
  }
  for (const WebhookConfig& w : config_.webhooks) {
    if (!passes(w, r)) continue;
    Delivery d;
    d.id = ++last_delivery_;
    d.webhook = w.name;
    d.partner = std::string(r.partner);
    d.body = delivery_body(r, r.seq);
    d.record = r.seq;
    made_.push_back(std::move(d));
  }
}

std::vector<Delivery> RecordTap::take() {
  since_take_ = 0;
  return std::exchange(made_, {});
}

namespace {
const Answer kStopping{503, R"({"error":"the server is stopping"})"};
}  // namespace

struct Applier::Job {
  enum class Kind { ingest, call, reload } kind = Kind::ingest;
  ParsedBody body;
  bool strict = false;
  Work work;
  bool commits = false;
  LoadedRules rules;
  bool backfill = false;
  std::promise<Answer> answer;           // call
  std::optional<Answer> ready;           // answered after the commit
  std::promise<ReloadOutcome> reloaded;  // reload
  ReloadOutcome reload;                  // given after the commit
  std::promise<IngestOutcome> outcome;   // ingest
  IngestOutcome done;                    // given after the commit (or at once when refused)
  std::optional<DeadLetter> dead;   // a source's payload, kept unless its event is applied
  std::chrono::steady_clock::time_point queued = std::chrono::steady_clock::now();
};

struct Applier::Waiting {
  std::uint64_t commit = 0;
  std::vector<std::unique_ptr<Job>> jobs;
  std::vector<Delivery> deliveries;
  std::string failure;  // the commit could not even be queued
};

Applier::Applier(const ServeConfig& config, ClockMode clock, DurableEngine& durable, LoadedRules rules,
                 RecordTap& tap, Durable durable_deliveries, Metrics& metrics, Now now)
    : config_(config),
      clock_(clock),
      durable_(durable),
      pipeline_(durable),
      rules_(std::move(rules)),
      tap_(tap),
      durable_deliveries_(std::move(durable_deliveries)),
      metrics_(metrics),
      now_(std::move(now)) {}

Applier::~Applier() {
  stop();
}

void Applier::start() {
  // The refunded totals of sales refunded as totals (a few rows per refunded sale).
  try {
    for (auto& [sale, total] : StoreReader::open(durable_.path())->refund_totals()) refunded_[sale] = total;
  } catch (const StoreError& e) {
    log("error", "the store failed; nothing more is committed", {{"reason", json_text(e.what())}});
    failed_ = true;
  }
  answerer_ = std::thread([this] { answer_loop(); });
  // Timers that came due while the server was down fire now, each at its deadline.
  auto started = std::chrono::steady_clock::now();
  std::uint64_t fired = pipeline_.engine().stats().timers_fired;
  tick();
  if (std::uint64_t now_fired = pipeline_.engine().stats().timers_fired - fired; now_fired > 0)
    log("info", "timers caught up",
        {{"fired", std::to_string(now_fired)}, {"records", std::to_string(tap_.records_since_take())},
         {"seconds", seconds_text(std::chrono::steady_clock::now() - started)}});
  std::vector<std::unique_ptr<Job>> none;
  if (tap_.records_since_take() > 0) commit_and_answer(none);
  thread_ = std::thread([this] { loop(); });
}

void Applier::stop() {
  stopping_ = true;
  {
    std::lock_guard lock(m_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(answers_m_);
    answers_stop_ = true;
  }
  answers_cv_.notify_all();
  if (answerer_.joinable()) answerer_.join();
}

template <typename Result>
Result Applier::submit(std::unique_ptr<Job> job, std::future<Result> result, Result stopping) {
  {
    std::lock_guard lock(m_);
    if (stop_) return stopping;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return result.get();
}

IngestOutcome Applier::ingest(ParsedBody body, bool strict, std::optional<DeadLetter> dead) {
  using Refused = IngestOutcome::Refused;
  auto refused = [](Refused why, std::string error = {}) {
    IngestOutcome out;
    out.refused = why;
    out.error = std::move(error);
    return out;
  };
  if (stopping_) return refused(Refused::stopping);
  if (failed_) return refused(Refused::store_failed, "see the server's log");
  std::size_t n = body.events.size();
  if (n > config_.max_queued_events)  // it could never fit: 429 would be retried forever
    return refused(Refused::too_big, std::to_string(n));
  if (queued_events_ + n > config_.max_queued_events) return refused(Refused::too_many);
  queued_events_ += n;
  auto job = std::make_unique<Job>();
  job->body = std::move(body);
  job->strict = strict;
  job->dead = std::move(dead);
  std::future<IngestOutcome> outcome = job->outcome.get_future();
  return submit(std::move(job), std::move(outcome), refused(Refused::stopping));
}

Answer Applier::call(Work work, bool commits) {
  // After a failed commit the engine holds events the store never got:
  // what it would answer is not what a restart would have.
  if (failed_) return {503, R"({"error":"the store failed: the engine holds events that were never committed; restart the server once the store is fixed"})"};
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::call;
  job->work = std::move(work);
  job->commits = commits;
  std::future<Answer> answer = job->answer.get_future();
  return submit(std::move(job), std::move(answer), kStopping);
}

ReloadOutcome Applier::reload(LoadedRules rules, bool backfill) {
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::reload;
  job->rules = std::move(rules);
  job->backfill = backfill;
  std::future<ReloadOutcome> reloaded = job->reloaded.get_future();
  return submit(std::move(job), std::move(reloaded), ReloadOutcome{false, true, {}, "the server is stopping"});
}

// The engine's per-currency counts into ptag_currency_events_total, and a
// warning once when amounts in several currencies were summed as one.
void Applier::count_currencies() {
  const auto& seen = pipeline_.engine().stats().currencies;
  currency_counted_.resize(seen.size(), 0);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (seen[i].second == currency_counted_[i]) continue;
    metrics_.currency_events.Add({{"currency", seen[i].first}})
        .Increment(static_cast<double>(seen[i].second - currency_counted_[i]));
    currency_counted_[i] = seen[i].second;
  }
  if (seen.size() > 1 && rules_.program->currency.empty() && !mixed_logged_) {
    mixed_logged_ = true;
    std::string codes;
    for (const auto& [code, count] : seen) codes += (codes.empty() ? "" : ",") + json_quote(code);
    log("warn", "amounts in several currencies were summed as one; convert them before sending, and declare the "
                "program's currency (currency \"EUR\") so that events in another are rejected",
        {{"currencies", "[" + codes + "]"}});
  }
}

void Applier::tick() {
  if (clock_ != ClockMode::wall) return;
  Engine& e = pipeline_.engine();
  Seconds now = now_();
  if (!e.has_clock() || now > e.clock()) e.advance_to(now);
}

void Applier::loop() {
  for (;;) {
    std::vector<std::unique_ptr<Job>> jobs;
    bool stopping = false;
    {
      std::unique_lock lock(m_);
      // The clock moves at least once a second without any request.
      wake_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stop_ || !queue_.empty(); });
      // Group commit: requests arriving within commit_interval of the first share one commit.
      if (!queue_.empty() && config_.commit_interval.count() > 0) {
        auto until = queue_.front()->queued + config_.commit_interval;
        wake_.wait_until(lock, until, [&] { return stop_; });
      }
      while (!queue_.empty()) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stopping = stop_;
    }
    tick();
    std::vector<std::unique_ptr<Job>> after_commit;
    for (std::unique_ptr<Job>& job : jobs) {
      switch (job->kind) {
        case Job::Kind::ingest:
          apply(*job);
          queued_events_ -= job->body.events.size();
          after_commit.push_back(std::move(job));
          break;
        case Job::Kind::call:
          job->ready = job->work(durable_, *rules_.program);
          if (job->commits) {
            after_commit.push_back(std::move(job));
          } else {
            job->answer.set_value(std::move(*job->ready));
          }
          break;
        case Job::Kind::reload:
          run_reload(*job);
          after_commit.push_back(std::move(job));
          break;
      }
    }
    if (!after_commit.empty() || tap_.records_since_take() > 0 || !server_rows_.dead_letters.empty() ||
        !server_rows_.refund_totals.empty())
      commit_and_answer(after_commit);
    count_currencies();
    Engine& e = pipeline_.engine();
    metrics_.timers_pending.Set(static_cast<double>(e.timers_pending()));
    metrics_.partners.Set(static_cast<double>(e.partner_count()));
    if (stopping && jobs.empty()) return;
  }
}

void Applier::apply(Job& job) {
  Engine& engine = pipeline_.engine();
  ParsedBody& body = job.body;
  std::span<const Event> events = body.events.events();
  IngestOutcome& out = job.done;
  out.results = body.rejected;
  out.rejected = body.rejected.size();
  Seconds latest = now_() + config_.max_future_skew;
  auto future_reason = [&](const Event& e) -> std::optional<std::string> {
    if (clock_ != ClockMode::wall || e.time <= latest) return std::nullopt;
    return "its time " + format_time(e.time) + " is later than the server's clock plus max_future_skew (" +
           std::to_string(config_.max_future_skew) + " s): check the sender's clock";
  };
  auto index_of = [&](std::size_t i) { return body.events.line(i) - 1; };
  auto id_of = [](const Event& e) -> std::optional<std::string> {
    if (!e.has_id) return std::nullopt;
    return std::string(e.id);
  };
  if (job.strict) {
    // One bad event rejects the whole request.
    std::vector<ItemResult> bad = body.rejected;
    for (std::size_t i = 0; i < events.size(); ++i) {
      std::string why;
      if (std::optional<std::string> future = future_reason(events[i])) {
        bad.push_back({index_of(i), "rejected", *future, id_of(events[i])});
      } else if (!engine.accepts(events[i], &why)) {
        bad.push_back({index_of(i), "rejected", why, id_of(events[i])});
      }
    }
    if (!bad.empty()) {
      out.results = std::move(bad);
      out.rejected = out.results.size();
      out.refused = IngestOutcome::Refused::strict;
      metrics_.events_rejected.Increment(static_cast<double>(out.rejected));
      return;
    }
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (std::optional<std::string> future = future_reason(e)) {
      out.results.push_back({index_of(i), "rejected", *future, id_of(e)});
      ++out.rejected;
      continue;
    }
    std::string why;
    bool late = engine.has_clock() && e.time < engine.clock() - config_.late_event_warning;
    RefundTotal total;
    if (!refund_as_total(e, total, why)) {
      bool taken = why.empty();
      (taken ? out.duplicates : out.rejected) += 1;
      out.results.push_back({index_of(i), taken ? "duplicate" : "rejected",
                             taken ? total.taken_back : why, id_of(e)});
      continue;
    }
    EventOutcome got = pipeline_.push(total.sale.empty() ? e : total.event);
    switch (got.status) {
      case EventStatus::applied:
        ++out.applied;
        out.late += late;
        if (!total.sale.empty()) {
          refunded_[total.sale] = total.total;
          server_rows_.refund_totals.emplace_back(total.sale, total.total);
        }
        break;
      case EventStatus::duplicate:
        ++out.duplicates;
        out.results.push_back({index_of(i), "duplicate", std::move(got.reason), id_of(e)});
        break;
      case EventStatus::rejected:
        ++out.rejected;
        out.results.push_back({index_of(i), "rejected", std::move(got.reason), id_of(e)});
        break;
    }
  }
  metrics_.events_applied.Increment(static_cast<double>(out.applied));
  metrics_.events_duplicate.Increment(static_cast<double>(out.duplicates));
  metrics_.events_rejected.Increment(static_cast<double>(out.rejected));
  if (out.late > 0) {
    metrics_.events_late.Increment(static_cast<double>(out.late));
    log("warn", "late events applied",
        {{"events", std::to_string(out.late)}, {"clock", json_text(format_time(engine.clock()))},
         {"bound_seconds", std::to_string(config_.late_event_warning)}});
  }
  keep_dead_letter(job);
}

// A refund sent as its sale's refunded total so far (data.refunded_total and
// data.refund_of): the event with the difference from the total taken back
// before as its amount. False with `why` for a malformed one, or with `why`
// empty and `out.taken_back` when the total was taken back already.
bool Applier::refund_as_total(const Event& e, RefundTotal& out, std::string& why) const {
  const Field* total = e.type == "refund" ? e.field("refunded_total") : nullptr;
  if (!total) return true;
  const Field* sale = e.field("refund_of");
  if (total->value.kind != Value::Kind::number || total->value.number < 0 || !sale ||
      (sale->value.kind != Value::Kind::text && sale->value.kind != Value::Kind::number)) {
    why = "a refund given as \"data.refunded_total\" needs it a number from 0 and \"data.refund_of\" the sale's id";
    return false;
  }
  std::string sale_id = sale->value.kind == Value::Kind::text ? std::string(sale->value.text)
                                                               : format_decimal(sale->value.number);
  out.sale = std::string(e.partner) + '\0' + sale_id;
  out.total = total->value.number;
  auto before = refunded_.find(out.sale);
  std::int64_t taken = before == refunded_.end() ? 0 : before->second;
  if (out.total <= taken) {
    out.taken_back = "the sale " + json_quote(sale_id) + "'s refunded total " + format_decimal(out.total) +
                     " was taken back already (" + format_decimal(taken) + ")";
    return false;
  }
  out.event = e;
  Field amount{"amount", Value{Value::Kind::number, out.total - taken, {}}};
  auto at = std::find_if(out.event.data.begin(), out.event.data.end(), [](const Field& f) { return f.name == "amount"; });
  if (at != out.event.data.end()) *at = amount;
  else out.event.data.push_back(amount);
  return true;
}

// A source's payload is kept (or a kept one updated) unless its event was
// applied now; without events, with the status and reason its caller gave.
void Applier::keep_dead_letter(Job& job) {
  if (!job.dead) return;
  DeadLetter d = std::move(*job.dead);
  const IngestOutcome& out = job.done;
  if (out.rejected > 0) {  // one of its events rejected (the others may be applied): kept
    d.status = "rejected";
    auto first = std::find_if(out.results.begin(), out.results.end(),
                              [](const ItemResult& r) { return r.status == "rejected"; });
    if (first != out.results.end()) d.reason = first->reason;
  } else if (out.applied + out.duplicates > 0) {
    if (d.id == 0) return;
    d.status = "replayed";
    d.reason.clear();
  }
  server_rows_.dead_letters.push_back(std::move(d));
}

void Applier::run_reload(Job& job) {
  count_currencies();  // the old engine's counts, before its stats go
  try {
    job.reload.changes = durable_.reload(*job.rules.program, job.backfill, job.rules.text);
    job.reload.reloaded = true;
    rules_ = std::move(job.rules);  // the old program goes only now
    currency_counted_.clear();      // the new engine's stats start at zero
    const RuleChanges& changes = job.reload.changes;
    log("info", "rules reloaded",
        {{"kept", std::to_string(changes.kept.size())}, {"added", std::to_string(changes.added.size())},
         {"removed", std::to_string(changes.removed.size())}, {"engine", json_text(rules_.engine)}});
  } catch (const std::exception& e) {
    log("error", "reload refused", {{"reason", json_text(e.what())}});
    job.reload.error = std::string("the state cannot take these rules: ") + e.what();
  }
}


void Applier::commit_and_answer(std::vector<std::unique_ptr<Job>>& done) {
  auto waiting = std::make_unique<Waiting>();
  std::vector<Delivery> deliveries = tap_.take();
  waiting->deliveries = deliveries;
  // A store file deleted or replaced under the server would take every
  // later commit with it: nothing is acknowledged once it is not ours.
  // The store checks its file before each write (deleted, replaced, not
  // writable) and refuses every commit after a failed one.
  try {
    waiting->commit = pipeline_.commit({}, std::move(deliveries), std::exchange(server_rows_, {}));
  } catch (const std::exception& e) {
    waiting->failure = e.what();
  }
  waiting->jobs = std::move(done);
  {
    std::lock_guard lock(answers_m_);
    answers_.push_back(std::move(waiting));
  }
  answers_cv_.notify_one();
}

void Applier::answer_loop() {
  for (;;) {
    std::unique_ptr<Waiting> w;
    {
      std::unique_lock lock(answers_m_);
      answers_cv_.wait(lock, [&] { return answers_stop_ || !answers_.empty(); });
      if (answers_.empty()) return;
      w = std::move(answers_.front());
      answers_.pop_front();
    }
    std::string failure = w->failure;
    if (failure.empty()) {
      try {
        durable_.wait(w->commit);
      } catch (const std::exception& e) {
        failure = e.what();
      }
    }
    if (!failure.empty()) {
      if (!failed_) log("error", "the store failed; nothing more is committed", {{"reason", json_text(failure)}});
      failed_ = true;
      for (std::unique_ptr<Job>& job : w->jobs) {
        if (job->kind == Job::Kind::ingest) {
          IngestOutcome out;
          out.refused = IngestOutcome::Refused::store_failed;
          out.error = failure;
          job->outcome.set_value(std::move(out));
        } else if (job->kind == Job::Kind::reload) {
          job->reloaded.set_value({false, true, {}, "the store failed: " + failure});
        } else {
          job->answer.set_value({503, R"({"error":)" + json_quote("the store failed: " + failure) + "}"});
        }
      }
      continue;
    }
    if (durable_deliveries_ && !w->deliveries.empty()) durable_deliveries_(std::move(w->deliveries));
    auto now = std::chrono::steady_clock::now();
    for (std::unique_ptr<Job>& job : w->jobs) {
      metrics_.commit_seconds.Observe(std::chrono::duration<double>(now - job->queued).count());
      if (job->kind == Job::Kind::ingest) {
        job->outcome.set_value(std::move(job->done));
      } else if (job->kind == Job::Kind::reload) {
        job->reloaded.set_value(std::move(job->reload));
      } else {
        job->answer.set_value(std::move(*job->ready));
      }
    }
  }
}

}  // namespace ptag::serve
