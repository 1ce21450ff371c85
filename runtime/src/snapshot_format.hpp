// The pieces of the engine's state format that snapshots (snapshot.cpp)
// and state rows (state_rows.cpp) share: the byte writer and reader, the
// program section and one partner's bytes.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "state.hpp"

namespace ptag::snapshot_detail {

constexpr std::string_view kMagic = "PTAGSNAP";
// Version 3 adds event times to the applied ids, for a dedup window; version
// 4, without a window, keeps numbered ids as bits (applied_ids.hpp).
constexpr std::uint32_t kVersion = 4;
constexpr std::size_t kHeader = 8 + 4 + 4 + 8;  // magic, version, flags, total length
constexpr std::size_t kChecksum = 8;
constexpr std::uint64_t kChecksumSeed = 0x70746167736e6170ULL;  // "ptagsnap"

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
  // What the bytes are, for messages.
  const char* kind = "engine snapshot";
  [[noreturn]] void malformed(const std::string& what) const {
    throw std::invalid_argument(std::string(kind) + ": malformed (" + section + ": " + what + ")");
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

[[noreturn]] void refuse(const std::string& why);

constexpr std::uint8_t kRuleNamed = 1, kRuleGone = 2;  // rule flags
constexpr std::uint8_t kTagHeldOnly = 1;                // tag flags

// What a snapshot's program section says (format 1: names, triggers and
// fingerprints only; format 2 adds what matching a changed program needs).
struct OldRule {
  std::string_view name, trigger;
  std::uint64_t fingerprint = 0;
  bool named = false;
  bool gone = false;  // removed by an earlier change; only expiring tags name it
  TriggerKind kind = TriggerKind::each_event;
  std::uint8_t sub = 0;
  std::int64_t key = 0;
};
struct OldProgram {
  std::uint32_t version = kVersion;
  std::vector<OldRule> rules;
  std::vector<std::string_view> tags;
  std::vector<bool> held_only;  // per tag: not the writing program's, only partners hold it
  std::uint64_t fingerprint = 0;
};


// How the snapshot's program maps onto this one (docs/store.md, "Rule
// changes on live state").
struct Plan {
  bool same = true;
  std::vector<RuleId> rule_of_old;         // this program's rule, or a gone rule after them
  std::vector<bool> carries;               // per old rule: its latch carries to rule_of_old
  std::vector<std::uint32_t> old_of_new;   // per rule: the matched old rule, or kNone
  std::vector<bool> key_changed;           // per rule: matched with another threshold or duration
  std::vector<TagId> tag_of_old;
  std::vector<std::string> gone_names, orphan_tags;
  std::vector<std::uint16_t> old_pos;      // per old rule: place in its metric's or kind's order
  std::array<std::size_t, kTimerKinds> old_timers{};
  std::array<std::size_t, kMetrics> old_milestones{};
  // This program's latch orders: by (threshold or duration, rule), as the engine's.
  std::array<std::vector<RuleId>, kTimerKinds> timers;
  std::array<std::vector<RuleId>, kMetrics> milestones;
  std::vector<RuleId> firsts;  // first_* rules, in source order
};

constexpr std::size_t kPartnerMinBytes = 4 + 5 * 8 + 4 * 4 + 1 + 2 * (kTimerKinds + kMetrics) + 2 + 4 + 4;

SaveMap save_map(const Program& p, const DurableState& s);
void write_program(Writer& w, const Program& p, const SaveMap& m);
OldProgram read_program(Reader& r, std::uint32_t version);
Plan make_plan(const OldProgram& old, const Program& p, RuleChanges* changes);
void write_partner(Writer& w, const Program& prog, const DurableState& s, const SaveMap& m, const Partner& p);
// Appends the next partner (numbered s.partners.size()) to `s`.
void read_partner(Reader& r, const Program& prog, const OldProgram& old, const Plan& plan, DurableState& s,
                  bool backfill);
void read_applied_ids(Reader& r, AppliedIds& ids);

}  // namespace ptag::snapshot_detail
