// POST /v1/events bodies (docs/serve.md, "Ingest"): one JSON event, a JSON
// array of events, or JSONL, read by the same JSONL reader as `ptag run`.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptag/event_batch.hpp"

namespace ptag::serve {

// An item of a request that was not applied, and why.
struct ItemResult {
  std::size_t index = 0;  // 0-based: the array element, or the line - 1
  std::string status;     // "applied", "duplicate" or "rejected"
  std::string reason;
  std::optional<std::string> id;
};

struct ParsedBody {
  EventBatch events;                  // the readable events; line(i) - 1 is the index
  std::vector<ItemResult> rejected;   // items that are not events (bad JSON, missing fields)
  std::size_t items = 0;              // items in the body
  bool any_json = false;              // some item is valid JSON
  std::string error;                  // the body as a whole cannot be read (400)
};

// Never throws.
ParsedBody parse_events_body(std::string_view body);

}  // namespace ptag::serve
