#include "config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "ptag/catalogue.hpp"
#include "ptag/text.hpp"
#include "signature.hpp"

namespace ptag::serve {

std::optional<Millis> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;  // at most 999,999,999 of a unit: no overflow
  std::int64_t n = 0;
  std::from_chars(text.data(), text.data() + digits, n);
  std::string_view unit = text.substr(digits);
  if (unit == "ms") return Millis(n);
  std::optional<std::int64_t> seconds = unit_seconds(unit);  // s m h d w, as in rule files
  if (!seconds) return std::nullopt;
  return Millis(n * *seconds * 1000);
}

std::string ConfigPlace::text() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const SourceConfig* ServeConfig::source_at(std::string_view at) const {
  for (const SourceConfig& s : sources) {
    if (s.path == at) return &s;
  }
  return nullptr;
}

namespace {

// The server's own endpoints: a source may not sit on one of them.
constexpr std::string_view kReservedPaths[] = {"/v1/events", "/v1/partners", "/v1/tags",   "/v1/reload",
                                               "/v1/advance", "/v1/deliveries", "/healthz", "/readyz",
                                               "/metrics"};

bool is_token_char(char c) {
  // RFC 9110 tchar: what a header name may hold.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

struct Checker {
  std::string file;
  ConfigResult& out;

  ConfigPlace place(const toml::source_region& r) const {
    return {file, static_cast<std::uint32_t>(r.begin.line), static_cast<std::uint32_t>(r.begin.column)};
  }
  // Messages in the order of the file, whatever order they were found in.
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::string>> errors, warnings;

  void error(const ConfigPlace& at, const std::string& message) {
    errors.emplace_back(at.line, at.column, at.text() + ": error: " + message);
  }
  void error(const toml::source_region& r, const std::string& message) { error(place(r), message); }
  void warn(const toml::source_region& r, const std::string& message) {
    ConfigPlace at = place(r);
    warnings.emplace_back(at.line, at.column, at.text() + ": warning: " + message);
  }
  void finish() {
    for (auto* list : {&errors, &warnings}) {
      std::stable_sort(list->begin(), list->end(), [](const auto& a, const auto& b) {
        return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
      });
      for (auto& m : *list) (list == &errors ? out.errors : out.warnings).push_back(std::move(std::get<2>(m)));
    }
  }

  void check_keys(const toml::table& table, const std::vector<std::string_view>& known, std::string_view where) {
    for (auto&& [key, node] : table) {
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      std::string message = "unknown key " + json_quote(key.str()) + std::string(where);
      std::string_view close = closest_name(key.str(), known);
      message += close.empty() ? "; it is ignored" : "; did you mean " + json_quote(close) + "?";
      warn(key.source(), message);
    }
  }

  std::optional<std::string> string(const toml::node& node, std::string_view key, bool non_empty = true) {
    const auto* s = node.as_string();
    if (!s) {
      error(node.source(), std::string(key) + " must be a string (in quotes)");
      return std::nullopt;
    }
    if (non_empty && s->get().empty()) {
      error(node.source(), std::string(key) + " must not be empty");
      return std::nullopt;
    }
    return s->get();
  }

  std::optional<std::vector<std::string>> strings(const toml::node& node, std::string_view key) {
    const auto* array = node.as_array();
    if (!array) {
      error(node.source(), std::string(key) + " must be a list of strings, as in [\"a\", \"b\"]");
      return std::nullopt;
    }
    std::vector<std::string> values;
    bool ok = true;
    for (const toml::node& item : *array) {
      std::optional<std::string> s = string(item, std::string(key) + "'s items");
      if (s) values.push_back(*s);
      else ok = false;
    }
    if (!ok) return std::nullopt;
    return values;
  }

  std::optional<Millis> duration(const toml::node& node, std::string_view key) {
    const auto* s = node.as_string();
    std::optional<Millis> d = s ? parse_duration(s->get()) : std::nullopt;
    if (!d) {
      error(node.source(), std::string(key) + " must be a duration in quotes: a whole number and ms, s, m, h, d "
                           "or w, as in \"5s\" or \"2h\"");
    }
    return d;
  }

  std::optional<Seconds> whole_seconds(const toml::node& node, std::string_view key) {
    std::optional<Millis> d = duration(node, key);
    if (!d) return std::nullopt;
    if (d->count() % 1000 != 0) {
      error(node.source(), std::string(key) + " must be whole seconds, as in \"30s\"");
      return std::nullopt;
    }
    return d->count() / 1000;
  }

  std::optional<std::int64_t> integer(const toml::node& node, std::string_view key, std::int64_t min,
                                      std::int64_t max) {
    const auto* i = node.as_integer();
    if (!i || i->get() < min || i->get() > max) {
      error(node.source(), std::string(key) + " must be a whole number from " + std::to_string(min) + " to " +
                               std::to_string(max));
      return std::nullopt;
    }
    return i->get();
  }

  void tokens(const toml::node& node, std::string_view key, std::vector<std::string>& into) {
    std::optional<std::vector<std::string>> values = strings(node, key);
    if (!values) return;
    for (const std::string& token : *values) {
      bool printable = std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c != 0x7f; });
      if (!printable) {
        error(node.source(), std::string(key) + ": a token may not hold spaces or control characters (it goes in "
                             "an Authorization: Bearer header)");
        return;
      }
    }
    into = *values;
  }

  // listen and admin_listen: HOST:PORT, "[::1]:8080" for IPv6.
  std::optional<ListenAddress> listen(const toml::node& node, std::string_view key) {
    std::optional<std::string> text = string(node, key);
    if (!text) return std::nullopt;
    std::optional<ListenAddress> address = parse_listen(*text);
    if (!address)
      error(node.source(), std::string(key) + " must be HOST:PORT, as in \"127.0.0.1:8080\" or \"[::1]:8080\" "
                           "(port 0: any free port)");
    return address;
  }

  void webhook(const toml::table& table, ServeConfig& config) {
    check_keys(table, {"name", "url", "secret", "actions", "tags", "retry", "timeout"}, " in [[webhooks]]");
    WebhookConfig hook;
    hook.place = place(table.source());
    for (Millis d : {Millis(5'000), Millis(300'000), Millis(1'800'000), Millis(7'200'000), Millis(18'000'000),
                     Millis(36'000'000), Millis(36'000'000)}) {
      hook.retry.push_back(d);
    }
    bool ok = true;
    if (const toml::node* url = table.get("url")) {
      std::optional<std::string> text = string(*url, "url");
      ok = text.has_value();
      if (text) {
        std::string_view u = *text;
        std::size_t scheme_end = u.find("://");
        std::string_view scheme = scheme_end == std::string_view::npos ? "" : u.substr(0, scheme_end);
        std::size_t host_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
        std::size_t path_start = u.find_first_of("/?#", host_start);
        std::string_view authority = u.substr(host_start, path_start - host_start);
        if (scheme != "http" && scheme != "https") {
          error(url->source(), "url must start with http:// or https://, as in \"https://crm.example.com/hook\"");
          ok = false;
        } else if (authority.empty() || authority.find('@') != std::string_view::npos ||
                   authority.back() == ':' || u.find_first_of(" \t\r\n") != std::string_view::npos) {
          error(url->source(), "url has no host (or holds spaces or a user name), as in "
                               "\"https://crm.example.com/hook\"");
          ok = false;
        } else {
          hook.url = *text;
          hook.origin = std::string(u.substr(0, path_start));
          hook.path = path_start == std::string_view::npos ? "/" : std::string(u.substr(path_start));
          if (hook.path.front() != '/') hook.path = "/" + hook.path;
        }
      }
    } else {
      error(table.source(), "[[webhooks]] needs a url, as in url = \"https://crm.example.com/hook\"");
      ok = false;
    }
    if (const toml::node* secret = table.get("secret")) {
      std::optional<std::string> text = string(*secret, "secret");
      std::string why;
      std::optional<std::string> key = text ? whsec_key(*text, &why) : std::nullopt;
      if (text && !key) {
        error(secret->source(), "secret is not a Standard Webhooks secret: " + why +
                                    "; write whsec_ and base64, e.g. from: openssl rand -base64 32");
      }
      if (key) {
        hook.secret = *text;
        hook.key = *key;
        if (key->size() < 24) {
          warn(secret->source(), "secret is " + std::to_string(key->size()) +
                                     " bytes; Standard Webhooks asks for at least 24 (openssl rand -base64 32)");
        }
      } else {
        ok = false;
      }
    } else {
      error(table.source(), "[[webhooks]] needs a secret (whsec_ and base64): receivers check the signature "
                            "with it; make one with: echo whsec_$(openssl rand -base64 32)");
      ok = false;
    }
    if (const toml::node* name = table.get("name")) {
      std::optional<std::string> text = string(*name, "name");
      if (text) hook.name = *text;
      else ok = false;
    } else {
      hook.name = hook.url;
    }
    if (const toml::node* actions = table.get("actions")) {
      std::optional<std::vector<std::string>> values = strings(*actions, "actions");
      ok = ok && values.has_value();
      if (values && values->empty()) {
        error(actions->source(), "actions = [] passes nothing; leave the key out to pass every action");
        ok = false;
      }
      for (const std::string& a : values ? *values : std::vector<std::string>{}) {
        if (a == "add") hook.actions.push_back(RecordAction::add);
        else if (a == "remove") hook.actions.push_back(RecordAction::remove);
        else if (a == "emit") hook.actions.push_back(RecordAction::emit);
        else {
          std::string_view close = closest_name(a, {"add", "remove", "emit"});
          error(actions->source(), "unknown action " + json_quote(a) + ": write \"add\", \"remove\" or \"emit\"" +
                                       (close.empty() ? "" : " (did you mean " + json_quote(close) + "?)"));
          ok = false;
        }
      }
    }
    if (const toml::node* tags = table.get("tags")) {
      std::optional<std::vector<std::string>> values = strings(*tags, "tags");
      if (values && values->empty()) {
        error(tags->source(), "tags = [] passes nothing; leave the key out to pass every tag");
        ok = false;
      } else if (values) {
        hook.tags = *values;
      } else {
        ok = false;
      }
    }
    if (const toml::node* retry = table.get("retry")) {
      const auto* array = retry->as_array();
      if (!array) {
        error(retry->source(), "retry must be a list of durations, as in [\"5s\", \"5m\", \"30m\"]");
        ok = false;
      } else {
        hook.retry.clear();
        for (const toml::node& item : *array) {
          std::optional<Millis> d = duration(item, "retry");
          if (d) hook.retry.push_back(*d);
          else ok = false;
        }
      }
    }
    if (const toml::node* timeout = table.get("timeout")) {
      std::optional<Millis> d = duration(*timeout, "timeout");
      if (d && d->count() == 0) {
        error(timeout->source(), "timeout must be more than 0, as in \"15s\"");
        d.reset();
      }
      if (d) hook.timeout = *d;
      else ok = false;
    }
    if (ok) config.webhooks.push_back(std::move(hook));
  }

  bool field_path(const toml::node& node, std::string_view key, FieldPath& into) {
    std::vector<std::string> paths;
    if (node.is_string()) {
      paths.push_back(node.as_string()->get());
    } else if (std::optional<std::vector<std::string>> list = node.is_array() ? strings(node, key) : std::nullopt) {
      paths = *list;
    } else {
      if (!node.is_array()) {
        error(node.source(), std::string(key) + " must be a dotted path such as \"data.partner.id\", or a list "
                             "of them (the first present wins)");
      }
      return false;
    }
    if (paths.empty()) {
      error(node.source(), std::string(key) + " must name at least one path");
      return false;
    }
    for (const std::string& p : paths) {
      bool header = p.starts_with("header:");
      bool bad = header ? p.size() == 7 || !std::all_of(p.begin() + 7, p.end(), is_token_char)
                        : p.empty() || p.front() == '.' || p.back() == '.' || p.find("..") != std::string::npos;
      if (bad) {
        error(node.source(), std::string(key) + ": " + json_quote(p) + " is not a path: write names joined by "
                             "dots, as in \"data.partner.id\", or header:NAME");
        return false;
      }
    }
    into.paths = std::move(paths);
    return true;
  }

  bool fields(const toml::node& node, std::map<std::string, FieldPath, std::less<>>& into, std::string_view what) {
    const auto* table = node.as_table();
    if (!table) {
      error(node.source(), std::string(what) + " must be a table, as in { partner = \"data.partner.id\" }");
      return false;
    }
    bool ok = true;
    for (auto&& [key, value] : *table) {
      FieldPath path;
      if (!field_path(value, std::string(what) + "." + std::string(key.str()), path)) {
        ok = false;
        into[std::string(key.str())] = {};  // named, if wrongly: no "needs" error besides
        continue;
      }
      into[std::string(key.str())] = std::move(path);
    }
    return ok;
  }

  bool types(const toml::node& node, SourceConfig& source) {
    const auto* table = node.as_table();
    if (!table) {
      error(node.source(), "types must be a table of platform type = event type, as in "
                           "{ \"transaction.created\" = \"sale\" }");
      return false;
    }
    bool ok = true;
    for (auto&& [key, value] : *table) {
      TypeMapping mapping;
      std::string where = "types." + json_quote(key.str());
      if (value.is_string()) {
        std::optional<std::string> type = string(value, where);
        if (!type) {
          ok = false;
          continue;
        }
        mapping.type = *type;
      } else if (const auto* inline_table = value.as_table()) {
        const toml::node* type = inline_table->get("type");
        std::optional<std::string> text = type ? string(*type, where + ".type") : std::nullopt;
        if (!type) error(value.source(), where + " needs a type, as in { type = \"sale\", amount = \"data.total\" }");
        toml::table rest = *inline_table;
        rest.erase("type");
        if (!text || !fields(rest, mapping.fields, where)) {
          ok = false;
          continue;
        }
        mapping.type = *text;
      } else {
        error(value.source(), where + " must be an event type such as \"sale\", or a table with a type and fields");
        ok = false;
        continue;
      }
      // Over a preset's entry of the same key: its field paths stay unless set here.
      TypeMapping& entry = source.types[std::string(key.str())];
      entry.type = std::move(mapping.type);
      for (auto& [field, path] : mapping.fields) entry.fields[field] = std::move(path);
    }
    return ok;
  }

  void source(const toml::table& table, ServeConfig& config) {
    check_keys(table, {"kind", "name", "path", "secret", "scheme", "signature_header", "fields", "amount_unit", "types"},
               " in [[sources]]");
    SourceKind kind = SourceKind::custom;
    bool ok = true;
    if (const toml::node* k = table.get("kind")) {
      std::optional<std::string> text = string(*k, "kind");
      bool found = false;
      for (SourceKind candidate : {SourceKind::custom, SourceKind::partnero, SourceKind::rewardful, SourceKind::tolt,
                                   SourceKind::firstpromoter}) {
        if (text && *text == kind_name(candidate)) {
          kind = candidate;
          found = true;
        }
      }
      if (text && !found) {
        std::string_view close =
            closest_name(*text, {"custom", "partnero", "rewardful", "tolt", "firstpromoter"});
        error(k->source(), "unknown kind " + json_quote(*text) +
                               ": write \"custom\" or a preset: \"partnero\", \"rewardful\", \"tolt\", "
                               "\"firstpromoter\"" +
                               (close.empty() ? "" : " (did you mean " + json_quote(close) + "?)"));
      }
      if (!found) return;
    }
    SourceConfig s = preset(kind);
    s.place = place(table.source());
    if (const toml::node* p = table.get("path")) {
      std::optional<std::string> text = string(*p, "path");
      if (text && (text->front() != '/' || text->find_first_of("?# \t") != std::string::npos)) {
        error(p->source(), "path must start with / and hold no query or spaces, as in \"/v1/webhooks/shop\"");
        text.reset();
      }
      for (std::string_view reserved : kReservedPaths) {
        if (text && (*text == reserved || text->starts_with(std::string(reserved) + "/"))) {
          error(p->source(), "path " + json_quote(*text) + " is one of the server's own endpoints; put sources "
                             "under /v1/webhooks/, as in \"/v1/webhooks/shop\"");
          text.reset();
        }
      }
      if (text && *text != "/" && text->back() == '/') text->pop_back();
      if (text) s.path = *text;
      else ok = false;
    } else {
      error(table.source(), "[[sources]] needs a path, as in path = \"/v1/webhooks/shop\"");
      ok = false;
    }
    if (const toml::node* n = table.get("name")) {
      std::optional<std::string> text = string(*n, "name");
      if (text && !std::all_of(text->begin(), text->end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
          })) {
        error(n->source(), "name may hold letters, digits, '-', '_' and '.' only (it starts the events' ids)");
        text.reset();
      }
      if (text) s.name = *text;
      else ok = false;
    } else if (!s.path.empty()) {
      s.name = s.path.substr(s.path.rfind('/') + 1);
      if (s.name.empty()) s.name = kind_name(kind);
    }
    if (const toml::node* sc = table.get("scheme")) {
      std::optional<std::string> text = string(*sc, "scheme");
      if (text && *text == "hmac-sha256-hex") s.scheme = SourceScheme::hmac_hex;
      else if (text && *text == "standard-webhooks") s.scheme = SourceScheme::standard_webhooks;
      else if (text && *text == "token") s.scheme = SourceScheme::token;
      else {
        if (text) {
          error(sc->source(), "unknown scheme " + json_quote(*text) +
                                  ": write \"hmac-sha256-hex\", \"standard-webhooks\" or \"token\"");
        }
        ok = false;
      }
    }
    if (const toml::node* h = table.get("signature_header")) {
      std::optional<std::string> text = string(*h, "signature_header");
      if (text && !std::all_of(text->begin(), text->end(), is_token_char)) {
        error(h->source(), "signature_header must be a header name, as in \"X-Signature\"");
        text.reset();
      }
      if (text) s.signature_header = *text;
      else ok = false;
    }
    if (s.scheme == SourceScheme::hmac_hex && s.signature_header.empty()) {
      error(table.source(), "[[sources]] with a hex HMAC signature needs signature_header, the header that holds "
                            "it, as in signature_header = \"X-Signature\"");
      ok = false;
    }
    if (const toml::node* secret = table.get("secret")) {
      std::optional<std::string> text = string(*secret, "secret");
      std::string why;
      if (text && s.scheme == SourceScheme::standard_webhooks && !whsec_key(*text, &why)) {
        error(secret->source(), "secret is not a Standard Webhooks secret: " + why + " (copy it whole, whsec_ "
                                "included, from the platform's webhook settings)");
        text.reset();
      }
      if (text) s.secret = *text;
      else ok = false;
    } else {
      error(table.source(), "[[sources]] needs a secret: requests are checked against it before anything is "
                            "applied");
      ok = false;
    }
    if (const toml::node* f = table.get("fields")) {
      std::map<std::string, FieldPath, std::less<>> given;
      if (!fields(*f, given, "fields")) ok = false;
      for (auto& [key, path] : given) s.fields[key] = std::move(path);
      if (kind == SourceKind::custom && given.count("time")) s.time_fallback = false;
    }
    if (const toml::node* u = table.get("amount_unit")) {
      std::optional<std::string> text = string(*u, "amount_unit");
      if (text && *text == "major") s.amount_unit = AmountUnit::major;
      else if (text && *text == "cents") s.amount_unit = AmountUnit::cents;
      else {
        if (text) {
          error(u->source(), "amount_unit must be \"major\" (129.90) or \"cents\" (12990)");
        }
        ok = false;
      }
    }
    if (const toml::node* t = table.get("types")) {
      if (!types(*t, s)) ok = false;
    }
    for (std::string_view required : {"type", "partner"}) {
      if (!s.fields.count(required)) {
        error(table.source(), "[[sources]] needs fields." + std::string(required) + ", the path of the event's " +
                                  std::string(required) + ", as in fields = { type = \"event\", partner = "
                                  "\"data.partner.id\" }");
        ok = false;
      }
    }
    if (ok) config.sources.push_back(std::move(s));
  }
};

}  // namespace

std::string_view kind_name(SourceKind kind) {
  static constexpr std::string_view kNames[] = {"custom", "partnero", "rewardful", "tolt", "firstpromoter"};
  return kNames[static_cast<int>(kind)];
}

namespace {

// The config's numeric keys: one row each (name, kind, range, field).
enum class NumberKind : std::uint8_t { count, duration, seconds };
struct NumberKey {
  std::string_view name;
  NumberKind kind;
  std::int64_t min, max;  // counts; durations: min in ms
  void (*set)(ServeConfig&, std::int64_t);
};
#define PTAG_SET(field, ...) [](ServeConfig& c, std::int64_t v) { c.field = __VA_ARGS__; }
constexpr NumberKey kNumberKeys[] = {
    {"max_body_bytes", NumberKind::count, 1, std::int64_t(1) << 30, PTAG_SET(max_body_bytes, static_cast<std::size_t>(v))},
    {"max_future_skew", NumberKind::seconds, 0, 0, PTAG_SET(max_future_skew, v)},
    {"max_queued_events", NumberKind::count, 1, 100'000'000, PTAG_SET(max_queued_events, static_cast<std::size_t>(v))},
    {"commit_interval", NumberKind::duration, 0, 0, PTAG_SET(commit_interval, Millis(v))},
    {"http_threads", NumberKind::count, 1, 1024, PTAG_SET(http_threads, static_cast<std::size_t>(v))},
    {"signature_tolerance", NumberKind::seconds, 0, 0, PTAG_SET(signature_tolerance, v)},
    {"retry_after", NumberKind::seconds, 0, 0, PTAG_SET(retry_after, v)},
    {"late_event_warning", NumberKind::seconds, 0, 0, PTAG_SET(late_event_warning, v)},
    {"max_connections", NumberKind::count, 1, 1'000'000, PTAG_SET(max_connections, static_cast<std::size_t>(v))},
    {"max_connections_per_client", NumberKind::count, 1, 1'000'000, PTAG_SET(max_connections_per_client, static_cast<std::size_t>(v))},
    {"max_header_bytes", NumberKind::count, 1024, 1 << 20, PTAG_SET(max_header_bytes, static_cast<std::size_t>(v))},
    {"max_headers", NumberKind::count, 8, 10'000, PTAG_SET(max_headers, static_cast<std::size_t>(v))},
    {"header_timeout", NumberKind::duration, 100, 0, PTAG_SET(header_timeout, Millis(v))},
    {"body_timeout", NumberKind::duration, 100, 0, PTAG_SET(body_timeout, Millis(v))},
};
#undef PTAG_SET

}  // namespace

ConfigResult parse_config(std::string_view text, std::string_view file) {
  ConfigResult result;
  Checker check{std::string(file), result, {}, {}};
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    check.error(e.source(), std::string(e.description()));
    check.finish();
    return result;
  }
  ServeConfig config;
  std::vector<std::string_view> known = {"listen", "admin_listen", "ingest_tokens", "admin_tokens", "read_tokens",
                                         "webhooks", "sources"};
  for (const NumberKey& k : kNumberKeys) known.push_back(k.name);
  check.check_keys(root, known, "");
  if (const toml::node* n = root.get("listen")) {
    if (auto a = check.listen(*n, "listen")) config.listen = *a;
  }
  if (const toml::node* n = root.get("admin_listen")) config.admin_listen = check.listen(*n, "admin_listen");
  if (const toml::node* n = root.get("ingest_tokens")) check.tokens(*n, "ingest_tokens", config.ingest_tokens);
  if (const toml::node* n = root.get("admin_tokens")) check.tokens(*n, "admin_tokens", config.admin_tokens);
  if (const toml::node* n = root.get("read_tokens")) check.tokens(*n, "read_tokens", config.read_tokens);
  for (const NumberKey& k : kNumberKeys) {
    const toml::node* n = root.get(k.name);
    if (!n) continue;
    std::optional<std::int64_t> v;
    if (k.kind == NumberKind::count) {
      v = check.integer(*n, k.name, k.min, k.max);
    } else if (k.kind == NumberKind::seconds) {
      v = check.whole_seconds(*n, k.name);
    } else if (std::optional<Millis> d = check.duration(*n, k.name)) {
      v = d->count();
      if (*v < k.min) {
        check.error(n->source(), std::string(k.name) + " must be at least " + std::to_string(k.min) + "ms");
        v.reset();
      }
    }
    if (v) k.set(config, *v);
  }
  // [[webhooks]] and [[sources]]: arrays of tables.
  auto each_table = [&](std::string_view key, auto&& fn) {
    const toml::node* n = root.get(key);
    if (!n) return;
    const auto* array = n->as_array();
    if (!array) {
      check.error(n->source(), std::string(key) + " must be written as [[" + std::string(key) + "]] tables");
      return;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::table* t = (*array)[i].as_table();
      if (!t) check.error((*array)[i].source(), std::string(key) + " must be written as [[" + std::string(key) + "]] tables");
      else fn(*t, i);
    }
  };
  each_table("webhooks", [&](const toml::table& t, std::size_t) { check.webhook(t, config); });
  each_table("sources", [&](const toml::table& t, std::size_t) { check.source(t, config); });

  std::map<std::string, const ConfigPlace*> names;
  for (const WebhookConfig& w : config.webhooks) {
    auto [it, fresh] = names.emplace(w.name, &w.place);
    if (!fresh) {
      check.error(w.place, "a second webhook named " + json_quote(w.name) + " (the first is at " +
                               it->second->text() + "); give each a different name");
    }
  }
  std::map<std::string, const ConfigPlace*> paths, source_names;
  for (const SourceConfig& s : config.sources) {
    auto [it, fresh] = paths.emplace(s.path, &s.place);
    if (!fresh) {
      check.error(s.place, "a second source on path " + json_quote(s.path) + " (the first is at " +
                               it->second->text() + "); give each source its own path");
    }
    auto [nt, fresh_name] = source_names.emplace(s.name, &s.place);
    if (fresh && !fresh_name) {
      check.error(s.place, "a second source named " + json_quote(s.name) + " (the first is at " +
                               nt->second->text() + "); set name = \"...\" on one: it starts the ids of its events");
    }
  }
  check.finish();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

ConfigResult load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigResult result;
    result.errors.push_back(path + ": error: cannot read the config file");
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace ptag::serve
