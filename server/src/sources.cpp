#include "sources.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "ptag/decimal.hpp"
#include "ptag/text.hpp"
#include "signature.hpp"

namespace ptag::serve {
namespace js = simdjson::ondemand;

namespace {

// The body as a small tree; numbers keep their exact text.
struct Json {
  enum class Kind : std::uint8_t { null, boolean, number, string, object, array } kind = Kind::null;
  std::string text;  // a string's unescaped value, a number's JSON text, "true" / "false"
  // An object's members: names and values side by side (a pair would need
  // Json complete here; a vector of it need not be).
  std::vector<std::string> names;
  std::vector<Json> items;  // an array's items, or an object's member values
};

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') ++i;
  else if (!digits()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// As deep as the events of POST /v1/events may nest (simdjson's default):
// deeper bodies are refused before the tree (and its destructors) could
// take the stack.
constexpr int kMaxDepth = 1024;

bool read_value(js::value value, Json& out, int depth);

bool read_object(js::object object, Json& out, int depth) {
  out.kind = Json::Kind::object;
  for (auto member : object) {
    js::field field;
    std::string_view key;
    if (std::move(member).get(field) || field.unescaped_key().get(key)) return false;
    Json child;
    if (!read_value(field.value(), child, depth + 1)) return false;
    out.names.emplace_back(key);
    out.items.push_back(std::move(child));
  }
  return true;
}

bool read_value(js::value value, Json& out, int depth) {
  js::json_type type;
  if (depth > kMaxDepth || value.type().get(type)) return false;
  switch (type) {
    case js::json_type::object: {
      js::object object;
      return !value.get_object().get(object) && read_object(object, out, depth);
    }
    case js::json_type::array: {
      js::array array;
      if (value.get_array().get(array)) return false;
      out.kind = Json::Kind::array;
      for (auto item : array) {
        js::value v;
        if (std::move(item).get(v)) return false;
        out.items.emplace_back();
        if (!read_value(v, out.items.back(), depth + 1)) return false;
      }
      return true;
    }
    case js::json_type::number: {
      std::string_view raw = value.raw_json_token();
      while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.back()))) raw.remove_suffix(1);
      if (!is_json_number(raw)) return false;
      out.kind = Json::Kind::number;
      out.text = raw;
      return true;
    }
    case js::json_type::string: {
      std::string_view s;
      if (value.get_string().get(s)) return false;
      out.kind = Json::Kind::string;
      out.text = s;
      return true;
    }
    case js::json_type::boolean: {
      bool b = false;
      if (value.get_bool().get(b)) return false;
      out.kind = Json::Kind::boolean;
      out.text = b ? "true" : "false";
      return true;
    }
    case js::json_type::null: {
      bool is_null = false;
      if (value.is_null().get(is_null) || !is_null) return false;
      out.kind = Json::Kind::null;
      return true;
    }
  }
  return false;
}

// How deep arrays and objects nest (outside strings), at most.
int nesting(std::string_view body) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Empty optional: not valid JSON, or not an object.
std::optional<Json> parse_body(std::string_view body, std::string& why) {
  simdjson::padded_string padded(body);
  js::parser parser;
  js::document doc;
  js::object object;
  Json root;
  if (nesting(body) > kMaxDepth) {
    why = "the body nests arrays and objects deeper than " + std::to_string(kMaxDepth) + " levels";
    return std::nullopt;
  }
  if (parser.iterate(padded).get(doc)) {
    why = "the body is not valid JSON";
    return std::nullopt;
  }
  js::json_type type;
  if (doc.type().get(type)) {
    why = "the body is not valid JSON";
    return std::nullopt;
  }
  if (type != js::json_type::object) {
    simdjson::dom::parser whole;  // on demand, only the first token was read
    why = whole.parse(padded).error() ? "the body is not valid JSON" : "the body is not a JSON object";
    return std::nullopt;
  }
  const char* rest = nullptr;
  // A location left after the object means tokens after it.
  if (doc.get_object().get(object) || !read_object(object, root, 1) || !doc.current_location().get(rest)) {
    why = "the body is not valid JSON";
    return std::nullopt;
  }
  return root;
}

const Json* at_path(const Json& root, std::string_view path) {
  const Json* node = &root;
  while (node) {
    std::size_t dot = path.find('.');
    std::string_view segment = path.substr(0, dot);
    const Json* next = nullptr;
    if (node->kind == Json::Kind::object) {
      for (std::size_t m = 0; m < node->names.size(); ++m) {
        if (node->names[m] == segment) next = &node->items[m];  // the last of a repeated key wins, as in events
      }
    } else if (node->kind == Json::Kind::array) {
      std::size_t index = 0;
      auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
      if (ec == std::errc{} && end == segment.data() + segment.size() && index < node->items.size()) {
        next = &node->items[index];
      }
    }
    node = next;
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return node;
}

// A value found by a field's paths: from the body, or a header's text.
struct Found {
  const Json* json = nullptr;
  std::string header;
  bool from_header = false;
  std::string_view path;  // which path gave it
  explicit operator bool() const { return json || from_header; }
};

Found find(const FieldPath& field, const Json& root, const WebhookRequest& request) {
  for (const std::string& p : field.paths) {
    if (p.starts_with("header:")) {
      std::string_view value = request.header ? request.header(std::string_view(p).substr(7)) : std::string_view{};
      if (!value.empty()) return {nullptr, std::string(value), true, p};
    } else if (const Json* j = at_path(root, p); j && j->kind != Json::Kind::null) {
      return {j, {}, false, p};
    }
  }
  return {};
}

// A string, or a number's text (platforms send numeric ids).
std::optional<std::string> id_text(const Found& f) {
  if (f.from_header) return f.header;
  if (f.json->kind == Json::Kind::string || f.json->kind == Json::Kind::number) return f.json->text;
  return std::nullopt;
}

std::string list(const FieldPath& field) {
  std::string out;
  for (const std::string& p : field.paths) out += (out.empty() ? "" : " or ") + json_quote(p);
  return out;
}

}  // namespace

std::optional<std::string> cents_to_major(std::string_view cents) {
  bool negative = !cents.empty() && cents.front() == '-';
  std::string_view digits = cents.substr(negative ? 1 : 0);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  std::size_t first = digits.find_first_not_of('0');
  std::string whole = first == std::string_view::npos ? "" : std::string(digits.substr(first));
  while (whole.size() < 3) whole.insert(whole.begin(), '0');
  std::string out = negative ? "-" : "";
  out += whole.substr(0, whole.size() - 2);
  out += '.';
  out += whole.substr(whole.size() - 2);
  return out;
}

std::string authenticate(const SourceConfig& source, const WebhookRequest& request, Seconds tolerance) {
  auto header = [&](std::string_view name) {
    return request.header ? request.header(name) : std::string_view{};
  };
  switch (source.scheme) {
    case SourceScheme::hmac_hex: {
      std::string_view signature = header(source.signature_header);
      if (signature.empty()) return "the " + source.signature_header + " header is missing";
      return verify_hex_hmac(source.secret, request.body, signature)
                 ? std::string{}
                 : "the " + source.signature_header + " header does not match the body";
    }
    case SourceScheme::standard_webhooks: {
      // Svix, which sends Tolt's webhooks, names the same headers svix-*.
      bool svix = header("webhook-id").empty() && !header("svix-id").empty();
      std::string prefix = svix ? "svix-" : "webhook-";
      std::optional<std::string> key = whsec_key(source.secret);
      if (!key) return "the source's secret is not a whsec_ secret";
      return verify_standard(*key, header(prefix + "id"), header(prefix + "timestamp"), header(prefix + "signature"),
                             request.body, request.now, tolerance);
    }
    case SourceScheme::token: {
      std::string_view given = header(source.signature_header);
      if (given.starts_with("Bearer ")) given.remove_prefix(7);
      if (given.empty()) given = request.token_param;
      if (given.empty()) return "no token: send it in the " + source.signature_header + " header or as ?token=";
      return constant_time_equal(given, source.secret) ? std::string{} : "the token is wrong";
    }
  }
  return "unknown scheme";
}

namespace {

using Fields = std::map<std::string, FieldPath, std::less<>>;

// The conditions after a types key's platform type, each [PATH=VALUE] (the
// value at PATH, as written, is VALUE) or [PATH] (present and not null).
bool conditions_hold(std::string_view conditions, const Json& root) {
  while (!conditions.empty()) {
    std::size_t close = conditions.find(']');
    if (conditions.front() != '[' || close == std::string_view::npos) return false;  // malformed: never matches
    std::string_view condition = conditions.substr(1, close - 1);
    conditions.remove_prefix(close + 1);
    std::size_t equals = condition.find('=');
    const Json* value = at_path(root, condition.substr(0, equals));
    if (!value || value->kind == Json::Kind::null) return false;
    if (equals == std::string_view::npos) continue;
    bool scalar = value->kind == Json::Kind::string || value->kind == Json::Kind::number ||
                  value->kind == Json::Kind::boolean;
    if (!scalar || value->text != condition.substr(equals + 1)) return false;
  }
  return true;
}

// One event to make: the types key that asked for it and its fields.
struct Mapping {
  std::string_view key;
  std::string_view event_type;
  Fields fields;
};

// Every types entry for this platform type whose conditions hold, in key
// order: one payload may make several events (a reward is a commission and a sale).
std::vector<Mapping> mappings_for(const SourceConfig& source, std::string_view platform_type, const Json& root) {
  std::vector<Mapping> out;
  for (auto it = source.types.lower_bound(platform_type);
       it != source.types.end() && std::string_view(it->first).starts_with(platform_type); ++it) {
    std::string_view conditions = std::string_view(it->first).substr(platform_type.size());
    if (!conditions.empty() && (conditions.front() != '[' || !conditions_hold(conditions, root))) continue;
    Mapping m{it->first, it->second.type, source.fields};
    for (const auto& [key, path] : it->second.fields) m.fields[key] = path;
    out.push_back(std::move(m));
  }
  return out;
}

// An amount as the exact major-unit text for `data.amount`; empty and `why` set when it is not money.
std::optional<std::string> amount_text(const Found& value, AmountUnit unit, std::string& why) {
  std::string_view given = value.from_header ? std::string_view(value.header) : std::string_view(value.json->text);
  bool numeric = value.from_header || value.json->kind == Json::Kind::string || value.json->kind == Json::Kind::number;
  if (!numeric) {
    why = "the amount (" + std::string(value.path) + ") is not a number";
    return std::nullopt;
  }
  if (unit == AmountUnit::cents) {
    std::optional<std::string> major = cents_to_major(given);
    if (!major) why = "the amount (" + std::string(value.path) + ") is not whole cents: " + json_quote(given);
    return major;
  }
  // A JSON number as written: the reader rounds, range-checks and explains it.
  if (value.json && value.json->kind == Json::Kind::number) return std::string(given);
  if (std::optional<std::int64_t> exact = parse_decimal(given)) return format_decimal(*exact);  // a number in a string
  why = "the amount (" + std::string(value.path) + ") is not a number: " + json_quote(given);
  return std::nullopt;
}

// The `data` object's members (amount, customer, attributes, ...), "" when none.
std::optional<std::string> data_members(const Fields& fields, const Json& root, const WebhookRequest& request,
                                        AmountUnit unit, std::string& why) {
  std::string data;
  for (const auto& [name, path] : fields) {
    if (name == "id" || name == "type" || name == "partner" || name == "time") continue;
    Found value = find(path, root, request);
    if (!value) continue;
    std::string text;
    if (name == "amount" || name == "refunded_total") {  // money, in the source's unit
      std::optional<std::string> amount = amount_text(value, unit, why);
      if (!amount) return std::nullopt;
      text = *amount;
    } else if (value.from_header || value.json->kind == Json::Kind::string ||
               (name == "customer" && value.json->kind == Json::Kind::number)) {
      // A numeric customer id as text: only text customers count (docs/events.md).
      append_json_quoted(text, value.from_header ? value.header : value.json->text);
    } else if (value.json->kind == Json::Kind::number || value.json->kind == Json::Kind::boolean) {
      text = value.json->text;
    } else {
      continue;  // objects and arrays are not data fields (docs/events.md)
    }
    data += data.empty() ? "" : ",";
    append_json_quoted(data, name);
    data += ':';
    data += text;
  }
  return data;
}

// The event's time as JSON, or empty and `why` set.
std::optional<std::string> time_json(const SourceConfig& source, const Fields& fields, const Json& root,
                                     const WebhookRequest& request, std::string& why) {
  auto field = fields.find("time");
  Found time = field == fields.end() ? Found{} : find(field->second, root, request);
  std::string out;
  if (time && time.from_header) {
    append_json_quoted(out, time.header);
  } else if (time && time.json->kind == Json::Kind::string) {
    append_json_quoted(out, time.json->text);  // as given: the event reader checks and explains it
  } else if (time && time.json->kind == Json::Kind::number) {
    out = time.json->text;
  } else if (time) {
    why = "the time (" + std::string(time.path) + ") is not a string or a number";
    return std::nullopt;
  } else if (source.time_fallback) {
    out = std::to_string(request.now);
  } else {
    why = "the time is missing" + (field == fields.end() ? "" : " (fields.time: " + list(field->second) + ")");
    return std::nullopt;
  }
  return out;
}

// One event line for one mapping, or empty and `why` set.
std::optional<std::string> event_line(const SourceConfig& source, const Mapping& m, const Json& root,
                                      const WebhookRequest& request, std::string& why) {
  std::string line = "{";
  if (auto f = m.fields.find("id"); f != m.fields.end()) {
    if (Found id = find(f->second, root, request)) {
      std::optional<std::string> text = id_text(id);
      if (!text || text->empty()) {
        why = "the event id (" + std::string(id.path) + ") is not a string or a number";
        return std::nullopt;
      }
      line += R"("id":)";
      // Prefixed: platforms reuse an object's id across its events (a sale and its refund),
      // and one payload may make several events (one per types key).
      append_json_quoted(line, source.name + ":" + std::string(m.key) + ":" + *text);
      line += ',';
    }
  }
  line += R"("type":)";
  append_json_quoted(line, m.event_type);

  const FieldPath& partner_path = m.fields.at("partner");
  Found partner = find(partner_path, root, request);
  if (!partner) {
    why = "the partner is missing (fields.partner: " + list(partner_path) + ")";
    return std::nullopt;
  }
  std::optional<std::string> partner_id = id_text(partner);
  if (!partner_id) {
    why = "the partner (" + std::string(partner.path) + ") is not a string or a number";
    return std::nullopt;
  }
  line += R"(,"partner":)";
  append_json_quoted(line, *partner_id);

  std::optional<std::string> time = time_json(source, m.fields, root, request, why);
  if (!time) return std::nullopt;
  line += R"(,"time":)" + *time;

  std::optional<std::string> data = data_members(m.fields, root, request, source.amount_unit, why);
  if (!data) return std::nullopt;
  if (!data->empty()) line += R"(,"data":{)" + *data + "}";
  line += '}';
  return line;
}

}  // namespace

MappedEvent map_webhook(const SourceConfig& source, const WebhookRequest& request) {
  MappedEvent out;
  auto bad = [&](std::string reason) {
    out.status = MappedEvent::Status::bad;
    out.reason = std::move(reason);
    return out;
  };
  std::string why;
  std::optional<Json> root = parse_body(request.body, why);
  if (!root) return bad(why);

  auto type_field = source.fields.find("type");
  Found type = type_field == source.fields.end() ? Found{} : find(type_field->second, *root, request);
  if (!type) return bad("the event type is missing (fields.type: " + list(type_field->second) + ")");
  if (type.json && type.json->kind != Json::Kind::string) return bad("the event type (" + std::string(type.path) +
                                                                     ") is not a string");
  out.platform_type = type.from_header ? type.header : type.json->text;
  if (out.platform_type.empty()) return bad("the event type (" + std::string(type.path) + ") is empty");

  // Without types (custom only) the platform's type is the event type.
  std::vector<Mapping> mappings = source.types.empty()
                                      ? std::vector<Mapping>{{out.platform_type, out.platform_type, source.fields}}
                                      : mappings_for(source, out.platform_type, *root);
  if (mappings.empty()) {
    out.status = MappedEvent::Status::ignored;
    out.reason = "event type " + json_quote(out.platform_type) + " is not mapped by source " +
                 json_quote(source.name) + " (add it to its types, or stop the platform sending it)";
    return out;
  }
  for (const Mapping& m : mappings) {
    std::optional<std::string> line = event_line(source, m, *root, request, why);
    // A conditional entry names itself: the plain type's reasons stay as they were.
    if (!line) return bad(m.key == out.platform_type ? why : "types." + json_quote(m.key) + ": " + why);
    out.line += (out.line.empty() ? "" : "\n") + *line;
  }
  out.status = MappedEvent::Status::event;
  return out;
}

}  // namespace ptag::serve
