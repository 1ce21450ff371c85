// Native code for a Program (the optional JIT, jit/): the contract between
// the runtime, which calls it, and a code generator, which writes it. Only
// plain types: no LLVM header, no runtime internals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ptag/time.hpp"

namespace ptag {

struct Event;
using RuleId = std::uint32_t;

// What a compiled guard sees: the partner as the VM's PartnerView does.
// `partner` points at the runtime's partner record, read at the offsets of
// NativeLayout; `view` and `event` are only passed back to NativeHost.
struct NativeFrame {
  const unsigned char* partner;
  const std::uint64_t* more_tags;  // words for tags 64 and up
  std::uint64_t more_words;
  const void* view;
  const Event* event;  // null for timers
  Seconds now;
  void* runner;  // the engine's, for the NativeRules host functions
  // NativeRules: the other rules this event triggers (firsts, milestones),
  // ascending, ending with UINT32_MAX; each runs, through NativeHost::others,
  // before the first every-event rule that comes after it in source order.
  const std::uint32_t* others;
};

// A value a host function gives back (ptag::Value, flattened).
struct NativeValue {
  std::uint8_t kind;  // Value::Kind
  std::int64_t number;
  const char* text;
  std::uint64_t size;
};

// What native code calls: each returns 1 for a value (or success) and 0 for
// a guard error, except compare_text, which returns the sign.
struct NativeHost {
  int (*event_field)(const NativeFrame*, const char* name, std::uint64_t size, NativeValue* out);
  int (*partner_field)(const NativeFrame*, const char* name, std::uint64_t size, NativeValue* out);
  int (*compare_text)(const char* a, std::uint64_t a_size, const char* b, std::uint64_t b_size);
  int (*multiply)(std::int64_t a, std::int64_t b, std::int64_t* out);  // exact, half-even
  int (*divide)(std::int64_t a, std::int64_t b, std::int64_t* out);    // b != 0
  // For NativeRules: a rule whose guard held (or that has none) runs its
  // actions and the cascade they start; the frame is brought up to date.
  void (*fire)(NativeFrame*, std::uint32_t rule);
  void (*guard_error)(NativeFrame*, std::uint32_t rule);  // counted as the VM counts it
  // Runs the rules at `others` that come before `rule` (each its guard, its
  // actions, their cascade) and moves `others` past them; the frame is
  // brought up to date.
  void (*others)(NativeFrame*, std::uint32_t rule);
};

// Where guards find a partner's metrics, times and tags (offsetof in the runtime).
struct NativeLayout {
  std::uint32_t counts;         // std::uint32_t[kCountMetrics]: the count metrics by slot (ptag/metric_table.hpp)
  std::uint32_t money;          // std::int64_t[kMoneyMetrics]: the money metrics by slot (millionths)
  std::uint32_t joined_at;      // Seconds
  std::uint32_t last_activity;  // Seconds
  std::uint32_t tag_bits;       // std::uint64_t: tags 0-63
};

// 1 true, 0 false, -1 error: evaluate_guard's result for the same rule.
using NativeGuard = int (*)(const NativeFrame*);

// A run of an event type's every-event rules, in source order, each guard
// inline and each firing rule handed to NativeHost::fire, with the event's
// other triggered rules (NativeFrame::others) run in their places: what the
// engine's loop over an event's rules does (§4 step 3), in one call.
using NativeRules = void (*)(NativeFrame*);

// The engine a program runs on when its user does not say: the JIT when the
// build has it and the program has more than this many guarded rules (below
// that, few runs win the compile time back; docs/jit.md has the figures).
inline constexpr std::size_t kJitGuardedRules = 100;

class NativeCode {
 public:
  virtual ~NativeCode() = default;
  // The rule's compiled guard; null when it has none or it was left to the VM.
  virtual NativeGuard guard(RuleId rule) const = 0;
  // The every-event rules of a built-in event type (by EventType's number),
  // as functions to call one after the other; empty when left to the engine.
  virtual std::span<const NativeRules> event_rules(std::size_t type) const = 0;
  // A custom event type's rules (Program::index.custom), by the first of them.
  virtual std::span<const NativeRules> custom_rules(RuleId first) const = 0;
};

}  // namespace ptag
