// The durable store on real SQLite files in a temporary folder.
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "ptag/decimal.hpp"
#include "ptag/store.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace ptag;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Record number `seq` (1-based) of the generated runs: checkable by its seq.
StoredRecord record_number(std::int64_t seq) {
  StoredRecord r;
  r.time = 1767225600 + seq;
  r.partner = "p-" + std::to_string(seq % 97);
  r.action = seq % 5 == 0   ? RecordAction::emit
             : seq % 3 == 0 ? RecordAction::remove
                            : RecordAction::add;
  r.tag = seq % 2 == 0 ? "VIP" : "New Partner";
  r.rule = "r" + std::to_string(seq);
  r.cause = seq % 7 == 0 ? RecordCause::timer : RecordCause::event;
  if (r.cause == RecordCause::event && seq % 4 != 0) r.event = "e-" + std::to_string(seq);
  return r;
}

PartnerRow partner_number(std::int64_t i, std::int64_t version) {
  PartnerRow p;
  p.partner = "p-" + std::to_string(i);
  p.position = i;
  p.metric(Metric::signups) = (version + 1) * kMillion;
  p.metric(Metric::revenue) = 129'900'000 + version;  // 129.9 plus millionths
  p.metric(Metric::sales) = 2 * kMillion;
  p.metric(Metric::commissions) = 12'990'000;
  p.joined_at = 1767225600 + i;
  if (version > 0) p.last_activity = 1767225600 + version;
  p.tags.push_back(StoredTag{"New Partner", 1767225600, "welcome", std::nullopt, 0});
  if (version % 2 == 1)
    p.tags.push_back(StoredTag{"VIP", 1767225600 + version, "vip", 1767225600 + 86400, 1});
  return p;
}

// The chains record_number() makes (store.hpp: the caller gives each
// record its partner's previous one): a partner's records are 97 apart.
std::int64_t previous_of(std::int64_t seq) {
  return seq > 97 ? seq - 97 : 0;
}
// Partner i's last record among the first `last_seq`.
std::int64_t last_of(std::int64_t i, std::int64_t last_seq) {
  std::int64_t k = last_seq - ((last_seq - i % 97) % 97 + 97) % 97;
  return k >= 1 ? k : 0;
}
PartnerRow with_last(PartnerRow p, std::int64_t last_seq) {
  p.last_record = last_of(p.position, last_seq);
  return p;
}

// Commit `n` of a run: `per` records following `first_seq - 1`, partners changed, the position.
StoreCommit batch(std::int64_t first_seq, std::int64_t per, std::int64_t partners,
                  std::int64_t version) {
  StoreCommit c;
  for (std::int64_t k = 0; k < per; ++k) c.records.add(record_number(first_seq + k), previous_of(first_seq + k));
  for (std::int64_t i = 0; i < partners; ++i) {
    c.partners.push_back(with_last(partner_number(i, version), first_seq + per - 1));
  }
  c.state.head = std::string("snap\0", 5) + std::to_string(first_seq + per - 1);
  c.input = InputPosition{"events.jsonl", "fp",        first_seq + per - 1,
                          version,        "out.jsonl", 10 * (first_seq + per - 1)};
  c.clock = 1767225600 + first_seq + per - 1;
  return c;
}

// One value of SQL on a plain read-only connection (as `sqlite3` or a BI tool).
std::string sql_value(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
  std::string out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (!out.empty()) out += "|";
    const unsigned char* t = sqlite3_column_text(s, 0);
    out += t == nullptr ? "NULL" : reinterpret_cast<const char*>(t);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

void sql_exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

std::string open_error(const std::string& path, const StoreOptions& options = {}) {
  try {
    Store::open(path, options);
  } catch (const StoreError& e) {
    return e.what();
  }
  return "(opened)";
}

std::string reader_error(const std::string& path) {
  try {
    StoreReader::open(path);
  } catch (const StoreError& e) {
    return e.what();
  }
  return "(opened)";
}

// A store with one commit of `records` records; returns its file.
std::string one_commit_store(const TempDir& dir, std::int64_t records = 10) {
  std::string path = dir.file("state.db");
  auto store = Store::open(path);
  store->commit(batch(1, records, 3, 1));
  store->flush();
  return path;
}

// A tmpfs mounted for one test (root only), unmounted even when the test fails.
struct Tmpfs {
  std::string dir;
  bool mounted = false;
  Tmpfs(std::string d, const char* options) : dir(std::move(d)) {
    fs::create_directory(dir);
    mounted = ::geteuid() == 0 && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options) == 0;
  }
  ~Tmpfs() {
    if (mounted) ::umount(dir.c_str());
  }
};

}  // namespace

TEST_CASE("store: a commit round-trips through reopening", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  {
    auto store = Store::open(path);
    CHECK(store->loaded().created);
    CHECK(store->loaded().records == 0);
    CHECK_FALSE(store->loaded().input);
    StoreCommit c = batch(1, 20, 4, 1);
    c.program = "rule \"vip\" on sale when revenue >= 100 add \"VIP\"\n";
    store->commit(std::move(c));
    store->flush();
    CHECK(store->durable_records() == 20);
  }
  auto store = Store::open(path);
  const StoreContents& c = store->loaded();
  CHECK_FALSE(c.created);
  CHECK(c.program == "rule \"vip\" on sale when revenue >= 100 add \"VIP\"\n");
  CHECK(c.state_head == std::string("snap\0", 5) + "20");
  REQUIRE(c.input);
  CHECK(*c.input == InputPosition{"events.jsonl", "fp", 20, 1, "out.jsonl", 200});
  CHECK(c.clock == 1767225620);
  CHECK(c.records == 20);
  CHECK(c.commits == 1);
  store.reset();

  auto reader = StoreReader::open(path);
  std::vector<PartnerRow> rows = reader->partners();
  REQUIRE(rows.size() == 4);
  for (std::int64_t i = 0; i < 4; ++i)
    CHECK(rows[static_cast<std::size_t>(i)] == with_last(partner_number(i, 1), 20));
  std::vector<StoredRecord> all = reader->records_from(1, 100);
  REQUIRE(all.size() == 20);
  for (std::int64_t k = 0; k < 20; ++k)
    CHECK(all[static_cast<std::size_t>(k)] == record_number(k + 1));

  // The documented interface with plain SQL.
  CHECK(sql_value(path, "SELECT partner FROM partner_tags WHERE tag = 'VIP' ORDER BY partner") ==
        "p-0|p-1|p-2|p-3");
  CHECK(sql_value(path,
                  "SELECT revenue || ' ' || revenue_micros || ' ' || signups || ' ' || commissions "
                  "FROM partners WHERE partner = 'p-1'") == "129.900001 129900001 2 12.99");
  CHECK(sql_value(path,
                  "SELECT joined_at || ' ' || coalesce(last_referral, 'none') FROM partners "
                  "WHERE partner = 'p-2'") == "2026-01-01T00:00:02Z none");
  CHECK(sql_value(path,
                  "SELECT expires_at FROM partner_tags WHERE partner = 'p-0' AND tag = 'VIP'") ==
        "2026-01-02T00:00:00Z");
  // Record 5 is an emit: its name, no tag; record 7 a timer without an event id.
  CHECK(
      sql_value(
          path,
          "SELECT action || ' ' || coalesce(tag, '-') || ' ' || name FROM records WHERE seq = 5") ==
      "emit - New Partner");
  CHECK(sql_value(path,
                  "SELECT time || ' ' || cause || ' ' || coalesce(event, 'NULL') FROM records "
                  "WHERE seq = 7") == "2026-01-01T00:00:07Z timer NULL");
  CHECK(sql_value(path, "PRAGMA user_version") == std::to_string(kStoreSchemaVersion));
  CHECK(sql_value(path, "PRAGMA journal_mode") == "wal");
}

TEST_CASE("store: tags with any characters go through partners.tags and back", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  const std::string odd = "Q \"\\ /\n\t\x01 \u00e9 \U0001F600 end";
  {
    auto store = Store::open(path);
    StoreCommit c = batch(1, 0, 1, 1);
    c.partners[0].tags.push_back(StoredTag{odd, -62'167'219'200, "rule \"odd\"", 253'402'300'800, 9});
    store->commit(std::move(c));
    store->flush();
  }
  std::vector<PartnerRow> rows = StoreReader::open(path)->partners();
  REQUIRE(rows.size() == 1);
  REQUIRE(rows[0].tags.size() == 3);
  CHECK(rows[0].tags[2] == StoredTag{odd, -62'167'219'200, "rule \"odd\"", 253'402'300'800, 9});
  std::vector<StoredTag> first = partner_number(0, 1).tags;
  CHECK(std::vector<StoredTag>(rows[0].tags.begin(), rows[0].tags.begin() + 2) == first);
  CHECK(sql_value(path, "SELECT added_at || ' ' || expires_at || ' ' || rule FROM partner_tags WHERE position = 9") ==
        "0000-01-01T00:00:00Z 10000-01-01T00:00:00Z rule \"odd\"");
  CHECK(sql_value(path, "SELECT count(*) FROM partner_tags WHERE tag = 'Q \"\\ /' || char(10, 9, 1) || ' \u00e9 \U0001F600 end'") == "1");
}

TEST_CASE("store: malformed tags in a partner's row are refused, naming the partner", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  {
    auto store = Store::open(path);
    store->commit(batch(1, 4, 2, 1));
    store->flush();
  }
  REQUIRE(StoreReader::open(path)->partners().size() == 2);
  std::string good = sql_value(path, "SELECT tags FROM partners WHERE partner = 'p-1'");
  REQUIRE(good.starts_with("{\"New Partner\":["));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{\"A\":[1,", "not a JSON object"},
      {"[]", "not a JSON object"},
      {"{\"A\":[1,2,3]}", "a tag's value that is not [added_at, rule, expires_at, position]"},
      {"{\"A\":7}", "a tag's value that is not [added_at, rule, expires_at, position]"},
      {"{\"A\":[1767225600,999,null,1]}", "no name 999"},
      {"{\"A\":[1767225600,\"vip\",null,1]}", "a rule that is not a number"},
      {"{\"A\":[\"yesterday\",1,null,1]}", "a time that is neither seconds nor RFC 3339"},
      {"{\"A\":[1767225600,1,true,1]}", "a time that is neither seconds nor RFC 3339"},
      {"{\"A\":[1767225600,1,null,\"x\"]}", "a position that is not a number"},
  };
  for (const auto& [tags, why] : bad) {
    sql_exec(path, ("UPDATE partners SET tags = '" + tags + "' WHERE partner = 'p-1'").c_str());
    auto reader = StoreReader::open(path);
    std::string message = path + ": not a ptag store (the tags of partner p-1 in `partners.tags`: " + why + ")";
    CHECK_THROWS_WITH(reader->partners(), message);
    CHECK_THROWS_WITH(reader->partners({"p-1"}), message);
    CHECK(reader->partners({"p-0"}).front().has_value());  // the other partner still reads
  }
  // A far expiry is kept as its text, and read back.
  // And a tag named with JSON's escapes reads back as its text.
  sql_exec(path,
           "UPDATE partners SET tags = '{\"Far \\\"x\\\" \\u00e9\":[1767225600,1,\"10499-05-03T00:00:00Z\",1]}' "
           "WHERE partner = 'p-1'");
  std::vector<std::optional<PartnerRow>> far = StoreReader::open(path)->partners({"p-1"});
  REQUIRE(far.front());
  REQUIRE(far.front()->tags.size() == 1);
  CHECK(far.front()->tags[0].expires_at == parse_stored_time("10499-05-03T00:00:00Z"));
  CHECK(far.front()->tags[0].tag == "Far \"x\" \u00e9");
  CHECK(sql_value(path, "SELECT tag FROM partner_tags WHERE partner = 'p-1'") == "Far \"x\" \u00e9");
  CHECK(sql_value(path, "SELECT expires_at FROM partner_tags WHERE partner = 'p-1'") == "10499-05-03T00:00:00Z");
}

TEST_CASE("store: many commits keep the records in output order", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  std::int64_t seq = 1;
  for (int run = 0; run < 3; ++run) {
    auto store = Store::open(path);
    CHECK(store->loaded().records == seq - 1);
    for (int i = 0; i < 30; ++i) {
      StoreCommit c = batch(seq, 1 + (i % 7), 5, run * 100 + i);
      if (i == 0) c.program = "program " + std::to_string(run);
      if (i == 5) c.clock.reset();  // keeps the stored clock
      seq += 1 + (i % 7);
      store->commit(std::move(c));
    }
    store->flush();
    CHECK(store->durable_records() == seq - 1);
  }
  auto reader = StoreReader::open(path);
  StoreContents c = reader->contents();
  CHECK(c.records == seq - 1);
  CHECK(c.commits == 90);
  CHECK(c.program == "program 2");
  CHECK(c.clock == 1767225600 + seq - 1);
  std::vector<StoredRecord> all = reader->records_from(1, seq);
  REQUIRE(all.size() == static_cast<std::size_t>(seq - 1));
  for (std::size_t k = 0; k < all.size(); ++k)
    CHECK(all[k] == record_number(static_cast<std::int64_t>(k) + 1));
  CHECK(reader->records_from(10, 3) ==
        std::vector<StoredRecord>{record_number(10), record_number(11), record_number(12)});
  // A partner's row is its last commit's; its tags are replaced, not merged.
  std::vector<std::optional<PartnerRow>> some = reader->partners({"p-3", "nobody", "p-0"});
  REQUIRE(some.size() == 3);
  CHECK(some[0] == with_last(partner_number(3, 229), seq - 1));
  CHECK_FALSE(some[1]);
  CHECK(some[2] == with_last(partner_number(0, 229), seq - 1));
  CHECK(sql_value(path, "SELECT count(*) FROM partner_tags") == "10");
  // The records of one partner and tag, oldest first, adds and removes only.
  std::vector<StoredRecord> why = reader->records("p-2", "VIP");
  REQUIRE_FALSE(why.empty());
  std::int64_t expected = 0;
  for (std::int64_t k = 1; k < seq; ++k) {
    StoredRecord r = record_number(k);
    if (r.partner == "p-2" && r.tag == "VIP" && r.action != RecordAction::emit) {
      REQUIRE(static_cast<std::size_t>(expected) < why.size());
      CHECK(why[static_cast<std::size_t>(expected++)] == r);
    }
  }
  CHECK(static_cast<std::size_t>(expected) == why.size());
}

TEST_CASE("store: appended records wait for their commit", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  {
    auto store = Store::open(path);
    store->commit(batch(1, 10, 2, 1));
    store->flush();
    // Records 11-30 go ahead of the commit they belong to, in two parts.
    StoreCommit next = batch(11, 30, 2, 2);
    RecordBatch first, second;
    for (std::int64_t k = 11; k <= 20; ++k) first.add(record_number(k));
    for (std::int64_t k = 21; k <= 30; ++k) second.add(record_number(k));
    next.records.clear();
    for (std::int64_t k = 31; k <= 40; ++k) next.records.add(record_number(k));
    store->append(std::move(first));
    store->append(std::move(second));
    store->flush();
    // Written, not committed: neither readers nor the count see them.
    CHECK(store->durable_records() == 10);
    CHECK(sql_value(path, "SELECT count(*) FROM records") == "10");
    store->commit(std::move(next));
    store->flush();
    CHECK(store->durable_records() == 40);
    // Records appended after the last commit are lost with the process.
    RecordBatch lost;
    for (std::int64_t k = 41; k <= 45; ++k) lost.add(record_number(k));
    store->append(std::move(lost));
    store->flush();
  }
  auto reader = StoreReader::open(path);
  CHECK(reader->contents().records == 40);
  std::vector<StoredRecord> all = reader->records_from(1, 100);
  REQUIRE(all.size() == 40);
  for (std::int64_t k = 0; k < 40; ++k) CHECK(all[static_cast<std::size_t>(k)] == record_number(k + 1));
  CHECK(reader->contents().state_head == std::string("snap\0", 5) + "40");
  // The next run continues the sequence from the last commit.
  auto store = Store::open(path);
  store->commit(batch(41, 5, 2, 3));
  store->flush();
  CHECK(sql_value(path, "SELECT count(*) || ' ' || max(seq) FROM records") == "45 45");
}

TEST_CASE("store: commits are numbered, and wait() waits for one", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto store = Store::open(path);
  CHECK(store->commit(batch(1, 10, 2, 1)) == 1);
  std::uint64_t second = store->commit(batch(11, 10, 2, 2));
  CHECK(second == 2);
  // From another thread, as a server's answering thread does.
  std::thread waiter([&] { store->wait(second); });
  waiter.join();
  CHECK(store->durable_records() == 20);
  CHECK(sql_value(path, "SELECT commits FROM meta") == "2");
  // A commit that fails makes wait() throw for it and for every later one.
  StoreCommit bad = batch(21, 5, 2, 3);
  PartnerRow twice = partner_number(7, 3);
  twice.partner = "p-0";
  twice.tags.clear();
  bad.partners.push_back(twice);
  std::uint64_t third = store->commit(std::move(bad));
  CHECK_THROWS_AS(store->wait(third), StoreError);
  CHECK_NOTHROW(store->wait(second));
}

TEST_CASE("store: the outbox is written with its records, updated on its own", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto store = Store::open(path);
  CHECK(store->loaded().last_delivery == 0);
  StoreCommit c = batch(1, 3, 1, 1);
  c.deliveries.push_back(Delivery{1, "crm", "p-0", "{\"type\":\"tag.added\"}", DeliveryStatus::pending, 0, 100, "", 1});
  c.deliveries.push_back(Delivery{2, "crm", "p-0", "{\"type\":\"tag.removed\"}", DeliveryStatus::pending, 0, 100, "", 2});
  store->commit(std::move(c));
  store->flush();
  auto reader = StoreReader::open(path);
  std::vector<Delivery> pending = reader->deliveries(DeliveryStatus::pending, 0, 10);
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].body == "{\"type\":\"tag.added\"}");
  CHECK(pending[1].record == 2);
  // Updates with no records waiting commit at once.
  store->update_deliveries({DeliveryUpdate{1, DeliveryStatus::delivered, 1, 0, ""},
                            DeliveryUpdate{2, DeliveryStatus::pending, 1, 160, "HTTP 503"}});
  store->flush();
  CHECK(reader->deliveries(DeliveryStatus::delivered, 0, 10).size() == 1);
  std::optional<Delivery> second = reader->delivery(2);
  REQUIRE(second);
  CHECK(second->attempts == 1);
  CHECK(second->next_attempt == 160);
  CHECK(second->last_error == "HTTP 503");
  CHECK(reader->deliveries(std::nullopt, 1, 10).size() == 1);
  CHECK_FALSE(reader->delivery(3));
  // With records waiting in an open transaction, updates wait for the commit.
  RecordBatch waiting;
  waiting.add(record_number(4));
  store->append(std::move(waiting));
  store->update_deliveries({DeliveryUpdate{2, DeliveryStatus::failed, 2, 0, "HTTP 500"}});
  store->flush();
  CHECK(reader->delivery(2)->status == DeliveryStatus::pending);
  store->commit(batch(5, 1, 1, 2));
  store->flush();
  CHECK(reader->delivery(2)->status == DeliveryStatus::failed);
  store.reset();
  CHECK(Store::open(path)->loaded().last_delivery == 2);
}

TEST_CASE("store: a record from the engine's ChangeRecord owns its text", "[store]") {
  std::string partner = "p-42";
  std::string id = "e-9";
  ChangeRecord r{1767225600, partner, RecordAction::remove, "VIP", "vip", false, id, true};
  StoredRecord s = StoredRecord::from(r);
  partner = "changed";
  CHECK(s == StoredRecord{1767225600, "p-42", RecordAction::remove, "VIP", "vip",
                          RecordCause::event, "e-9"});
  ChangeRecord t{5, "p", RecordAction::add, "At Risk", "quiet", true, {}, false};
  CHECK(StoredRecord::from(t).cause == RecordCause::timer);
  CHECK_FALSE(StoredRecord::from(t).event);
}

TEST_CASE("store: sync normal commits and reopens", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  StoreOptions options;
  options.sync = StoreSync::normal;
  {
    auto store = Store::open(path, options);
    store->commit(batch(1, 5, 1, 0));
    store->flush();
  }
  CHECK(Store::open(path, options)->loaded().records == 5);
}

TEST_CASE("store: refuses what is not a ptag store, naming the file", "[store]") {
  TempDir dir;
  SECTION("a text file, left as it was") {
    std::string path = dir.file("events.jsonl");
    write_file(path, "{\"type\":\"join\",\"partner\":\"p1\",\"time\":\"2026-01-01T00:00:00Z\"}\n");
    CHECK_THAT(open_error(path),
               Catch::StartsWith(path + ": not a ptag store (not an SQLite database)"));
    CHECK_THAT(reader_error(path), Catch::StartsWith(path + ": not a ptag store"));
    CHECK(read_file(path) ==
          "{\"type\":\"join\",\"partner\":\"p1\",\"time\":\"2026-01-01T00:00:00Z\"}\n");
    CHECK_FALSE(fs::exists(path + "-lock"));
  }
  SECTION("another program's SQLite database, left as it was") {
    std::string path = dir.file("other.db");
    sql_exec(path,
             "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers "
             "VALUES (1, 'a')");
    std::string before = read_file(path);
    CHECK(open_error(path) ==
          path + ": not a ptag store (an SQLite database without ptag's tables)");
    CHECK(reader_error(path) ==
          path + ": not a ptag store (an SQLite database without ptag's tables)");
    CHECK(read_file(path) == before);
    CHECK(sql_value(path, "PRAGMA journal_mode") == "delete");
  }
  SECTION("a store of a newer schema") {
    std::string path = one_commit_store(dir);
    sql_exec(path, "PRAGMA user_version = 99");
    std::string expected =
        path + ": written by a newer ptag (store schema version 99; this ptag reads version " + std::to_string(kStoreSchemaVersion) + ")";
    CHECK(open_error(path) == expected);
    CHECK(reader_error(path) == expected);
  }
  SECTION("a truncated store") {
    std::string path = one_commit_store(dir, 5000);
    fs::resize_file(path, fs::file_size(path) / 2);
    CHECK_THAT(open_error(path), Catch::StartsWith(path + ": ") && Catch::Contains("corrupt"));
  }
  SECTION("a store overwritten in the middle") {
    std::string path = one_commit_store(dir, 5000);
    std::string bytes = read_file(path);
    REQUIRE(bytes.size() > 40000);
    for (std::size_t i = 8192; i < 40000; ++i) bytes[i] = static_cast<char>(i * 7);
    write_file(path, bytes);
    CHECK_THAT(open_error(path), Catch::StartsWith(path + ": ") && Catch::Contains("corrupt"));
  }
  SECTION("a folder, a missing folder, a missing store for reading") {
    CHECK(open_error(dir.path.string()) == dir.path.string() + ": is a folder, not a ptag store");
    std::string missing = dir.file("no/such/state.db");
    CHECK_THAT(open_error(missing),
               Catch::StartsWith(missing + ": cannot create the store: no folder"));
    CHECK(reader_error(dir.file("none.db")) == dir.file("none.db") + ": no such store");
    CHECK_FALSE(fs::exists(dir.file("none.db")));
  }
  SECTION("an empty database for reading") {
    write_file(dir.file("empty.db"), "");
    CHECK(reader_error(dir.file("empty.db")) ==
          dir.file("empty.db") + ": not a ptag store (an empty database)");
  }
}

TEST_CASE("store: refuses a read-only store and keeps it", "[store]") {
  TempDir dir;
  std::string path = one_commit_store(dir);
  if (::geteuid() != 0) {
    fs::permissions(path, fs::perms::owner_read);
    CHECK_THAT(open_error(path), Catch::StartsWith(path + ": the store cannot be written"));
    CHECK(StoreReader::open(path)->contents().records == 10);
    return;
  }
  // Root writes any file: a read-only file system instead.
  std::string mnt = dir.file("ro");
  Tmpfs tmpfs(mnt, "size=1m");
  if (!tmpfs.mounted) {
    WARN("cannot mount a tmpfs: read-only case not run");
    return;
  }
  std::string inside = mnt + "/state.db";
  fs::copy_file(path, inside);
  REQUIRE(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, "size=1m") == 0);
  CHECK_THAT(open_error(inside), Catch::StartsWith(inside + ": the store cannot be written"));
  CHECK_THAT(open_error(mnt + "/new.db"),
             Catch::StartsWith(mnt + "/new.db: the store cannot be written"));
}

TEST_CASE("store: a failed commit leaves the previous commit", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  auto store = Store::open(path);
  store->commit(batch(1, 10, 2, 1));
  store->flush();
  // A second partner with p-0's id breaks a constraint mid-transaction.
  StoreCommit bad = batch(11, 10, 2, 2);
  PartnerRow twice = partner_number(5, 2);
  twice.partner = "p-0";
  twice.tags.clear();
  bad.partners.push_back(twice);
  store->commit(std::move(bad));
  CHECK_THROWS_WITH(store->flush(), Catch::StartsWith(path + ": cannot write partner p-0"));
  // Nothing after a failed commit is written.
  CHECK_THROWS_AS(store->commit(batch(11, 10, 2, 3)), StoreError);
  CHECK(store->durable_records() == 10);
  store.reset();
  auto again = Store::open(path);
  CHECK(again->loaded().records == 10);
  CHECK(again->loaded().state_head == std::string("snap\0", 5) + "10");
  CHECK(again->loaded().input->offset == 10);
  again.reset();
  CHECK(sql_value(path, "SELECT count(*) FROM partners") == "2");
  CHECK(sql_value(path, "SELECT count(*) FROM records") == "10");
}

TEST_CASE("store: a full disk fails the commit and keeps the previous one", "[store]") {
  TempDir dir;
  SECTION("file size limit (ulimit -f) in a child") {
    std::string path = one_commit_store(dir);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      int code = 1;
      try {
        auto store = Store::open(path);
        rlimit limit{64 * 1024, 64 * 1024};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        StoreCommit big = batch(11, 20000, 3, 2);
        big.state.head.assign(1 << 20, 'x');
        store->commit(std::move(big));
        store->flush();
        code = 2;  // no error
      } catch (const StoreError& e) {
        std::string what = e.what();
        // Rows wait in the page cache, so the limit may be met at COMMIT.
        code = what.rfind(path + ": cannot write", 0) == 0 || what.rfind(path + ": cannot commit", 0) == 0 ? 0 : 3;
        if (code == 3) std::fprintf(stderr, "%s\n", what.c_str());
      }
      ::_exit(code);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    auto store = Store::open(path);
    CHECK(store->loaded().records == 10);
    CHECK(store->loaded().state_head == std::string("snap\0", 5) + "10");
  }
  SECTION("a small tmpfs") {
    std::string mnt = dir.file("small");
    Tmpfs tmpfs(mnt, "size=200k");
    if (!tmpfs.mounted) {
      WARN("cannot mount a tmpfs: full-disk case on a real file system not run");
      return;
    }
    std::string path = mnt + "/state.db";
    {
      auto store = Store::open(path);
      store->commit(batch(1, 10, 3, 1));
      store->flush();
      store->commit(batch(11, 20000, 3, 2));
      CHECK_THROWS_WITH(store->flush(),
                        Catch::StartsWith(path + ": ") && Catch::Contains("the disk is full"));
    }
    {
      auto store = Store::open(path);
      CHECK(store->loaded().records == 10);
      CHECK(store->loaded().state_head == std::string("snap\0", 5) + "10");
      // The next good commit continues from it.
      store->commit(batch(11, 10, 3, 2));
      store->flush();
    }
    CHECK(sql_value(path, "SELECT count(*) || ' ' || max(seq) FROM records") == "20 20");
  }
}

TEST_CASE("store: a second writer is refused, readers are not", "[store]") {
  TempDir dir;
  std::string path = one_commit_store(dir);
  auto first = Store::open(path);
  std::string in_use =
      path + ": the store is in use by another ptag run (process " + std::to_string(::getpid());
  CHECK_THAT(open_error(path), Catch::StartsWith(in_use));
  // Another process too.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(open_error(path).rfind(in_use, 0) == 0 ? 0 : 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(StoreReader::open(path)->contents().records == 10);
  first->commit(batch(11, 5, 1, 2));
  first->flush();
  first.reset();
  CHECK(Store::open(path)->loaded().records == 15);
}

TEST_CASE("store: readers see the last commit while the writer commits", "[store]") {
  TempDir dir;
  std::string path = one_commit_store(dir, 1);
  auto store = Store::open(path);
  std::atomic<bool> writing{true};
  std::int64_t seen = 0;
  int reads = 0;
  bool consistent = true;
  std::thread reader([&] {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      consistent = false;
      return;
    }
    sqlite3_busy_timeout(db, 5000);
    const char* sql =
        "SELECT (SELECT records FROM meta), (SELECT count(*) FROM records), (SELECT offset FROM "
        "input), "
        "(SELECT count(*) FROM partners)";
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    for (bool done = false; !done;) {
      done = !writing.load() && reads >= 5;  // a last read after the last commit
      if (sqlite3_step(s) != SQLITE_ROW) {
        consistent = false;
        break;
      }
      std::int64_t meta = sqlite3_column_int64(s, 0);
      // One statement is one read transaction: one commit's state.
      if (meta != sqlite3_column_int64(s, 1) || meta != sqlite3_column_int64(s, 2) || meta < seen)
        consistent = false;
      seen = meta;
      ++reads;
      sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
  });
  std::int64_t seq = 2;
  for (int i = 0; i < 200; ++i) {
    store->commit(batch(seq, 50, 20, i));
    seq += 50;
  }
  store->flush();
  writing = false;
  reader.join();
  CHECK(consistent);
  CHECK(reads >= 5);
  CHECK(seen == seq - 1);
  // The query helpers and the sqlite3 tool while the writer holds the store.
  CHECK(StoreReader::open(path)->partners().size() == 20);
  if (std::system("command -v sqlite3 >/dev/null 2>&1") == 0) {
    std::string cmd =
        "sqlite3 -readonly '" + path + "' \"SELECT count(*) FROM partner_tags WHERE tag = 'VIP'\"";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[64] = {};
    std::string out = std::fgets(buf, sizeof buf, p) != nullptr ? buf : "";
    ::pclose(p);
    CHECK(out == "20\n");  // the last commit (version 199) has VIP for every partner
  }
}

TEST_CASE("store: killed at random instants, the store holds its last commit", "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  std::mt19937 random(12345);
  std::int64_t last = 0;
  for (int kill = 0; kill < 10; ++kill) {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        auto store = Store::open(path);
        std::int64_t seq = store->loaded().records + 1;
        for (std::int64_t i = 0;; ++i) {
          std::int64_t per = 1 + (seq % 300);
          store->commit(batch(seq, per, 50, i));
          seq += per;
        }
      } catch (...) {
      }
      ::_exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + random() % 170));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));

    std::unique_ptr<Store> store;
    REQUIRE_NOTHROW(store = Store::open(path));
    const StoreContents& c = store->loaded();
    CHECK(c.records >= last);
    if (c.input) CHECK(c.input->offset == c.records);
    if (c.records > 0) CHECK(c.state_head == std::string("snap\0", 5) + std::to_string(c.records));
    last = c.records;
    store.reset();
    CHECK(sql_value(path, "PRAGMA integrity_check") == "ok");
    CHECK(sql_value(path, "SELECT count(*) FROM records") == std::to_string(last));
  }
  CHECK(last > 0);
  auto reader = StoreReader::open(path);
  std::vector<StoredRecord> all = reader->records_from(1, last);
  REQUIRE(all.size() == static_cast<std::size_t>(last));
  bool same = true;
  for (std::size_t k = 0; k < all.size(); ++k)
    same = same && all[k] == record_number(static_cast<std::int64_t>(k) + 1);
  CHECK(same);
}

namespace {
std::int64_t env_or(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : fallback;
}
}  // namespace

// Figures for docs/store.md; not run by default: `test_store "[.bench]"`.
// PTAG_BENCH_RECORDS, _PARTNERS, _SNAPSHOT (bytes), _COMMITS change the batches.
TEST_CASE("store: writer throughput", "[.bench]") {
  TempDir temp;
  // PTAG_BENCH_DIR keeps the stores for a look afterwards.
  const char* keep = std::getenv("PTAG_BENCH_DIR");
  auto file = [&](const char* name) {
    return keep != nullptr ? std::string(keep) + "/" + name : temp.file(name);
  };
  const std::int64_t records = env_or("PTAG_BENCH_RECORDS", 10000);
  const std::int64_t partners = env_or("PTAG_BENCH_PARTNERS", 5000);
  const std::int64_t snapshot = env_or("PTAG_BENCH_SNAPSHOT", 4 << 20);
  const std::int64_t commits = env_or("PTAG_BENCH_COMMITS", 100);
  for (StoreSync sync : {StoreSync::full, StoreSync::normal}) {
    std::string path = file(sync == StoreSync::full ? "full.db" : "normal.db");
    StoreOptions options;
    options.sync = sync;
    auto store = Store::open(path, options);
    std::vector<StoreCommit> batches;
    for (std::int64_t i = 0; i < commits; ++i) {
      StoreCommit c = batch(1 + i * records, records, 0, i);
      // Partners move through a population of 100,000, as in W1.
      for (std::int64_t k = 0; k < partners; ++k)
        c.partners.push_back(partner_number((i * partners + k) % 100000, i));
      c.state.head.assign(static_cast<std::size_t>(snapshot), 's');
      batches.push_back(std::move(c));
    }
    auto start = std::chrono::steady_clock::now();
    for (StoreCommit& c : batches) store->commit(std::move(c));
    store->flush();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    store.reset();
    double mb = static_cast<double>(fs::file_size(path)) / 1e6;
    double n = static_cast<double>(commits);
    std::printf(
        "sync %s: %lld commits of %lld records + %lld partners + %lld B snapshot in %.2f s: %.1f "
        "commits/s, "
        "%.0f records/s, %.0f partner rows/s; file %.1f MB\n",
        sync == StoreSync::full ? "full" : "normal", static_cast<long long>(commits),
        static_cast<long long>(records), static_cast<long long>(partners),
        static_cast<long long>(snapshot), s, n / s, n * static_cast<double>(records) / s,
        n * static_cast<double>(partners) / s, mb);
  }
}

TEST_CASE("store: record times of every year, and every action and cause, through record_rows and the view",
          "[store]") {
  TempDir dir;
  std::string path = dir.file("state.db");
  // Records' times are kept as seconds (times are years 0000-9999): each
  // must read back the same, and the view must show format_time()'s text.
  const std::vector<Seconds> times = {-62'167'219'200, -1, 0, 1'767'225'600, 951'782'400, 253'402'300'799};
  std::vector<StoredRecord> written;
  {
    auto store = Store::open(path);
    StoreCommit c = batch(1, 0, 1, 1);
    for (std::size_t i = 0; i < times.size(); ++i) {
      StoredRecord r;
      r.time = times[i];
      r.partner = "p-" + std::to_string(i);
      r.action = i % 3 == 0 ? RecordAction::add : i % 3 == 1 ? RecordAction::remove : RecordAction::emit;
      r.tag = i % 2 == 0 ? "VIP" : "At Risk";
      r.rule = "rule " + std::to_string(i % 2);
      r.cause = i % 3 == 0 ? RecordCause::event : i % 3 == 1 ? RecordCause::timer : RecordCause::backfill;
      if (r.cause == RecordCause::event) r.event = "e-" + std::to_string(i);
      c.records.add(r);
      written.push_back(r);
      PartnerRow p = partner_number(static_cast<std::int64_t>(i), 1);
      p.last_record = static_cast<std::int64_t>(i) + 1;  // each partner's one record
      if (i == 0) c.partners.clear();
      c.partners.push_back(p);
    }
    store->commit(std::move(c));
    store->flush();
  }
  auto reader = StoreReader::open(path);
  CHECK(reader->records_from(1, 100) == written);
  for (std::size_t i = 0; i < times.size(); ++i) {
    std::string seq = std::to_string(i + 1);
    CHECK(sql_value(path, ("SELECT time FROM records WHERE seq = " + seq).c_str()) == format_time(times[i]));
    CHECK(sql_value(path, ("SELECT typeof(time) FROM record_rows WHERE seq = " + seq).c_str()) == "integer");
  }
  CHECK(sql_value(path, "SELECT action || ' ' || coalesce(tag, '-') || ' ' || coalesce(name, '-') || ' ' || cause "
                        "FROM records ORDER BY seq") ==
        "add VIP - event|remove At Risk - timer|emit - VIP backfill|add At Risk - event|remove VIP - timer|"
        "emit - At Risk backfill");
  // Names are kept once each: the records' four, and the rules of the
  // partner's tags (New Partner by welcome, VIP by vip; tags are keys).
  CHECK(sql_value(path, "SELECT count(*) FROM names") == "6");
  std::vector<StoredRecord> vip = reader->records("p-4", "VIP");
  REQUIRE(vip.size() == 1);
  CHECK(vip[0] == written[4]);
  CHECK(reader->records("p-2", "VIP").empty());  // an emit named VIP is no change of the tag
}

TEST_CASE("store: a reader gives the same tag changes from a version 1 store and from it migrated", "[store]") {
  TempDir dir;
  std::string path = dir.file("v1.db");
  sql_exec(path, read_file(std::string(PTAG_SOURCE_DIR) + "/tests/data/store/schema1.sql").c_str());
  REQUIRE(sql_value(path, "PRAGMA user_version") == "1");
  // What tag_changes() must give, from the records themselves.
  auto expected = [](const std::vector<NumberedRecord>& all, const std::vector<std::string>& tags, bool adds_only) {
    std::vector<std::string> out;
    for (const NumberedRecord& n : all) {
      const StoredRecord& r = n.record;
      if (r.action == RecordAction::emit || (adds_only && r.action != RecordAction::add)) continue;
      if (!tags.empty() && std::find(tags.begin(), tags.end(), r.tag) == tags.end()) continue;
      out.push_back(std::to_string(n.seq) + " " + std::to_string(r.time) + " " + r.partner + " " +
                    (r.action == RecordAction::add ? "+" : "-") + r.tag);
    }
    return out;
  };
  auto changes = [](const StoreReader& reader, const std::vector<std::string>& tags, bool adds_only) {
    std::vector<std::string> out;
    reader.tag_changes(tags, adds_only, 0, [&](const StoreReader::TagChange& c) {
      out.push_back(std::to_string(c.seq) + " " + std::to_string(c.time) + " " + std::string(c.partner) + " " +
                    (c.added ? "+" : "-") + std::string(c.tag));
    });
    return out;
  };
  std::vector<std::vector<std::string>> answers;
  for (int migrated = 0; migrated < 2; ++migrated) {
    if (migrated) {
      Store::open(path);  // the writer migrates
      REQUIRE(sql_value(path, "PRAGMA user_version") == std::to_string(kStoreSchemaVersion));
    }
    auto reader = StoreReader::open(path);
    std::vector<NumberedRecord> all = reader->records_after(0, 1000);
    REQUIRE(all.size() > 10);
    std::vector<std::string> tags = {all.front().record.tag, "no such tag"};
    for (bool adds_only : {false, true}) {
      for (const std::vector<std::string>& filter : {std::vector<std::string>{}, tags}) {
        std::vector<std::string> got = changes(*reader, filter, adds_only);
        CHECK(got == expected(all, filter, adds_only));
        CHECK_FALSE(got.empty());
        answers.push_back(got);
      }
    }
  }
  // Before and after the migration, the same answers.
  REQUIRE(answers.size() == 8);
  for (std::size_t i = 0; i < 4; ++i) CHECK(answers[i] == answers[i + 4]);
}

TEST_CASE("store: each store has its own random id, kept across reopening and given to older stores", "[store]") {
  TempDir dir;
  std::string a = dir.file("a.db"), b = dir.file("b.db"), old = dir.file("v1.db");
  std::string id_a;
  {
    auto store = Store::open(a);
    id_a = store->loaded().store_id;
  }
  CHECK(id_a.size() == 16);
  CHECK(id_a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(Store::open(a)->loaded().store_id == id_a);
  CHECK(StoreReader::open(a) != nullptr);
  CHECK(Store::open(b)->loaded().store_id != id_a);
  // A store written before store ids: its writer gives it one, and keeps it.
  sql_exec(old, read_file(std::string(PTAG_SOURCE_DIR) + "/tests/data/store/schema1.sql").c_str());
  std::string first = Store::open(old)->loaded().store_id;
  CHECK(first.size() == 16);
  CHECK(Store::open(old)->loaded().store_id == first);
  CHECK(sql_value(old, "SELECT store_id FROM meta") == first);
}

TEST_CASE("store: the input position may be an external log's sequence number", "[store]") {
  TempDir dir;
  std::string path = dir.file("partition.db");
  {
    auto store = Store::open(path);
    StoreCommit c = batch(1, 3, 2, 1);
    c.input = InputPosition{"stream PTAG_EVENTS, subject ptag.events.7", "", 0, 0, "", 0, 123456789012};
    store->commit(std::move(c));
    store->flush();
  }
  auto store = Store::open(path);
  REQUIRE(store->loaded().input);
  CHECK(store->loaded().input->sequence == 123456789012);
  CHECK(store->loaded().input->path == "stream PTAG_EVENTS, subject ptag.events.7");
  // A file position has none.
  StoreCommit c = batch(4, 1, 1, 2);
  store->commit(std::move(c));
  store->flush();
  store.reset();
  CHECK_FALSE(StoreReader::open(path)->contents().input->sequence);
}
