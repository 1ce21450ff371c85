#include "ingest.hpp"

#include <simdjson.h>


#include "ptag/event_source.hpp"

namespace ptag::serve {

namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool is_json(simdjson::dom::parser& parser, std::string_view text) {
  simdjson::dom::element e;
  return !parser.parse(simdjson::padded_string(text)).get(e);
}

// The JSONL reader of `ptag run` over the text: one line per item.
void read_lines(std::string_view text, ParsedBody& out, simdjson::dom::parser& parser) {
  std::vector<std::string_view> lines;  // split only when a line is bad
  JsonlSource source(text);
  Event event;
  std::string why;
  for (;;) {
    EventSource::Status status = source.next(event, why);
    if (status == EventSource::Status::end || status == EventSource::Status::waiting) break;
    std::size_t index = source.line() - 1;
    if (status == EventSource::Status::event) {
      out.events.add(event, source.line());
      out.any_json = true;
      continue;
    }
    if (lines.empty()) {
      std::string_view rest(text);
      while (!rest.empty()) {
        std::size_t end = rest.find('\n');
        lines.push_back(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      }
    }
    if (index < lines.size() && is_json(parser, lines[index])) out.any_json = true;
    out.rejected.push_back({index, "rejected", why, std::nullopt});
  }
  out.items = source.line();
}

}  // namespace

ParsedBody parse_events_body(std::string_view body) {
  ParsedBody out;
  std::string_view text = trimmed(body);
  if (text.empty()) {
    out.error = "the body is empty: send one JSON event, a JSON array of events, or JSONL";
    return out;
  }
  simdjson::dom::parser parser;
  if (text.front() == '[' || text.front() == '{') {
    simdjson::dom::element doc;
    simdjson::padded_string padded(text);
    simdjson::error_code error = parser.parse(padded).get(doc);
    if (!error && doc.is_array()) {
      // Each element becomes a line, so that its index is its line - 1.
      std::string lines;
      simdjson::dom::array items = doc.get_array().value_unsafe();
      for (simdjson::dom::element item : items) {
        lines += simdjson::minify(item);
        lines += '\n';
      }
      if (lines.empty()) {
        out.error = "the body is an empty JSON array";
        return out;
      }
      read_lines(lines, out, parser);
      out.any_json = true;
      return out;
    }
    if (!error) {
      read_lines(simdjson::minify(doc) + "\n", out, parser);
      out.any_json = true;
      return out;
    }
    if (text.front() == '[') {
      out.error = std::string("the body is not a JSON array that parses: ") + simdjson::error_message(error);
      return out;
    }
  }
  read_lines(body, out, parser);
  if (!out.any_json && out.error.empty()) out.error = "no line of the body is JSON";
  return out;
}

}  // namespace ptag::serve
