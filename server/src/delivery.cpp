#include "delivery.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "signature.hpp"

namespace ptag::serve {

bool passes(const WebhookConfig& webhook, const ChangeRecord& record) {
  bool action = webhook.actions.empty() ||
                std::find(webhook.actions.begin(), webhook.actions.end(), record.action) != webhook.actions.end();
  bool tag = webhook.tags.empty() || std::find(webhook.tags.begin(), webhook.tags.end(), record.tag) != webhook.tags.end();
  return action && tag;
}

std::string_view delivery_type(RecordAction action) {
  switch (action) {
    case RecordAction::add: return "tag.added";
    case RecordAction::remove: return "tag.removed";
    case RecordAction::emit: return "notification";
  }
  return "notification";
}

std::string delivery_body(const ChangeRecord& record, std::int64_t seq) {
  std::string body = R"({"type":")";
  body += delivery_type(record.action);
  body += R"(","timestamp":")";
  body += format_time(record.time);
  body += R"(","seq":)";
  body += std::to_string(seq);
  body += R"(,"data":)";
  append_record_json(body, record);  // the JSONL sink's own text
  if (!body.empty() && body.back() == '\n') body.pop_back();
  body += '}';
  return body;
}

std::optional<Seconds> delivery_time(std::string_view body) {
  constexpr std::string_view kKey = R"("timestamp":")";
  std::size_t at = body.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t end = body.find('"', at + kKey.size());
  if (end == std::string_view::npos) return std::nullopt;
  return parse_stored_time(body.substr(at + kKey.size(), end - at - kKey.size()));
}

std::string delivery_id(std::string_view store_id, std::uint64_t outbox_sequence) {
  return "msg_" + std::string(store_id) + "_" + std::to_string(outbox_sequence);
}

std::optional<std::int64_t> parse_delivery_id(std::string_view id, std::string_view store_id) {
  std::string prefix = "msg_" + std::string(store_id) + "_";
  if (!id.starts_with(prefix)) return std::nullopt;
  std::string_view digits = id.substr(prefix.size());
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || digits.size() > 18 || ec != std::errc{} || end != digits.data() + digits.size() || n < 1 ||
      digits.front() == '0')
    return std::nullopt;
  return n;
}

DeliveryHeaders sign_delivery(const WebhookConfig& webhook, std::string_view id, Seconds attempt_time,
                              std::string_view body) {
  return {std::string(id), std::to_string(attempt_time), standard_signature(webhook.key, id, attempt_time, body)};
}

AttemptOutcome classify_status(int status) {
  if (status >= 200 && status <= 299) return AttemptOutcome::delivered;
  if (status == 410) return AttemptOutcome::endpoint_gone;
  return AttemptOutcome::retry;
}

namespace {

int month_number(std::string_view name) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (kMonths[i] == name) return i + 1;
  }
  return 0;
}

// An HTTP date (RFC 9110 5.6.7) as epoch seconds.
std::optional<Seconds> parse_http_date(std::string_view v) {
  char weekday[16] = {}, month[4] = {}, zone[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0, used = 0;
  std::string text(v);
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  if (std::sscanf(text.c_str(), "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", weekday, &day, month, &year,
                  &hh, &mm, &ss, zone, &used) == 8 &&
      static_cast<std::size_t>(used) == text.size()) {
  } else if (std::sscanf(text.c_str(), "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d %3[A-Z]%n", weekday, &day,
                         month, &year, &hh, &mm, &ss, zone, &used) == 8 &&
             static_cast<std::size_t>(used) == text.size()) {
    year += year < 70 ? 2000 : 1900;  // RFC 850's two-digit year
  } else if (std::sscanf(text.c_str(), "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", weekday, month, &day, &hh,
                         &mm, &ss, &year, &used) == 7 &&
             static_cast<std::size_t>(used) == text.size()) {
    zone[0] = 'G', zone[1] = 'M', zone[2] = 'T';  // asctime: Sun Nov  6 08:49:37 1994
  } else {
    return std::nullopt;
  }
  int m = month_number(month);
  if (m == 0 || std::string_view(zone) != "GMT") return std::nullopt;
  char rfc3339[32];
  std::snprintf(rfc3339, sizeof rfc3339, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, m, day, hh, mm, ss);
  return parse_time(rfc3339);  // also refuses dates that do not exist
}

}  // namespace

std::optional<Seconds> parse_retry_after(std::string_view value, Seconds now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (!value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    Seconds s = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
    if (ec != std::errc{}) return kMaxRetryAfter;  // more digits than fit: "a long time"
    return s;
  }
  std::optional<Seconds> at = parse_http_date(value);
  if (!at) return std::nullopt;
  return std::max<Seconds>(0, *at - now);
}

std::optional<Millis> next_attempt_delay(const WebhookConfig& webhook, std::size_t failed_attempts,
                                         std::optional<Seconds> retry_after, std::mt19937_64& rng) {
  if (failed_attempts == 0 || failed_attempts > webhook.retry.size()) return std::nullopt;
  double base = static_cast<double>(webhook.retry[failed_attempts - 1].count());
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  auto delay = Millis(static_cast<std::int64_t>(base * jitter(rng)));
  if (retry_after) delay = std::max(delay, Millis(std::min(*retry_after, kMaxRetryAfter) * 1000));
  return delay;
}

}  // namespace ptag::serve
