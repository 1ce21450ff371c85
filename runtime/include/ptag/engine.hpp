// The runtime: one program, the clock, timers and every partner's state.
// Events go in (push), change records come out (to the Sink), in exactly the
// order of docs/language.md, "Evaluation order". One engine is used by one thread at a time.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ptag/event.hpp"
#include "ptag/program.hpp"
#include "ptag/sink.hpp"
#include "ptag/state_rows.hpp"

namespace ptag {

enum class PushResult : std::uint8_t { applied, duplicate, invalid };

struct EngineStats {
  std::uint64_t applied = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t invalid = 0;
  std::uint64_t records = 0;
  std::array<std::uint64_t, 3> records_by_action{};  // by RecordAction: add, remove, emit
  // Applied events per EventType (custom: all custom types together), and
  // per custom type name in order of first appearance.
  std::array<std::uint64_t, kEventTypes> by_type{};
  std::vector<std::pair<std::string, std::uint64_t>> custom_types;
  // Applied sales, refunds and commissions per `data.currency` (upper case),
  // in order of first appearance; events without one are not counted. More
  // than one without a `currency` declaration: amounts were summed as one.
  std::vector<std::pair<std::string, std::uint64_t>> currencies;
  // Applied events older than the clock when they arrived, and the largest
  // such lateness in seconds.
  std::uint64_t late = 0;
  Seconds most_late = 0;
  std::uint64_t timers_fired = 0;
  std::vector<std::uint64_t> guard_errors;  // per rule
  std::vector<std::uint64_t> rule_fires;    // per rule: guard passed, actions ran
};

struct EngineOptions {
  Sink* sink = nullptr;  // where change records go; none: they are only counted
  // Applied ids are kept only while their event time is within this many
  // seconds of the clock (a bounded store for long runs); a duplicate of an
  // older event is then applied again. Without it every id is kept. A
  // negative window: std::invalid_argument.
  std::optional<Seconds> dedup_window = std::nullopt;
};

// How a program differs from the one that wrote a snapshot (docs/store.md,
// "Rule changes on live state"). Rules are named as records name them.
struct RuleChanges {
  struct Kept {
    std::string name;      // in this program
    std::string old_name;  // in the snapshot's (differs for a moved unnamed rule)
    bool changed = false;  // matched by name, with another trigger, guard or actions
  };
  std::vector<Kept> kept;            // in this program's order
  std::vector<std::string> added;    // in this program's order
  std::vector<std::string> removed;  // in the snapshot's order
  std::vector<std::string> tags_removed;  // tags of the snapshot's program this one lacks
  // Exactly the snapshot's program (rules, tags, `let` values, groups).
  bool same_program = true;
  // With `backfill`: rules that acted (guard true), as (partner, rule) pairs.
  std::uint64_t backfilled = 0;
};

struct RestoreOptions {
  // The rules new to the program (and matched rules whose trigger's
  // threshold, duration or kind changed) act once now, for every partner
  // they count as spent for, with cause `backfill`.
  bool backfill = false;
  RuleChanges* changes = nullptr;  // filled in when given
  // As EngineOptions::dedup_window: ids of the snapshot outside it are forgotten.
  std::optional<Seconds> dedup_window = std::nullopt;
};

// Describes the change without restoring: std::invalid_argument as restore.
RuleChanges describe_rule_changes(const Program& program, std::string_view snapshot);

// What a batch of events did.
struct PushCounts {
  std::size_t applied = 0, duplicates = 0, invalid = 0;
};

// An event of a batch the engine did not apply, and why.
struct Rejection {
  std::size_t index;  // in the batch
  std::string why;
};

class Engine {
 public:
  // The program must outlive the engine.
  Engine(const Program& program, Sink& sink);
  Engine(const Program& program, const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  // A moved-from engine may only be destroyed or assigned to.
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  // The engine's whole state (clock, partners, tags, latches, timers,
  // expiring tags, attributes, customers, applied ids) as a versioned binary
  // blob (docs/semantics.md, "Engine snapshots"). An engine restored from it
  // continues exactly where this one is: the records and final state of
  // consecutive engines over consecutive parts of an input are those of one
  // engine over the whole. Stats are not kept: a restored engine's start at zero.
  std::string snapshot() const;
  // An engine in the state of a snapshot. With another program than the one
  // that wrote it, rules are matched by name (an unnamed rule by its text)
  // and the new program applies going forward (docs/store.md, "Rule changes
  // on live state"). A blob that is truncated, corrupt or of a newer format
  // version: std::invalid_argument saying which. The program must outlive
  // the engine.
  static Engine restore(const Program& program, Sink& sink, std::string_view snapshot,
                        const RestoreOptions& options = {});
  static Engine restore(const Program& program, const EngineOptions& options,
                        std::string_view snapshot, const RestoreOptions& restore_options = {});

  // An engine in the state a store kept as rows (ptag/state_rows.hpp), with
  // rules matched as restore() from a snapshot does; the same errors.
  static Engine restore(const Program& program, const EngineOptions& options, StateRowsReader& rows,
                        const RestoreOptions& restore_options = {});

  // Applies one event (docs/language.md, "Evaluation order"). An event that is not valid (a sale
  // without a numeric amount, an empty partner, ...) changes nothing; `why`
  // then says what is wrong.
  PushResult push(const Event& event, std::string* why = nullptr);
  // A batch, in order: as push() of each event, but faster for large state.
  // Invalid events are described in `rejections` when given; with
  // `stop_at_invalid` the batch ends after the first one.
  PushCounts push(std::span<const Event> events, std::vector<Rejection>* rejections = nullptr,
                  bool stop_at_invalid = false);
  // Whether push() would take the event as valid (its fields; not the
  // metric range, which depends on the partner): `why` says what is wrong.
  // For callers that refuse a whole batch when one event is bad.
  static bool check_event(const Event& event, std::string* why = nullptr);
  // As check_event, with what the program adds: its `currency`.
  bool accepts(const Event& event, std::string* why = nullptr) const;
  // Fires every timer due at or before `time` (`--until`); a time at or
  // before the clock does nothing.
  void advance_to(Seconds time);

  const EngineStats& stats() const;
  bool has_clock() const;
  Seconds clock() const;

  // Partners in order of first appearance: indexes 0 to partner_count() - 1.
  // Every accessor taking an index throws std::out_of_range (naming the
  // index and the partner count) for an index >= partner_count().
  std::size_t partner_count() const;
  // The index of the partner with this id; empty when no event named it.
  std::optional<std::size_t> find_partner(std::string_view id) const;
  // The view lives until the engine's next push.
  std::string_view partner_id(std::size_t index) const;
  // Current tags in the order they were added; the views live as long as the program.
  std::vector<std::string_view> partner_tags(std::size_t index) const;
  // A metric of a partner, in millionths.
  std::int64_t partner_metric(std::size_t index, Metric m) const;
  // A metric or days_since_join / days_since_activity (at the clock) of a
  // partner, in millionths; empty for any other name.
  std::optional<std::int64_t> partner_value(std::size_t index, std::string_view name) const;
  // An attribute from `join` / `update` data; the view lives until the next push.
  std::optional<Value> partner_attribute(std::size_t index, std::string_view name) const;
  // Every attribute of a partner, in the order first set; views live until the next push.
  std::vector<std::pair<std::string_view, Value>> partner_attributes(std::size_t index) const;
  // Entries in the timer queue: one live entry per partner with a timer or
  // expiry waiting, plus superseded ones (an earlier deadline queued later)
  // that are dropped when they come due.
  std::size_t timers_pending() const;
  // A partner's joined_at, last_activity and last_referral.
  struct PartnerTimes {
    Seconds joined_at = 0, last_activity = 0, last_referral = 0;
  };
  PartnerTimes partner_times(std::size_t index) const;
  // When an expiring tag of a partner goes (`add ... for D`); empty for a
  // permanent tag or one the partner does not have.
  std::optional<Seconds> partner_tag_expiry(std::size_t index, std::string_view tag) const;
  // Partners (indexes, in order of first appearance) for which a guard compiled
  // by compile_segment_query() (ptag/ptag.hpp) against this engine's program
  // is true at the clock. Any other program: std::invalid_argument.
  std::vector<std::size_t> segment(const Program& segment) const;

  // For stores that write only what changed: once started, the engine notes
  // every partner an applied event reached; take_changed_partners() returns
  // them (indexes, ascending) and starts over. Partners changed by timers
  // alone are those of the records.
  void track_changed_partners();
  std::vector<std::uint32_t> take_changed_partners();
  // For stores that keep the state as rows: once started (it tracks changed
  // partners too), take_state_rows() gives what changed since the last
  // take, with the rows of the partners `changed` (from
  // take_changed_partners()). The first take after a start that did not
  // restore from rows of this very program gives everything.
  void track_state_rows();
  StateRows take_state_rows(std::span<const std::uint32_t> changed);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ptag
