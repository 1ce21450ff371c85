// Outgoing webhooks: filters, the message and its headers, retries.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include "delivery.hpp"
#include "signature.hpp"

using namespace ptag::serve;
using ptag::ChangeRecord;
using ptag::RecordAction;
using ptag::RecordCause;

namespace {

WebhookConfig webhook(std::string_view extra = "") {
  ConfigResult c = parse_config("[[webhooks]]\nurl = \"http://127.0.0.1:9000/hook\"\nsecret = "
                                "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n" +
                                    std::string(extra),
                                "w.toml");
  REQUIRE(c.config);
  return c.config->webhooks.at(0);
}

ChangeRecord record(RecordAction action, std::string_view tag) {
  ChangeRecord r;
  r.time = 1772360100;
  r.partner = "p-42";
  r.action = action;
  r.tag = tag;
  r.rule = "vip";
  r.event_id = "e-1001";
  r.has_event_id = true;
  return r;
}

}  // namespace

TEST_CASE("no filter passes every record") {
  WebhookConfig w = webhook();
  CHECK(passes(w, record(RecordAction::add, "VIP")));
  CHECK(passes(w, record(RecordAction::remove, "Other")));
  CHECK(passes(w, record(RecordAction::emit, "gold_sale")));
}

TEST_CASE("actions and tags together: both must pass") {
  WebhookConfig w = webhook("actions = [\"add\", \"emit\"]\ntags = [\"VIP\", \"gold_sale\"]\n");
  CHECK(passes(w, record(RecordAction::add, "VIP")));
  CHECK(passes(w, record(RecordAction::emit, "gold_sale")));
  CHECK_FALSE(passes(w, record(RecordAction::remove, "VIP")));   // action fails
  CHECK_FALSE(passes(w, record(RecordAction::add, "Other")));    // tag fails
  WebhookConfig only_tags = webhook("tags = [\"VIP\"]\n");
  CHECK(passes(only_tags, record(RecordAction::remove, "VIP")));
  CHECK_FALSE(passes(only_tags, record(RecordAction::add, "vip")));  // tags are case-sensitive
  WebhookConfig only_actions = webhook("actions = [\"remove\"]\n");
  CHECK(passes(only_actions, record(RecordAction::remove, "Any")));
  CHECK_FALSE(passes(only_actions, record(RecordAction::add, "Any")));
}

TEST_CASE("the body wraps the record as the JSONL sink writes it") {
  ChangeRecord r = record(RecordAction::add, "VIP");
  std::string record_line;
  ptag::append_record_json(record_line, r);
  record_line.pop_back();  // its newline
  CHECK(delivery_body(r, 17) ==
        R"({"type":"tag.added","timestamp":"2026-03-01T10:15:00Z","seq":17,"data":)" + record_line + "}");
  CHECK(delivery_body(r, 17) ==
        R"({"type":"tag.added","timestamp":"2026-03-01T10:15:00Z","seq":17,"data":{"time":"2026-03-01T10:15:00Z","partner":"p-42","action":"add","tag":"VIP","rule":"vip","cause":"event","event":"e-1001"}})");
  ChangeRecord timer = record(RecordAction::remove, "VIP");
  timer.timer = true;
  timer.cause = RecordCause::timer;
  timer.has_event_id = false;
  CHECK(delivery_body(timer, 18) ==
        R"({"type":"tag.removed","timestamp":"2026-03-01T10:15:00Z","seq":18,"data":{"time":"2026-03-01T10:15:00Z","partner":"p-42","action":"remove","tag":"VIP","rule":"vip","cause":"timer"}})");
  CHECK(delivery_body(record(RecordAction::emit, "gold_sale"), 1).starts_with(R"({"type":"notification",)"));
  CHECK(delivery_type(RecordAction::emit) == "notification");
  CHECK(delivery_time(delivery_body(r, 17)) == 1772360100);
  CHECK_FALSE(delivery_time("{}"));
}

TEST_CASE("the headers are Standard Webhooks' and verify") {
  WebhookConfig w = webhook();
  std::string body = delivery_body(record(RecordAction::add, "VIP"), 42);
  std::string id = delivery_id("0a1b2c3d4e5f6789", 42);
  CHECK(id == "msg_0a1b2c3d4e5f6789_42");
  CHECK(id.find('.') == std::string::npos);
  CHECK(parse_delivery_id(id, "0a1b2c3d4e5f6789") == 42);
  CHECK_FALSE(parse_delivery_id(id, "ffffffffffffffff"));  // another store's
  CHECK_FALSE(parse_delivery_id("msg_42", "0a1b2c3d4e5f6789"));
  CHECK_FALSE(parse_delivery_id("msg_0a1b2c3d4e5f6789_042", "0a1b2c3d4e5f6789"));
  CHECK_FALSE(parse_delivery_id("msg_0a1b2c3d4e5f6789_", "0a1b2c3d4e5f6789"));
  DeliveryHeaders h = sign_delivery(w, id, 1772360105, body);
  CHECK(h.id == "msg_0a1b2c3d4e5f6789_42");
  CHECK(h.timestamp == "1772360105");
  CHECK(h.signature.starts_with("v1,"));
  CHECK(verify_standard(w.key, h.id, h.timestamp, h.signature, body, 1772360105).empty());
  // A retry an hour later: same id, new timestamp, new signature.
  DeliveryHeaders later = sign_delivery(w, id, 1772363705, body);
  CHECK(later.id == h.id);
  CHECK(later.signature != h.signature);
  CHECK(verify_standard(w.key, later.id, later.timestamp, later.signature, body, 1772363705).empty());
}

TEST_CASE("what an attempt's status means") {
  CHECK(classify_status(200) == AttemptOutcome::delivered);
  CHECK(classify_status(204) == AttemptOutcome::delivered);
  CHECK(classify_status(299) == AttemptOutcome::delivered);
  CHECK(classify_status(301) == AttemptOutcome::retry);  // redirects are not followed
  CHECK(classify_status(410) == AttemptOutcome::endpoint_gone);
  CHECK(classify_status(429) == AttemptOutcome::retry);
  CHECK(classify_status(500) == AttemptOutcome::retry);
  CHECK(classify_status(0) == AttemptOutcome::retry);  // no answer
}

TEST_CASE("Retry-After: seconds or an HTTP date") {
  const ptag::Seconds now = 784111777;  // 1994-11-06T08:49:37Z
  CHECK(parse_retry_after("120", now) == 120);
  CHECK(parse_retry_after(" 0 ", now) == 0);
  CHECK(parse_retry_after("99999999999999999999999", now) == kMaxRetryAfter);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now) == 60);
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:51:37 GMT", now) == 120);
  CHECK(parse_retry_after("Sun Nov  6 08:52:37 1994", now) == 180);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == 0);  // already past
  CHECK_FALSE(parse_retry_after("soon", now));
  CHECK_FALSE(parse_retry_after("-5", now));
  CHECK_FALSE(parse_retry_after("1.5", now));
  CHECK_FALSE(parse_retry_after("", now));
  CHECK_FALSE(parse_retry_after("Sun, 31 Feb 1994 08:50:37 GMT", now));  // no such day
  CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:50:37 CET", now));
}

TEST_CASE("retries follow the schedule with jitter of 10 %, then stop") {
  WebhookConfig w = webhook("retry = [\"5s\", \"5m\", \"30m\"]\n");
  std::mt19937_64 rng(7);
  CHECK_FALSE(next_attempt_delay(w, 0, std::nullopt, rng));  // nothing failed yet
  for (int round = 0; round < 200; ++round) {
    for (std::size_t failed = 1; failed <= 3; ++failed) {
      auto d = next_attempt_delay(w, failed, std::nullopt, rng);
      REQUIRE(d);
      double base = static_cast<double>(w.retry[failed - 1].count());
      CHECK(static_cast<double>(d->count()) >= base * 0.9 - 1);
      CHECK(static_cast<double>(d->count()) <= base * 1.1);
    }
  }
  CHECK_FALSE(next_attempt_delay(w, 4, std::nullopt, rng));  // 1 + 3 attempts: failed for good
  // The same seed gives the same delays; the delays are not all the same.
  std::mt19937_64 a(11), b(11);
  std::vector<Millis> first, second;
  for (int i = 0; i < 20; ++i) {
    first.push_back(*next_attempt_delay(w, 1, std::nullopt, a));
    second.push_back(*next_attempt_delay(w, 1, std::nullopt, b));
  }
  CHECK(first == second);
  CHECK(std::adjacent_find(first.begin(), first.end(), std::not_equal_to<>()) != first.end());
}

TEST_CASE("Retry-After wins when it asks for longer, up to a day") {
  WebhookConfig w = webhook("retry = [\"5s\", \"5m\"]\n");
  std::mt19937_64 rng(3);
  CHECK(*next_attempt_delay(w, 1, 3600, rng) == Millis(3'600'000));
  CHECK(*next_attempt_delay(w, 1, 10LL * 365 * 86400, rng) == Millis(kMaxRetryAfter * 1000));
  Millis d = *next_attempt_delay(w, 2, 1, rng);  // shorter than the schedule: the schedule
  CHECK(d >= Millis(270'000));
  CHECK_FALSE(next_attempt_delay(w, 3, 1, rng));  // exhausted, whatever the receiver says
}

TEST_CASE("an empty schedule means one attempt") {
  WebhookConfig w = webhook("retry = []\n");
  std::mt19937_64 rng(1);
  CHECK_FALSE(next_attempt_delay(w, 1, std::nullopt, rng));
}
