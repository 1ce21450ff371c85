// The HTTP endpoints of `ptag serve` (docs/serve.md, "Endpoints"): one table
// of routes (method, path, who may call, handler) for the HTTP layer.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "applier.hpp"
#include "config.hpp"
#include "http_server.hpp"
#include "metrics.hpp"
#include "ptag/serve.hpp"
#include "ptag/store.hpp"

namespace ptag::serve {

struct Routes {
  const ServeConfig& config;
  ClockMode clock;
  Applier& applier;
  Metrics& metrics;
  std::string state;               // the store's path (reads of committed data)
  std::string store_id;            // in delivery ids
  std::vector<std::string> rules;  // the rule files, compiled again by reloads
  // POST /v1/deliveries/{id}/retry; false: no such delivery pending a retry.
  std::function<bool(const Delivery&)> retry;
  // How many deliveries of a webhook a bulk retry may still send now (memory's room).
  std::function<std::size_t(std::string_view webhook)> retry_room;
  std::function<Seconds()> now;
  PrepareProgram prepare;  // for reloads, as at the start
};

// Compiles the rule files for a reload: the program, or the diagnostics as JSON.
struct Compiled {
  std::optional<LoadedRules> rules;
  std::string diagnostics;  // [{"severity","code","file","line","column",...,"rendered"}]
  std::string rendered;     // as `ptag check` prints them
  struct Message {
    bool error = false;
    std::string text;  // one diagnostic as `ptag check` prints it
  };
  std::vector<Message> messages;
  std::string engine;       // what runs the program (PrepareProgram's answer)
  std::string engine_error;  // PrepareProgram failed (the rules themselves are fine)
};
// With `prepare`, the program is readied for its engine; if that fails,
// there are no rules and `engine_error` says why.
Compiled compile_rules(const std::vector<std::string>& files, const PrepareProgram& prepare);

std::vector<HttpRoute> make_routes(Routes& routes);

}  // namespace ptag::serve
