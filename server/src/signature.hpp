// Signatures of webhooks, incoming and outgoing (docs/serve.md, "Verifying
// signatures"): HMAC-SHA256, hex and base64, constant-time comparison, and
// the Standard Webhooks scheme.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ptag/time.hpp"

namespace ptag::serve {

// The raw 32-byte HMAC-SHA256 of `message` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view message);

// Lowercase hex; decoding accepts either case. Empty optional on bad input.
std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view text);
// Standard base64 with padding ('+', '/', '='). Decoding refuses anything else
// (whitespace, missing padding, the URL-safe alphabet).
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// Equal length and bytes, in time that depends only on the length.
bool constant_time_equal(std::string_view a, std::string_view b);

// A `whsec_` secret's key: the base64-decoded text after the prefix. Empty
// optional when the prefix is missing, the rest is not base64 or decodes to
// nothing. `why` (if given) says which.
std::optional<std::string> whsec_key(std::string_view secret, std::string* why = nullptr);

// Standard Webhooks: "v1,<base64 HMAC-SHA256 of "id.timestamp.body">" under `key`
// (the decoded secret).
std::string standard_signature(std::string_view key, std::string_view msg_id, std::int64_t timestamp,
                               std::string_view body);

// Checks a `webhook-signature` header (space-separated entries; entries other
// than v1 are skipped) against the id, the timestamp header's text and the
// body; the timestamp must be within `tolerance` seconds of `now`, both ways.
// Empty on success, else why not (for a log line or a 401 body).
std::string verify_standard(std::string_view key, std::string_view msg_id, std::string_view timestamp,
                            std::string_view signature_header, std::string_view body, Seconds now,
                            Seconds tolerance = 300);

// A hex HMAC-SHA256 of `body` under `secret` (a `sha256=` prefix is allowed,
// as GitHub and others write it), compared in constant time.
bool verify_hex_hmac(std::string_view secret, std::string_view body, std::string_view signature);

}  // namespace ptag::serve
