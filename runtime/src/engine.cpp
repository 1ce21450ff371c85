// The evaluation order of language.md §4, step by step.
#include "ptag/engine.hpp"

#include <algorithm>
#include <cassert>

#include "ptag/decimal.hpp"
#include "state.hpp"

namespace ptag {

struct Engine::State {
  const Program& program;
  Sink& sink;
  EngineStats stats;
  std::vector<Partner> partners;
  StringMap<std::uint32_t> partner_index;
  StringSet seen_ids;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers;
  std::deque<RuleId> cascade;  // one FIFO per event or timer (§9.14)
  bool has_clock = false;
  Seconds clock = 0;  // the largest event time seen
  Seconds now = 0;    // what guards and `add ... for` see: the clock, or a timer's deadline
  std::size_t tag_words = 0;

  State(const Program& p, Sink& s) : program(p), sink(s) {
    stats.guard_errors.assign(p.rules.size(), 0);
    stats.rule_fires.assign(p.rules.size(), 0);
    tag_words = (p.tags.size() + 63) / 64;
  }

  // ---- records and tags ------------------------------------------------------

  void emit_record(const Partner& partner, RecordAction action, std::string_view what, RuleId rule,
                   const Context& ctx) {
    ChangeRecord r;
    r.time = ctx.record_time;
    r.partner = partner.id;
    r.action = action;
    r.tag = what;
    r.rule = program.rules[rule].name;
    r.timer = ctx.timer;
    if (ctx.event && ctx.event->has_id) {
      r.has_event_id = true;
      r.event_id = ctx.event->id;
    }
    ++stats.records;
    sink.record(r);
  }

  Expiry* expiry_of(Partner& partner, TagId tag) {
    for (Expiry& e : partner.expiries) {
      if (e.tag == tag) return &e;
    }
    return nullptr;
  }

  void clear_expiry(Partner& partner, TagId tag) {
    auto& list = partner.expiries;
    list.erase(
        std::remove_if(list.begin(), list.end(), [tag](const Expiry& e) { return e.tag == tag; }),
        list.end());
  }

  void queue_rules(const std::vector<RuleId>& rules) {
    for (RuleId r : rules) cascade.push_back(r);
  }

  // An actual removal: record it, forget any expiry, queue tag_removed rules.
  void take_tag(Partner& partner, TagId tag, RuleId rule, const Context& ctx) {
    partner.tag_bits[tag / 64] &= ~(std::uint64_t{1} << (tag % 64));
    auto& order = partner.tags_in_order;
    order.erase(std::find(order.begin(), order.end(), tag));
    clear_expiry(partner, tag);
    emit_record(partner, RecordAction::remove, program.tags[tag], rule, ctx);
    queue_rules(program.removed_rules[tag]);
  }

  void remove_tag(Partner& partner, TagId tag, RuleId rule, const Context& ctx) {
    if (partner.has(tag)) take_tag(partner, tag, rule, ctx);
  }

  // `add` (expires_after 0) or `add ... for` (§3, §9.12, §9.13).
  void add_tag(Partner& partner, TagId tag, RuleId rule, Seconds expires_after, std::uint32_t pc,
               const Context& ctx) {
    if (partner.has(tag)) {
      Expiry* e = expiry_of(partner, tag);
      if (!e) return;  // permanent stays permanent
      if (expires_after == 0) {
        clear_expiry(partner, tag);  // a plain add makes it permanent
      } else if (now + expires_after > e->deadline) {
        e->deadline = now + expires_after;
        e->rule = rule;
        e->order = pc;
        schedule_expiry(partner, *e);
      }
      return;
    }
    partner.tag_bits[tag / 64] |= std::uint64_t{1} << (tag % 64);
    partner.tags_in_order.push_back(tag);
    emit_record(partner, RecordAction::add, program.tags[tag], rule, ctx);
    queue_rules(program.added_rules[tag]);
    if (expires_after > 0) {
      partner.expiries.push_back({tag, now + expires_after, rule, pc});
      schedule_expiry(partner, partner.expiries.back());
    }
    std::uint32_t group = program.group_of_tag[tag];
    if (group == kNone) return;
    for (TagId other : program.exclusive_groups[group]) {
      if (other != tag && partner.has(other)) take_tag(partner, other, rule, ctx);
    }
  }

  void schedule_expiry(const Partner& partner, Expiry& e) {
    if (e.queued != kNotQueued && e.queued <= e.deadline) return;  // re-pushed when it surfaces
    timers.push({e.deadline, partner.index, e.rule, e.order + 1, e.tag});
    e.queued = e.deadline;
  }

  // ---- rules -------------------------------------------------------------------

  void run_rule(Partner& partner, RuleId id, const Context& ctx) {
    const ProgramRule& rule = program.rules[id];
    if (rule.guard != kNone) {
      int result = evaluate_guard(program, rule.guard, partner, ctx.event, now);
      if (result < 0) ++stats.guard_errors[id];
      if (result <= 0) return;
    }
    ++stats.rule_fires[id];
    const std::uint8_t* code = program.code.data();
    for (std::size_t pc = rule.actions;;) {
      Op op = static_cast<Op>(code[pc]);
      switch (op) {
        case Op::ADD_TAG:
          add_tag(partner, program.read<TagId>(pc + 1), id, 0, 0, ctx);
          break;
        case Op::ADD_TAG_FOR:
          add_tag(partner, program.read<TagId>(pc + 1), id, program.read<std::int64_t>(pc + 5),
                  static_cast<std::uint32_t>(pc), ctx);
          break;
        case Op::REMOVE_TAG:
          remove_tag(partner, program.read<TagId>(pc + 1), id, ctx);
          break;
        case Op::EMIT:
          emit_record(partner, RecordAction::emit,
                      program.texts[program.read<std::uint32_t>(pc + 1)], id, ctx);
          break;
        case Op::END:
          return;
        default:
          assert(false && "a guard opcode among actions");
          return;
      }
      pc += op_info(op).size;
    }
  }

  // A top-level rule, then the cascade it started, first in first out (§4 step 3).
  void run_with_cascade(Partner& partner, RuleId id, const Context& ctx) {
    run_rule(partner, id, ctx);
    drain_cascade(partner, ctx);
  }

  void drain_cascade(Partner& partner, const Context& ctx) {
    while (!cascade.empty()) {
      RuleId next = cascade.front();
      cascade.pop_front();
      run_rule(partner, next, ctx);
    }
  }

  // ---- timers ----------------------------------------------------------------------

  void arm(Partner& partner, std::uint32_t slot, Seconds base) {
    const ProgramRule& rule = program.rules[program.timer_rules[slot]];
    TimerState& t = partner.timers[slot];
    t.armed = true;
    t.deadline = base + rule.duration;
    if (t.queued != kNotQueued && t.queued <= t.deadline) return;  // re-pushed when it surfaces
    timers.push({t.deadline, partner.index, program.timer_rules[slot], 0, kNone});
    t.queued = t.deadline;
  }

  void rearm(Partner& partner, TimerKind kind, Seconds base) {
    for (std::uint32_t slot = 0; slot < program.timer_rules.size(); ++slot) {
      if (program.rules[program.timer_rules[slot]].timer == kind) arm(partner, slot, base);
    }
  }

  // Fires every live timer due at or before `limit`, in (deadline, partner,
  // rule, action/tag) order; stale entries are skipped as they surface.
  void fire_due(Seconds limit) {
    while (!timers.empty() && timers.top().deadline <= limit) {
      TimerEntry e = timers.top();
      timers.pop();
      Partner& partner = partners[e.partner];
      Context ctx{nullptr, e.deadline, true};
      now = e.deadline;
      if (e.order == 0) {
        const ProgramRule& rule = program.rules[e.rule];
        TimerState& t = partner.timers[rule.timer_slot];
        if (t.queued != e.deadline) continue;  // superseded by an earlier deadline
        t.queued = kNotQueued;
        if (!t.armed) continue;
        if (t.deadline > e.deadline) {  // moved later since it was queued
          timers.push({t.deadline, e.partner, e.rule, 0, kNone});
          t.queued = t.deadline;
          continue;
        }
        t.armed = false;  // once per quiet spell; an anniversary once per partner
        ++stats.timers_fired;
        run_with_cascade(partner, e.rule, ctx);
      } else {
        Expiry* x = expiry_of(partner, e.tag);
        if (!x || x->queued != e.deadline) continue;  // removed, or superseded
        x->queued = kNotQueued;
        if (x->deadline > e.deadline) {  // extended since it was queued
          schedule_expiry(partner, *x);
          continue;
        }
        ++stats.timers_fired;
        take_tag(partner, e.tag, x->rule, ctx);
        drain_cascade(partner, ctx);
      }
    }
    now = clock;
  }

  // ---- events ----------------------------------------------------------------------

  Partner& partner_for(const Event& event, bool& created) {
    if (auto known = partner_index.find(event.partner); known != partner_index.end()) {
      created = false;
      return partners[known->second];
    }
    created = true;
    auto it = partner_index
                  .emplace(std::string(event.partner), static_cast<std::uint32_t>(partners.size()))
                  .first;
    Partner& p = partners.emplace_back();
    p.id = it->first;
    p.index = it->second;
    p.tag_bits.assign(tag_words, 0);
    p.milestones.assign(program.milestone_count, false);
    p.timers.resize(program.timer_rules.size());
    p.joined_at = p.last_activity = p.last_referral = event.time;
    for (std::uint32_t slot = 0; slot < program.timer_rules.size(); ++slot)
      arm(p, slot, event.time);
    return p;
  }

  void merge_attributes(Partner& partner, const Event& event) {
    for (const Field& f : event.data) {
      Attribute* a = nullptr;
      for (Attribute& existing : partner.attributes) {
        if (existing.name == f.name) a = &existing;
      }
      if (!a) a = &partner.attributes.emplace_back(Attribute{std::string(f.name), {}, 0, {}});
      a->kind = f.value.kind;
      a->number = f.value.number;
      a->text.assign(f.value.text);
    }
  }

  void move_activity(Partner& partner, Seconds time) {
    if (time <= partner.last_activity) return;  // only forward (§9.4)
    partner.last_activity = time;
    rearm(partner, TimerKind::inactive, time);
  }

  void move_referral(Partner& partner, Seconds time) {
    if (time <= partner.last_referral) return;
    partner.last_referral = time;
    rearm(partner, TimerKind::no_referral, time);
  }

  void join(Partner& partner, Seconds time) {
    partner.joined_at = time;  // every join, even an earlier one (§9.2)
    for (std::uint32_t slot = 0; slot < program.timer_rules.size(); ++slot) {
      const ProgramRule& rule = program.rules[program.timer_rules[slot]];
      TimerState& t = partner.timers[slot];
      if (rule.timer == TimerKind::anniversary && t.armed && t.deadline != time + rule.duration) {
        arm(partner, slot, time);  // the unfired anniversary moves with joined_at
      }
    }
    if (!partner.had_signup) move_referral(partner, time);  // follows joined_at forward (§9.4)
  }

  // §4 step 2. Returns false when a sum would leave the number range.
  bool update_state(Partner& partner, const Event& event, EventType type, std::int64_t amount,
                    std::array<std::int64_t, kMetrics>& before, std::size_t& customers_before) {
    before = partner.metrics;
    customers_before = partner.customers.size();
    auto& m = partner.metrics;
    auto add = [](std::int64_t& to, std::int64_t delta) {
      std::int64_t r;
      if (__builtin_add_overflow(to, delta, &r) || r < -INT64_MAX) return false;
      to = r;
      return true;
    };
    auto index = [](Metric metric) { return static_cast<std::size_t>(metric); };
    switch (type) {
      case EventType::sale: {
        if (!add(m[index(Metric::revenue)], amount)) return false;
        ++m[index(Metric::sales)];
        const Field* customer = event.field("customer");
        if (customer && customer->value.kind == Value::Kind::text)
          if (!partner.customers.contains(customer->value.text))
            partner.customers.emplace(customer->value.text);
        break;
      }
      case EventType::refund:
        if (!add(m[index(Metric::revenue)], -amount)) return false;
        break;
      case EventType::commission:
        if (!add(m[index(Metric::commissions)], amount)) return false;
        break;
      case EventType::click:
        ++m[index(Metric::clicks)];
        break;
      case EventType::signup:
        ++m[index(Metric::signups)];
        break;
      default:
        break;
    }
    if (type == EventType::join) join(partner, event.time);
    if (type == EventType::join || type == EventType::update) merge_attributes(partner, event);
    if (const EventTypeInfo* info =
            type == EventType::custom ? nullptr : &event_types()[static_cast<std::size_t>(type)]) {
      if (info->activity) move_activity(partner, event.time);
      if (info->referral) {
        partner.had_signup = true;
        move_referral(partner, event.time);
      }
    }
    return true;
  }

  std::int64_t metric_now(const Partner& partner, Metric m) const {
    if (m == Metric::customers)
      return static_cast<std::int64_t>(partner.customers.size()) * kMillion;
    std::int64_t raw = partner.metrics[static_cast<std::size_t>(m)];
    return (m == Metric::revenue || m == Metric::commissions) ? raw : raw * kMillion;
  }
};

namespace {
// Drops records: an engine used only for its state still counts them.
class NullSink : public Sink {
 public:
  void record(const ChangeRecord&) override {}
};
NullSink null_sink;
}  // namespace

Engine::Engine(const Program& program, Sink& sink)
    : state_(std::make_unique<State>(program, sink)) {}
Engine::Engine(const Program& program, const EngineOptions& options)
    : state_(std::make_unique<State>(program, options.sink ? *options.sink : null_sink)) {}

PushCounts Engine::push(std::span<const Event> events) {
  PushCounts counts;
  for (const Event& e : events) {
    switch (push(e)) {
      case PushResult::applied:
        ++counts.applied;
        break;
      case PushResult::duplicate:
        ++counts.duplicates;
        break;
      case PushResult::invalid:
        ++counts.invalid;
        break;
    }
  }
  return counts;
}

std::optional<Value> Engine::partner_attribute(std::size_t i, std::string_view name) const {
  const Attribute* a = state_->partners[i].attribute(name);
  if (!a) return std::nullopt;
  return Value{a->kind, a->number, a->text};
}

std::vector<std::size_t> Engine::segment(const Program& segment) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < state_->partners.size(); ++i) {
    if (evaluate_guard(segment, 0, state_->partners[i], nullptr, state_->clock) == 1)
      out.push_back(i);
  }
  return out;
}
Engine::~Engine() = default;

static bool invalid(std::string* why, const char* reason) {
  if (why) *why = reason;
  return false;
}

static bool valid_event(const Event& e, EventType type, std::int64_t& amount, std::string* why) {
  if (e.type.empty()) return invalid(why, "\"type\" is empty");
  if (e.partner.empty()) return invalid(why, "\"partner\" is empty");
  if (type == EventType::sale || type == EventType::refund || type == EventType::commission) {
    const Field* f = e.field("amount");
    if (!f || f->value.kind != Value::Kind::number)
      return invalid(why, "\"data.amount\" is missing or not a number");
    amount = f->value.number;
  }
  return true;
}

PushResult Engine::push(const Event& event, std::string* why) {
  State& s = *state_;
  EventType type = event_type_of(event.type);
  std::int64_t amount = 0;
  if (!valid_event(event, type, amount, why)) {
    ++s.stats.invalid;
    return PushResult::invalid;
  }
  if (type == EventType::sale || type == EventType::refund || type == EventType::commission) {
    // A sum leaving the number range makes the event invalid before it changes anything.
    auto known = s.partner_index.find(event.partner);
    if (known != s.partner_index.end()) {
      const Partner& p = s.partners[known->second];
      Metric m = type == EventType::commission ? Metric::commissions : Metric::revenue;
      std::int64_t sum;
      std::int64_t delta = type == EventType::refund ? -amount : amount;
      if (__builtin_add_overflow(p.metrics[static_cast<std::size_t>(m)], delta, &sum) ||
          sum < -INT64_MAX) {
        if (why) *why = "a metric would leave the number range";
        ++s.stats.invalid;
        return PushResult::invalid;
      }
    }
  }
  if (event.has_id && s.seen_ids.contains(event.id)) {
    ++s.stats.duplicates;  // no effect at all, not even on the clock (§9.1)
    return PushResult::duplicate;
  }
  // Step 1: the clock, and every timer due before this event.
  if (!s.has_clock || event.time > s.clock) {
    if (s.has_clock) s.fire_due(event.time);
    s.clock = event.time;
    s.has_clock = true;
  }
  s.now = s.clock;

  // Step 2: state.
  bool created;
  Partner& partner = s.partner_for(event, created);
  std::array<std::int64_t, kMetrics> before;
  std::size_t customers_before;
  bool in_range = s.update_state(partner, event, type, amount, before, customers_before);
  assert(in_range && "checked before step 1");
  (void)in_range;
  bool first = false;
  if (type != EventType::custom) {
    std::uint8_t bit = static_cast<std::uint8_t>(1u << static_cast<unsigned>(type));
    first = !(partner.firsts & bit);
    partner.firsts |= bit;
  }

  // Step 3: the rules this event triggers, in source order, each with its cascade.
  Context ctx{&event, event.time, false};
  const std::vector<RuleId>* candidates = nullptr;
  if (type == EventType::custom) {
    auto it = s.program.custom_rules.find(event.type);
    if (it != s.program.custom_rules.end()) candidates = &it->second;
  } else {
    candidates = &s.program.event_rules[static_cast<std::size_t>(type)];
  }
  if (candidates) {
    for (RuleId id : *candidates) {
      const ProgramRule& rule = s.program.rules[id];
      if (rule.kind == TriggerKind::first_event && !first) continue;
      if (rule.kind == TriggerKind::milestone) {
        std::size_t m = static_cast<std::size_t>(rule.metric);
        bool changed = rule.metric == Metric::customers
                           ? partner.customers.size() != customers_before
                           : partner.metrics[m] != before[m];
        if (!changed || partner.milestones[rule.milestone_slot] ||
            s.metric_now(partner, rule.metric) < rule.threshold) {
          continue;
        }
        partner.milestones[rule.milestone_slot] =
            true;  // once per partner, whatever the guard says
      }
      s.run_with_cascade(partner, id, ctx);
    }
  }

  // Step 4: timers this event armed with a deadline already passed.
  s.fire_due(s.clock);
  if (event.has_id) s.seen_ids.emplace(event.id);
  ++s.stats.applied;
  return PushResult::applied;
}

void Engine::advance_to(Seconds time) {
  State& s = *state_;
  if (s.has_clock && time <= s.clock) return;
  s.fire_due(time);
  s.clock = time;
  s.has_clock = true;
  s.now = time;
}

const EngineStats& Engine::stats() const {
  return state_->stats;
}
bool Engine::has_clock() const {
  return state_->has_clock;
}
Seconds Engine::clock() const {
  return state_->clock;
}
std::size_t Engine::partner_count() const {
  return state_->partners.size();
}
std::string_view Engine::partner_id(std::size_t i) const {
  return state_->partners[i].id;
}

std::vector<std::string_view> Engine::partner_tags(std::size_t i) const {
  std::vector<std::string_view> out;
  for (TagId t : state_->partners[i].tags_in_order) out.push_back(state_->program.tags[t]);
  return out;
}

std::int64_t Engine::partner_metric(std::size_t i, Metric m) const {
  return state_->metric_now(state_->partners[i], m);
}

std::optional<std::int64_t> Engine::partner_value(std::size_t i, std::string_view name) const {
  const Partner& p = state_->partners[i];
  if (name == "days_since_join" || name == "days_since_activity") {
    return whole_days(name == "days_since_join" ? p.joined_at : p.last_activity, state_->clock);
  }
  for (std::size_t m = 0; m < kMetrics; ++m) {
    if (metrics()[m] == name) return state_->metric_now(p, static_cast<Metric>(m));
  }
  return std::nullopt;
}

std::size_t Engine::find_partner(std::string_view id) const {
  auto it = state_->partner_index.find(id);
  return it == state_->partner_index.end() ? state_->partners.size() : it->second;
}

}  // namespace ptag
