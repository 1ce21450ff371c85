// Sends the outbox's deliveries to their webhooks, with retries (docs/serve.md,
// "Delivery"): per webhook and partner in record order, only a head at a time;
// every attempt's outcome goes to the store.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "ptag/store.hpp"

namespace prometheus {
class Registry;
}

namespace ptag::serve {

// Attempts of one webhook in flight at once (each a different partner's
// head), on one sender thread with libcurl's multi interface and kept-alive
// connections: a slow or hanging endpoint holds up only its own deliveries.
inline constexpr std::size_t kAttemptsPerWebhook = 16;
// Pending deliveries of one webhook held in memory at most; the rest wait in
// the store's outbox and are read in, oldest first, as these go out (a
// receiver down for a day must not grow the server's memory).
inline constexpr std::size_t kDeliveriesInMemory = 10'000;

// The wall clock, Unix seconds (the default `now`).
Seconds wall_clock_now();
// A seed for the retries' jitter from std::random_device (the default `seed`).
std::uint64_t random_seed();

class Deliverer {
 public:
  // `store` and `registry` outlive it. Registers on `registry`:
  // ptag_deliveries_total{webhook,result="delivered|retried|failed|gone"},
  // ptag_outbox_pending{webhook} and ptag_delivery_seconds{webhook} (one
  // attempt, from sending to the answer). `now` gives the attempts' Unix
  // seconds (webhook-timestamp, next_attempt); `seed` the jitter's.
  Deliverer(const ServeConfig& config, Store& store, prometheus::Registry& registry,
            std::function<Seconds()> now = wall_clock_now, std::uint64_t seed = random_seed(),
            std::size_t in_memory = kDeliveriesInMemory);
  ~Deliverer();  // stop()
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  // The store's pending deliveries at startup, in id order; starts the
  // senders (once; add() may come before). Each is first sent at its
  // `next_attempt`. Pending deliveries of a webhook that is not in the
  // config stay pending, unsent (logged once).
  void start(std::vector<Delivery> pending);
  // As start(), with the store's pending deliveries read in from the
  // outbox as room allows (the server's start).
  void start_from_store();
  // New deliveries, once their commit is durable, in id order. For an
  // endpoint disabled by 410 they fail at once.
  void add(std::vector<Delivery> fresh);
  // POST /v1/deliveries/{id}/retry: sends `d` again now, with the whole retry
  // schedule (attempts start again at 0), before the later pending
  // deliveries of its partner (after an earlier one still pending); a
  // disabled endpoint is enabled again. A delivery still pending is sent
  // now instead of at its next attempt. False when its webhook is not in
  // the config.
  bool retry(const Delivery& d);
  // How many more deliveries of this webhook memory holds now (a bulk retry
  // takes at most this many at a time).
  std::size_t room(std::string_view webhook) const;
  // Deliveries waiting or in flight, in memory or still in the store.
  std::size_t pending() const;
  // Of them, those held in memory.
  std::size_t held() const;
  // In-flight attempts finish (each bounded by its timeout) and are stored;
  // the senders stop. What is still pending stays so in the store.
  void stop();

  struct Endpoint;

 private:
  Endpoint* endpoint(std::string_view webhook) const;

  std::function<Seconds()> now_;
  std::string store_path_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<bool> started_{false};
};

}  // namespace ptag::serve
