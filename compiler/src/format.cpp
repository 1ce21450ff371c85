#include "ptag/format.hpp"

#include <fmt/format.h>
#include <algorithm>

#include "ptag/text.hpp"

namespace ptag {
namespace {

using ast::ExprKind;

int precedence(ExprKind k) {
  switch (k) {
    case ExprKind::or_:
      return 1;
    case ExprKind::and_:
      return 2;
    case ExprKind::not_:
      return 3;
    case ExprKind::eq:
    case ExprKind::ne:
    case ExprKind::lt:
    case ExprKind::le:
    case ExprKind::gt:
    case ExprKind::ge:
    case ExprKind::in:
      return 4;
    case ExprKind::add:
    case ExprKind::sub:
      return 5;
    case ExprKind::mul:
    case ExprKind::div:
      return 6;
    case ExprKind::negate:
      return 7;
    default:
      return 8;
  }
}

void write_expr(std::string& out, const ast::Expr& e, int min_precedence) {
  bool parens = precedence(e.kind) < min_precedence;
  if (parens) out += '(';
  switch (e.kind) {
    case ExprKind::number:
      out += e.text;
      break;
    case ExprKind::string:
      out += ptag_quote(e.text);
      break;
    case ExprKind::boolean:
      out += e.number ? "true" : "false";
      break;
    case ExprKind::name:
      out += e.text;
      break;
    case ExprKind::event_field:
      out += "event." + e.text;
      break;
    case ExprKind::partner_field:
      out += "partner." + e.text;
      break;
    case ExprKind::tagged:
      out += "tagged " + ptag_quote(e.text);
      break;
    case ExprKind::list:
      out += '[';
      for (std::size_t i = 0; i < e.args.size(); ++i) {
        if (i) out += ", ";
        write_expr(out, e.args[i], 0);
      }
      out += ']';
      break;
    case ExprKind::negate:
      out += '-';
      write_expr(out, e.args[0], 7);
      break;
    case ExprKind::not_:
      out += "not ";
      write_expr(out, e.args[0], 3);
      break;
    default: {
      // Binary: left-associative chains; comparisons do not chain.
      int p = precedence(e.kind);
      bool comparison = p == 4;
      write_expr(out, e.args[0], comparison ? p + 1 : p);
      out += fmt::format(" {} ", ast::to_string(e.kind));
      write_expr(out, e.args[1], p + 1);
    }
  }
  if (parens) out += ')';
}

std::string texts(const std::vector<ast::Text>& list) {
  std::string out;
  for (std::size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + ptag_quote(list[i].value);
  return out;
}

std::string duration(const ast::Duration& d) {
  return fmt::format("{}{}", d.amount, d.unit);
}

std::uint32_t end_of(const Span& s) {
  return s.offset + s.length;
}

// One line of output and the stretch of source it came from.
struct Clause {
  std::string text;
  std::uint32_t start = 0, end = 0;
  int indent = 0;
  int comment_indent = 0;     // of the comments leading it
  bool blank_allowed = true;  // may keep a blank line from the source before it
  std::vector<const ast::Comment*> leading;
  const ast::Comment* trailing = nullptr;
};

struct Block {
  std::vector<Clause> clauses;
  bool rule = false;
  bool named = false;
  std::string head;  // a rule's trigger and guard, for the one-line form
  std::size_t first_action = 0;
};

class Formatter {
 public:
  Formatter(const ast::Module& module, std::string_view source) : module_(module), source_(source) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\n') line_starts_.push_back(static_cast<std::uint32_t>(i + 1));
    }
  }

  std::string run() {
    for (const ast::Item& item : module_.items) blocks_.push_back(block(item));
    attach_comments();
    return emit();
  }

 private:
  std::uint32_t line_of(std::uint32_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    return static_cast<std::uint32_t>(it - line_starts_.begin());
  }

  std::string_view source_text(const Span& s) const { return source_.substr(s.offset, s.length); }

  std::string trigger(const ast::Trigger& t) const {
    std::string out = t.name.value;
    if (t.metric) out += " " + t.metric->value + " >= " + format_expr(*t.threshold);
    if (t.duration) out += " " + duration(*t.duration);
    if (t.text) out += " " + ptag_quote(t.text->value);
    return out;
  }

  static std::uint32_t trigger_end(const ast::Trigger& t) {
    std::uint32_t end = end_of(t.name.span);
    if (t.duration) end = std::max(end, end_of(t.duration->span));
    if (t.text) end = std::max(end, end_of(t.text->span));
    if (t.threshold) end = std::max(end, end_of(t.threshold->span));
    return end;
  }

  Block block(const ast::Item& item) const {
    Block b;
    auto add = [&b](std::string text, Span start, std::uint32_t end, int indent) {
      Clause c;
      c.text = std::move(text);
      c.start = start.offset;
      c.end = end;
      c.indent = c.comment_indent = indent;
      b.clauses.push_back(std::move(c));
    };
    if (const auto* r = std::get_if<ast::Rule>(&item)) {
      b.rule = true;
      b.named = r->name.has_value();
      if (r->name)
        add("rule " + ptag_quote(r->name->value), r->name->span, end_of(r->name->span), 0);
      std::string on = "on " + trigger(r->trigger);
      b.head = (r->name ? "rule " + ptag_quote(r->name->value) + " " : std::string()) + on;
      add(on, r->span, trigger_end(r->trigger), 0);
      if (r->guard) {
        std::string guard = "when " + format_expr(*r->guard);
        b.head += " " + guard;
        add(guard, r->guard->span, end_of(r->guard->span), 2);
      }
      b.first_action = b.clauses.size();
      for (const ast::Action& a : r->actions) {
        std::string text = std::string(ast::to_string(a.kind)) + " " + texts(a.tags);
        std::uint32_t end = end_of(a.tags.back().span);
        if (a.expires) {
          text += " for " + duration(*a.expires);
          end = end_of(a.expires->span);
        }
        add(text, a.span, end, 2);
      }
      for (std::size_t i = 1; i < b.clauses.size(); ++i) b.clauses[i].blank_allowed = false;
    } else if (const auto* l = std::get_if<ast::Let>(&item)) {
      add("let " + l->name.value + " = " + format_expr(l->value), l->span, end_of(l->value.span),
          0);
    } else if (const auto* x = std::get_if<ast::Exclusive>(&item)) {
      add("exclusive " + texts(x->tags), x->span, end_of(x->tags.back().span), 0);
    } else if (const auto* i = std::get_if<ast::Import>(&item)) {
      add("import " + ptag_quote(i->path.value), i->span, end_of(i->path.span), 0);
    } else if (const auto* st = std::get_if<ast::Setting>(&item)) {
      add(st->word.value + " " + ptag_quote(st->value.value), st->span, end_of(st->value.span), 0);
    } else if (const auto* t = std::get_if<ast::Test>(&item)) {
      add("test " + ptag_quote(t->name.value) + " {", t->span, end_of(t->name.span), 0);
      for (const ast::Step& s : t->steps) add(step(s), s.span, end_of(s.span), 2);
      add("}", t->end, end_of(t->end), 0);
      b.clauses.back().comment_indent = 2;  // comments before '}' belong to the steps
    }
    return b;
  }

  std::string step(const ast::Step& s) const {
    switch (s.kind) {
      case ast::StepKind::tick:
        return fmt::format("at {} tick", source_text(s.time_span));
      case ast::StepKind::event: {
        std::string out = fmt::format("at {} ", source_text(s.time_span));
        out += s.custom_event ? "event " + ptag_quote(s.event_type.value) : s.event_type.value;
        out += " " + ptag_quote(s.partner.value);
        if (!s.fields.empty()) {
          out += " { ";
          for (std::size_t i = 0; i < s.fields.size(); ++i) {
            out += fmt::format("{}{}: {}", i ? ", " : "", s.fields[i].name.value,
                               format_expr(s.fields[i].value));
          }
          out += " }";
        }
        return out;
      }
      case ast::StepKind::expect_has:
        return fmt::format("expect {} has {}", ptag_quote(s.partner.value), texts(s.tags));
      case ast::StepKind::expect_lacks:
        return fmt::format("expect {} lacks {}", ptag_quote(s.partner.value), texts(s.tags));
      case ast::StepKind::expect_tags:
        return fmt::format("expect {} tags [{}]", ptag_quote(s.partner.value), texts(s.tags));
      case ast::StepKind::expect_metric:
        return fmt::format("expect {} {} {} {}", ptag_quote(s.partner.value), s.metric.value,
                           ast::to_string(s.comparison), format_expr(*s.value));
      case ast::StepKind::expect_records: {
        std::string out = "expect records [";
        for (std::size_t i = 0; i < s.records.size(); ++i) {
          const ast::RecordPattern& r = s.records[i];
          out += fmt::format("{}{} {}", i ? ", " : "", ast::to_string(r.action),
                             ptag_quote(r.tag.value));
          if (r.rule) out += " by " + ptag_quote(r.rule->value);
        }
        return out + "]";
      }
      case ast::StepKind::expect_no_records:
        return "expect no records";
      case ast::StepKind::expect_rejected:
        return "expect rejected " + ptag_quote(s.reason.value);
    }
    return {};
  }

  // A standalone comment leads the next clause; a comment after code trails
  // the clause it ends (a second one on the same clause leads the next).
  void attach_comments() {
    std::vector<Clause*> all;
    for (Block& b : blocks_) {
      for (Clause& c : b.clauses) all.push_back(&c);
    }
    for (const ast::Comment& comment : module_.comments) {
      auto next = std::find_if(all.begin(), all.end(),
                               [&](const Clause* c) { return c->start > comment.span.offset; });
      if (comment.trailing && next != all.begin()) {
        Clause* owner = *(next - 1);
        if (!owner->trailing) {
          owner->trailing = &comment;
          continue;
        }
      }
      if (next == all.end()) {
        trailer_.push_back(&comment);
      } else {
        (*next)->leading.push_back(&comment);
      }
    }
  }

  static bool fits_one_line(const Block& b) {
    if (!b.rule) return false;
    for (std::size_t i = 0; i < b.clauses.size(); ++i) {
      if (i > 0 && !b.clauses[i].leading.empty()) return false;
      if (i + 1 < b.clauses.size() && b.clauses[i].trailing) return false;
    }
    return one_line_body(b, 0).size() <= kWidth;
  }

  static std::string one_line_body(const Block& b, std::size_t column) {
    std::string out = b.head;
    out += std::string(column > out.size() ? column - out.size() : 1, ' ');
    for (std::size_t i = b.first_action; i < b.clauses.size(); ++i) {
      out += (i > b.first_action ? " " : "") + b.clauses[i].text;
    }
    return out;
  }

  // Emits a line; keeps one blank line where the source had any.
  void line(std::string& out, std::string_view text, int indent, std::uint32_t source_line,
            bool blank_allowed) {
    if (blank_allowed && !out.empty() && source_line > last_line_ + 1) out += '\n';
    out += std::string(static_cast<std::size_t>(indent), ' ');
    out += text;
    out += '\n';
    last_line_ = std::max(last_line_, source_line);
  }

  void comments_before(std::string& out, const Clause& c) {
    for (const ast::Comment* comment : c.leading) {
      line(out, comment->text, c.comment_indent, comment->span.line, c.blank_allowed);
    }
  }

  std::string emit() {
    std::string out;
    std::size_t column = 0;  // the aligned action column of the current run of one-line rules
    for (std::size_t bi = 0; bi < blocks_.size(); ++bi) {
      Block& b = blocks_[bi];
      if (fits_one_line(b)) {
        if (column == 0) column = align_column(bi);
        Clause& first = b.clauses.front();
        comments_before(out, first);
        std::string text = one_line_body(b, column);
        if (b.clauses.back().trailing) text += "  " + b.clauses.back().trailing->text;
        line(out, text, 0, line_of(first.start), true);
        last_line_ = std::max(last_line_, line_of(b.clauses.back().end - 1));
        if (b.clauses.back().trailing)
          last_line_ = std::max(last_line_, b.clauses.back().trailing->span.line);
        if (!continues_run(bi + 1)) column = 0;
        continue;
      }
      column = 0;
      for (Clause& c : b.clauses) {
        comments_before(out, c);
        std::string text = c.text;
        if (c.trailing) text += "  " + c.trailing->text;
        line(out, text, c.indent, line_of(c.start), c.blank_allowed);
        last_line_ = std::max(last_line_, line_of(c.end == 0 ? 0 : c.end - 1));
        if (c.trailing) last_line_ = std::max(last_line_, c.trailing->span.line);
      }
    }
    for (const ast::Comment* comment : trailer_)
      line(out, comment->text, 0, comment->span.line, true);
    return out;
  }

  // Whether block `i` joins the run of aligned one-line rules before it: it is
  // one too, with no comment before it and no blank line in between.
  bool continues_run(std::size_t i) const {
    if (i >= blocks_.size() || !fits_one_line(blocks_[i])) return false;
    const Clause& first = blocks_[i].clauses.front();
    const Clause& prev = blocks_[i - 1].clauses.back();
    std::uint32_t prev_end = line_of(prev.end == 0 ? 0 : prev.end - 1);
    if (prev.trailing) prev_end = std::max(prev_end, prev.trailing->span.line);
    return first.leading.empty() && line_of(first.start) <= prev_end + 1;
  }

  std::size_t align_column(std::size_t first) const {
    std::size_t widest = 0;
    for (std::size_t i = first; i == first || continues_run(i); ++i) {
      std::size_t width = blocks_[i].head.size();
      if (width <= kAlignLimit) widest = std::max(widest, width);
    }
    return widest + 1;
  }

  static constexpr std::size_t kWidth = 80;       // longest one-line rule
  static constexpr std::size_t kAlignLimit = 48;  // longer heads are not aligned with the rest

  const ast::Module& module_;
  std::string_view source_;
  std::vector<std::uint32_t> line_starts_;
  std::vector<Block> blocks_;
  std::vector<const ast::Comment*> trailer_;
  std::uint32_t last_line_ = 0;
};

}  // namespace

std::string format_expr(const ast::Expr& e) {
  std::string out;
  write_expr(out, e, 0);
  return out;
}

std::string format_module(const ast::Module& module, std::string_view source) {
  return Formatter(module, source).run();
}

}  // namespace ptag
