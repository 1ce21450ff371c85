// Pass 5: lowering the checked program to bytecode and tables.
#include <fmt/format.h>
#include <algorithm>
#include <cassert>
#include <map>

#include "ptag/compiler.hpp"
#include "ptag/diagnostic_codes.hpp"
#include "ptag/format.hpp"
#include "ptag/parser.hpp"
#include "ptag/program.hpp"

namespace ptag {

EventType event_type_of(std::string_view type) {
  static constexpr std::string_view kNames[] = {"join", "update", "click",     "signup",
                                                "sale", "refund", "commission"};
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == type) return static_cast<EventType>(i);
  }
  return EventType::custom;
}

std::string_view metric_name(Metric m) {
  return metrics()[static_cast<std::size_t>(m)];
}

namespace {

Metric metric_of(std::string_view name) {
  for (std::size_t i = 0; i < metrics().size(); ++i) {
    if (metrics()[i] == name) return static_cast<Metric>(i);
  }
  assert(false && "checked metric");
  return Metric::revenue;
}

// The event types whose state change moves a metric (§2).
std::vector<EventType> events_moving(Metric m) {
  std::vector<EventType> out;
  for (std::size_t t = 0; t < kEventTypes; ++t) {
    if (changes_metric(static_cast<EventType>(t), m)) out.push_back(static_cast<EventType>(t));
  }
  return out;
}

class Lowering {
 public:
  Lowering() = default;
  explicit Lowering(const Unit& unit) : unit_(&unit) {
    for (const ast::Let* let : unit.all<ast::Let>()) constants_[let->name.value] = &let->value;
  }

  // A guard alone, against the tag table of `base` (a segment query).
  Program guard_only(const Program& base, const ast::Expr& e) {
    for (const std::string& t : base.tags) tag(t);
    guard(e);
    op(Op::RETURN);
    p_.segment_query = true;
    return std::move(p_);
  }

  Program run() {
    for (const ast::Exclusive* group : unit_->all<ast::Exclusive>()) {
      std::vector<TagId> tags;
      for (const ast::Text& t : group->tags) tags.push_back(tag(t.value));
      p_.exclusive_groups.push_back(std::move(tags));
    }
    for (const ast::Rule* rule : unit_->all<ast::Rule>()) lower_rule(*rule);
    for (const ast::Setting* setting : unit_->all<ast::Setting>()) {  // checked: valid, one value each
      if (setting->word.value == "timezone") {
        p_.timezone = setting->value.value;
        continue;
      }
      p_.currency = setting->value.value;
      for (char& c : p_.currency) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    }
    p_.group_of_tag.assign(p_.tags.size(), kNone);
    for (std::uint32_t g = 0; g < p_.exclusive_groups.size(); ++g) {
      for (TagId t : p_.exclusive_groups[g]) p_.group_of_tag[t] = g;
    }
    index_rules();
    return std::move(p_);
  }

 private:
  TagId tag(const std::string& name) { return intern(p_.tags, tag_ids_, name); }
  std::uint32_t text(const std::string& value) { return intern(p_.texts, text_ids_, value); }

  static std::uint32_t intern(std::vector<std::string>& table,
                              std::map<std::string, std::uint32_t>& ids, const std::string& value) {
    auto [it, fresh] = ids.emplace(value, static_cast<std::uint32_t>(table.size()));
    if (fresh) table.push_back(value);
    return it->second;
  }

  void byte(std::uint8_t b) { p_.code.push_back(b); }
  void op(Op o) { byte(static_cast<std::uint8_t>(o)); }
  template <typename T>
  void operand(T value) {
    std::uint8_t bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    p_.code.insert(p_.code.end(), bytes, bytes + sizeof(T));
  }
  std::uint32_t pc() const { return static_cast<std::uint32_t>(p_.code.size()); }
  void patch(std::uint32_t at, std::uint32_t target) {
    std::memcpy(p_.code.data() + at, &target, 4);
  }

  static Seconds seconds(const ast::Duration& d) {
    return static_cast<Seconds>(d.amount) * *unit_seconds(d.unit);
  }

  const ast::Expr& resolve(const ast::Expr& e) const {
    if (e.kind == ast::ExprKind::name) {
      auto it = constants_.find(e.text);
      if (it != constants_.end()) return *it->second;
    }
    return e;
  }

  Constant constant(const ast::Expr& e) {
    const ast::Expr& v = resolve(e);
    Constant c;
    if (v.kind == ast::ExprKind::string) {
      c.kind = Constant::Kind::text;
      c.text = text(v.text);
    } else {
      c.kind = v.kind == ast::ExprKind::boolean ? Constant::Kind::boolean : Constant::Kind::number;
      c.number = v.number;
    }
    return c;
  }

  void guard(const ast::Expr& e) {
    using K = ast::ExprKind;
    const ast::Expr& v = resolve(e);
    switch (v.kind) {
      case K::number:
        op(Op::PUSH_NUMBER);
        operand<std::int64_t>(v.number);
        return;
      case K::string:
        op(Op::PUSH_TEXT);
        operand<std::uint32_t>(text(v.text));
        return;
      case K::boolean:
        op(v.number ? Op::PUSH_TRUE : Op::PUSH_FALSE);
        return;
      case K::list: {
        std::vector<Constant> elements;
        for (const ast::Expr& element : v.args) elements.push_back(constant(element));
        p_.lists.push_back(std::move(elements));
        op(Op::PUSH_LIST);
        operand<std::uint32_t>(static_cast<std::uint32_t>(p_.lists.size() - 1));
        return;
      }
      case K::name:
        if (v.text == "days_since_join") return op(Op::DAYS_SINCE_JOIN);
        if (v.text == "days_since_activity") return op(Op::DAYS_SINCE_ACTIVITY);
        op(Op::LOAD_METRIC);
        byte(static_cast<std::uint8_t>(metric_of(v.text)));
        return;
      case K::event_field:
        op(Op::EVENT_FIELD);
        operand<std::uint32_t>(text(v.text));
        return;
      case K::partner_field:
        op(Op::PARTNER_FIELD);
        operand<std::uint32_t>(text(v.text));
        return;
      case K::tagged:
        op(Op::TAGGED);
        operand<std::uint32_t>(tag(v.text));
        return;
      case K::not_:
        guard(v.args[0]);
        op(Op::NOT);
        return;
      case K::negate:
        guard(v.args[0]);
        op(Op::NEGATE);
        return;
      case K::and_:
      case K::or_: {
        guard(v.args[0]);
        op(v.kind == K::and_ ? Op::AND_THEN : Op::OR_ELSE);
        std::uint32_t hole = pc();
        operand<std::uint32_t>(0);
        guard(v.args[1]);
        op(Op::EXPECT_BOOL);
        patch(hole, pc());
        return;
      }
      default:
        break;
    }
    static const std::map<K, Op> kBinary = {{K::eq, Op::EQ},   {K::ne, Op::NE},   {K::lt, Op::LT},
                                            {K::le, Op::LE},   {K::gt, Op::GT},   {K::ge, Op::GE},
                                            {K::in, Op::IN},   {K::add, Op::ADD}, {K::sub, Op::SUB},
                                            {K::mul, Op::MUL}, {K::div, Op::DIV}};
    guard(v.args[0]);
    guard(v.args[1]);
    op(kBinary.at(v.kind));
  }

  void lower_rule(const ast::Rule& rule) {
    ProgramRule r;
    r.name = unit_->rule_name(rule);
    r.named = rule.name.has_value();
    const ast::Trigger& t = rule.trigger;
    const TriggerInfo* info = find_trigger(t.name.value);
    r.kind = info->kind;
    r.trigger_text = "on " + t.name.value;
    switch (r.kind) {
      case TriggerKind::each_event:
      case TriggerKind::first_event:
        r.event_type = event_type_of(info->event_type);
        break;
      case TriggerKind::custom_event:
        r.custom_type = text(t.text->value);
        r.trigger_text += " \"" + t.text->value + "\"";
        break;
      case TriggerKind::milestone:
        r.metric = metric_of(t.metric->value);
        r.threshold = resolve(*t.threshold).number;
        r.trigger_text +=
            fmt::format(" {} >= {}", t.metric->value, format_expr(resolve(*t.threshold)));
        break;
      case TriggerKind::timer:
        r.timer = t.name.value == "anniversary" ? TimerKind::anniversary
                  : t.name.value == "inactive"  ? TimerKind::inactive
                                                : TimerKind::no_referral;
        r.duration = seconds(*t.duration);
        r.trigger_text += fmt::format(" {}{}", t.duration->amount, t.duration->unit);
        break;
      case TriggerKind::tag_change:
        r.tag = tag(t.text->value);
        r.on_added = t.name.value == "tag_added";
        r.trigger_text += " \"" + t.text->value + "\"";
        break;
    }
    if (rule.guard) {
      r.guard = pc();
      guard(*rule.guard);
      op(Op::RETURN);
    }
    r.actions = pc();
    for (const ast::Action& a : rule.actions) {
      for (const ast::Text& name : a.tags) {
        if (a.kind == ast::ActionKind::emit) {
          op(Op::EMIT);
          operand<std::uint32_t>(text(name.value));
        } else if (a.kind == ast::ActionKind::remove) {
          op(Op::REMOVE_TAG);
          operand<std::uint32_t>(tag(name.value));
        } else if (a.expires) {
          op(Op::ADD_TAG_FOR);
          operand<std::uint32_t>(tag(name.value));
          operand<std::int64_t>(seconds(*a.expires));
        } else {
          op(Op::ADD_TAG);
          operand<std::uint32_t>(tag(name.value));
        }
      }
    }
    op(Op::END);
    p_.rules.push_back(std::move(r));
  }

  // Program::index, in one pass over the rules in source order.
  void index_rules() {
    RuleIndex& x = p_.index;
    x.added.resize(p_.tags.size());
    x.removed.resize(p_.tags.size());
    for (RuleId id = 0; id < p_.rules.size(); ++id) {
      const ProgramRule& r = p_.rules[id];
      auto type = static_cast<std::size_t>(r.event_type);
      switch (r.kind) {
        case TriggerKind::each_event: x.plain[type].push_back(id); break;
        case TriggerKind::first_event:
          x.firsts[type].push_back(id);
          x.besides[type].push_back(id);
          break;
        case TriggerKind::milestone:
          x.milestones[static_cast<std::size_t>(r.metric)].push_back(id);
          for (EventType t : events_moving(r.metric)) x.besides[static_cast<std::size_t>(t)].push_back(id);
          break;
        case TriggerKind::custom_event: x.custom[p_.texts[r.custom_type]].push_back(id); break;
        case TriggerKind::tag_change: (r.on_added ? x.added : x.removed)[r.tag].push_back(id); break;
        case TriggerKind::timer: x.timers[static_cast<std::size_t>(r.timer)].push_back(id); break;
      }
    }
    // Latch order: by the key, source order among equals.
    auto latch = [&](std::vector<RuleId>& order, auto& keys, auto key) {
      std::stable_sort(order.begin(), order.end(), [&](RuleId a, RuleId b) { return key(p_.rules[a]) < key(p_.rules[b]); });
      for (RuleId id : order) keys.push_back(key(p_.rules[id]));
    };
    for (std::size_t k = 0; k < kTimerKinds; ++k)
      latch(x.timers[k], x.durations[k], [](const ProgramRule& r) { return r.duration; });
    for (std::size_t m = 0; m < kMetrics; ++m)
      latch(x.milestones[m], x.thresholds[m], [](const ProgramRule& r) { return r.threshold; });
  }

  const Unit* unit_ = nullptr;
  Program p_;
  std::map<std::string, const ast::Expr*> constants_;
  std::map<std::string, std::uint32_t> tag_ids_, text_ids_;
};

// Names a segment may read: no events, no constants.
void check_segment(const ast::Expr& e, FileId file, Diagnostics& d) {
  if (e.kind == ast::ExprKind::event_field) {
    d.error(codes::kEventFieldInTimerRule, e.span,
            "a segment has no event: 'event." + e.text + "' cannot be read");
  } else if (e.kind == ast::ExprKind::name && !is_metric(e.text) && !is_guard_builtin(e.text)) {
    d.error(codes::kUndefinedName, e.span, "'" + e.text + "' is not a metric or a built-in");
  }
  for (const ast::Expr& arg : e.args) check_segment(arg, file, d);
}

}  // namespace

SegmentResult compile_segment(const Program& base, std::string_view expression) {
  SegmentResult out;
  FileId file = out.sources.add("segment", std::string(expression));
  GuardParse parsed = parse_guard(out.sources, file);
  out.diagnostics = std::move(parsed.diagnostics);
  if (!parsed.guard) return out;
  check_segment(*parsed.guard, file, out.diagnostics);
  if (out.diagnostics.has_errors()) return out;
  out.program = Lowering().guard_only(base, *parsed.guard);
  return out;
}

Program lower(const Unit& unit) {
  assert(!unit.diagnostics.has_errors());
  return Lowering(unit).run();
}

}  // namespace ptag
