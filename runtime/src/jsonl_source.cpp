#include <simdjson.h>
#include <cstring>

#include "ptag/decimal.hpp"
#include "ptag/event_source.hpp"

namespace ptag {
namespace js = simdjson::ondemand;

struct JsonlSource::Reader {
  std::FILE* in;
  std::vector<char> buffer;  // data in [begin, end), padded for simdjson
  std::size_t begin = 0, end = 0;
  bool eof = false;
  std::size_t line = 0;
  js::parser parser;

  explicit Reader(std::FILE* f) : in(f), buffer((1u << 20) + simdjson::SIMDJSON_PADDING) {}

  // The next line without its '\n', or false at the end of the input.
  bool next_line(const char*& text, std::size_t& size) {
    for (;;) {
      const char* start = buffer.data() + begin;
      const void* nl = std::memchr(start, '\n', end - begin);
      if (nl || (eof && begin < end)) {
        size = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : end - begin;
        text = start;
        begin += size + (nl ? 1 : 0);
        ++line;
        return true;
      }
      if (eof) return false;
      // Move the partial line to the front; grow when one line fills the buffer.
      std::memmove(buffer.data(), start, end - begin);
      end -= begin;
      begin = 0;
      std::size_t room = buffer.size() - simdjson::SIMDJSON_PADDING - end;
      if (room == 0) {
        buffer.resize(buffer.size() * 2);
        room = buffer.size() - simdjson::SIMDJSON_PADDING - end;
      }
      std::size_t got = std::fread(buffer.data() + end, 1, room, in);
      end += got;
      if (got == 0) eof = true;
    }
  }
};

JsonlSource::JsonlSource(std::FILE* in) : reader_(std::make_unique<Reader>(in)) {}
JsonlSource::~JsonlSource() = default;
std::size_t JsonlSource::line() const {
  return reader_->line;
}

namespace {

std::string_view trimmed(std::string_view raw) {
  while (!raw.empty() &&
         (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r' || raw.back() == '\n')) {
    raw.remove_suffix(1);
  }
  return raw;
}

// A `data` field: strings, numbers and booleans; anything else is ignored (§9.6).
// A number outside the range reads as missing, except `amount`, which makes
// the line bad.
bool read_field(std::string_view name, js::value value, Event& event, std::string& error) {
  js::json_type type;
  if (value.type().get(type)) return false;
  Field f{name, {}};
  switch (type) {
    case js::json_type::string: {
      std::string_view text;
      if (value.get_string().get(text)) return false;
      f.value = {Value::Kind::text, 0, text};
      break;
    }
    case js::json_type::number: {
      auto number = parse_decimal(trimmed(value.raw_json_token()));
      if (!number) {
        if (name == "amount") {
          error = "\"data.amount\" is out of range";
          return false;
        }
        return true;
      }
      f.value = {Value::Kind::number, *number, {}};
      break;
    }
    case js::json_type::boolean: {
      bool b;
      if (value.get_bool().get(b)) return false;
      f.value = {Value::Kind::boolean, b ? 1 : 0, {}};
      break;
    }
    default:
      return true;  // null, objects and arrays are not addressable
  }
  for (Field& existing : event.data) {
    if (existing.name == name) {
      existing = f;  // the last of repeated keys wins
      return true;
    }
  }
  event.data.push_back(f);
  return true;
}

bool read_event(js::document& doc, Event& event, std::string& error) {
  js::object object;
  if (doc.get_object().get(object)) {
    js::json_type type;
    bool other_value = !doc.type().get(type) && type != js::json_type::object;
    error = other_value ? "not a JSON object" : "not valid JSON";
    return false;
  }
  bool has_type = false, has_partner = false, has_time = false;
  for (auto member : object) {
    std::string_view key;
    if (member.unescaped_key().get(key)) return false;
    js::value value;
    if (member.value().get(value)) return false;
    js::json_type type;
    if (value.type().get(type)) return false;
    if (key == "type" || key == "partner" || key == "id") {
      std::string_view text;
      if (type != js::json_type::string || value.get_string().get(text)) {
        error = "\"" + std::string(key) + "\" must be a string";
        return false;
      }
      if (key == "type") {
        event.type = text;
        has_type = true;
      } else if (key == "partner") {
        event.partner = text;
        has_partner = true;
      } else {
        event.id = text;
        event.has_id = true;
      }
    } else if (key == "time") {
      has_time = true;
      if (type == js::json_type::string) {
        std::string_view text;
        if (value.get_string().get(text)) return false;
        auto t = parse_time(text);
        if (!t) {
          error = "\"time\" is not an RFC 3339 time: \"" + std::string(text) + "\"";
          return false;
        }
        event.time = *t;
      } else if (type == js::json_type::number) {
        std::int64_t t;
        if (value.get_int64().get(t)) {
          error = "\"time\" must be whole epoch seconds";
          return false;
        }
        if (t < 0 || t > 253402300799) {  // records print times as YYYY-MM-DDTHH:MM:SSZ
          error = "\"time\" " + std::to_string(t) + " is outside epoch seconds 0..253402300799";
          return false;
        }
        event.time = t;
      } else {
        error = "\"time\" must be an RFC 3339 string or epoch seconds";
        return false;
      }
    } else if (key == "data") {
      js::object data;
      if (type != js::json_type::object || value.get_object().get(data)) {
        error = "\"data\" must be an object";
        return false;
      }
      for (auto field : data) {
        std::string_view name;
        js::value v;
        if (field.unescaped_key().get(name) || field.value().get(v)) return false;
        if (!read_field(name, v, event, error)) return false;
      }
    }
  }
  if (!has_type || event.type.empty()) {
    error = has_type ? "\"type\" is empty" : "missing \"type\"";
    return false;
  }
  if (!has_partner || event.partner.empty()) {
    error = has_partner ? "\"partner\" is empty" : "missing \"partner\"";
    return false;
  }
  if (!has_time) {
    error = "missing \"time\"";
    return false;
  }
  const char* rest;
  if (!doc.current_location().get(rest)) {  // a location left means tokens after the object
    error = "text after the JSON object";
    return false;
  }
  return true;
}

}  // namespace

EventSource::Status JsonlSource::next(Event& event, std::string& error) {
  Reader& r = *reader_;
  const char* text;
  std::size_t size;
  for (;;) {
    if (!r.next_line(text, size)) return Status::end;
    std::string_view line(text, size);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) break;
  }
  event.id = {};
  event.has_id = false;
  event.type = {};
  event.partner = {};
  event.time = 0;
  event.data.clear();
  error.clear();
  std::size_t capacity = static_cast<std::size_t>(r.buffer.data() + r.buffer.size() - text);
  js::document doc;
  std::size_t first = std::string_view(text, size).find_first_not_of(" \t\r");
  if (text[first] != '{' && text[first] != '[' && text[first] != '"' && text[first] != '-' &&
      (text[first] < '0' || text[first] > '9')) {
    error = "not valid JSON";  // simdjson reads lazily: a bare word would pass for a scalar
    return Status::bad_line;
  }
  if (r.parser.iterate(text, size, capacity).get(doc) || !read_event(doc, event, error)) {
    if (error.empty()) error = "not valid JSON";
    return Status::bad_line;
  }
  return Status::event;
}

}  // namespace ptag
