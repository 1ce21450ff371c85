#include "deliverer.hpp"

#include <curl/curl.h>
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
#include "ptag/text.hpp"

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
std::string client_error(CURLcode code, bool connected, Millis timeout) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return "connection refused or host unreachable";
    case CURLE_COULDNT_RESOLVE_HOST:
      return "cannot resolve the host";
    case CURLE_OPERATION_TIMEDOUT:
      return (connected ? "timed out after " : "connect timed out after ") + duration_text(timeout);
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      return "connection closed before an answer";
    case CURLE_SEND_ERROR:
      return "connection closed while sending";
    case CURLE_SSL_CONNECT_ERROR:
      return "TLS handshake failed";
    case CURLE_PEER_FAILED_VERIFICATION:
      return "TLS certificate not trusted";
    default:
      return std::string("request failed (") + curl_easy_strerror(code) + ")";
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
  CURLM* multi = nullptr;  // the sender's, while it runs: notify() wakes its poll
  Lanes lanes;
  std::set<std::pair<Steady::time_point, std::string>> due;  // idle lanes by their head's time
  std::unordered_set<std::int64_t> queued;                   // ids in `lanes`
  std::size_t count = 0;                                     // entries in `lanes`
  // Paging: every pending delivery with an id up to `loaded_through` is in
  // `lanes` (or done); with `in_store`, more wait in the store after it.
  std::size_t in_memory = kDeliveriesInMemory;
  std::int64_t loaded_through = 0;
  bool in_store = false;
  std::size_t stored = 0;       // how many (for pending() and the gauge)
  bool dropped = false;         // admit() left one in the store during a read
  bool read_failed = false;     // the last read_in() could not read the store (logged once)
  std::unordered_set<std::int64_t> ahead;  // in the store but retried by hand: read_in() skips them
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
    notify();
  }

  // Under `m`: the sender looks at the schedule again.
  void notify() {
    if (multi) curl_multi_wakeup(multi);
  }

  void gauge() { pending->Set(static_cast<double>(count + stored)); }

  // A new pending delivery: held while there is room and nothing older waits
  // in the store, else left in the store for read_in().
  void admit(Delivery d, Steady::time_point at) {
    // read_in() may have read (and sent) it already: its commit is visible
    // before the server hands it over.
    if (d.id <= loaded_through) return;
    if (in_store || count >= in_memory) {
      in_store = true;
      dropped = true;
      ++stored;
      gauge();
      return;
    }
    loaded_through = std::max(loaded_through, d.id);
    enqueue(std::move(d), at);
  }

  void read_in(std::unique_lock<std::mutex>& lock);

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
    gauge();
    schedule(lane);
  }

  void dequeue_head(Lane& lane) {
    queued.erase(lane.queue.front().delivery.id);
    lane.queue.pop_front();
    --count;
    gauge();
  }

  // The delivery's webhook-id.
  std::string id_of(const Delivery& d) const {
    return delivery_id(store->loaded().store_id, static_cast<std::uint64_t>(d.id));
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
      {{"id", json_text(e.id_of(d))},
       {"webhook", json_text(e.webhook.name)},
       {"partner", json_text(d.partner)},
       {"attempts", std::to_string(d.attempts)},
       {"error", json_text(why)}});
}

// One attempt in flight: its easy handle and what it needs until it ends.
struct Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Endpoint::Lanes::iterator lane;  // busy while the attempt is in flight, so not erased
  Delivery delivery;
  Seconds sent_at = 0;
  Steady::time_point sent;
  std::string retry_after;
  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }
};

std::size_t drop_body(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

// Keeps the answer's Retry-After.
std::size_t read_header(char* data, std::size_t size, std::size_t n, void* cls) {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && equal_ignoring_case(line.substr(0, kName.size()), kName)) {
    std::string_view value = line.substr(kName.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    static_cast<Transfer*>(cls)->retry_after = value;
  }
  return size * n;
}

// A POST of the delivery to the endpoint, signed for this attempt.
void prepare(Transfer& t, const WebhookConfig& webhook, const std::string& id) {
  DeliveryHeaders h = sign_delivery(webhook, id, t.sent_at, t.delivery.body);
  for (const std::string& header :
       {std::string("Content-Type: application/json"), "webhook-id: " + h.id, "webhook-timestamp: " + h.timestamp,
        "webhook-signature: " + h.signature, std::string("Expect:")})  // no 100-continue round trip
    t.headers = curl_slist_append(t.headers, header.c_str());
  std::string url = webhook.origin + webhook.path;
  long timeout = static_cast<long>(webhook.timeout.count());
  CURL* e = t.easy = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.delivery.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.delivery.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "ptag");
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");  // other hosts: the *_proxy variables
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &drop_body);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &read_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
}

// What an ended transfer gave.
DeliveryAttempt outcome(Transfer& t, CURLcode code, const WebhookConfig& webhook) {
  DeliveryAttempt a;
  if (code != CURLE_OK) {
    curl_off_t connected = 0;
    curl_easy_getinfo(t.easy, CURLINFO_CONNECT_TIME_T, &connected);
    a.error = client_error(code, connected > 0, webhook.timeout);
    return a;
  }
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  a.outcome = classify_status(static_cast<int>(status));
  if (a.outcome == AttemptOutcome::delivered) return a;
  a.error = "HTTP " + std::to_string(status);
  if (a.outcome == AttemptOutcome::endpoint_gone) a.error += " Gone: the endpoint is disabled";
  if (!t.retry_after.empty()) a.retry_after = parse_retry_after(t.retry_after, t.sent_at);
  return a;
}

}  // namespace

Deliverer::Deliverer(const ServeConfig& config, Store& store, prometheus::Registry& registry,
                     std::function<Seconds()> now, std::uint64_t seed, std::size_t in_memory)
    : now_(now ? std::move(now) : std::function<Seconds()>(wall_clock_now)), store_path_(store.path()) {
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
    e->in_memory = std::max<std::size_t>(1, in_memory);
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
    e->admit(std::move(d), at);
  }
  if (started_.exchange(true)) return;
  for (const auto& owned : endpoints_) {
    Endpoint* e = owned.get();
    e->senders.emplace_back([e] { e->run(); });
  }
}

void Deliverer::start_from_store() {
  std::vector<std::pair<std::string, std::int64_t>> waiting = StoreReader::open(store_path_)->pending_by_webhook();
  for (const auto& [webhook, n] : waiting) {
    Endpoint* e = endpoint(webhook);
    if (e == nullptr) {
      log("warn", "pending deliveries of a webhook that is not in the config stay pending, unsent",
          {{"webhook", json_text(webhook)}, {"deliveries", std::to_string(n)}});
      continue;
    }
    std::lock_guard lock(e->m);
    e->in_store = true;
    e->stored = static_cast<std::size_t>(n);
    e->gauge();
  }
  start({});
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
    e->admit(std::move(d), at);
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
  // Pending but still in the store (not read in yet): sent now, and skipped
  // when read_in() comes to it.
  if (d.status == DeliveryStatus::pending && e->in_store && d.id > e->loaded_through) e->ahead.insert(d.id);
  Delivery again = d;
  again.status = DeliveryStatus::pending;
  again.attempts = 0;
  again.next_attempt = now_();
  e->update({{again.id, DeliveryStatus::pending, 0, again.next_attempt, again.last_error}});
  e->enqueue(std::move(again), Steady::now());
  return true;
}

std::size_t Deliverer::room(std::string_view webhook) const {
  Endpoint* e = endpoint(webhook);
  if (e == nullptr) return 0;
  std::lock_guard lock(e->m);
  return e->count < e->in_memory ? e->in_memory - e->count : 0;
}

std::size_t Deliverer::pending() const {
  std::size_t n = 0;
  for (const auto& e : endpoints_) {
    std::lock_guard lock(e->m);
    n += e->count + e->stored;
  }
  return n;
}

std::size_t Deliverer::held() const {
  std::size_t n = 0;
  for (const auto& e : endpoints_) {
    std::lock_guard lock(e->m);
    n += e->count;
  }
  return n;
}

// Reads the oldest deliveries waiting in the store into memory (under `m`,
// released while reading). A store that holds no more ends the paging,
// unless admit() left another in it meanwhile.
void Endpoint::read_in(std::unique_lock<std::mutex>& lock) {
  std::int64_t after = loaded_through;
  std::size_t room = in_memory - count;
  dropped = false;
  lock.unlock();
  std::vector<Delivery> page;
  bool read = true;
  try {
    page = StoreReader::open(store->path())->deliveries(DeliveryStatus::pending, after,
                                                         static_cast<std::int64_t>(room), webhook.name);
  } catch (const StoreError& error) {
    read = false;
    if (!read_failed) log("error", "cannot read the outbox; trying again", {{"error", json_text(error.what())}});
  }
  lock.lock();
  read_failed = !read;
  if (!read) return;  // the backlog stays in the store: the next turn tries again
  Seconds wall = now();
  std::vector<DeliveryUpdate> updates;
  for (Delivery& d : page) {
    loaded_through = std::max(loaded_through, d.id);
    if (stored > 0) --stored;
    if (ahead.erase(d.id) != 0) continue;  // retried by hand: queued already
    if (gone) {  // disabled by a 410: these fail unsent, as the ones in memory did
      updates.push_back({d.id, DeliveryStatus::failed, d.attempts, 0, *gone});
      ended_gone->Increment();
      log_failed(*this, d, *gone);
      continue;
    }
    Steady::time_point at = due_at(d.next_attempt, wall);
    enqueue(std::move(d), at);
  }
  if (!updates.empty()) update(std::move(updates));
  if (page.size() < room && !dropped) {
    in_store = false;
    stored = 0;
  }
  gauge();
}

void Deliverer::stop() {
  for (const auto& e : endpoints_) {
    std::lock_guard lock(e->m);
    e->stopping = true;
    e->notify();
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

// The sender: up to kAttemptsPerWebhook due heads of idle lanes in flight
// at once on one libcurl multi handle (connections kept and reused), each
// settled as it ends.
void Endpoint::run() {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURLM* mh = curl_multi_init();
  curl_multi_setopt(mh, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(kAttemptsPerWebhook));
  std::vector<std::unique_ptr<Transfer>> flying;
  std::unique_lock lock(m);
  multi = mh;
  for (;;) {
    if (stopping && flying.empty()) break;
    if (!stopping && in_store && count <= in_memory / 2) read_in(lock);
    Steady::time_point now_at = Steady::now();
    while (!stopping && flying.size() < kAttemptsPerWebhook && !due.empty() && due.begin()->first <= now_at) {
      auto lane = lanes.find(due.begin()->second);
      due.erase(due.begin());
      lane->second.scheduled.reset();
      lane->second.busy = true;
      auto t = std::make_unique<Transfer>();
      t->lane = lane;
      t->delivery = lane->second.queue.front().delivery;
      t->sent_at = now();
      t->sent = Steady::now();
      prepare(*t, webhook, id_of(t->delivery));
      curl_multi_add_handle(mh, t->easy);
      flying.push_back(std::move(t));
    }
    int wait_ms = 1000;
    if (!stopping && flying.size() < kAttemptsPerWebhook && !due.empty())
      wait_ms = static_cast<int>(std::clamp<std::int64_t>(
          std::chrono::ceil<std::chrono::milliseconds>(due.begin()->first - now_at).count(), 0, 1000));
    lock.unlock();
    int running = 0;
    curl_multi_perform(mh, &running);
    std::vector<std::pair<Transfer*, CURLcode>> ended;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(mh, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      void* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      ended.emplace_back(static_cast<Transfer*>(t), msg->data.result);
    }
    if (ended.empty()) curl_multi_poll(mh, nullptr, 0, wait_ms, nullptr);
    std::vector<std::pair<DeliveryAttempt, Transfer*>> results;
    for (auto [t, code] : ended) {
      results.emplace_back(outcome(*t, code, webhook), t);
      seconds->Observe(std::chrono::duration<double>(Steady::now() - t->sent).count());
      curl_multi_remove_handle(mh, t->easy);
    }
    lock.lock();
    for (auto& [a, finished] : results) {
      Transfer* done = finished;
      settle(done->lane, std::move(done->delivery), a, done->sent_at);
      std::erase_if(flying, [done](const std::unique_ptr<Transfer>& f) { return f.get() == done; });
    }
  }
  multi = nullptr;
  lock.unlock();
  curl_multi_cleanup(mh);
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
      gone = "endpoint disabled: " + id_of(d) + " got HTTP 410 Gone";
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
      gauge();
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
