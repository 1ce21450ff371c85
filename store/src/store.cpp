// Store: opening with its refusals, and the writer thread (group commit).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "ptag/decimal.hpp"
#include "ptag/text.hpp"
#include "schema.hpp"

namespace ptag {

using store_detail::Db;
using store_detail::fail;
using store_detail::Stmt;

StoredRecord StoredRecord::from(const ChangeRecord& r) {
  StoredRecord s;
  s.time = r.time;
  s.partner = std::string(r.partner);
  s.action = r.action;
  s.tag = std::string(r.tag);
  s.rule = std::string(r.rule);
  s.cause = r.cause_of();
  if (r.has_event_id) s.event = std::string(r.event_id);
  return s;
}

ChangeRecord StoredRecord::view() const {
  ChangeRecord r;
  r.time = time;
  r.partner = partner;
  r.action = action;
  r.tag = tag;
  r.rule = rule;
  r.timer = cause == RecordCause::timer;
  r.cause = cause;
  r.has_event_id = event.has_value();
  if (event) r.event_id = *event;
  return r;
}

std::uint32_t NameNumbers::number(std::string_view text) {
  Recent& r = recent_[((reinterpret_cast<std::uintptr_t>(text.data()) >> 3) ^ text.size()) % recent_.size()];
  if (r.data == text.data() && r.size == text.size() && r.id < names_.size() && names_[r.id] == text) return r.id;
  auto it = ids_.find(text);
  if (it == ids_.end()) {
    it = ids_.emplace(std::string(text), static_cast<std::uint32_t>(names_.size())).first;
    names_.emplace_back(text);
  }
  r = Recent{text.data(), text.size(), it->second};
  return it->second;
}

void NameNumbers::clear() {
  names_.clear();
  ids_.clear();
  recent_.fill(Recent{});
}

void RecordBatch::push(Seconds time, std::string_view partner, RecordAction action,
                       std::string_view tag, std::string_view rule, RecordCause cause,
                       const std::string_view* event, std::int64_t previous, std::int64_t seq) {
  auto length = [](std::string_view v) { return static_cast<std::uint32_t>(v.size()); };
  Row row{time, previous, seq, text_.size(), length(partner), event ? length(*event) : 0, names_.number(tag),
          names_.number(rule), action, cause, event != nullptr};
  text_.append(partner);
  if (event) text_.append(*event);
  rows_.push_back(row);
}

void RecordBatch::add(const ChangeRecord& r, std::int64_t previous) {
  std::string_view event = r.event_id;
  push(r.time, r.partner, r.action, r.tag, r.rule, r.cause_of(), r.has_event_id ? &event : nullptr, previous,
       r.seq);
}

void RecordBatch::add(const StoredRecord& r, std::int64_t previous) {
  std::string_view event = r.event ? std::string_view(*r.event) : std::string_view();
  push(r.time, r.partner, r.action, r.tag, r.rule, r.cause, r.event ? &event : nullptr, previous, 0);
}

void RecordBatch::clear() {
  text_.clear();
  rows_.clear();
  names_.clear();
}

RecordBatch::View RecordBatch::operator[](std::size_t i) const {
  const Row& row = rows_.at(i);
  std::string_view text(text_);
  View v;
  v.time = row.time;
  v.partner = text.substr(row.at, row.partner);
  if (row.has_event) v.event = text.substr(row.at + row.partner, row.event);
  v.tag = names_[row.tag];
  v.rule = names_[row.rule];
  v.tag_name = row.tag;
  v.rule_name = row.rule;
  v.action = row.action;
  v.cause = row.cause;
  v.previous = row.previous;
  v.seq = row.seq;
  return v;
}

namespace {

std::string folder_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Refusals that need no SQLite: a folder, a missing folder, a read-only file.
void check_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw StoreError(path + ": is a folder, not a ptag store");
    if (::access(path.c_str(), W_OK) != 0)
      throw StoreError(
          fmt::format("{}: the store cannot be written ({})", path, std::strerror(errno)));
    return;
  }
  std::string folder = folder_of(path);
  if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw StoreError(fmt::format("{}: cannot create the store: no folder {}", path, folder));
}

// An exclusive flock on PATH-lock, held while the Store lives. flock is
// independent of SQLite's own fcntl locks, so readers are never blocked.
int lock_store(const std::string& path) {
  std::string lock = path + "-lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw StoreError(
        fmt::format("{}: the store cannot be written (cannot create its lock file {}: {})", path,
                    lock, std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char pid[32] = {};
    ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    std::string who = n > 0
                          ? fmt::format("process {}", std::string(pid, static_cast<std::size_t>(n)))
                          : "another process";
    if (err == EWOULDBLOCK)
      throw StoreError(fmt::format("{}: the store is in use by another ptag run ({} holds {})",
                                   path, who, lock));
    throw StoreError(
        fmt::format("{}: cannot lock the store ({}: {})", path, lock, std::strerror(err)));
  }
  std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for the message of a refused second run.
  }
  return fd;
}

}  // namespace

struct Store::Impl {
  std::string path;
  struct stat opened {};  // the store file's identity when opened
  StoreOptions options;
  int lock_fd = -1;
  Db db;
  StoreContents loaded;

  std::mutex m;
  std::condition_variable work;  // the writer waits for batches
  std::condition_variable done;  // callers wait for room or for durability
  struct Item {
    StoreCommit batch;
    bool commit = true;  // false: records only (Store::append), or updates only
    std::vector<DeliveryUpdate> updates;
  };
  std::deque<Item> queue;
  std::size_t queued_commits = 0;
  std::uint64_t commits_queued = 0;   // commit() calls so far (the next one's number - 1)
  std::uint64_t commits_durable = 0;  // of them, written and committed
  bool open = false;          // the writer's: a transaction holds records not yet committed
  std::int64_t pending = 0;   // the writer's: records written, committed or not
  std::int64_t partners_stored = 0;  // the writer's: one past the largest position written
  bool busy = false;
  bool stop = false;
  std::optional<std::string> error;
  std::atomic<std::int64_t> durable{0};
  std::vector<RecordBatch> spare;  // written batches, emptied, for recycled()
  static constexpr std::size_t kSpareBatches = 4;
  std::int64_t records = 0;  // the writer's: records durable (the next seq - 1)
  int wal_frames = 0;        // the writer's: frames in the WAL after its last transaction
  double last_commit_seconds = 0;  // under m
  std::int64_t page_bytes = 4096;
  std::thread thread;

  Stmt insert_record, insert_records, insert_name, update_partner, insert_partner, update_meta, put_head,
      put_partner_state, put_customer, put_word, put_id, forget_ids, put_input, insert_delivery, update_delivery,
      insert_dead, update_dead, put_refund_total;
  bool legacy_snapshot = false;  // a version 4 `snapshot` table, emptied by the first commit
  std::string tags_text;  // the writer's: a partner's tags as JSON (reused)
  // The writer's: `names` (tags, notification names, rules) by text. Names
  // added in an open transaction are dropped again by a rollback.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view t) const { return std::hash<std::string_view>{}(t); }
  };
  std::unordered_map<std::string, std::int64_t, NameHash, std::equal_to<>> names;
  std::int64_t next_name = 1;

  ~Impl() {
    if (thread.joinable()) {
      {
        std::lock_guard lock(m);
        stop = true;
      }
      work.notify_all();
      thread.join();
    }
    // Statements first: the last one finalized closes the file (and checkpoints).
    for (Stmt* st : {&insert_record, &insert_records, &insert_name, &update_partner, &insert_partner, &update_meta,
                     &put_head, &put_partner_state, &put_customer, &put_word, &put_id, &forget_ids, &put_input,
                     &insert_delivery, &update_delivery, &insert_dead, &update_dead, &put_refund_total})
      *st = Stmt();
    db.close();
    if (lock_fd >= 0) ::close(lock_fd);
  }

  void prepare() {
    std::string rows = "INSERT INTO record_rows (seq, time, partner, action, tag, rule, cause, event, previous) VALUES ";
    constexpr const char* kRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
    insert_record = Stmt(db, (rows + kRow).c_str());
    for (std::size_t i = 0; i < kRecordsPerInsert; ++i) rows += std::string(i ? ", " : "") + kRow;
    insert_records = Stmt(db, rows.c_str());
    insert_name = Stmt(db, "INSERT INTO names (id, text) VALUES (?, ?)");
    // A partner's row is found by its position (the rowid): updating the
    // metrics then touches no index.
    update_partner = Stmt(db, partner_sql(false).c_str());
    insert_partner = Stmt(db, partner_sql(true).c_str());
    insert_delivery = Stmt(db,
                           "INSERT INTO outbox (id, webhook, partner, record, body, status, attempts, "
                           "next_attempt, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    update_delivery = Stmt(
        db, "UPDATE outbox SET status = ?2, attempts = ?3, next_attempt = ?4, last_error = ?5 WHERE id = ?1");
    insert_dead = Stmt(db,
                       "INSERT INTO dead_letters (source, received_at, status, reason, headers, body) "
                       "VALUES (?, ?, ?, ?, ?, ?)");
    update_dead = Stmt(db, "UPDATE dead_letters SET status = ?2, reason = ?3 WHERE id = ?1");
    put_refund_total = Stmt(db, "INSERT OR REPLACE INTO refund_totals (sale, total) VALUES (?, ?)");
    update_meta =
        Stmt(db,
             "UPDATE meta SET program = coalesce(?1, program), clock = coalesce(?2, clock), "
             "clock_seconds = coalesce(?3, clock_seconds), commits = commits + ?4, records = ?5, "
             "committed_at = ?6 WHERE id = 1");
    put_head = Stmt(db, "INSERT OR REPLACE INTO engine_state (id, head) VALUES (1, ?)");
    put_partner_state = Stmt(db, "INSERT OR REPLACE INTO partner_state (position, data) VALUES (?, ?)");
    put_customer = Stmt(db, "INSERT OR IGNORE INTO partner_customers (partner, customer) VALUES (?, ?)");
    put_word = Stmt(db, "INSERT OR REPLACE INTO applied_words (prefix, block, bits) VALUES (?, ?, ?)");
    put_id = Stmt(db, "INSERT OR REPLACE INTO applied_ids (id, time) VALUES (?, ?)");
    forget_ids = Stmt(db, "DELETE FROM applied_ids WHERE time < ?");
    put_input = Stmt(
        db,
        "INSERT OR REPLACE INTO input (id, path, fingerprint, offset, line, out_path, out_length, sequence) "
        "VALUES (1, ?, ?, ?, ?, ?, ?, ?)");
  }

  void step(Stmt& s, std::string_view what) {
    int rc = s.run();
    s.reset();
    if (rc != SQLITE_DONE) fail(path, what, db.get(), rc);
  }
  // The message names the partner; it is built only on a failure.
  void step(Stmt& s, std::string_view what, std::string_view partner) {
    int rc = s.run();
    s.reset();
    if (rc != SQLITE_DONE) fail(path, std::string(what) + std::string(partner), db.get(), rc);
  }

  // The partners row's columns after `position` (?1), in parameter order:
  // each metric of the metric table (a count as one column; money as its
  // exact text and its millionths), then the rest. The insert adds `partner`.
  static std::vector<std::string> partner_columns() {
    std::vector<std::string> out;
    for (const MetricSpec& spec : kMetricSpecs) {
      std::string name(metrics()[static_cast<std::size_t>(spec.metric)]);
      out.push_back(name);
      if (spec.unit == MetricUnit::money) out.push_back(name + "_micros");
    }
    for (const char* c : {"joined_at", "last_activity", "last_referral", "tags", "last_record"}) out.emplace_back(c);
    return out;
  }
  // A partner's row is found by its position (the rowid): updating the
  // metrics then touches no index.
  static std::string partner_sql(bool insert) {
    std::vector<std::string> columns = partner_columns();
    std::string names = "position", values = "?1", sets;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      std::string param = "?" + std::to_string(i + 2);
      names += ", " + columns[i];
      values += ", " + param;
      sets += (i ? ", " : "") + columns[i] + " = " + param;
    }
    if (!insert) return "UPDATE partners SET " + sets + " WHERE position = ?1";
    return "INSERT INTO partners (" + names + ", partner) VALUES (" + values + ", ?" +
           std::to_string(columns.size() + 2) + ")";
  }
  static int partner_param() { return static_cast<int>(partner_columns().size()) + 2; }

  void bind_partner(Stmt& u, const PartnerRow& p) {
    int at = 1;
    u.bind(at++, p.position);
    for (const MetricSpec& spec : kMetricSpecs) {
      std::int64_t value = p.metric(spec.metric);
      if (spec.unit == MetricUnit::count) {
        store_detail::bind_count(u, at++, value);
      } else {
        u.bind_copy(at++, format_decimal(value));
        u.bind(at++, value);
      }
    }
    u.bind_time(at++, p.joined_at);
    u.bind_time(at++, p.last_activity);
    u.bind_time(at++, p.last_referral);
    u.bind(at++, tags_text);
    if (p.last_record > 0) u.bind(at, p.last_record);
  }

  // `partners.tags` (docs/store.md): `{"TAG": [added_at, rule, expires_at,
  // position], ...}` with the rule as a `names.id`.
  void append_number(std::int64_t n) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    tags_text.append(digits, end);
  }
  void append_time(Seconds t) {
    if (store_detail::strftime_reads(t)) return append_number(t);
    tags_text += '"';
    tags_text += format_time(t);
    tags_text += '"';
  }
  void format_tags(const PartnerRow& p) {
    tags_text.assign(1, '{');
    for (const StoredTag& t : p.tags) {
      if (tags_text.size() > 1) tags_text += ',';
      append_json_quoted(tags_text, t.tag);
      tags_text += ":[";
      append_time(t.added_at);
      tags_text += ',';
      append_number(name_id(t.rule));
      tags_text += ',';
      if (t.expires_at) {
        append_time(*t.expires_at);
      } else {
        tags_text += "null";
      }
      tags_text += ',';
      append_number(t.order);
      tags_text += ']';
    }
    tags_text += '}';
  }

  void write_partner(const PartnerRow& p) {
    format_tags(p);
    // Positions are given in order of first appearance: one past the last
    // stored is a new partner, and needs no update tried first.
    bool known = p.position < partners_stored;
    if (known) {
      bind_partner(update_partner, p);
      step(update_partner, "cannot write partner ", p.partner);
    }
    if (!known || sqlite3_changes(db.get()) == 0) {
      bind_partner(insert_partner, p);
      insert_partner.bind(partner_param(), p.partner);
      step(insert_partner, "cannot write partner ", p.partner);
      partners_stored = std::max(partners_stored, p.position + 1);
    }
  }

  void write_delivery(const Delivery& d) {
    Stmt& s = insert_delivery;
    s.bind(1, d.id);
    s.bind(2, d.webhook);
    s.bind(3, d.partner);
    s.bind(4, d.record);
    s.bind(5, d.body);
    s.bind(6, delivery_status_name(d.status));
    s.bind(7, d.attempts);
    s.bind(8, d.next_attempt);
    s.bind(9, d.last_error);
    step(s, "cannot write the outbox");
  }

  void write_server_rows(const ServerRows& rows) {
    write_dead_letters(rows.dead_letters);
    for (const auto& [sale, total] : rows.refund_totals) {
      put_refund_total.bind(1, sale);
      put_refund_total.bind(2, total);
      step(put_refund_total, "cannot write a refund total");
    }
  }

  void write_dead_letters(const std::vector<DeadLetter>& letters) {
    for (const DeadLetter& d : letters) {
      if (d.id > 0) {
        update_dead.bind(1, d.id);
        update_dead.bind(2, d.status);
        update_dead.bind(3, d.reason);
        step(update_dead, "cannot write a dead letter");
        continue;
      }
      Stmt& s = insert_dead;
      s.bind(1, d.source);
      s.bind(2, d.received_at);
      s.bind(3, d.status);
      s.bind(4, d.reason);
      s.bind(5, d.headers);
      s.bind_blob(6, d.body);
      step(s, "cannot write a dead letter");
    }
  }

  void write_updates(const std::vector<DeliveryUpdate>& updates) {
    Stmt& s = update_delivery;
    for (const DeliveryUpdate& u : updates) {
      s.bind(1, u.id);
      s.bind(2, delivery_status_name(u.status));
      s.bind(3, u.attempts);
      s.bind(4, u.next_attempt);
      s.bind(5, u.last_error);
      step(s, "cannot write the outbox");
    }
  }

  void load_names() {
    names.clear();
    next_name = 1;
    Stmt s(db, "SELECT id, text FROM names");
    while (s.step()) {
      names.emplace(s.text(1), s.integer(0));
      next_name = std::max(next_name, s.integer(0) + 1);
    }
  }

  std::int64_t name_id(std::string_view text) {
    auto it = names.find(text);
    if (it != names.end()) return it->second;
    std::int64_t id = next_name++;
    insert_name.bind(1, id);
    insert_name.bind(2, text);
    step(insert_name, "cannot write the names of tags and rules");
    names.emplace(std::string(text), id);
    return id;
  }

  // Records go in kRecordsPerInsert to a statement: a step per row costs
  // more than the row.
  static constexpr std::size_t kRecordsPerInsert = 32;
  void write_records(const RecordBatch& batch, std::int64_t& seq) {
    std::vector<std::int64_t> ids;  // the batch's names as `names.id`
    ids.reserve(batch.names().size());
    for (const std::string& n : batch.names()) ids.push_back(name_id(n));
    auto bind_row = [&](Stmt& s, int at, std::size_t i) {
      RecordBatch::View r = batch[i];
      // Numbered where made (ChangeRecord::seq): a gap or a repeat would
      // break every chain and position after it.
      if (r.seq != 0 && r.seq != seq + 1)
        throw StoreError("record " + std::to_string(r.seq) + " came where record " + std::to_string(seq + 1) +
                         " was next: records out of sequence");
      s.bind(at + 1, ++seq);
      s.bind_seconds(at + 2, r.time);
      s.bind(at + 3, r.partner);
      s.bind(at + 4, store_detail::code_number(store_detail::kActions, r.action));
      s.bind(at + 5, ids[r.tag_name]);
      s.bind(at + 6, ids[r.rule_name]);
      s.bind(at + 7, store_detail::code_number(store_detail::kCauses, r.cause));
      if (r.event) s.bind(at + 8, *r.event);
      if (r.previous > 0) s.bind(at + 9, r.previous);
    };
    std::size_t i = 0;
    for (; i + kRecordsPerInsert <= batch.size(); i += kRecordsPerInsert) {
      for (std::size_t k = 0; k < kRecordsPerInsert; ++k) bind_row(insert_records, static_cast<int>(9 * k), i + k);
      step(insert_records, "cannot write the records");
    }
    for (; i < batch.size(); ++i) {
      bind_row(insert_record, 0, i);
      step(insert_record, "cannot write the records");
    }
  }

  // What changed in the engine's state (ptag/state_rows.hpp), in the order
  // the engine took it; each commit of a group in turn.
  void write_state_rows(const StateRows& st) {
    const char* what = "cannot write the engine's state";
    if (st.all) {
      db.exec("DELETE FROM partner_state; DELETE FROM partner_customers; DELETE FROM applied_words; "
              "DELETE FROM applied_ids",
              what);
      if (legacy_snapshot) db.exec("DELETE FROM snapshot", what);
      legacy_snapshot = false;
    }
    put_head.bind_blob(1, st.head);
    step(put_head, what);
    for (std::size_t i = 0; i < st.partners.size(); ++i) {
      put_partner_state.bind(1, std::int64_t{st.partners[i]});
      put_partner_state.bind_blob(2, st.partner_rows[i]);
      step(put_partner_state, what);
    }
    for (std::size_t i = 0; i < st.customers.size(); ++i) {
      put_customer.bind(1, std::int64_t{st.customer_partners[i]});
      put_customer.bind(2, st.customers[i]);
      step(put_customer, what);
    }
    for (const AppliedIdWord& w : st.id_words) {
      put_word.bind(1, std::int64_t{w.prefix});
      put_word.bind(2, static_cast<std::int64_t>(w.block));
      put_word.bind(3, static_cast<std::int64_t>(w.bits));
      step(put_word, what);
    }
    for (std::size_t i = 0; i < st.id_texts.size(); ++i) {
      put_id.bind(1, st.id_texts[i]);
      if (st.id_times[i]) put_id.bind(2, *st.id_times[i]);
      step(put_id, what);
    }
    if (st.forget_before) {
      forget_ids.bind(1, *st.forget_before);
      step(forget_ids, what);
    }
  }

  void write_state(const StoreCommit& last, const std::string* program, std::int64_t commits,
                   std::int64_t seq) {
    const InputPosition& in = last.input;
    put_input.bind(1, in.path);
    put_input.bind(2, in.fingerprint);
    put_input.bind(3, in.offset);
    put_input.bind(4, in.line);
    put_input.bind(5, in.out_path);
    put_input.bind(6, in.out_length);
    if (in.sequence) put_input.bind(7, *in.sequence);
    step(put_input, "cannot write the input position");
    Stmt& meta = update_meta;
    if (program != nullptr) meta.bind(1, *program);
    meta.bind_time(2, last.clock);
    if (last.clock) meta.bind(3, *last.clock);
    meta.bind(4, commits);
    meta.bind(5, seq);
    meta.bind_time(6, static_cast<Seconds>(std::time(nullptr)));
    step(meta, "cannot commit");
  }

  // Records go into an open transaction as they come; a commit adds the
  // partners, tags and state of its batch and ends it. When several commits
  // wait, one transaction takes them all (the last one's state). Records
  // queued after the group's last commit open the next transaction: they
  // belong to the state after it.
  // Why the file can no longer take writes: deleted or replaced under us (a
  // commit would go to a file no restart finds), or not writable. SQLite
  // maps the WAL index (-shm): once it cannot grow (chattr +i), touching it
  // is SIGBUS. access() sees the immutable flag, even for root.
  void check_file() const {
    struct stat now {};
    if (::stat(path.c_str(), &now) != 0)
      throw StoreError(path + ": the store file was deleted while it was in use");
    if (now.st_dev != opened.st_dev || now.st_ino != opened.st_ino)
      throw StoreError(path + ": the store file was replaced while it was in use");
    for (const std::string& file : {path, path + "-wal", path + "-shm"})
      if (::access(file.c_str(), W_OK) != 0 && errno != ENOENT)
        throw StoreError(file + " cannot be written (" + std::strerror(errno) + ")");
  }

  void write(std::vector<Item>& group) {
    std::size_t end = 0;  // items up to the last commit
    for (std::size_t i = 0; i < group.size(); ++i)
      if (group[i].commit) end = i + 1;
    // Before anything touches SQLite: not even a rollback may run on a file
    // that cannot be written (the store stays failed; nothing more is written).
    check_file();
    try {
      std::int64_t seq = pending;
      if (end > 0) {
        if (!open) db.exec("BEGIN IMMEDIATE", "cannot commit");
        open = true;
        const std::string* program = nullptr;
        std::int64_t commits = 0;
        for (std::size_t i = 0; i < end; ++i) {
          StoreCommit& c = group[i].batch;
          write_records(c.records, seq);
          for (const PartnerRow& p : c.partners) write_partner(p);
          for (const Delivery& d : c.deliveries) write_delivery(d);
          write_server_rows(c.server);
          write_state_rows(c.state);
          write_updates(group[i].updates);
          if (c.program) program = &*c.program;
          commits += group[i].commit;
        }
        write_state(group[end - 1].batch, program, commits, seq);
        db.exec("COMMIT", "cannot commit");
        open = false;
        records = pending = seq;
      }
      if (end < group.size()) {
        // Updates alone commit on their own; with records they wait for the next commit.
        bool records_wait = open;
        for (std::size_t i = end; i < group.size(); ++i) records_wait |= !group[i].batch.records.empty();
        if (!open) db.exec("BEGIN IMMEDIATE", "cannot commit");
        open = true;
        for (std::size_t i = end; i < group.size(); ++i) {
          write_records(group[i].batch.records, seq);
          write_updates(group[i].updates);
        }
        pending = seq;
        if (!records_wait) {
          db.exec("COMMIT", "cannot commit");
          open = false;
        }
      }
    } catch (...) {
      db.try_exec("ROLLBACK");
      open = false;
      pending = records;
      try {
        load_names();
      } catch (...) {
        names.clear();  // the next write fails on the store anyway
      }
      throw;
    }
  }

  // After each commit: what it added to the WAL, and a checkpoint (copying
  // the WAL into the file) once the WAL holds kCheckpointFrames, as SQLite's
  // own hook would (installing this one replaces it).
  static constexpr int kCheckpointFrames = 16384;  // 64 MB of 4 KB pages
  static int on_wal(void* self, sqlite3* handle, const char* name, int frames) {
    auto* s = static_cast<Impl*>(self);
    int added = frames >= s->wal_frames ? frames - s->wal_frames : frames;  // restarted after a checkpoint
    s->wal_frames = frames;
    if (s->options.on_commit) s->options.on_commit(static_cast<std::int64_t>(added) * (s->page_bytes + 24));
    if (frames >= kCheckpointFrames) sqlite3_wal_checkpoint_v2(handle, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }

  void run() {
    std::unique_lock lock(m);
    for (;;) {
      work.wait(lock, [&] { return stop || !queue.empty(); });
      if (queue.empty()) return;  // stopping, nothing left
      std::vector<Item> group;
      while (!queue.empty()) {
        group.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      queued_commits = 0;
      busy = true;
      done.notify_all();  // room in the queue
      lock.unlock();
      std::optional<std::string> failure;
      auto started = std::chrono::steady_clock::now();
      try {
        write(group);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      durable.store(records);
      std::uint64_t commits_written = 0;
      std::vector<RecordBatch> emptied;
      for (Item& item : group) {
        commits_written += item.commit;
        if (!item.commit && emptied.size() < kSpareBatches) {
          item.batch.records.clear();
          emptied.push_back(std::move(item.batch.records));
        }
      }
      group.clear();  // free the batches outside the lock
      lock.lock();
      for (RecordBatch& b : emptied)
        if (spare.size() < kSpareBatches) spare.push_back(std::move(b));
      busy = false;
      if (!failure) commits_durable += commits_written;
      if (commits_written > 0) last_commit_seconds = took;
      if (failure) {
        if (!error) error = failure;
        queue.clear();  // nothing after a failed commit may be written
        queued_commits = 0;
      }
      done.notify_all();
    }
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

std::unique_ptr<Store> Store::open(const std::string& path, const StoreOptions& options) {
  check_path(path);
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  if (impl->options.max_queued == 0) impl->options.max_queued = 1;
  store_detail::check_file_header(path);  // before the lock: no PATH-lock beside a text file
  impl->lock_fd = lock_store(path);
  Db& db = impl->db;
  // NOMUTEX: one thread at a time uses the connection (open, then the writer).
  db.open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (sqlite3_db_readonly(db.get(), "main") == 1)
    throw StoreError(path + ": the store cannot be written (read-only file or folder)");
  ::stat(path.c_str(), &impl->opened);
  store_detail::prepare_schema(db, true, options.check_on_open);
  // After the checks: a refused foreign database is left as it was.
  {
    Stmt wal(db, "PRAGMA journal_mode = WAL");
    if (!wal.step() || wal.text(0) != "wal")
      fail(path, "cannot switch the store to WAL mode", db.get(), SQLITE_OK);
  }
  db.exec(
      options.sync == StoreSync::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
      "cannot set the store's sync mode");
  // The partners' pages stay in memory between commits (the default is 2 MB).
  db.exec("PRAGMA cache_size = -65536", "cannot set the store's cache size");
  // A checkpoint (copying the WAL into the file, with its own fsync) once per
  // 64 MB of WAL rather than per 4 MB (Impl::on_wal).
  {
    Stmt page(db, "PRAGMA page_size");
    if (page.step()) impl->page_bytes = page.integer(0);
  }
  sqlite3_wal_hook(db.get(), &Impl::on_wal, impl.get());
  store_detail::migrate_schema(db);
  store_detail::ensure_tables(db);
  impl->loaded = store_detail::load_contents(db);
  impl->legacy_snapshot = store_detail::has_table(db, "snapshot");
  impl->records = impl->pending = impl->loaded.records;
  {
    store_detail::Stmt last(db, "SELECT coalesce(max(position) + 1, 0) FROM partners");
    last.step();
    impl->partners_stored = last.integer(0);
  }
  impl->durable.store(impl->records);
  impl->load_names();
  impl->prepare();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const std::string& Store::path() const {
  return impl_->path;
}
const StoreContents& Store::loaded() const {
  return impl_->loaded;
}
std::int64_t Store::durable_records() const {
  return impl_->durable.load();
}

std::uint64_t Store::commit(StoreCommit&& batch) {
  Impl& s = *impl_;
  std::unique_lock lock(s.m);
  s.done.wait(lock, [&] { return s.error || s.queued_commits < s.options.max_queued; });
  if (s.error) throw StoreError(*s.error);
  s.queue.push_back({std::move(batch), true, {}});
  ++s.queued_commits;
  s.work.notify_one();
  return ++s.commits_queued;
}

void Store::wait(std::uint64_t commit) {
  Impl& s = *impl_;
  std::unique_lock lock(s.m);
  s.done.wait(lock, [&] { return s.error || s.commits_durable >= commit; });
  if (s.commits_durable < commit) throw StoreError(*s.error);
}

void Store::update_deliveries(std::vector<DeliveryUpdate>&& updates) {
  Impl& s = *impl_;
  std::unique_lock lock(s.m);
  if (s.error) throw StoreError(*s.error);
  Impl::Item item;
  item.commit = false;
  item.updates = std::move(updates);
  s.queue.push_back(std::move(item));
  s.work.notify_one();
}

void Store::append(RecordBatch&& records) {
  Impl& s = *impl_;
  std::unique_lock lock(s.m);
  // A bound on records waiting for the writer, as for commits.
  s.done.wait(lock, [&] { return s.error || s.queue.size() < s.options.max_queued * 16; });
  if (s.error) throw StoreError(*s.error);
  StoreCommit item;
  item.records = std::move(records);
  s.queue.push_back({std::move(item), false, {}});
  s.work.notify_one();
}

RecordBatch Store::recycled() {
  Impl& s = *impl_;
  std::lock_guard lock(s.m);
  if (s.spare.empty()) return {};
  RecordBatch b = std::move(s.spare.back());
  s.spare.pop_back();
  return b;
}

double Store::last_commit_seconds() const {
  std::lock_guard lock(impl_->m);
  return impl_->last_commit_seconds;
}

std::uint64_t Store::commits_waiting() const {
  std::lock_guard lock(impl_->m);
  return impl_->commits_queued - impl_->commits_durable;
}

void Store::flush() {
  Impl& s = *impl_;
  std::unique_lock lock(s.m);
  s.done.wait(lock, [&] { return s.queue.empty() && !s.busy; });
  if (s.error) throw StoreError(*s.error);
}

}  // namespace ptag
