// The engine's state as rows (ptag/state_rows.hpp): the snapshot format's
// program section and partners, cut so that a commit writes what changed.
//
// A head: "PTAGROWS", its version, the program section under the numbers
// the rows use, the clock, the number of partners, how applied ids are kept (with times under a
// dedup window, else as bits and text) and the numbered ids' prefixes. A
// partner row: a version byte, then the partner as a snapshot holds it.
// Tag and rule numbers are fixed while an engine writes rows; a start whose
// numbers differ from the stored head's rewrites every row.
#include <algorithm>
#include <cstring>

#include "ptag/text.hpp"
#include "snapshot_format.hpp"

namespace ptag {

using namespace snapshot_detail;

namespace {

constexpr std::string_view kRowsMagic = "PTAGROWS";
constexpr std::uint32_t kRowsVersion = 1;
constexpr std::uint8_t kPartnerRowVersion = 1;
constexpr const char* kKind = "the store's engine state";

struct Head {
  std::string_view section;
  bool has_clock = false;
  Seconds clock = 0;
  std::uint64_t partners = 0;  // how many rows follow (for reserving room)
  bool timed = false;  // ids kept with their times (a dedup window)
  std::vector<std::string_view> prefixes;
};

[[noreturn]] void refuse_rows(const std::string& why) {
  throw std::invalid_argument(std::string(kKind) + ": " + why);
}

Head parse_head(std::string_view bytes) {
  if (!bytes.starts_with(kRowsMagic)) refuse_rows("not ptag's state rows (the head does not start with \"PTAGROWS\")");
  Reader r(bytes.substr(kRowsMagic.size()));
  r.kind = kKind;
  r.section = "head";
  std::uint32_t version = r.u32();
  if (version > kRowsVersion)
    refuse_rows("format version " + std::to_string(version) + " is newer than this ptag reads (" +
                std::to_string(kRowsVersion) + "); use a newer ptag");
  if (version == 0) r.malformed("format version 0");
  Head h;
  h.section = r.str();
  std::uint8_t has_clock = r.u8();
  if (has_clock > 1) r.malformed("has_clock is not 0 or 1");
  h.has_clock = has_clock == 1;
  h.clock = r.i64();
  h.partners = r.u64();
  std::uint8_t timed = r.u8();
  if (timed > 1) r.malformed("an unknown way of keeping ids");
  h.timed = timed == 1;
  for (std::size_t i = 0, n = r.count(4, r.u32()); i < n; ++i) h.prefixes.push_back(r.str());
  if (!r.done()) r.malformed("bytes after the prefixes");
  return h;
}

std::string make_head(const DurableState& s) {
  Writer w;
  w.out.append(kRowsMagic);
  w.u32(kRowsVersion);
  w.str(s.rows.program_section);
  w.u8(s.has_clock ? 1 : 0);
  w.i64(s.clock);
  w.u64(s.partners.size());
  w.u8(s.dedup_window ? 1 : 0);
  if (s.dedup_window) {
    w.u32(0);
  } else {
    w.count(s.seen_ids.prefixes().size());
    for (const std::string& p : s.seen_ids.prefixes()) w.str(p);
  }
  return std::move(w.out);
}

void clear_log(DurableState::RowLog& log) {
  log.customer_partners.clear();
  log.customers.clear();
  log.ids.clear();
  log.timed_ids.clear();
  log.timed_times.clear();
  log.forget_before.reset();
}

}  // namespace

void load_state_rows(const Program& program, StateRowsReader& in, DurableState& s, bool backfill,
                     RuleChanges* changes) {
  std::string head_bytes = in.head();
  Head head = parse_head(head_bytes);
  Reader pr(head.section);
  pr.kind = kKind;
  OldProgram old = read_program(pr, kVersion);
  if (!pr.done()) pr.malformed("bytes after the program");
  Plan plan = make_plan(old, program, changes);
  s.old_tags = std::move(plan.orphan_tags);
  s.gone_rules = std::move(plan.gone_names);
  std::size_t tags = program.tags.size() + s.old_tags.size();
  s.more_words = tags > 64 ? (tags + 63) / 64 - 1 : 0;
  s.has_clock = head.has_clock;
  s.clock = head.clock;
  // Room for the rows the head counts (a damaged count reserves nothing).
  if (head.partners <= (std::uint64_t{1} << 32)) {
    s.partners.reserve(static_cast<std::size_t>(head.partners));
    s.more_tags.reserve(static_cast<std::size_t>(head.partners) * s.more_words);
  }

  in.partners([&](std::int64_t position, std::string_view row) {
    if (position != static_cast<std::int64_t>(s.partners.size()))
      refuse_rows("partner rows out of order (position " + std::to_string(position) + " where " +
                  std::to_string(s.partners.size()) + " was due)");
    Reader r(row);
    r.kind = kKind;
    r.section = "partners";
    std::uint8_t version = r.u8();
    if (version != kPartnerRowVersion)
      r.malformed("a partner row of format " + std::to_string(version) + " at position " + std::to_string(position));
    read_partner(r, program, old, plan, s, backfill);
    if (!r.done()) r.malformed("bytes after the partner at position " + std::to_string(position));
  });

  std::string key;
  in.customers([&](std::int64_t partner, std::string_view customer) {
    if (partner < 0 || partner >= static_cast<std::int64_t>(s.partners.size()))
      refuse_rows("a customer of an unknown partner (position " + std::to_string(partner) + ")");
    auto n = static_cast<std::uint32_t>(partner);
    key.assign(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(customer);
    if (!s.customers.insert(key, hash_text(key))) refuse_rows("a customer twice");
  });

  // Ids kept as the engine keeps them now: as stored, or converted (a dedup
  // window set or dropped since; ids without a time count as applied at the clock).
  bool as_stored = head.timed == s.dedup_window.has_value();
  AppliedIds untimed;
  AppliedIds& bits = s.dedup_window ? untimed : s.seen_ids;
  if (!head.timed) {
    for (std::string_view p : head.prefixes)
      if (!bits.add_prefix(p)) refuse_rows("a prefix of applied ids twice, or too many");
  }
  in.id_words([&](const AppliedIdWord& w) {
    if (head.timed || !bits.add_word(w.prefix, w.block, w.bits))
      refuse_rows("a word of applied ids twice, empty or of no prefix");
  });
  in.id_texts([&](std::string_view id, std::optional<Seconds> time) {
    std::uint64_t h = hash_text(id);
    if (s.dedup_window) {
      s.timed_ids.assign(id, h, time.value_or(s.clock));
    } else if (as_stored ? !s.seen_ids.add_text(id, h) : !s.seen_ids.insert(id, h)) {
      refuse_rows("an applied id twice, or a numbered id as text: " + json_quote(id));
    }
  });
  if (s.dedup_window) untimed.for_each([&](std::string_view id) { s.timed_ids.assign(id, hash_text(id), s.clock); });
  s.rows.stored_head = std::move(head_bytes);
}

void start_state_rows(const Program& program, DurableState& s) {
  DurableState::RowLog& log = s.rows;
  log.map = save_map(program, s);
  Writer w;
  write_program(w, program, log.map);
  log.program_section = std::move(w.out);
  log.all = true;
  if (!log.stored_head.empty()) {
    Head stored = parse_head(log.stored_head);
    log.all = stored.section != log.program_section || stored.timed != s.dedup_window.has_value();
  }
  clear_log(log);
  log.on = true;
  s.seen_ids.log_to(&log.ids);
}

StateRows take_rows(const Program& program, DurableState& s, std::span<const std::uint32_t> changed) {
  DurableState::RowLog& log = s.rows;
  StateRows out;
  out.head = make_head(s);
  Writer w;
  auto add_partner = [&](std::uint32_t n) {
    w.out.clear();
    w.u8(kPartnerRowVersion);
    write_partner(w, program, s, log.map, s.partners[n]);
    out.partners.push_back(n);
    out.partner_rows.add(w.out);
  };
  if (log.all) {
    out.all = true;
    for (std::uint32_t n = 0; n < s.partners.size(); ++n) add_partner(n);
    s.customers.for_each([&](std::string_view key) {
      std::uint32_t n;
      std::memcpy(&n, key.data(), sizeof n);
      out.customer_partners.push_back(n);
      out.customers.add(key.substr(sizeof n));
    });
    if (!s.dedup_window) {
      for (const AppliedIds::Word& word : s.seen_ids.words()) out.id_words.push_back({word.prefix, word.block, word.bits});
      s.seen_ids.for_each_text([&](std::string_view id) {
        out.id_texts.add(id);
        out.id_times.push_back(std::nullopt);
      });
    } else {
      s.timed_ids.for_each([&](std::string_view id, Seconds t) {
        if (t < s.window_start()) return;
        out.id_texts.add(id);
        out.id_times.push_back(t);
      });
    }
    log.all = false;
  } else {
    for (std::uint32_t n : changed) add_partner(n);
    out.customer_partners = std::move(log.customer_partners);
    out.customers = std::move(log.customers);
    std::vector<std::uint64_t>& keys = log.ids.word_keys;
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (std::uint64_t key : keys) out.id_words.push_back(s.seen_ids.word_of_key(key));
    for (std::size_t i = 0; i < log.ids.texts.size(); ++i) {
      out.id_texts.add(log.ids.texts[i]);
      out.id_times.push_back(std::nullopt);
    }
    for (std::size_t i = 0; i < log.timed_ids.size(); ++i) {
      out.id_texts.add(log.timed_ids[i]);
      out.id_times.push_back(log.timed_times[i]);
    }
    out.forget_before = log.forget_before;
  }
  clear_log(log);
  return out;
}

}  // namespace ptag
