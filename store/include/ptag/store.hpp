// The durable store: one SQLite file holding a run's state, input position and
// change records (docs/store.md). The engine's state is an opaque blob here.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ptag/program.hpp"
#include "ptag/sink.hpp"
#include "ptag/state_rows.hpp"
#include "ptag/time.hpp"

namespace ptag {

// SQLite's `PRAGMA user_version` of the stores this build writes.
inline constexpr int kStoreSchemaVersion = 5;

// Every refusal and failure; what() names the file.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `full`: a commit survives a power loss. `normal`: it survives a crash of the
// process, but the last commits may be lost on a power loss (never corrupt).
enum class StoreSync : std::uint8_t { full, normal };

struct StoreOptions {
  StoreSync sync = StoreSync::full;
  // Commits waiting for the writer before commit() blocks (bounds memory).
  std::size_t max_queued = 2;
  // `PRAGMA quick_check` on opening an existing store (reads the whole file).
  bool check_on_open = true;
  // Called by the writer thread after each transaction it commits, with the
  // bytes that transaction wrote to the write-ahead log (whole pages).
  std::function<void(std::int64_t bytes)> on_commit = {};
};

// A change record that owns its text (the `records` table's row).
struct StoredRecord {
  Seconds time = 0;
  std::string partner;
  RecordAction action = RecordAction::add;
  std::string tag;  // the tag, or the notification's name for emit
  std::string rule;
  RecordCause cause = RecordCause::event;
  std::optional<std::string> event;  // the event's id

  static StoredRecord from(const ChangeRecord& r);
  // The record as the engine gives it (views into this one), e.g. for append_record_json().
  ChangeRecord view() const;
  friend bool operator==(const StoredRecord&, const StoredRecord&) = default;
};

// A record with its place in the audit trail (`records.seq`).
struct NumberedRecord {
  std::int64_t seq = 0;
  StoredRecord record;
};

// Tags, notification names and rules, each numbered once in the order first
// seen. The last name seen at each of a few addresses is remembered: a
// record's names are usually the program's own, at the same address every
// time. The text is compared too, so the cache is never wrong.
class NameNumbers {
 public:
  std::uint32_t number(std::string_view text);
  const std::string& operator[](std::uint32_t id) const { return names_[id]; }
  const std::vector<std::string>& all() const { return names_; }
  void clear();

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view t) const { return std::hash<std::string_view>{}(t); }
  };
  struct Recent {
    const char* data = nullptr;
    std::size_t size = 0;
    std::uint32_t id = 0;
  };
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> ids_;
  std::array<Recent, 64> recent_{};
};

// Records for the writer thread, packed in one buffer: a commit of 100,000
// records is a few allocations instead of half a million strings. Tags,
// notification names and rules are few: each is kept once per batch, and a
// record holds its number.
class RecordBatch {
 public:
  // `previous`: the seq of the partner's record before this one (0: none).
  // A record's own seq (ChangeRecord::seq) must be the store's next; 0
  // takes the next.
  void add(const ChangeRecord& r, std::int64_t previous = 0);
  void add(const StoredRecord& r, std::int64_t previous = 0);
  std::size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  void clear();

  // One record; the views live as long as the batch.
  struct View {
    Seconds time = 0;
    std::string_view partner, tag, rule;
    std::optional<std::string_view> event;
    RecordAction action = RecordAction::add;
    RecordCause cause = RecordCause::event;
    std::uint32_t tag_name = 0, rule_name = 0;  // tag and rule as numbers into names()
    std::int64_t previous = 0;
    std::int64_t seq = 0;  // 0: the next
  };
  View operator[](std::size_t i) const;
  // The batch's tags, notification names and rules, each once.
  const std::vector<std::string>& names() const { return names_.all(); }

 private:
  struct Row {
    Seconds time;
    std::int64_t previous, seq;
    std::size_t at;  // partner and event id follow each other in text_
    std::uint32_t partner, event, tag, rule;
    RecordAction action;
    RecordCause cause;
    bool has_event;
  };
  void push(Seconds time, std::string_view partner, RecordAction action, std::string_view tag,
            std::string_view rule, RecordCause cause, const std::string_view* event, std::int64_t previous,
            std::int64_t seq);
  std::string text_;
  std::vector<Row> rows_;
  NameNumbers names_;
};

struct StoredTag {
  std::string tag;
  Seconds added_at = 0;
  std::string rule;  // the rule that added it
  std::optional<Seconds> expires_at;
  std::int64_t order = 0;  // `partner_tags.position`: the seq of the record that added it
  friend bool operator==(const StoredTag&, const StoredTag&) = default;
};

// A partner as the query commands and BI tools see it.
struct PartnerRow {
  std::string partner;
  std::int64_t position = 0;  // order of first appearance, from 0
  // Metrics in millionths, as the engine keeps them, by Metric.
  std::array<std::int64_t, kMetrics> metrics{};
  std::int64_t& metric(Metric m) { return metrics[static_cast<std::size_t>(m)]; }
  std::int64_t metric(Metric m) const { return metrics[static_cast<std::size_t>(m)]; }
  std::optional<Seconds> joined_at;
  std::optional<Seconds> last_activity;
  std::optional<Seconds> last_referral;
  std::vector<StoredTag> tags;  // current tags, in the order they were added
  std::int64_t last_record = 0;  // the seq of its last record (0: none, or a store before version 5)
  friend bool operator==(const PartnerRow&, const PartnerRow&) = default;
};

// An outgoing webhook delivery (docs/serve.md, "Outgoing webhooks"): one
// change record for one webhook, kept in the store's outbox from the commit
// of its record until it is delivered or fails for good.
enum class DeliveryStatus : std::uint8_t { pending, delivered, failed };
const char* delivery_status_name(DeliveryStatus s);
std::optional<DeliveryStatus> parse_delivery_status(std::string_view text);

struct Delivery {
  std::int64_t id = 0;  // unique and stable across retries and restarts
  std::string webhook;  // the webhook's name
  std::string partner;
  std::string body;     // the JSON body sent
  DeliveryStatus status = DeliveryStatus::pending;
  std::int64_t attempts = 0;
  Seconds next_attempt = 0;  // while pending: not before this (Unix seconds)
  std::string last_error;
  std::int64_t record = 0;   // the record's seq
  friend bool operator==(const Delivery&, const Delivery&) = default;
};

// What an attempt changed.
struct DeliveryUpdate {
  std::int64_t id = 0;
  DeliveryStatus status = DeliveryStatus::pending;
  std::int64_t attempts = 0;
  Seconds next_attempt = 0;
  std::string last_error;
};

// Where the committed state stands in its run's input and output.
struct InputPosition {
  std::string path;             // the input as given (`-` for stdin)
  std::string fingerprint;      // of the input's head, as the caller computes it
  std::int64_t offset = 0;      // bytes of input consumed
  std::int64_t line = 0;        // lines of input consumed
  std::string out_path;         // the run's --out (empty: stdout)
  std::int64_t out_length = 0;  // bytes of --out written with these records
  // For an input that is an external log (a stream partition) rather than
  // a file: the sequence number of the last message applied.
  std::optional<std::int64_t> sequence = std::nullopt;
  friend bool operator==(const InputPosition&, const InputPosition&) = default;
};

// One batch, handed over whole (owned data: the writer thread keeps it).
// A platform payload a source authenticated but did not apply (it could not
// be mapped, its type is not mapped, or its event was rejected): kept whole,
// so that it can be replayed once the config is fixed (docs/serve.md,
// "Dead letters").
struct DeadLetter {
  std::int64_t id = 0;  // the store's; 0 in a commit: a new one
  std::string source;   // the source's name
  Seconds received_at = 0;
  std::string status;   // "rejected", "ignored", or "replayed" once applied
  std::string reason;
  std::string headers;  // the request's headers, a JSON object (lower-case names, no Authorization)
  std::string body;     // as received
  friend bool operator==(const DeadLetter&, const DeadLetter&) = default;
};

// What `ptag serve` keeps beside the engine's state, committed with it.
struct ServerRows {
  std::vector<DeadLetter> dead_letters;  // new (id 0), or a new status and reason
  // Refunds sent as a sale's refunded total: the sale's key and its total
  // taken back so far (docs/serve.md, "Refunds as totals").
  std::vector<std::pair<std::string, std::int64_t>> refund_totals;
};

struct StoreCommit {
  RecordBatch records;                // new since the last commit, in output order
  std::vector<PartnerRow> partners;   // the partners that changed, as they are now, with their tags
  std::vector<Delivery> deliveries;   // new in the outbox, with the records they carry
  ServerRows server;
  StateRows state;                    // what changed in the engine's state
  InputPosition input;
  std::optional<Seconds> clock;
  std::optional<std::string> program;  // the program's text; empty keeps the stored one
};

// What the last commit left.
struct StoreContents {
  bool created = false;  // the store was new (nothing committed yet)
  std::optional<std::string> program;
  bool state_rows = false;  // the engine's state is in rows (version 5)
  std::string state_head;   // then their head (StateRows::head)
  std::string snapshot;     // else in one blob (version 4, until the first commit)
  std::optional<InputPosition> input;
  std::optional<Seconds> clock;
  std::int64_t records = 0;
  std::int64_t commits = 0;
  std::int64_t last_delivery = 0;  // the largest delivery id in the outbox
  // 16 random hex digits, made when the store was created (or first opened
  // by a writer that has them): unique across stores, in webhook ids.
  std::string store_id;
};

// The writing side: one per store at a time (a lock on `PATH-lock`).
class Store {
 public:
  // Opens the store at `path`, creating it if there is no file. Throws
  // StoreError for a file that is not a ptag store, a newer schema, a corrupt
  // file, a path that cannot be written, or a store another process holds.
  static std::unique_ptr<Store> open(const std::string& path, const StoreOptions& options = {});
  ~Store();  // waits for queued commits; call flush() first to see their errors
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;
  const StoreContents& loaded() const;

  // Queues a batch for the writer thread and returns; blocks only while
  // `max_queued` batches wait. Throws StoreError once a commit has failed
  // (nothing after a failed commit is written).
  std::uint64_t commit(StoreCommit&& batch);  // returns the commit's number (1, 2, ...) for wait()
  // Waits until commit number `commit` (and every one before it) is durable;
  // throws StoreError when it failed. Any thread.
  void wait(std::uint64_t commit);
  // Queues records ahead of the commit they belong to, so that the writer
  // thread stores them while the engine goes on; they are durable (and
  // visible) with the next commit() only, and lost with a crash before it.
  void append(RecordBatch&& records);
  // An empty batch with the room of one the writer has written (or a new
  // one): the next append's, without allocating again.
  RecordBatch recycled();
  // Queues what delivery attempts changed. They join the open transaction
  // if records wait in one (durable with the next commit), else commit at
  // once on their own. A crash before may send a delivery again (receivers
  // deduplicate by its id).
  void update_deliveries(std::vector<DeliveryUpdate>&& updates);
  // Waits until every queued batch is durable; throws the first error.
  void flush();
  // Commits queued and not yet durable (0: the writer has caught up).
  std::uint64_t commits_waiting() const;
  // Seconds the writer took for the last transaction that ended in a commit.
  double last_commit_seconds() const;
  // Records durable so far (the `records` table's row count).
  std::int64_t durable_records() const;

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The reading side for `ptag tags`/`query`/`why`: no lock, works while a run
// writes, each call sees the last commit.
class StoreReader {
 public:
  // Throws StoreError for a missing file and every refusal of Store::open.
  static std::unique_ptr<StoreReader> open(const std::string& path);
  ~StoreReader();
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  StoreContents contents() const;
  // The engine's state rows of one commit (StoreContents::state_rows), read
  // in one transaction while `read` runs; StoreError for a store without them.
  void read_state(const std::function<void(StateRowsReader&)>& read) const;
  // Every partner with its tags, in order of first appearance.
  std::vector<PartnerRow> partners() const;
  // What a writer's start needs of every partner, in position order and
  // without building rows: its last record's seq and its current tags, each
  // with the rule that added it, since when, and its order. The views live
  // for the call.
  struct HeldTag {
    std::string_view tag, rule;
    Seconds added_at = 0;
    std::int64_t order = 0;
  };
  void held_tags(const std::function<void(std::int64_t position, std::int64_t last_record,
                                          const std::vector<HeldTag>& tags)>& each) const;
  // These partners, in the order given; empty for an id the store never saw.
  std::vector<std::optional<PartnerRow>> partners(const std::vector<std::string>& ids) const;
  // The `add` and `remove` records of one partner and tag, oldest first.
  std::vector<StoredRecord> records(std::string_view partner, std::string_view tag) const;
  // Every record of one partner, newest first, at most `limit` (from
  // version 5 by the partner's chain of records: a lookup per record; an
  // older store not yet migrated reads the whole table).
  std::vector<StoredRecord> partner_records(std::string_view partner, std::int64_t limit) const;
  // Deliveries with this status (all when empty), of this webhook (all when
  // empty), oldest first, at most `limit`, ids after `after`.
  std::vector<Delivery> deliveries(std::optional<DeliveryStatus> status, std::int64_t after, std::int64_t limit,
                                   std::optional<std::string_view> webhook = std::nullopt) const;
  // Every refunded sale's key and total (ServerRows::refund_totals).
  std::vector<std::pair<std::string, std::int64_t>> refund_totals() const;
  // Pending deliveries per webhook name.
  std::vector<std::pair<std::string, std::int64_t>> pending_by_webhook() const;
  std::optional<Delivery> delivery(std::int64_t id) const;
  // A source's dead letters after id `after`, oldest first; with `status`, of that status only.
  std::vector<DeadLetter> dead_letters(std::string_view source, std::optional<std::string_view> status,
                                       std::int64_t after, std::int64_t limit) const;
  // Records with `seq` from `first` (1-based), at most `limit`, in output order.
  std::vector<StoredRecord> records_from(std::int64_t first, std::int64_t limit) const;
  // Records after `seq`, oldest first, at most `limit`; with their seq.
  std::vector<NumberedRecord> records_after(std::int64_t seq, std::int64_t limit) const;
  // The last `limit` records, oldest first.
  std::vector<NumberedRecord> last_records(std::int64_t limit) const;
  // The highest seq (0 for no records).
  std::int64_t last_seq() const;
  // Every `add` (and, unless `adds_only`, `remove`) record after seq `after`
  // of these tags (of every tag when empty), oldest first, one at a time
  // without a copy: the views live for the call.
  struct TagChange {
    std::int64_t seq = 0;
    Seconds time = 0;
    std::string_view partner;
    bool added = true;
    std::string_view tag;
  };
  void tag_changes(const std::vector<std::string>& tags, bool adds_only, std::int64_t after,
                   const std::function<void(const TagChange&)>& each) const;

  struct Impl;

 private:
  explicit StoreReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ptag
