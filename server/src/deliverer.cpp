#include "deliverer.hpp"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>

#include "delivery.hpp"
#include "log.hpp"

namespace ptag::serve {

using Steady = std::chrono::steady_clock;

Seconds wall_clock_now() {
  return static_cast<Seconds>(std::time(nullptr));
}

std::uint64_t random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

namespace {

// "15s" or "300ms", as the config writes durations.
std::string duration_text(Millis d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// Why an attempt without an answer failed, in the words of an operator.
std::string client_error(httplib::Error error, Steady::duration took, Millis timeout) {
  switch (error) {
    case httplib::Error::Connection:
      return "connection refused or host unreachable";
    case httplib::Error::ConnectionTimeout:
      return "connect timed out after " + duration_text(timeout);
    case httplib::Error::Read:
      // A read that waited its whole timeout, or a connection closed early.
      if (took >= timeout * 9 / 10) return "timed out after " + duration_text(timeout);
      return "connection closed before an answer";
    case httplib::Error::Write:
      return "connection closed while sending";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLServerVerification:
      return "TLS certificate not trusted";
    default:
      return "request failed (" + httplib::to_string(error) + ")";
  }
}

}  // namespace

// What one attempt gave.
struct DeliveryAttempt {
  AttemptOutcome outcome = AttemptOutcome::retry;
  std::string error;  // empty when delivered
  std::optional<Seconds> retry_after;
};

// One webhook: its per-partner queues ("lanes"), their schedule and senders.
struct Deliverer::Endpoint {
  struct Entry {
    Delivery delivery;
    Steady::time_point due;
  };
  // One partner's deliveries in id order; only the head is ever sent.
  struct Lane {
    std::deque<Entry> queue;
    bool busy = false;                            // the head is in flight
    std::optional<Steady::time_point> scheduled;  // its key in `due`
  };

  using Lanes = std::map<std::string, Lane, std::less<>>;

  WebhookConfig webhook;
  Store* store = nullptr;
  std::function<Seconds()> now;
  mutable std::mutex m;
  std::condition_variable wake;
  Lanes lanes;
  std::set<std::pair<Steady::time_point, std::string>> due;  // idle lanes by their head's time
  std::unordered_set<std::int64_t> queued;                   // ids in `lanes`
  std::size_t count = 0;                                     // entries in `lanes`
  std::optional<std::string> gone;                           // disabled by 410: why
  bool stopping = false;
  std::mt19937_64 rng;
  std::vector<std::thread> senders;

  prometheus::Counter* delivered = nullptr;
  prometheus::Counter* retried = nullptr;
  prometheus::Counter* failed = nullptr;
  prometheus::Counter* ended_gone = nullptr;
  prometheus::Gauge* pending = nullptr;
  prometheus::Histogram* seconds = nullptr;

  // Puts `lane`'s head on the schedule (or drops an empty lane).
  void schedule(Lanes::iterator lane) {
    Lane& l = lane->second;
    if (l.scheduled) due.erase({*l.scheduled, lane->first});
    l.scheduled.reset();
    if (l.busy) return;
    if (l.queue.empty()) {
      lanes.erase(lane);
      return;
    }
    l.scheduled = l.queue.front().due;
    due.insert({*l.scheduled, lane->first});
    wake.notify_one();
  }

  // Queues `d` in id order; not before a head in flight.
  void enqueue(Delivery d, Steady::time_point at) {
    if (!queued.insert(d.id).second) return;
    auto lane = lanes.try_emplace(d.partner).first;
    std::deque<Entry>& q = lane->second.queue;
    auto first = q.begin() + (lane->second.busy ? 1 : 0);
    auto place = std::upper_bound(
        first, q.end(), d.id, [](std::int64_t id, const Entry& e) { return id < e.delivery.id; });
    q.insert(place, Entry{std::move(d), at});
    ++count;
    pending->Increment();
    schedule(lane);
  }

  void dequeue_head(Lane& lane) {
    queued.erase(lane.queue.front().delivery.id);
    lane.queue.pop_front();
    --count;
    pending->Decrement();
  }

  void run();
  void settle(Lanes::iterator lane, Delivery d, const DeliveryAttempt& a, Seconds at);
  void fail_waiting(std::vector<DeliveryUpdate>& updates, Lanes::iterator keep);
  void update(std::vector<DeliveryUpdate>&& updates);
};

namespace {

using Endpoint = Deliverer::Endpoint;

// When a delivery whose next attempt is at Unix second `next` is due.
Steady::time_point due_at(Seconds next, Seconds now) {
  return Steady::now() + std::chrono::seconds(std::max<Seconds>(0, next - now));
}

void log_failed(const Endpoint& e, const Delivery& d, std::string_view why) {
  log("warn", "delivery failed",
      {{"id", json_text(delivery_id(static_cast<std::uint64_t>(d.id)))},
       {"webhook", json_text(e.webhook.name)},
       {"partner", json_text(d.partner)},
       {"attempts", std::to_string(d.attempts)},
       {"error", json_text(why)}});
}

// One POST of `d` to the endpoint; the response body is read and dropped.
DeliveryAttempt send(httplib::Client& client, const WebhookConfig& webhook, const Delivery& d,
                     Seconds now) {
  DeliveryHeaders h =
      sign_delivery(webhook, delivery_id(static_cast<std::uint64_t>(d.id)), now, d.body);
  httplib::Request req;
  req.method = "POST";
  req.path = webhook.path;
  req.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "ptag"},
                 {"webhook-id", h.id},
                 {"webhook-timestamp", h.timestamp},
                 {"webhook-signature", h.signature}};
  req.body = d.body;
  req.content_receiver = [](const char*, std::size_t, std::uint64_t, std::uint64_t) {
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  Steady::time_point start = Steady::now();
  bool answered = client.send(req, res, error);
  DeliveryAttempt a;
  if (!answered) {
    a.error = client_error(error, Steady::now() - start, webhook.timeout);
    return a;
  }
  a.outcome = classify_status(res.status);
  if (a.outcome == AttemptOutcome::delivered) return a;
  a.error = "HTTP " + std::to_string(res.status);
  if (a.outcome == AttemptOutcome::endpoint_gone) a.error += " Gone: the endpoint is disabled";
  if (res.has_header("Retry-After"))
    a.retry_after = parse_retry_after(res.get_header_value("Retry-After"), now);
  return a;
}

}  // namespace

Deliverer::Deliverer(const ServeConfig& config, Store& store, prometheus::Registry& registry,
                     std::function<Seconds()> now, std::uint64_t seed)
    : now_(now ? std::move(now) : std::function<Seconds()>(wall_clock_now)) {
  auto& totals =
      prometheus::BuildCounter()
          .Name("ptag_deliveries_total")
          .Help(
              "Outgoing webhook attempts and deliveries by result: delivered, retried (an attempt "
              "failed, another follows), failed (retries used up), gone (ended by a 410)")
          .Register(registry);
  auto& pending = prometheus::BuildGauge()
                      .Name("ptag_outbox_pending")
                      .Help("Outgoing webhook deliveries waiting or in flight")
                      .Register(registry);
  auto& seconds = prometheus::BuildHistogram()
                      .Name("ptag_delivery_seconds")
                      .Help("Outgoing webhook attempts, from sending to the answer or the error")
                      .Register(registry);
  const prometheus::Histogram::BucketBoundaries buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5,   1,    2.5,   5,    10,  30};
  std::uint64_t n = 0;
  for (const WebhookConfig& w : config.webhooks) {
    auto e = std::make_unique<Endpoint>();
    e->webhook = w;
    e->rng.seed(seed + n++);
    e->store = &store;
    e->now = now_;
    e->delivered = &totals.Add({{"webhook", w.name}, {"result", "delivered"}});
    e->retried = &totals.Add({{"webhook", w.name}, {"result", "retried"}});
    e->failed = &totals.Add({{"webhook", w.name}, {"result", "failed"}});
    e->ended_gone = &totals.Add({{"webhook", w.name}, {"result", "gone"}});
    e->pending = &pending.Add({{"webhook", w.name}});
    e->seconds = &seconds.Add({{"webhook", w.name}}, buckets);
    endpoints_.push_back(std::move(e));
  }
}

Deliverer::~Deliverer() {
  stop();
}

Deliverer::Endpoint* Deliverer::endpoint(std::string_view webhook) const {
  for (const auto& e : endpoints_)
    if (e->webhook.name == webhook) return e.get();
  return nullptr;
}

void Deliverer::start(std::vector<Delivery> pending) {
  std::set<std::string, std::less<>> unknown;
  Seconds now = now_();
  for (Delivery& d : pending) {
    Endpoint* e = endpoint(d.webhook);
    if (e == nullptr) {
      if (unknown.insert(d.webhook).second)
        log("warn",
            "pending deliveries of a webhook that is not in the config stay pending, unsent",
            {{"webhook", json_text(d.webhook)}});
      continue;
    }
    std::lock_guard lock(e->m);
    Steady::time_point at = due_at(d.next_attempt, now);
    e->enqueue(std::move(d), at);
  }
  if (started_.exchange(true)) return;
  for (const auto& owned : endpoints_) {
    Endpoint* e = owned.get();
    for (std::size_t i = 0; i < kSendersPerWebhook; ++i) e->senders.emplace_back([e] { e->run(); });
  }
}

void Deliverer::add(std::vector<Delivery> fresh) {
  Seconds now = now_();
  for (Delivery& d : fresh) {
    Endpoint* e = endpoint(d.webhook);
    if (e == nullptr) continue;  // the engine makes deliveries only for configured webhooks
    std::lock_guard lock(e->m);
    if (e->gone) {
      e->update({{d.id, DeliveryStatus::failed, d.attempts, 0, *e->gone}});
      e->ended_gone->Increment();
      log_failed(*e, d, *e->gone);
      continue;
    }
    Steady::time_point at = due_at(d.next_attempt, now);
    e->enqueue(std::move(d), at);
  }
}

bool Deliverer::retry(const Delivery& d) {
  Endpoint* e = endpoint(d.webhook);
  if (e == nullptr) return false;
  std::lock_guard lock(e->m);
  e->gone.reset();
  if (e->queued.count(d.id) != 0) {
    // Still pending: due now, unless it is in flight already.
    auto lane = e->lanes.find(d.partner);
    if (lane == e->lanes.end()) return true;
    for (std::size_t i = lane->second.busy ? 1 : 0; i < lane->second.queue.size(); ++i)
      if (lane->second.queue[i].delivery.id == d.id) lane->second.queue[i].due = Steady::now();
    e->schedule(lane);
    return true;
  }
  Delivery again = d;
  again.status = DeliveryStatus::pending;
  again.attempts = 0;
  again.next_attempt = now_();
  e->update({{again.id, DeliveryStatus::pending, 0, again.next_attempt, again.last_error}});
  e->enqueue(std::move(again), Steady::now());
  return true;
}

std::size_t Deliverer::pending() const {
  std::size_t n = 0;
  for (const auto& e : endpoints_) {
    std::lock_guard lock(e->m);
    n += e->count;
  }
  return n;
}

void Deliverer::stop() {
  for (const auto& e : endpoints_) {
    std::lock_guard lock(e->m);
    e->stopping = true;
    e->wake.notify_all();
  }
  for (const auto& e : endpoints_)
    for (std::thread& t : e->senders)
      if (t.joinable()) t.join();
}

void Endpoint::update(std::vector<DeliveryUpdate>&& updates) {
  try {
    store->update_deliveries(std::move(updates));
  } catch (const StoreError& error) {
    // The store refuses everything after a failed commit; the server stops on that error elsewhere.
    log("error", "cannot store delivery attempts", {{"error", json_text(error.what())}});
  }
}

// A sender: takes the earliest due head of an idle lane, sends it, settles it.
void Endpoint::run() {
  httplib::Client client(webhook.origin);
  client.set_keep_alive(true);
  client.set_follow_location(false);
  client.set_connection_timeout(webhook.timeout);
  client.set_read_timeout(webhook.timeout);
  client.set_write_timeout(webhook.timeout);
  std::unique_lock lock(m);
  for (;;) {
    if (stopping) return;
    if (due.empty()) {
      wake.wait(lock);
      continue;
    }
    auto [at, partner] = *due.begin();
    if (at > Steady::now()) {
      wake.wait_until(lock, at);
      continue;
    }
    auto lane = lanes.find(partner);
    due.erase(due.begin());
    lane->second.scheduled.reset();
    lane->second.busy = true;
    Delivery d = lane->second.queue.front().delivery;
    lock.unlock();
    Seconds sent_at = now();
    Steady::time_point sent = Steady::now();
    DeliveryAttempt a = send(client, webhook, d, sent_at);
    seconds->Observe(std::chrono::duration<double>(Steady::now() - sent).count());
    lock.lock();
    settle(lane, std::move(d), a, sent_at);
  }
}

// Stores an attempt's outcome and moves the lane on. Under `m`, so that a
// delivery's updates reach the store in the order of its attempts.
void Endpoint::settle(Lanes::iterator lane, Delivery d, const DeliveryAttempt& a, Seconds at) {
  Lane& l = lane->second;
  l.busy = false;
  ++d.attempts;
  std::vector<DeliveryUpdate> updates;
  if (a.outcome == AttemptOutcome::delivered) {
    updates.push_back({d.id, DeliveryStatus::delivered, d.attempts, 0, ""});
    delivered->Increment();
    dequeue_head(l);
  } else if (a.outcome == AttemptOutcome::endpoint_gone || gone) {
    // 410 (here or in a parallel attempt): this and every waiting delivery fail.
    if (!gone) {
      gone = "endpoint disabled: " + delivery_id(static_cast<std::uint64_t>(d.id)) +
             " got HTTP 410 Gone";
      log("warn", "webhook endpoint disabled",
          {{"webhook", json_text(webhook.name)}, {"error", json_text(a.error)}});
    }
    std::string why = a.outcome == AttemptOutcome::endpoint_gone ? a.error : a.error + "; " + *gone;
    updates.push_back({d.id, DeliveryStatus::failed, d.attempts, 0, why});
    ended_gone->Increment();
    log_failed(*this, d, why);
    dequeue_head(l);
    fail_waiting(updates, lane);
  } else if (std::optional<Millis> delay = next_attempt_delay(
                 webhook, static_cast<std::size_t>(d.attempts), a.retry_after, rng)) {
    Seconds next = at + (delay->count() + 999) / 1000;
    updates.push_back({d.id, DeliveryStatus::pending, d.attempts, next, a.error});
    retried->Increment();
    Entry& head = l.queue.front();
    head.delivery.attempts = d.attempts;
    head.delivery.last_error = a.error;
    head.due = Steady::now() + *delay;
  } else {
    updates.push_back({d.id, DeliveryStatus::failed, d.attempts, 0, a.error});
    failed->Increment();
    log_failed(*this, d, a.error);
    dequeue_head(l);
  }
  update(std::move(updates));
  schedule(lane);
}

// After a 410: every delivery not in flight fails; emptied lanes go, except `keep`.
void Endpoint::fail_waiting(std::vector<DeliveryUpdate>& updates, Lanes::iterator keep) {
  for (auto it = lanes.begin(); it != lanes.end();) {
    Lane& other = it->second;
    std::size_t in_flight = other.busy ? 1 : 0;
    while (other.queue.size() > in_flight) {
      const Delivery& w = other.queue.back().delivery;
      updates.push_back({w.id, DeliveryStatus::failed, w.attempts, 0, *gone});
      ended_gone->Increment();
      log_failed(*this, w, *gone);
      queued.erase(w.id);
      other.queue.pop_back();
      --count;
      pending->Decrement();
    }
    auto next = std::next(it);
    if (it != keep && other.queue.empty()) {
      if (other.scheduled) due.erase({*other.scheduled, it->first});
      lanes.erase(it);
    }
    it = next;
  }
}

}  // namespace ptag::serve
