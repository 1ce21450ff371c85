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

#include "ptag/text.hpp"
#include "state.hpp"

namespace ptag {
namespace {

constexpr std::string_view kMagic = "PTAGSNAP";
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeader = 8 + 4 + 4 + 8;  // magic, version, flags, total length
constexpr std::size_t kChecksum = 8;
constexpr std::uint64_t kChecksumSeed = 0x70746167736e6170ULL;  // "ptagsnap"
constexpr const char* kNotYet = "; rule changes on live state are not supported yet";

[[noreturn]] void refuse(const std::string& why) {
  throw std::invalid_argument("engine snapshot: " + why);
}

class Writer {
 public:
  std::string out;

  void u8(std::uint8_t v) { out.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }
  void count(std::size_t n) { u32(static_cast<std::uint32_t>(n)); }
  void str(std::string_view s) {
    if (s.size() > UINT32_MAX) throw std::length_error("engine snapshot: a text over 4 GiB");
    count(s.size());
    out.append(s);
  }
  // Fills in a u64 written earlier as a placeholder.
  void patch_u64(std::size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
  }

 private:
  void put(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  }
};

// Reads a payload whose checksum was verified; a blob that passes the
// checksum but does not parse is refused all the same, never trusted.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  const char* section = "header";

  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(get(8)); }
  std::string_view str() {
    std::uint32_t n = u32();
    need(n);
    std::string_view s = in_.substr(at_, n);
    at_ += n;
    return s;
  }
  // A count of items of at least `min_bytes` each: never more than the rest could hold.
  std::size_t count(std::size_t min_bytes, std::uint64_t n) {
    if (n > (in_.size() - at_) / min_bytes) malformed("a count larger than the snapshot");
    return static_cast<std::size_t>(n);
  }
  bool done() const { return at_ == in_.size(); }
  [[noreturn]] void malformed(const std::string& what) const {
    refuse(std::string("malformed (") + section + ": " + what + ")");
  }

 private:
  void need(std::size_t n) const {
    if (n > in_.size() - at_) malformed("ends early");
  }
  std::uint64_t get(int bytes) {
    need(static_cast<std::size_t>(bytes));
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= std::uint64_t{static_cast<unsigned char>(in_[at_ + static_cast<std::size_t>(i)])} << (8 * i);
    at_ += static_cast<std::size_t>(bytes);
    return v;
  }

  std::string_view in_;
  std::size_t at_ = 0;
};

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

void write_program(Writer& w, const Program& p) {
  w.count(p.rules.size());
  for (const ProgramRule& r : p.rules) {
    w.str(r.name);
    w.str(r.trigger_text);
    w.u64(rule_fingerprint(p, r));
  }
  w.count(p.tags.size());
  for (const std::string& t : p.tags) w.str(t);
  w.u64(program_fingerprint(p));
}

// Same program only, for now: the first rule or tag that differs is named.
void check_program(Reader& r, const Program& p) {
  r.section = "program";
  std::size_t rules = r.count(16, r.u32());
  for (std::size_t i = 0; i < rules || i < p.rules.size(); ++i) {
    if (i >= rules) refuse("rule " + json_quote(p.rules[i].name) + " is not in the snapshot's program" + kNotYet);
    std::string_view name = r.str(), trigger = r.str();
    std::uint64_t fingerprint = r.u64();
    if (i >= p.rules.size())
      refuse("rule " + json_quote(name) + " of the snapshot's program is not in this program" + kNotYet);
    const ProgramRule& rule = p.rules[i];
    if (name != rule.name) {
      refuse("rule " + std::to_string(i + 1) + " is " + json_quote(rule.name) +
             " in this program but " + json_quote(name) + " in the snapshot's" + kNotYet);
    }
    if (trigger != rule.trigger_text || fingerprint != rule_fingerprint(p, rule))
      refuse("rule " + json_quote(name) + " differs from the snapshot's program" + kNotYet);
  }
  std::size_t tags = r.count(4, r.u32());
  for (std::size_t i = 0; i < tags || i < p.tags.size(); ++i) {
    if (i >= tags) refuse("tag " + json_quote(p.tags[i]) + " is not in the snapshot's program" + kNotYet);
    std::string_view tag = r.str();
    if (i >= p.tags.size() || tag != p.tags[i])
      refuse("tag " + json_quote(tag) + " of the snapshot's program is not tag " +
             std::to_string(i + 1) + " of this program" + kNotYet);
  }
  if (r.u64() != program_fingerprint(p))
    refuse(std::string("the program's exclusive groups or tables differ from the snapshot's") + kNotYet);
}

// ---- partners ----------------------------------------------------------------------

void write_partner(Writer& w, const DurableState& s, const Partner& p) {
  w.str(p.id.view());
  w.i64(p.money[0]);
  w.i64(p.money[1]);
  w.i64(p.joined_at);
  w.i64(p.last_activity);
  w.i64(p.last_referral);
  for (std::uint32_t c : p.counts) w.u32(c);
  w.u8(p.firsts);
  for (std::uint16_t t : p.timer_next) w.u16(t);
  for (std::uint16_t m : p.milestone_next) w.u16(m);
  w.u16(static_cast<std::uint16_t>(p.tags.size()));
  for (TagId t : p.tags) w.u16(static_cast<std::uint16_t>(t));
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
      w.u16(static_cast<std::uint16_t>(e.tag));
      w.i64(e.deadline);
      w.u32(e.rule);
      w.u32(e.order);
    }
  }
}

// Per timer kind and per metric: how many rules a partner's counters can pass.
struct Limits {
  std::array<std::size_t, kTimerKinds> timers{};
  std::array<std::size_t, kMetrics> milestones{};
  explicit Limits(const Program& p) {
    for (const ProgramRule& r : p.rules) {
      if (r.kind == TriggerKind::timer) ++timers[static_cast<std::size_t>(r.timer)];
      if (r.kind == TriggerKind::milestone) ++milestones[static_cast<std::size_t>(r.metric)];
    }
  }
};

constexpr std::size_t kPartnerMinBytes = 4 + 5 * 8 + 4 * 4 + 1 + 2 * (kTimerKinds + kMetrics) + 2 + 4 + 4;

void read_partner(Reader& r, const Program& prog, const Limits& limits, DurableState& s) {
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
  p.money[0] = r.i64();
  p.money[1] = r.i64();
  p.joined_at = r.i64();
  p.last_activity = r.i64();
  p.last_referral = r.i64();
  for (std::uint32_t& c : p.counts) c = r.u32();
  p.firsts = r.u8();
  if (p.firsts >> static_cast<unsigned>(EventType::custom)) r.malformed("unknown event types seen");
  for (std::size_t k = 0; k < kTimerKinds; ++k) {
    p.timer_next[k] = r.u16();
    if (p.timer_next[k] > limits.timers[k]) r.malformed("more timers fired than the program has");
  }
  for (std::size_t m = 0; m < kMetrics; ++m) {
    p.milestone_next[m] = r.u16();
    if (p.milestone_next[m] > limits.milestones[m]) r.malformed("more milestones latched than the program has");
  }
  auto word = [&](TagId t) -> std::uint64_t& {
    return t < 64 ? p.tag_bits : s.more_tags[n * s.more_words + t / 64 - 1];
  };
  for (std::size_t i = 0, tags = r.u16(); i < tags; ++i) {
    TagId t = r.u16();
    if (t >= prog.tags.size()) r.malformed("an unknown tag");
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
    Expiry e{r.u16(), 0, 0, 0};
    e.deadline = r.i64();
    e.rule = r.u32();
    e.order = r.u32();
    if (e.tag >= prog.tags.size() || !(word(e.tag) & (std::uint64_t{1} << (e.tag % 64))))
      r.malformed("an expiry of a tag the partner does not have");
    if (e.rule >= prog.rules.size()) r.malformed("an expiry of an unknown rule");
    for (const Expiry& other : extra.expiries) {
      if (other.tag == e.tag) r.malformed("a tag expiring twice");
    }
    extra.expiries.push_back(e);
  }
  if (!extra.attributes.empty() || !extra.expiries.empty()) {
    p.extra = static_cast<std::uint32_t>(s.extras.size());
    p.expiring = !extra.expiries.empty();
    s.extras.push_back(std::move(extra));
  }
}

}  // namespace

std::string save_snapshot(const Program& program, const DurableState& s) {
  Writer w;
  w.out.reserve(kHeader + s.partners.size() * 96 + s.seen_ids.size() * 24 + 4096);
  w.out.append(kMagic);
  w.u32(kVersion);
  w.u32(0);  // flags: none yet
  w.u64(0);  // the total length, filled in below
  write_program(w, program);
  w.u8(s.has_clock ? 1 : 0);
  w.i64(s.clock);
  w.count(s.partners.size());
  for (const Partner& p : s.partners) write_partner(w, s, p);
  w.u64(s.customers.size());
  s.customers.for_each([&w](std::string_view key) {  // partner number, then the customer id
    std::uint32_t n;
    std::memcpy(&n, key.data(), sizeof n);
    w.u32(n);
    w.str(key.substr(sizeof n));
  });
  w.u64(s.seen_ids.size());
  s.seen_ids.for_each([&w](std::string_view id) { w.str(id); });
  w.patch_u64(16, w.out.size() + kChecksum);
  w.u64(checksum(w.out));
  return std::move(w.out);
}

void load_snapshot(const Program& program, std::string_view blob, DurableState& s) {
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
  header.u32();  // flags: none are defined in version 1
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

  Reader r(body.substr(kHeader));
  check_program(r, program);
  r.section = "clock";
  std::uint8_t has_clock = r.u8();
  if (has_clock > 1) r.malformed("has_clock is not 0 or 1");
  s.has_clock = has_clock == 1;
  s.clock = r.i64();
  r.section = "partners";
  std::size_t partners = r.count(kPartnerMinBytes, r.u32());
  s.partners.reserve(partners);
  Limits limits(program);
  for (std::size_t i = 0; i < partners; ++i) read_partner(r, program, limits, s);
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
  std::size_t ids = r.count(4, r.u64());
  s.seen_ids.reserve(ids);
  for (std::size_t i = 0; i < ids; ++i) {
    std::string_view id = r.str();
    if (!s.seen_ids.insert(id, hash_text(id))) r.malformed("an id twice");
  }
  if (!r.done()) r.malformed("bytes after the applied ids");
}

}  // namespace ptag
