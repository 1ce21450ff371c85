// Pass 4: test blocks (§8): event types, the fields built-in events need,
// metrics in expectations, and unique test names.
#include <fmt/format.h>
#include <map>

#include "passes.hpp"
#include "ptag/catalogue.hpp"
#include "ptag/diagnostic_codes.hpp"
#include "ptag/text.hpp"

namespace ptag::passes {
namespace {

// `rejected`: the step is followed by `expect rejected`, so a bad amount is
// what the test is about, not a mistake.
void check_event_step(Unit& unit, const ast::Step& step, bool rejected) {
  const std::string& type = step.event_type.value;
  const EventTypeInfo* info = find_event_type(type);
  if (step.custom_event) {
    if (type.empty()) {
      unit.diagnostics.error(codes::kEmptyName, step.event_type.span,
                             "an event type cannot be empty");
    } else if (info) {
      unit.diagnostics
          .error(codes::kBuiltinAsCustomEvent, step.event_type.span,
                 fmt::format("'{}' is a built-in event type, not a custom event", type))
          .help(fmt::format("write 'at ... {} \"PARTNER\"'", type));
    } else if (std::string_view like = builtin_event_like(type); !like.empty()) {
      unit.diagnostics
          .warning(codes::kNearBuiltinEvent, step.event_type.span,
                   fmt::format("custom event '{}' looks like the built-in event type '{}'", type,
                               like))
          .help(fmt::format("write 'at ... {} \"{}\"' to send a {} event", like,
                            step.partner.value, like));
    }
  } else if (!info) {
    auto& d = unit.diagnostics.error(codes::kUnknownEventType, step.event_type.span,
                                     fmt::format("unknown event type '{}'", type));
    std::string_view best = closest_name(type, names_of(event_types()));
    if (!best.empty()) d.help(fmt::format("did you mean '{}'?", best));
    d.help(fmt::format("a custom event is written event \"{}\"", type));
  }
  if (step.partner.value.empty()) {
    unit.diagnostics.error(codes::kEmptyName, step.partner.span, "a partner id cannot be empty");
  }
  std::set<std::string> seen;
  const ast::Field* amount = nullptr;
  for (const ast::Field& f : step.fields) {
    if (!seen.insert(f.name.value).second) {
      unit.diagnostics.error(codes::kTestStep, f.name.span,
                             fmt::format("field '{}' is given twice", f.name.value));
    }
    if (f.name.value == "amount") amount = &f;
    if (f.name.value == "id" && f.value.kind != ast::ExprKind::string) {
      unit.diagnostics.error(codes::kTestStep, f.value.span,
                             fmt::format("'{}' must be a text in quotes", f.name.value));
    }
  }
  if (info && info->needs_amount && !step.custom_event && !rejected) {
    if (!amount) {
      unit.diagnostics
          .error(codes::kTestStep, step.event_type.span,
                 fmt::format("a {} event needs an amount", type))
          .help(fmt::format("write {} \"{}\" {{ amount: 100 }}", type, step.partner.value));
    } else if (amount->value.kind != ast::ExprKind::number) {
      unit.diagnostics.error(codes::kTestStep, amount->value.span, "'amount' must be a number");
    }
  }
}

}  // namespace

void check_tests(Unit& unit) {
  std::map<std::string, const ast::Test*> names;
  for (const ast::Test* test : unit.all<ast::Test>()) {
    auto [it, fresh] = names.emplace(test->name.value, test);
    if (!fresh) {
      unit.diagnostics
          .error(codes::kDuplicateTestName, test->name.span,
                 fmt::format("two tests are named '{}'", test->name.value))
          .note(it->second->name.span, "the other test");
    }
    for (std::size_t i = 0; i < test->steps.size(); ++i) {
      const ast::Step& step = test->steps[i];
      if (step.kind == ast::StepKind::expect_rejected &&
          (i == 0 || test->steps[i - 1].kind != ast::StepKind::event)) {
        unit.diagnostics
            .error(codes::kTestStep, step.span, "'expect rejected' must follow an event step")
            .help("write it right after the 'at TIME TYPE \"PARTNER\" {...}' step it is about");
      }
      bool rejected = i + 1 < test->steps.size() &&
                      test->steps[i + 1].kind == ast::StepKind::expect_rejected;
      if (step.kind == ast::StepKind::event) check_event_step(unit, step, rejected);
      if (step.kind == ast::StepKind::expect_metric && !is_metric(step.metric.value) &&
          !is_guard_builtin(step.metric.value)) {
        auto& d = unit.diagnostics.error(codes::kUnknownMetric, step.metric.span,
                                         fmt::format("unknown metric '{}'", step.metric.value));
        std::vector<std::string_view> known(metrics());
        known.insert(known.end(), guard_builtins().begin(), guard_builtins().end());
        std::string_view best = closest_name(step.metric.value, known);
        if (!best.empty()) d.help(fmt::format("did you mean '{}'?", best));
      }
    }
  }
}

}  // namespace ptag::passes
