// The `ptag serve` config file: defaults, every key, and bad files with
// their file:line:column messages.
#include <catch2/catch.hpp>

#include "config.hpp"

using namespace ptag::serve;
using ptag::RecordAction;

static std::string errors(std::string_view text) {
  ConfigResult r = parse_config(text, "bad.toml");
  CHECK_FALSE(r.config);
  std::string out;
  for (const std::string& e : r.errors) out += e + "\n";
  return out;
}

static std::string warnings(std::string_view text) {
  ConfigResult r = parse_config(text, "ok.toml");
  CHECK(r.config);
  CHECK(r.errors.empty());
  std::string out;
  for (const std::string& w : r.warnings) out += w + "\n";
  return out;
}

TEST_CASE("durations are written as in rule files, plus ms") {
  CHECK(parse_duration("5s") == Millis(5'000));
  CHECK(parse_duration("5m") == Millis(300'000));
  CHECK(parse_duration("2h") == Millis(7'200'000));
  CHECK(parse_duration("1d") == Millis(86'400'000));
  CHECK(parse_duration("2w") == Millis(1'209'600'000));
  CHECK(parse_duration("250ms") == Millis(250));
  CHECK(parse_duration("0s") == Millis(0));
  CHECK_FALSE(parse_duration("5"));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("5 s"));
  CHECK_FALSE(parse_duration("1.5h"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("5sec"));
  CHECK_FALSE(parse_duration("1234567890s"));  // too many digits
}

TEST_CASE("an empty config is every default") {
  ConfigResult r = parse_config("", "empty.toml");
  REQUIRE(r.config);
  const ServeConfig& c = *r.config;
  CHECK(c.listen.text() == "127.0.0.1:8080");
  CHECK(c.listen.host == "127.0.0.1");
  CHECK(c.listen.port == 8080);
  CHECK_FALSE(c.admin_listen);
  CHECK(c.max_body_bytes == 1048576);
  CHECK(c.max_future_skew == 300);
  CHECK(c.ingest_tokens.empty());
  CHECK(c.webhooks.empty());
  CHECK(c.sources.empty());
  CHECK(c.max_queued_events == 100000);
  CHECK(c.commit_interval == Millis(2));
  CHECK(c.http_threads == 32);
  CHECK(c.signature_tolerance == 300);
  CHECK(c.retry_after == 1);
}

TEST_CASE("a webhook's defaults: every action and tag, the standard retry schedule, 15s") {
  ConfigResult r = parse_config(R"([[webhooks]]
url = "https://crm.example.com:8443/hooks/ptag?x=1"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)",
                                "one.toml");
  REQUIRE(r.config);
  REQUIRE(r.config->webhooks.size() == 1);
  const WebhookConfig& w = r.config->webhooks[0];
  CHECK(w.name == "https://crm.example.com:8443/hooks/ptag?x=1");
  CHECK(w.origin == "https://crm.example.com:8443");
  CHECK(w.path == "/hooks/ptag?x=1");
  CHECK(w.key.size() == 24);
  CHECK(w.actions.empty());
  CHECK(w.tags.empty());
  using std::chrono::hours, std::chrono::minutes, std::chrono::seconds;
  CHECK(w.retry == std::vector<Millis>{seconds(5), minutes(5), minutes(30), hours(2), hours(5), hours(10), hours(10)});
  CHECK(w.timeout == Millis(15'000));
  CHECK(w.place.text() == "one.toml:1:1");
  CHECK(r.warnings.empty());
}

TEST_CASE("a url without a path posts to /") {
  ConfigResult r = parse_config("[[webhooks]]\nurl = \"http://127.0.0.1:9000\"\nsecret = "
                                "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nretry = []\n",
                                "x.toml");
  REQUIRE(r.config);
  CHECK(r.config->webhooks[0].origin == "http://127.0.0.1:9000");
  CHECK(r.config->webhooks[0].path == "/");
  CHECK(r.config->webhooks[0].retry.empty());  // one attempt only
}

TEST_CASE("the shipped example config loads without a warning") {
  ConfigResult r = load_config(PTAG_SOURCE_DIR "/examples/serve.toml");
  for (const std::string& e : r.errors) UNSCOPED_INFO(e);
  for (const std::string& w : r.warnings) UNSCOPED_INFO(w);
  REQUIRE(r.config);
  CHECK(r.warnings.empty());
  const ServeConfig& c = *r.config;
  CHECK(c.ingest_tokens == std::vector<std::string>{"ingest-secret"});
  CHECK(c.admin_tokens == std::vector<std::string>{"admin-secret"});
  CHECK(c.read_tokens == std::vector<std::string>{"dashboard-secret"});
  REQUIRE(c.webhooks.size() == 2);
  CHECK(c.webhooks[0].name == "crm");
  CHECK(c.webhooks[0].actions == std::vector<RecordAction>{RecordAction::add, RecordAction::remove, RecordAction::emit});
  CHECK(c.webhooks[0].tags == std::vector<std::string>{"VIP"});
  CHECK(c.webhooks[1].name == "https://hooks.example.com/ptag");
  REQUIRE(c.sources.size() == 5);
  const SourceConfig& shop = c.sources[0];
  CHECK(shop.kind == SourceKind::custom);
  CHECK(shop.name == "shop");
  CHECK(shop.path == "/v1/webhooks/shop");
  CHECK(shop.signature_header == "X-Signature");
  CHECK(shop.fields.at("partner").paths == std::vector<std::string>{"data.partner.id"});
  CHECK(shop.types.at("transaction.deleted").type == "refund");
  CHECK_FALSE(shop.time_fallback);  // a time path is given: an event without it is bad
  CHECK(c.source_at("/v1/webhooks/shop") == &shop);
  CHECK(c.source_at("/v1/webhooks/none") == nullptr);
  CHECK(c.sources[1].kind == SourceKind::partnero);
  CHECK(c.sources[1].name == "partnero");
  CHECK(c.sources[1].signature_header == "Signature");
  CHECK(c.sources[2].amount_unit == AmountUnit::cents);
  CHECK(c.sources[3].scheme == SourceScheme::standard_webhooks);
  CHECK(c.sources[4].scheme == SourceScheme::token);
}

TEST_CASE("a preset's keys can be overridden one by one") {
  ConfigResult r = parse_config(R"([[sources]]
kind = "partnero"
path = "/v1/webhooks/p/"
secret = "s"
amount_unit = "cents"
fields = { partner = ["data.referrer.key"], country = "data.partner.country" }
types = { "transaction.created" = { type = "sale", amount = "data.total" }, "partner.updated" = "update" }
)",
                                "p.toml");
  REQUIRE(r.config);
  const SourceConfig& s = r.config->sources[0];
  CHECK(s.path == "/v1/webhooks/p");  // a trailing slash is dropped
  CHECK(s.name == "p");
  CHECK(s.amount_unit == AmountUnit::cents);
  CHECK(s.fields.at("partner").paths == std::vector<std::string>{"data.referrer.key"});
  CHECK(s.fields.at("country").paths == std::vector<std::string>{"data.partner.country"});
  CHECK(s.fields.at("amount").paths == std::vector<std::string>{"data.amount"});  // the preset's
  CHECK(s.types.at("transaction.created").fields.at("amount").paths == std::vector<std::string>{"data.total"});
  CHECK(s.types.at("partner.updated").type == "update");
  // Over the preset's entry: its paths stay, unless the entry sets its own.
  CHECK(s.types.at("partner.updated").fields.at("partner").paths == std::vector<std::string>{"data.key", "data.id"});
  CHECK(s.types.at("reward.created").type == "commission");  // the preset's
}

TEST_CASE("listen is HOST:PORT") {
  ConfigResult r = parse_config("listen = \"[::1]:0\"", "l.toml");
  REQUIRE(r.config);
  CHECK(r.config->listen.host == "::1");
  CHECK(r.config->listen.port == 0);
  CHECK(r.config->listen.text() == "[::1]:0");
  CHECK(errors("listen = 8080") == "bad.toml:1:10: error: listen must be a string (in quotes)\n");
  const std::string usage =
      "listen must be HOST:PORT, as in \"127.0.0.1:8080\" or \"[::1]:8080\" (port 0: any free port)\n";
  CHECK(errors("listen = \"::1:80\"") == "bad.toml:1:10: error: " + usage);
  ConfigResult split = parse_config("listen = \"0.0.0.0:8080\"\nadmin_listen = \"127.0.0.1:9090\"\n", "l.toml");
  REQUIRE(split.config);
  REQUIRE(split.config->admin_listen);
  CHECK(split.config->admin_listen->text() == "127.0.0.1:9090");
  CHECK(errors("admin_listen = \"nowhere\"") ==
        "bad.toml:1:16: error: admin_listen must be HOST:PORT, as in \"127.0.0.1:8080\" or \"[::1]:8080\" (port 0: any free port)\n");
  CHECK(errors("listen = \"localhost\"") == "bad.toml:1:10: error: " + usage);
  CHECK(errors("listen = \"127.0.0.1:99999\"") == "bad.toml:1:10: error: " + usage);
  CHECK(errors("listen = \":8080\"") == "bad.toml:1:10: error: " + usage);
}

TEST_CASE("bad values of the top-level keys") {
  CHECK(errors("max_body_bytes = 0") == "bad.toml:1:18: error: max_body_bytes must be a whole number from 1 to 1073741824\n");
  CHECK(errors("max_body_bytes = \"1MB\"") ==
        "bad.toml:1:18: error: max_body_bytes must be a whole number from 1 to 1073741824\n");
  CHECK(errors("max_future_skew = \"5 minutes\"") ==
        "bad.toml:1:19: error: max_future_skew must be a duration in quotes: a whole number and ms, s, m, h, d or w, "
        "as in \"5s\" or \"2h\"\n");
  CHECK(errors("max_future_skew = \"1500ms\"") == "bad.toml:1:19: error: max_future_skew must be whole seconds, as in \"30s\"\n");
  CHECK(errors("ingest_tokens = \"secret\"") ==
        "bad.toml:1:17: error: ingest_tokens must be a list of strings, as in [\"a\", \"b\"]\n");
  CHECK(errors("admin_tokens = [\"\"]") == "bad.toml:1:17: error: admin_tokens's items must not be empty\n");
  CHECK(errors("read_tokens = [\"a b\"]") ==
        "bad.toml:1:15: error: read_tokens: a token may not hold spaces or control characters (it goes in an "
        "Authorization: Bearer header)\n");
  CHECK(errors("webhooks = 5") == "bad.toml:1:12: error: webhooks must be written as [[webhooks]] tables\n");
  CHECK(errors("header_timeout = \"10ms\"") == "bad.toml:1:18: error: header_timeout must be at least 100ms\n");
  CHECK(errors("max_connections_per_client = 0") ==
        "bad.toml:1:30: error: max_connections_per_client must be a whole number from 1 to 1000000\n");
}

TEST_CASE("a TOML syntax error names its place") {
  std::string e = errors("listen = \"127.0.0.1:8080\"\nmax_body_bytes = = 5\n");
  CHECK(e.starts_with("bad.toml:2:"));
  CHECK(e.find(": error: ") != std::string::npos);
  std::string twice = errors("listen = \"a:1\"\nlisten = \"b:2\"\n");
  CHECK(twice.starts_with("bad.toml:2:"));
}

TEST_CASE("unknown keys warn, with a suggestion when one is close") {
  CHECK(warnings("max_body_byte = 5") == "ok.toml:1:1: warning: unknown key \"max_body_byte\"; did you mean \"max_body_bytes\"?\n");
  CHECK(warnings("colour = 5") == "ok.toml:1:1: warning: unknown key \"colour\"; it is ignored\n");
  CHECK(warnings("[[webhooks]]\nurl = \"http://h/\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"
                 "timout = \"5s\"\n") ==
        "ok.toml:4:1: warning: unknown key \"timout\" in [[webhooks]]; did you mean \"timeout\"?\n");
  CHECK(warnings("[[sources]]\npath = \"/v1/webhooks/t\"\nkind = \"tolt\"\n"
                 "secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\namount_units = \"cents\"\n") ==
        "ok.toml:5:1: warning: unknown key \"amount_units\" in [[sources]]; did you mean \"amount_unit\"?\n");
}

TEST_CASE("bad webhooks") {
  CHECK(errors("[[webhooks]]\nurl = \"ftp://x/y\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n") ==
        "bad.toml:2:7: error: url must start with http:// or https://, as in \"https://crm.example.com/hook\"\n");
  CHECK(errors("[[webhooks]]\nurl = \"http:///hook\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n") ==
        "bad.toml:2:7: error: url has no host (or holds spaces or a user name), as in \"https://crm.example.com/hook\"\n");
  CHECK(errors("[[webhooks]]\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n") ==
        "bad.toml:1:1: error: [[webhooks]] needs a url, as in url = \"https://crm.example.com/hook\"\n");
  CHECK(errors("[[webhooks]]\nurl = \"http://h/\"\n") ==
        "bad.toml:1:1: error: [[webhooks]] needs a secret (whsec_ and base64): receivers check the signature with "
        "it; make one with: echo whsec_$(openssl rand -base64 32)\n");
  CHECK(errors("[[webhooks]]\nurl = \"http://h/\"\nsecret = \"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n") ==
        "bad.toml:3:10: error: secret is not a Standard Webhooks secret: it does not start with whsec_; write whsec_ "
        "and base64, e.g. from: openssl rand -base64 32\n");
  CHECK(errors("[[webhooks]]\nurl = \"http://h/\"\nsecret = \"whsec_abc\"\n") ==
        "bad.toml:3:10: error: secret is not a Standard Webhooks secret: the part after whsec_ is not valid base64; "
        "write whsec_ and base64, e.g. from: openssl rand -base64 32\n");
  const std::string head = "[[webhooks]]\nurl = \"http://h/\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n";
  CHECK(errors(head + "actions = [\"remov\"]\n") ==
        "bad.toml:4:11: error: unknown action \"remov\": write \"add\", \"remove\" or \"emit\" (did you mean "
        "\"remove\"?)\n");
  CHECK(errors(head + "actions = [\"added\"]\n") ==
        "bad.toml:4:11: error: unknown action \"added\": write \"add\", \"remove\" or \"emit\"\n");
  CHECK(errors(head + "actions = []\n") ==
        "bad.toml:4:11: error: actions = [] passes nothing; leave the key out to pass every action\n");
  CHECK(errors(head + "tags = []\n") ==
        "bad.toml:4:8: error: tags = [] passes nothing; leave the key out to pass every tag\n");
  CHECK(errors(head + "retry = [\"5s\", \"soon\"]\n") ==
        "bad.toml:4:16: error: retry must be a duration in quotes: a whole number and ms, s, m, h, d or w, as in "
        "\"5s\" or \"2h\"\n");
  CHECK(errors(head + "retry = \"5s\"\n") ==
        "bad.toml:4:9: error: retry must be a list of durations, as in [\"5s\", \"5m\", \"30m\"]\n");
  CHECK(errors(head + "timeout = \"0s\"\n") == "bad.toml:4:11: error: timeout must be more than 0, as in \"15s\"\n");
  CHECK(errors(head + head) ==
        "bad.toml:4:1: error: a second webhook named \"http://h/\" (the first is at bad.toml:1:1); give each a "
        "different name\n");
}

TEST_CASE("a short webhook secret is a warning") {
  CHECK(warnings("[[webhooks]]\nurl = \"http://h/\"\nsecret = \"whsec_c2hvcnQ=\"\n") ==
        "ok.toml:3:10: warning: secret is 5 bytes; Standard Webhooks asks for at least 24 (openssl rand -base64 32)\n");
}

TEST_CASE("bad sources") {
  const std::string custom = "[[sources]]\nsecret = \"s\"\nsignature_header = \"X-Signature\"\n"
                             "fields = { type = \"event\", partner = \"data.partner.id\" }\n";
  CHECK(errors(custom + "path = \"webhooks/shop\"\n") ==
        "bad.toml:5:8: error: path must start with / and hold no query or spaces, as in \"/v1/webhooks/shop\"\n");
  CHECK(errors(custom + "path = \"/v1/events\"\n") ==
        "bad.toml:5:8: error: path \"/v1/events\" is one of the server's own endpoints; put sources under "
        "/v1/webhooks/, as in \"/v1/webhooks/shop\"\n");
  CHECK(errors(custom + "path = \"/v1/partners/x\"\n").find("one of the server's own endpoints") != std::string::npos);
  CHECK(errors(custom) == "bad.toml:1:1: error: [[sources]] needs a path, as in path = \"/v1/webhooks/shop\"\n");
  CHECK(errors(custom + "path = \"/v1/webhooks/a\"\n" + custom + "path = \"/v1/webhooks/a\"\n") ==
        "bad.toml:6:1: error: a second source on path \"/v1/webhooks/a\" (the first is at bad.toml:1:1); give each "
        "source its own path\n");
  CHECK(errors(custom + "path = \"/x/shop\"\n" + custom + "path = \"/y/shop\"\n") ==
        "bad.toml:6:1: error: a second source named \"shop\" (the first is at bad.toml:1:1); set name = \"...\" on "
        "one: it starts the ids of its events\n");
  CHECK(errors("[[sources]]\nkind = \"partnerro\"\n") ==
        "bad.toml:2:8: error: unknown kind \"partnerro\": write \"custom\" or a preset: \"partnero\", \"rewardful\", "
        "\"tolt\", \"firstpromoter\" (did you mean \"partnero\"?)\n");
  CHECK(errors("[[sources]]\npath = \"/v1/webhooks/a\"\nsecret = \"s\"\n"
               "fields = { type = \"event\", partner = \"data.partner.id\" }\n") ==
        "bad.toml:1:1: error: [[sources]] with a hex HMAC signature needs signature_header, the header that holds "
        "it, as in signature_header = \"X-Signature\"\n");
  CHECK(errors("[[sources]]\npath = \"/v1/webhooks/a\"\nsignature_header = \"X-Signature\"\n"
               "fields = { type = \"event\", partner = \"data.partner.id\" }\n") ==
        "bad.toml:1:1: error: [[sources]] needs a secret: requests are checked against it before anything is "
        "applied\n");
  CHECK(errors("[[sources]]\npath = \"/v1/webhooks/a\"\nsecret = \"s\"\nsignature_header = \"X-Signature\"\n"
               "fields = { type = \"event\" }\n") ==
        "bad.toml:1:1: error: [[sources]] needs fields.partner, the path of the event's partner, as in fields = { "
        "type = \"event\", partner = \"data.partner.id\" }\n");
  CHECK(errors("[[sources]]\nkind = \"partnero\"\npath = \"/v1/webhooks/p\"\nsecret = \"s\"\n"
               "signature_header = \"X Sig\"\n") ==
        "bad.toml:5:20: error: signature_header must be a header name, as in \"X-Signature\"\n");
  CHECK(errors("[[sources]]\nkind = \"tolt\"\npath = \"/v1/webhooks/t\"\nsecret = \"tolt-secret\"\n") ==
        "bad.toml:4:10: error: secret is not a Standard Webhooks secret: it does not start with whsec_ (copy it "
        "whole, whsec_ included, from the platform's webhook settings)\n");
  CHECK(errors("[[sources]]\nkind = \"partnero\"\npath = \"/v1/webhooks/p\"\nsecret = \"s\"\namount_unit = \"pennies\"\n") ==
        "bad.toml:5:15: error: amount_unit must be \"major\" (129.90) or \"cents\" (12990)\n");
  CHECK(errors("[[sources]]\nkind = \"partnero\"\npath = \"/v1/webhooks/p\"\nsecret = \"s\"\nscheme = \"md5\"\n") ==
        "bad.toml:5:10: error: unknown scheme \"md5\": write \"hmac-sha256-hex\", \"standard-webhooks\" or \"token\"\n");
  CHECK(errors("[[sources]]\nkind = \"partnero\"\npath = \"/v1/webhooks/p\"\nsecret = \"s\"\nname = \"a b\"\n") ==
        "bad.toml:5:8: error: name may hold letters, digits, '-', '_' and '.' only (it starts the events' ids)\n");
  const std::string preset = "[[sources]]\nkind = \"partnero\"\npath = \"/v1/webhooks/p\"\nsecret = \"s\"\n";
  CHECK(errors(preset + "fields = { partner = \"data..id\" }\n") ==
        "bad.toml:5:22: error: fields.partner: \"data..id\" is not a path: write names joined by dots, as in "
        "\"data.partner.id\", or header:NAME\n");
  CHECK(errors(preset + "fields = { partner = 5 }\n") ==
        "bad.toml:5:22: error: fields.partner must be a dotted path such as \"data.partner.id\", or a list of them "
        "(the first present wins)\n");
  CHECK(errors(preset + "fields = { partner = [] }\n") == "bad.toml:5:22: error: fields.partner must name at least one path\n");
  CHECK(errors(preset + "fields = \"data\"\n") ==
        "bad.toml:5:10: error: fields must be a table, as in { partner = \"data.partner.id\" }\n");
  CHECK(errors(preset + "types = { \"a\" = 5 }\n") ==
        "bad.toml:5:17: error: types.\"a\" must be an event type such as \"sale\", or a table with a type and fields\n");
  CHECK(errors(preset + "types = { \"a\" = { amount = \"x\" } }\n") ==
        "bad.toml:5:17: error: types.\"a\" needs a type, as in { type = \"sale\", amount = \"data.total\" }\n");
  CHECK(errors(preset + "types = { \"a\" = \"\" }\n") == "bad.toml:5:17: error: types.\"a\" must not be empty\n");
}

TEST_CASE("several errors are reported at once, in the order of the file") {
  CHECK(errors("max_body_bytes = 0\nlisten = 1\n[[webhooks]]\nurl = \"x\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n") ==
        "bad.toml:1:18: error: max_body_bytes must be a whole number from 1 to 1073741824\n"
        "bad.toml:2:10: error: listen must be a string (in quotes)\n"
        "bad.toml:4:7: error: url must start with http:// or https://, as in \"https://crm.example.com/hook\"\n");
}

TEST_CASE("a missing file is an error naming it") {
  ConfigResult r = load_config("/nonexistent/ptag.toml");
  CHECK_FALSE(r.config);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "/nonexistent/ptag.toml: error: cannot read the config file");
}
