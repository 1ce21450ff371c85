// Pass 2: kinds in guards. Fields are only known at run time (a mismatch then
// makes the guard false, §3); literals, metrics and constants are known now,
// so an operator that can never work on them is an error here.
#include <fmt/format.h>
#include <map>

#include "passes.hpp"
#include "ptag/catalogue.hpp"
#include "ptag/diagnostic_codes.hpp"

namespace ptag::passes {
namespace {

enum class Kind { unknown, number, text, boolean, list };

const char* describe(Kind k) {
  switch (k) {
    case Kind::number:
      return "a number";
    case Kind::text:
      return "a text";
    case Kind::boolean:
      return "a condition (true or false)";
    case Kind::list:
      return "a list";
    case Kind::unknown:
      break;
  }
  return "a value";
}

class GuardChecker {
 public:
  explicit GuardChecker(Unit& unit) : unit_(unit) {
    for (const ast::Let* let : unit.all<ast::Let>()) constants_.emplace(let->name.value, let);
  }

  void run() {
    for (const ast::Rule* rule : unit_.all<ast::Rule>()) {
      if (!rule->guard) continue;
      Kind k = infer(*rule->guard);
      if (k != Kind::unknown && k != Kind::boolean) {
        unit_.diagnostics
            .error(codes::kGuardKind, rule->guard->span,
                   fmt::format("a guard must be a condition, but this is {}", describe(k)))
            .help("compare it, as in 'when revenue >= 1000'");
      }
    }
  }

 private:
  Kind literal_kind(const ast::Expr& e) {
    switch (e.kind) {
      case ast::ExprKind::number:
        return Kind::number;
      case ast::ExprKind::string:
        return Kind::text;
      case ast::ExprKind::boolean:
        return Kind::boolean;
      case ast::ExprKind::list:
        return Kind::list;
      default:
        return Kind::unknown;
    }
  }

  Kind name_kind(const ast::Expr& e) {
    if (is_metric(e.text) || is_guard_builtin(e.text)) {
      return Kind::number;
    }
    auto it = constants_.find(e.text);
    return it == constants_.end() ? Kind::unknown : literal_kind(it->second->value);
  }

  // The elements of a list literal or list constant, if `e` is one.
  const std::vector<ast::Expr>* list_elements(const ast::Expr& e) {
    if (e.kind == ast::ExprKind::list) return &e.args;
    if (e.kind == ast::ExprKind::name) {
      auto it = constants_.find(e.text);
      if (it != constants_.end() && it->second->value.kind == ast::ExprKind::list) {
        return &it->second->value.args;
      }
    }
    return nullptr;
  }

  void need(const ast::Expr& operand, Kind got, Kind wanted, std::string_view op) {
    if (got == Kind::unknown || got == wanted) return;
    unit_.diagnostics.error(
        codes::kGuardKind, operand.span,
        fmt::format("'{}' needs {}, but this is {}", op, describe(wanted), describe(got)));
  }

  void mismatch(const ast::Expr& e, Kind a, Kind b) {
    if (a == Kind::unknown || b == Kind::unknown || a == b) return;
    unit_.diagnostics.warning(
        codes::kAlwaysFalse, e.span,
        fmt::format("this compares {} with {}: it is always false", describe(a), describe(b)));
  }

  Kind infer(const ast::Expr& e) {
    using K = ast::ExprKind;
    switch (e.kind) {
      case K::number:
      case K::string:
      case K::boolean:
        return literal_kind(e);
      case K::list:
        for (const ast::Expr& element : e.args) infer(element);
        return Kind::list;
      case K::name:
        return name_kind(e);
      case K::event_field:
      case K::partner_field:
        return Kind::unknown;
      case K::tagged:
        return Kind::boolean;
      case K::negate:
        need(e.args[0], infer(e.args[0]), Kind::number, "-");
        return Kind::number;
      case K::not_:
        need(e.args[0], infer(e.args[0]), Kind::boolean, "not");
        return Kind::boolean;
      case K::and_:
      case K::or_: {
        for (const ast::Expr& arg : e.args)
          need(arg, infer(arg), Kind::boolean, ast::to_string(e.kind));
        return Kind::boolean;
      }
      case K::eq:
      case K::ne:
        mismatch(e, infer(e.args[0]), infer(e.args[1]));
        return Kind::boolean;
      case K::lt:
      case K::le:
      case K::gt:
      case K::ge: {
        Kind a = infer(e.args[0]), b = infer(e.args[1]);
        for (int i = 0; i < 2; ++i) {
          Kind k = i == 0 ? a : b;
          if (k == Kind::boolean || k == Kind::list)
            need(e.args[i], k, Kind::number, ast::to_string(e.kind));
        }
        mismatch(e, a, b);
        return Kind::boolean;
      }
      case K::in: {
        Kind left = infer(e.args[0]);
        infer(e.args[1]);
        const std::vector<ast::Expr>* elements = list_elements(e.args[1]);
        if (!elements) {
          unit_.diagnostics
              .error(codes::kInNeedsList, e.args[1].span, "'in' needs a list on its right")
              .help("write the values in brackets, as in partner.country in [\"DE\", \"AT\"]");
        } else if (left != Kind::unknown && !elements->empty()) {
          bool any = false;
          for (const ast::Expr& element : *elements) any = any || literal_kind(element) == left;
          if (!any) {
            unit_.diagnostics.warning(
                codes::kAlwaysFalse, e.span,
                fmt::format("no element of the list is {}: this is always false", describe(left)));
          }
        }
        return Kind::boolean;
      }
      case K::add:
      case K::sub:
      case K::mul:
      case K::div: {
        for (const ast::Expr& arg : e.args)
          need(arg, infer(arg), Kind::number, ast::to_string(e.kind));
        if (e.kind == K::div && e.args[1].kind == K::number && e.args[1].number == 0) {
          unit_.diagnostics.warning(codes::kDivisionByZero, e.args[1].span,
                                    "division by zero: this guard is always false");
        }
        return Kind::number;
      }
    }
    return Kind::unknown;
  }

  Unit& unit_;
  std::map<std::string, const ast::Let*> constants_;
};

}  // namespace

void check_guards(Unit& unit) {
  GuardChecker(unit).run();
}

}  // namespace ptag::passes
