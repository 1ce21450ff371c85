#include "sqlite.hpp"

#include <fmt/format.h>

namespace ptag::store_detail {

std::string explain(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return "the disk is full";
    case SQLITE_READONLY:
      return "the store cannot be written (read-only file or folder)";
    case SQLITE_CANTOPEN:
      return "cannot open the file";
    case SQLITE_CORRUPT:
      return "the file is corrupt or truncated";
    case SQLITE_NOTADB:
      return "not a ptag store (not an SQLite database)";
    case SQLITE_IOERR:
      return "input/output error";
    case SQLITE_PERM:
      return "permission denied";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "the database is busy";
    default:
      return {};
  }
}

void fail(const std::string& path, std::string_view what, sqlite3* db, int rc) {
  std::string message = fmt::format("{}: {}", path, what);
  std::string reason = rc == SQLITE_OK ? std::string() : explain(rc);
  if (!reason.empty() && reason != what) message += ": " + reason;
  if (db != nullptr && rc != SQLITE_OK) message += fmt::format(" (SQLite: {})", sqlite3_errmsg(db));
  throw StoreError(message);
}

void Db::open(const std::string& path, int flags) {
  // Without memory statistics SQLite's allocations take no global mutex
  // (fails harmlessly when SQLite was already initialized by someone else).
  static const bool configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  (void)configured;
  path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    close();
    std::string reason = explain(rc);
    throw StoreError(fmt::format("{}: cannot open the store{}{} (SQLite: {})", path,
                                 reason.empty() ? "" : ": ", reason, message));
  }
  sqlite3_extended_result_codes(db_, 1);
  // A reader meeting a checkpoint or a writer's commit waits a moment, not fails.
  sqlite3_busy_timeout(db_, 5000);
}

void Db::close() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

int Db::try_exec(const char* sql) {
  return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
}

void Db::exec(const char* sql, std::string_view what) {
  int rc = try_exec(sql);
  if (rc != SQLITE_OK) fail(path_, what, db_, rc);
}

Stmt::Stmt(Db& db, const char* sql) : db_(&db) {
  int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
  if (rc != SQLITE_OK) fail(db.path(), "not a ptag store (its tables do not match)", db.get(), rc);
}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(s_);
    db_ = o.db_;
    s_ = o.s_;
    o.s_ = nullptr;
  }
  return *this;
}

void Stmt::check(int rc) {
  if (rc != SQLITE_OK) fail(db_->path(), "cannot prepare a statement", db_->get(), rc);
}

void Stmt::bind_time(int i, std::optional<Seconds> t) {
  if (!t) return bind_null(i);
  // The last time formatted, per statement: records of one second share it.
  if (!time_text_ || *t != time_value_) {
    time_text_ = format_time(*t);
    time_value_ = *t;
  }
  check(sqlite3_bind_text64(s_, i, time_text_->data(), time_text_->size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

void Stmt::bind_seconds(int i, Seconds t) {
  if (strftime_reads(t)) return bind(i, t);
  bind_time(i, t);
}

bool Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_->path(), "cannot read the store", db_->get(), rc);
}

int Stmt::run() {
  int rc = sqlite3_step(s_);
  while (rc == SQLITE_ROW) rc = sqlite3_step(s_);
  return rc;
}

std::string Stmt::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p == nullptr ? std::string()
                      : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
}

std::string Stmt::blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  return p == nullptr ? std::string()
                      : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
}

std::optional<std::string> Stmt::optional_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::optional<Seconds> Stmt::time(int col) const {
  if (is_null(col)) return std::nullopt;
  if (is_integer(col)) return integer(col);
  std::optional<Seconds> t = parse_stored_time(text(col));
  if (!t) fail(db_->path(), "not a ptag store (a time that is not RFC 3339: " + text(col) + ")");
  return t;
}

}  // namespace ptag::store_detail
