// Thin RAII over SQLite's C API; every failure becomes a StoreError naming the file.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ptag/store.hpp"

namespace ptag::store_detail {

// "PATH: WHAT (SQLite's message)"
[[noreturn]] void fail(const std::string& path, std::string_view what, sqlite3* db = nullptr,
                       int rc = SQLITE_OK);
// The words for an SQLite result code a user can act on (disk full, read-only, ...).
std::string explain(int rc);

// Whether SQLite's strftime() gives back format_time(t): years 0000-9999.
// Such a time is stored as seconds, any other as its text.
inline bool strftime_reads(Seconds t) {
  constexpr Seconds kYear0 = -62'167'219'200;      // 0000-01-01T00:00:00Z
  constexpr Seconds kYear10000 = 253'402'300'800;  // 10000-01-01T00:00:00Z
  return t >= kYear0 && t < kYear10000;
}

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { close(); }
  void open(const std::string& path, int flags);
  void close();
  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  // Runs SQL without results; throws `what` on failure.
  void exec(const char* sql, std::string_view what);
  // Runs SQL; returns the result code instead of throwing.
  int try_exec(const char* sql);

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Stmt {
 public:
  Stmt() = default;
  Stmt(Db& db, const char* sql);
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }  // the time cache starts over
  Stmt& operator=(Stmt&& o) noexcept;
  ~Stmt() { sqlite3_finalize(s_); }

  void bind(int i, std::int64_t v) { check(sqlite3_bind_int64(s_, i, v)); }
  void bind(int i, std::string_view v) {
    check(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  // Copies the text (for a temporary).
  void bind_copy(int i, std::string_view v) {
    check(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void bind_blob(int i, std::string_view v) {
    check(sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_STATIC));
  }
  void bind_null(int i) { check(sqlite3_bind_null(s_, i)); }
  // Time as RFC 3339 text, or NULL.
  void bind_time(int i, std::optional<Seconds> t);
  // Time as seconds where SQLite's strftime() gives back our text (years
  // 0000-9999), else as text: `record_rows.time`.
  void bind_seconds(int i, Seconds t);

  // True while there is a row; throws on an error.
  bool step();
  // Runs to completion; returns SQLite's result code (SQLITE_DONE on success).
  int run();
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  bool is_integer(int col) const { return sqlite3_column_type(s_, col) == SQLITE_INTEGER; }
  std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  std::string text(int col) const;
  // The text without a copy: valid until the next step() or reset().
  std::string_view text_view(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p == nullptr ? std::string_view() : std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
  }
  std::optional<std::string> optional_text(int col) const;
  std::string blob(int col) const;
  // The blob without a copy: valid until the next step() or reset().
  std::string_view blob_view(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
    return p == nullptr ? std::string_view() : std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
  }
  // A time written by bind_time() or bind_seconds().
  std::optional<Seconds> time(int col) const;
  const std::string& path() const { return db_->path(); }

 private:
  void check(int rc);
  Db* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
  std::optional<std::string> time_text_;
  Seconds time_value_ = 0;
};

}  // namespace ptag::store_detail
