#include <fmt/format.h>

#include "ptag/sink.hpp"
#include "ptag/text.hpp"

namespace ptag {

void append_record_json(std::string& out, const ChangeRecord& r) {
  static constexpr std::string_view kActions[] = {"add", "remove", "emit"};
  out += R"({"time":")";
  out += format_time(r.time);
  out += R"(","partner":)";
  append_json_quoted(out, r.partner);
  out += R"(,"action":")";
  out += kActions[static_cast<int>(r.action)];
  out += r.action == RecordAction::emit ? R"(","name":)" : R"(","tag":)";
  append_json_quoted(out, r.tag);
  out += R"(,"rule":)";
  append_json_quoted(out, r.rule);
  static constexpr std::string_view kCauses[] = {R"(,"cause":"event")", R"(,"cause":"timer")",
                                                 R"(,"cause":"backfill")"};
  out += kCauses[static_cast<int>(r.cause_of())];
  if (r.has_event_id) {
    out += R"(,"event":)";
    append_json_quoted(out, r.event_id);
  }
  out += "}\n";
}

void JsonlSink::record(const ChangeRecord& r) {
  append_record_json(buffer_, r);
  if (buffer_.size() >= (1u << 16)) flush();
}

void JsonlSink::flush() {
  if (!buffer_.empty()) std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
  buffer_.clear();
  std::fflush(out_);
}

}  // namespace ptag
