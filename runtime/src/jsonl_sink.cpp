#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "ptag/sink.hpp"
#include "ptag/text.hpp"

namespace ptag {

namespace {

constexpr std::string_view kActions[] = {"add", "remove", "emit"};
constexpr std::string_view kCauses[] = {R"(,"cause":"event")", R"(,"cause":"timer")",
                                        R"(,"cause":"backfill")"};
// Lines go to the FILE 256 KB at a time: fewer writes than 64 KB, and still in
// the core's cache when written (a 1 MB buffer was slower here: 0.95 s of output
// on W1 against 0.40 s, its lines evicted before the write copied them).
constexpr std::size_t kBuffer = std::size_t{1} << 18;

// True when `text` is its own JSON string body (no quote, backslash or control byte).
bool plain(std::string_view text) {
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == '"' || c == '\\') return false;
  }
  return true;
}

char* put(char* at, std::string_view text) {
  if (!text.empty()) std::memcpy(at, text.data(), text.size());  // data() may be null
  return at + text.size();
}

}  // namespace

void append_record_json(std::string& out, const ChangeRecord& r) {
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
  out += kCauses[static_cast<int>(r.cause_of())];
  if (r.has_event_id) {
    out += R"(,"event":)";
    append_json_quoted(out, r.event_id);
  }
  out += "}\n";
}

// Quoted tag and rule names, found by the view's address and size and then
// confirmed by comparing the text itself: a record made by hand may point
// anywhere, and an address freed and reused for other text must not bring
// back the old quote. The check is a short memcmp; the table is direct-mapped
// and bounded (a collision only quotes again), so any number of names is fine.
struct JsonlSink::Names {
  struct Entry {
    const char* data = nullptr;
    std::size_t size = 0;
    bool filled = false;
    std::string text, quoted;
  };
  std::array<Entry, 512> entries;
};

JsonlSink::JsonlSink(std::FILE* out)
    : out_(out),
      buffer_(std::make_unique_for_overwrite<char[]>(kBuffer)),
      capacity_(kBuffer),
      names_(std::make_unique<Names>()) {}

JsonlSink::~JsonlSink() {
  flush();
}

std::string_view JsonlSink::quoted_name(std::string_view name) {
  auto key = reinterpret_cast<std::uintptr_t>(name.data()) ^ (name.size() << 1);
  std::size_t slot = static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 55);
  Names::Entry& e = names_->entries[slot];
  if (!e.filled || e.data != name.data() || e.size != name.size() || std::string_view(e.text) != name) {
    e.filled = true;
    e.data = name.data();
    e.size = name.size();
    e.text.assign(name);
    e.quoted.clear();
    append_json_quoted(e.quoted, name);
  }
  return e.quoted;
}

void JsonlSink::update_time(Seconds t) {
  if (have_second_ && t == second_) return;
  second_ = t;
  have_second_ = true;
  // Far outside the years records print, format_time alone (no day arithmetic to overflow).
  constexpr Seconds kFar = Seconds{1} << 50;
  if (t < -kFar || t > kFar) {
    time_text_ = format_time(t);
    have_day_ = false;
    return;
  }
  Seconds day = t / 86400;
  if (t % 86400 < 0) --day;
  Seconds rest = t - day * 86400;
  if (!have_day_ || day != day_) {
    time_text_ = format_time(t);
    day_ = day;
    have_day_ = time_text_.size() == 20;  // YYYY-MM-DDTHH:MM:SSZ: its clock part can be rewritten
    return;
  }
  auto two = [this](std::size_t at, Seconds v) {
    time_text_[at] = static_cast<char>('0' + v / 10);
    time_text_[at + 1] = static_cast<char>('0' + v % 10);
  };
  two(11, rest / 3600);
  two(14, rest / 60 % 60);
  two(17, rest % 60);
}

void JsonlSink::record(const ChangeRecord& r) {
  update_time(r.time);
  std::string_view partner = r.partner, event_id = r.event_id;
  bool partner_plain = plain(partner);
  bool event_plain = !r.has_event_id || plain(event_id);
  if (!partner_plain || !event_plain) {
    // Rare: quote what needs escapes into scratch_ and copy it as it is.
    scratch_.clear();
    if (!partner_plain) append_json_quoted(scratch_, partner);
    std::size_t partner_end = scratch_.size();
    if (!event_plain) append_json_quoted(scratch_, event_id);
    std::string_view s(scratch_);
    if (!partner_plain) partner = s.substr(0, partner_end);
    if (!event_plain) event_id = s.substr(partner_end);
  }
  // Fixed texts (under 128 bytes) plus the variable parts: a quoted name is at
  // most 6 bytes per byte (\u00XX). The names are looked up only as they are
  // written, since the tag's and the rule's may share a slot.
  std::size_t need = 128 + time_text_.size() + 6 * (r.tag.size() + r.rule.size()) + partner.size() +
                     (r.has_event_id ? event_id.size() : 0);
  if (capacity_ - used_ < need) {
    write_out();
    if (capacity_ < need) {
      capacity_ = need;
      buffer_ = std::make_unique_for_overwrite<char[]>(capacity_);
    }
  }
  char* at = buffer_.get() + used_;
  at = put(at, R"({"time":")");
  at = put(at, time_text_);
  at = put(at, R"(","partner":)");
  if (partner_plain) *at++ = '"';
  at = put(at, partner);
  if (partner_plain) *at++ = '"';
  at = put(at, R"(,"action":")");
  at = put(at, kActions[static_cast<int>(r.action)]);
  at = put(at, r.action == RecordAction::emit ? R"(","name":)" : R"(","tag":)");
  at = put(at, quoted_name(r.tag));
  at = put(at, R"(,"rule":)");
  at = put(at, quoted_name(r.rule));
  at = put(at, kCauses[static_cast<int>(r.cause_of())]);
  if (r.has_event_id) {
    at = put(at, R"(,"event":)");
    if (event_plain) *at++ = '"';
    at = put(at, event_id);
    if (event_plain) *at++ = '"';
  }
  at = put(at, "}\n");
  used_ = static_cast<std::size_t>(at - buffer_.get());
}

void JsonlSink::write_out() {
  if (used_ != 0) std::fwrite(buffer_.get(), 1, used_, out_);
  used_ = 0;
}

void JsonlSink::flush() {
  write_out();
  std::fflush(out_);
}

}  // namespace ptag
