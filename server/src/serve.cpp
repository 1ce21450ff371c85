// `ptag serve`: starting, serving until SIGTERM/SIGINT, reloading on SIGHUP.
#include "ptag/serve.hpp"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <thread>

#include "applier.hpp"
#include "deliverer.hpp"
#include "http.hpp"
#include "http_common.hpp"
#include "http_server.hpp"
#include "log.hpp"
#include "metrics.hpp"

namespace ptag::serve {

namespace {

struct Options {
  std::vector<std::string> rules;
  std::string state;
  std::string listen;
  std::string config;
  std::string clock = "wall";
  PrepareProgram prepare;
};

Seconds wall_clock() {
  return static_cast<Seconds>(std::time(nullptr));
}

// Why the server does not start, as a JSON log line; the exit status.
int not_started(const std::string& why, int status) {
  log("error", "not started", {{"reason", json_text(why)}});
  return status;
}

int run(const Options& o) {
  ServeConfig config;
  if (!o.config.empty()) {
    ConfigResult loaded = load_config(o.config);
    for (const std::string& w : loaded.warnings) log("warning", "config", {{"message", json_text(w)}});
    for (const std::string& e : loaded.errors) log("error", "config", {{"message", json_text(e)}});
    if (!loaded.config) return not_started("the config '" + o.config + "' has errors", 2);
    config = std::move(*loaded.config);
  }
  if (!o.listen.empty()) {
    std::optional<ListenAddress> address = parse_listen(o.listen);
    if (!address) {
      return not_started("--listen '" + o.listen + "' is not HOST:PORT (127.0.0.1:8080, [::1]:8080)", 2);
    }
    config.listen = *address;
  }
  ClockMode clock = o.clock == "event" ? ClockMode::event : ClockMode::wall;

  if (o.prepare) {
    // An engine the build cannot give is a usage error, before any rule is read.
    try {
      Program none;
      o.prepare(none);
    } catch (const std::exception& e) {
      return not_started(e.what(), 2);
    }
  }
  Compiled compiled = compile_rules(o.rules, o.prepare);
  // Each diagnostic as its own JSON line (every stderr line of `serve` is JSON).
  for (const Compiled::Message& m : compiled.messages)
    log(m.error ? "error" : "warning", "rules", {{"message", json_text(m.text)}});
  if (!compiled.engine_error.empty()) {
    return not_started(compiled.engine_error, 1);
  }
  if (!compiled.rules) {
    return not_started("the rules have errors", 1);
  }

  // Signals go to one thread (sigwait), not to whichever thread runs.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // A file size limit (ulimit -f) is a failed write, like a full disk: the
  // store fails cleanly instead of the process being killed.
  ::signal(SIGXFSZ, SIG_IGN);

  prometheus::Registry registry;
  Metrics metrics(registry);
  std::unique_ptr<DurableEngine> durable;
  auto opening = std::chrono::steady_clock::now();
  try {
    durable = DurableEngine::open(
        o.state, {.on_commit = [&metrics](std::int64_t bytes) { metrics.commit_bytes.Observe(static_cast<double>(bytes)); }});
  } catch (const StoreError& e) {
    return not_started(e.what(), 1);
  }
  RecordTap tap(config, metrics, durable->loaded().last_delivery);
  try {
    durable->start(*compiled.rules->program, {.sink = &tap, .program_text = compiled.rules->text});
  } catch (const std::invalid_argument& e) {
    return not_started("the store '" + o.state + "' cannot run these rules: " + e.what(), 1);
  }
  // A large store takes seconds to open: the log says what the start did.
  log("info", "state restored",
      {{"partners", std::to_string(durable->engine().partner_count())},
       {"records", std::to_string(durable->records())},
       {"seconds", seconds_text(std::chrono::steady_clock::now() - opening)}});
  const RuleChanges& changes = durable->rule_changes();
  if (!changes.same_program)
    log("info", "rules changed since the store's last run",
        {{"kept", std::to_string(changes.kept.size())}, {"added", std::to_string(changes.added.size())},
         {"removed", std::to_string(changes.removed.size())}});

  // Deliveries the last run left pending go out again, with the same ids,
  // read in from the outbox as room allows.
  Deliverer deliverer(config, durable->store(), registry);
  try {
    deliverer.start_from_store();
  } catch (const StoreError& e) {
    return not_started(e.what(), 1);
  }
  Applier applier(config, clock, *durable, std::move(*compiled.rules), tap,
                  [&deliverer](std::vector<Delivery> fresh) { deliverer.add(std::move(fresh)); }, metrics, wall_clock);
  applier.start();

  Routes routes{config, clock, applier, metrics, o.state, durable->loaded().store_id, o.rules,
                [&deliverer](const Delivery& d) { return deliverer.retry(d); },
                [&deliverer](std::string_view w) { return deliverer.room(w); }, wall_clock, o.prepare};
  HttpLimits limits{.max_body_bytes = config.max_body_bytes,
                    .max_header_bytes = config.max_header_bytes,
                    .max_headers = config.max_headers,
                    .max_connections = config.max_connections,
                    .max_connections_per_client = config.max_connections_per_client,
                    .header_timeout = config.header_timeout,
                    .body_timeout = config.body_timeout,
                    .handler_threads = config.http_threads};
  HttpHooks hooks;
  hooks.cut = [&metrics](std::string_view reason) { metrics.http_cut.Add({{"reason", std::string(reason)}}).Increment(); };
  hooks.connections = [&metrics](long open) { metrics.http_connections.Set(static_cast<double>(open)); };
  hooks.authorize = [&config](Access who, const HttpRequest& req) {
    switch (who) {
      case Access::ingest: return has_token(req, {&config.ingest_tokens});
      case Access::read: return has_token(req, {&config.admin_tokens, &config.read_tokens});
      case Access::admin: return has_token(req, {&config.admin_tokens});
      case Access::anyone:
      case Access::source: break;  // a source checks its own signature
    }
    return true;
  };
  hooks.unauthorized = R"({"error":"missing or wrong token: send Authorization: Bearer <token>"})";
  HttpServer server(make_routes(routes), limits, std::move(hooks));
  HttpServer::Bound bound = server.listen(config.listen, !config.admin_listen);
  if (bound.port < 0) {
    return not_started(bound.error, 1);
  }
  ListenAddress address{config.listen.host, bound.port};
  std::optional<ListenAddress> admin_address;
  if (config.admin_listen) {
    HttpServer::Bound admin = server.listen(*config.admin_listen, true);
    if (admin.port < 0) {
      return not_started("admin_listen: " + admin.error, 1);
    }
    admin_address = ListenAddress{config.admin_listen->host, admin.port};
    server.set_split(true);
  }
  log("info", "listening",
      {{"address", json_text(address.text())},
       {"admin_address", admin_address ? json_text(admin_address->text()) : "null"},
       {"clock", json_text(o.clock)},
       {"engine", json_text(compiled.engine)},
       {"partners", std::to_string(durable->engine().partner_count())}});

  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        Compiled again = compile_rules(o.rules, o.prepare);
        if (!again.engine_error.empty()) {
          log("error", "reload refused: the rules cannot be readied for their engine; the old rules keep running",
              {{"reason", json_text(again.engine_error)}});
          continue;
        }
        if (!again.rules) {
          log("error", "reload refused: the rules have errors; the old rules keep running",
              {{"diagnostics", json_text(again.rendered)}});
          continue;
        }
        applier.reload(std::move(*again.rules), false);
        continue;
      }
      log("info", "stopping", {{"signal", json_text(sig == SIGTERM ? "SIGTERM" : "SIGINT")}});
      return;
    }
  });
  waiter.join();
  server.stop();  // requests being handled are answered
  applier.stop();  // what waits is applied and committed
  deliverer.stop();  // attempts in flight finish and are stored
  int status = applier.failed() ? 1 : 0;
  log("info", "stopped", {{"records", std::to_string(durable->durable_records())}});
  return status;
}

}  // namespace

std::function<int()> add_serve_command(CLI::App& app, PrepareProgram prepare) {
  auto o = std::make_shared<Options>();
  o->prepare = std::move(prepare);
  app.add_option("rules", o->rules, "Rule files (.ptag)")->required();
  app.add_option("--state", o->state, "The SQLite store of the state, records and outbox")->required();
  app.add_option("--listen", o->listen, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0: any free one)");
  app.add_option("--config", o->config, "The TOML config file (docs/serve.md)");
  app.add_option("--clock", o->clock, "wall: timers fire on the wall clock (default); event: event time only")
      ->check(CLI::IsMember({"wall", "event"}));
  app.footer(
      "Logs are JSON lines on stderr; the first says where it listens.\n"
      "SIGTERM or SIGINT: stop accepting, finish, commit, exit 0. SIGHUP: reload the rule files.\n"
      "Exit status: 0 after a clean stop, 1 when it cannot start or the store failed, 2 for a bad config.");
  return [o] { return run(*o); };
}

}  // namespace ptag::serve
