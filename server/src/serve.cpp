// `ptag serve`: starting, serving until SIGTERM/SIGINT, reloading on SIGHUP.
#include "ptag/serve.hpp"

#include <httplib.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <memory>
#include <thread>

#include "applier.hpp"
#include "deliverer.hpp"
#include "http.hpp"
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

// "HOST:PORT"; port 0 picks a free one.
bool split_listen(const std::string& text, std::string& host, int& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  port = std::stoi(p);
  host = text.substr(0, colon);
  return port <= 65535;
}

int run(const Options& o) {
  ServeConfig config;
  if (!o.config.empty()) {
    ConfigResult loaded = load_config(o.config);
    for (const std::string& w : loaded.warnings) std::fprintf(stderr, "%s\n", w.c_str());
    for (const std::string& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (!loaded.config) {
      std::fprintf(stderr, "ptag serve: the config '%s' has errors; not started\n", o.config.c_str());
      return 2;
    }
    config = std::move(*loaded.config);
  }
  if (!o.listen.empty()) config.listen = o.listen;
  if (!split_listen(config.listen, config.host, config.port)) {
    std::fprintf(stderr, "ptag serve: --listen '%s' is not HOST:PORT (127.0.0.1:8080)\n", config.listen.c_str());
    return 2;
  }
  ClockMode clock = o.clock == "event" ? ClockMode::event : ClockMode::wall;

  if (o.prepare) {
    // An engine the build cannot give is a usage error, before any rule is read.
    try {
      Program none;
      o.prepare(none);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ptag serve: %s; not started\n", e.what());
      return 2;
    }
  }
  Compiled compiled = compile_rules(o.rules, o.prepare);
  if (!compiled.rendered.empty()) std::fprintf(stderr, "%s", compiled.rendered.c_str());
  if (!compiled.engine_error.empty()) {
    std::fprintf(stderr, "ptag serve: %s; not started\n", compiled.engine_error.c_str());
    return 1;
  }
  if (!compiled.rules) {
    std::fprintf(stderr, "ptag serve: the rules have errors; not started\n");
    return 1;
  }

  // Signals go to one thread (sigwait), not to whichever thread runs.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<DurableEngine> durable;
  try {
    durable = DurableEngine::open(o.state);
  } catch (const StoreError& e) {
    std::fprintf(stderr, "ptag serve: %s; not started\n", e.what());
    return 1;
  }
  prometheus::Registry registry;
  Metrics metrics(registry);
  RecordTap tap(config, metrics, durable->loaded().records, durable->loaded().last_delivery);
  try {
    durable->start(*compiled.rules->program, {.sink = &tap, .program_text = compiled.rules->text});
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "ptag serve: the store '%s' cannot run these rules: %s; not started\n", o.state.c_str(),
                 e.what());
    return 1;
  }
  const RuleChanges& changes = durable->rule_changes();
  if (!changes.same_program)
    log("info", "rules changed since the store's last run",
        {{"kept", std::to_string(changes.kept.size())}, {"added", std::to_string(changes.added.size())},
         {"removed", std::to_string(changes.removed.size())}});

  // Deliveries the last run left pending go out again, with the same ids.
  Deliverer deliverer(config, durable->store(), registry);
  std::vector<Delivery> pending;
  try {
    auto reader = StoreReader::open(o.state);
    for (std::int64_t after = 0;;) {
      std::vector<Delivery> page = reader->deliveries(DeliveryStatus::pending, after, 10000);
      if (page.empty()) break;
      after = page.back().id;
      for (Delivery& d : page) pending.push_back(std::move(d));
    }
  } catch (const StoreError& e) {
    std::fprintf(stderr, "ptag serve: %s; not started\n", e.what());
    return 1;
  }
  deliverer.start(std::move(pending));
  Applier applier(config, clock, *durable, std::move(*compiled.rules), tap,
                  [&deliverer](std::vector<Delivery> fresh) { deliverer.add(std::move(fresh)); }, metrics, wall_clock);
  applier.start();

  httplib::Server server;
  std::size_t threads = config.http_threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(config.max_body_bytes);
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  server.set_keep_alive_max_count(1000);
  // Answers are written as headers then body: without this, Nagle holds the
  // body back for the client's delayed ACK (40 ms per small answer).
  server.set_tcp_nodelay(true);
  Routes routes{config, clock, applier, metrics, o.state, o.rules,
                [&deliverer](const Delivery& d) { return deliverer.retry(d); }, wall_clock, o.prepare};
  add_routes(server, routes);
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 413)
      res.set_content(R"({"error":"the body is larger than max_body_bytes"})", "application/json");
    else if (res.body.empty())
      res.set_content(R"({"error":"no such endpoint"})", "application/json");
  });
  int port = config.port == 0 ? server.bind_to_any_port(config.host) : (server.bind_to_port(config.host, config.port) ? config.port : -1);
  if (port < 0) {
    std::fprintf(stderr, "ptag serve: cannot listen on %s\n", config.listen.c_str());
    return 1;
  }
  log("info", "listening",
      {{"address", json_text(config.host + ":" + std::to_string(port))},
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
      server.stop();
      return;
    }
  });
  server.listen_after_bind();
  waiter.join();
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
