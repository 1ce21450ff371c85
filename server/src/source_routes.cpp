// The sources' endpoints (docs/serve.md, "Sources" and "Dead letters"): a
// platform's webhook in, and the payloads a source did not apply, listed and
// replayed. Nothing a platform sent is dropped silently: every payload that
// is authenticated but not applied is logged, counted per source and
// result, and kept in the store's dead letters before it is answered.
#include "source_routes.hpp"

#include <simdjson.h>

#include <algorithm>

#include "http_common.hpp"
#include "ingest.hpp"
#include "log.hpp"
#include "ptag/text.hpp"
#include "sources.hpp"

namespace ptag::serve {

namespace {

// The request's headers as a JSON object, for a replay's mapping (a preset
// may read an id from a header); never the Authorization header.
std::string headers_json(const HttpRequest& req) {
  std::string out = "{";
  for (const auto& [name, value] : req.headers) {
    if (name == "authorization" || name == "cookie") continue;
    out += (out.size() > 1 ? "," : "") + json_quote(name) + ":" + json_quote(value);
  }
  return out + "}";
}

std::vector<std::pair<std::string, std::string>> parse_headers(const std::string& json) {
  std::vector<std::pair<std::string, std::string>> out;
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(simdjson::padded_string(json)).get(object)) return out;
  for (auto field : object) {
    std::string_view value;
    if (!field.value.get_string().get(value)) out.emplace_back(std::string(field.key), std::string(value));
  }
  return out;
}

// A payload mapped and, unless applied, kept: the answer, and its result
// ("applied", "duplicate", "rejected", "ignored") with why.
struct Outcome {
  Answer answer;
  std::string result, reason;
};

Outcome apply_payload(Routes& r, const SourceConfig& s, const WebhookRequest& w, DeadLetter dead) {
  MappedEvent mapped = map_webhook(s, w);
  if (mapped.status != MappedEvent::Status::event) {
    bool ignored = mapped.status == MappedEvent::Status::ignored;
    dead.status = ignored ? "ignored" : "rejected";
    dead.reason = mapped.reason;
    IngestOutcome kept = r.applier.ingest(ParsedBody{}, false, std::move(dead));
    if (kept.refused != IngestOutcome::Refused::none) return {ingest_answer(kept, r.config), "", ""};
    if (!ignored) r.metrics.events_rejected.Increment();
    std::string body =
        ignored ? R"({"applied":0,"duplicates":0,"rejected":0,"ignored":1,"reason":)" + json_quote(mapped.reason) +
                      R"(,"results":[]})"
                : R"({"applied":0,"duplicates":0,"rejected":1,"results":[{"index":0,"id":null,"status":"rejected","reason":)" +
                      json_quote(mapped.reason) + "}]}";
    return {{200, body}, ignored ? "ignored" : "rejected", mapped.reason};
  }
  dead.status = "rejected";
  IngestOutcome got = r.applier.ingest(parse_events_body(mapped.line), false, std::move(dead));
  Answer a = ingest_answer(got, r.config);
  if (got.refused != IngestOutcome::Refused::none) return {a, "", ""};
  std::string reason;  // the first rejected item's
  for (const ItemResult& item : got.results)
    if (item.status == "rejected") {
      reason = item.reason;
      break;
    }
  if (got.rejected > 0) return {a, "rejected", reason};  // kept, even if another of its events applied
  if (got.applied > 0) return {a, "applied", ""};
  if (got.duplicates > 0) return {a, "duplicate", ""};
  return {a, "rejected", reason};
}

const SourceConfig* source_named(const Routes& r, std::string_view name) {
  for (const SourceConfig& s : r.config.sources)
    if (s.name == name) return &s;
  return nullptr;
}

std::string dead_letter_json(const DeadLetter& d) {
  return R"({"id":)" + std::to_string(d.id) + R"(,"received_at":)" + json_quote(format_time(d.received_at)) +
         R"(,"status":)" + json_quote(d.status) + R"(,"reason":)" + json_quote(d.reason) + R"(,"body":)" +
         json_quote(d.body) + "}";
}

constexpr std::string_view kStatuses[] = {"rejected", "ignored", "replayed"};

}  // namespace

void add_sources(RouteTable& t, Routes& r) {
  for (const SourceConfig& source : r.config.sources) {
    const SourceConfig* s = &source;
    t.add({"POST", source.path, Access::source, true, true, [&r, s](const HttpRequest& req, HttpResponse& res) {
      WebhookRequest w;
      w.body = req.body;
      w.header = [&req](std::string_view name) -> std::string_view { return req.header(name).value_or(""); };
      std::string token = req.param("token");
      w.token_param = token;
      w.now = r.now();
      if (std::string why = authenticate(*s, w, r.config.signature_tolerance); !why.empty()) {
        r.metrics.source(s->name, "unauthorized").Increment();
        log("warn", "source request refused", {{"source", json_text(s->name)}, {"reason", json_text(why)}});
        return answer(res, error(401, why));
      }
      Outcome o = apply_payload(r, *s, w, DeadLetter{0, s->name, w.now, "", "", headers_json(req), req.body});
      if (!o.result.empty()) r.metrics.source(s->name, o.result).Increment();
      if (o.result == "rejected" || o.result == "ignored")
        log("warn", o.result == "ignored" ? "source payload ignored" : "source payload rejected",
            {{"source", json_text(s->name)}, {"reason", json_text(o.reason)}, {"kept", "\"dead_letters\""}});
      if (o.answer.status == 429 || o.answer.status == 503)
        res.set_header("Retry-After", std::to_string(r.config.retry_after));
      answer(res, o.answer);
    }});
  }
  t.add({"GET", "/v1/sources/{name}/rejected", Access::admin, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    const SourceConfig* s = source_named(r, req.path_params[0]);
    if (!s) return answer(res, error(404, "no source named " + json_quote(req.path_params[0]) + " in the config"));
    std::optional<std::string_view> status;
    if (req.has_param("status")) {
      std::string want = req.param("status");
      auto at = std::find(std::begin(kStatuses), std::end(kStatuses), want);
      if (at == std::end(kStatuses)) return answer(res, bad_parameter("status", "status is one of rejected, ignored, replayed"));
      status = *at;
    }
    std::int64_t after = whole_param(req, "after", 0, 0, std::numeric_limits<std::int64_t>::max());
    std::int64_t limit = limit_param(req, 100, 1000);
    try {
      std::vector<DeadLetter> list = StoreReader::open(r.state)->dead_letters(s->name, status, after, limit);
      std::string out = R"({"source":)" + json_quote(s->name) + R"(,"dead_letters":[)";
      for (std::size_t i = 0; i < list.size(); ++i) out += (i ? "," : "") + dead_letter_json(list[i]);
      answer(res, {200, out + "]}"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }});
  // Maps each kept payload again with the config as it is now (after a fix
  // and a restart) and applies it: replayed once applied (or a duplicate),
  // else kept with the new reason.
  t.add({"POST", "/v1/sources/{name}/replay", Access::admin, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    const SourceConfig* s = source_named(r, req.path_params[0]);
    if (!s) return answer(res, error(404, "no source named " + json_quote(req.path_params[0]) + " in the config"));
    std::optional<std::int64_t> only;
    if (req.has_param("id")) only = whole_param(req, "id", 0, 1, std::numeric_limits<std::int64_t>::max());
    std::vector<DeadLetter> kept;
    try {
      auto reader = StoreReader::open(r.state);
      for (std::int64_t after = only ? *only - 1 : 0;;) {
        std::vector<DeadLetter> page = reader->dead_letters(s->name, std::nullopt, after, 1000);
        if (page.empty()) break;
        after = page.back().id;
        for (DeadLetter& d : page)
          if (d.status != "replayed" && (!only || d.id == *only)) kept.push_back(std::move(d));
        if (only) break;
      }
    } catch (const StoreError& e) {
      return answer(res, error(503, e.what()));
    }
    if (only && kept.empty()) return answer(res, error(404, "no dead letter " + std::to_string(*only) + " to replay"));
    std::int64_t replayed = 0, still = 0;
    std::string results;
    for (DeadLetter& d : kept) {
      auto headers = parse_headers(d.headers);
      WebhookRequest w;
      w.body = d.body;
      w.header = [&headers](std::string_view name) -> std::string_view {
        for (const auto& [k, v] : headers)
          if (equal_ignoring_case(k, name)) return v;
        return {};
      };
      w.now = d.received_at;  // a payload without a time keeps the time it arrived
      std::int64_t id = d.id;
      Outcome o = apply_payload(r, *s, w, std::move(d));
      if (o.result.empty()) return answer(res, o.answer);  // the store failed, or the server stops
      bool done = o.result == "applied" || o.result == "duplicate";
      (done ? replayed : still) += 1;
      results += (results.empty() ? "" : ",") + std::string(R"({"id":)") + std::to_string(id) + R"(,"status":)" +
                 json_quote(done ? "replayed" : o.result) +
                 (done ? std::string() : R"(,"reason":)" + json_quote(o.reason)) + "}";
    }
    log("info", "dead letters replayed",
        {{"source", json_text(s->name)}, {"replayed", std::to_string(replayed)}, {"kept", std::to_string(still)}});
    answer(res, {200, R"({"replayed":)" + std::to_string(replayed) + R"(,"kept":)" + std::to_string(still) +
                          R"(,"results":[)" + results + "]}"});
  }});
}

}  // namespace ptag::serve
