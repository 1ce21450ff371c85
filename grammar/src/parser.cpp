// The only translation unit that includes PEGTL: it runs the grammar, keeps a
// parse tree of the selected rules, and turns that tree into the AST.
#include "ptag/parser.hpp"

#include <tao/pegtl/contrib/analyze.hpp>
#include <tao/pegtl/contrib/limit_depth.hpp>
#include <tao/pegtl/contrib/parse_tree.hpp>

#include <fmt/format.h>
#include <algorithm>

#include "comments.hpp"
#include "errors.hpp"
#include "grammar.hpp"
#include "ptag/decimal.hpp"
#include "ptag/diagnostic_codes.hpp"

namespace ptag {
namespace g = grammar;
namespace pt = tao::pegtl::parse_tree;
using Node = pt::node;

namespace {

// Only the rules the AST needs become tree nodes; operator chains with a
// single operand fold away.
template <typename Rule>
using selector = pt::selector<
    Rule,
    pt::store_content::on<
        g::string_lit, g::number, g::signed_number, g::true_lit, g::false_lit, g::duration,
        g::time_lit, g::name_ref, g::metric_name, g::trigger_word, g::milestone_word, g::timer_word,
        g::text_word, g::event_field_name, g::partner_field_name, g::tagged_expr, g::event_field,
        g::partner_field, g::list_lit, g::negate, g::not_op, g::mul_op, g::add_op, g::cmp_op,
        g::in_op, g::milestone_trigger, g::timer_trigger, g::text_trigger, g::plain_trigger,
        g::add_action, g::remove_action, g::emit_action, g::guard, g::on_clause, g::named_rule,
        g::let_decl, g::exclusive_decl, g::import_decl, g::currency_decl, g::currency_word, g::timezone_decl, g::timezone_word, g::field, g::field_key,
        g::custom_event_step, g::event_type_word, g::tick_word, g::event_step, g::at_step,
        g::has_step, g::lacks_step, g::tags_step, g::metric_step, g::expect_partner, g::record,
        g::record_word, g::record_by, g::expect_records, g::expect_no_records, g::expect_rejected, g::test_block,
        g::test_close>,
    pt::fold_one::on<g::mul_expr, g::add_expr, g::cmp_expr, g::and_expr, g::or_expr>>;

// Nesting limits sit on the recursive entry points of guard expressions.
template <typename Rule>
struct depth_action : tao::pegtl::nothing<Rule> {};
template <>
struct depth_action<g::paren> : tao::pegtl::limit_depth<kMaxGuardNesting> {};
template <>
struct depth_action<g::not_op> : tao::pegtl::limit_depth<kMaxGuardNesting> {};
template <>
struct depth_action<g::negate> : tao::pegtl::limit_depth<kMaxGuardNesting> {};

class TreeReader {
 public:
  TreeReader(FileId file, Diagnostics& diagnostics) : file_(file), diagnostics_(diagnostics) {}

  ast::Expr guard(const Node& n) const { return expr(n); }

  void read_item(const Node& n, ast::Module& module) {
    if (n.is_type<g::on_clause>() || n.is_type<g::named_rule>()) {
      module.items.emplace_back(rule(n));
    } else if (n.is_type<g::let_decl>()) {
      ast::Let let;
      let.span = span(n);
      let.name = text(*n.children.at(0));
      let.value = expr(*n.children.at(1));
      module.items.emplace_back(std::move(let));
    } else if (n.is_type<g::exclusive_decl>()) {
      ast::Exclusive group;
      group.span = span(n);
      for (const auto& c : n.children) group.tags.push_back(string(*c));
      module.items.emplace_back(std::move(group));
    } else if (n.is_type<g::import_decl>()) {
      module.items.emplace_back(ast::Import{span(n), string(*n.children.at(0))});
    } else if (n.is_type<g::currency_decl>() || n.is_type<g::timezone_decl>()) {
      module.items.emplace_back(ast::Setting{span(n), text(*n.children.at(0)), string(*n.children.at(1))});
    } else if (n.is_type<g::test_block>()) {
      module.items.emplace_back(test(n));
    }
  }

 private:
  Span span(const Node& n) const {
    const auto& b = n.m_begin;
    std::size_t length = n.has_content() ? n.m_end.byte - b.byte : 0;
    return Span{file_, static_cast<std::uint32_t>(b.line), static_cast<std::uint32_t>(b.column),
                static_cast<std::uint32_t>(b.byte), static_cast<std::uint32_t>(length)};
  }

  // A span covering only the first `length` bytes of a node (a keyword).
  Span head(const Node& n, std::size_t length) const {
    Span s = span(n);
    s.length = static_cast<std::uint32_t>(length);
    return s;
  }

  ast::Text text(const Node& n) const { return {n.string(), span(n)}; }

  ast::Text string(const Node& n) const {
    std::string_view raw = n.string_view();
    std::string value;
    for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
      if (raw[i] == '\\') {
        char c = raw[++i];
        value += c == 'n' ? '\n' : c == 't' ? '\t' : c;
      } else {
        value += raw[i];
      }
    }
    return {std::move(value), span(n)};
  }

  std::int64_t decimal(const Node& n) const {
    std::optional<std::int64_t> value = parse_decimal(n.string_view());
    if (!value) {
      diagnostics_
          .error(codes::kNumberRange, span(n),
                 fmt::format("number {} is out of range", n.string_view()))
          .help("numbers have six decimal places and must lie within ±9223372036854.775807");
      return 0;
    }
    return *value;
  }

  ast::Duration duration(const Node& n) const {
    ast::Duration d;
    d.span = span(n);
    std::string_view raw = n.string_view();
    std::size_t digits = raw.find_first_not_of("0123456789");
    d.unit = std::string(raw.substr(digits));
    for (char c : raw.substr(0, digits)) {
      if (d.amount > (UINT64_MAX - 9) / 10) {
        d.amount = UINT64_MAX;  // the checks report it as too long
        break;
      }
      d.amount = d.amount * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return d;
  }

  static ast::ExprKind comparison(std::string_view op) {
    using K = ast::ExprKind;
    if (op == "==") return K::eq;
    if (op == "!=") return K::ne;
    if (op == "<") return K::lt;
    if (op == "<=") return K::le;
    if (op == ">") return K::gt;
    return K::ge;
  }

  ast::Expr leaf(const Node& n, ast::ExprKind kind) const {
    ast::Expr e;
    e.kind = kind;
    e.span = span(n);
    return e;
  }

  ast::Expr expr(const Node& n) const {
    using K = ast::ExprKind;
    if (n.is_type<g::number>() || n.is_type<g::signed_number>()) {
      ast::Expr e = leaf(n, K::number);
      e.number = decimal(n);
      e.text = n.string();
      return e;
    }
    if (n.is_type<g::string_lit>()) {
      ast::Expr e = leaf(n, K::string);
      e.text = string(n).value;
      return e;
    }
    if (n.is_type<g::true_lit>() || n.is_type<g::false_lit>()) {
      ast::Expr e = leaf(n, K::boolean);
      e.number = n.is_type<g::true_lit>() ? 1 : 0;
      return e;
    }
    if (n.is_type<g::name_ref>() || n.is_type<g::event_field>() || n.is_type<g::partner_field>() ||
        n.is_type<g::tagged_expr>()) {
      K kind = n.is_type<g::name_ref>()        ? K::name
               : n.is_type<g::event_field>()   ? K::event_field
               : n.is_type<g::partner_field>() ? K::partner_field
                                               : K::tagged;
      ast::Expr e = leaf(n, kind);
      e.text = kind == K::name     ? n.string()
               : kind == K::tagged ? string(*n.children.at(0)).value
                                   : n.children.at(0)->string();
      return e;
    }
    if (n.is_type<g::list_lit>() || n.is_type<g::negate>() || n.is_type<g::not_op>()) {
      ast::Expr e = leaf(n, n.is_type<g::list_lit>() ? K::list
                            : n.is_type<g::negate>() ? K::negate
                                                     : K::not_);
      for (const auto& c : n.children) e.args.push_back(expr(*c));
      return e;
    }
    // A chain: operand (operator operand)*, folded to the left.
    bool logical = n.is_type<g::and_expr>() || n.is_type<g::or_expr>();
    ast::Expr left = expr(*n.children.at(0));
    for (std::size_t i = 1; i < n.children.size(); i += logical ? 1 : 2) {
      ast::Expr e = leaf(n, K::and_);
      if (logical) {
        e.kind = n.is_type<g::and_expr>() ? K::and_ : K::or_;
      } else {
        const Node& op = *n.children.at(i);
        std::string_view sym = op.string_view();
        e.kind = op.is_type<g::in_op>()    ? K::in
                 : op.is_type<g::cmp_op>() ? comparison(sym)
                 : sym == "+"              ? K::add
                 : sym == "-"              ? K::sub
                 : sym == "*"              ? K::mul
                                           : K::div;
      }
      const Node& right = *n.children.at(logical ? i : i + 1);
      e.span.length = static_cast<std::uint32_t>(right.m_end.byte - n.m_begin.byte);
      e.args.push_back(std::move(left));
      e.args.push_back(expr(right));
      left = std::move(e);
    }
    return left;
  }

  ast::Trigger trigger(const Node& n) const {
    ast::Trigger t;
    t.name = text(*n.children.at(0));
    for (std::size_t i = 1; i < n.children.size(); ++i) {
      const Node& c = *n.children[i];
      if (c.is_type<g::duration>()) {
        t.duration = duration(c);
      } else if (c.is_type<g::string_lit>()) {
        t.text = string(c);
      } else if (c.is_type<g::metric_name>()) {
        t.metric = text(c);
      } else {
        t.threshold = expr(c);
      }
    }
    return t;
  }

  ast::Action action(const Node& n) const {
    ast::Action a;
    a.kind = n.is_type<g::add_action>()      ? ast::ActionKind::add
             : n.is_type<g::remove_action>() ? ast::ActionKind::remove
                                             : ast::ActionKind::emit;
    a.span = head(n, a.kind == ast::ActionKind::remove ? 6 : 3);
    for (const auto& c : n.children) {
      if (c->is_type<g::duration>()) {
        a.expires = duration(*c);
      } else {
        a.tags.push_back(string(*c));
      }
    }
    return a;
  }

  ast::Rule rule(const Node& n) const {
    ast::Rule r;
    const Node* on = &n;
    if (n.is_type<g::named_rule>()) {
      r.name = string(*n.children.at(0));
      on = n.children.at(1).get();
    }
    r.span = head(*on, 2);
    r.trigger = trigger(*on->children.at(0));
    for (std::size_t i = 1; i < on->children.size(); ++i) {
      const Node& c = *on->children[i];
      if (c.is_type<g::guard>()) {
        r.guard = expr(*c.children.at(0));
      } else {
        r.actions.push_back(action(c));
      }
    }
    return r;
  }

  ast::Test test(const Node& n) const {
    ast::Test t;
    t.span = head(n, 4);
    t.name = string(*n.children.at(0));
    for (std::size_t i = 1; i < n.children.size(); ++i) {
      const Node& c = *n.children[i];
      if (c.is_type<g::test_close>()) {
        t.end = span(c);
      } else {
        t.steps.push_back(step(c));
      }
    }
    return t;
  }

  // A test step's time that parse_time refused. The grammar also takes a
  // time of day after a space, without seconds, without a zone or with an
  // offset like +0200: when that is all that is wrong, say so and show the
  // time as it should be written.
  void bad_time(std::string_view text, Span where) const {
    std::string_view date = text.substr(0, 10), rest = text.substr(date.size());
    bool spaced = !rest.empty() && rest.front() == ' ';
    rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" Tt")));
    std::string_view clock = rest.substr(0, rest.find_first_of("Zz+-"));
    std::string_view zone = rest.substr(clock.size());
    bool seconds = clock.size() >= 8;  // hh:mm:ss
    std::string fixed = fmt::format("{}T{}{}", date, clock, seconds ? "" : ":00");
    std::string fixed_zone(zone);
    if (zone.size() == 3) fixed_zone += ":00";                          // +02
    if (zone.size() == 5) fixed_zone.insert(3, ":");                    // +0200
    bool offset_form = zone.size() > 1 && fixed_zone != zone;
    bool fixable = !clock.empty() && (spaced || zone.empty() || !seconds || offset_form) &&
                   parse_time(fixed + (zone.empty() ? "Z" : fixed_zone));
    std::string problem = spaced ? "a time of day is joined to its date with 'T', not a space"
                          : !seconds ? "a time of day needs seconds"
                                     : "an offset is written +hh:mm or -hh:mm";
    if (!fixable) {
      diagnostics_.error(codes::kBadTime, where, fmt::format("'{}' is not a valid time", text))
          .help("write a date such as 2026-01-31 or a time such as 2026-01-31T10:15:00Z");
    } else if (zone.empty()) {
      auto& d = diagnostics_.error(
          codes::kBadTime, where, fmt::format("a time of day needs a zone: '{}' has none", text));
      d.help(fmt::format("write {}Z (UTC), or an offset such as {}+02:00", fixed, fixed));
      if (spaced || !seconds) d.help(problem);
    } else {
      diagnostics_
          .error(codes::kBadTime, where, fmt::format("'{}' is not a valid time: {}", text, problem))
          .help(fmt::format("write {}{}", fixed, fixed_zone));
    }
  }

  ast::Step step(const Node& n) const {
    ast::Step s;
    s.span = span(n);
    s.span.length = static_cast<std::uint32_t>(n.m_end.byte - n.m_begin.byte);
    if (n.is_type<g::at_step>()) {
      const Node& when = *n.children.at(0);
      s.time_span = span(when);
      std::string_view written = when.string_view();
      auto t = written.find(' ') == std::string_view::npos ? parse_time(written, true)
                                                           : std::nullopt;  // §8: 'T' only
      if (t) {
        s.time = *t;
      } else {
        bad_time(written, s.time_span);
      }
      const Node& what = *n.children.at(1);
      if (what.is_type<g::tick_word>()) {
        s.kind = ast::StepKind::tick;
        return s;
      }
      s.kind = ast::StepKind::event;
      const Node& type = *what.children.at(0);
      if (type.is_type<g::custom_event_step>()) {
        s.custom_event = true;
        s.event_type = string(*type.children.at(0));
      } else {
        s.event_type = text(type);
      }
      s.partner = string(*what.children.at(1));
      for (std::size_t i = 2; i < what.children.size(); ++i) {
        const Node& f = *what.children[i];
        s.fields.push_back({text(*f.children.at(0)), expr(*f.children.at(1))});
      }
      return s;
    }
    if (n.is_type<g::expect_no_records>()) {
      s.kind = ast::StepKind::expect_no_records;
      return s;
    }
    if (n.is_type<g::expect_rejected>()) {
      s.kind = ast::StepKind::expect_rejected;
      s.reason = string(*n.children.at(0));
      return s;
    }
    if (n.is_type<g::expect_records>()) {
      s.kind = ast::StepKind::expect_records;
      for (const auto& r : n.children) {
        ast::RecordPattern p;
        std::string_view word = r->children.at(0)->string_view();
        p.action = word == "add"      ? ast::ActionKind::add
                   : word == "remove" ? ast::ActionKind::remove
                                      : ast::ActionKind::emit;
        p.tag = string(*r->children.at(1));
        if (r->children.size() > 2) p.rule = string(*r->children[2]->children.at(0));
        s.records.push_back(std::move(p));
      }
      return s;
    }
    // expect "partner" ...
    s.partner = string(*n.children.at(0));
    const Node& what = *n.children.at(1);
    if (what.is_type<g::metric_step>()) {
      s.kind = ast::StepKind::expect_metric;
      s.metric = text(*what.children.at(0));
      s.comparison = comparison(what.children.at(1)->string_view());
      s.value = expr(*what.children.at(2));
      return s;
    }
    s.kind = what.is_type<g::has_step>()     ? ast::StepKind::expect_has
             : what.is_type<g::lacks_step>() ? ast::StepKind::expect_lacks
                                             : ast::StepKind::expect_tags;
    for (const auto& c : what.children) s.tags.push_back(string(*c));
    return s;
  }

  FileId file_;
  Diagnostics& diagnostics_;
};

bool starts_item(std::string_view text, std::size_t line) {
  static constexpr std::string_view kStarts[] = {"on",        "rule",   "let",
                                                 "exclusive", "import", "test"};
  std::size_t word = text.find_first_not_of(" \t\r", line);
  if (word == std::string_view::npos) return false;
  std::size_t end = text.find_first_of(" \t\r\n", word);
  std::string_view first = text.substr(word, end == std::string_view::npos ? end : end - word);
  return std::find(std::begin(kStarts), std::end(kStarts), first) != std::end(kStarts);
}

// Where to resume after a syntax error: the first line after the item's
// start, from the error's own line on, that starts a rule or a declaration.
std::size_t resume_offset(std::string_view text, std::size_t item_start, std::size_t error) {
  std::size_t line = text.rfind('\n', error == 0 ? 0 : error - 1);
  line = (line == std::string_view::npos || error == 0) ? 0 : line + 1;
  if (line <= item_start) {
    line = text.find('\n', error);
    if (line == std::string_view::npos) return text.size();
    ++line;
  }
  while (line < text.size()) {
    if (starts_item(text, line)) return line;
    std::size_t next = text.find('\n', line);
    if (next == std::string_view::npos) break;
    line = next + 1;
  }
  return text.size();
}

// PEGTL's own message for the nesting limit, in the user's words.
std::string human_message(std::string message) {
  if (message == "maximum parser rule nesting depth exceeded") {
    return fmt::format("the condition is nested too deeply (more than {} levels)",
                       kMaxGuardNesting);
  }
  return message;
}

// The first token at or after `offset`: past white space and comments.
std::size_t skip_layout(std::string_view text, std::size_t offset) {
  while (offset < text.size()) {
    char c = text[offset];
    if (c == '#') {
      offset = text.find('\n', offset);
      if (offset == std::string_view::npos) return text.size();
    } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      break;
    }
    ++offset;
  }
  return offset;
}

// A missing token ("expected X after Y") at the start of a line is reported
// right after the last token before it, where the user left it out. Only a
// stray word at the top level is reported where it stands.
std::size_t caret_offset(std::string_view text, std::size_t error, bool stray_word) {
  std::size_t at = std::min(error, text.size());
  if (stray_word && at < text.size()) return at;
  std::size_t back = at;
  bool crossed_line = false;
  while (back > 0 && std::string_view(" \t\r\n").find(text[back - 1]) != std::string_view::npos) {
    crossed_line = crossed_line || text[back - 1] == '\n';
    --back;
  }
  if (!crossed_line || back == 0) return at;
  // Skip back over a comment ending that line.
  std::size_t line = text.rfind('\n', back - 1);
  line = line == std::string_view::npos ? 0 : line + 1;
  std::size_t hash = text.find('#', line);
  if (hash != std::string_view::npos && hash < back && text.find('"', line) > hash) {
    back = hash;
    while (back > line && (text[back - 1] == ' ' || text[back - 1] == '\t')) --back;
  }
  return back;
}

Span span_at(std::string_view text, FileId file, std::size_t offset) {
  std::size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  line_start = (line_start == std::string_view::npos || offset == 0) ? 0 : line_start + 1;
  auto line =
      1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
  bool at_end = offset >= text.size() || text[offset] == '\n' || text[offset] == '\r';
  return Span{file, static_cast<std::uint32_t>(line),
              static_cast<std::uint32_t>(offset - line_start + 1),
              static_cast<std::uint32_t>(offset), at_end ? 0u : 1u};
}

}  // namespace

ParseResult parse(const SourceSet& sources, FileId file) {
  ParseResult result;
  result.module.file = file;
  const SourceFile& source = sources.file(file);
  std::string_view text = source.text;
  TreeReader reader(file, result.diagnostics);

  std::size_t offset = 0, line = 1, column = 1;
  while (offset <= text.size()) {
    tao::pegtl::memory_input in(text.data() + offset, text.data() + text.size(), source.name,
                                offset, line, column);
    try {
      auto root = pt::parse<g::next_item, Node, selector, depth_action, g::control>(in);
      if (!root || root->children.empty()) break;  // only white space and comments were left
      reader.read_item(*root->children.front(), result.module);
      auto pos = in.position();
      offset = pos.byte;
      line = pos.line;
      column = pos.column;
    } catch (const tao::pegtl::parse_error& e) {
      const auto& pos = e.positions().front();
      std::string message(e.message());
      message = human_message(message);
      bool stray_word = message == g::error_message<g::expected_item>;
      result.diagnostics.error(codes::kSyntax,
                               span_at(text, file, caret_offset(text, pos.byte, stray_word)),
                               std::move(message));
      offset = resume_offset(text, skip_layout(text, offset), pos.byte);
      if (offset >= text.size()) break;
      line = 1 + static_cast<std::size_t>(std::count(
                     text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
      column = 1;
    }
  }
  if (!result.diagnostics.has_errors()) result.module.comments = find_comments(text, file);
  return result;
}

GuardParse parse_guard(const SourceSet& sources, FileId file) {
  GuardParse result;
  const SourceFile& source = sources.file(file);
  std::string_view text = source.text;
  tao::pegtl::memory_input in(text.data(), text.data() + text.size(), source.name);
  try {
    auto root = pt::parse<g::segment, Node, selector, depth_action, g::control>(in);
    if (root && !root->children.empty()) {
      TreeReader reader(file, result.diagnostics);
      result.guard = reader.guard(*root->children.front());
    }
  } catch (const tao::pegtl::parse_error& e) {
    const auto& pos = e.positions().front();
    result.diagnostics.error(codes::kSyntax,
                             span_at(text, file, std::min<std::size_t>(pos.byte, text.size())),
                             human_message(std::string(e.message())));
  }
  return result;
}

std::size_t analyze_grammar(bool verbose) {
  return tao::pegtl::analyze<g::file>(verbose ? 1 : 0);
}

}  // namespace ptag
