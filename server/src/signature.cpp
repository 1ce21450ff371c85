#include "signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace ptag::serve {

std::string hmac_sha256(std::string_view key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

static bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

std::optional<std::string> base64_decode(std::string_view text) {
  // EVP_DecodeBlock skips whitespace and counts padding as zero bytes, so
  // the form is checked here first and the padding trimmed after.
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    if (!is_base64_char(text[i])) return std::nullopt;
  }
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> whsec_key(std::string_view secret, std::string* why) {
  constexpr std::string_view kPrefix = "whsec_";
  auto fail = [&](const char* reason) -> std::optional<std::string> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (!secret.starts_with(kPrefix)) return fail("it does not start with whsec_");
  std::optional<std::string> key = base64_decode(secret.substr(kPrefix.size()));
  if (!key) return fail("the part after whsec_ is not valid base64");
  if (key->empty()) return fail("the part after whsec_ is empty");
  return key;
}

static std::string signed_content(std::string_view msg_id, std::string_view timestamp, std::string_view body) {
  std::string content;
  content.reserve(msg_id.size() + timestamp.size() + body.size() + 2);
  content.append(msg_id).append(".").append(timestamp).append(".").append(body);
  return content;
}

std::string standard_signature(std::string_view key, std::string_view msg_id, std::int64_t timestamp,
                               std::string_view body) {
  std::string mac = hmac_sha256(key, signed_content(msg_id, std::to_string(timestamp), body));
  return "v1," + base64_encode(mac);
}

std::string verify_standard(std::string_view key, std::string_view msg_id, std::string_view timestamp,
                            std::string_view signature_header, std::string_view body, Seconds now,
                            Seconds tolerance) {
  if (msg_id.empty()) return "the webhook-id header is missing";
  if (timestamp.empty()) return "the webhook-timestamp header is missing";
  if (signature_header.empty()) return "the webhook-signature header is missing";
  std::int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc{} || end != timestamp.data() + timestamp.size()) {
    return "the webhook-timestamp header is not Unix seconds";
  }
  if (ts < now - tolerance) return "the webhook-timestamp is too old";
  if (ts > now + tolerance) return "the webhook-timestamp is too far in the future";
  std::string expected = hmac_sha256(key, signed_content(msg_id, timestamp, body));
  bool match = false;
  std::string_view rest = signature_header;
  while (!rest.empty()) {
    std::size_t space = rest.find(' ');
    std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (!entry.starts_with("v1,")) continue;
    std::optional<std::string> mac = base64_decode(entry.substr(3));
    // Every entry is compared: the time taken does not tell which one matched.
    if (mac && constant_time_equal(*mac, expected)) match = true;
  }
  return match ? std::string{} : "no webhook-signature entry matches";
}

bool verify_hex_hmac(std::string_view secret, std::string_view body, std::string_view signature) {
  if (signature.starts_with("sha256=")) signature.remove_prefix(7);
  std::optional<std::string> mac = hex_decode(signature);
  return mac && constant_time_equal(*mac, hmac_sha256(secret, body));
}

}  // namespace ptag::serve
