// The deliverer against a real receiver on loopback and a real store: order
// per partner, retries, timeouts, 410, Retry-After, restarts.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "deliverer.hpp"
#include "delivery.hpp"
#include "signature.hpp"
#include "temp_dir.hpp"

using namespace ptag::serve;
using ptag::ChangeRecord;
using ptag::Delivery;
using ptag::DeliveryStatus;
using ptag::RecordAction;
using ptag::Seconds;
using ptag::Store;
using ptag::StoreReader;
using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

const char* const kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Polls `done` every 10 ms for at most `limit`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  Steady::time_point end = Steady::now() + limit;
  while (!done()) {
    if (Steady::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// One request as the receiver saw it.
struct Arrival {
  std::string id;  // webhook-id without the store's id: "msg_N"
  std::string partner;
  std::string timestamp;  // webhook-timestamp
  Steady::time_point at;
  int status = 0;  // the answer
  std::string full_id;  // webhook-id as sent: "msg_<store id>_N"
};

// How the receiver answers a request (the n-th, from 0).
struct Reply {
  int status = 200;
  std::string retry_after;
  std::chrono::milliseconds hang{0};  // waits this long before answering
};

// A webhook receiver on 127.0.0.1 that checks signatures the Standard
// Webhooks way and answers as `policy` says.
class Receiver {
 public:
  Receiver() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(8); };
    server_.set_keep_alive_timeout(1);
    server_.Post(R"(/.*)",
                 [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void set_policy(std::function<Reply(const Arrival&, std::size_t)> p) {
    std::lock_guard lock(m_);
    policy = std::move(p);
  }
  std::vector<Arrival> arrivals() const {
    std::lock_guard lock(m_);
    return arrivals_;
  }
  std::size_t bad_signatures() const {
    std::lock_guard lock(m_);
    return bad_;
  }
  // Requests received so far, answered or not.
  std::size_t received() const {
    std::lock_guard lock(m_);
    return n_;
  }
  // webhook-id -> times answered 2xx.
  std::map<std::string, int> accepted() const {
    std::map<std::string, int> out;
    for (const Arrival& a : arrivals())
      if (a.status == 200) ++out[a.id];
    return out;
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    std::string full_id = req.get_header_value("webhook-id");
    Arrival a{"msg_" + full_id.substr(full_id.rfind('_') + 1), "", req.get_header_value("webhook-timestamp"),
              Steady::now(), 0, full_id};
    std::size_t p = req.body.find(R"("partner":")");
    if (p != std::string::npos) {
      p += 11;
      a.partner = req.body.substr(p, req.body.find('"', p) - p);
    }
    std::string key = *whsec_key(kSecret);
    std::string why =
        verify_standard(key, a.full_id, a.timestamp, req.get_header_value("webhook-signature"), req.body,
                        static_cast<Seconds>(std::time(nullptr)));
    Reply reply;
    {
      std::lock_guard lock(m_);
      if (!why.empty() || req.get_header_value("Content-Type") != "application/json") {
        ++bad_;
        reply.status = 401;
      } else {
        reply = policy(a, n_++);
      }
    }
    if (reply.hang.count() > 0) std::this_thread::sleep_for(reply.hang);
    a.status = reply.status;
    {
      std::lock_guard lock(m_);
      arrivals_.push_back(a);
    }
    res.status = reply.status;
    if (!reply.retry_after.empty()) res.set_header("Retry-After", reply.retry_after);
    res.set_content("ok", "text/plain");
  }

  std::function<Reply(const Arrival&, std::size_t n)> policy = [](const Arrival&, std::size_t) {
    return Reply{};
  };
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex m_;
  std::vector<Arrival> arrivals_;
  std::size_t n_ = 0, bad_ = 0;
};

// A port on 127.0.0.1 where nothing listens.
int closed_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(s);
  return ntohs(addr.sin_port);
}

// A listener on 127.0.0.1 that accepts connections and closes them unanswered.
class Hangup {
 public:
  Hangup() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;  // the listener was shut down
        ::close(c);
      }
    });
  }
  ~Hangup() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

 private:
  int fd_ = -1, port_ = 0;
  std::thread thread_;
};

std::string webhook_toml(const std::string& name, const std::string& url, const std::string& retry,
                         const std::string& timeout = "300ms") {
  return "[[webhooks]]\nname = \"" + name + "\"\nurl = \"" + url + "\"\nsecret = \"" + kSecret +
         "\"\nretry = [" + retry + "]\ntimeout = \"" + timeout + "\"\n";
}

ServeConfig config(const std::string& toml) {
  ConfigResult c = parse_config(toml, "test.toml");
  INFO((c.errors.empty() ? "" : c.errors.front()));
  REQUIRE(c.config);
  return *c.config;
}

// "50ms", n times.
std::string retries(int n, const char* delay = "50ms") {
  std::string out;
  for (int i = 0; i < n; ++i) out += std::string(i ? ", " : "") + "\"" + delay + "\"";
  return out;
}

// Commits records and their deliveries to `webhook` (ids first_id...), one
// per entry of `partners`, in that order, as the engine's commit would.
std::vector<Delivery> commit_outbox(Store& store, const std::string& webhook,
                                    const std::vector<std::string>& partners,
                                    std::int64_t first_id = 1) {
  ptag::StoreCommit c;
  std::vector<Delivery> out;
  std::int64_t id = first_id;
  for (const std::string& partner : partners) {
    ChangeRecord r;
    r.time = 1772360100 + id;
    r.partner = partner;
    r.action = RecordAction::add;
    r.tag = "VIP";
    r.rule = "vip";
    c.records.add(r);
    out.push_back(
        Delivery{id, webhook, partner, delivery_body(r, id), DeliveryStatus::pending, 0, 0, "", id});
    ++id;
  }
  c.deliveries = out;
  c.state.head = "state";
  c.clock = 1772360100 + id;
  store.commit(std::move(c));
  store.flush();
  return out;
}

std::optional<Delivery> stored(Store& store, std::int64_t id) {
  store.flush();
  return StoreReader::open(store.path())->delivery(id);
}

std::vector<Delivery> stored_pending(Store& store) {
  store.flush();
  return StoreReader::open(store.path())->deliveries(DeliveryStatus::pending, 0, 1000);
}

bool all_settled(Store& store, std::int64_t first, std::int64_t last, DeliveryStatus status) {
  store.flush();
  auto reader = StoreReader::open(store.path());
  for (std::int64_t id = first; id <= last; ++id)
    if (reader->delivery(id)->status != status) return false;
  return true;
}

// The value of one counter or gauge series, or a histogram's sample count.
double metric(prometheus::Registry& registry, const std::string& name, const std::string& webhook,
              const std::string& result = "") {
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    if (f.name != name) continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      bool match = true;
      for (const prometheus::ClientMetric::Label& l : m.label)
        if ((l.name == "webhook" && l.value != webhook) ||
            (l.name == "result" && l.value != result))
          match = false;
      if (!match) continue;
      if (f.type == prometheus::MetricType::Counter) return m.counter.value;
      if (f.type == prometheus::MetricType::Gauge) return m.gauge.value;
      if (f.type == prometheus::MetricType::Histogram)
        return static_cast<double>(m.histogram.sample_count);
    }
  }
  return -1;
}

std::string msg(std::int64_t id) {
  return "msg_" + std::to_string(id);
}

// Per partner, no delivery is sent before the one before it (by id) was accepted.
void check_partner_order(const std::vector<Arrival>& arrivals,
                         const std::vector<Delivery>& deliveries) {
  std::map<std::string, std::int64_t> id_of;  // webhook-id -> id
  for (const Delivery& d : deliveries) id_of[msg(d.id)] = d.id;
  std::map<std::string, std::int64_t> previous;  // id -> the partner's id before it
  std::map<std::string, std::int64_t> last_of;
  for (const Delivery& d : deliveries) {
    previous[msg(d.id)] = last_of.count(d.partner) ? last_of[d.partner] : 0;
    last_of[d.partner] = d.id;
  }
  std::set<std::int64_t> accepted;
  for (const Arrival& a : arrivals) {
    REQUIRE(id_of.count(a.id) == 1);
    std::int64_t before = previous[a.id];
    INFO(a.id << " of " << a.partner << " before " << msg(before));
    CHECK((before == 0 || accepted.count(before) == 1));
    if (a.status == 200) accepted.insert(id_of[a.id]);
  }
}

}  // namespace

TEST_CASE("deliverer: every delivery arrives, per partner in order, once, after 5xx and timeouts") {
  Receiver receiver;
  // 503 for the first twelve requests, then two that hang past the timeout, then 200.
  receiver.set_policy([](const Arrival&, std::size_t n) {
    if (n < 12) return Reply{503, "", 0ms};
    if (n < 14) return Reply{503, "", 500ms};
    return Reply{};
  });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  std::vector<std::string> partners;
  for (int i = 0; i < 24; ++i) partners.push_back("p-" + std::to_string(i % 3));
  std::vector<Delivery> outbox = commit_outbox(*store, "crm", partners);
  prometheus::Registry registry;
  {
    Deliverer deliverer(config(webhook_toml("crm", receiver.url(), retries(20))), *store, registry);
    deliverer.start(stored_pending(*store));
    REQUIRE(eventually([&] { return deliverer.pending() == 0; }));
  }
  std::map<std::string, int> accepted = receiver.accepted();
  CHECK(accepted.size() == 24);
  for (const Delivery& d : outbox) CHECK(accepted[msg(d.id)] == 1);
  // Every webhook-id carries the store's random id: another store's msg_1 is another id.
  REQUIRE(store->loaded().store_id.size() == 16);
  for (const Arrival& a : receiver.arrivals())
    CHECK(a.full_id == delivery_id(store->loaded().store_id, std::stoull(a.id.substr(4))));
  CHECK(receiver.bad_signatures() == 0);
  std::vector<Arrival> arrivals = receiver.arrivals();
  CHECK(arrivals.size() == 24 + 14);
  check_partner_order(arrivals, outbox);
  CHECK(all_settled(*store, 1, 24, DeliveryStatus::delivered));
  std::int64_t attempts = 0;
  auto reader = StoreReader::open(store->path());
  for (const Delivery& d : outbox) attempts += reader->delivery(d.id)->attempts;
  CHECK(attempts == 24 + 14);
  CHECK(metric(registry, "ptag_deliveries_total", "crm", "delivered") == 24);
  CHECK(metric(registry, "ptag_deliveries_total", "crm", "retried") == 14);
  CHECK(metric(registry, "ptag_deliveries_total", "crm", "failed") == 0);
  CHECK(metric(registry, "ptag_delivery_seconds", "crm") == 24 + 14);
  CHECK(metric(registry, "ptag_outbox_pending", "crm") == 0);
}

TEST_CASE("deliverer: retries used up fail the delivery; retry() sends it again") {
  Receiver receiver;
  receiver.set_policy([](const Arrival& a, std::size_t) {
    return Reply{a.id == "msg_1" ? 503 : 200, "", 0ms};
  });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  std::vector<Delivery> outbox = commit_outbox(*store, "crm", {"p-a", "p-a"});
  prometheus::Registry registry;
  Deliverer deliverer(config(webhook_toml("crm", receiver.url(), retries(2))), *store, registry);
  deliverer.start(stored_pending(*store));
  REQUIRE(eventually([&] { return deliverer.pending() == 0; }));
  std::optional<Delivery> first = stored(*store, 1);
  CHECK(first->status == DeliveryStatus::failed);
  CHECK(first->attempts == 3);  // the first attempt and two retries
  CHECK(first->last_error == "HTTP 503");
  CHECK(stored(*store, 2)->status == DeliveryStatus::delivered);
  // The partner's next delivery waited until the first had failed for good.
  std::vector<Arrival> arrivals = receiver.arrivals();
  REQUIRE(arrivals.size() == 4);
  CHECK(arrivals[0].id == "msg_1");
  CHECK(arrivals[2].id == "msg_1");
  CHECK(arrivals[3].id == "msg_2");
  CHECK(metric(registry, "ptag_deliveries_total", "crm", "failed") == 1);

  receiver.set_policy([](const Arrival&, std::size_t) { return Reply{}; });
  CHECK(deliverer.retry(*first));
  REQUIRE(eventually([&] { return stored(*store, 1)->status == DeliveryStatus::delivered; }));
  CHECK(stored(*store, 1)->attempts == 1);  // a retry starts the schedule again
  CHECK(receiver.accepted()["msg_1"] == 1);
  Delivery elsewhere = *first;
  elsewhere.webhook = "not-configured";
  CHECK_FALSE(deliverer.retry(elsewhere));
}

TEST_CASE(
    "deliverer: last_error says why: a timeout, a refused or closed connection; webhook-timestamp "
    "is the attempt's") {
  Receiver receiver;
  Hangup hangup;
  receiver.set_policy([](const Arrival&, std::size_t) { return Reply{200, "", 800ms}; });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  std::string closed = "http://127.0.0.1:" + std::to_string(closed_port()) + "/hook";
  ServeConfig c =
      config(webhook_toml("slow", receiver.url(), "") + webhook_toml("closed", closed, "") +
             webhook_toml("hangup", hangup.url(), ""));
  commit_outbox(*store, "slow", {"p-a"}, 1);
  commit_outbox(*store, "closed", {"p-a"}, 2);
  commit_outbox(*store, "hangup", {"p-a"}, 3);
  Seconds clock = static_cast<Seconds>(std::time(nullptr)) - 100;
  prometheus::Registry registry;
  Deliverer deliverer(
      c, *store, registry, [clock] { return clock; }, 7);
  deliverer.start(stored_pending(*store));
  REQUIRE(eventually([&] { return deliverer.pending() == 0; }));
  CHECK(stored(*store, 1)->last_error == "timed out after 300ms");
  CHECK(stored(*store, 1)->status == DeliveryStatus::failed);
  CHECK(stored(*store, 2)->last_error == "connection refused or host unreachable");
  CHECK(stored(*store, 2)->attempts == 1);
  // The peer may hang up before the request is written or after: either is said.
  CHECK_THAT(stored(*store, 3)->last_error,
             Catch::Equals("connection closed before an answer") || Catch::Equals("connection closed while sending"));
  REQUIRE(eventually([&] { return receiver.arrivals().size() == 1; }));
  CHECK(receiver.arrivals()[0].timestamp == std::to_string(clock));
}

TEST_CASE("deliverer: 410 disables the endpoint; its deliveries fail; retry() enables it again") {
  Receiver receiver;
  receiver.set_policy([](const Arrival&, std::size_t) { return Reply{410, "", 50ms}; });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  std::vector<Delivery> outbox =
      commit_outbox(*store, "crm", {"p-a", "p-b", "p-c", "p-a", "p-b", "p-c", "p-a"});
  prometheus::Registry registry;
  Deliverer deliverer(config(webhook_toml("crm", receiver.url(), retries(5))), *store, registry);
  deliverer.start(stored_pending(*store));
  REQUIRE(eventually([&] { return deliverer.pending() == 0; }));
  CHECK(all_settled(*store, 1, 7, DeliveryStatus::failed));
  // Only partners' first deliveries were sent (the heads), each at most once.
  std::vector<Arrival> arrivals = receiver.arrivals();
  REQUIRE_FALSE(arrivals.empty());
  std::set<std::string> sent;
  for (const Arrival& a : arrivals) {
    CHECK((a.id == "msg_1" || a.id == "msg_2" || a.id == "msg_3"));
    CHECK(sent.insert(a.id).second);
    CHECK_THAT(stored(*store, std::stoll(a.id.substr(4)))->last_error, Catch::Contains("HTTP 410"));
  }
  CHECK_THAT(stored(*store, 7)->last_error, Catch::StartsWith("endpoint disabled: msg_"));
  CHECK(metric(registry, "ptag_deliveries_total", "crm", "gone") == 7);
  // A new delivery for the disabled endpoint fails at once, unsent.
  std::vector<Delivery> fresh = commit_outbox(*store, "crm", {"p-d"}, 8);
  deliverer.add(fresh);
  REQUIRE(eventually([&] { return stored(*store, 8)->status == DeliveryStatus::failed; }));
  CHECK_THAT(stored(*store, 8)->last_error, Catch::StartsWith("endpoint disabled"));
  CHECK(receiver.arrivals().size() == arrivals.size());
  CHECK(deliverer.pending() == 0);
  // The receiver is back: a retry enables the endpoint.
  receiver.set_policy([](const Arrival&, std::size_t) { return Reply{}; });
  CHECK(deliverer.retry(*stored(*store, 8)));
  REQUIRE(eventually([&] { return stored(*store, 8)->status == DeliveryStatus::delivered; }));
  std::vector<Delivery> after = commit_outbox(*store, "crm", {"p-d"}, 9);
  deliverer.add(after);
  REQUIRE(eventually([&] { return stored(*store, 9)->status == DeliveryStatus::delivered; }));
}

TEST_CASE("deliverer: a restart continues the pending deliveries with the same ids") {
  Receiver receiver;
  receiver.set_policy([](const Arrival&, std::size_t n) {
    return Reply{n < 3 ? 200 : 503, "", 0ms};
  });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  std::vector<std::string> partners;
  for (int i = 0; i < 10; ++i) partners.push_back(i % 2 ? "p-b" : "p-a");
  std::vector<Delivery> outbox = commit_outbox(*store, "crm", partners);
  ServeConfig c = config(webhook_toml("crm", receiver.url(), retries(30, "100ms")));
  {
    prometheus::Registry registry;
    Deliverer deliverer(c, *store, registry);
    deliverer.start(stored_pending(*store));
    REQUIRE(eventually([&] { return receiver.arrivals().size() >= 6; }));
  }
  std::vector<Delivery> pending = stored_pending(*store);
  CHECK(pending.size() == 7);
  std::int64_t tried = 0;
  for (const Delivery& d : pending) tried += d.attempts;
  CHECK(tried == static_cast<std::int64_t>(receiver.arrivals().size()) - 3);
  CHECK(pending.front().last_error == "HTTP 503");

  receiver.set_policy([](const Arrival&, std::size_t) { return Reply{}; });
  prometheus::Registry registry;
  Deliverer deliverer(c, *store, registry);
  deliverer.start(pending);
  REQUIRE(eventually([&] { return deliverer.pending() == 0; }));
  CHECK(all_settled(*store, 1, 10, DeliveryStatus::delivered));
  std::map<std::string, int> accepted = receiver.accepted();
  CHECK(accepted.size() == 10);
  for (const Delivery& d : outbox) CHECK(accepted[msg(d.id)] == 1);
  check_partner_order(receiver.arrivals(), outbox);
  CHECK(receiver.bad_signatures() == 0);
}

TEST_CASE("deliverer: a partner's failing delivery holds up only that partner") {
  Receiver receiver;
  receiver.set_policy([](const Arrival& a, std::size_t) {
    return Reply{a.partner == "p-a" ? 503 : 200, "", 0ms};
  });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  commit_outbox(*store, "crm", {"p-a", "p-b", "p-a", "p-b", "p-b", "p-b"});
  prometheus::Registry registry;
  auto deliverer = std::make_unique<Deliverer>(
      config(webhook_toml("crm", receiver.url(), "\"5s\"")), *store, registry);
  deliverer->start(stored_pending(*store));
  REQUIRE(eventually([&] { return all_settled(*store, 4, 6, DeliveryStatus::delivered); }, 3s));
  CHECK(all_settled(*store, 2, 2, DeliveryStatus::delivered));
  std::optional<Delivery> head = stored(*store, 1);
  CHECK(head->status == DeliveryStatus::pending);
  CHECK(head->attempts == 1);
  CHECK(head->last_error == "HTTP 503");
  CHECK(head->next_attempt >= static_cast<Seconds>(std::time(nullptr)) + 3);
  CHECK(stored(*store, 3)->attempts == 0);  // waits behind the partner's first
  CHECK(deliverer->pending() == 2);
  // Stopping does not wait for a retry that is not due.
  Steady::time_point before = Steady::now();
  deliverer.reset();
  CHECK(Steady::now() - before < 1s);
  for (const Arrival& a : receiver.arrivals()) CHECK(a.id != "msg_3");
}

TEST_CASE("deliverer: Retry-After is honoured") {
  Receiver receiver;
  receiver.set_policy([](const Arrival&, std::size_t n) {
    return n == 0 ? Reply{503, "1", 0ms} : Reply{};
  });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  commit_outbox(*store, "crm", {"p-a"});
  prometheus::Registry registry;
  Deliverer deliverer(config(webhook_toml("crm", receiver.url(), retries(2))), *store, registry);
  deliverer.start(stored_pending(*store));
  REQUIRE(eventually([&] { return deliverer.pending() == 0; }));
  std::vector<Arrival> arrivals = receiver.arrivals();
  REQUIRE(arrivals.size() == 2);
  CHECK(arrivals[1].at - arrivals[0].at >= 950ms);  // not the schedule's 50 ms
  CHECK(stored(*store, 1)->status == DeliveryStatus::delivered);
  CHECK(stored(*store, 1)->attempts == 2);
}

TEST_CASE("deliverer: a delivery added while its partner's head is in flight waits for it") {
  Receiver receiver;
  receiver.set_policy([](const Arrival& a, std::size_t) {
    return Reply{200, "", a.id == "msg_1" ? 300ms : 0ms};
  });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  prometheus::Registry registry;
  Deliverer deliverer(config(webhook_toml("crm", receiver.url(), retries(2), "2s")), *store,
                      registry);
  deliverer.start({});
  std::vector<Delivery> outbox = commit_outbox(*store, "crm", {"p-a"}, 1);
  deliverer.add(outbox);
  REQUIRE(eventually([&] { return receiver.received() == 1; }));  // msg_1 is in flight
  std::vector<Delivery> more = commit_outbox(*store, "crm", {"p-a", "p-b"}, 2);
  deliverer.add(more);
  deliverer.add(more);  // twice: queued once
  REQUIRE(eventually([&] { return deliverer.pending() == 0; }));
  std::vector<Arrival> arrivals = receiver.arrivals();
  REQUIRE(arrivals.size() == 3);
  CHECK(arrivals[0].id == "msg_3");  // the other partner went ahead
  CHECK(arrivals[1].id == "msg_1");
  CHECK(arrivals[2].id == "msg_2");
  outbox.insert(outbox.end(), more.begin(), more.end());
  check_partner_order(arrivals, outbox);
  CHECK(all_settled(*store, 1, 3, DeliveryStatus::delivered));
}

TEST_CASE("deliverer: at most `in_memory` deliveries are held; the rest are read in from the outbox") {
  Receiver receiver;
  receiver.set_policy([](const Arrival&, std::size_t) { return Reply{200, "", 5ms}; });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  std::vector<std::string> partners;
  for (int i = 0; i < 40; ++i) partners.push_back("p-" + std::to_string(i % 7));
  std::vector<Delivery> outbox = commit_outbox(*store, "crm", partners);
  prometheus::Registry registry;
  Deliverer deliverer(config(webhook_toml("crm", receiver.url(), retries(5))), *store, registry, wall_clock_now, 3,
                      /*in_memory=*/4);
  deliverer.start_from_store();
  std::size_t most = 0;
  REQUIRE(eventually([&] {
    most = std::max(most, deliverer.held());
    return deliverer.pending() == 0;
  }));
  CHECK(most <= 4);
  CHECK(metric(registry, "ptag_outbox_pending", "crm") == 0);
  // Added while the first ones wait: held up to the window, the rest read in later.
  std::vector<Delivery> more = commit_outbox(*store, "crm", partners, 41);
  deliverer.add(more);
  REQUIRE(eventually([&] {
    most = std::max(most, deliverer.held());
    return deliverer.pending() == 0;
  }));
  CHECK(most <= 4);
  std::map<std::string, int> accepted = receiver.accepted();
  CHECK(accepted.size() == 80);
  for (const Delivery& d : outbox) CHECK(accepted[msg(d.id)] == 1);
  for (const Delivery& d : more) CHECK(accepted[msg(d.id)] == 1);
  std::vector<Delivery> all = outbox;
  all.insert(all.end(), more.begin(), more.end());
  check_partner_order(receiver.arrivals(), all);
  CHECK(all_settled(*store, 1, 80, DeliveryStatus::delivered));
}

TEST_CASE("deliverer: after a 410, the deliveries still in the store fail unsent too") {
  Receiver receiver;
  receiver.set_policy([](const Arrival&, std::size_t) { return Reply{410, "", 50ms}; });
  TempDir dir;
  auto store = Store::open(dir.file("state.db"));
  std::vector<std::string> partners;
  for (int i = 0; i < 12; ++i) partners.push_back("p-" + std::to_string(i));
  commit_outbox(*store, "crm", partners);
  prometheus::Registry registry;
  Deliverer deliverer(config(webhook_toml("crm", receiver.url(), retries(5))), *store, registry, wall_clock_now, 3,
                      /*in_memory=*/2);
  deliverer.start_from_store();
  REQUIRE(eventually([&] { return deliverer.pending() == 0; }));
  CHECK(all_settled(*store, 1, 12, DeliveryStatus::failed));
  CHECK(receiver.arrivals().size() <= 2);  // only what was in flight when the 410 came
  CHECK(metric(registry, "ptag_deliveries_total", "crm", "gone") == 12);
}
