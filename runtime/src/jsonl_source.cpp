#include <simdjson.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ptag/decimal.hpp"
#include "ptag/text.hpp"
#include "ptag/event_source.hpp"

namespace ptag {
namespace js = simdjson::ondemand;

struct JsonlSource::Reader {
  std::FILE* in;
  bool stream;  // read(2) what has arrived; say when the next read would block
  std::vector<char> buffer;  // data in [begin, end), padded for simdjson
  std::size_t begin = 0, end = 0;
  std::uint64_t base = 0;  // the input offset of buffer[0]
  bool eof = false;
  bool returned = false;  // a line was returned since the last wait
  int read_errno = 0;     // why reading stopped early, or 0
  std::size_t line = 0;
  js::parser parser;

  Reader(std::FILE* f, bool streaming)
      : in(f), stream(streaming), buffer((1u << 20) + simdjson::SIMDJSON_PADDING) {}
  // The whole input, already in memory: one copy, padded; no reads.
  explicit Reader(std::string_view text) : in(nullptr), stream(false), buffer(text.size() + simdjson::SIMDJSON_PADDING) {
    std::memcpy(buffer.data(), text.data(), text.size());
    end = text.size();
    eof = true;
  }

  enum class Got { line, end, waiting };

  // The next line without its '\n'.
  Got next_line(const char*& text, std::size_t& size) {
    for (;;) {
      const char* start = buffer.data() + begin;
      const void* nl = std::memchr(start, '\n', end - begin);
      if (nl || (eof && begin < end)) {
        size = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : end - begin;
        text = start;
        begin += size + (nl ? 1 : 0);
        ++line;
        returned = true;
        return Got::line;
      }
      if (eof) return Got::end;
      // Move the partial line to the front; grow when one line fills the buffer.
      std::memmove(buffer.data(), start, end - begin);
      end -= begin;
      base += begin;
      begin = 0;
      std::size_t room = buffer.size() - simdjson::SIMDJSON_PADDING - end;
      if (room == 0) {
        buffer.resize(buffer.size() * 2);
        room = buffer.size() - simdjson::SIMDJSON_PADDING - end;
      }
      if (!stream) {
        std::size_t got = std::fread(buffer.data() + end, 1, room, in);
        end += got;
        if (got == 0) {
          eof = true;
          if (std::ferror(in)) read_errno = errno ? errno : EIO;
        }
        continue;
      }
      if (returned && !readable()) {
        returned = false;
        return Got::waiting;
      }
      ssize_t got = ::read(fileno(in), buffer.data() + end, room);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) read_errno = errno;
      if (got <= 0) eof = true;
      else end += static_cast<std::size_t>(got);
    }
  }

  bool readable() const {
    pollfd p{fileno(in), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;  // data, end of input, or an error: read() will not block
  }
};

JsonlSource::JsonlSource(std::FILE* in, bool stream) : reader_(std::make_unique<Reader>(in, stream)) {}
JsonlSource::JsonlSource(std::string_view text) : reader_(std::make_unique<Reader>(text)) {}
JsonlSource::~JsonlSource() = default;
std::uint64_t JsonlSource::offset() const {
  return reader_->base + reader_->begin;
}

bool JsonlSource::start_at(std::uint64_t offset, std::size_t line) {
  Reader& r = *reader_;
  if (!r.in || std::fseek(r.in, static_cast<long>(offset), SEEK_SET) != 0) return false;
  r.base = offset;
  r.begin = r.end = 0;
  r.eof = false;
  r.line = line;
  return true;
}

int JsonlSource::read_error() const {
  return reader_->read_errno;
}

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

// RFC 3339 text, or whole epoch seconds in 0..kMaxEpochSeconds (§2).
bool read_time(js::value value, js::json_type type, Seconds& time, std::string& error) {
  if (type == js::json_type::string) {
    std::string_view text;
    if (value.get_string().get(text)) return false;
    auto t = parse_time(text);
    if (!t) {
      error = "\"time\" is not an RFC 3339 time: " + json_quote(text);
      if (std::string hint = time_hint(text); !hint.empty()) error += "; " + hint;
      return false;
    }
    time = *t;
    return true;
  }
  if (type != js::json_type::number) {
    error = "\"time\" must be an RFC 3339 string or epoch seconds";
    return false;
  }
  std::string_view token = trimmed(value.raw_json_token());
  js::number_type kind = js::number_type::unsigned_integer;  // beyond 64 bits: an error
  bool known = !value.get_number_type().get(kind);
  if (known && kind == js::number_type::floating_point_number) {
    error = "\"time\" must be whole epoch seconds, not " + std::string(token);
    return false;
  }
  std::int64_t t = 0;
  if (!known || kind != js::number_type::signed_integer || value.get_int64().get(t) || t < 0 ||
      t > kMaxEpochSeconds) {
    error = "\"time\" " + std::string(token) + " is outside epoch seconds 0.." +
            std::to_string(kMaxEpochSeconds);
    std::size_t digits = token.size() - (token.starts_with('-') ? 1 : 0);
    if (digits == 13) error += "; it looks like epoch milliseconds (divide by 1000)";
    return false;
  }
  time = t;
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
      if (!read_time(value, type, event.time, error)) return false;
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
    Reader::Got got = r.next_line(text, size);
    if (got == Reader::Got::end) return Status::end;
    if (got == Reader::Got::waiting) return Status::waiting;
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
