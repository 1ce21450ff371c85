#include <fmt/format.h>

#include "ptag/ast.hpp"
#include "ptag/decimal.hpp"
#include "ptag/text.hpp"

namespace ptag::ast {

const char* to_string(ExprKind kind) {
  switch (kind) {
    case ExprKind::number:
      return "number";
    case ExprKind::string:
      return "string";
    case ExprKind::boolean:
      return "boolean";
    case ExprKind::list:
      return "list";
    case ExprKind::name:
      return "name";
    case ExprKind::event_field:
      return "event.";
    case ExprKind::partner_field:
      return "partner.";
    case ExprKind::tagged:
      return "tagged";
    case ExprKind::negate:
      return "-";
    case ExprKind::not_:
      return "not";
    case ExprKind::and_:
      return "and";
    case ExprKind::or_:
      return "or";
    case ExprKind::eq:
      return "==";
    case ExprKind::ne:
      return "!=";
    case ExprKind::lt:
      return "<";
    case ExprKind::le:
      return "<=";
    case ExprKind::gt:
      return ">";
    case ExprKind::ge:
      return ">=";
    case ExprKind::in:
      return "in";
    case ExprKind::add:
      return "+";
    case ExprKind::sub:
      return "-";
    case ExprKind::mul:
      return "*";
    case ExprKind::div:
      return "/";
  }
  return "?";
}

const char* to_string(ActionKind kind) {
  switch (kind) {
    case ActionKind::add:
      return "add";
    case ActionKind::remove:
      return "remove";
    case ActionKind::emit:
      return "emit";
  }
  return "?";
}

namespace {

void dump_expr(std::string& out, const Expr& e) {
  switch (e.kind) {
    case ExprKind::number:
      out += format_decimal(e.number);
      return;
    case ExprKind::string:
      out += json_quote(e.text);
      return;
    case ExprKind::boolean:
      out += e.number ? "true" : "false";
      return;
    case ExprKind::name:
      out += e.text;
      return;
    case ExprKind::event_field:
      out += "event." + e.text;
      return;
    case ExprKind::partner_field:
      out += "partner." + e.text;
      return;
    case ExprKind::tagged:
      out += "(tagged " + json_quote(e.text) + ")";
      return;
    default:
      break;
  }
  out += e.kind == ExprKind::list ? "[" : std::string("(") + to_string(e.kind);
  for (std::size_t i = 0; i < e.args.size(); ++i) {
    out += (e.kind == ExprKind::list && i == 0) ? "" : " ";
    dump_expr(out, e.args[i]);
  }
  out += e.kind == ExprKind::list ? "]" : ")";
}

std::string texts(const std::vector<Text>& list) {
  std::string out;
  for (const Text& t : list) out += " " + json_quote(t.value);
  return out;
}

std::string duration(const Duration& d) {
  return fmt::format("{}{}", d.amount, d.unit);
}

void dump_step(std::string& out, const Step& s) {
  out += "  (";
  switch (s.kind) {
    case StepKind::event:
      out += fmt::format("at {} {}{} {}", s.time, s.custom_event ? "event " : "",
                         s.custom_event ? json_quote(s.event_type.value) : s.event_type.value,
                         json_quote(s.partner.value));
      for (const Field& f : s.fields) {
        out += " " + f.name.value + "=";
        dump_expr(out, f.value);
      }
      break;
    case StepKind::tick:
      out += fmt::format("at {} tick", s.time);
      break;
    case StepKind::expect_has:
      out += "has " + json_quote(s.partner.value) + texts(s.tags);
      break;
    case StepKind::expect_lacks:
      out += "lacks " + json_quote(s.partner.value) + texts(s.tags);
      break;
    case StepKind::expect_tags:
      out += "tags " + json_quote(s.partner.value) + texts(s.tags);
      break;
    case StepKind::expect_metric:
      out += fmt::format("metric {} {} {} ", json_quote(s.partner.value), s.metric.value,
                         to_string(s.comparison));
      dump_expr(out, *s.value);
      break;
    case StepKind::expect_records:
      out += "records";
      for (const RecordPattern& r : s.records) {
        out += fmt::format(" ({} {}{})", to_string(r.action), json_quote(r.tag.value),
                           r.rule ? " by " + json_quote(r.rule->value) : "");
      }
      break;
    case StepKind::expect_no_records:
      out += "no-records";
      break;
    case StepKind::expect_rejected:
      out += "rejected " + json_quote(s.reason.value);
      break;
  }
  out += ")\n";
}

}  // namespace

std::string dump(const Module& module) {
  std::string out;
  for (const Item& item : module.items) {
    if (const auto* r = std::get_if<Rule>(&item)) {
      out += "(rule";
      if (r->name) out += " " + json_quote(r->name->value);
      out += " (on " + r->trigger.name.value;
      if (r->trigger.duration) out += " " + duration(*r->trigger.duration);
      if (r->trigger.text) out += " " + json_quote(r->trigger.text->value);
      if (r->trigger.metric) out += " " + r->trigger.metric->value + " >= ";
      if (r->trigger.threshold) dump_expr(out, *r->trigger.threshold);
      out += ")";
      if (r->guard) {
        out += " (when ";
        dump_expr(out, *r->guard);
        out += ")";
      }
      for (const Action& a : r->actions) {
        out += fmt::format(" ({}{}{})", to_string(a.kind), texts(a.tags),
                           a.expires ? " for " + duration(*a.expires) : "");
      }
      out += ")\n";
    } else if (const auto* l = std::get_if<Let>(&item)) {
      out += "(let " + l->name.value + " ";
      dump_expr(out, l->value);
      out += ")\n";
    } else if (const auto* x = std::get_if<Exclusive>(&item)) {
      out += "(exclusive" + texts(x->tags) + ")\n";
    } else if (const auto* i = std::get_if<Import>(&item)) {
      out += "(import " + json_quote(i->path.value) + ")\n";
    } else if (const auto* st = std::get_if<Setting>(&item)) {
      out += "(" + st->word.value + " " + json_quote(st->value.value) + ")\n";
    } else if (const auto* t = std::get_if<Test>(&item)) {
      out += "(test " + json_quote(t->name.value) + "\n";
      for (const Step& s : t->steps) dump_step(out, s);
      out += ")\n";
    }
  }
  return out;
}

}  // namespace ptag::ast
