#include "http.hpp"

#include "http_common.hpp"
#include "source_routes.hpp"
#include "views.hpp"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>

#include "delivery.hpp"
#include "log.hpp"
#include "ptag/compiler.hpp"
#include "ptag/decimal.hpp"
#include "ptag/diagnostic.hpp"
#include "ptag/durable.hpp"
#include "ptag/text.hpp"
#include "signature.hpp"
#include "sources.hpp"

namespace ptag::serve {

void answer(HttpResponse& res, const Answer& a) {
  res.status = a.status;
  res.type = kJson;
  res.body = a.body;
}

Answer error(int status, std::string_view message) {
  return {status, R"({"error":)" + json_quote(message) + "}"};
}

namespace {

// Why late events deserve a warning, and the supported way to bring history in.
std::string late_warning(std::size_t late, Seconds bound) {
  return std::to_string(late) + (late == 1 ? " event was" : " events were") +
         " older than the server's clock by more than late_event_warning (" + std::to_string(bound) +
         " s): timers and expiring tags had already moved past them, and their records go to the webhooks now. "
         "To bring history in, run it with `ptag run --state` before serving it (docs/serve.md, \"Importing history\")";
}

}  // namespace

Answer ingest_answer(const IngestOutcome& o, const ServeConfig& config) {
  using Refused = IngestOutcome::Refused;
  switch (o.refused) {
    case Refused::none:
    case Refused::strict: break;
    case Refused::too_big:
      return error(413, "the request has " + o.error + " events, more than max_queued_events (" +
                            std::to_string(config.max_queued_events) + ") can hold: send smaller batches");
    case Refused::too_many: return error(429, "too many events wait to be applied; retry later");
    case Refused::stopping: return error(503, "the server is stopping");
    case Refused::store_failed: return error(503, "the store failed: " + o.error);
  }
  std::string out = R"({"applied":)" + std::to_string(o.applied) + R"(,"duplicates":)" +
                    std::to_string(o.duplicates) + R"(,"rejected":)" + std::to_string(o.rejected) + R"(,"results":[)";
  for (std::size_t i = 0; i < o.results.size(); ++i) {
    const ItemResult& r = o.results[i];
    out += (i ? ",{" : "{");
    out += R"("index":)" + std::to_string(r.index);
    out += R"(,"id":)" + (r.id ? json_quote(*r.id) : std::string("null"));
    out += R"(,"status":)" + json_quote(r.status);
    out += R"(,"reason":)" + json_quote(r.reason) + "}";
  }
  out += "]";
  if (o.late > 0) out += R"(,"warnings":[)" + json_quote(late_warning(o.late, config.late_event_warning)) + "]";
  return {o.refused == Refused::strict ? 422 : 200, out + "}"};
}

bool has_token(const HttpRequest& req, std::initializer_list<const std::vector<std::string>*> lists) {
  std::string_view header = req.header("Authorization").value_or("");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) return false;
  std::string_view token = header.substr(kBearer.size());
  bool found = false;
  for (const std::vector<std::string>* list : lists)
    for (const std::string& t : *list) found |= constant_time_equal(t, token);  // no early exit
  return found;
}

std::string value_json(const Value& v) {
  switch (v.kind) {
    case Value::Kind::number: return format_decimal(v.number);
    case Value::Kind::boolean: return v.number ? "true" : "false";
    case Value::Kind::text:
    case Value::Kind::list: return json_quote(v.text);
  }
  return "null";
}

std::string record_json(const StoredRecord& r) {
  std::string out;
  append_record_json(out, r.view());
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::optional<std::int64_t> whole_number(std::string_view text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return std::stoll(std::string(text));
}

std::int64_t whole_param(const HttpRequest& req, std::string_view name, std::int64_t fallback, std::int64_t min,
                         std::int64_t max) {
  if (!req.has_param(name)) return fallback;
  std::optional<std::int64_t> n = whole_number(req.param(name));
  if (!n || *n < min || *n > max)
    throw BadParameter{std::string(name), std::string(name) + " is a whole number from " + std::to_string(min) +
                                              " to " + std::to_string(max)};
  return *n;
}

void RouteTable::add(HttpRoute route) {
  HttpHandler handler = std::move(route.handler);
  prometheus::Histogram* histogram = &metrics.request(route.method + " " + route.pattern);
  route.handler = [handler, histogram](const HttpRequest& req, HttpResponse& res) {
    auto start = std::chrono::steady_clock::now();
    try {
      handler(req, res);
    } catch (const BadParameter& bad) {
      answer(res, bad_parameter(bad.parameter, bad.message));
    }
    histogram->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  routes.push_back(std::move(route));
}

Answer bad_parameter(std::string_view parameter, std::string_view message) {
  return {400, R"({"error":)" + json_quote(message) + R"(,"parameter":)" + json_quote(parameter) + "}"};
}

namespace {

std::string optional_time(std::optional<Seconds> t) {
  return t ? json_quote(format_time(*t)) : "null";
}

// A metric as an exact JSON number.
std::string money(std::int64_t millionths) {
  return format_decimal(millionths);
}

std::string partner_json(DurableEngine& d, std::size_t i) {
  const Engine& e = d.engine();
  std::string out = R"({"partner":)" + json_quote(e.partner_id(i)) + R"(,"tags":[)";
  std::vector<StoredTag> tags = d.partner_tags(i);
  for (std::size_t t = 0; t < tags.size(); ++t) {
    out += (t ? ",{" : "{");
    out += R"("tag":)" + json_quote(tags[t].tag) + R"(,"since":)" + json_quote(format_time(tags[t].added_at)) +
           R"(,"rule":)" + json_quote(tags[t].rule) + R"(,"expires":)" + optional_time(tags[t].expires_at) + "}";
  }
  out += R"(],"metrics":{)";
  for (std::size_t m = 0; m < kMetrics; ++m)
    out += std::string(m ? "," : "") + json_quote(metrics()[m]) + ":" + money(e.partner_metric(i, static_cast<Metric>(m)));
  out += R"(},"attributes":{)";
  auto attributes = e.partner_attributes(i);
  for (std::size_t a = 0; a < attributes.size(); ++a)
    out += (a ? "," : "") + json_quote(attributes[a].first) + ":" + value_json(attributes[a].second);
  Engine::PartnerTimes at = e.partner_times(i);
  auto when = [](Seconds t) { return t ? json_quote(format_time(t)) : std::string("null"); };
  out += R"(},"joined_at":)" + when(at.joined_at) + R"(,"last_activity":)" + when(at.last_activity) +
         R"(,"last_referral":)" + when(at.last_referral) + "}";
  return out;
}

// The record inside a delivery's body ({"type":...,"timestamp":...,"data":RECORD}).
std::string delivery_record(const std::string& body) {
  std::size_t at = body.find(R"("data":)");
  if (at == std::string::npos || body.size() < at + 8) return "null";
  return body.substr(at + 7, body.size() - at - 8);
}

std::string delivery_json(const Delivery& d, std::string_view store_id) {
  bool waiting = d.status == DeliveryStatus::pending;
  return R"({"id":)" + json_quote(delivery_id(store_id, static_cast<std::uint64_t>(d.id))) + R"(,"webhook":)" +
         json_quote(d.webhook) + R"(,"partner":)" + json_quote(d.partner) + R"(,"status":)" +
         json_quote(delivery_status_name(d.status)) + R"(,"attempts":)" + std::to_string(d.attempts) +
         R"(,"next_attempt":)" + (waiting ? json_quote(format_time(d.next_attempt)) : std::string("null")) +
         R"(,"last_error":)" + (d.last_error.empty() ? std::string("null") : json_quote(d.last_error)) +
         R"(,"seq":)" + std::to_string(d.record) + R"(,"record":)" + delivery_record(d.body) + "}";
}

// `hint`: added to the reason of a body that cannot be read.
Answer ingest(Routes& r, ParsedBody body, bool strict, std::string_view hint = {}) {
  if (!body.error.empty() || (!body.any_json && body.events.empty())) {
    std::string reason = (body.error.empty() ? "no line of the body is JSON" : body.error) + std::string(hint);
    std::string out = R"({"error":)" + json_quote(reason) + R"(,"results":[)";
    for (std::size_t i = 0; i < body.rejected.size() && i < 100; ++i)
      out += (i ? "," : "") + std::string(R"({"index":)") + std::to_string(body.rejected[i].index) +
             R"(,"status":"rejected","reason":)" + json_quote(body.rejected[i].reason) + "}";
    return {400, out + "]}"};
  }
  return ingest_answer(r.applier.ingest(std::move(body), strict), r.config);
}

void add_reads(RouteTable& t, Routes& r) {
  // What each metric is, from the metric table: the page formats and sorts by it.
  t.add({"GET", "/v1/metrics", Access::read, false, false, [](const HttpRequest&, HttpResponse& res) {
    std::string out = R"({"metrics":[)";
    for (std::size_t m = 0; m < kMetrics; ++m)
      out += std::string(m ? "," : "") + R"({"name":)" + json_quote(metrics()[m]) + R"(,"unit":)" +
             (kMetricSpecs[m].unit == MetricUnit::money ? R"("money")" : R"("count")") + R"(,"summary":)" +
             json_quote(metric_infos()[m].summary) + "}";
    res.type = kJson;
    res.body = out + "]}";
  }});
  t.add({"GET", "/v1/partners/{id}", Access::read, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    std::string id = req.path_params[0];
    answer(res, r.applier.call([id](DurableEngine& d, const Program&) -> Answer {
      std::optional<std::size_t> i = d.engine().find_partner(id);
      if (!i) return error(404, "no partner " + json_quote(id));
      return {200, partner_json(d, *i)};
    }));
  }});
  t.add({"GET", "/v1/partners/{id}/history", Access::read, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    const std::string& id = req.path_params[0];
    std::int64_t limit = limit_param(req, 1000, 100000);
    try {
      auto reader = StoreReader::open(r.state);
      std::vector<StoredRecord> records = reader->partner_records(id, limit);
      std::string out = R"({"partner":)" + json_quote(id) + R"(,"records":[)";
      for (std::size_t i = 0; i < records.size(); ++i) out += (i ? "," : "") + record_json(records[i]);
      answer(res, {200, out + "]}"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }});
  t.add({"GET", "/v1/partners", Access::read, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    std::string query = req.has_param("query") ? req.param("query") : "true";
    bool count = req.param("count") == "true";
    std::int64_t cursor = whole_param(req, "cursor", 0, 0, std::numeric_limits<std::int64_t>::max());
    std::int64_t limit = limit_param(req, 1000, 10000);
    answer(res, r.applier.call([=](DurableEngine& d, const Program& program) -> Answer {
      SegmentResult segment = compile_segment(program, query);
      if (!segment.program)
        return {400, R"({"error":"the query does not compile","diagnostics":)" +
                         render_json_rendered(segment.diagnostics.all(), segment.sources) + "}"};
      std::vector<std::size_t> found = d.engine().segment(*segment.program);
      if (count) return {200, R"({"count":)" + std::to_string(found.size()) + "}"};
      auto from = std::lower_bound(found.begin(), found.end(), static_cast<std::size_t>(cursor));
      std::string out = R"({"partners":[)";
      std::size_t n = 0;
      for (; from != found.end() && n < static_cast<std::size_t>(limit); ++from, ++n)
        out += (n ? "," : "") + json_quote(d.engine().partner_id(*from));
      out += R"(],"next":)" + (from == found.end() ? std::string("null") : json_quote(std::to_string(*from))) + "}";
      return {200, out};
    }));
  }});
  t.add({"GET", "/v1/tags", Access::read, false, false, [&r](const HttpRequest&, HttpResponse& res) {
    answer(res, r.applier.call([](DurableEngine& d, const Program& program) -> Answer {
      std::map<std::string, std::size_t, std::less<>> counts;
      const Engine& e = d.engine();
      for (std::size_t i = 0; i < e.partner_count(); ++i)
        for (std::string_view tag : e.partner_tags(i)) ++counts[std::string(tag)];
      std::string out = R"({"tags":{)";
      bool first = true;
      for (const auto& [tag, n] : counts) {
        out += (first ? "" : ",") + json_quote(tag) + ":" + std::to_string(n);
        first = false;
      }
      // Every tag a filter can name: the rules' and those partners hold.
      std::set<std::string_view> known(program.tags.begin(), program.tags.end());
      for (const auto& [tag, n] : counts) known.insert(tag);
      out += R"(},"known":[)";
      first = true;
      for (std::string_view tag : known) {
        out += (first ? "" : ",") + json_quote(tag);
        first = false;
      }
      return {200, out + "]}"};
    }));
  }});
}

void add_admin(RouteTable& t, Routes& r) {
  t.add({"POST", "/v1/advance", Access::admin, true, false, [&r](const HttpRequest& req, HttpResponse& res) {
    if (r.clock != ClockMode::event)
      return answer(res, error(409, "the clock follows the wall clock: start the server with --clock event to move it"));
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view until;
    simdjson::padded_string padded(req.body);
    if (parser.parse(padded).get(doc) || doc["until"].get_string().get(until))
      return answer(res, error(400, R"(the body must be {"until":"<RFC 3339 time>"})"));
    std::optional<Seconds> at = parse_time(until);
    if (!at) return answer(res, error(400, "\"until\" is not an RFC 3339 time: " + std::string(until)));
    Seconds to = *at;
    answer(res, r.applier.call([to](DurableEngine& d, const Program&) -> Answer {
      d.engine().advance_to(to);
      return {200, R"({"clock":)" + json_quote(format_time(d.engine().clock())) + "}"};
    }, true));
  }});
  t.add({"POST", "/v1/reload", Access::admin, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    Compiled compiled = compile_rules(r.rules, r.prepare);
    if (!compiled.engine_error.empty()) {
      log("error", "reload refused: the rules cannot be readied for their engine; the old rules keep running",
          {{"reason", json_text(compiled.engine_error)}});
      return answer(res, error(500, compiled.engine_error + "; the old rules keep running"));
    }
    if (!compiled.rules) {
      log("error", "reload refused: the rules have errors; the old rules keep running",
          {{"diagnostics", json_text(compiled.rendered)}});
      return answer(res, {422, R"({"error":"the rules have errors; the old rules keep running","diagnostics":)" +
                                   compiled.diagnostics + "}"});
    }
    ReloadOutcome got = r.applier.reload(std::move(*compiled.rules), req.param("backfill") == "true");
    if (!got.reloaded) return answer(res, error(got.unavailable ? 503 : 422, got.error));
    auto names = [](const std::vector<std::string>& list) {
      std::string out = "[";
      for (std::size_t i = 0; i < list.size(); ++i) out += (i ? "," : "") + json_quote(list[i]);
      return out + "]";
    };
    res.type = kJson;
    res.body = R"({"reloaded":true,"kept":)" + std::to_string(got.changes.kept.size()) + R"(,"added":)" +
               names(got.changes.added) + R"(,"removed":)" + names(got.changes.removed) + R"(,"backfilled":)" +
               std::to_string(got.changes.backfilled) + "}";
  }});
  t.add({"GET", "/v1/deliveries", Access::admin, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    std::optional<DeliveryStatus> status;
    if (req.has_param("status")) {
      status = parse_delivery_status(req.param("status"));
      if (!status) return answer(res, bad_parameter("status", "status is one of pending, delivered, failed"));
    }
    std::int64_t after = whole_param(req, "after", 0, 0, std::numeric_limits<std::int64_t>::max());
    std::int64_t limit = limit_param(req, 1000, 10000);
    try {
      std::vector<Delivery> list = StoreReader::open(r.state)->deliveries(status, after, limit);
      std::string out = R"({"deliveries":[)";
      for (std::size_t i = 0; i < list.size(); ++i) out += (i ? "," : "") + delivery_json(list[i], r.store_id);
      answer(res, {200, out + "]}"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }});
  // Failed deliveries sent again, all or one webhook's, whose records' times
  // are in [from, to): after a receiver was down.
  t.add({"POST", "/v1/deliveries/retry", Access::admin, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    std::string webhook = req.param("webhook");
    std::optional<Seconds> from, to;
    for (auto [name, into] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
      if (!req.has_param(name)) continue;
      *into = parse_time(req.param(name));
      if (!*into) return answer(res, bad_parameter(name, std::string(name) + " is an RFC 3339 time"));
    }
    if (!webhook.empty() && std::none_of(r.config.webhooks.begin(), r.config.webhooks.end(),
                                         [&](const WebhookConfig& w) { return w.name == webhook; }))
      return answer(res, bad_parameter("webhook", "no webhook named " + json_quote(webhook) + " in the config"));
    std::int64_t retried = 0, waiting = 0;
    try {
      auto reader = StoreReader::open(r.state);
      for (std::int64_t after = 0;;) {
        std::vector<Delivery> page = reader->deliveries(DeliveryStatus::failed, after, 1000);
        if (page.empty()) break;
        after = page.back().id;
        for (const Delivery& d : page) {
          std::optional<Seconds> at = delivery_time(d.body);
          if ((!webhook.empty() && d.webhook != webhook) || (from && (!at || *at < *from)) || (to && (!at || *at >= *to)))
            continue;
          // At most what memory holds now: the rest wait for another call.
          if (r.retry_room && r.retry_room(d.webhook) == 0) {
            ++waiting;
            continue;
          }
          retried += r.retry && r.retry(d);
        }
      }
    } catch (const StoreError& e) {
      return answer(res, error(503, e.what()));
    }
    answer(res, {202, R"({"retried":)" + std::to_string(retried) + R"(,"waiting":)" + std::to_string(waiting) + "}"});
  }});
  t.add({"POST", "/v1/deliveries/{id}/retry", Access::admin, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    const std::string& name = req.path_params[0];
    std::optional<std::int64_t> id = parse_delivery_id(name, r.store_id);
    try {
      std::optional<Delivery> d = id ? StoreReader::open(r.state)->delivery(*id) : std::nullopt;
      if (!d) return answer(res, error(404, "no delivery " + json_quote(name)));
      if (!r.retry || !r.retry(*d)) return answer(res, error(409, "the delivery's webhook is not in the config"));
      answer(res, {202, R"({"id":)" + json_quote(name) + R"(,"status":"pending"})"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }});
}

}  // namespace

Compiled compile_rules(const std::vector<std::string>& files, const PrepareProgram& prepare) {
  Compiled out;
  Unit unit = compile_files(files);
  out.diagnostics = render_json_rendered(unit.diagnostics.all(), unit.sources);
  if (!out.diagnostics.empty() && out.diagnostics.back() == '\n') out.diagnostics.pop_back();
  for (const Diagnostic& d : unit.diagnostics.all()) {
    out.messages.push_back({d.severity == Severity::error, render_text(d, unit.sources)});
    out.rendered += out.messages.back().text;
  }
  if (unit.diagnostics.has_errors()) return out;
  auto program = std::make_unique<Program>(lower(unit));
  out.engine = "vm";
  if (prepare) {
    try {
      out.engine = prepare(*program);
    } catch (const std::exception& e) {
      out.engine_error = e.what();
      return out;
    }
  }
  out.rules = LoadedRules{std::move(program), encode_program(files, unit.sources), out.engine};
  return out;
}

std::vector<HttpRoute> make_routes(Routes& r) {
  RouteTable t{r.metrics, {}};
  t.add({"GET", "/healthz", Access::anyone, false, true, [](const HttpRequest&, HttpResponse& res) {
    res.body = R"({"status":"alive"})";
  }});
  t.add({"GET", "/readyz", Access::anyone, false, true, [&r](const HttpRequest&, HttpResponse& res) {
    if (r.applier.stopping()) return answer(res, error(503, "stopping"));
    if (r.applier.failed()) return answer(res, error(503, "the store failed"));
    try {
      StoreReader::open(r.state)->last_seq();  // reads (history, the page) work too
    } catch (const StoreError& e) {
      return answer(res, error(503, std::string("the store cannot be read: ") + e.what()));
    }
    res.body = R"({"status":"ready"})";
  }});
  t.add({"GET", "/metrics", Access::anyone, false, false, [&r](const HttpRequest&, HttpResponse& res) {
    res.type = "text/plain; version=0.0.4";
    res.body = r.metrics.text();
  }});
  t.add({"POST", "/v1/events", Access::ingest, true, true, [&r](const HttpRequest& req, HttpResponse& res) {
    // `curl -d @events.jsonl` sends a form body with the newlines taken out.
    std::string_view type = req.header("content-type").value_or("");
    bool squashed = type.starts_with("application/x-www-form-urlencoded") &&
                    req.body.find('\n') == std::string::npos && req.body.find("}{") != std::string::npos;
    Answer a = ingest(r, parse_events_body(req.body), req.param("strict") == "true",
                      squashed ? "; the lines were joined into one: `curl -d` strips newlines, send the file with "
                                 "`curl --data-binary @events.jsonl`"
                               : "");
    if (a.status == 429 || a.status == 503) res.set_header("Retry-After", std::to_string(r.config.retry_after));
    answer(res, a);
  }});
  add_sources(t, r);
  add_reads(t, r);
  add_views(t, r);
  add_admin(t, r);
  return std::move(t.routes);
}

}  // namespace ptag::serve
