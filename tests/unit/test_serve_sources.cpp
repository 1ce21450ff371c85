// Platform webhooks as events: authentication per scheme, field paths, the
// presets with their test payloads (tests/data/webhooks), amounts in cents.
// Every mapped line is read back with the JSONL reader of `ptag run`.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "ptag/event_source.hpp"
#include "signature.hpp"
#include "sources.hpp"

using namespace ptag::serve;
using ptag::Seconds;

namespace {

std::string read_file(const std::string& name) {
  std::ifstream in(std::string(PTAG_SOURCE_DIR) + "/tests/data/webhooks/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  REQUIRE(!s.str().empty());
  return s.str();
}

// An event as the JSONL reader sees it; data numbers in millionths.
struct Read {
  std::string error;
  std::string id, type, partner;
  bool has_id = false;
  Seconds time = 0;
  std::map<std::string, std::string> text;
  std::map<std::string, std::int64_t> number;
};

Read read_back(const std::string& line) {
  std::string input = line + "\n";
  std::FILE* f = fmemopen(input.data(), input.size(), "r");
  REQUIRE(f);
  Read r;
  {
    ptag::JsonlSource source(f);
    ptag::Event e;
    ptag::EventSource::Status status = source.next(e, r.error);
    if (status == ptag::EventSource::Status::event) {
      r.id = e.id, r.type = e.type, r.partner = e.partner, r.has_id = e.has_id, r.time = e.time;
      for (const ptag::Field& field : e.data) {
        if (field.value.kind == ptag::Value::Kind::text) r.text[std::string(field.name)] = field.value.text;
        else r.number[std::string(field.name)] = field.value.number;
      }
    } else if (r.error.empty()) {
      r.error = "no event";
    }
  }
  std::fclose(f);
  return r;
}

// Every event of a mapped body (one line per types entry that matched).
std::vector<Read> read_all(const std::string& lines) {
  std::vector<Read> out;
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) out.push_back(read_back(line));
  return out;
}

struct Request {
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string token;
  Seconds now = 1772360100;  // 2026-03-01T10:15:00Z

  WebhookRequest view() const {
    WebhookRequest r;
    r.body = body;
    r.header = [this](std::string_view name) -> std::string_view {
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto it = headers.find(lower);
      return it == headers.end() ? std::string_view{} : std::string_view(it->second);
    };
    r.token_param = token;
    r.now = now;
    return r;
  }
};

SourceConfig custom_source() {
  ConfigResult c = parse_config(R"([[sources]]
kind = "custom"
path = "/v1/webhooks/shop"
secret = "shop-secret"
signature_header = "X-Signature"
fields = { type = "event", partner = "data.partner.id", time = "created_at", id = "data.id", amount = "data.amount", customer = "data.customer.id", country = "data.partner.country", vip = "data.partner.vip" }
types = { "partner.created" = "join", "transaction.created" = "sale", "transaction.deleted" = "refund" }
)",
                                "shop.toml");
  REQUIRE(c.config);
  return c.config->sources.at(0);
}

SourceConfig preset_source(std::string_view kind, std::string_view secret) {
  ConfigResult c = parse_config("[[sources]]\nkind = \"" + std::string(kind) + "\"\npath = \"/v1/webhooks/" +
                                    std::string(kind) + "\"\nsecret = \"" + std::string(secret) + "\"\n",
                                "preset.toml");
  REQUIRE(c.config);
  return c.config->sources.at(0);
}

MappedEvent map(const SourceConfig& s, const std::string& body) {
  Request r;
  r.body = body;
  return map_webhook(s, r.view());
}

}  // namespace

TEST_CASE("cents become an exact major-unit decimal") {
  CHECK(cents_to_major("12990") == "129.90");
  CHECK(cents_to_major("5") == "0.05");
  CHECK(cents_to_major("0") == "0.00");
  CHECK(cents_to_major("100") == "1.00");
  CHECK(cents_to_major("007") == "0.07");
  CHECK(cents_to_major("-250") == "-2.50");
  CHECK(cents_to_major("922337203685477580700") == "9223372036854775807.00");  // no overflow: text only
  CHECK_FALSE(cents_to_major("12.5"));
  CHECK_FALSE(cents_to_major(""));
  CHECK_FALSE(cents_to_major("-"));
  CHECK_FALSE(cents_to_major("1e3"));
}

TEST_CASE("custom source: hex HMAC of the raw body") {
  SourceConfig s = custom_source();
  Request r;
  r.body = R"({"event":"transaction.created"})";
  CHECK(authenticate(s, r.view()) == "the X-Signature header is missing");
  r.headers["x-signature"] = hex_encode(hmac_sha256("shop-secret", r.body));
  CHECK(authenticate(s, r.view()).empty());
  r.headers["x-signature"] = "sha256=" + hex_encode(hmac_sha256("shop-secret", r.body));
  CHECK(authenticate(s, r.view()).empty());
  r.body += " ";  // the raw bytes are signed, not the JSON they mean
  CHECK(authenticate(s, r.view()) == "the X-Signature header does not match the body");
  r.headers["x-signature"] = "not hex";
  CHECK(authenticate(s, r.view()) == "the X-Signature header does not match the body");
}

TEST_CASE("custom source: field paths onto an event line") {
  SourceConfig s = custom_source();
  MappedEvent m = map(s, R"({"event":"transaction.created","created_at":"2026-03-01T10:15:00Z",
    "data":{"id":"t-1","amount":129.90,"customer":{"id":"c-9"},"partner":{"id":"p-42","country":"DE","vip":true,"tags":["a"]}}})");
  REQUIRE(m.status == MappedEvent::Status::event);
  CHECK(m.platform_type == "transaction.created");
  CHECK(m.line ==
        R"({"id":"shop:transaction.created:t-1","type":"sale","partner":"p-42","time":"2026-03-01T10:15:00Z","data":{"amount":129.90,"country":"DE","customer":"c-9","vip":true}})");
  Read e = read_back(m.line);
  REQUIRE(e.error.empty());
  CHECK(e.type == "sale");
  CHECK(e.partner == "p-42");
  CHECK(e.id == "shop:transaction.created:t-1");
  CHECK(e.time == 1772360100);
  CHECK(e.number.at("amount") == 129'900'000);
  CHECK(e.text.at("customer") == "c-9");
  CHECK(e.text.at("country") == "DE");
  CHECK(e.number.at("vip") == 1);
}

TEST_CASE("custom source: a sale and its refund share an object id but not an event id") {
  SourceConfig s = custom_source();
  MappedEvent sale = map(s, R"({"event":"transaction.created","created_at":1772360100,"data":{"id":7,"amount":10,"partner":{"id":42}}})");
  MappedEvent refund = map(s, R"({"event":"transaction.deleted","created_at":1772360200,"data":{"id":7,"amount":10,"partner":{"id":42}}})");
  REQUIRE(sale.status == MappedEvent::Status::event);
  REQUIRE(refund.status == MappedEvent::Status::event);
  Read a = read_back(sale.line), b = read_back(refund.line);
  CHECK(a.id == "shop:transaction.created:7");
  CHECK(b.id == "shop:transaction.deleted:7");
  CHECK(a.partner == "42");  // numeric ids become text
  CHECK(b.type == "refund");
  CHECK(b.time == 1772360200);
}

TEST_CASE("custom source: what is not an event gets a reason, never a crash") {
  SourceConfig s = custom_source();
  auto reason = [&](const std::string& body) {
    MappedEvent m = map(s, body);
    CHECK(m.status == MappedEvent::Status::bad);
    return m.reason;
  };
  CHECK(reason("not json") == "the body is not valid JSON");
  CHECK(reason(R"({"event":"x")") == "the body is not valid JSON");
  CHECK(reason(R"({"event":"x"} {})") == "the body is not valid JSON");
  CHECK(reason(R"({"event":1.2.3})") == "the body is not valid JSON");
  CHECK(reason("[1,2]") == "the body is not a JSON object");
  CHECK(reason("") == "the body is not valid JSON");
  // Nested 50,000 deep (a signed webhook can carry this): refused, not a stack overflow.
  std::string deep = R"({"event":"x","data":)" + std::string(50000, '[') + std::string(50000, ']') + "}";
  CHECK(reason(deep) == "the body nests arrays and objects deeper than 1024 levels");
  std::string deep_objects;
  for (int i = 0; i < 50000; ++i) deep_objects += R"({"a":)";
  deep_objects += "1" + std::string(50000, '}');
  CHECK(reason(deep_objects) == "the body nests arrays and objects deeper than 1024 levels");
  std::string in_strings = R"({"event":"x","note":")" + std::string(5000, '[') + R"("})";
  CHECK(map(s, in_strings).reason.find("nests") == std::string::npos);  // brackets in strings do not count
  CHECK(reason(R"({"data":{}})") == R"(the event type is missing (fields.type: "event"))");
  CHECK(reason(R"({"event":5})") == "the event type (event) is not a string");
  CHECK(reason(R"({"event":"transaction.created","created_at":"2026-03-01T10:15:00Z","data":{"id":"t"}})") ==
        R"(the partner is missing (fields.partner: "data.partner.id"))");
  CHECK(reason(R"({"event":"transaction.created","created_at":"2026-03-01T10:15:00Z","data":{"partner":{"id":{}}}})") ==
        "the partner (data.partner.id) is not a string or a number");
  CHECK(reason(R"({"event":"transaction.created","data":{"partner":{"id":"p"}}})") ==
        R"(the time is missing (fields.time: "created_at"))");
  CHECK(reason(R"({"event":"transaction.created","created_at":true,"data":{"partner":{"id":"p"}}})") ==
        "the time (created_at) is not a string or a number");
  CHECK(reason(R"({"event":"transaction.created","created_at":1,"data":{"amount":"lots","partner":{"id":"p"}}})") ==
        R"(the amount (data.amount) is not a number: "lots")");
  CHECK(reason(R"({"event":"transaction.created","created_at":1,"data":{"amount":[1],"partner":{"id":"p"}}})") ==
        "the amount (data.amount) is not a number");
  // Deep nesting is refused before it is parsed, not by the stack.
  CHECK(reason(std::string(100000, '[')) == "the body nests arrays and objects deeper than 1024 levels");
}

TEST_CASE("custom source: an unmapped type is ignored with a reason") {
  MappedEvent m = map(custom_source(), R"({"event":"partner.updated","data":{}})");
  CHECK(m.status == MappedEvent::Status::ignored);
  CHECK(m.platform_type == "partner.updated");
  CHECK(m.reason == R"(event type "partner.updated" is not mapped by source "shop" (add it to its types, or stop the platform sending it))");
}

TEST_CASE("custom source: the event reader and the engine still judge the event") {
  SourceConfig s = custom_source();
  MappedEvent m = map(s, R"({"event":"transaction.created","created_at":"2026-03-01 10:15","data":{"amount":-5,"partner":{"id":"p"}}})");
  REQUIRE(m.status == MappedEvent::Status::event);
  CHECK(read_back(m.line).error.find("\"time\" is not an RFC 3339 time") == 0);
  m = map(s, R"({"event":"transaction.created","created_at":"2026-03-01T10:15:00Z","data":{"amount":-5,"partner":{"id":"p"}}})");
  // Passed on as it is: the engine refuses a negative amount with its reason (docs/events.md).
  CHECK(read_back(m.line).number.at("amount") == -5'000'000);
}

TEST_CASE("custom source without types: the platform's type is the event type; no time path: the arrival time") {
  ConfigResult c = parse_config(R"([[sources]]
path = "/v1/webhooks/app"
secret = "k"
signature_header = "X-Sig"
fields = { type = "kind", partner = ["partner", "affiliate.id"], amount = "total" }
amount_unit = "cents"
)",
                                "app.toml");
  REQUIRE(c.config);
  const SourceConfig& s = c.config->sources[0];
  Request r;
  r.body = R"({"kind":"sale","affiliate":{"id":"a-1"},"total":"12990"})";
  MappedEvent m = map_webhook(s, r.view());
  REQUIRE(m.status == MappedEvent::Status::event);
  Read e = read_back(m.line);
  REQUIRE(e.error.empty());
  CHECK(e.type == "sale");
  CHECK(e.partner == "a-1");  // the second path: the first is absent
  CHECK(e.time == r.now);
  CHECK_FALSE(e.has_id);
  CHECK(e.number.at("amount") == 129'900'000);
  r.body = R"({"kind":"sale","partner":"p","total":12.5})";
  m = map_webhook(s, r.view());
  CHECK(m.status == MappedEvent::Status::bad);
  CHECK(m.reason == R"(the amount (total) is not whole cents: "12.5")");
}

TEST_CASE("token scheme: a header (Bearer optional) or ?token=, compared in constant time") {
  SourceConfig s = preset_source("firstpromoter", "fp-token");
  Request r;
  r.body = "{}";
  CHECK(authenticate(s, r.view()) == "no token: send it in the Authorization header or as ?token=");
  r.headers["authorization"] = "Bearer fp-token";
  CHECK(authenticate(s, r.view()).empty());
  r.headers["authorization"] = "fp-token";
  CHECK(authenticate(s, r.view()).empty());
  r.headers["authorization"] = "Bearer fp-tokeN";
  CHECK(authenticate(s, r.view()) == "the token is wrong");
  r.headers.clear();
  r.token = "fp-token";
  CHECK(authenticate(s, r.view()).empty());
  r.token = "fp";
  CHECK(authenticate(s, r.view()) == "the token is wrong");
}


namespace {

MappedEvent map_file(const SourceConfig& s, const std::string& name) { return map(s, read_file(name)); }

// The one event a payload maps to, read back.
Read one_event(const SourceConfig& s, const std::string& name) {
  MappedEvent m = map_file(s, name);
  INFO(name << ": " << m.reason);
  REQUIRE(m.status == MappedEvent::Status::event);
  std::vector<Read> events = read_all(m.line);
  REQUIRE(events.size() == 1);
  INFO(m.line);
  REQUIRE(events[0].error.empty());
  return events[0];
}

}  // namespace

TEST_CASE("types entries with conditions: each one whose conditions hold makes an event") {
  ConfigResult c = parse_config(R"([[sources]]
path = "/v1/webhooks/shop"
secret = "k"
signature_header = "X-Sig"
fields = { type = "event", partner = "p", id = "id", amount = "total" }
types = { "order" = "sale", "order[status=refunded]" = "refund", "order[status=refunded][vip]" = "vip_refund", "order[n=1]" = "first" }
)",
                                "c.toml");
  REQUIRE(c.config);
  const SourceConfig& s = c.config->sources[0];
  MappedEvent m = map(s, R"({"event":"order","p":"p1","id":"o1","total":5,"status":"paid","n":1})");
  REQUIRE(m.status == MappedEvent::Status::event);
  std::vector<Read> events = read_all(m.line);
  REQUIRE(events.size() == 2);  // key order: "order", then "order[n=1]" (a number, as written)
  CHECK(events[0].type == "sale");
  CHECK(events[0].id == "shop:order:o1");
  CHECK(events[1].type == "first");
  CHECK(events[1].id == "shop:order[n=1]:o1");  // the key keeps two events of one payload apart

  events = read_all(map(s, R"({"event":"order","p":"p1","id":"o1","total":5,"status":"refunded","vip":false})").line);
  REQUIRE(events.size() == 3);  // [vip]: present and not null, whatever its value
  CHECK(events[1].type == "refund");
  CHECK(events[2].type == "vip_refund");
  CHECK(read_all(map(s, R"({"event":"order","p":"p1","total":5,"status":"refunded","vip":null})").line).size() == 2);
  CHECK(read_all(map(s, R"({"event":"order","p":"p1","total":5,"status":{"x":1}})").line).size() == 1);

  // A condition alone does not map the plain type.
  ConfigResult only = parse_config(R"([[sources]]
path = "/v1/webhooks/t"
secret = "k"
signature_header = "X-Sig"
fields = { type = "event", partner = "p" }
types = { "update[status=refunded]" = "refund", "update.more" = "custom", "broken[status" = "refund" }
)",
                                   "t.toml");
  REQUIRE(only.config);
  const SourceConfig& t = only.config->sources[0];
  m = map(t, R"({"event":"update","p":"p1","status":"paid"})");
  CHECK(m.status == MappedEvent::Status::ignored);
  CHECK(m.reason == R"(event type "update" is not mapped by source "t" (add it to its types, or stop the platform sending it))");
  CHECK(map(t, R"({"event":"update","p":"p1","status":"refunded","amount":1})").status == MappedEvent::Status::event);
  CHECK(map(t, R"({"event":"broken","p":"p1","status":"refunded"})").status == MappedEvent::Status::ignored);
  // A conditional entry that cannot make its event names itself; nothing is made.
  m = map(t, R"({"event":"update","status":"refunded"})");
  CHECK(m.status == MappedEvent::Status::bad);
  CHECK(m.reason == R"(types."update[status=refunded]": the partner is missing (fields.partner: "p"))");
}

TEST_CASE("preset partnero: Signature header, the documented envelope, major units") {
  SourceConfig s = preset_source("partnero", "partnero-secret");
  Request r;
  r.body = read_file("partnero-transaction-created.json");
  r.headers["signature"] = hex_encode(hmac_sha256("partnero-secret", r.body));
  CHECK(authenticate(s, r.view()).empty());
  MappedEvent m = map_webhook(s, r.view());
  REQUIRE(m.status == MappedEvent::Status::event);
  Read e = read_back(m.line);
  REQUIRE(e.error.empty());
  CHECK(e.type == "sale");
  CHECK(e.partner == "partner_123");
  CHECK(e.id == "partnero:transaction.created:transaction_456_1");
  CHECK(e.time == 1772360099);  // data.created_at, its fraction dropped
  CHECK(e.number.at("amount") == 129'900'000);
  CHECK(e.text.at("customer") == "customer_456");

  e = one_event(s, "partnero-partner-created.json");
  CHECK(e.type == "join");
  CHECK(e.partner == "partner_123");  // data.id: the partner itself
  CHECK(e.id == "partnero:partner.created:partner_123");
  CHECK(e.time == 1746613800);
  CHECK(e.text == std::map<std::string, std::string>{
                      {"email", "john@example.com"}, {"first_name", "John"}, {"last_name", "Doe"}});  // attributes
  CHECK(e.number.empty());

  e = one_event(s, "partnero-partner-updated.json");  // the {event, data, timestamp} envelope
  CHECK(e.type == "update");
  CHECK(e.partner == "partner_123");
  CHECK_FALSE(e.has_id);  // no event id: the partner's key would make later updates duplicates
  CHECK(e.time == 1748764800);  // the envelope's timestamp, not the partner's created_at
  CHECK(e.text.at("email") == "john.doe@example.com");

  m = map(s, R"({"event":"transaction.deleted","data":{"key":"transaction_456_1","amount":"129.90","partner":{"key":"partner_123"}}})");
  REQUIRE(m.status == MappedEvent::Status::event);
  e = read_back(m.line);
  CHECK(e.type == "refund");
  CHECK(e.id == "partnero:transaction.deleted:transaction_456_1");
  CHECK(e.number.at("amount") == 129'900'000);  // an amount sent as a string
  CHECK(e.time == r.now);                        // no time in the payload: the arrival time

  m = map(s, R"({"event":"reward.created","created_at":"2026-03-02T00:00:00Z","data":{"key":"r1","amount":12.99,"partner":{"key":"partner_123"}}})");
  CHECK(read_back(m.line).type == "commission");
  m = map(s, R"({"event":"customer.created","created_at":"2026-03-02T00:00:00Z","data":{"key":"customer_9","partner":{"key":"partner_123"}}})");
  e = read_back(m.line);
  CHECK(e.type == "signup");
  CHECK(e.text.at("customer") == "customer_9");
  CHECK(map(s, R"({"event":"partner.approved","data":{}})").status == MappedEvent::Status::ignored);
}

TEST_CASE("preset rewardful: X-Rewardful-Signature, cents, the event's own id") {
  SourceConfig s = preset_source("rewardful", "rw-secret");
  Request r;
  r.body = read_file("rewardful-sale-created.json");
  r.headers["x-rewardful-signature"] = hex_encode(hmac_sha256("rw-secret", r.body));
  CHECK(authenticate(s, r.view()).empty());
  r.headers["x-rewardful-signature"] = hex_encode(hmac_sha256("rw-secreT", r.body));
  CHECK_FALSE(authenticate(s, r.view()).empty());

  Read e = one_event(s, "rewardful-sale-created.json");
  CHECK(e.type == "sale");
  CHECK(e.partner == "07d8acc5-c689-4b4a-bbab-f88a71ffc012");
  CHECK(e.id == "rewardful:sale.created:a1f3c2d4-6b7e-4f80-9a1b-2c3d4e5f6a70");  // event.id
  CHECK(e.time == 1772360100);  // charged_at
  CHECK(e.number.at("amount") == 129'900'000);
  CHECK(e.text.at("customer") == "cus_ABC123");
  CHECK(e.text.at("currency") == "USD");

  e = one_event(s, "rewardful-affiliate-created.json");
  CHECK(e.type == "join");
  CHECK(e.partner == "3433fffa-8255-4843-81b1-22aebc21eb34");
  CHECK(e.id == "rewardful:affiliate.created:7fcdc81d-996a-4b7b-8faf-1db98b9d5507");
  CHECK(e.time == 1561337017);
  CHECK(e.text == std::map<std::string, std::string>{
                      {"email", "james@mi6.co.uk"}, {"first_name", "James"}, {"last_name", "Bond"}});
  std::string updated = read_file("rewardful-affiliate-created.json");
  updated.replace(updated.find("affiliate.created"), 17, "affiliate.updated");
  e = read_back(map(s, updated).line);
  CHECK(e.type == "update");
  CHECK(e.text.at("email") == "james@mi6.co.uk");

  e = one_event(s, "rewardful-referral-lead.json");
  CHECK(e.type == "signup");
  CHECK(e.partner == "dc939584-a94a-4bdf-b8f4-8d255aae729c");
  CHECK(e.id == "rewardful:referral.lead:0b6a3a52-52e4-4d43-9d53-5c8fa4e7b3a1");
  CHECK(e.time == 1587947789);
  CHECK(e.text.at("customer") == "cus_ABC123");

  e = one_event(s, "rewardful-referral-converted.json");
  CHECK(e.type == "conversion");  // a paying customer; its lead was the signup
  CHECK(e.partner == "dc939584-a94a-4bdf-b8f4-8d255aae729c");
  CHECK(e.id == "rewardful:referral.converted:5d2c7e0e-8f57-4a43-b7e6-1d0f3a9b2c44");
  CHECK(e.time == 1587947909);
  CHECK(e.text.at("customer") == "cus_ABC123");

  e = one_event(s, "rewardful-commission-created.json");
  CHECK(e.type == "commission");
  CHECK(e.partner == "07d8acc5-c689-4b4a-bbab-f88a71ffc012");  // object.sale.affiliate.id
  CHECK(e.id == "rewardful:commission.created:e5c7a9b1-3d4f-4b8c-a0e2-4f6b8d0a2c43");
  CHECK(e.time == 1772360108);
  CHECK(e.number.at("amount") == 38'970'000);
  CHECK(e.text.at("customer") == "cus_ABC123");
}

TEST_CASE("preset rewardful: each sale.refunded is its own event, carrying the sale's refunded total") {
  SourceConfig s = preset_source("rewardful", "rw-secret");
  Read first = one_event(s, "rewardful-sale-refunded.json");
  CHECK(first.type == "refund");
  CHECK(first.partner == "07d8acc5-c689-4b4a-bbab-f88a71ffc012");
  CHECK(first.id == "rewardful:sale.refunded:c3a5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e21");
  CHECK(first.time == 1772701201);
  CHECK(first.number.at("amount") == 30'000'000);
  CHECK(first.text.at("currency") == "USD");
  // The sale's refunded total and the sale: the server takes back the difference.
  CHECK(first.number.at("refunded_total") == 30'000'000);
  CHECK_FALSE(first.text.at("refund_of").empty());

  // A second partial refund of the same sale: another event id, so not a duplicate of
  // the first. It carries the sale's total refunded so far (30.00 + 20.00); the
  // server's refunds as totals make it a refund of 20.00 (test_serve_dead_letters.py).
  std::string second = read_file("rewardful-sale-refunded.json");
  second.replace(second.find("\"refund_amount_cents\": 3000"), 27, "\"refund_amount_cents\": 5000");
  second.replace(second.find("c3a5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e21"), 36, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
  Read e = read_back(map(s, second).line);
  CHECK(e.id == "rewardful:sale.refunded:0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
  CHECK(e.id != first.id);
  CHECK(e.number.at("refunded_total") == 50'000'000);
  CHECK(e.text.at("refund_of") == first.text.at("refund_of"));
  // A retry of the first delivery keeps its event id: a duplicate.
  CHECK(read_back(map(s, read_file("rewardful-sale-refunded.json")).line).id == first.id);
}

TEST_CASE("preset tolt: Standard Webhooks headers (webhook-* or svix-*), cents as strings") {
  const std::string secret = "whsec_dG9sdC1zaWduaW5nLXNlY3JldC1mcm9tLXN2aXg=";
  SourceConfig s = preset_source("tolt", secret);
  Request r;
  r.body = read_file("tolt-transaction-created.json");
  r.now = 1773306001;
  std::string signature = standard_signature(*whsec_key(secret), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", r.now, r.body);
  r.headers = {{"svix-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"},
               {"svix-timestamp", std::to_string(r.now)},
               {"svix-signature", signature}};
  CHECK(authenticate(s, r.view()).empty());
  r.now += 301;
  CHECK(authenticate(s, r.view()) == "the webhook-timestamp is too old");
  r.now -= 301;
  MappedEvent m = map_webhook(s, r.view());
  REQUIRE(m.status == MappedEvent::Status::event);
  Read e = read_back(m.line);
  REQUIRE(e.error.empty());
  CHECK(e.type == "sale");
  CHECK(e.partner == "part_8fKq");
  CHECK(e.id == "tolt:transaction.created:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");  // the delivery's id header
  CHECK(e.time == 1773306000);
  CHECK(e.number.at("amount") == 49'000'000);
  CHECK(e.text.at("customer") == "cus_4kLp");
  CHECK(e.text.at("currency") == "usd");

  r.headers = {{"webhook-id", "msg_1"}, {"webhook-timestamp", std::to_string(r.now)},
               {"webhook-signature", standard_signature(*whsec_key(secret), "msg_1", r.now, r.body)}};
  CHECK(authenticate(s, r.view()).empty());
  r.headers["webhook-signature"] = signature;  // signed for another id
  CHECK(authenticate(s, r.view()) == "no webhook-signature entry matches");

  e = one_event(s, "tolt-partner-created.json");
  CHECK(e.type == "join");
  CHECK(e.partner == "part_8fKq");
  CHECK_FALSE(e.has_id);  // no delivery id header here
  CHECK(e.time == 1772355600);
  CHECK(e.text == std::map<std::string, std::string>{{"company", "Rivera Media"},
                                                     {"country", "US"},
                                                     {"email", "sam@riverastudio.com"},
                                                     {"first_name", "Sam"},
                                                     {"last_name", "Rivera"},
                                                     {"name", "Sam Rivera"}});
  e = one_event(s, "tolt-partner-updated.json");
  CHECK(e.type == "update");
  CHECK(e.partner == "part_8fKq");
  CHECK(e.time == 1772641200);  // data.updated_at: when it changed, not when the partner was created
  CHECK(e.text.at("country") == "CA");

  e = one_event(s, "tolt-customer-created.json");
  CHECK(e.type == "signup");
  CHECK(e.partner == "part_8fKq");
  CHECK(e.time == 1773304200);
  CHECK(e.text.at("customer") == "cus_4kLp");

  e = one_event(s, "tolt-commission-created.json");
  CHECK(e.type == "commission");
  CHECK(e.partner == "part_8fKq");
  CHECK(e.number.at("amount") == 9'800'000);
  CHECK(e.time == 1773306002);  // no data.created_at: the envelope's timestamp
  // A commission taken back arrives with a negative amount, passed on for the engine to refuse.
  m = map(s, R"({"type":"commission.created","data":{"id":"comm_2","type":"refund","amount":"-980","partner_id":"p"},"timestamp":"2026-03-12T09:00:01Z"})");
  CHECK(read_back(m.line).number.at("amount") == -9'800'000);
}

TEST_CASE("preset tolt: a transaction.updated to refunded is a refund of the whole transaction, once") {
  SourceConfig s = preset_source("tolt", "whsec_dG9sdC1zaWduaW5nLXNlY3JldC1mcm9tLXN2aXg=");
  Request r;
  r.body = read_file("tolt-transaction-updated.json");
  r.headers = {{"svix-id", "msg_refund_1"}};
  MappedEvent m = map_webhook(s, r.view());
  REQUIRE(m.status == MappedEvent::Status::event);
  std::vector<Read> events = read_all(m.line);
  REQUIRE(events.size() == 1);
  const Read& e = events[0];
  REQUIRE(e.error.empty());
  CHECK(e.type == "refund");
  CHECK(e.partner == "part_8fKq");
  CHECK(e.id == "tolt:transaction.updated[data.status=refunded]:txn_9Kq2");  // the transaction, not the delivery
  CHECK(e.time == 1774015500);  // data.updated_at: when it was refunded
  CHECK(e.number.at("amount") == 49'000'000);
  CHECK(e.text.at("customer") == "cus_4kLp");
  // A later update of the refunded transaction is the same refund: a duplicate.
  r.headers = {{"svix-id", "msg_refund_2"}};
  CHECK(read_back(map_webhook(s, r.view()).line).id == e.id);

  std::string paid = read_file("tolt-transaction-updated.json");
  paid.replace(paid.find("\"refunded\""), 10, "\"paid\"");
  m = map(s, paid);
  CHECK(m.status == MappedEvent::Status::ignored);  // an update that is not a refund
  CHECK(m.platform_type == "transaction.updated");
}

TEST_CASE("preset firstpromoter: webhooks v1 envelope, cents; a direct reward is a commission and its sale") {
  SourceConfig s = preset_source("firstpromoter", "fp-token");
  MappedEvent m = map_file(s, "firstpromoter-reward-created.json");
  REQUIRE(m.status == MappedEvent::Status::event);
  std::vector<Read> events = read_all(m.line);
  REQUIRE(events.size() == 2);
  const Read& commission = events[0];
  REQUIRE(commission.error.empty());
  CHECK(commission.type == "commission");
  CHECK(commission.partner == "5779418");
  CHECK(commission.id == "firstpromoter:reward_created:22737431");
  CHECK(commission.time == 1727965400);
  CHECK(commission.number.at("amount") == 2'000'000);
  CHECK(commission.text.at("customer") == "21381518");
  const Read& sale = events[1];
  REQUIRE(sale.error.empty());
  CHECK(sale.type == "sale");
  CHECK(sale.partner == "5779418");
  CHECK(sale.id == "firstpromoter:reward_created[data.tier_level=1]:sale_abc123");  // the sale's own id
  CHECK(sale.time == 1727965400);
  CHECK(sale.number.at("amount") == 100'000'000);  // conversion_amount
  CHECK(sale.text.at("customer") == "21381518");

  // A second-tier reward of the same sale pays the parent promoter: a commission, no sale.
  std::string tier2 = read_file("firstpromoter-reward-created.json");
  tier2.replace(tier2.find("\"tier_level\": 1"), 15, "\"tier_level\": 2");
  events = read_all(map(s, tier2).line);
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "commission");

  Read e = one_event(s, "firstpromoter-promoter-accepted.json");
  CHECK(e.type == "join");
  CHECK(e.partner == "9000754");  // data.promoter.id
  CHECK(e.id == "firstpromoter:promoter_accepted:22733469");
  CHECK(e.time == 1727956651);
  CHECK(e.text == std::map<std::string, std::string>{{"company", "Doe Media"},
                                                     {"country", "DE"},
                                                     {"email", "promoter@example.com"},
                                                     {"first_name", "Jane"},
                                                     {"last_name", "Doe"}});

  e = one_event(s, "firstpromoter-promoter-signed-up.json");
  CHECK(e.type == "update");  // signed up, maybe pending: the join is its acceptance
  CHECK(e.partner == "9000754");
  CHECK(e.id == "firstpromoter:promoter_signed_up:22733401");
  CHECK(e.time == 1727956202);
  CHECK(e.text == std::map<std::string, std::string>{
                      {"country", "DE"}, {"email", "promoter@example.com"}, {"first_name", "Jane"}, {"last_name", "Doe"}});

  e = one_event(s, "firstpromoter-lead-signup.json");
  CHECK(e.type == "signup");
  CHECK(e.partner == "3920164");
  CHECK(e.id == "firstpromoter:lead_signup:22736304");
  CHECK(e.time == 1727963120);
  CHECK(e.text.at("customer") == "21381518");
  CHECK(map(s, R"({"event":{"id":3,"type":"lead_cancelled"},"data":{}})").status == MappedEvent::Status::ignored);
}

TEST_CASE("a source's types entry over a preset's keeps the preset's paths it does not set") {
  ConfigResult c = parse_config(R"([[sources]]
kind = "tolt"
path = "/v1/webhooks/tolt"
secret = "whsec_dG9sdC1zaWduaW5nLXNlY3JldC1mcm9tLXN2aXg="
types = { "partner.created" = "update", "customer.created" = { type = "signup", customer = "data.customer_id" }, "link.created" = "click" }
)",
                                "tolt.toml");
  REQUIRE(c.config);
  const SourceConfig& s = c.config->sources[0];
  Read e = one_event(s, "tolt-partner-created.json");
  CHECK(e.type == "update");
  CHECK(e.partner == "part_8fKq");  // the preset's data.id, not the default data.partner_id
  CHECK(e.text.at("country") == "US");
  e = one_event(s, "tolt-customer-created.json");
  CHECK(e.text.at("customer") == "jim_halpert_789");  // set here
  CHECK(e.partner == "part_8fKq");
  e = read_back(map(s, R"({"type":"link.created","data":{"partner_id":"part_8fKq"},"timestamp":"2026-03-01T00:00:00Z"})").line);
  CHECK(e.type == "click");  // a new type: the source's fields
}
