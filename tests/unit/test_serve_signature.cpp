// Signatures of `ptag serve`: HMAC-SHA256, hex, base64, Standard Webhooks.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "signature.hpp"

using namespace ptag::serve;

// The Standard Webhooks test vector, as published with the specification's
// reference libraries: github.com/standard-webhooks/standard-webhooks,
// libraries/javascript/src/webhook.test.ts, test "sign function works".
static constexpr std::string_view kVectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static constexpr std::string_view kVectorId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
static constexpr std::int64_t kVectorTimestamp = 1614265330;
static constexpr std::string_view kVectorBody = R"({"test": 2432232314})";
static constexpr std::string_view kVectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2") {
  // RFC 4231, 4.3: key "Jefe", data "what do ya want for nothing?".
  CHECK(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("hex encodes lowercase and decodes either case") {
  CHECK(hex_encode(std::string("\x00\xff\x10", 3)) == "00ff10");
  CHECK(hex_decode("00FF10") == std::string("\x00\xff\x10", 3));
  CHECK(hex_decode("00ff1") == std::nullopt);
  CHECK(hex_decode("zz") == std::nullopt);
  CHECK(hex_decode("") == std::string());
}

TEST_CASE("base64 round-trips with padding and refuses other forms") {
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("") == "");
  CHECK(base64_decode("Zg==") == std::string("f"));
  CHECK(base64_decode("Zm8=") == std::string("fo"));
  CHECK(base64_decode("Zm9vYmFy") == std::string("foobar"));
  CHECK(base64_decode("Zg") == std::nullopt);        // no padding
  CHECK(base64_decode("Zm9 v") == std::nullopt);     // whitespace
  CHECK(base64_decode("Zm-_") == std::nullopt);      // URL-safe alphabet
  CHECK(base64_decode("Z===") == std::nullopt);      // three padding characters
  CHECK(base64_decode("Zg=a") == std::nullopt);      // padding in the middle
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(base64_decode(base64_encode(all)) == all);
}

TEST_CASE("constant_time_equal compares length and bytes") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(constant_time_equal("", ""));
}

TEST_CASE("whsec_ secrets decode after the prefix") {
  std::string why;
  auto key = whsec_key(kVectorSecret, &why);
  REQUIRE(key);
  CHECK(key->size() == 24);
  CHECK_FALSE(whsec_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &why));
  CHECK(why == "it does not start with whsec_");
  CHECK_FALSE(whsec_key("whsec_not base64!", &why));
  CHECK(why == "the part after whsec_ is not valid base64");
  CHECK_FALSE(whsec_key("whsec_", &why));
  CHECK(why == "the part after whsec_ is empty");
}

TEST_CASE("Standard Webhooks: the published test vector") {
  auto key = whsec_key(kVectorSecret);
  REQUIRE(key);
  CHECK(standard_signature(*key, kVectorId, kVectorTimestamp, kVectorBody) == kVectorSignature);
  CHECK(verify_standard(*key, kVectorId, "1614265330", kVectorSignature, kVectorBody, kVectorTimestamp).empty());
}

TEST_CASE("Standard Webhooks: verification refuses what was not signed") {
  auto key = *whsec_key(kVectorSecret);
  const auto now = kVectorTimestamp;
  const std::string ts = "1614265330";
  CHECK(verify_standard(key, kVectorId, ts, kVectorSignature, R"({"test": 2432232315})", now) ==
        "no webhook-signature entry matches");
  CHECK(verify_standard(key, "msg_other", ts, kVectorSignature, kVectorBody, now) ==
        "no webhook-signature entry matches");
  CHECK(verify_standard(key, kVectorId, "1614265331", kVectorSignature, kVectorBody, now) ==
        "no webhook-signature entry matches");
  CHECK(verify_standard(*whsec_key("whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ="), kVectorId, ts, kVectorSignature,
                        kVectorBody, now) == "no webhook-signature entry matches");
  CHECK(verify_standard(key, kVectorId, ts, "v1,", kVectorBody, now) == "no webhook-signature entry matches");
  CHECK(verify_standard(key, kVectorId, ts, "v1,g0hM9SsE", kVectorBody, now) ==
        "no webhook-signature entry matches");
  // A v2 entry with the right bytes is not a v1 signature.
  CHECK(verify_standard(key, kVectorId, ts, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", kVectorBody, now) ==
        "no webhook-signature entry matches");
  CHECK(verify_standard(key, "", ts, kVectorSignature, kVectorBody, now) == "the webhook-id header is missing");
  CHECK(verify_standard(key, kVectorId, "", kVectorSignature, kVectorBody, now) ==
        "the webhook-timestamp header is missing");
  CHECK(verify_standard(key, kVectorId, ts, "", kVectorBody, now) == "the webhook-signature header is missing");
  CHECK(verify_standard(key, kVectorId, "hello", kVectorSignature, kVectorBody, now) ==
        "the webhook-timestamp header is not Unix seconds");
}

TEST_CASE("Standard Webhooks: several signatures, one valid; timestamp tolerance") {
  auto key = *whsec_key(kVectorSecret);
  std::string header = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc " + std::string(kVectorSignature) +
                       " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
  CHECK(verify_standard(key, kVectorId, "1614265330", header, kVectorBody, kVectorTimestamp).empty());
  // Five minutes both ways by default; a second more is refused.
  CHECK(verify_standard(key, kVectorId, "1614265330", kVectorSignature, kVectorBody, kVectorTimestamp + 300).empty());
  CHECK(verify_standard(key, kVectorId, "1614265330", kVectorSignature, kVectorBody, kVectorTimestamp + 301) ==
        "the webhook-timestamp is too old");
  CHECK(verify_standard(key, kVectorId, "1614265330", kVectorSignature, kVectorBody, kVectorTimestamp - 301) ==
        "the webhook-timestamp is too far in the future");
  CHECK(verify_standard(key, kVectorId, "1614265330", kVectorSignature, kVectorBody, kVectorTimestamp + 1000, 1000)
            .empty());
}

TEST_CASE("hex HMAC of the body, with or without sha256=") {
  std::string mac = hex_encode(hmac_sha256("shop-secret", R"({"a":1})"));
  CHECK(verify_hex_hmac("shop-secret", R"({"a":1})", mac));
  CHECK(verify_hex_hmac("shop-secret", R"({"a":1})", "sha256=" + mac));
  std::string upper = mac;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(verify_hex_hmac("shop-secret", R"({"a":1})", upper));
  CHECK_FALSE(verify_hex_hmac("shop-secret", R"({"a":2})", mac));
  CHECK_FALSE(verify_hex_hmac("other-secret", R"({"a":1})", mac));
  CHECK_FALSE(verify_hex_hmac("shop-secret", R"({"a":1})", mac.substr(0, 62)));
  CHECK_FALSE(verify_hex_hmac("shop-secret", R"({"a":1})", ""));
}

// Writes a delivery signed here for the Python receiver's test
// (examples/webhook-receiver.py), when PTAG_SIGNED_SAMPLE names the file.
TEST_CASE("signed sample for the Python receiver", "[sample]") {
  const char* path = std::getenv("PTAG_SIGNED_SAMPLE");
  if (!path) return;
  const std::string secret = "whsec_c2FtcGxlLXNlY3JldC1mb3ItdGhlLXB5dGhvbi10ZXN0";
  const std::string id = "msg_42";
  const std::int64_t ts = 1772360100;
  const std::string body =
      R"({"type":"tag.added","timestamp":"2026-03-01T10:15:00Z","data":{"time":"2026-03-01T10:15:00Z","partner":"p-42","action":"add","tag":"VIP","rule":"vip","cause":"event"}})";
  std::string signature = standard_signature(*whsec_key(secret), id, ts, body);
  REQUIRE(verify_standard(*whsec_key(secret), id, std::to_string(ts), signature, body, ts).empty());
  std::ofstream out(path, std::ios::binary);
  // One field per line: secret, id, timestamp, signature, body.
  out << secret << '\n' << id << '\n' << ts << '\n' << signature << '\n' << body << '\n';
  REQUIRE(out.good());
}
