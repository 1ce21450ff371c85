// Engine snapshots: the engine's whole state as one versioned binary blob
// (docs/semantics.md, "Engine snapshots"). Little-endian fixed-width
// integers, a length before every string and list, a 64-bit checksum at the
// end. The timer queue is not saved: the engine rebuilds it from the
// partners' own deadlines.
#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <string>

#include "ptag/string_map.hpp"
#include "ptag/text.hpp"
#include "snapshot_format.hpp"

namespace ptag {
namespace snapshot_detail {

[[noreturn]] void refuse(const std::string& why) {
  throw std::invalid_argument("engine snapshot: " + why);
}

std::uint64_t checksum(std::string_view bytes) {
  return hash_text(bytes, kChecksumSeed);
}

// ---- the program's identity ------------------------------------------------------

void append_raw(std::string& out, const void* p, std::size_t n) {
  out.append(static_cast<const char*>(p), n);
}
void append_text(std::string& out, std::string_view s) {
  std::uint32_t n = static_cast<std::uint32_t>(s.size());
  append_raw(out, &n, sizeof n);
  out.append(s);
}

// One block of code (a guard up to RETURN, actions up to END) with every
// table index replaced by what it names and jumps made relative, so that the
// text does not depend on where the rule sits in the program.
void append_block(std::string& out, const Program& p, std::size_t pc, Op last) {
  for (;;) {
    Op op = static_cast<Op>(p.code[pc]);
    out.push_back(static_cast<char>(op));
    std::size_t at = pc + 1;
    switch (op) {
      case Op::PUSH_TEXT:
      case Op::EVENT_FIELD:
      case Op::PARTNER_FIELD:
      case Op::EMIT:
        append_text(out, p.texts[p.read<std::uint32_t>(at)]);
        break;
      case Op::PUSH_LIST:
        for (const Constant& c : p.lists[p.read<std::uint32_t>(at)]) {
          out.push_back(static_cast<char>(c.kind));
          if (c.kind == Constant::Kind::text) append_text(out, p.texts[c.text]);
          else append_raw(out, &c.number, sizeof c.number);
        }
        out.push_back('\xff');
        break;
      case Op::TAGGED:
      case Op::ADD_TAG:
      case Op::REMOVE_TAG:
      case Op::ADD_TAG_FOR:
        append_text(out, p.tags[p.read<std::uint32_t>(at)]);
        if (op == Op::ADD_TAG_FOR) append_raw(out, p.code.data() + at + 4, 8);
        break;
      case Op::AND_THEN:
      case Op::OR_ELSE: {
        std::int64_t jump = std::int64_t{p.read<std::uint32_t>(at)} - static_cast<std::int64_t>(pc);
        append_raw(out, &jump, sizeof jump);
        break;
      }
      default:
        append_raw(out, p.code.data() + at, op_info(op).size - 1);
        break;
    }
    if (op == last) return;
    pc += op_info(op).size;
  }
}

// A rule's trigger, guard and actions, independent of its place: the third
// part of its identity (with its name and trigger text), kept per rule so
// that a later format can match rules of a changed program (§6).
std::uint64_t rule_fingerprint(const Program& p, const ProgramRule& r) {
  std::string out;
  out.push_back(static_cast<char>(r.kind));
  out.push_back(static_cast<char>(r.event_type));
  append_text(out, r.custom_type == kNone ? std::string_view() : p.texts[r.custom_type]);
  append_text(out, r.tag == kNone ? std::string_view() : p.tags[r.tag]);
  out.push_back(r.on_added ? 1 : 0);
  out.push_back(static_cast<char>(r.metric));
  append_raw(out, &r.threshold, sizeof r.threshold);
  out.push_back(static_cast<char>(r.timer));
  append_raw(out, &r.duration, sizeof r.duration);
  if (r.guard != kNone) append_block(out, p, r.guard, Op::RETURN);
  out.push_back('|');
  append_block(out, p, r.actions, Op::END);
  return hash_text(out);
}

// Everything else of the program: the disassembly names every table.
std::uint64_t program_fingerprint(const Program& p) {
  return hash_text(disassemble(p));
}

std::uint8_t rule_sub(const ProgramRule& r) {
  switch (r.kind) {
    case TriggerKind::each_event:
    case TriggerKind::first_event: return static_cast<std::uint8_t>(r.event_type);
    case TriggerKind::milestone: return static_cast<std::uint8_t>(r.metric);
    case TriggerKind::timer: return static_cast<std::uint8_t>(r.timer);
    default: return 0;
  }
}
std::int64_t rule_key(const ProgramRule& r) {
  if (r.kind == TriggerKind::milestone) return r.threshold;
  if (r.kind == TriggerKind::timer) return r.duration;
  return 0;
}

SaveMap save_map(const Program& p, const DurableState& s) {
  SaveMap m;
  std::size_t tags = p.tags.size(), rules = p.rules.size();
  m.tag.assign(tags + s.old_tags.size(), kNone);
  m.rule.assign(rules + s.gone_rules.size(), kNone);
  for (std::uint32_t t = 0; t < tags; ++t) m.tag[t] = t;
  for (std::uint32_t r = 0; r < rules; ++r) m.rule[r] = r;
  if (s.old_tags.empty() && s.gone_rules.empty()) return m;
  std::vector<bool> held(s.old_tags.size()), named(s.gone_rules.size());
  for (const Partner& partner : s.partners) {
    for (TagId t : partner.tags) {
      if (t >= tags) held[t - tags] = true;
    }
    if (!partner.expiring) continue;
    for (const Expiry& e : s.extras[partner.extra].expiries) {
      if (e.rule >= rules) named[e.rule - rules] = true;
    }
  }
  for (std::size_t i = 0; i < held.size(); ++i) {
    if (!held[i]) continue;
    m.tag[tags + i] = static_cast<std::uint32_t>(tags + m.tags.size());
    m.tags.push_back(s.old_tags[i]);
  }
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (!named[i]) continue;
    m.rule[rules + i] = static_cast<std::uint32_t>(rules + m.gone.size());
    m.gone.push_back(s.gone_rules[i]);
  }
  return m;
}

void write_program(Writer& w, const Program& p, const SaveMap& m) {
  w.count(p.rules.size() + m.gone.size());
  for (const ProgramRule& r : p.rules) {
    w.str(r.name);
    w.u8(r.named ? kRuleNamed : 0);
    w.str(r.trigger_text);
    w.u64(rule_fingerprint(p, r));
    w.u8(static_cast<std::uint8_t>(r.kind));
    w.u8(rule_sub(r));
    w.i64(rule_key(r));
  }
  for (std::string_view name : m.gone) {
    w.str(name);
    w.u8(kRuleGone);
    w.str("");
    w.u64(0);
    w.u8(0);
    w.u8(0);
    w.i64(0);
  }
  w.count(p.tags.size() + m.tags.size());
  for (const std::string& t : p.tags) {
    w.str(t);
    w.u8(0);
  }
  for (std::string_view t : m.tags) {
    w.str(t);
    w.u8(kTagHeldOnly);
  }
  w.u64(program_fingerprint(p));
}

OldProgram read_program(Reader& r, std::uint32_t version) {
  r.section = "program";
  OldProgram old;
  old.version = version;
  std::size_t rules = r.count(version == 1 ? 16 : 27, r.u32());
  for (std::size_t i = 0; i < rules; ++i) {
    OldRule& rule = old.rules.emplace_back();
    rule.name = r.str();
    if (version >= 2) {
      std::uint8_t flags = r.u8();
      if (flags > (kRuleNamed | kRuleGone)) r.malformed("unknown rule flags");
      rule.named = flags & kRuleNamed;
      rule.gone = flags & kRuleGone;
    }
    rule.trigger = r.str();
    rule.fingerprint = r.u64();
    if (version >= 2) {
      std::uint8_t kind = r.u8();
      if (kind > static_cast<std::uint8_t>(TriggerKind::tag_change)) r.malformed("an unknown trigger kind");
      rule.kind = static_cast<TriggerKind>(kind);
      rule.sub = r.u8();
      rule.key = r.i64();
      if ((rule.kind == TriggerKind::milestone && rule.sub >= kMetrics) ||
          (rule.kind == TriggerKind::timer && rule.sub >= kTimerKinds) ||
          ((rule.kind == TriggerKind::each_event || rule.kind == TriggerKind::first_event) &&
           rule.sub >= static_cast<std::uint8_t>(EventType::custom)))
        r.malformed("an unknown trigger");
    }
  }
  std::size_t tags = r.count(version == 1 ? 4 : 5, r.u32());
  StringMap<std::size_t> seen;
  for (std::size_t i = 0; i < tags; ++i) {
    old.tags.push_back(r.str());
    std::uint8_t flags = version >= 2 ? r.u8() : 0;
    if (flags > kTagHeldOnly) r.malformed("unknown tag flags");
    old.held_only.push_back(flags & kTagHeldOnly);
    if (!seen.emplace(std::string(old.tags.back()), i).second) r.malformed("a tag twice");
  }
  old.fingerprint = r.u64();
  return old;
}

// Whether the snapshot's program is this one. Strictly: nothing else is in
// it either (no removed rule or tag kept for the partners' sake), so that
// the state loads as it is.
bool same_program(const OldProgram& old, const Program& p, bool strict) {
  if (old.rules.size() < p.rules.size() || old.tags.size() < p.tags.size()) return false;
  if (strict && (old.rules.size() != p.rules.size() || old.tags.size() != p.tags.size())) return false;
  for (std::size_t i = 0; i < old.rules.size(); ++i) {
    const OldRule& o = old.rules[i];
    if (i >= p.rules.size()) {
      if (!o.gone) return false;
      continue;
    }
    const ProgramRule& r = p.rules[i];
    if (o.gone || o.name != r.name || o.trigger != r.trigger_text || o.fingerprint != rule_fingerprint(p, r))
      return false;
    if (old.version >= 2 && (o.named != r.named || o.kind != r.kind || o.sub != rule_sub(r) || o.key != rule_key(r)))
      return false;
  }
  for (std::size_t i = 0; i < old.tags.size(); ++i) {
    if (i < p.tags.size() ? old.tags[i] != p.tags[i] || old.held_only[i] : !old.held_only[i]) return false;
  }
  return old.fingerprint == program_fingerprint(p);
}

// Rules of one trigger kind (and metric or timer kind) in latch order.
template <typename Key>
std::vector<std::uint32_t> latch_order(std::vector<std::uint32_t> ids, Key key) {
  std::stable_sort(ids.begin(), ids.end(), [&](std::uint32_t a, std::uint32_t b) { return key(a) < key(b); });
  return ids;
}

Plan make_plan(const OldProgram& old, const Program& p, RuleChanges* changes) {
  Plan plan;
  std::size_t n_old = old.rules.size(), n_new = p.rules.size();
  plan.same = same_program(old, p, true);
  std::vector<std::uint64_t> fingerprints;
  for (const ProgramRule& r : p.rules) fingerprints.push_back(rule_fingerprint(p, r));
  plan.old_of_new.assign(n_new, kNone);
  plan.key_changed.assign(n_new, false);
  plan.rule_of_old.assign(n_old, kNone);
  plan.carries.assign(n_old, false);
  if (plan.same) {
    for (RuleId i = 0; i < n_new; ++i) plan.old_of_new[i] = plan.rule_of_old[i] = i;
  } else {
    if (old.version < 2) {
      refuse("written by an earlier ptag (format version 1), which cannot be matched with changed rules; "
             "run once more with the rules that wrote it (that upgrades the snapshot), then change the rules");
    }
    auto match = [&](std::uint32_t o, RuleId r) {
      plan.old_of_new[r] = o;
      plan.rule_of_old[o] = r;
    };
    StringMap<std::uint32_t> named;
    for (std::uint32_t o = 0; o < n_old; ++o) {
      if (!old.rules[o].gone && old.rules[o].named) named.emplace(std::string(old.rules[o].name), o);
    }
    for (RuleId r = 0; r < n_new; ++r) {
      if (!p.rules[r].named) continue;
      auto it = named.find(p.rules[r].name);
      if (it != named.end()) match(it->second, r);
    }
    // By text: unnamed with unnamed, then a rule that gained or lost its name.
    for (int pass = 0; pass < 2; ++pass) {
      for (RuleId r = 0; r < n_new; ++r) {
        if (plan.old_of_new[r] != kNone || (pass == 0 && p.rules[r].named)) continue;
        for (std::uint32_t o = 0; o < n_old; ++o) {
          const OldRule& c = old.rules[o];
          if (c.gone || plan.rule_of_old[o] != kNone || (c.named == p.rules[r].named) != (pass == 0)) continue;
          if (c.fingerprint == fingerprints[r] && c.trigger == p.rules[r].trigger_text) {
            match(o, r);
            break;
          }
        }
      }
    }
  }
  for (std::uint32_t o = 0; o < n_old; ++o) {
    const OldRule& c = old.rules[o];
    RuleId r = plan.rule_of_old[o];
    if (r == kNone) {
      plan.rule_of_old[o] = static_cast<RuleId>(n_new + plan.gone_names.size());
      plan.gone_names.emplace_back(c.name);
      if (changes && !c.gone) changes->removed.emplace_back(c.name);
      continue;
    }
    const ProgramRule& now = p.rules[r];
    plan.carries[o] = plan.same || (c.kind == now.kind && c.sub == rule_sub(now));
    plan.key_changed[r] = !plan.same && plan.carries[o] && c.key != rule_key(now);
  }
  if (changes) {
    changes->same_program = plan.same || same_program(old, p, false);
    for (RuleId r = 0; r < n_new; ++r) {
      std::uint32_t o = plan.old_of_new[r];
      if (o == kNone) {
        changes->added.push_back(p.rules[r].name);
        continue;
      }
      const OldRule& c = old.rules[o];
      changes->kept.push_back({p.rules[r].name, std::string(c.name),
                               c.fingerprint != fingerprints[r] || c.trigger != p.rules[r].trigger_text});
    }
  }
  // Tags by name; a tag the program no longer names stays, after the program's.
  StringMap<TagId> tag_ids;
  for (TagId t = 0; t < p.tags.size(); ++t) tag_ids.emplace(p.tags[t], t);
  for (std::size_t i = 0; i < old.tags.size(); ++i) {
    auto it = tag_ids.find(old.tags[i]);
    if (it != tag_ids.end()) {
      plan.tag_of_old.push_back(it->second);
      continue;
    }
    plan.tag_of_old.push_back(static_cast<TagId>(p.tags.size() + plan.orphan_tags.size()));
    plan.orphan_tags.emplace_back(old.tags[i]);
    if (changes && !old.held_only[i]) changes->tags_removed.emplace_back(old.tags[i]);
  }
  if (p.tags.size() + plan.orphan_tags.size() > UINT16_MAX) refuse("more than 65535 tags with the snapshot's");
  // The snapshot's latch orders (format 1 is only ever the same program).
  plan.old_pos.assign(n_old, 0);
  for (std::size_t k = 0; k < kTimerKinds + kMetrics; ++k) {
    bool timer = k < kTimerKinds;
    std::vector<std::uint32_t> ids;
    for (std::uint32_t o = 0; o < n_old; ++o) {
      const OldRule& c = old.rules[o];
      bool in = old.version < 2 ? false
                                : !c.gone && c.kind == (timer ? TriggerKind::timer : TriggerKind::milestone) &&
                                      c.sub == (timer ? k : k - kTimerKinds);
      if (old.version < 2) {  // the same program: its own rules say
        const ProgramRule& r = p.rules[o];
        in = r.kind == (timer ? TriggerKind::timer : TriggerKind::milestone) &&
             rule_sub(r) == (timer ? k : k - kTimerKinds);
      }
      if (in) ids.push_back(o);
    }
    auto key = [&](std::uint32_t o) { return old.version < 2 ? rule_key(p.rules[o]) : old.rules[o].key; };
    ids = latch_order(std::move(ids), key);
    for (std::size_t i = 0; i < ids.size(); ++i) plan.old_pos[ids[i]] = static_cast<std::uint16_t>(i);
    (timer ? plan.old_timers[k] : plan.old_milestones[k - kTimerKinds]) = ids.size();
    // The program's own latch order (Program::index).
    (timer ? plan.timers[k] : plan.milestones[k - kTimerKinds]) =
        timer ? p.index.timers[k] : p.index.milestones[k - kTimerKinds];
  }
  for (RuleId r = 0; r < n_new; ++r) {
    if (p.rules[r].kind == TriggerKind::first_event) plan.firsts.push_back(r);
  }
  return plan;
}

// ---- partners ----------------------------------------------------------------------

void write_partner(Writer& w, const Program& prog, const DurableState& s, const SaveMap& m,
                   const Partner& p) {
  w.str(p.id.view());
  for (std::int64_t v : p.money) w.i64(v);
  w.i64(p.joined_at);
  w.i64(p.last_activity);
  w.i64(p.last_referral);
  for (std::uint32_t c : p.counts) w.u32(c);
  w.u8(p.firsts);
  for (std::uint16_t t : p.timer_next) w.u16(t);
  for (std::uint16_t ms : p.milestone_next) w.u16(ms);
  w.u16(static_cast<std::uint16_t>(p.tags.size()));
  for (TagId t : p.tags) w.u16(static_cast<std::uint16_t>(m.tag[t]));
  const PartnerExtra* extra = p.extra == kNone ? nullptr : &s.extras[p.extra];
  w.count(extra ? extra->attributes.size() : 0);
  if (extra) {
    for (const Attribute& a : extra->attributes) {
      w.str(a.name);
      w.u8(static_cast<std::uint8_t>(a.kind));
      w.i64(a.number);
      w.str(a.text);
    }
  }
  w.count(extra && p.expiring ? extra->expiries.size() : 0);
  if (extra && p.expiring) {
    for (const Expiry& e : extra->expiries) {
      w.u16(static_cast<std::uint16_t>(m.tag[e.tag]));
      w.i64(e.deadline);
      w.u32(m.rule[e.rule]);
      // The action's place in its rule, so that a moved rule keeps its order
      // (a removed rule's expiries keep it relative already).
      w.u32(e.rule < prog.rules.size() ? e.order - prog.rules[e.rule].actions : e.order);
    }
  }
}

// A partner's latch counters for this program's orders, from the snapshot's:
// a matched rule keeps its latch; a new one (or a matched one whose
// threshold or duration changed and had not fired) counts as spent when its
// condition holds now; and a rule sorted before a spent one counts as spent
// (the counters can say no more). Rules spent because their condition holds
// now go to `acts`, for backfill.
void convert_latches(const Plan& plan, const Program& prog, const DurableState& s, Partner& p,
                     const std::uint16_t (&timers)[kTimerKinds], const std::uint16_t (&milestones)[kMetrics],
                     std::vector<RuleId>& acts) {
  auto spent = [&](RuleId r, std::size_t old_next, bool holds) {
    std::uint32_t o = plan.old_of_new[r];
    if (o != kNone && plan.carries[o]) {
      if (plan.old_pos[o] < old_next) return true;
      if (!plan.key_changed[r]) return false;
    }
    if (holds) acts.push_back(r);
    return holds;
  };
  for (std::size_t m = 0; m < kMetrics; ++m) {
    std::size_t next = 0;
    std::int64_t value = metric_value(p, static_cast<Metric>(m));
    for (std::size_t i = 0; i < plan.milestones[m].size(); ++i) {
      RuleId r = plan.milestones[m][i];
      if (spent(r, milestones[m], value >= prog.rules[r].threshold)) next = i + 1;
    }
    p.milestone_next[m] = static_cast<std::uint16_t>(next);
  }
  for (std::size_t k = 0; k < kTimerKinds; ++k) {
    Seconds base = k == 0 ? p.joined_at : k == 1 ? p.last_activity : p.last_referral;
    std::size_t next = 0;
    for (std::size_t i = 0; i < plan.timers[k].size(); ++i) {
      RuleId r = plan.timers[k][i];
      if (spent(r, timers[k], s.has_clock && base + prog.rules[r].duration <= s.clock)) next = i + 1;
    }
    p.timer_next[k] = static_cast<std::uint16_t>(next);
  }
  for (RuleId r : plan.firsts) {
    std::uint32_t o = plan.old_of_new[r];
    if ((o == kNone || !plan.carries[o]) && (p.firsts >> static_cast<unsigned>(prog.rules[r].event_type)) & 1)
      acts.push_back(r);
  }
}

// Version 4's applied ids: prefixes, words of bits, then the other ids.
void read_applied_ids(Reader& r, AppliedIds& ids) {
  std::size_t prefixes = r.count(4, r.u32());
  for (std::size_t i = 0; i < prefixes; ++i)
    if (!ids.add_prefix(r.str())) r.malformed("a prefix twice, or too many");
  std::size_t words = r.count(17, r.u64());
  for (std::size_t i = 0; i < words; ++i) {
    std::uint32_t prefix = r.u8();
    std::uint64_t block = r.u64();
    if (!ids.add_word(prefix, block, r.u64())) r.malformed("a word of bits twice, empty or of no prefix");
  }
  std::size_t texts = r.count(4, r.u64());
  ids.reserve_texts(texts);
  for (std::size_t i = 0; i < texts; ++i) {
    std::string_view id = r.str();
    if (!ids.add_text(id, hash_text(id))) r.malformed("an id twice, or a numbered id as text");
  }
}

void read_partner(Reader& r, const Program& prog, const OldProgram& old, const Plan& plan, DurableState& s,
                  bool backfill) {
  std::uint32_t n = static_cast<std::uint32_t>(s.partners.size());
  std::string_view id = r.str();
  if (id.empty()) r.malformed("a partner without an id");
  std::uint64_t hash = hash_text(id);
  auto id_of = [&s](std::uint32_t i) { return s.partners[i].id.view(); };
  if (s.partner_index.find(id, hash, id_of) != PartnerIndex::kMissing)
    r.malformed("partner " + json_quote(id) + " twice");
  Partner& p = s.partners.emplace_back();
  p.id = CompactText(id, s.id_arena);
  s.partner_index.insert(hash, n, [&s](std::uint32_t i) { return hash_text(s.partners[i].id.view()); });
  s.more_tags.resize(s.more_tags.size() + s.more_words, 0);
  for (std::int64_t& v : p.money) v = r.i64();
  p.joined_at = r.i64();
  p.last_activity = r.i64();
  p.last_referral = r.i64();
  for (std::uint32_t& c : p.counts) c = r.u32();
  p.firsts = r.u8();
  if (p.firsts >> static_cast<unsigned>(EventType::custom)) r.malformed("unknown event types seen");
  std::uint16_t timers[kTimerKinds], milestones[kMetrics];
  for (std::size_t k = 0; k < kTimerKinds; ++k) {
    timers[k] = r.u16();
    if (timers[k] > plan.old_timers[k]) r.malformed("more timers fired than the program has");
  }
  for (std::size_t m = 0; m < kMetrics; ++m) {
    milestones[m] = r.u16();
    if (milestones[m] > plan.old_milestones[m]) r.malformed("more milestones latched than the program has");
  }
  if (plan.same) {
    std::copy(std::begin(timers), std::end(timers), p.timer_next);
    std::copy(std::begin(milestones), std::end(milestones), p.milestone_next);
  } else {
    std::vector<RuleId> acts;
    convert_latches(plan, prog, s, p, timers, milestones, acts);
    if (backfill) {
      std::sort(acts.begin(), acts.end());
      for (RuleId a : acts) s.backfill.emplace_back(n, a);
    }
  }
  auto word = [&](TagId t) -> std::uint64_t& {
    return t < 64 ? p.tag_bits : s.more_tags[n * s.more_words + t / 64 - 1];
  };
  for (std::size_t i = 0, tags = r.u16(); i < tags; ++i) {
    std::uint16_t old_tag = r.u16();
    if (old_tag >= old.tags.size()) r.malformed("an unknown tag");
    TagId t = plan.tag_of_old[old_tag];
    std::uint64_t bit = std::uint64_t{1} << (t % 64);
    if (word(t) & bit) r.malformed("a tag twice");
    word(t) |= bit;
    p.tags.push_back(t);
  }
  std::size_t attributes = r.count(4 + 1 + 8 + 4, r.u32());
  PartnerExtra extra;
  for (std::size_t i = 0; i < attributes; ++i) {
    Attribute& a = extra.attributes.emplace_back();
    a.name = r.str();
    std::uint8_t kind = r.u8();
    if (kind > static_cast<std::uint8_t>(Value::Kind::boolean)) r.malformed("an unknown attribute kind");
    a.kind = static_cast<Value::Kind>(kind);
    a.number = r.i64();
    a.text = r.str();
  }
  std::size_t expiries = r.count(2 + 8 + 4 + 4, r.u32());
  for (std::size_t i = 0; i < expiries; ++i) {
    std::uint16_t old_tag = r.u16();
    Expiry e{0, r.i64(), r.u32(), r.u32()};
    if (old_tag >= old.tags.size()) r.malformed("an expiry of an unknown tag");
    e.tag = plan.tag_of_old[old_tag];
    if (!(word(e.tag) & (std::uint64_t{1} << (e.tag % 64)))) r.malformed("an expiry of a tag the partner does not have");
    if (e.rule >= old.rules.size()) r.malformed("an expiry of an unknown rule");
    e.rule = plan.rule_of_old[e.rule];
    if (old.version >= 2 && e.rule < prog.rules.size()) e.order += prog.rules[e.rule].actions;
    for (const Expiry& other : extra.expiries) {
      if (other.tag == e.tag) r.malformed("a tag expiring twice");
    }
    extra.add_expiry(e);  // a changed program may order its rules anew
  }
  if (!extra.attributes.empty() || !extra.expiries.empty()) {
    p.extra = static_cast<std::uint32_t>(s.extras.size());
    p.expiring = !extra.expiries.empty();
    s.extras.push_back(std::move(extra));
  }
}

// The header and checksum checked: the payload after the header, and the version.
std::pair<std::string_view, std::uint32_t> open_blob(std::string_view blob) {
  if (blob.empty()) refuse("empty");
  if (blob.substr(0, kMagic.size()) != kMagic.substr(0, std::min(blob.size(), kMagic.size())))
    refuse("not a ptag engine snapshot (it does not start with \"PTAGSNAP\")");
  if (blob.size() < kHeader + kChecksum)
    refuse("truncated (" + std::to_string(blob.size()) + " bytes, shorter than a header)");
  Reader header(blob.substr(kMagic.size(), kHeader - kMagic.size()));
  std::uint32_t version = header.u32();
  if (version > kVersion) {
    refuse("format version " + std::to_string(version) + " is newer than this ptag reads (" +
           std::to_string(kVersion) + "); use a newer ptag");
  }
  if (version == 0) refuse("corrupt (format version 0)");
  header.u32();  // flags: none are defined
  std::uint64_t length = header.u64();
  if (length > blob.size()) {
    refuse("truncated (" + std::to_string(blob.size()) + " bytes of " + std::to_string(length) + ")");
  }
  if (length < blob.size()) {
    refuse("corrupt (" + std::to_string(blob.size() - length) + " bytes after its end)");
  }
  std::string_view body = blob.substr(0, blob.size() - kChecksum);
  if (checksum(body) != Reader(blob.substr(body.size())).u64())
    refuse("corrupt (the checksum does not match its content)");
  return {body.substr(kHeader), version};
}

}  // namespace snapshot_detail

using namespace snapshot_detail;

std::string save_snapshot(const Program& program, const DurableState& s) {
  Writer w;
  w.out.reserve(kHeader + s.partners.size() * 96 + s.seen_ids.size() / 4 + 4096);
  w.out.append(kMagic);
  w.u32(s.dedup_window ? 3 : 4);
  w.u32(0);  // flags: none yet
  w.u64(0);  // the total length, filled in below
  SaveMap map = save_map(program, s);
  write_program(w, program, map);
  w.u8(s.has_clock ? 1 : 0);
  w.i64(s.clock);
  w.count(s.partners.size());
  for (const Partner& p : s.partners) write_partner(w, program, s, map, p);
  // Customers and ids as text in a fixed order, not the hash tables': the
  // same state gives the same bytes however it was built (restored from
  // rows, say).
  std::vector<std::pair<std::uint32_t, std::string_view>> customers;
  customers.reserve(s.customers.size());
  s.customers.for_each([&customers](std::string_view key) {  // partner number, then the customer id
    std::uint32_t n;
    std::memcpy(&n, key.data(), sizeof n);
    customers.emplace_back(n, key.substr(sizeof n));
  });
  std::sort(customers.begin(), customers.end());
  w.u64(customers.size());
  for (const auto& [n, customer] : customers) {
    w.u32(n);
    w.str(customer);
  }
  if (!s.dedup_window) {
    const std::vector<std::string>& prefixes = s.seen_ids.prefixes();
    w.u32(static_cast<std::uint32_t>(prefixes.size()));
    for (const std::string& p : prefixes) w.str(p);
    std::vector<AppliedIds::Word> words = s.seen_ids.words();
    w.u64(words.size());
    for (const AppliedIds::Word& word : words) {
      w.u8(static_cast<std::uint8_t>(word.prefix));
      w.u64(word.block);
      w.u64(word.bits);
    }
    std::vector<std::string_view> texts;
    s.seen_ids.for_each_text([&texts](std::string_view id) { texts.push_back(id); });
    std::sort(texts.begin(), texts.end());
    w.u64(texts.size());
    for (std::string_view id : texts) w.str(id);
  } else {
    // Only ids inside the window, by time then id: the same bytes whether or
    // not the engine had got round to forgetting the others.
    std::vector<std::pair<Seconds, std::string_view>> ids;
    s.timed_ids.for_each([&](std::string_view id, Seconds t) {
      if (t >= s.window_start()) ids.emplace_back(t, id);
    });
    std::sort(ids.begin(), ids.end());
    w.u64(ids.size());
    for (const auto& [t, id] : ids) {
      w.i64(t);
      w.str(id);
    }
  }
  w.patch_u64(16, w.out.size() + kChecksum);
  w.u64(checksum(w.out));
  return std::move(w.out);
}

RuleChanges describe_snapshot_changes(const Program& program, std::string_view blob) {
  auto [payload, version] = open_blob(blob);
  Reader r(payload);
  OldProgram old = read_program(r, version);
  RuleChanges changes;
  make_plan(old, program, &changes);
  return changes;
}

void load_snapshot(const Program& program, std::string_view blob, DurableState& s, bool backfill,
                   RuleChanges* changes) {
  auto [payload, version] = open_blob(blob);
  Reader r(payload);
  OldProgram old = read_program(r, version);
  Plan plan = make_plan(old, program, changes);
  s.old_tags = std::move(plan.orphan_tags);
  s.gone_rules = std::move(plan.gone_names);
  std::size_t tags = program.tags.size() + s.old_tags.size();
  s.more_words = tags > 64 ? (tags + 63) / 64 - 1 : 0;
  r.section = "clock";
  std::uint8_t has_clock = r.u8();
  if (has_clock > 1) r.malformed("has_clock is not 0 or 1");
  s.has_clock = has_clock == 1;
  s.clock = r.i64();
  r.section = "partners";
  std::size_t partners = r.count(kPartnerMinBytes, r.u32());
  s.partners.reserve(partners);
  for (std::size_t i = 0; i < partners; ++i) read_partner(r, program, old, plan, s, backfill);
  r.section = "customers";
  std::string key;
  std::size_t customers = r.count(8, r.u64());
  s.customers.reserve(customers);
  for (std::size_t i = 0; i < customers; ++i) {
    std::uint32_t partner = r.u32();
    if (partner >= partners) r.malformed("a customer of an unknown partner");
    key.assign(reinterpret_cast<const char*>(&partner), sizeof partner);
    key.append(r.str());
    if (!s.customers.insert(key, hash_text(key))) r.malformed("a customer twice");
  }
  r.section = "applied ids";
  if (version >= 4) {
    if (s.dedup_window) {
      // Saved without a window: every id counts as applied at the clock.
      AppliedIds ids;
      read_applied_ids(r, ids);
      ids.for_each([&](std::string_view id) { s.timed_ids.assign(id, hash_text(id), s.clock); });
    } else {
      read_applied_ids(r, s.seen_ids);
    }
  } else {
    bool with_times = version == 3;
    std::size_t ids = r.count(with_times ? 12 : 4, r.u64());
    if (!s.dedup_window) s.seen_ids.reserve_texts(ids);
    for (std::size_t i = 0; i < ids; ++i) {
      // Ids saved without a time count as applied at the snapshot's clock.
      Seconds t = with_times ? r.i64() : s.clock;
      std::string_view id = r.str();
      std::uint64_t h = hash_text(id);
      if (!s.dedup_window) {
        if (!s.seen_ids.insert(id, h)) r.malformed("an id twice");
      } else {
        if (s.timed_ids.time_of(id, h)) r.malformed("an id twice");
        s.timed_ids.assign(id, h, t);
      }
    }
  }
  if (!r.done()) r.malformed("bytes after the applied ids");
}

}  // namespace ptag
