#include "metrics.hpp"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace ptag::serve {

namespace {
prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}
}  // namespace

Metrics::Metrics(prometheus::Registry& r)
    : registry(r),
      events(prometheus::BuildCounter().Name("ptag_events_total").Help("Events received, by result").Register(r)),
      records(prometheus::BuildCounter().Name("ptag_records_total").Help("Change records, by action").Register(r)),
      events_applied(events.Add({{"result", "applied"}})),
      events_duplicate(events.Add({{"result", "duplicate"}})),
      events_rejected(events.Add({{"result", "rejected"}})),
      events_late(prometheus::BuildCounter()
                      .Name("ptag_events_late_total")
                      .Help("Events applied though older than the clock by more than late_event_warning")
                      .Register(r)
                      .Add({})),
      records_add(records.Add({{"action", "add"}})),
      records_remove(records.Add({{"action", "remove"}})),
      records_emit(records.Add({{"action", "emit"}})),
      timers_pending(prometheus::BuildGauge()
                         .Name("ptag_timers_pending")
                         .Help("Entries in the timer queue: one per partner with a timer or expiry waiting, plus superseded entries not yet due")
                         .Register(r)
                         .Add({})),
      partners(prometheus::BuildGauge().Name("ptag_partners").Help("Partners in the state").Register(r).Add({})),
      commit_seconds(prometheus::BuildHistogram()
                         .Name("ptag_commit_seconds")
                         .Help("From the first request of a group to its durable commit")
                         .Register(r)
                         .Add({}, latency_buckets())),
      commit_bytes(prometheus::BuildHistogram()
                       .Name("ptag_commit_bytes")
                       .Help("Bytes each store transaction wrote to its write-ahead log (whole pages)")
                       .Register(r)
                       .Add({}, prometheus::Histogram::BucketBoundaries{4096, 16384, 65536, 102400, 262144,
                                                                         1048576, 4194304, 16777216, 67108864,
                                                                         268435456})),
      request_seconds(prometheus::BuildHistogram()
                          .Name("ptag_request_seconds")
                          .Help("HTTP request latency, by route")
                          .Register(r)),
      http_connections(prometheus::BuildGauge()
                           .Name("ptag_http_connections")
                           .Help("Open HTTP connections, on every listener")
                           .Register(r)
                           .Add({})),
      http_cut(prometheus::BuildCounter()
                   .Name("ptag_http_connections_cut_total")
                   .Help("Connections closed for missing a deadline, by reason (header_timeout, body_timeout)")
                   .Register(r)),
      source_payloads(prometheus::BuildCounter()
                          .Name("ptag_source_payloads_total")
                          .Help("Platform webhooks by source and result: applied, duplicate, rejected, ignored "
                                "(both kept as dead letters), unauthorized")
                          .Register(r)),
      currency_events(prometheus::BuildCounter()
                          .Name("ptag_currency_events_total")
                          .Help("Applied sales, refunds and commissions by data.currency (upper case); several "
                                "currencies without a currency declaration were summed as one")
                          .Register(r)) {}

prometheus::Counter& Metrics::source(const std::string& name, const std::string& result) {
  return source_payloads.Add({{"source", name}, {"result", result}});
}

prometheus::Histogram& Metrics::request(const std::string& route) {
  return request_seconds.Add({{"route", route}}, latency_buckets());
}

std::string Metrics::text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace ptag::serve
