// Small pieces shared by the endpoints of http.cpp and views.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "applier.hpp"
#include "http_server.hpp"
#include "metrics.hpp"
#include "ptag/store.hpp"
#include "ptag/event.hpp"

namespace ptag::serve {

inline constexpr const char* kJson = "application/json";

void answer(HttpResponse& res, const Answer& a);
// {"error":MESSAGE}, or with "parameter":NAME for a bad query parameter.
Answer error(int status, std::string_view message);
Answer bad_parameter(std::string_view parameter, std::string_view message);
// A request's outcome as its answer: 200 with the counts and the items not
// applied (docs/serve.md, "POST /v1/events"), or the refusal's status.
Answer ingest_answer(const IngestOutcome& outcome, const ServeConfig& config);
// Whether the request carries `Authorization: Bearer T` for a T of these lists.
bool has_token(const HttpRequest& req, std::initializer_list<const std::vector<std::string>*> lists);

// A non-negative decimal integer of at most 18 digits; empty otherwise.
std::optional<std::int64_t> whole_number(std::string_view text);
std::string value_json(const Value& v);
std::string record_json(const StoredRecord& r);

// A query parameter that is not what its route takes: a 400 naming it
// (thrown by the typed readers below, answered by the route table).
struct BadParameter {
  std::string parameter, message;
};
// A whole number from `min` to `max`; `fallback` when absent.
std::int64_t whole_param(const HttpRequest& req, std::string_view name, std::int64_t fallback, std::int64_t min,
                         std::int64_t max);
// `limit`: how many items a list answers, 1 to `max` (one rule for every list).
inline std::int64_t limit_param(const HttpRequest& req, std::int64_t fallback, std::int64_t max) {
  return whole_param(req, "limit", fallback, 1, max);
}

// The routes being built: add() wraps each handler so that a BadParameter
// becomes its 400, and times it into its route's histogram (looked up once).
struct RouteTable {
  Metrics& metrics;
  std::vector<HttpRoute> routes;
  void add(HttpRoute route);
};

}  // namespace ptag::serve
