#include "schema.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "ptag/decimal.hpp"

namespace ptag::store_detail {
namespace {

constexpr const char* kFormat = "ptag store";

// The tables that version 2 and the migration from version 1 create alike.
#define PTAG_PARTNERS_COLUMNS \
  "  partner TEXT NOT NULL UNIQUE,\n" \
  "  position INTEGER PRIMARY KEY,\n" \
  "  signups INTEGER NOT NULL,\n" \
  "  customers INTEGER NOT NULL,\n" \
  "  revenue TEXT NOT NULL,\n" \
  "  sales INTEGER NOT NULL,\n" \
  "  clicks INTEGER NOT NULL,\n" \
  "  commissions TEXT NOT NULL,\n" \
  "  revenue_micros INTEGER NOT NULL,\n" \
  "  commissions_micros INTEGER NOT NULL,\n" \
  "  joined_at TEXT,\n" \
  "  last_activity TEXT,\n" \
  "  last_referral TEXT\n"

// Platform payloads a source did not apply (docs/serve.md, "Dead letters").
#define PTAG_DEAD_LETTERS_TABLE \
  "CREATE TABLE IF NOT EXISTS dead_letters (\n" \
  "  id INTEGER PRIMARY KEY,\n" \
  "  source TEXT NOT NULL,\n" \
  "  received_at INTEGER NOT NULL,\n" \
  "  status TEXT NOT NULL,\n" \
  "  reason TEXT NOT NULL,\n" \
  "  headers TEXT NOT NULL,\n" \
  "  body BLOB NOT NULL\n" \
  ");\n"

// Refunds sent as totals: what each sale has had taken back (the server's).
#define PTAG_REFUND_TOTALS_TABLE \
  "CREATE TABLE IF NOT EXISTS refund_totals (sale TEXT PRIMARY KEY, total INTEGER NOT NULL);\n"

#define PTAG_OUTBOX_TABLE \
  "CREATE TABLE outbox (\n" \
  "  id INTEGER PRIMARY KEY,\n" \
  "  webhook TEXT NOT NULL,\n" \
  "  partner TEXT NOT NULL,\n" \
  "  record INTEGER NOT NULL,\n" \
  "  body TEXT NOT NULL,\n" \
  "  status TEXT NOT NULL,\n" \
  "  attempts INTEGER NOT NULL,\n" \
  "  next_attempt INTEGER NOT NULL,\n" \
  "  last_error TEXT NOT NULL\n" \
  ");\n" \
  "CREATE INDEX outbox_pending ON outbox (status) WHERE status = 'pending';\n"

// Version 3 keeps the audit trail compact: a record's time in seconds (as
// text only outside years 0000-9999), its action and cause as small numbers
// and its tag, name and rule as numbers into `names`: a third of the bytes,
// which the WAL and the checkpoint each write. The `records` view gives the
// rows of version 2 (docs/store.md).
#define PTAG_RECORDS_TABLES \
  "CREATE TABLE names (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);\n" \
  "CREATE TABLE record_rows (\n" \
  "  seq INTEGER PRIMARY KEY,\n" \
  "  time INTEGER NOT NULL,\n" \
  "  partner TEXT NOT NULL,\n" \
  "  action INTEGER NOT NULL,\n" \
  "  tag INTEGER NOT NULL,\n" \
  "  rule INTEGER NOT NULL,\n" \
  "  cause INTEGER NOT NULL,\n" \
  "  event TEXT\n" \
  ");\n" \
  "CREATE VIEW records (seq, time, partner, action, tag, name, rule, cause, event) AS\n" \
  "  SELECT r.seq,\n" \
  "    CASE WHEN typeof(r.time) = 'integer'\n" \
  "      THEN strftime('%Y-%m-%dT%H:%M:%SZ', r.time, 'unixepoch') ELSE r.time END,\n" \
  "    r.partner,\n" \
  "    CASE r.action WHEN 0 THEN 'add' WHEN 1 THEN 'remove' ELSE 'emit' END,\n" \
  "    CASE WHEN r.action = 2 THEN NULL ELSE t.text END,\n" \
  "    CASE WHEN r.action = 2 THEN t.text END,\n" \
  "    u.text,\n" \
  "    CASE r.cause WHEN 0 THEN 'event' WHEN 1 THEN 'timer' ELSE 'backfill' END,\n" \
  "    r.event\n" \
  "  FROM record_rows r LEFT JOIN names t ON t.id = r.tag LEFT JOIN names u ON u.id = r.rule;\n"

// Version 4 keeps a partner's current tags in its `partners` row, as a JSON
// object from each tag to `[added_at, rule, expires_at, position]`, in the
// order added, with the rule as a `names.id` and times in seconds (as text
// outside years 0000-9999). A commit then writes one row per changed partner
// instead of a row and an index entry per changed tag (docs/store.md,
// "Speed"); `partner_tags` is the view that gives the rows of version 3. The
// tag is the key so that a query by tag needs no lookup per tag.
#define PTAG_PARTNER_TAGS_VIEW \
  "CREATE VIEW partner_tags (partner, tag, position, added_at, rule, expires_at) AS\n" \
  "  SELECT p.partner, j.key, json_extract(j.value, '$[3]'),\n" \
  "    CASE json_type(j.value, '$[0]') WHEN 'integer'\n" \
  "      THEN strftime('%Y-%m-%dT%H:%M:%SZ', json_extract(j.value, '$[0]'), 'unixepoch')\n" \
  "      ELSE json_extract(j.value, '$[0]') END,\n" \
  "    u.text,\n" \
  "    CASE json_type(j.value, '$[2]') WHEN 'integer'\n" \
  "      THEN strftime('%Y-%m-%dT%H:%M:%SZ', json_extract(j.value, '$[2]'), 'unixepoch')\n" \
  "      ELSE json_extract(j.value, '$[2]') END\n" \
  "  FROM partners p, json_each(p.tags) j\n" \
  "  LEFT JOIN names u ON u.id = json_extract(j.value, '$[1]');\n"

// Version 5 keeps the engine's state as rows (docs/store.md, "How the
// state is kept"): a commit writes the partners that changed, the customers
// and applied ids that are new, and a small head, instead of the whole state
// as one blob. A partner's records are found without scanning the audit
// trail and without an index (one would cost the writer a random B-tree
// insert per record): each record row names the partner's previous record
// (`previous`), and the partner's row its last (`last_record`).
#define PTAG_STATE_TABLES \
  "CREATE TABLE engine_state (id INTEGER PRIMARY KEY CHECK (id = 1), head BLOB NOT NULL);\n" \
  "CREATE TABLE partner_state (position INTEGER PRIMARY KEY, data BLOB NOT NULL);\n" \
  "CREATE TABLE partner_customers (partner INTEGER NOT NULL, customer TEXT NOT NULL,\n" \
  "  PRIMARY KEY (partner, customer)) WITHOUT ROWID;\n" \
  "CREATE TABLE applied_words (prefix INTEGER NOT NULL, block INTEGER NOT NULL, bits INTEGER NOT NULL,\n" \
  "  PRIMARY KEY (prefix, block)) WITHOUT ROWID;\n" \
  "CREATE TABLE applied_ids (id TEXT PRIMARY KEY, time INTEGER) WITHOUT ROWID;\n" \
  "ALTER TABLE record_rows ADD COLUMN previous INTEGER;\n" \
  "ALTER TABLE partners ADD COLUMN last_record INTEGER;\n" \
  "ALTER TABLE input ADD COLUMN sequence INTEGER;\n"

// Version 4. The public tables and views (partners, partner_tags, records)
// are the read-only interface of docs/store.md; the others are ptag's own. No
// index on records: it would halve the writer's speed. A partner's position
// is its rowid, so that a commit updates a partner without touching an index.
constexpr const char* kSchema =
    "CREATE TABLE meta (\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  format TEXT NOT NULL,\n"
    "  program TEXT,\n"
    "  clock TEXT,\n"
    "  clock_seconds INTEGER,\n"
    "  commits INTEGER NOT NULL,\n"
    "  records INTEGER NOT NULL,\n"
    "  created_at TEXT NOT NULL,\n"
    "  committed_at TEXT,\n"
    "  store_id TEXT\n"
    ");\n"
    PTAG_DEAD_LETTERS_TABLE
    PTAG_REFUND_TOTALS_TABLE
    "CREATE TABLE input (\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  path TEXT NOT NULL,\n"
    "  fingerprint TEXT NOT NULL,\n"
    "  offset INTEGER NOT NULL,\n"
    "  line INTEGER NOT NULL,\n"
    "  out_path TEXT NOT NULL,\n"
    "  out_length INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE partners (\n" PTAG_PARTNERS_COLUMNS ",  tags TEXT NOT NULL DEFAULT '{}'\n);\n"
    PTAG_OUTBOX_TABLE
    PTAG_RECORDS_TABLES
    PTAG_PARTNER_TAGS_VIEW
    PTAG_STATE_TABLES;

// Version 1 keyed partners by their id (an index write for every metric
// update); version 2 by position (same columns, same order), and has the
// outbox of `ptag serve`.
constexpr const char* kFrom1To2 =
    "CREATE TABLE partners_2 (\n" PTAG_PARTNERS_COLUMNS ");\n"
    "INSERT INTO partners_2 SELECT partner, position, signups, customers, revenue, sales, clicks,\n"
    "  commissions, revenue_micros, commissions_micros, joined_at, last_activity, last_referral\n"
    "  FROM partners;\n"
    "DROP TABLE partners;\n"
    "ALTER TABLE partners_2 RENAME TO partners;\n"
    PTAG_OUTBOX_TABLE
    "PRAGMA user_version = 2;\n";

// Version 3: the records of version 2, compact. A time is kept as text when
// the view would not give back the same text.
constexpr const char* kFrom2To3 =
    "ALTER TABLE records RENAME TO records_2;\n"
    PTAG_RECORDS_TABLES
    "INSERT OR IGNORE INTO names (text)\n"
    "  SELECT tag FROM records_2 WHERE tag IS NOT NULL UNION ALL\n"
    "  SELECT name FROM records_2 WHERE name IS NOT NULL UNION ALL\n"
    "  SELECT rule FROM records_2;\n"
    "INSERT INTO record_rows (seq, time, partner, action, tag, rule, cause, event)\n"
    "  SELECT seq,\n"
    "    CASE WHEN strftime('%Y-%m-%dT%H:%M:%SZ', strftime('%s', time), 'unixepoch') = time\n"
    "      THEN CAST(strftime('%s', time) AS INTEGER) ELSE time END,\n"
    "    partner,\n"
    "    CASE action WHEN 'add' THEN 0 WHEN 'remove' THEN 1 ELSE 2 END,\n"
    "    (SELECT id FROM names WHERE text = coalesce(tag, name)),\n"
    "    (SELECT id FROM names WHERE text = rule),\n"
    "    CASE cause WHEN 'event' THEN 0 WHEN 'timer' THEN 1 ELSE 2 END,\n"
    "    event\n"
    "  FROM records_2 ORDER BY seq;\n"
    "DROP TABLE records_2;\n"
    "PRAGMA user_version = 3;\n";

// Version 4: the rows of version 3's partner_tags table move into their
// partners' rows (a time stays text where strftime() would not give it back).
#define PTAG_SECONDS_OR_TEXT(t) \
  "CASE WHEN strftime('%Y-%m-%dT%H:%M:%SZ', strftime('%s', " t "), 'unixepoch') = " t \
  " THEN CAST(strftime('%s', " t ") AS INTEGER) ELSE " t " END"
constexpr const char* kFrom3To4 =
    "ALTER TABLE partners ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';\n"
    "INSERT OR IGNORE INTO names (text) SELECT rule FROM partner_tags;\n"
    "UPDATE partners SET tags = (\n"
    "  SELECT json_group_object(g.tag, json_array(\n"
    "      " PTAG_SECONDS_OR_TEXT("g.added_at") ",\n"
    "      (SELECT id FROM names WHERE text = g.rule),\n"
    "      CASE WHEN g.expires_at IS NULL THEN NULL ELSE " PTAG_SECONDS_OR_TEXT("g.expires_at") " END,\n"
    "      g.position))\n"
    "    FROM (SELECT * FROM partner_tags WHERE partner = partners.partner ORDER BY position) g)\n"
    "  WHERE partner IN (SELECT partner FROM partner_tags);\n"
    "DROP TABLE partner_tags;\n"
    PTAG_PARTNER_TAGS_VIEW
    "PRAGMA user_version = 4;\n";

// Version 5: the state tables beside version 4's `snapshot`, which the
// first commit of a version 5 writer empties (its state then is in rows).
constexpr const char* kFrom4To5 =
    PTAG_STATE_TABLES
    // The chains of the records there, once, with an index made for it.
    "CREATE INDEX migrate_by_partner ON record_rows (partner, seq);\n"
    "UPDATE record_rows SET previous = (SELECT max(r.seq) FROM record_rows r\n"
    "  WHERE r.partner = record_rows.partner AND r.seq < record_rows.seq);\n"
    "UPDATE partners SET last_record = (SELECT max(r.seq) FROM record_rows r WHERE r.partner = partners.partner);\n"
    "DROP INDEX migrate_by_partner;\n"
    "PRAGMA user_version = 5;\n";

#undef PTAG_SECONDS_OR_TEXT
#undef PTAG_PARTNER_TAGS_VIEW
#undef PTAG_PARTNERS_COLUMNS
#undef PTAG_OUTBOX_TABLE
#undef PTAG_RECORDS_TABLES
#undef PTAG_STATE_TABLES

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

namespace {

// The file is at least as long as its pages (a truncated copy is refused
// without reading it all), when there is no write-ahead log: a checkpoint
// cut short (a full disk) leaves the file short, and the log still holds
// the pages. stat() only: opening the file would drop SQLite's locks on it.
void check_length(Db& db) {
  const std::string& path = db.path();
  struct stat wal {};
  if (::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0) return;
  std::int64_t pages = 0, page = 0;
  {
    Stmt count(db, "PRAGMA page_count");
    if (count.step()) pages = count.integer(0);
    Stmt size(db, "PRAGMA page_size");
    if (size.step()) page = size.integer(0);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && st.st_size < pages * page)
    throw StoreError(fmt::format("{}: the file is corrupt or truncated ({} bytes of the {} its pages take)", path,
                                 st.st_size, pages * page));
}

}  // namespace

// Every table and index but the audit trail's rows (`record_rows`, which
// grows with history: reading it all would make every start as slow as the
// store is large); a damaged page there is found when it is read.
void check_pages(Db& db) {
  const std::string& path = db.path();
  check_length(db);
  std::vector<std::string> tables;
  {
    Stmt list(db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name <> 'record_rows'");
    while (list.step()) tables.push_back(list.text(0));
  }
  for (const std::string& table : tables) {
    Stmt check(db, fmt::format("PRAGMA quick_check(\"{}\")", table).c_str());
    if (!check.step() || check.text(0) != "ok")
      throw StoreError(path + ": the file is corrupt or truncated (quick_check: " + check.text(0) + ")");
  }
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
          db, "INSERT INTO meta (id, format, commits, records, created_at, store_id) "
              "VALUES (1, ?, 0, 0, ?, lower(hex(randomblob(8))))");
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
  if (quick_check) check_pages(db);
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
  for (;;) {
    std::int64_t v = 0;
    {
      Stmt version(db, "PRAGMA user_version");
      version.step();
      v = version.integer(0);
    }
    if (v < 1 || v > 4) return;
    std::string what = fmt::format("cannot migrate the store from schema version {}", v);
    db.exec("BEGIN IMMEDIATE", what);
    try {
      static constexpr const char* kSteps[] = {kFrom1To2, kFrom2To3, kFrom3To4, kFrom4To5};
      db.exec(kSteps[v - 1], what);
      db.exec("COMMIT", what);
    } catch (...) {
      db.try_exec("ROLLBACK");
      throw;
    }
  }
}

void ensure_tables(Db& db) {
  db.exec(PTAG_DEAD_LETTERS_TABLE, "cannot add the dead letters' table");
  db.exec(PTAG_REFUND_TOTALS_TABLE, "cannot add the refund totals' table");
  ensure_store_id(db);
}

void ensure_store_id(Db& db) {
  bool has = false;
  {
    Stmt column(db, "SELECT count(*) FROM pragma_table_info('meta') WHERE name = 'store_id'");
    column.step();
    has = column.integer(0) == 1;
  }
  const char* what = "cannot give the store its id";
  if (!has) db.exec("ALTER TABLE meta ADD COLUMN store_id TEXT", what);
  db.exec("UPDATE meta SET store_id = lower(hex(randomblob(8))) WHERE id = 1 AND store_id IS NULL", what);
}

bool has_table(Db& db, const char* name) {
  Stmt s(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?");
  s.bind(1, std::string_view(name));
  s.step();
  return s.integer(0) == 1;
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
      Stmt has_id(db, "SELECT count(*) FROM pragma_table_info('meta') WHERE name = 'store_id'");
      has_id.step();
      if (has_id.integer(0) == 1) {
        Stmt id(db, "SELECT store_id FROM meta WHERE id = 1");
        if (id.step() && !id.is_null(0)) c.store_id = id.text(0);
      }
      // A version 1 store (read before its migration) has no outbox.
      Stmt has_outbox(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'outbox'");
      has_outbox.step();
      if (has_outbox.integer(0) == 1) {
        Stmt last(db, "SELECT coalesce(max(id), 0) FROM outbox");
        last.step();
        c.last_delivery = last.integer(0);
      }
      if (has_table(db, "snapshot")) {
        Stmt snap(db, "SELECT data FROM snapshot WHERE id = 1");
        if (snap.step()) c.snapshot = snap.blob(0);
      }
      if (has_table(db, "engine_state")) {
        Stmt head(db, "SELECT head FROM engine_state WHERE id = 1");
        c.state_rows = head.step();
        if (c.state_rows) c.state_head = head.blob(0);
      }
      bool sequence = c.state_rows || has_table(db, "engine_state");  // version 5
      Stmt in(db, sequence ? "SELECT path, fingerprint, offset, line, out_path, out_length, sequence FROM input WHERE id = 1"
                           : "SELECT path, fingerprint, offset, line, out_path, out_length FROM input WHERE id = 1");
      if (in.step()) {
        c.input = InputPosition{in.text(0),    in.text(1), in.integer(2),
                                in.integer(3), in.text(4), in.integer(5)};
        if (sequence && !in.is_null(6)) c.input->sequence = in.integer(6);
      }
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

const RecordLayout& record_layout(Db& db) {
  static const RecordLayout compact{
      true,
      "SELECT r.seq, r.time, r.partner, r.action, t.text, u.text, r.cause, r.event FROM record_rows r "
      "LEFT JOIN names t ON t.id = r.tag LEFT JOIN names u ON u.id = r.rule",
      "SELECT r.seq, r.time, r.partner, r.action, r.tag FROM record_rows r",
      "r.tag IN (SELECT id FROM names WHERE text IN ({}))",
      "r.seq", "r.partner", "t.text", "r.action IN (0, 1)", "r.action = 0"};
  static const RecordLayout text{
      false,
      "SELECT seq, time, partner, action, coalesce(tag, name), rule, cause, event FROM records",
      "SELECT seq, time, partner, action, tag FROM records",
      "tag IN ({})",
      "seq", "partner", "tag", "action IN ('add', 'remove')", "action = 'add'"};
  Stmt version(db, "PRAGMA user_version");
  version.step();
  return version.integer(0) >= 3 ? compact : text;
}

StoredRecord read_record(const Stmt& s, int first) {
  StoredRecord r;
  r.time = s.time(first).value_or(0);
  r.partner = s.text(first + 1);
  r.action = read_code(s, first + 2, kActions);
  r.tag = s.text(first + 3);
  r.rule = s.text(first + 4);
  r.cause = read_code(s, first + 5, kCauses);
  r.event = s.optional_text(first + 6);
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

const std::string& partner_columns() {
  static const std::string kColumns = [] {
    std::string out = "partner, position";
    for (const MetricSpec& m : kMetricSpecs)
      out += ", " + std::string(metrics()[static_cast<std::size_t>(m.metric)]) +
             (m.unit == MetricUnit::money ? "_micros" : "");
    return out + ", joined_at, last_activity, last_referral";
  }();
  return kColumns;
}

PartnerRow read_partner(const Stmt& s) {
  PartnerRow p;
  p.partner = s.text(0);
  p.position = s.integer(1);
  int col = 2;
  for (const MetricSpec& m : kMetricSpecs) {
    p.metric(m.metric) = m.unit == MetricUnit::count ? read_count(s, col) : s.integer(col);
    ++col;
  }
  p.joined_at = s.time(col);
  p.last_activity = s.time(col + 1);
  p.last_referral = s.time(col + 2);
  return p;
}

Names load_names(Db& db) {
  Names names;
  Stmt s(db, "SELECT id, text FROM names");
  while (s.step()) names.emplace(s.integer(0), s.text(1));
  return names;
}

bool records_chained(Db& db) {
  Stmt version(db, "PRAGMA user_version");
  version.step();
  return version.integer(0) >= 5;
}

bool tags_in_rows(Db& db) {
  Stmt version(db, "PRAGMA user_version");
  version.step();
  return version.integer(0) >= 4;
}

bool read_plain_tags(std::string_view json, std::vector<PlainTag>& out) {
  out.clear();
  std::size_t at = 0;
  auto eat = [&](char c) {
    if (at >= json.size() || json[at] != c) return false;
    ++at;
    return true;
  };
  auto number = [&](std::int64_t& v) {
    std::size_t begin = at;
    if (at < json.size() && json[at] == '-') ++at;
    while (at < json.size() && json[at] >= '0' && json[at] <= '9') ++at;
    return std::from_chars(json.data() + begin, json.data() + at, v).ec == std::errc{} && at > begin;
  };
  if (!eat('{')) return false;
  if (eat('}')) return at == json.size();
  for (;;) {
    PlainTag t;
    if (!eat('"')) return false;
    std::size_t end = json.find('"', at);
    if (end == std::string_view::npos) return false;
    t.tag = json.substr(at, end - at);
    if (t.tag.find('\\') != std::string_view::npos) return false;
    at = end + 1;
    std::int64_t expires = 0;
    if (!eat(':') || !eat('[') || !number(t.added_at) || !eat(',') || !number(t.rule) || !eat(',')) return false;
    if (json.substr(at, 4) == "null") at += 4;
    else if (!number(expires)) return false;
    if (!eat(',') || !number(t.order) || !eat(']')) return false;
    out.push_back(t);
    if (eat('}')) return at == json.size();
    if (!eat(',')) return false;
  }
}

void read_tags(std::string_view json, const Names& names, const std::string& path, std::string_view partner,
               std::vector<StoredTag>& out) {
  auto malformed = [&](std::string_view what) -> void {
    throw StoreError(fmt::format("{}: not a ptag store (the tags of partner {} in `partners.tags`: {})", path,
                                 partner, what));
  };
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::object tags;
  if (parser.parse(padded).get_object().get(tags)) return malformed("not a JSON object");
  auto time = [&](simdjson::dom::element e) -> Seconds {
    std::int64_t seconds = 0;
    if (!e.get_int64().get(seconds)) return seconds;
    std::string_view text;
    std::optional<Seconds> t;
    if (!e.get_string().get(text)) t = parse_stored_time(text);
    if (!t) malformed("a time that is neither seconds nor RFC 3339");
    return *t;
  };
  for (simdjson::dom::key_value_pair field : tags) {
    simdjson::dom::array tag;
    if (field.value.get_array().get(tag) || tag.size() != 4)
      malformed("a tag's value that is not [added_at, rule, expires_at, position]");
    StoredTag t;
    t.tag = std::string(field.key);
    t.added_at = time(tag.at(0).value_unsafe());
    std::int64_t rule = 0;
    if (tag.at(1).get_int64().get(rule)) malformed("a rule that is not a number");
    auto it = names.find(rule);
    if (it == names.end()) malformed(fmt::format("no name {}", rule));
    t.rule = it->second;
    simdjson::dom::element expires = tag.at(2).value_unsafe();
    if (!expires.is_null()) t.expires_at = time(expires);
    if (tag.at(3).get_int64().get(t.order)) malformed("a position that is not a number");
    out.push_back(std::move(t));
  }
}

}  // namespace ptag::store_detail
