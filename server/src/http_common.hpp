// Small pieces shared by the endpoints of http.cpp and views.cpp.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "applier.hpp"
#include "metrics.hpp"
#include "ptag/store.hpp"
#include "ptag/event.hpp"

namespace ptag::serve {

inline constexpr const char* kJson = "application/json";

void answer(httplib::Response& res, const Answer& a);
// {"error":MESSAGE}, or with "parameter":NAME for a bad query parameter.
Answer error(int status, std::string_view message);
Answer bad_parameter(std::string_view parameter, std::string_view message);
// Whether the request carries `Authorization: Bearer T` for a T of these lists.
bool has_token(const httplib::Request& req, std::initializer_list<const std::vector<std::string>*> lists);
extern const Answer kUnauthorized;

// A non-negative decimal integer of at most 18 digits; empty otherwise.
std::optional<std::int64_t> whole_number(const std::string& text);
std::string value_json(const Value& v);
std::string record_json(const StoredRecord& r);

// Times each request into the route's histogram.
template <typename Handler>
httplib::Server::Handler timed(Metrics& metrics, const std::string& route, Handler handler) {
  prometheus::Histogram* histogram = &metrics.request(route);
  return [histogram, handler](const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    handler(req, res);
    histogram->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
}

}  // namespace ptag::serve
