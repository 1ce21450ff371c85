// Hover, definition, references, symbols, code actions and formatting.
#include <fmt/format.h>
#include <algorithm>
#include <set>

#include "ptag/catalogue.hpp"
#include "ptag/format.hpp"
#include "ptag/parser.hpp"
#include "ptag/text.hpp"
#include "state.hpp"

namespace ptag::lsp {
namespace {

// `'Top performers' (tiers.ptag:3)`, or `tiers.ptag:9` for an unnamed rule.
std::string rule_label(const Program& p, const ast::Rule& rule) {
  std::string name = p.unit.rule_name(rule);
  if (!rule.name) return "`" + name + "`";
  return fmt::format("`{}` ({})", name, p.place(rule.span));
}

std::string join_labels(const Program& p, const std::vector<const ast::Rule*>& rules) {
  std::string out;
  std::set<const ast::Rule*> seen;
  for (const ast::Rule* r : rules) {
    if (!seen.insert(r).second) continue;
    out += (out.empty() ? "" : ", ") + rule_label(p, *r);
  }
  return out;
}

const ast::Exclusive* group_of(const Unit& unit, std::string_view tag) {
  for (const ast::Exclusive* g : unit.all<ast::Exclusive>()) {
    for (const ast::Text& t : g->tags) {
      if (t.value == tag) return g;
    }
  }
  return nullptr;
}

std::string group_text(const ast::Exclusive& g) {
  std::string out = "exclusive ";
  for (std::size_t i = 0; i < g.tags.size(); ++i) out += (i ? ", " : "") + ptag_quote(g.tags[i].value);
  return out;
}

std::string duration_words(const ast::Duration& d) {
  for (const DurationUnit& u : duration_units()) {
    if (u.name != d.unit) continue;
    std::string words = fmt::format("{} {}{}", d.amount, u.word, d.amount == 1 ? "" : "s");
    if (u.seconds == 1) return words;
    return fmt::format("{} ({} seconds)", words, d.amount * static_cast<std::uint64_t>(u.seconds));
  }
  return fmt::format("'{}' is not a duration unit: units are s, m (minutes), h, d and w", d.unit);
}

std::string trigger_form(const TriggerInfo& t) {
  switch (t.shape) {
    case TriggerShape::bare:
      return "on " + std::string(t.name);
    case TriggerShape::duration:
      return fmt::format("on {} D", t.name);
    case TriggerShape::text:
      return fmt::format("on {} \"{}\"", t.name, t.name == "event" ? "NAME" : "T");
    case TriggerShape::milestone:
      return "on milestone METRIC >= N";
  }
  return {};
}

std::string code_block(std::string_view text) {
  return "```ptag\n" + std::string(text) + (text.ends_with('\n') ? "" : "\n") + "```";
}

std::string tag_hover(const Program& p, const std::string& tag) {
  std::vector<const ast::Rule*> adders, removers, watchers;
  for (const Occurrence& o : p.occurrences) {
    if (o.what != What::tag || o.text != tag || !o.rule) continue;
    if (o.use == TagUse::added) adders.push_back(o.rule);
    if (o.use == TagUse::removed) removers.push_back(o.rule);
    if (o.use == TagUse::watched_added || o.use == TagUse::watched_removed) watchers.push_back(o.rule);
  }
  std::string out = fmt::format("**tag {}**\n\n", ptag_quote(tag));
  out += adders.empty() ? "No rule adds it.\n\n" : "Added by " + join_labels(p, adders) + ".\n\n";
  if (!removers.empty()) out += "Removed by " + join_labels(p, removers) + ".\n\n";
  if (const ast::Exclusive* g = group_of(p.unit, tag)) {
    out += fmt::format("In an exclusive group: adding another of its tags removes it.\n\n{}\n\n",
                       code_block(group_text(*g)));
  }
  if (!watchers.empty()) out += "Watched by " + join_labels(p, watchers) + ".\n\n";
  while (out.ends_with('\n')) out.pop_back();
  return out;
}

std::string rule_hover(const Program& p, const ast::Rule& rule) {
  std::string out = fmt::format("**rule {}** ({})\n\n{}", ptag_quote(p.unit.rule_name(rule)),
                                p.place(rule.span), code_block(trigger_text(rule)));
  if (const TriggerInfo* t = find_trigger(rule.trigger.name.value)) {
    out += fmt::format("\n\nFires {}.", t->summary);
  }
  std::vector<std::string> does;
  std::set<std::string> changed_added, changed_removed;
  for (const ast::Action& a : rule.actions) {
    std::string tags;
    for (const ast::Text& t : a.tags) {
      tags += (tags.empty() ? "" : ", ") + ptag_quote(t.value);
      (a.kind == ast::ActionKind::add ? changed_added : changed_removed).insert(t.value);
    }
    const char* verb = a.kind == ast::ActionKind::add      ? "adds"
                       : a.kind == ast::ActionKind::remove ? "removes"
                                                           : "emits";
    std::string expiry = a.expires ? fmt::format(" for {}", duration_words(*a.expires)) : "";
    does.push_back(fmt::format("{} {}{}", verb, tags, expiry));
  }
  if (!does.empty()) {
    std::string line;
    for (const std::string& d : does) line += (line.empty() ? "" : "; ") + d;
    line[0] = static_cast<char>(line[0] - 'a' + 'A');
    out += "\n\n" + line + ".";
  }
  std::vector<const ast::Rule*> next;
  for (const ast::Rule* other : p.unit.all<ast::Rule>()) {
    const ast::Trigger& t = other->trigger;
    if (!t.text) continue;
    if ((t.name.value == "tag_added" && changed_added.count(t.text->value)) ||
        (t.name.value == "tag_removed" && changed_removed.count(t.text->value)))
      next.push_back(other);
  }
  if (!next.empty()) out += "\n\nIts changes trigger " + join_labels(p, next) + ".";
  return out;
}

const ast::Let* find_let(const Unit& unit, std::string_view name) {
  for (const ast::Let* let : unit.all<ast::Let>()) {
    if (let->name.value == name) return let;
  }
  return nullptr;
}

std::optional<std::string> hover_text(const Program& p, const Occurrence& o) {
  switch (o.what) {
    case What::trigger: {
      const TriggerInfo* t = find_trigger(o.text);
      if (!t) return fmt::format("`{}` is not a trigger.", o.text);
      return fmt::format("{}\n\nFires {}. {}", code_block(trigger_form(*t)), t->summary, t->detail);
    }
    case What::metric:
    case What::builtin: {
      const GuardNameInfo* info = find_guard_name(o.text);
      if (!info) return std::nullopt;
      return fmt::format("**{}** ({}): {}.", o.text, o.what == What::metric ? "metric" : "built-in",
                         info->summary);
    }
    case What::duration:
      return fmt::format("**{}**: {}", o.text, duration_words(*o.duration));
    case What::constant_decl:
    case What::constant_use: {
      const ast::Let* let = find_let(p.unit, o.text);
      if (!let) return fmt::format("`{}` is not a declared constant.", o.text);
      return fmt::format("{}\n\nA constant, declared at {}.",
                         code_block(fmt::format("let {} = {}", let->name.value, format_expr(let->value))),
                         p.place(let->name.span));
    }
    case What::tag:
      return tag_hover(p, o.text);
    case What::rule_decl:
    case What::rule_ref: {
      auto it = p.rules_by_name.find(o.text);
      if (it == p.rules_by_name.end()) return fmt::format("There is no rule named {}.", ptag_quote(o.text));
      return rule_hover(p, *it->second);
    }
    case What::notification:
      return fmt::format("**notification {}**: `emit` sends it to the sinks, with the partner and "
                         "the rule.", ptag_quote(o.text));
    case What::custom_event:
      return fmt::format("**custom event {}**: an event whose `type` is exactly {} (compared byte "
                         "for byte).", ptag_quote(o.text), ptag_quote(o.text));
    case What::event_field:
      return fmt::format("**event.{}**: the `{}` field of the current event's `data`. Missing or of "
                         "another kind, it makes the guard false.", o.text, o.text);
    case What::partner_field:
      return fmt::format("**partner.{}**: the partner's attribute `{}`, from the `data` of its join "
                         "and update events. Missing, it makes the guard false.", o.text, o.text);
    case What::currency:
      return fmt::format("**currency {}**: the program's currency. A sale, refund or commission whose "
                         "`data.currency` names another (compared without case) is a bad line, and its id is "
                         "not kept: convert the amount and send it again. Events without `data.currency` are in "
                         "this one.", ptag_quote(o.text));
    case What::timezone:
      return fmt::format("**timezone {}**: the program's calendar. Days run from local midnight to local "
                         "midnight in this zone (23 or 25 hours across a daylight-saving change), weeks from "
                         "Monday, quarters from January, April, July and October; windowed metrics count by "
                         "these days. Event and record times, timers and `days_since_*` stay UTC and elapsed "
                         "time.", ptag_quote(o.text));
    case What::import: {
      if (o.target == kNoFile) return fmt::format("{} was not found.", ptag_quote(o.text));
      const SourceFile& f = p.unit.sources.file(o.target);
      if (p.uris.at(o.target).empty()) {
        return fmt::format("**rule pack {}**\n\n{}", ptag_quote(o.text), code_block(f.text));
      }
      std::size_t rules = 0;
      for (const ast::Module& m : p.unit.modules) {
        if (m.file != o.target) continue;
        for (const ast::Item& item : m.items) rules += std::holds_alternative<ast::Rule>(item);
      }
      return fmt::format("Imports `{}`: {} rule{}.", f.name, rules, rules == 1 ? "" : "s");
    }
  }
  return std::nullopt;
}

// The tag spans of the rules that add `tag` (or remove it, through a group too).
std::vector<Span> tag_sources(const Program& p, const std::string& tag, bool removers) {
  std::vector<Span> out;
  const ast::Exclusive* group = removers ? group_of(p.unit, tag) : nullptr;
  for (const Occurrence& o : p.occurrences) {
    if (o.what != What::tag || !o.rule) continue;
    bool match = o.text == tag && o.use == (removers ? TagUse::removed : TagUse::added);
    if (group && o.use == TagUse::added && o.text != tag) {
      for (const ast::Text& t : group->tags) match = match || t.value == o.text;
    }
    if (match) out.push_back(o.span);
  }
  return out;
}

Span rule_name_span(const ast::Rule& rule) {
  return rule.name ? rule.name->span : rule.span;
}

// Start and end of a rule: from `rule` (or `on`) to its last action.
std::pair<std::size_t, std::size_t> rule_extent(const Unit& unit, const ast::Rule& r) {
  std::size_t begin = r.span.offset, end = r.span.offset + r.span.length;
  auto cover = [&](const Span& s) {
    if (!s.valid()) return;
    begin = std::min<std::size_t>(begin, s.offset);
    end = std::max<std::size_t>(end, s.offset + s.length);
  };
  if (r.name) {
    cover(r.name->span);
    std::string_view text = unit.sources.file(r.span.file).text;
    std::size_t keyword = text.rfind("rule", begin);
    if (keyword != std::string_view::npos) begin = keyword;
  }
  cover(r.trigger.name.span);
  if (r.trigger.duration) cover(r.trigger.duration->span);
  if (r.trigger.text) cover(r.trigger.text->span);
  if (r.trigger.metric) cover(r.trigger.metric->span);
  if (r.trigger.threshold) cover(r.trigger.threshold->span);
  if (r.guard) cover(r.guard->span);
  for (const ast::Action& a : r.actions) {
    cover(a.span);
    for (const ast::Text& t : a.tags) cover(t.span);
    if (a.expires) cover(a.expires->span);
  }
  return {begin, end};
}

}  // namespace

std::optional<Hover> Workspace::hover(const std::string& uri, Position pos) const {
  auto [p, file] = state_->find(uri);
  if (!p) return std::nullopt;
  const Occurrence* o = occurrence_at(*p, file, p->offset_in(file, pos));
  if (!o) return std::nullopt;
  std::optional<std::string> text = hover_text(*p, *o);
  if (!text) return std::nullopt;
  return Hover{*text, p->location(o->span).range};
}

std::vector<Location> Workspace::definition(const std::string& uri, Position pos) const {
  auto [p, file] = state_->find(uri);
  if (!p) return {};
  const Occurrence* o = occurrence_at(*p, file, p->offset_in(file, pos));
  if (!o) return {};
  std::vector<Span> spans;
  switch (o->what) {
    case What::constant_decl:
    case What::constant_use:
      if (const ast::Let* let = find_let(p->unit, o->text)) spans.push_back(let->name.span);
      break;
    case What::tag:
      spans = tag_sources(*p, o->text, o->use == TagUse::watched_removed);
      break;
    case What::rule_decl:
    case What::rule_ref:
      if (auto it = p->rules_by_name.find(o->text); it != p->rules_by_name.end())
        spans.push_back(rule_name_span(*it->second));
      break;
    case What::custom_event:
      for (const Occurrence& other : p->occurrences) {
        if (other.what == What::custom_event && other.text == o->text && other.rule)
          spans.push_back(other.span);
      }
      break;
    case What::import:
      if (o->target != kNoFile && !p->uris.at(o->target).empty())
        return {Location{p->uris.at(o->target), {}}};
      break;
    default:
      break;
  }
  std::vector<Location> out;
  for (const Span& s : spans) {
    Location l = p->location(s);
    if (!l.uri.empty()) out.push_back(l);
  }
  return out;
}

std::vector<Location> Workspace::references(const std::string& uri, Position pos,
                                            bool include_declaration) const {
  auto [p, file] = state_->find(uri);
  if (!p) return {};
  const Occurrence* o = occurrence_at(*p, file, p->offset_in(file, pos));
  if (!o) return {};
  auto family = [](What w) {
    if (w == What::constant_use) return What::constant_decl;
    if (w == What::rule_ref) return What::rule_decl;
    return w;
  };
  std::vector<Location> out;
  for (const Occurrence& other : p->occurrences) {
    if (family(other.what) != family(o->what)) continue;
    bool same = o->what == What::import ? other.target == o->target && o->target != kNoFile
                                        : other.text == o->text;
    if (!same) continue;
    bool declaration = other.what == What::constant_decl || other.what == What::rule_decl;
    if (declaration && !include_declaration) continue;
    // A named rule is declared once: its name, not also its `on`.
    if (other.what == What::rule_decl && other.rule && other.rule->name &&
        other.span.offset == other.rule->span.offset)
      continue;
    Location l = p->location(other.span);
    if (!l.uri.empty()) out.push_back(l);
  }
  return out;
}

std::vector<Symbol> Workspace::symbols(const std::string& uri) const {
  auto [p, file] = state_->find(uri);
  if (!p) return {};
  const LineIndex& lines = p->lines.at(file);
  auto range = [&](const Span& s) { return lines.range(s.offset, s.length); };
  std::vector<Symbol> out;
  for (const ast::Module& m : p->unit.modules) {
    if (m.file != file) continue;
    for (const ast::Item& item : m.items) {
      Symbol s;
      if (const auto* r = std::get_if<ast::Rule>(&item)) {
        auto [begin, end] = rule_extent(p->unit, *r);
        s = {p->unit.rule_name(*r), trigger_text(*r), SymbolKind::rule,
             lines.range(begin, end - begin), range(rule_name_span(*r)), {}};
      } else if (const auto* t = std::get_if<ast::Test>(&item)) {
        std::size_t end = t->end.valid() ? t->end.offset + t->end.length : t->name.span.offset + t->name.span.length;
        s = {t->name.value, fmt::format("{} steps", t->steps.size()), SymbolKind::test,
             lines.range(t->span.offset, end - t->span.offset), range(t->name.span), {}};
      } else if (const auto* let = std::get_if<ast::Let>(&item)) {
        s = {let->name.value, format_expr(let->value), SymbolKind::constant, range(let->span),
             range(let->name.span), {}};
      } else if (const auto* g = std::get_if<ast::Exclusive>(&item)) {
        s = {group_text(*g), "", SymbolKind::group, range(g->span),
             range(g->tags.empty() ? g->span : g->tags.front().span), {}};
        for (const ast::Text& tag : g->tags)
          s.children.push_back({tag.value, "", SymbolKind::tag, range(tag.span), range(tag.span), {}});
      } else {
        continue;
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<CodeAction> Workspace::code_actions(const std::string& uri, Range want) const {
  auto [p, file] = state_->find(uri);
  if (!p) return {};
  const LineIndex& lines = p->lines.at(file);
  std::size_t from = lines.offset(want.start), to = lines.offset(want.end);
  std::string_view text = p->unit.sources.file(file).text;
  std::vector<CodeAction> out;
  for (const Diagnostic& d : p->unit.diagnostics.all()) {
    if (d.span.file != file || d.span.offset > to || d.span.offset + d.span.length < from) continue;
    for (const DiagnosticNote& n : d.notes) {
      constexpr std::string_view kPrefix = "help: did you mean '";
      if (!n.message.starts_with(kPrefix) || !n.message.ends_with("'?")) continue;
      std::string fix = n.message.substr(kPrefix.size(), n.message.size() - kPrefix.size() - 2);
      // A tag or type in quotes is replaced with its quotes: `tagged "Vip"` -> `tagged "VIP"`.
      Span at = string_in(p->unit, d.span);
      bool quoted = at.offset < text.size() && text[at.offset] == '"';
      CodeAction a;
      a.title = fmt::format("Change to '{}'", fix);
      a.uri = uri;
      a.edit = {lines.range(at.offset, at.length), quoted ? ptag_quote(fix) : fix};
      a.diagnostic = convert(*p, d, d.span);
      out.push_back(std::move(a));
    }
  }
  return out;
}

FormatResult Workspace::format(const std::string& uri) const {
  const Document* doc = state_->doc(uri);
  if (!doc) return {{}, "the document is not open"};
  SourceSet sources;
  FileId file = sources.add(doc->name, doc->text);
  ParseResult parsed = parse(sources, file);
  if (parsed.diagnostics.has_errors()) {
    const Diagnostic& d = parsed.diagnostics.all().front();
    return {{}, fmt::format("cannot format {}: a syntax error at line {}, column {}: {}", doc->name,
                            d.span.line, display_column(d.span, sources), d.message)};
  }
  std::string formatted = format_module(parsed.module, doc->text);
  if (formatted == doc->text) return {};
  LineIndex lines(doc->text);
  return {{TextEdit{lines.range(0, doc->text.size()), formatted}}, {}};
}

std::vector<CompletionItem> Workspace::completion(const std::string& uri, Position pos) const {
  const Document* doc = state_->doc(uri);
  if (!doc) return {};
  auto [p, file] = state_->find(uri);
  LineIndex lines(doc->text);
  return complete(p, file, doc->text, lines.offset(pos), lines);
}

}  // namespace ptag::lsp
