// Completion: what may be written at the cursor, from the words before it
// (the text may not parse while it is being typed) and the program's names.
#include <fmt/format.h>
#include <algorithm>
#include <set>

#include "ptag/catalogue.hpp"
#include "ptag/format.hpp"
#include "state.hpp"

namespace ptag::lsp {
namespace {

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Reads the text before the cursor backwards, a token at a time.
class Backwards {
 public:
  Backwards(std::string_view text, std::size_t at) : text_(text), at_(at) {}

  void skip_space() {
    while (at_ > 0 && std::string_view(" \t\r\n").find(text_[at_ - 1]) != std::string_view::npos)
      --at_;
  }
  std::string_view word() {
    std::size_t end = at_;
    while (at_ > 0 && word_char(text_[at_ - 1])) --at_;
    return text_.substr(at_, end - at_);
  }
  char peek() const { return at_ > 0 ? text_[at_ - 1] : '\0'; }
  void back() {
    if (at_ > 0) --at_;
  }
  // Over a string literal that ends just before the cursor.
  bool string() {
    if (peek() != '"') return false;
    --at_;
    while (at_ > 0 && text_[at_ - 1] != '"') --at_;
    if (at_ > 0) --at_;
    return true;
  }
  // The keyword before a list of strings: `add "A", "B", ` -> add.
  std::string_view keyword_before_strings() {
    for (;;) {
      skip_space();
      if (peek() == ',') {
        back();
        skip_space();
        if (!string()) return {};
        continue;
      }
      if (peek() == '[') {
        back();
        skip_space();
      }
      return word();
    }
  }

 private:
  std::string_view text_;
  std::size_t at_;
};

// Where a string literal the cursor is in starts (its opening quote), if it is in one.
std::optional<std::size_t> open_string(std::string_view line) {
  std::optional<std::size_t> open;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (open) {
      if (c == '\\') ++i;
      else if (c == '"') open.reset();
    } else if (c == '"') {
      open = i;
    } else if (c == '#') {
      return std::nullopt;  // a comment
    }
  }
  return open;
}

bool in_comment(std::string_view line) {
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (in_string && line[i] == '\\') ++i;
    else if (line[i] == '"') in_string = !in_string;
    else if (line[i] == '#' && !in_string) return true;
  }
  return false;
}

CompletionItem item(std::string label, CompletionKind kind, std::string detail,
                    std::string documentation = {}) {
  CompletionItem c;
  c.label = std::move(label);
  c.kind = kind;
  c.detail = std::move(detail);
  c.documentation = std::move(documentation);
  return c;
}

std::string duration_detail(std::uint64_t amount, const DurationUnit& u) {
  return fmt::format("{} {}{}", amount, u.word, amount == 1 ? "" : "s");
}

void add_durations(std::vector<CompletionItem>& out, std::string_view digits) {
  if (!digits.empty() && digits.size() < 10 &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t amount = std::stoull(std::string(digits));
    for (const DurationUnit& u : duration_units()) {
      out.push_back(item(fmt::format("{}{}", digits, u.name), CompletionKind::unit,
                         duration_detail(amount, u)));
    }
    return;
  }
  for (std::string_view d : {"1d", "7d", "14d", "30d", "60d", "90d", "180d", "365d", "2w", "12h"}) {
    std::uint64_t amount = std::stoull(std::string(d.substr(0, d.size() - 1)));
    for (const DurationUnit& u : duration_units()) {
      if (u.name == d.substr(d.size() - 1))
        out.push_back(item(std::string(d), CompletionKind::unit, duration_detail(amount, u)));
    }
  }
}

std::vector<std::string> tags_of(const Program* p) {
  std::set<std::string> tags;
  if (p) {
    for (const Occurrence& o : p->occurrences) {
      if (o.what == What::tag && !o.text.empty()) tags.insert(o.text);
    }
  }
  return {tags.begin(), tags.end()};
}

bool in_test(const Program* p, FileId file, std::size_t offset) {
  if (!p) return false;
  for (const ast::Test* t : p->unit.all<ast::Test>()) {
    std::size_t end = t->end.valid() ? t->end.offset : SIZE_MAX;
    if (t->span.file == file && offset > t->span.offset && offset <= end) return true;
  }
  return false;
}

}  // namespace

std::vector<CompletionItem> complete(const Program* p, FileId file, std::string_view text,
                                     std::size_t offset, const LineIndex& lines) {
  offset = std::min(offset, text.size());
  std::size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  line_start = (line_start == std::string_view::npos || offset == 0) ? 0 : line_start + 1;
  if (offset > 0 && text[offset - 1] == '\n') line_start = offset;
  std::string_view line = text.substr(line_start, offset - line_start);
  std::vector<CompletionItem> out;
  if (in_comment(line)) return out;

  if (std::optional<std::size_t> quote = open_string(line)) {
    std::size_t open = line_start + *quote;
    Range replace{lines.position(open + 1), lines.position(offset)};
    std::string_view keyword = Backwards(text, open).keyword_before_strings();
    auto push = [&](std::string label, CompletionKind kind, std::string detail) {
      CompletionItem c = item(std::move(label), kind, std::move(detail));
      c.replace = replace;
      out.push_back(std::move(c));
    };
    static const std::set<std::string_view> kTagWords = {
        "add", "remove", "tagged", "tag_added", "tag_removed", "has", "lacks", "tags", "exclusive"};
    if (kTagWords.count(keyword)) {
      for (const std::string& tag : tags_of(p)) push(tag, CompletionKind::tag, "tag");
    } else if (keyword == "import") {
      for (const RulePack& pack : rule_packs())
        push(std::string(pack.name), CompletionKind::keyword, "standard rule pack");
    } else if (keyword == "event" && p) {
      std::set<std::string> names;
      for (const Occurrence& o : p->occurrences) {
        if (o.what == What::custom_event && !o.text.empty()) names.insert(o.text);
      }
      for (const std::string& n : names) push(n, CompletionKind::keyword, "custom event");
    }
    return out;
  }

  // The word being typed and the one before it, on this line.
  Backwards back(line, line.size());
  std::string_view prefix = back.word();
  back.skip_space();
  if (back.peek() == '.') return out;  // event.FIELD, partner.FIELD: fields are the events' own
  std::string_view previous = back.word();

  if (previous == "on") {
    for (const TriggerInfo& t : triggers())
      out.push_back(item(std::string(t.name), CompletionKind::trigger, std::string(t.summary),
                         std::string(t.detail)));
    return out;
  }
  if (previous == "milestone") {
    for (const GuardNameInfo& m : metric_infos())
      out.push_back(item(std::string(m.name), CompletionKind::metric, std::string(m.summary)));
    return out;
  }
  if (previous == "inactive" || previous == "anniversary" || previous == "no_referral" ||
      previous == "for") {
    add_durations(out, prefix);
    return out;
  }
  if (!prefix.empty() && prefix.front() >= '0' && prefix.front() <= '9') {
    add_durations(out, prefix);
    return out;
  }

  bool line_head = line.find_first_not_of(" \t") == line.size() - prefix.size() ||
                   line.find_first_not_of(" \t") == std::string_view::npos;
  if (in_test(p, file, offset)) {
    for (std::string_view k : {"at", "expect", "tick", "has", "lacks", "tags", "records", "by",
                               "rejected", "no"})
      out.push_back(item(std::string(k), CompletionKind::keyword, "test step"));
    for (const EventTypeInfo& e : event_types())
      out.push_back(item(std::string(e.name), CompletionKind::keyword, "event type"));
  } else {
    for (std::string_view k : {"rule", "on", "when", "add", "remove", "emit", "for", "let",
                               "exclusive", "import", "test"})
      out.push_back(item(std::string(k), CompletionKind::keyword, "keyword"));
  }
  for (std::string_view k : {"and", "or", "not", "in", "tagged", "true", "false", "event", "partner"})
    out.push_back(item(std::string(k), CompletionKind::keyword, "in a guard"));
  for (const GuardNameInfo& m : metric_infos())
    out.push_back(item(std::string(m.name), CompletionKind::metric, std::string(m.summary)));
  for (const GuardNameInfo& b : guard_builtin_infos())
    out.push_back(item(std::string(b.name), CompletionKind::metric, std::string(b.summary)));
  if (p) {
    for (const ast::Let* let : p->unit.all<ast::Let>()) {
      out.push_back(item(let->name.value, CompletionKind::constant,
                         fmt::format("let {} = {}", let->name.value, format_expr(let->value))));
    }
  }
  if (line_head && !in_test(p, file, offset)) {
    CompletionItem rule = item("rule block", CompletionKind::snippet, "a named rule");
    rule.insert_text = "rule \"${1:name}\"\non ${2:join} add \"${3:Tag}\"";
    rule.snippet = true;
    out.push_back(std::move(rule));
    CompletionItem test = item("test block", CompletionKind::snippet, "a test block");
    test.insert_text =
        "test \"${1:name}\" {\n  at ${2:2026-01-01} join \"${3:p1}\"\n  expect \"${3:p1}\" has "
        "\"${4:Tag}\"\n}";
    test.snippet = true;
    out.push_back(std::move(test));
  }
  return out;
}

}  // namespace ptag::lsp
