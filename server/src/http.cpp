#include "http.hpp"

#include "http_common.hpp"
#include "views.hpp"

#include <httplib.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>

#include "log.hpp"
#include "ptag/compiler.hpp"
#include "ptag/decimal.hpp"
#include "ptag/diagnostic.hpp"
#include "ptag/durable.hpp"
#include "ptag/text.hpp"
#include "signature.hpp"
#include "sources.hpp"

namespace ptag::serve {

void answer(httplib::Response& res, const Answer& a) {
  res.status = a.status;
  res.set_content(a.body, kJson);
}

Answer error(int status, std::string_view message) {
  return {status, R"({"error":)" + json_quote(message) + "}"};
}

bool has_token(const httplib::Request& req, std::initializer_list<const std::vector<std::string>*> lists) {
  std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) return false;
  std::string_view token = std::string_view(header).substr(kBearer.size());
  bool found = false;
  for (const std::vector<std::string>* list : lists)
    for (const std::string& t : *list) found |= constant_time_equal(t, token);  // no early exit
  return found;
}

const Answer kUnauthorized{401, R"({"error":"missing or wrong token: send Authorization: Bearer <token>"})"};

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

std::optional<std::int64_t> whole_number(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(text);
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
  const std::pair<const char*, Metric> metrics[] = {
      {"signups", Metric::signups}, {"customers", Metric::customers}, {"revenue", Metric::revenue},
      {"sales", Metric::sales},     {"clicks", Metric::clicks},       {"commissions", Metric::commissions}};
  for (std::size_t m = 0; m < std::size(metrics); ++m)
    out += std::string(m ? "," : "") + "\"" + metrics[m].first + "\":" + money(e.partner_metric(i, metrics[m].second));
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

std::string delivery_json(const Delivery& d) {
  return R"({"id":)" + json_quote("msg_" + std::to_string(d.id)) + R"(,"webhook":)" + json_quote(d.webhook) +
         R"(,"partner":)" + json_quote(d.partner) + R"(,"status":)" + json_quote(delivery_status_name(d.status)) +
         R"(,"attempts":)" + std::to_string(d.attempts) + R"(,"last_error":)" + json_quote(d.last_error) +
         R"(,"record":)" + delivery_record(d.body) + "}";
}

// A handler of the raw body. Reading it through a content reader keeps
// cpp-httplib from parsing a form-encoded body (what `curl -d` sends) into
// parameters, and from its 8 KB limit on such bodies; max_body_bytes still holds.
using BodyHandler = std::function<void(const httplib::Request&, httplib::Response&, const std::string& body)>;
httplib::Server::HandlerWithContentReader with_body(std::size_t max_bytes, BodyHandler handler) {
  return [max_bytes, handler](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    const Answer too_large{413, R"({"error":"the body is larger than max_body_bytes ()" + std::to_string(max_bytes) + ")\"}"};
    std::optional<std::int64_t> length = whole_number(req.get_header_value("Content-Length"));
    if (length && static_cast<std::uint64_t>(*length) > max_bytes) {
      res.set_header("Connection", "close");  // the unread body must not be taken for the next request
      return answer(res, too_large);
    }
    std::string body;
    bool fits = read([&](const char* data, std::size_t n) {
      if (body.size() + n > max_bytes) return false;
      body.append(data, n);
      return true;
    });
    if (!fits || body.size() > max_bytes) {
      res.set_header("Connection", "close");
      return answer(res, too_large);
    }
    handler(req, res, body);
  };
}

BodyHandler timed_body(Metrics& metrics, const std::string& route, BodyHandler handler) {
  prometheus::Histogram* histogram = &metrics.request(route);
  return [histogram, handler](const httplib::Request& req, httplib::Response& res, const std::string& body) {
    auto start = std::chrono::steady_clock::now();
    handler(req, res, body);
    histogram->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
}

Answer ingest(Routes& r, ParsedBody body, bool strict) {
  if (!body.error.empty() || (!body.any_json && body.events.empty())) {
    std::string reason = body.error.empty() ? "no line of the body is JSON" : body.error;
    std::string out = R"({"error":)" + json_quote(reason) + R"(,"results":[)";
    for (std::size_t i = 0; i < body.rejected.size() && i < 100; ++i)
      out += (i ? "," : "") + std::string(R"({"index":)") + std::to_string(body.rejected[i].index) +
             R"(,"status":"rejected","reason":)" + json_quote(body.rejected[i].reason) + "}";
    return {400, out + "]}"};
  }
  Answer a = r.applier.ingest(std::move(body), strict);
  return a;
}

void add_reads(httplib::Server& server, Routes& r) {
  auto read_ok = [&r](const httplib::Request& req) {
    return has_token(req, {&r.config.admin_tokens, &r.config.read_tokens});
  };
  server.Get(R"(/v1/partners/([^/]+))", timed(r.metrics, "GET /v1/partners/{id}", [&r, read_ok](const httplib::Request& req, httplib::Response& res) {
    if (!read_ok(req)) return answer(res, kUnauthorized);
    std::string id = req.matches[1];
    answer(res, r.applier.call([id](DurableEngine& d, const Program&) -> Answer {
      std::optional<std::size_t> i = d.engine().find_partner(id);
      if (!i) return error(404, "no partner " + json_quote(id));
      return {200, partner_json(d, *i)};
    }));
  }));
  server.Get(R"(/v1/partners/([^/]+)/history)", timed(r.metrics, "GET /v1/partners/{id}/history", [&r, read_ok](const httplib::Request& req, httplib::Response& res) {
    if (!read_ok(req)) return answer(res, kUnauthorized);
    std::string id = req.matches[1];
    std::int64_t limit = whole_number(req.get_param_value("limit")).value_or(1000);
    try {
      auto reader = StoreReader::open(r.state);
      std::vector<StoredRecord> records = reader->partner_records(id, std::clamp<std::int64_t>(limit, 1, 100000));
      std::string out = R"({"partner":)" + json_quote(id) + R"(,"records":[)";
      for (std::size_t i = 0; i < records.size(); ++i) out += (i ? "," : "") + record_json(records[i]);
      answer(res, {200, out + "]}"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }));
  server.Get("/v1/partners", timed(r.metrics, "GET /v1/partners", [&r, read_ok](const httplib::Request& req, httplib::Response& res) {
    if (!read_ok(req)) return answer(res, kUnauthorized);
    std::string query = req.has_param("query") ? req.get_param_value("query") : "true";
    bool count = req.get_param_value("count") == "true";
    std::int64_t cursor = whole_number(req.get_param_value("cursor")).value_or(0);
    std::int64_t limit = std::clamp<std::int64_t>(whole_number(req.get_param_value("limit")).value_or(1000), 1, 10000);
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
  }));
  server.Get("/v1/tags", timed(r.metrics, "GET /v1/tags", [&r, read_ok](const httplib::Request& req, httplib::Response& res) {
    if (!read_ok(req)) return answer(res, kUnauthorized);
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
  }));
}

void add_admin(httplib::Server& server, Routes& r) {
  auto admin_ok = [&r](const httplib::Request& req) { return has_token(req, {&r.config.admin_tokens}); };
  server.Post("/v1/advance", with_body(r.config.max_body_bytes, timed_body(r.metrics, "POST /v1/advance", [&r, admin_ok](const httplib::Request& req, httplib::Response& res, const std::string& body) {
    if (!admin_ok(req)) return answer(res, kUnauthorized);
    if (r.clock != ClockMode::event)
      return answer(res, error(409, "the clock follows the wall clock: start the server with --clock event to move it"));
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view until;
    simdjson::padded_string padded(body);
    if (parser.parse(padded).get(doc) || doc["until"].get_string().get(until))
      return answer(res, error(400, R"(the body must be {"until":"<RFC 3339 time>"})"));
    std::optional<Seconds> t = parse_time(until);
    if (!t) return answer(res, error(400, "\"until\" is not an RFC 3339 time: " + std::string(until)));
    Seconds to = *t;
    answer(res, r.applier.call([to](DurableEngine& d, const Program&) -> Answer {
      d.engine().advance_to(to);
      return {200, R"({"clock":)" + json_quote(format_time(d.engine().clock())) + "}"};
    }, true));
  })));
  server.Post("/v1/reload", timed(r.metrics, "POST /v1/reload", [&r, admin_ok](const httplib::Request& req, httplib::Response& res) {
    if (!admin_ok(req)) return answer(res, kUnauthorized);
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
    answer(res, r.applier.reload(std::move(*compiled.rules), req.get_param_value("backfill") == "true"));
  }));
  server.Get("/v1/deliveries", timed(r.metrics, "GET /v1/deliveries", [&r, admin_ok](const httplib::Request& req, httplib::Response& res) {
    if (!admin_ok(req)) return answer(res, kUnauthorized);
    std::optional<DeliveryStatus> status;
    if (req.has_param("status")) {
      status = parse_delivery_status(req.get_param_value("status"));
      if (!status) return answer(res, error(400, "status is one of pending, delivered, failed"));
    }
    std::int64_t after = whole_number(req.get_param_value("after")).value_or(0);
    std::int64_t limit = std::clamp<std::int64_t>(whole_number(req.get_param_value("limit")).value_or(1000), 1, 10000);
    try {
      std::vector<Delivery> list = StoreReader::open(r.state)->deliveries(status, after, limit);
      std::string out = R"({"deliveries":[)";
      for (std::size_t i = 0; i < list.size(); ++i) out += (i ? "," : "") + delivery_json(list[i]);
      answer(res, {200, out + "]}"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }));
  server.Post(R"(/v1/deliveries/msg_(\d+)/retry)", timed(r.metrics, "POST /v1/deliveries/{id}/retry", [&r, admin_ok](const httplib::Request& req, httplib::Response& res) {
    if (!admin_ok(req)) return answer(res, kUnauthorized);
    std::optional<std::int64_t> id = whole_number(req.matches[1]);
    try {
      std::optional<Delivery> d = id ? StoreReader::open(r.state)->delivery(*id) : std::nullopt;
      if (!d) return answer(res, error(404, "no delivery msg_" + std::string(req.matches[1])));
      if (!r.retry || !r.retry(*d)) return answer(res, error(409, "the delivery's webhook is not in the config"));
      answer(res, {202, R"({"id":)" + json_quote("msg_" + std::to_string(d->id)) + R"(,"status":"pending"})"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }));
}

}  // namespace

Compiled compile_rules(const std::vector<std::string>& files, const PrepareProgram& prepare) {
  Compiled out;
  Unit unit = compile_files(files);
  out.diagnostics = render_json_rendered(unit.diagnostics.all(), unit.sources);
  if (!out.diagnostics.empty() && out.diagnostics.back() == '\n') out.diagnostics.pop_back();
  for (const Diagnostic& d : unit.diagnostics.all()) out.rendered += render_text(d, unit.sources);
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

void add_routes(httplib::Server& server, Routes& r) {
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"alive"})", kJson);
  });
  server.Get("/readyz", [&r](const httplib::Request&, httplib::Response& res) {
    if (r.applier.stopping()) return answer(res, error(503, "stopping"));
    if (r.applier.failed()) return answer(res, error(503, "the store failed"));
    res.set_content(R"({"status":"ready"})", kJson);
  });
  server.Get("/metrics", [&r](const httplib::Request&, httplib::Response& res) {
    res.set_content(r.metrics.text(), "text/plain; version=0.0.4");
  });
  server.Post("/v1/events", with_body(r.config.max_body_bytes, timed_body(r.metrics, "POST /v1/events", [&r](const httplib::Request& req, httplib::Response& res, const std::string& body) {
    if (!has_token(req, {&r.config.ingest_tokens})) return answer(res, kUnauthorized);
    Answer a = ingest(r, parse_events_body(body), req.get_param_value("strict") == "true");
    if (a.status == 429 || a.status == 503) res.set_header("Retry-After", std::to_string(r.config.retry_after));
    answer(res, a);
  })));
  for (const SourceConfig& source : r.config.sources) {
    const SourceConfig* s = &source;
    server.Post(source.path, with_body(r.config.max_body_bytes, timed_body(r.metrics, "POST " + source.path, [&r, s](const httplib::Request& req, httplib::Response& res, const std::string& body) {
      WebhookRequest w;
      w.body = body;
      std::deque<std::string> held;  // header values outlive the calls (stable on push_back)
      w.header = [&req, &held](std::string_view name) -> std::string_view {
        std::string key(name);
        if (!req.has_header(key)) return {};
        held.push_back(req.get_header_value(key));
        return held.back();
      };
      std::string token = req.get_param_value("token");
      w.token_param = token;
      w.now = r.now();
      if (std::string why = authenticate(*s, w, r.config.signature_tolerance); !why.empty())
        return answer(res, error(401, why));
      MappedEvent mapped = map_webhook(*s, w);
      if (mapped.status == MappedEvent::Status::ignored)
        return answer(res, {200, R"({"applied":0,"duplicates":0,"rejected":0,"ignored":1,"reason":)" +
                                     json_quote(mapped.reason) + R"(,"results":[]})"});
      if (mapped.status == MappedEvent::Status::bad)
        return answer(res, {200, R"({"applied":0,"duplicates":0,"rejected":1,"results":[{"index":0,"id":null,"status":"rejected","reason":)" +
                                     json_quote(mapped.reason) + "}]}"});
      Answer a = ingest(r, parse_events_body(mapped.line), false);
      if (a.status == 429 || a.status == 503) res.set_header("Retry-After", std::to_string(r.config.retry_after));
      answer(res, a);
    })));
  }
  add_reads(server, r);
  add_views(server, r);
  add_admin(server, r);
}

}  // namespace ptag::serve
