#include "schema.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "ptag/decimal.hpp"

namespace ptag::store_detail {
namespace {

constexpr const char* kFormat = "ptag store";

// Version 2. The public tables (partners, partner_tags, records) are the
// read-only interface of docs/store.md; the others are ptag's own. No index on
// records: it would halve the writer's speed. A partner's position is its
// rowid, so that a commit updates metrics without touching an index.
constexpr const char* kSchema = R"sql(
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  format TEXT NOT NULL,
  program TEXT,
  clock TEXT,
  clock_seconds INTEGER,
  commits INTEGER NOT NULL,
  records INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  committed_at TEXT
);
CREATE TABLE snapshot (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  data BLOB NOT NULL
);
CREATE TABLE input (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  path TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  offset INTEGER NOT NULL,
  line INTEGER NOT NULL,
  out_path TEXT NOT NULL,
  out_length INTEGER NOT NULL
);
CREATE TABLE partners (
  partner TEXT NOT NULL UNIQUE,
  position INTEGER PRIMARY KEY,
  signups INTEGER NOT NULL,
  customers INTEGER NOT NULL,
  revenue TEXT NOT NULL,
  sales INTEGER NOT NULL,
  clicks INTEGER NOT NULL,
  commissions TEXT NOT NULL,
  revenue_micros INTEGER NOT NULL,
  commissions_micros INTEGER NOT NULL,
  joined_at TEXT,
  last_activity TEXT,
  last_referral TEXT
);
CREATE TABLE partner_tags (
  partner TEXT NOT NULL,
  tag TEXT NOT NULL,
  position INTEGER NOT NULL,
  added_at TEXT NOT NULL,
  rule TEXT NOT NULL,
  expires_at TEXT,
  PRIMARY KEY (partner, tag)
) WITHOUT ROWID;
CREATE INDEX partner_tags_by_tag ON partner_tags (tag);
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  webhook TEXT NOT NULL,
  partner TEXT NOT NULL,
  record INTEGER NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt INTEGER NOT NULL,
  last_error TEXT NOT NULL
);
CREATE INDEX outbox_pending ON outbox (status) WHERE status = 'pending';
CREATE TABLE records (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  partner TEXT NOT NULL,
  action TEXT NOT NULL,
  tag TEXT,
  name TEXT,
  rule TEXT NOT NULL,
  cause TEXT NOT NULL,
  event TEXT
);
)sql";

// Version 1 keyed partners by their id (an index write for every metric
// update); version 2 by position (same columns, same order), and has the
// outbox of `ptag serve`.
constexpr const char* kFrom1To2 = R"sql(
CREATE TABLE partners_2 (
  partner TEXT NOT NULL UNIQUE,
  position INTEGER PRIMARY KEY,
  signups INTEGER NOT NULL,
  customers INTEGER NOT NULL,
  revenue TEXT NOT NULL,
  sales INTEGER NOT NULL,
  clicks INTEGER NOT NULL,
  commissions TEXT NOT NULL,
  revenue_micros INTEGER NOT NULL,
  commissions_micros INTEGER NOT NULL,
  joined_at TEXT,
  last_activity TEXT,
  last_referral TEXT
);
INSERT INTO partners_2 SELECT partner, position, signups, customers, revenue, sales, clicks,
  commissions, revenue_micros, commissions_micros, joined_at, last_activity, last_referral
  FROM partners;
DROP TABLE partners;
ALTER TABLE partners_2 RENAME TO partners;
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  webhook TEXT NOT NULL,
  partner TEXT NOT NULL,
  record INTEGER NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt INTEGER NOT NULL,
  last_error TEXT NOT NULL
);
CREATE INDEX outbox_pending ON outbox (status) WHERE status = 'pending';
PRAGMA user_version = 2;
)sql";

std::string now_text() {
  return format_time(static_cast<Seconds>(std::time(nullptr)));
}

}  // namespace

void check_file_header(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return;  // SQLite reports why it cannot open it
  char head[16] = {};
  std::size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n == 0) return;  // an empty file is an empty database
  if (n < sizeof head || std::memcmp(head, "SQLite format 3", 16) != 0)
    throw StoreError(path + ": not a ptag store (not an SQLite database)");
}

bool prepare_schema(Db& db, bool create, bool quick_check) {
  const std::string& path = db.path();
  // Statements in a scope: an unfinished one holds a read transaction.
  std::int64_t v = 0;
  std::int64_t count = 0;
  {
    Stmt version(db, "PRAGMA user_version");
    version.step();
    v = version.integer(0);
    Stmt objects(db, "SELECT count(*) FROM sqlite_schema");
    objects.step();
    count = objects.integer(0);
  }
  if (v == 0 && count == 0) {
    if (!create) throw StoreError(path + ": not a ptag store (an empty database)");
    db.exec("PRAGMA journal_mode = WAL", "cannot create the store");
    db.exec("BEGIN IMMEDIATE", "cannot create the store");
    try {
      db.exec(kSchema, "cannot create the store");
      Stmt meta(
          db, "INSERT INTO meta (id, format, commits, records, created_at) VALUES (1, ?, 0, 0, ?)");
      meta.bind(1, kFormat);
      std::string now = now_text();
      meta.bind(2, now);
      if (int rc = meta.run(); rc != SQLITE_DONE)
        fail(path, "cannot create the store", db.get(), rc);
      db.exec(fmt::format("PRAGMA user_version = {}", kStoreSchemaVersion).c_str(),
              "cannot create the store");
      db.exec("COMMIT", "cannot create the store");
    } catch (...) {
      db.try_exec("ROLLBACK");
      throw;
    }
    return true;
  }
  if (v > kStoreSchemaVersion)
    throw StoreError(fmt::format(
        "{}: written by a newer ptag (store schema version {}; this ptag reads version {})", path,
        v, kStoreSchemaVersion));
  const std::string foreign =
      path + ": not a ptag store (an SQLite database without ptag's tables)";
  if (v < 1) throw StoreError(foreign);
  Stmt has_meta(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'");
  has_meta.step();
  if (has_meta.integer(0) != 1) throw StoreError(foreign);
  Stmt format(db, "SELECT format FROM meta WHERE id = 1");
  if (!format.step() || format.text(0) != kFormat) throw StoreError(foreign);
  if (quick_check) {
    Stmt check(db, "PRAGMA quick_check(1)");
    if (!check.step() || check.text(0) != "ok")
      throw StoreError(path + ": the file is corrupt or truncated (quick_check: " + check.text(0) +
                       ")");
  }
  // The records counted in meta are the records there (one transaction writes both).
  Stmt last(db,
            "SELECT (SELECT records FROM meta WHERE id = 1), (SELECT coalesce(max(seq), 0) FROM "
            "records)");
  last.step();
  if (last.integer(0) != last.integer(1))
    throw StoreError(fmt::format(
        "{}: the file is corrupt (meta counts {} records, the records table ends at {})", path,
        last.integer(0), last.integer(1)));
  return false;
}

void migrate_schema(Db& db) {
  std::int64_t v = 0;
  {
    Stmt version(db, "PRAGMA user_version");
    version.step();
    v = version.integer(0);
  }
  if (v != 1) return;
  db.exec("BEGIN IMMEDIATE", "cannot migrate the store from schema version 1");
  try {
    db.exec(kFrom1To2, "cannot migrate the store from schema version 1");
    db.exec("COMMIT", "cannot migrate the store from schema version 1");
  } catch (...) {
    db.try_exec("ROLLBACK");
    throw;
  }
}

StoreContents load_contents(Db& db) {
  StoreContents c;
  db.exec("BEGIN", "cannot read the store");
  try {
    {
      Stmt meta(db, "SELECT program, clock_seconds, commits, records FROM meta WHERE id = 1");
      if (!meta.step()) fail(db.path(), "not a ptag store (no meta row)");
      c.program = meta.optional_text(0);
      if (!meta.is_null(1)) c.clock = meta.integer(1);
      c.commits = meta.integer(2);
      c.records = meta.integer(3);
      // A version 1 store (read before its migration) has no outbox.
      Stmt has_outbox(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'outbox'");
      has_outbox.step();
      if (has_outbox.integer(0) == 1) {
        Stmt last(db, "SELECT coalesce(max(id), 0) FROM outbox");
        last.step();
        c.last_delivery = last.integer(0);
      }
      Stmt snap(db, "SELECT data FROM snapshot WHERE id = 1");
      if (snap.step()) c.snapshot = snap.blob(0);
      Stmt in(
          db,
          "SELECT path, fingerprint, offset, line, out_path, out_length FROM input WHERE id = 1");
      if (in.step())
        c.input = InputPosition{in.text(0),    in.text(1), in.integer(2),
                                in.integer(3), in.text(4), in.integer(5)};
    }
    db.exec("COMMIT", "cannot read the store");
  } catch (...) {
    db.try_exec("ROLLBACK");
    throw;
  }
  c.created = c.commits == 0;
  return c;
}

}  // namespace ptag::store_detail

namespace ptag {

const char* delivery_status_name(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::pending:
      return "pending";
    case DeliveryStatus::delivered:
      return "delivered";
    case DeliveryStatus::failed:
      return "failed";
  }
  return "pending";
}

std::optional<DeliveryStatus> parse_delivery_status(std::string_view text) {
  for (DeliveryStatus s : {DeliveryStatus::pending, DeliveryStatus::delivered, DeliveryStatus::failed})
    if (text == delivery_status_name(s)) return s;
  return std::nullopt;
}

}  // namespace ptag

namespace ptag::store_detail {

Delivery read_delivery(const Stmt& s) {
  Delivery d;
  d.id = s.integer(0);
  d.webhook = s.text(1);
  d.partner = s.text(2);
  d.record = s.integer(3);
  d.body = s.text(4);
  d.status = parse_delivery_status(s.text(5)).value_or(DeliveryStatus::pending);
  d.attempts = s.integer(6);
  d.next_attempt = s.integer(7);
  d.last_error = s.text(8);
  return d;
}

const char* action_text(RecordAction a) {
  switch (a) {
    case RecordAction::add:
      return "add";
    case RecordAction::remove:
      return "remove";
    case RecordAction::emit:
      return "emit";
  }
  return "add";
}

const char* cause_text(RecordCause c) {
  switch (c) {
    case RecordCause::event:
      return "event";
    case RecordCause::timer:
      return "timer";
    case RecordCause::backfill:
      return "backfill";
  }
  return "event";
}

StoredRecord read_record(const Stmt& s, int first) {
  StoredRecord r;
  r.time = s.time(first).value_or(0);
  r.partner = s.text(first + 1);
  std::string action = s.text(first + 2);
  r.action = action == "remove" ? RecordAction::remove
             : action == "emit" ? RecordAction::emit
                                : RecordAction::add;
  r.tag = r.action == RecordAction::emit ? s.text(first + 4) : s.text(first + 3);
  r.rule = s.text(first + 5);
  std::string cause = s.text(first + 6);
  r.cause = cause == "timer"      ? RecordCause::timer
            : cause == "backfill" ? RecordCause::backfill
                                  : RecordCause::event;
  r.event = s.optional_text(first + 7);
  return r;
}

void bind_count(Stmt& s, int i, std::int64_t millionths) {
  if (millionths % kMillion == 0) return s.bind(i, millionths / kMillion);
  s.bind_copy(i, format_decimal(millionths));
}

std::int64_t read_count(const Stmt& s, int col) {
  if (s.is_null(col)) return 0;
  std::optional<std::int64_t> v = parse_decimal(s.text(col));
  if (!v)
    throw StoreError(s.path() +
                     ": not a ptag store (a metric that is not a number: " + s.text(col) + ")");
  return *v;
}

PartnerRow read_partner(const Stmt& s) {
  PartnerRow p;
  p.partner = s.text(0);
  p.position = s.integer(1);
  p.signups = read_count(s, 2);
  p.customers = read_count(s, 3);
  p.revenue = s.integer(4);
  p.sales = read_count(s, 5);
  p.clicks = read_count(s, 6);
  p.commissions = s.integer(7);
  p.joined_at = s.time(8);
  p.last_activity = s.time(9);
  p.last_referral = s.time(10);
  return p;
}

}  // namespace ptag::store_detail
