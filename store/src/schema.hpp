// The store's tables (docs/store.md, "Schema"): creating, checking, reading.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "sqlite.hpp"

namespace ptag::store_detail {

// Refuses, naming the file, what is not a ptag store of a version this build
// reads: not SQLite at all (checked on the file's first bytes, before SQLite).
void check_file_header(const std::string& path);

// Checks the schema of an open database; an empty one gets the schema when
// `create` (returns true), else is refused. `quick_check`: check_pages().
bool prepare_schema(Db& db, bool create, bool quick_check);
// The file's length against its header, and `PRAGMA quick_check` of every
// table but `record_rows`; StoreError for a damaged file.
void check_pages(Db& db);
// Brings a store of an older schema version this build reads to the current
// one (the writer does; readers read every version prepare_schema accepts).
void migrate_schema(Db& db);
// Gives a store without one its random id (meta.store_id) and what later
// versions added beside the schema version (dead_letters, refund_totals);
// the writer does.
void ensure_tables(Db& db);
void ensure_store_id(Db& db);

// The last commit's meta, snapshot and input position, in one read transaction.
StoreContents load_contents(Db& db);
bool has_table(Db& db, const char* name);

// The codes of a record's action and cause: the position is the number in
// `record_rows` (docs/store.md, fixed whatever the enums' values), the text
// the word in `records`.
template <typename E>
struct Code {
  E value;
  const char* text;
};
inline constexpr Code<RecordAction> kActions[] = {
    {RecordAction::add, "add"}, {RecordAction::remove, "remove"}, {RecordAction::emit, "emit"}};
inline constexpr Code<RecordCause> kCauses[] = {
    {RecordCause::event, "event"}, {RecordCause::timer, "timer"}, {RecordCause::backfill, "backfill"}};
template <typename E, std::size_t N>
std::int64_t code_number(const Code<E> (&codes)[N], E value) {
  for (std::size_t i = 0; i < N; ++i)
    if (codes[i].value == value) return static_cast<std::int64_t>(i);
  return 0;
}
// A column as either layout keeps it: the number, or the text.
template <typename E, std::size_t N>
E read_code(const Stmt& s, int col, const Code<E> (&codes)[N]) {
  if (s.is_integer(col)) {
    std::int64_t n = s.integer(col);
    return n >= 0 && n < static_cast<std::int64_t>(N) ? codes[n].value : codes[0].value;
  }
  std::string_view text = s.text_view(col);
  for (const Code<E>& c : codes)
    if (text == c.text) return c.value;
  return codes[0].value;
}

// Reading records back from either layout: version 3's `record_rows` and
// `names`, or the `records` table of versions 1 and 2 (a reader reads a store
// not yet migrated). `select` gives `seq, time, partner, action, tag (or the
// emit's name), rule, cause, event`; the other fields are the columns and
// conditions to complete its WHERE with.
struct RecordLayout {
  bool compact;  // version 3's record_rows and names
  const char* select;
  // `seq, time, partner, action, tag`, where the tag is a `names.id` in
  // version 3 (no join per row); `tag_in` filters it by a list of names
  // (`{}` for the list of parameters).
  const char* select_changes;
  const char* tag_in;
  const char* seq;
  const char* partner;
  const char* tag;
  const char* changes;  // add and remove records
  const char* adds;
};
const RecordLayout& record_layout(Db& db);
// A row of RecordLayout::select from column `first` (the time) on.
StoredRecord read_record(const Stmt& s, int first);
// Names (`names.id` to text), for reading version 4's tags and version 3's records.
using Names = std::unordered_map<std::int64_t, std::string>;
Names load_names(Db& db);
// Whether partners' tags are in their rows (`partners.tags`, version 4) or
// in the `partner_tags` table (versions 1-3, read before their migration).
bool tags_in_rows(Db& db);
// Whether records are chained by partner (`record_rows.previous`,
// `partners.last_record`: version 5).
bool records_chained(Db& db);
// `partners.tags` as ptag writes it when every tag is plain text (no
// escapes) and every time is seconds: each tag with its rule's `names.id`,
// without copies, into `out` (cleared first). False for anything else (then
// read_tags() reads it).
struct PlainTag {
  std::string_view tag;
  std::int64_t rule = 0;
  Seconds added_at = 0;
  std::int64_t order = 0;
};
bool read_plain_tags(std::string_view json, std::vector<PlainTag>& out);
// Version 4's `partners.tags` (`{"TAG": [added_at, rule, expires_at,
// position], ...}`, written by the store's writer) into `out`; throws
// StoreError naming the file and the partner on anything else.
void read_tags(std::string_view json, const Names& names, const std::string& path, std::string_view partner,
               std::vector<StoredTag>& out);
// The partners columns read_partner() reads (from the metric table: a money
// metric by its millionths); tags are left empty.
const std::string& partner_columns();
PartnerRow read_partner(const Stmt& s);
// The outbox's columns, in the order of kDeliveryColumns.
inline constexpr const char* kDeliveryColumns =
    "id, webhook, partner, record, body, status, attempts, next_attempt, last_error";
Delivery read_delivery(const Stmt& s);
// A count metric's column value: whole numbers as INTEGER, else exact text.
void bind_count(Stmt& s, int i, std::int64_t millionths);
std::int64_t read_count(const Stmt& s, int col);

}  // namespace ptag::store_detail
