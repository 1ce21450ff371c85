// The `ptag serve` config file (docs/serve.md, "Config file"): TOML, read
// with toml++, checked whole. Every error names file:line:column.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_server.hpp"
#include "ptag/sink.hpp"
#include "ptag/time.hpp"

namespace ptag::serve {

using Millis = std::chrono::milliseconds;

// A duration as rule files write them, a whole number and a unit: "5s",
// "5m", "2h", "1d", "2w"; also "250ms" (for tests' short retries and timeouts).
std::optional<Millis> parse_duration(std::string_view text);

// Where a value stands in the config file (1-based), for later messages.
struct ConfigPlace {
  std::string file;
  std::uint32_t line = 0, column = 0;
  std::string text() const;  // "ptag.toml:12:7"
};

struct WebhookConfig {
  std::string name;    // `name`, default the url; unique; names the endpoint in deliveries
  std::string url;     // as written
  std::string origin;  // "http://127.0.0.1:9000" (scheme, host, port) for the HTTP client
  std::string path;    // "/hook" (with any query), at least "/"
  std::string secret;  // "whsec_..."
  std::string key;     // the secret's decoded bytes: the HMAC key
  std::vector<RecordAction> actions;  // empty: every action
  std::vector<std::string> tags;      // tags or emit names; empty: all
  std::vector<Millis> retry;          // delays between attempts; the first attempt is immediate
  Millis timeout{15'000};             // connect and read, per attempt
  ConfigPlace place;                  // the [[webhooks]] table
};

enum class SourceKind : std::uint8_t { custom, partnero, rewardful, tolt, firstpromoter };
// How a source's requests prove who sent them.
enum class SourceScheme : std::uint8_t {
  hmac_hex,           // hex HMAC-SHA256 of the raw body in `signature_header`
  standard_webhooks,  // webhook-id/-timestamp/-signature (or svix-*), whsec_ secret
  token,              // the secret itself: `signature_header` ("Bearer " optional) or ?token=
};
enum class AmountUnit : std::uint8_t { major, cents };

// Where one event field comes from: dotted paths into the body
// ("data.partner.id", "items.0.id") or "header:NAME"; the first present wins.
struct FieldPath {
  std::vector<std::string> paths;
};

// What a platform event type becomes: the ptag event type, and fields that
// differ from the source's `fields` for this type.
struct TypeMapping {
  std::string type;
  std::map<std::string, FieldPath, std::less<>> fields;
};

struct SourceConfig {
  SourceKind kind = SourceKind::custom;
  std::string name;  // `name`, default the path's last segment; prefixes event ids
  std::string path;  // "/v1/webhooks/shop"
  std::string secret;
  SourceScheme scheme = SourceScheme::hmac_hex;
  std::string signature_header;
  // type, partner, time, id; every other key is a `data` field (amount, customer, ...).
  std::map<std::string, FieldPath, std::less<>> fields;
  AmountUnit amount_unit = AmountUnit::major;
  // Platform type -> mapping. Empty (custom only): the platform's type is the event type.
  std::map<std::string, TypeMapping, std::less<>> types;
  bool time_fallback = true;  // no time in the payload: the time the request arrived
  ConfigPlace place;
};

struct ServeConfig {
  ListenAddress listen{"127.0.0.1", 8080};
  // Reads, admin, metrics and the page; then `listen` serves only ingest,
  // sources and the health checks.
  std::optional<ListenAddress> admin_listen;
  std::size_t max_body_bytes = 1 << 20;
  Seconds max_future_skew = 300;
  std::vector<std::string> ingest_tokens, admin_tokens, read_tokens;
  std::vector<WebhookConfig> webhooks;
  std::vector<SourceConfig> sources;
  // Beyond the keys (docs/serve.md):
  std::size_t max_queued_events = 100'000;  // waiting to be committed; more: 429
  Millis commit_interval{2};                // the longest a commit waits to group requests
  std::size_t http_threads = 32;            // request handler threads (whole requests only)
  Seconds signature_tolerance = 300;        // Standard Webhooks timestamps, both ways
  Seconds retry_after = 1;                  // Retry-After of a 429 or 503
  Seconds late_event_warning = 86'400;      // applied events older than the clock by more: a warning
  // The HTTP layer's limits (docs/serve.md, "Limits").
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_client = 256;
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_headers = 100;
  Millis header_timeout{10'000};
  Millis body_timeout{60'000};

  const SourceConfig* source_at(std::string_view path) const;
};

// The source of an event type: the keys a preset sets, for docs and tests.
SourceConfig preset(SourceKind kind);
std::string_view kind_name(SourceKind kind);

struct ConfigResult {
  std::optional<ServeConfig> config;  // empty when there is an error
  std::vector<std::string> errors;    // "FILE:LINE:COL: error: ..." (several at once)
  std::vector<std::string> warnings;  // "FILE:LINE:COL: warning: unknown key ...; did you mean ...?"
};

// Reads and checks a config file; `file` names it in messages.
ConfigResult parse_config(std::string_view text, std::string_view file);
ConfigResult load_config(const std::string& path);

}  // namespace ptag::serve
