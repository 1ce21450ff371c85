// The evaluation order of language.md §4, step by step.
#include "ptag/engine.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>

#include "ptag/decimal.hpp"
#include "ptag/native_host.hpp"
#include "ptag/string_map.hpp"
#include "ptag/text.hpp"
#include "event_check.hpp"
#include "state.hpp"

namespace ptag {
namespace {

constexpr std::size_t index_of(auto e) {
  return static_cast<std::size_t>(e);
}

}  // namespace

struct Engine::State : DurableState {
  const Program& program;
  Sink& sink;
  EngineStats stats;
  std::string customer_key;  // scratch for `customers`

  TimerQueue timers;  // one live entry per partner
  std::vector<RuleId> cascade;     // one FIFO per event or timer (§9.14)
  std::size_t cascade_head = 0;
  Seconds now = 0;    // what guards and `add ... for` see: the clock, or a timer's deadline

  // The program's rules by trigger (Program::index), so that an event costs
  // what it triggers, not what the program holds.
  const RuleIndex& index;
  std::vector<RuleId> triggered;  // scratch: the rules one event triggers
  bool tracking = false;           // track_changed_partners()
  std::vector<std::uint64_t> changed;  // a bit per partner

  void mark_changed(std::uint32_t n) {
    std::size_t word = n / 64;
    if (word >= changed.size()) changed.resize(std::max(word + 1, partners.size() / 64 + 1));
    changed[word] |= std::uint64_t{1} << (n % 64);
  }

  State(const Program& p, Sink& s) : program(p), sink(s), index(p.index) {
    stats.guard_errors.assign(p.rules.size(), 0);
    stats.rule_fires.assign(p.rules.size(), 0);
    if (p.tags.size() > UINT16_MAX) throw std::length_error("more than 65535 tags");
    more_words = p.tags.size() > 64 ? (p.tags.size() + 63) / 64 - 1 : 0;
    // A partner counts the timers and milestones it has passed in 16 bits.
    for (const auto& order : index.timers)
      if (order.size() > UINT16_MAX) throw std::length_error("more than 65535 timer rules of one kind");
    for (const auto& order : index.milestones)
      if (order.size() > UINT16_MAX) throw std::length_error("more than 65535 milestone rules on one metric");
  }

  // ---- partners ----------------------------------------------------------------

  PartnerView view(std::uint32_t n) const {
    const Partner& p = partners[n];
    return {p, more_words ? &more_tags[n * more_words] : nullptr, more_words,
            p.extra == kNone ? nullptr : &extras[p.extra]};
  }

  bool has(std::uint32_t n, TagId t) const {
    if (t < 64) return (partners[n].tag_bits >> t) & 1;
    return (more_tags[n * more_words + t / 64 - 1] >> (t % 64)) & 1;
  }

  std::uint64_t& word_of(std::uint32_t n, TagId t) {
    return t < 64 ? partners[n].tag_bits : more_tags[n * more_words + t / 64 - 1];
  }

  PartnerExtra& extra_of(std::uint32_t n) {
    Partner& p = partners[n];
    if (p.extra == kNone) {
      p.extra = static_cast<std::uint32_t>(extras.size());
      extras.emplace_back();
    }
    return extras[p.extra];
  }

  std::uint32_t find(std::string_view id, std::uint64_t hash) const {
    return partner_index.find(id, hash, [this](std::uint32_t n) { return partners[n].id.view(); });
  }

  std::uint32_t create(const Event& event, std::uint64_t hash) {
    std::uint32_t n = static_cast<std::uint32_t>(partners.size());
    Partner& p = partners.emplace_back();
    p.id = CompactText(event.partner, id_arena);
    partner_index.insert(hash, n,
                         [this](std::uint32_t i) { return hash_text(partners[i].id.view()); });
    more_tags.resize(more_tags.size() + more_words, 0);
    p.joined_at = p.last_activity = p.last_referral = event.time;
    for (std::size_t k = 0; k < kTimerKinds; ++k) arm(n, k);
    return n;
  }

  // ---- records and tags ------------------------------------------------------

  // Tags and rules past the program's are those only a restored snapshot named.
  std::string_view tag_name(TagId t) const {
    return t < program.tags.size() ? std::string_view(program.tags[t]) : old_tags[t - program.tags.size()];
  }
  std::string_view rule_name(RuleId r) const {
    return r < program.rules.size() ? std::string_view(program.rules[r].name)
                                    : gone_rules[r - program.rules.size()];
  }

  void emit_record(std::uint32_t n, RecordAction action, std::string_view what, RuleId rule,
                   const Context& ctx) {
    ChangeRecord r;
    r.time = ctx.record_time;
    r.partner = partners[n].id.view();
    r.partner_index = n;
    r.action = action;
    r.tag = what;
    r.rule = rule_name(rule);
    r.timer = ctx.cause == RecordCause::timer;
    r.cause = ctx.cause;
    if (ctx.event && ctx.event->has_id) {
      r.has_event_id = true;
      r.event_id = ctx.event->id;
    }
    ++stats.records;
    ++stats.records_by_action[static_cast<std::size_t>(action)];
    sink.record(r);
  }

  Expiry* expiry_of(std::uint32_t n, TagId tag) {
    if (!partners[n].expiring) return nullptr;
    for (Expiry& e : extras[partners[n].extra].expiries) {
      if (e.tag == tag) return &e;
    }
    return nullptr;
  }

  void clear_expiry(std::uint32_t n, TagId tag) {
    if (!partners[n].expiring) return;
    auto& list = extras[partners[n].extra].expiries;
    auto at = std::find_if(list.begin(), list.end(), [tag](const Expiry& e) { return e.tag == tag; });
    if (at != list.end()) list.erase(at);
    partners[n].expiring = !list.empty();
  }

  void queue_rules(const std::vector<RuleId>& rules) {
    cascade.insert(cascade.end(), rules.begin(), rules.end());
  }

  // An actual removal: record it, forget any expiry, queue tag_removed rules.
  void take_tag(std::uint32_t n, TagId tag, RuleId rule, const Context& ctx) {
    word_of(n, tag) &= ~(std::uint64_t{1} << (tag % 64));
    partners[n].tags.erase(tag);
    clear_expiry(n, tag);
    emit_record(n, RecordAction::remove, tag_name(tag), rule, ctx);
    if (tag < program.tags.size()) queue_rules(index.removed[tag]);
  }

  void remove_tag(std::uint32_t n, TagId tag, RuleId rule, const Context& ctx) {
    if (has(n, tag)) take_tag(n, tag, rule, ctx);
  }

  // `add` (expires_after 0) or `add ... for` (§3, §9.12, §9.13).
  void add_tag(std::uint32_t n, TagId tag, RuleId rule, Seconds expires_after, std::uint32_t pc,
               const Context& ctx) {
    if (has(n, tag)) {
      Expiry* e = expiry_of(n, tag);
      if (!e) return;  // permanent stays permanent
      if (expires_after == 0) {
        clear_expiry(n, tag);  // a plain add makes it permanent
      } else if (now + expires_after > e->deadline) {
        // Later: its queue entry finds out when it surfaces.
        Expiry later{tag, now + expires_after, rule, pc + 1};
        PartnerExtra& extra = extras[partners[n].extra];
        extra.expiries.erase(extra.expiries.begin() + (e - extra.expiries.data()));
        extra.add_expiry(later);
      }
      return;
    }
    word_of(n, tag) |= std::uint64_t{1} << (tag % 64);
    partners[n].tags.push_back(tag);
    emit_record(n, RecordAction::add, program.tags[tag], rule, ctx);
    queue_rules(index.added[tag]);
    if (expires_after > 0) {
      extra_of(n).add_expiry({tag, now + expires_after, rule, pc + 1});
      partners[n].expiring = true;
      notify(n, now + expires_after);
    }
    std::uint32_t group = program.group_of_tag[tag];
    if (group == kNone) return;
    for (TagId other : program.exclusive_groups[group]) {
      if (other != tag && has(n, other)) take_tag(n, other, rule, ctx);
    }
  }

  // ---- rules -------------------------------------------------------------------

  void run_rule(std::uint32_t n, RuleId id, const Context& ctx) {
    const ProgramRule& rule = program.rules[id];
    if (rule.guard != kNone) {
      NativeGuard native = program.native ? program.native->guard(id) : nullptr;
      PartnerView seen = view(n);
      int result = 0;
      if (native) {
        NativeFrame frame{reinterpret_cast<const unsigned char*>(&seen.partner), seen.more_tags, seen.more_words,
                          &seen, ctx.event, now, nullptr, nullptr};
        result = native(&frame);
      } else {
        result = evaluate_guard(program, rule.guard, seen, ctx.event, now);
      }
      if (result < 0) ++stats.guard_errors[id];
      if (result <= 0) return;
    }
    fire_rule(n, id, ctx);
  }

  // A rule whose guard held: its actions.
  void fire_rule(std::uint32_t n, RuleId id, const Context& ctx) {
    const ProgramRule& rule = program.rules[id];
    ++stats.rule_fires[id];
    const std::uint8_t* code = program.code.data();
    for (std::size_t pc = rule.actions;;) {
      Op op = static_cast<Op>(code[pc]);
      switch (op) {
        case Op::ADD_TAG:
          add_tag(n, program.read<TagId>(pc + 1), id, 0, 0, ctx);
          break;
        case Op::ADD_TAG_FOR:
          add_tag(n, program.read<TagId>(pc + 1), id, program.read<std::int64_t>(pc + 5),
                  static_cast<std::uint32_t>(pc), ctx);
          break;
        case Op::REMOVE_TAG:
          remove_tag(n, program.read<TagId>(pc + 1), id, ctx);
          break;
        case Op::EMIT:
          emit_record(n, RecordAction::emit, program.texts[program.read<std::uint32_t>(pc + 1)], id,
                      ctx);
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
  void run_with_cascade(std::uint32_t n, RuleId id, const Context& ctx) {
    run_rule(n, id, ctx);
    drain_cascade(n, ctx);
  }

  void drain_cascade(std::uint32_t n, const Context& ctx) {
    while (cascade_head < cascade.size()) run_rule(n, cascade[cascade_head++], ctx);
    cascade.clear();
    cascade_head = 0;
  }

  // An event type's rules as native code (NativeRules): the code runs the
  // guards, and each rule that fires, and each of the event's other rules
  // (firsts, milestones) in its place, comes back here for its actions and
  // cascade, after which the frame sees the partner anew (its further tags
  // may have moved).
  struct NativeRun final : NativeRunner {
    State& s;
    std::uint32_t n;
    const Context& ctx;
    const RuleId* others;  // ascending, ending with kNone
    std::optional<PartnerView> seen;
    NativeFrame frame{};

    NativeRun(State& state, std::uint32_t partner, const Context& c, const RuleId* more)
        : s(state), n(partner), ctx(c), others(more) {
      look();
    }
    void look() {
      seen.emplace(s.view(n));
      frame = {reinterpret_cast<const unsigned char*>(&seen->partner), seen->more_tags, seen->more_words, &*seen,
               ctx.event, s.now, this, others};
    }
    void fire(NativeFrame&, RuleId id) override {
      s.fire_rule(n, id, ctx);
      s.drain_cascade(n, ctx);
      look();
    }
    void guard_error(RuleId id) override { ++s.stats.guard_errors[id]; }
    void others_before(NativeFrame&, RuleId rule) override {
      while (*others < rule) s.run_with_cascade(n, *others++, ctx);
      look();
    }
  };

  // `others`: the event's other triggered rules, ascending, ending with kNone.
  void run_native(std::uint32_t n, std::span<const NativeRules> code, const Context& ctx, const RuleId* others) {
    NativeRun run(*this, n, ctx, others);
    for (NativeRules rules : code) rules(&run.frame);
    if (*run.others != kNone) run.others_before(run.frame, kNone);  // those after the last every-event rule
  }

  // ---- timers ----------------------------------------------------------------------

  // A partner's wake-ups come from providers, each one kind of deadline:
  // the rule timers (anniversary, inactive, no_referral) and the expiring
  // tags. earliest() asks every provider for its next; fire_due() hands the
  // one due back to the provider that offered it. A new kind of wake-up is
  // one more provider in Providers, not a change to the loop.

  // A partner's next wake-up: who offers it, and in what order it fires.
  struct Pending {
    Seconds deadline = 0;
    RuleId rule = 0;
    std::uint32_t order = 0;    // 0 for a rule's trigger, pc + 1 for an expiry
    std::uint8_t provider = 0;  // its index in Providers
    std::uint8_t kind = 0;      // the provider's own: a timer kind
    TagId tag = kNone;          // an expiry's tag

    bool before(const Pending& o) const {
      if (deadline != o.deadline) return deadline < o.deadline;
      if (rule != o.rule) return rule < o.rule;
      return order < o.order;
    }
  };

  // Keeps the earlier of `best` and `c` in `best`; true once either exists.
  static bool offer(Pending& best, bool found, const Pending& c) {
    if (!found || c.before(best)) best = c;
    return true;
  }

  // Rule timers: each kind's rules in latch order from the kind's base time.
  struct RuleTimers {
    static Seconds base_of(const Partner& p, std::size_t kind) {
      switch (static_cast<TimerKind>(kind)) {
        case TimerKind::anniversary: return p.joined_at;
        case TimerKind::inactive: return p.last_activity;
        case TimerKind::no_referral: return p.last_referral;
      }
      return 0;
    }
    static bool next(const State& s, std::uint32_t n, Pending& best, bool found, std::uint8_t id) {
      const Partner& p = s.partners[n];
      for (std::size_t k = 0; k < kTimerKinds; ++k) {
        std::size_t next = p.timer_next[k];
        if (next >= s.index.timers[k].size()) continue;
        found = offer(best, found,
                      {base_of(p, k) + s.index.durations[k][next], s.index.timers[k][next], 0, id,
                       static_cast<std::uint8_t>(k)});
      }
      return found;
    }
    static void fire(State& s, std::uint32_t n, const Pending& due, const Context& ctx) {
      ++s.partners[n].timer_next[due.kind];  // once per quiet spell; an anniversary once
      s.run_with_cascade(n, due.rule, ctx);
    }
  };

  // Expiring tags (`add ... for`): the first expiry fires first.
  struct Expiries {
    static bool next(const State& s, std::uint32_t n, Pending& best, bool found, std::uint8_t id) {
      const Partner& p = s.partners[n];
      if (!p.expiring) return found;
      const Expiry& e = s.extras[p.extra].expiries.front();
      return offer(best, found, {e.deadline, e.rule, e.order, id, 0, e.tag});
    }
    static void fire(State& s, std::uint32_t n, const Pending& due, const Context& ctx) {
      s.take_tag(n, due.tag, due.rule, ctx);
      s.drain_cascade(n, ctx);
    }
  };

  template <typename... P>
  struct ProviderList {
    static bool next(const State& s, std::uint32_t n, Pending& best) {
      bool found = false;
      std::uint8_t id = 0;
      ((found = P::next(s, n, best, found, id++)), ...);
      return found;
    }
    static void fire(State& s, std::uint32_t n, const Pending& due, const Context& ctx) {
      std::uint8_t id = 0;
      ((due.provider == id++ ? P::fire(s, n, due, ctx) : void()), ...);
    }
  };
  using Providers = ProviderList<RuleTimers, Expiries>;

  // The partner's earliest wake-up in (deadline, rule, action) order; false if none.
  bool earliest(std::uint32_t n, Pending& best) const { return Providers::next(*this, n, best); }

  // A deadline of partner n is now `deadline`: queue it unless an entry at
  // or before it is queued already. Later deadlines are found lazily.
  void notify(std::uint32_t n, Seconds deadline) {
    Partner& p = partners[n];
    if (p.queued != kNotQueued && p.queued <= deadline) return;
    timers.push({deadline, n});
    p.queued = deadline;
  }

  // After a restore: one queue entry per partner with a timer, at its
  // earliest deadline. The lazy queue's stale entries never fire anything,
  // and the queue orders equal deadlines by partner: timers fire as they would have (§4).
  void queue_all_timers() {
    Pending next;
    for (std::uint32_t n = 0; n < partners.size(); ++n) {
      if (earliest(n, next)) notify(n, next.deadline);
    }
    now = clock;
  }

  // `backfill` (docs/store.md): the new rules act once, at the clock, for
  // the partners they count as spent for, each with its cascade.
  std::uint64_t run_backfill() {
    std::uint64_t fires = 0;
    Context ctx{nullptr, clock, RecordCause::backfill};
    for (auto [n, rule] : backfill) {
      now = clock;
      std::uint64_t before = stats.rule_fires[rule];
      run_with_cascade(n, rule, ctx);
      fires += stats.rule_fires[rule] - before;
    }
    backfill.clear();
    backfill.shrink_to_fit();
    return fires;
  }

  // (Re-)arms every timer rule of one kind from the kind's base time.
  void arm(std::uint32_t n, std::size_t kind) {
    Partner& p = partners[n];
    p.timer_next[kind] = 0;
    if (!index.timers[kind].empty()) notify(n, RuleTimers::base_of(p, kind) + index.durations[kind][0]);
  }

  // When a bucket of the queue comes due, its partners start loading and
  // the entries superseded by an earlier one are dropped.
  struct LiveTimers {
    const Partner* partners;
    void touch(std::uint32_t n) const { __builtin_prefetch(&partners[n]); }
    bool keep(const TimerEntry& e) const { return partners[e.partner].queued == e.deadline; }
  };

  // Fires every timer due at or before `limit`, in (deadline, partner, rule,
  // action/tag) order. The queue is ordered by (deadline, partner); a
  // partner's own timers at one deadline are ordered here.
  void fire_due(Seconds limit) {
    LiveTimers live{partners.data()};
    while (const TimerEntry* top = timers.next_due(limit, live)) {
      TimerEntry e = *top;
      timers.pop();
      // A later entry's partner loads while this one is handled.
      timers.for_next([this](const TimerEntry& next) {
        __builtin_prefetch(&partners[next.partner]);
        sink.prefetch(next.partner);
      });
      std::uint32_t n = e.partner;
      if (partners[n].queued != e.deadline) continue;  // superseded since its bucket came due
      partners[n].queued = kNotQueued;
      if (tracking) mark_changed(n);  // a timer's `add ... for` may extend an expiry
      Pending next;
      while (earliest(n, next) && next.deadline <= e.deadline) {
        Context ctx{nullptr, next.deadline, RecordCause::timer};
        now = next.deadline;
        ++stats.timers_fired;
        Providers::fire(*this, n, next, ctx);
      }
      if (earliest(n, next)) notify(n, next.deadline);
    }
    now = clock;
  }

  // ---- events ----------------------------------------------------------------------

  void merge_attributes(std::uint32_t n, const Event& event) {
    if (event.data.empty()) return;
    auto& attributes = extra_of(n).attributes;
    for (const Field& f : event.data) {
      Attribute* a = nullptr;
      for (Attribute& existing : attributes) {
        if (existing.name == f.name) a = &existing;
      }
      if (!a) a = &attributes.emplace_back(Attribute{std::string(f.name), {}, 0, {}});
      a->kind = f.value.kind;
      a->number = f.value.number;
      a->text.assign(f.value.text);
    }
  }

  void move_activity(std::uint32_t n, Seconds time) {
    if (time <= partners[n].last_activity) return;  // only forward (§9.4)
    partners[n].last_activity = time;
    arm(n, index_of(TimerKind::inactive));
  }

  void move_referral(std::uint32_t n, Seconds time) {
    if (time <= partners[n].last_referral) return;
    partners[n].last_referral = time;
    arm(n, index_of(TimerKind::no_referral));
  }

  void join(std::uint32_t n, Seconds time) {
    Partner& p = partners[n];
    p.joined_at = time;  // every join, even an earlier one (§9.2)
    constexpr std::size_t k = index_of(TimerKind::anniversary);
    if (p.timer_next[k] < index.timers[k].size())  // unfired anniversaries move with joined_at
      notify(n, time + index.durations[k][p.timer_next[k]]);
    if (!(p.firsts & (1u << index_of(EventType::signup))))
      move_referral(n, time);  // follows joined_at forward (§9.4)
  }

  void add_customer(std::uint32_t n, std::string_view customer, std::size_t slot) {
    customer_key.assign(reinterpret_cast<const char*>(&n), sizeof n);
    customer_key.append(customer);
    if (!customers.insert(customer_key, hash_text(customer_key))) return;
    ++partners[n].counts[slot];
    if (rows.on) {
      rows.customer_partners.push_back(n);
      rows.customers.add(customer);
    }
  }

  // §4 step 2; the sums were checked before step 1.
  void update_state(std::uint32_t n, const Event& event, EventType type, std::int64_t amount) {
    Partner& p = partners[n];
    // The metric table says what each type changes (unrolled: six lines).
    for (const MetricSpec& m : kMetricSpecs) {
      if (m.takes == type && type != EventType::custom) p.money[m.slot] -= amount;
      if (m.adds != type || type == EventType::custom) continue;
      switch (m.by) {
        case MetricChange::one: ++p.counts[m.slot]; break;
        case MetricChange::amount: p.money[m.slot] += amount; break;
        case MetricChange::new_customer: {
          const Field* customer = event.field("customer");
          if (customer && customer->value.kind == Value::Kind::text) add_customer(n, customer->value.text, m.slot);
          break;
        }
      }
    }
    if (type == EventType::join) join(n, event.time);
    if (type == EventType::join || type == EventType::update) merge_attributes(n, event);
    if (type != EventType::custom) {
      const EventTypeInfo& info = event_types()[index_of(type)];
      if (info.activity) move_activity(n, event.time);
      if (info.referral) move_referral(n, event.time);
    }
  }

  // Whether the event would take a sum or count out of its range (§7): then
  // it is invalid and changes nothing.
  bool out_of_range(std::uint32_t n, EventType type, std::int64_t amount) const {
    if (n == PartnerIndex::kMissing) return false;
    const Partner& p = partners[n];
    if (type == EventType::custom) return false;
    for (const MetricSpec& m : kMetricSpecs) {
      bool adds = m.adds == type, takes = m.takes == type;
      if (!adds && !takes) continue;
      if (m.unit == MetricUnit::count) {
        // A new customer may not come: the sale is refused at the limit either way.
        if (p.counts[m.slot] == UINT32_MAX) return true;
        continue;
      }
      std::int64_t sum;
      if (__builtin_add_overflow(p.money[m.slot], takes ? -amount : amount, &sum) || sum < -INT64_MAX) return true;
    }
    return false;
  }

  // §4 step 3: the rules this event triggers, in source order, each with its
  // cascade. Milestones latch here, whatever their guards say.
  void run_event_rules(std::uint32_t n, const Event& event, EventType type, bool first,
                       const std::int64_t (&before)[kMetrics]) {
    Context ctx{&event, event.time, RecordCause::event};
    if (type == EventType::custom) {
      auto it = index.custom.find(event.type);
      if (it == index.custom.end()) return;
      if (program.native) {
        std::span<const NativeRules> code = program.native->custom_rules(it->second.front());
        static constexpr RuleId kNoOthers[] = {kNone};
        if (!code.empty()) return run_native(n, code, ctx, kNoOthers);
      }
      for (RuleId id : it->second) run_with_cascade(n, id, ctx);
      return;
    }
    const std::vector<RuleId>& plain = index.plain[index_of(type)];
    const std::vector<RuleId>& firsts = index.firsts[index_of(type)];
    Partner& p = partners[n];
    bool more = first && !firsts.empty();
    triggered.clear();
    for (std::size_t m = 0; m < kMetrics; ++m) {
      const auto& thresholds = index.thresholds[m];
      std::size_t next = p.milestone_next[m];
      if (next == thresholds.size() || p.raw(static_cast<Metric>(m)) == before[m]) continue;
      std::int64_t value = metric_value(p, static_cast<Metric>(m));
      assert(changes_metric(type, static_cast<Metric>(m)) && "the JIT's NativeRules rely on it");
      for (; next < thresholds.size() && thresholds[next] <= value; ++next)
        triggered.push_back(index.milestones[m][next]);
      p.milestone_next[m] = static_cast<std::uint16_t>(next);
    }
    if (program.native && !plain.empty()) {
      std::span<const NativeRules> code = program.native->event_rules(index_of(type));
      if (!code.empty()) {
        if (more) triggered.insert(triggered.end(), firsts.begin(), firsts.end());
        std::sort(triggered.begin(), triggered.end());
        triggered.push_back(kNone);
        return run_native(n, code, ctx, triggered.data());  // nothing adds to `triggered` meanwhile
      }
    }
    if (!more && triggered.empty()) {
      for (RuleId id : plain) run_with_cascade(n, id, ctx);
      return;
    }
    triggered.insert(triggered.end(), plain.begin(), plain.end());
    if (first) triggered.insert(triggered.end(), firsts.begin(), firsts.end());
    std::sort(triggered.begin(), triggered.end());
    for (RuleId id : triggered) run_with_cascade(n, id, ctx);  // rules never push events
  }

  // Applied events per type; custom types by name, so that the CLI can warn
  // about types no rule uses ("Sale", "purchase").
  void count_type(const Event& event, EventType type) {
    ++stats.by_type[index_of(type)];
    if (type == EventType::sale || type == EventType::refund || type == EventType::commission) count_currency(event);
    if (type != EventType::custom) return;
    auto it = custom_type_index.find(event.type);
    if (it != custom_type_index.end()) {
      ++stats.custom_types[it->second].second;
      return;
    }
    custom_type_index.emplace(std::string(event.type), stats.custom_types.size());
    stats.custom_types.emplace_back(std::string(event.type), 1);
  }
  StringMap<std::size_t> custom_type_index;  // into stats.custom_types

  void count_currency(const Event& event) {
    std::string_view given = event_currency(event);
    if (given.empty()) return;
    std::string code(given);
    for (char& c : code) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    for (auto& [name, count] : stats.currencies)
      if (name == code) return void(++count);
    stats.currencies.emplace_back(std::move(code), 1);
  }

  PushResult push(const Event& event, std::string* why, std::uint64_t partner_hash,
                  std::uint64_t id_hash);
};

// The hashes of the partner and event ids are given: a batch computes them ahead.
PushResult Engine::State::push(const Event& event, std::string* why, std::uint64_t partner_hash,
                               std::uint64_t id_hash) {
  State& s = *this;
  EventType type = event_type_of(event.type);
  std::int64_t amount = 0;
  if (!valid_event(event, type, amount, why, s.program.currency)) {
    ++s.stats.invalid;
    return PushResult::invalid;
  }
  std::uint32_t n = s.find(event.partner, partner_hash);
  if (s.out_of_range(n, type, amount)) {
    if (why) *why = "a metric would leave the number range";
    ++s.stats.invalid;
    return PushResult::invalid;
  }
  if (event.has_id && s.applied_before(event.id, id_hash)) {
    ++s.stats.duplicates;  // no effect at all, not even on the clock (§9.1)
    return PushResult::duplicate;
  }
  s.count_type(event, type);
  if (s.has_clock && event.time < s.clock) {
    ++s.stats.late;
    s.stats.most_late = std::max(s.stats.most_late, s.clock - event.time);
  }
  // Step 1: the clock, and every timer due before this event.
  if (!s.has_clock || event.time > s.clock) {
    if (s.has_clock) s.fire_due(event.time);
    s.clock = event.time;
    s.has_clock = true;
  }
  s.now = s.clock;

  // Step 2: state.
  if (n == PartnerIndex::kMissing) n = s.create(event, partner_hash);
  if (s.tracking) s.mark_changed(n);
  std::int64_t before[kMetrics];
  for (std::size_t m = 0; m < kMetrics; ++m) before[m] = s.partners[n].raw(static_cast<Metric>(m));
  s.update_state(n, event, type, amount);
  bool first = false;
  if (type != EventType::custom) {
    std::uint8_t bit = static_cast<std::uint8_t>(1u << index_of(type));
    first = !(s.partners[n].firsts & bit);
    s.partners[n].firsts |= bit;
  }

  // Step 3: the rules this event triggers.
  s.run_event_rules(n, event, type, first, before);

  // Step 4: timers this event armed with a deadline already passed.
  s.fire_due(s.clock);
  if (event.has_id) {
    if (!s.dedup_window) {
      s.seen_ids.insert(event.id, id_hash);
    } else {
      s.timed_ids.assign(event.id, id_hash, event.time);
      if (s.rows.on) {
        s.rows.timed_ids.add(event.id);
        s.rows.timed_times.push_back(event.time);
      }
      s.forget_ids();
    }
  }
  ++s.stats.applied;
  return PushResult::applied;
}

namespace {
void set_dedup_window(DurableState& s, std::optional<Seconds> window) {
  if (window && *window < 0) throw std::invalid_argument("a dedup window must not be negative");
  s.dedup_window = window;
}

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
    : state_(std::make_unique<State>(program, options.sink ? *options.sink : null_sink)) {
  set_dedup_window(*state_, options.dedup_window);
}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

std::string Engine::snapshot() const {
  return save_snapshot(state_->program, *state_);
}

namespace {
// What every restore does around loading the state (a snapshot or rows):
// the window first, then the ids it forgets, the timer queue and backfill.
template <typename State, typename Load>
void restore_into(State& s, std::optional<Seconds> window, const RestoreOptions& options, const Load& load) {
  set_dedup_window(s, window);
  RuleChanges changes;
  load(options.changes ? &changes : nullptr);
  s.forget_ids();
  s.queue_all_timers();
  if (options.backfill) changes.backfilled = s.run_backfill();
  if (options.changes) *options.changes = std::move(changes);
}
}  // namespace

Engine Engine::restore(const Program& program, Sink& sink, std::string_view snapshot,
                       const RestoreOptions& options) {
  Engine engine(program, sink);
  State& s = *engine.state_;
  restore_into(s, options.dedup_window, options,
               [&](RuleChanges* changes) { load_snapshot(program, snapshot, s, options.backfill, changes); });
  return engine;
}

Engine Engine::restore(const Program& program, const EngineOptions& options,
                       std::string_view snapshot, const RestoreOptions& restore_options) {
  RestoreOptions with = restore_options;
  if (!with.dedup_window) with.dedup_window = options.dedup_window;
  return restore(program, options.sink ? *options.sink : null_sink, snapshot, with);
}

Engine Engine::restore(const Program& program, const EngineOptions& options, StateRowsReader& rows,
                       const RestoreOptions& restore_options) {
  Engine engine(program, options.sink ? *options.sink : null_sink);
  State& s = *engine.state_;
  restore_into(s, restore_options.dedup_window ? restore_options.dedup_window : options.dedup_window,
               restore_options,
               [&](RuleChanges* changes) { load_state_rows(program, rows, s, restore_options.backfill, changes); });
  return engine;
}

void Engine::track_state_rows() {
  State& s = *state_;
  s.tracking = true;
  start_state_rows(s.program, s);
}

StateRows Engine::take_state_rows(std::span<const std::uint32_t> changed) {
  State& s = *state_;
  if (!s.rows.on) throw std::logic_error("Engine::take_state_rows() before track_state_rows()");
  return take_rows(s.program, s, changed);
}

RuleChanges describe_rule_changes(const Program& program, std::string_view snapshot) {
  return describe_snapshot_changes(program, snapshot);
}

// A batch is pipelined: while event i is applied, the table slots of event
// i + 16 and the partner of event i + 8 are fetched from memory, so the cache
// misses of a large state overlap instead of adding up.
PushCounts Engine::push(std::span<const Event> events, std::vector<Rejection>* rejections,
                        bool stop_at_invalid) {
  constexpr std::size_t kSlotsAhead = 16, kPartnerAhead = 8, kRing = 32;
  State& s = *state_;
  struct Hashes {
    std::uint64_t partner, id;
  };
  std::array<Hashes, kRing> ring;
  auto hash = [&](std::size_t i) {
    const Event& e = events[i];
    Hashes& h = ring[i % kRing];
    h.partner = hash_text(e.partner);
    h.id = e.has_id ? hash_text(e.id) : 0;
    s.partner_index.prefetch(h.partner);
    if (e.has_id) s.dedup_window ? s.timed_ids.prefetch(h.id) : s.seen_ids.prefetch(e.id, h.id);
  };
  for (std::size_t i = 0; i < std::min(kSlotsAhead, events.size()); ++i) hash(i);
  PushCounts counts;
  std::string why;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i + kSlotsAhead < events.size()) hash(i + kSlotsAhead);
    if (i + kPartnerAhead < events.size()) {
      const Event& e = events[i + kPartnerAhead];
      std::uint32_t n = s.find(e.partner, ring[(i + kPartnerAhead) % kRing].partner);
      if (n != PartnerIndex::kMissing) {
        __builtin_prefetch(&s.partners[n]);
        __builtin_prefetch(reinterpret_cast<const char*>(&s.partners[n]) + 64);
        s.sink.prefetch(n);
      }
    }
    const Hashes& h = ring[i % kRing];
    switch (s.push(events[i], rejections ? &why : nullptr, h.partner, h.id)) {
      case PushResult::applied:
        ++counts.applied;
        break;
      case PushResult::duplicate:
        ++counts.duplicates;
        break;
      case PushResult::invalid:
        ++counts.invalid;
        if (rejections) rejections->push_back({i, why});
        if (stop_at_invalid) return counts;
        break;
    }
  }
  return counts;
}

bool Engine::check_event(const Event& event, std::string* why) {
  std::int64_t amount = 0;
  return valid_event(event, event_type_of(event.type), amount, why);
}

bool Engine::accepts(const Event& event, std::string* why) const {
  std::int64_t amount = 0;
  return valid_event(event, event_type_of(event.type), amount, why, state_->program.currency);
}

PushResult Engine::push(const Event& event, std::string* why) {
  return state_->push(event, why, hash_text(event.partner), event.has_id ? hash_text(event.id) : 0);
}

void Engine::advance_to(Seconds time) {
  State& s = *state_;
  if (s.has_clock && time <= s.clock) return;
  s.fire_due(time);
  s.clock = time;
  s.has_clock = true;
  s.now = time;
  s.forget_ids();
}

void Engine::track_changed_partners() {
  state_->tracking = true;
}

std::vector<std::uint32_t> Engine::take_changed_partners() {
  std::vector<std::uint32_t> out;
  std::vector<std::uint64_t>& bits = state_->changed;
  for (std::size_t w = 0; w < bits.size(); ++w) {
    for (std::uint64_t word = bits[w]; word != 0; word &= word - 1)
      out.push_back(static_cast<std::uint32_t>(w * 64 + static_cast<std::size_t>(__builtin_ctzll(word))));
    bits[w] = 0;
  }
  return out;
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

namespace {

// Indexes come from the host: one past the table is an error, not a read of
// whatever lies there.
std::uint32_t checked_partner(std::size_t i, std::size_t count) {
  if (i >= count) {
    throw std::out_of_range("partner index " + std::to_string(i) +
                            " is out of range (partner count " + std::to_string(count) + ")");
  }
  return static_cast<std::uint32_t>(i);
}

}  // namespace

std::string_view Engine::partner_id(std::size_t i) const {
  return state_->partners[checked_partner(i, partner_count())].id.view();
}

std::vector<std::string_view> Engine::partner_tags(std::size_t i) const {
  std::vector<std::string_view> out;
  for (TagId t : state_->partners[checked_partner(i, partner_count())].tags)
    out.push_back(state_->tag_name(t));
  return out;
}

std::int64_t Engine::partner_metric(std::size_t i, Metric m) const {
  if (index_of(m) >= kMetrics) {
    throw std::out_of_range("metric " + std::to_string(index_of(m)) + " is out of range (" +
                            std::to_string(kMetrics) + " metrics)");
  }
  return metric_value(state_->partners[checked_partner(i, partner_count())], m);
}

std::optional<std::int64_t> Engine::partner_value(std::size_t i, std::string_view name) const {
  const Partner& p = state_->partners[checked_partner(i, partner_count())];
  if (name == "days_since_join" || name == "days_since_activity") {
    return whole_days(name == "days_since_join" ? p.joined_at : p.last_activity, state_->clock);
  }
  for (std::size_t m = 0; m < kMetrics; ++m) {
    if (metrics()[m] == name) return metric_value(p, static_cast<Metric>(m));
  }
  return std::nullopt;
}

Engine::PartnerTimes Engine::partner_times(std::size_t i) const {
  const Partner& p = state_->partners[checked_partner(i, partner_count())];
  return {p.joined_at, p.last_activity, p.last_referral};
}

std::optional<Seconds> Engine::partner_tag_expiry(std::size_t i, std::string_view tag) const {
  std::uint32_t n = checked_partner(i, partner_count());
  const Partner& p = state_->partners[n];
  if (!p.expiring) return std::nullopt;
  for (const Expiry& e : state_->extras[p.extra].expiries) {
    if (state_->tag_name(e.tag) == tag) return e.deadline;
  }
  return std::nullopt;
}

std::optional<Value> Engine::partner_attribute(std::size_t i, std::string_view name) const {
  const Attribute* a = state_->view(checked_partner(i, partner_count())).attribute(name);
  if (!a) return std::nullopt;
  return Value{a->kind, a->number, a->text};
}

std::vector<std::pair<std::string_view, Value>> Engine::partner_attributes(std::size_t i) const {
  std::vector<std::pair<std::string_view, Value>> out;
  PartnerView v = state_->view(checked_partner(i, partner_count()));
  if (!v.extra) return out;
  for (const Attribute& a : v.extra->attributes) out.push_back({a.name, Value{a.kind, a.number, a.text}});
  return out;
}

std::size_t Engine::timers_pending() const {
  return state_->timers.size();
}

std::optional<std::size_t> Engine::find_partner(std::string_view id) const {
  std::uint32_t n = state_->find(id, hash_text(id));
  if (n == PartnerIndex::kMissing) return std::nullopt;
  return n;
}

std::vector<std::size_t> Engine::segment(const Program& segment) const {
  const std::vector<std::string>& tags = state_->program.tags;
  if (!segment.segment_query) {
    throw std::invalid_argument("Engine::segment: not a segment query (compile it with compile_segment_query)");
  }
  if (segment.tags.size() < tags.size() || !std::equal(tags.begin(), tags.end(), segment.tags.begin())) {
    throw std::invalid_argument(
        "Engine::segment: the segment query was compiled against another program than this engine's");
  }
  // Tags the query names beyond the program's: those partners still hold
  // from an earlier program (by name), or none.
  const Program* query = &segment;
  Program renamed;
  if (segment.tags.size() > tags.size() && !state_->old_tags.empty()) {
    renamed = segment;
    for (std::size_t pc = 0; pc < renamed.code.size();) {
      Op op = static_cast<Op>(renamed.code[pc]);
      if (op == Op::TAGGED) {
        TagId t = renamed.read<TagId>(pc + 1);
        if (t >= tags.size()) {
          auto it = std::find(state_->old_tags.begin(), state_->old_tags.end(), segment.tags[t]);
          t = it == state_->old_tags.end() ? kNone - 1
                                           : static_cast<TagId>(tags.size() + (it - state_->old_tags.begin()));
          std::memcpy(renamed.code.data() + pc + 1, &t, sizeof t);
        }
      }
      pc += op_info(op).size;
    }
    query = &renamed;
  }
  std::vector<std::size_t> out;
  for (std::uint32_t i = 0; i < state_->partners.size(); ++i) {
    if (evaluate_guard(*query, 0, state_->view(i), nullptr, state_->clock) == 1) out.push_back(i);
  }
  return out;
}

}  // namespace ptag
