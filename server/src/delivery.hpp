// Outgoing webhooks (docs/serve.md, "Outgoing webhooks"): which change records
// a webhook takes, the Standard Webhooks message for one, and when to try
// again after a failed attempt.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "config.hpp"
#include "ptag/sink.hpp"

namespace ptag::serve {

// The webhook's filter: `actions` and `tags` together (AND); an absent key passes all.
bool passes(const WebhookConfig& webhook, const ChangeRecord& record);

// "tag.added", "tag.removed" or "notification" (an emit).
std::string_view delivery_type(RecordAction action);

// {"type":...,"timestamp":"<the record's time, RFC 3339>","seq":<the record's seq>,
//  "data":<the record as the JSONL sink writes it>}; receivers order a
// partner's deliveries by seq (a retry by hand can arrive after later ones).
std::string delivery_body(const ChangeRecord& record, std::int64_t seq);
// The record's time in a delivery_body(); none if it is not one.
std::optional<Seconds> delivery_time(std::string_view body);

// A delivery id that is the same on every attempt and after restarts, and
// never the same in two stores: "msg_<store id>_<place in the outbox>".
// No '.' (the signed text is id.timestamp.body).
std::string delivery_id(std::string_view store_id, std::uint64_t outbox_sequence);
// The place in the outbox of a delivery_id() of this store; none otherwise.
std::optional<std::int64_t> parse_delivery_id(std::string_view id, std::string_view store_id);

struct DeliveryHeaders {
  std::string id;         // webhook-id
  std::string timestamp;  // webhook-timestamp: Unix seconds of this attempt
  std::string signature;  // webhook-signature: "v1,<base64>"
};
DeliveryHeaders sign_delivery(const WebhookConfig& webhook, std::string_view id, Seconds attempt_time,
                              std::string_view body);

// What an attempt's HTTP status means.
enum class AttemptOutcome : std::uint8_t {
  delivered,     // 2xx
  retry,         // anything else, or no answer (status 0: connect error, timeout)
  endpoint_gone  // 410: the receiver asks to stop; disable the endpoint
};
AttemptOutcome classify_status(int status);

// A Retry-After header as a delay from `now`: delta-seconds, or an HTTP date
// (IMF-fixdate, RFC 850 or asctime). Empty when unreadable; a past date is 0.
std::optional<Seconds> parse_retry_after(std::string_view value, Seconds now);

// Retry-After is honoured up to this long, so that a receiver cannot park a delivery for years.
inline constexpr Seconds kMaxRetryAfter = 86'400;

// After `failed_attempts` failed attempts (1 after the first), how long to
// wait before the next: the schedule's delay ±10 % jitter, and no sooner than
// Retry-After (capped at kMaxRetryAfter). Empty when the schedule is used up:
// the delivery has failed for good.
std::optional<Millis> next_attempt_delay(const WebhookConfig& webhook, std::size_t failed_attempts,
                                         std::optional<Seconds> retry_after, std::mt19937_64& rng);

}  // namespace ptag::serve
