// What `ptag serve` counts, for GET /metrics (prometheus-cpp, text format).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace ptag::serve {

struct Metrics {
  explicit Metrics(prometheus::Registry& registry);

  prometheus::Registry& registry;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Family<prometheus::Counter>& records;
  prometheus::Counter& events_applied;
  prometheus::Counter& events_duplicate;
  prometheus::Counter& events_rejected;
  prometheus::Counter& events_late;
  prometheus::Counter& records_add;
  prometheus::Counter& records_remove;
  prometheus::Counter& records_emit;
  prometheus::Gauge& timers_pending;
  prometheus::Gauge& partners;
  prometheus::Histogram& commit_seconds;
  prometheus::Histogram& commit_bytes;
  prometheus::Family<prometheus::Histogram>& request_seconds;
  prometheus::Gauge& http_connections;
  prometheus::Family<prometheus::Counter>& http_cut;
  prometheus::Family<prometheus::Counter>& source_payloads;
  // Money events by data.currency: more than one series without a
  // `currency` declaration means amounts were summed as one.
  prometheus::Family<prometheus::Counter>& currency_events;

  // A source's requests by result: applied, duplicate, rejected, ignored, unauthorized.
  prometheus::Counter& source(const std::string& name, const std::string& result);

  // The histogram of one route ("POST /v1/events").
  prometheus::Histogram& request(const std::string& route);
  std::string text() const;  // the exposition format
};

}  // namespace ptag::serve
