// Pass 1: every name a rule uses resolves to something in the catalogue or to
// a constant, and every literal argument is in range.
#include <fmt/format.h>
#include <map>

#include "passes.hpp"
#include "ptag/catalogue.hpp"
#include "ptag/diagnostic_codes.hpp"
#include "ptag/text.hpp"

namespace ptag::passes {

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

std::string lower_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Close means: equal once case, '_', '-' and spaces are ignored, or that
// plus a plural 's'. Edit distance alone would flag real names ("scale").
std::string_view builtin_event_like(std::string_view name) {
  std::string plain;
  for (char c : lower_case(name)) {
    if (c != '_' && c != '-' && c != ' ') plain += c;
  }
  for (std::string_view type : names_of(event_types())) {
    if (plain == type || plain == std::string(type) + "s") return type;
  }
  return {};
}

static void suggest(Diagnostic& d, std::string_view name,
                    const std::vector<std::string_view>& options) {
  std::string_view best = closest_name(name, options);
  if (!best.empty()) d.help(fmt::format("did you mean '{}'?", best));
}

void check_duration(Unit& unit, const ast::Duration& d, std::string_view what) {
  std::optional<std::int64_t> unit_length = unit_seconds(d.unit);
  if (!unit_length) {
    auto& diag =
        unit.diagnostics.error(codes::kUnknownDurationUnit, d.span,
                               fmt::format("unknown duration unit '{}' in {}", d.unit, what));
    // Spelled-out units: "30days" means 30d; months and years have no fixed length.
    static const std::pair<std::string_view, std::string_view> kSpelled[] = {
        {"sec", "s"},    {"second", "s"},  {"seconds", "s"}, {"min", "m"},
        {"minute", "m"}, {"minutes", "m"}, {"hour", "h"},    {"hours", "h"},
        {"day", "d"},    {"days", "d"},    {"week", "w"},    {"weeks", "w"}};
    for (auto [spelled, unit_name] : kSpelled) {
      if (d.unit == spelled) diag.help(fmt::format("did you mean '{}{}'?", d.amount, unit_name));
    }
    if (d.unit.rfind("mo", 0) == 0 || d.unit.rfind("y", 0) == 0) {
      diag.help("months and years vary in length: write days or weeks, as in 30d or 52w");
    }
    diag.help("units are s (seconds), m (minutes), h (hours), d (days) and w (weeks)");
    return;
  }
  if (d.amount == 0) {
    unit.diagnostics.error(codes::kBadDuration, d.span,
                           fmt::format("{} must be longer than zero", what));
    return;
  }
  // Deadlines are seconds in 64 bits; a thousand years is more than any rule needs.
  constexpr std::uint64_t kMaxSeconds = 1000ULL * 366 * 86400;
  if (d.amount > kMaxSeconds / static_cast<std::uint64_t>(*unit_length)) {
    unit.diagnostics.error(codes::kBadDuration, d.span,
                           fmt::format("{} is too long (at most 1000 years)", what));
  }
}

namespace {

class NameChecker {
 public:
  NameChecker(Unit& unit, std::set<std::string>& used) : unit_(unit), used_(used) {}

  void run() {
    for (const ast::Let* let : unit_.all<ast::Let>()) declare(*let);
    for (const ast::Rule* rule : unit_.all<ast::Rule>()) check_rule(*rule);
    for (const ast::Exclusive* group : unit_.all<ast::Exclusive>()) {
      for (const ast::Text& tag : group->tags) not_empty(tag, "a tag name");
    }
  }

 private:
  Diagnostics& diags() { return unit_.diagnostics; }

  void declare(const ast::Let& let) {
    const std::string& name = let.name.value;
    if (is_metric(name) || is_guard_builtin(name)) {
      diags().error(codes::kConstantShadows, let.name.span,
                    fmt::format("'{}' is a built-in name and cannot be a constant", name));
    } else if (auto it = constants_.find(name); it != constants_.end()) {
      diags()
          .error(codes::kDuplicateConstant, let.name.span,
                 fmt::format("constant '{}' is declared twice", name))
          .note(it->second->name.span, "first declared here");
    } else {
      constants_[name] = &let;
    }
    for (const ast::Expr& element : let.value.args) {
      if (element.kind == ast::ExprKind::name) {
        diags().error(codes::kUndefinedName, element.span,
                      "a constant's list may hold only literal values");
      }
    }
  }

  void not_empty(const ast::Text& text, std::string_view what) {
    if (text.value.empty()) {
      diags().error(codes::kEmptyName, text.span, fmt::format("{} cannot be empty", what));
    }
  }

  void check_rule(const ast::Rule& rule) {
    if (rule.name) not_empty(*rule.name, "a rule's name");
    const TriggerInfo* info = check_trigger(rule.trigger);
    bool timer = info && info->kind == TriggerKind::timer;
    if (rule.guard) check_expr(*rule.guard, timer, rule);
    for (const ast::Action& action : rule.actions) {
      for (const ast::Text& tag : action.tags) {
        not_empty(tag, action.kind == ast::ActionKind::emit ? "a notification name" : "a tag name");
      }
      if (action.expires) check_duration(unit_, *action.expires, "the expiry after 'for'");
    }
  }

  const TriggerInfo* check_trigger(const ast::Trigger& t) {
    const TriggerInfo* info = find_trigger(t.name.value);
    if (!info) {
      auto& d = diags().error(codes::kUnknownTrigger, t.name.span,
                              fmt::format("unknown trigger '{}'", t.name.value));
      suggest(d, t.name.value, names_of(triggers()));
      return nullptr;
    }
    if (info->shape == TriggerShape::bare && (t.duration || t.text)) {
      Span where = t.duration ? t.duration->span : t.text->span;
      diags()
          .error(codes::kTriggerArgument, where,
                 fmt::format("trigger '{}' takes nothing after it", t.name.value))
          .help(fmt::format("'on {}' fires {}", t.name.value, info->summary));
      return info;
    }
    if (t.duration) {
      check_duration(unit_, *t.duration, fmt::format("the '{}' duration", t.name.value));
      if (info->kind == TriggerKind::timer) short_timer(t);
    }
    if (t.text) {
      not_empty(*t.text, t.name.value == "event" ? "an event type" : "a tag name");
      if (t.name.value == "event" && find_event_type(t.text->value)) {
        diags()
            .error(codes::kBuiltinAsCustomEvent, t.text->span,
                   fmt::format("'{}' is a built-in event type, not a custom event", t.text->value))
            .help(fmt::format("write 'on {}'", t.text->value));
      } else if (t.name.value == "event") {
        std::string_view like = builtin_event_like(t.text->value);
        if (!like.empty()) {
          diags()
              .warning(codes::kNearBuiltinEvent, t.text->span,
                       fmt::format("custom event '{}' looks like the built-in event type '{}'",
                                   t.text->value, like))
              .help(fmt::format("write 'on {}' for {} events; 'event \"{}\"' matches only "
                                "events whose type is exactly \"{}\"",
                                like, like, t.text->value, t.text->value));
        }
      }
    }
    if (t.metric) check_milestone(t);
    return info;
  }

  // `inactive 3m` is three minutes: m is not months. Timers under an hour are
  // almost always a unit mistake.
  void short_timer(const ast::Trigger& t) {
    const ast::Duration& d = *t.duration;
    std::optional<std::int64_t> unit_length = unit_seconds(d.unit);
    if (!unit_length || d.amount == 0 || d.amount >= 3600) return;  // errors, or long enough
    if (*unit_length * static_cast<std::int64_t>(d.amount) >= 3600) return;
    bool minutes = d.unit == "m";
    std::string what = fmt::format("{} {}{}", d.amount, minutes ? "minute" : "second",
                                   d.amount == 1 ? "" : "s");
    auto& diag = diags().warning(
        codes::kShortTimer, d.span,
        fmt::format("'{} {}{}' fires after {}, under an hour", t.name.value, d.amount, d.unit, what));
    if (minutes) {
      diag.help(fmt::format("m means minutes; for {} month{} write about {}d or {}w", d.amount,
                            d.amount == 1 ? "" : "s", d.amount * 30, (d.amount * 30 + 3) / 7));
    } else {
      diag.help("s means seconds; write hours, days or weeks, as in 12h, 30d or 4w");
    }
  }

  void check_milestone(const ast::Trigger& t) {
    if (!is_metric(t.metric->value)) {
      auto& d = diags().error(codes::kUnknownMetric, t.metric->span,
                              fmt::format("unknown metric '{}'", t.metric->value));
      suggest(d, t.metric->value, metrics());
      d.help("metrics are " + names_and(metrics()));
    }
    const ast::Expr& threshold = *t.threshold;
    const ast::Expr* value = &threshold;
    if (threshold.kind == ast::ExprKind::name) {
      const ast::Let* let = lookup(threshold);
      if (!let) return;
      value = &let->value;
      if (value->kind != ast::ExprKind::number) {
        diags()
            .error(
                codes::kMilestoneThreshold, threshold.span,
                fmt::format("a milestone threshold must be a number; '{}' is not", threshold.text))
            .note(let->name.span, "declared here");
        return;
      }
    }
    if (value->number <= 0) {
      auto& d = diags().error(codes::kMilestoneThreshold, threshold.span,
                              "a milestone threshold must be greater than zero");
      if (value != &threshold) d.note(value->span, "the constant's value");
    }
  }

  const ast::Let* lookup(const ast::Expr& name) {
    auto it = constants_.find(name.text);
    if (it != constants_.end()) {
      used_.insert(name.text);
      return it->second;
    }
    std::vector<std::string_view> known(metrics());
    known.insert(known.end(), guard_builtins().begin(), guard_builtins().end());
    for (const auto& entry : constants_) known.push_back(entry.first);
    auto& d = diags().error(
        codes::kUndefinedName, name.span,
        fmt::format("'{}' is not a metric, a built-in or a declared constant", name.text));
    std::string_view best = closest_name(name.text, known);
    if (!best.empty()) {
      d.help(fmt::format("did you mean '{}'?", best));
      used_.insert(std::string(best));  // the misspelt use is a use: no "never used" on top
    }
    return nullptr;
  }

  void check_expr(const ast::Expr& e, bool timer, const ast::Rule& rule) {
    if (e.kind == ast::ExprKind::name && !is_metric(e.text) && !is_guard_builtin(e.text)) {
      lookup(e);
    }
    if (e.kind == ast::ExprKind::event_field && timer) {
      diags()
          .error(codes::kEventFieldInTimerRule, e.span,
                 fmt::format("'event.{}' cannot be read here: '{}' is a timer, it has no event",
                             e.text, rule.trigger.name.value))
          .help("read partner fields or metrics instead");
    }
    if (e.kind == ast::ExprKind::tagged) not_empty({e.text, e.span}, "a tag name");
    for (const ast::Expr& arg : e.args) check_expr(arg, timer, rule);
  }

  Unit& unit_;
  std::set<std::string>& used_;
  std::map<std::string, const ast::Let*> constants_;
};

}  // namespace

void check_names(Unit& unit, std::set<std::string>& used_constants) {
  NameChecker(unit, used_constants).run();
}

}  // namespace ptag::passes
