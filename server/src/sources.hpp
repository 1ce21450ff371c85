// Platform webhooks ([[sources]]) as ptag events (docs/serve.md, "Sources"):
// a request is authenticated by its signature, then its JSON body is mapped
// by field paths onto event lines (usually one) in the JSONL format of
// docs/events.md, for the same reader as `ptag run` (so every check of an
// event stays there).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "ptag/time.hpp"

namespace ptag::serve {

struct WebhookRequest {
  std::string_view body;  // the raw bytes, as signed
  // A header's value by name (case-insensitive), "" when absent.
  std::function<std::string_view(std::string_view name)> header;
  std::string_view token_param;  // the `token` query parameter, "" when absent
  Seconds now = 0;               // the wall clock: signature timestamps, and an event without a time
};

// Empty when the request proves it comes from the platform (constant-time
// comparisons); else why not, for a 401 and the log.
std::string authenticate(const SourceConfig& source, const WebhookRequest& request, Seconds tolerance = 300);

struct MappedEvent {
  enum class Status { event, ignored, bad } status = Status::bad;
  // Status event: one JSON object per event, joined by newlines (JSONL), for
  // the JSONL reader; several when several types entries match the payload.
  std::string line;
  std::string platform_type;  // the payload's type, when it has one
  std::string reason;         // ignored (a type the source does not map) or bad: why
};

// Maps an authenticated request's body onto its events: one for each types
// entry of its platform type whose conditions hold ("TYPE[PATH=VALUE]").
// Never throws; bad JSON, a missing partner or an amount that is not money
// come back as `bad` (then no event is made).
MappedEvent map_webhook(const SourceConfig& source, const WebhookRequest& request);

// Whole cents (digits, an optional leading '-') as an exact major-unit
// decimal: "12990" -> "129.90", "5" -> "0.05". Empty when not whole cents.
std::optional<std::string> cents_to_major(std::string_view cents);

}  // namespace ptag::serve
