// StoreReader: read-only queries; no lock, each call one read transaction.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <iterator>
#include <unordered_map>

#include "schema.hpp"

namespace ptag {

using store_detail::Db;
using store_detail::Stmt;

struct StoreReader::Impl {
  Db db;

  // BEGIN ... COMMIT around `f`, so that a call sees one commit.
  template <typename F>
  auto read(F&& f) {
    db.exec("BEGIN", "cannot read the store");
    try {
      auto result = f();
      db.exec("COMMIT", "cannot read the store");
      return result;
    } catch (...) {
      db.try_exec("ROLLBACK");
      throw;
    }
  }

  // A store of schema version 1 (not yet migrated) has no outbox.
  bool has_outbox() {
    Stmt s(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'outbox'");
    s.step();
    return s.integer(0) == 1;
  }

  // Versions 1-3 (not yet migrated): the `partner_tags` table.
  void add_tags(std::vector<PartnerRow>& rows) {
    Stmt tags(db,
              "SELECT tag, added_at, rule, expires_at, position FROM partner_tags WHERE partner = ? "
              "ORDER BY position");
    for (PartnerRow& p : rows) {
      tags.bind(1, p.partner);
      while (tags.step())
        p.tags.push_back(
            StoredTag{tags.text(0), tags.time(1).value_or(0), tags.text(2), tags.time(3),
                      tags.integer(4)});
      tags.reset();
    }
  }

  // Partners with their tags: `where` completes the query; each run()
  // appends the rows of its bindings.
  struct PartnerQuery {
    Impl& impl;
    bool in_rows;
    bool chained;  // version 5: partners.last_record
    store_detail::Names names;
    Stmt s;
    PartnerQuery(Impl& i, const char* where)
        : impl(i),
          in_rows(store_detail::tags_in_rows(i.db)),
          chained(store_detail::records_chained(i.db)),
          names(in_rows ? store_detail::load_names(i.db) : store_detail::Names{}),
          s(i.db, fmt::format("SELECT {}{}{} FROM partners {}", store_detail::partner_columns(),
                              in_rows ? ", tags" : "", chained ? ", last_record" : "", where)
                      .c_str()) {}
    void run(std::vector<PartnerRow>& rows) {
      std::size_t first = rows.size();
      while (s.step()) {
        rows.push_back(store_detail::read_partner(s));
        if (in_rows) store_detail::read_tags(s.text_view(11), names, impl.db.path(), rows.back().partner, rows.back().tags);
        if (chained && !s.is_null(12)) rows.back().last_record = s.integer(12);
      }
      s.reset();
      if (!in_rows) {
        std::vector<PartnerRow> added(std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(first)),
                                      std::make_move_iterator(rows.end()));
        impl.add_tags(added);
        rows.resize(first);
        std::move(added.begin(), added.end(), std::back_inserter(rows));
      }
    }
  };
};

StoreReader::StoreReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreReader::~StoreReader() = default;

std::unique_ptr<StoreReader> StoreReader::open(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw StoreError(path + ": no such store");
  if (S_ISDIR(st.st_mode)) throw StoreError(path + ": is a folder, not a ptag store");
  // SQLite reads the header itself: opening and closing the file here would
  // drop the POSIX locks every SQLite connection of this process holds on it
  // (a server's writer among them), and let another process's sqlite3 shell
  // take the store for unused and delete its WAL.
  auto impl = std::make_unique<Impl>();
  impl->db.open(path, SQLITE_OPEN_READONLY);
  try {
    // No quick_check: a query must not read a whole large store first.
    store_detail::prepare_schema(impl->db, false, false);
  } catch (const StoreError&) {
    if (sqlite3_errcode(impl->db.get()) == SQLITE_NOTADB)
      throw StoreError(path + ": not a ptag store (not an SQLite database)");
    throw;
  }
  return std::unique_ptr<StoreReader>(new StoreReader(std::move(impl)));
}

StoreContents StoreReader::contents() const {
  return store_detail::load_contents(impl_->db);
}

namespace {

// The state tables through the runtime's interface.
class StoredStateRows : public StateRowsReader {
 public:
  explicit StoredStateRows(Db& db) : db_(db) {}
  std::string head() override {
    Stmt s(db_, "SELECT head FROM engine_state WHERE id = 1");
    if (!s.step()) throw StoreError(db_.path() + ": the store holds no engine state rows");
    return s.blob(0);
  }
  void partners(const std::function<void(std::int64_t, std::string_view)>& each) override {
    Stmt s(db_, "SELECT position, data FROM partner_state ORDER BY position");
    while (s.step()) each(s.integer(0), s.blob_view(1));
  }
  void customers(const std::function<void(std::int64_t, std::string_view)>& each) override {
    Stmt s(db_, "SELECT partner, customer FROM partner_customers");
    while (s.step()) each(s.integer(0), s.text_view(1));
  }
  void id_words(const std::function<void(const AppliedIdWord&)>& each) override {
    Stmt s(db_, "SELECT prefix, block, bits FROM applied_words");
    while (s.step())
      each({static_cast<std::uint32_t>(s.integer(0)), static_cast<std::uint64_t>(s.integer(1)),
            static_cast<std::uint64_t>(s.integer(2))});
  }
  void id_texts(const std::function<void(std::string_view, std::optional<Seconds>)>& each) override {
    Stmt s(db_, "SELECT id, time FROM applied_ids");
    while (s.step()) each(s.text_view(0), s.is_null(1) ? std::nullopt : std::optional<Seconds>(s.integer(1)));
  }

 private:
  Db& db_;
};

}  // namespace

void StoreReader::read_state(const std::function<void(StateRowsReader&)>& read) const {
  impl_->read([&] {
    StoredStateRows rows(impl_->db);
    read(rows);
    return 0;
  });
}

std::vector<PartnerRow> StoreReader::partners() const {
  return impl_->read([&] {
    std::vector<PartnerRow> rows;
    Impl::PartnerQuery(*impl_, "ORDER BY position").run(rows);
    return rows;
  });
}

void StoreReader::held_tags(
    const std::function<void(std::int64_t, std::int64_t, const std::vector<HeldTag>&)>& each) const {
  impl_->read([&] {
    std::vector<HeldTag> held;
    if (!store_detail::tags_in_rows(impl_->db) || !store_detail::records_chained(impl_->db)) {
      std::vector<PartnerRow> rows;  // an older store, not yet migrated (inside this read: no partners())
      Impl::PartnerQuery(*impl_, "ORDER BY position").run(rows);
      for (const PartnerRow& row : rows) {
        held.clear();
        for (const StoredTag& t : row.tags) held.push_back({t.tag, t.rule, t.added_at, t.order});
        each(row.position, row.last_record, held);
      }
      return 0;
    }
    store_detail::Names names = store_detail::load_names(impl_->db);
    std::vector<store_detail::PlainTag> plain;
    std::vector<StoredTag> slow;
    Stmt s(impl_->db, "SELECT position, tags, last_record, partner FROM partners ORDER BY position");
    while (s.step()) {
      held.clear();
      std::string_view json = s.text_view(1);
      if (store_detail::read_plain_tags(json, plain)) {
        for (const store_detail::PlainTag& t : plain) {
          auto rule = names.find(t.rule);
          if (rule == names.end())
            throw StoreError(fmt::format("{}: not a ptag store (the tags of partner {} in `partners.tags`: no name {})",
                                         impl_->db.path(), s.text_view(3), t.rule));
          held.push_back({t.tag, rule->second, t.added_at, t.order});
        }
      } else {
        slow.clear();
        store_detail::read_tags(json, names, impl_->db.path(), s.text_view(3), slow);
        for (const StoredTag& t : slow) held.push_back({t.tag, t.rule, t.added_at, t.order});
      }
      each(s.integer(0), s.is_null(2) ? 0 : s.integer(2), held);
    }
    return 0;
  });
}

std::vector<std::optional<PartnerRow>> StoreReader::partners(
    const std::vector<std::string>& ids) const {
  return impl_->read([&] {
    std::vector<std::optional<PartnerRow>> out;
    Impl::PartnerQuery query(*impl_, "WHERE partner = ?");
    for (const std::string& id : ids) {
      std::vector<PartnerRow> one;
      query.s.bind(1, id);
      query.run(one);
      if (one.empty()) {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(std::move(one.front()));
      }
    }
    return out;
  });
}

// A partner's records newest first, from its last along `previous`, while
// `more` says so for the record just read (version 5).
template <typename More>
void walk_chain(Db& db, std::string_view partner, const More& more) {
  Stmt last(db, "SELECT last_record FROM partners WHERE partner = ?");
  last.bind(1, partner);
  if (!last.step() || last.is_null(0)) return;
  std::int64_t seq = last.integer(0);
  Stmt one(db,
           "SELECT r.seq, r.time, r.partner, r.action, t.text, u.text, r.cause, r.event, r.previous FROM record_rows r "
           "LEFT JOIN names t ON t.id = r.tag LEFT JOIN names u ON u.id = r.rule WHERE r.seq = ?");
  while (seq > 0) {
    one.bind(1, seq);
    if (!one.step()) return;  // a chain into records that are not there: stop, never loop
    StoredRecord r = store_detail::read_record(one, 1);
    std::int64_t previous = one.is_null(8) ? 0 : one.integer(8);
    one.reset();
    if (previous >= seq || !more(std::move(r))) return;
    seq = previous;
  }
}

std::vector<StoredRecord> StoreReader::records(std::string_view partner,
                                               std::string_view tag) const {
  return impl_->read([&] {
    std::vector<StoredRecord> out;
    if (store_detail::records_chained(impl_->db)) {
      walk_chain(impl_->db, partner, [&](StoredRecord r) {
        if (r.action != RecordAction::emit && r.tag == tag) out.push_back(std::move(r));
        return true;
      });
      std::reverse(out.begin(), out.end());
      return out;
    }
    const store_detail::RecordLayout& l = store_detail::record_layout(impl_->db);
    Stmt s(impl_->db, fmt::format("{} WHERE {} = ? AND {} = ? AND {} ORDER BY {}", l.select, l.partner,
                                  l.tag, l.changes, l.seq)
                          .c_str());
    s.bind(1, partner);
    s.bind(2, tag);
    while (s.step()) out.push_back(store_detail::read_record(s, 1));
    return out;
  });
}

std::vector<StoredRecord> StoreReader::partner_records(std::string_view partner, std::int64_t limit) const {
  return impl_->read([&] {
    std::vector<StoredRecord> out;
    if (store_detail::records_chained(impl_->db)) {
      if (limit <= 0) return out;
      walk_chain(impl_->db, partner, [&](StoredRecord r) {
        out.push_back(std::move(r));
        return static_cast<std::int64_t>(out.size()) < limit;
      });
      return out;
    }
    const store_detail::RecordLayout& l = store_detail::record_layout(impl_->db);
    Stmt s(impl_->db,
           fmt::format("{} WHERE {} = ? ORDER BY {} DESC LIMIT ?", l.select, l.partner, l.seq).c_str());
    s.bind(1, partner);
    s.bind(2, limit);
    while (s.step()) out.push_back(store_detail::read_record(s, 1));
    return out;
  });
}

std::vector<Delivery> StoreReader::deliveries(std::optional<DeliveryStatus> status, std::int64_t after,
                                              std::int64_t limit, std::optional<std::string_view> webhook) const {
  return impl_->read([&] {
    std::vector<Delivery> out;
    if (!impl_->has_outbox()) return out;
    std::string sql = std::string("SELECT ") + store_detail::kDeliveryColumns +
                      " FROM outbox WHERE id > ?1" + (status ? " AND status = ?2" : "") +
                      (webhook ? " AND webhook = ?4" : "") + " ORDER BY id LIMIT ?3";
    Stmt s(impl_->db, sql.c_str());
    s.bind(1, after);
    if (status) s.bind(2, std::string_view(delivery_status_name(*status)));
    s.bind(3, limit);
    if (webhook) s.bind(4, *webhook);
    while (s.step()) out.push_back(store_detail::read_delivery(s));
    return out;
  });
}

std::vector<DeadLetter> StoreReader::dead_letters(std::string_view source, std::optional<std::string_view> status,
                                                  std::int64_t after, std::int64_t limit) const {
  return impl_->read([&] {
    std::vector<DeadLetter> out;
    Stmt has(impl_->db, "SELECT count(*) FROM sqlite_schema WHERE name = 'dead_letters'");
    has.step();
    if (has.integer(0) != 1) return out;  // a store no server has written since they came
    std::string sql = std::string("SELECT id, source, received_at, status, reason, headers, body FROM dead_letters ") +
                      "WHERE source = ?1 AND id > ?2" + (status ? " AND status = ?3" : "") + " ORDER BY id LIMIT ?4";
    Stmt s(impl_->db, sql.c_str());
    s.bind(1, source);
    s.bind(2, after);
    if (status) s.bind(3, *status);
    s.bind(4, limit);
    while (s.step())
      out.push_back(DeadLetter{s.integer(0), s.text(1), s.integer(2), s.text(3), s.text(4), s.text(5), s.blob(6)});
    return out;
  });
}

std::vector<std::pair<std::string, std::int64_t>> StoreReader::refund_totals() const {
  return impl_->read([&] {
    std::vector<std::pair<std::string, std::int64_t>> out;
    Stmt has(impl_->db, "SELECT count(*) FROM sqlite_schema WHERE name = 'refund_totals'");
    has.step();
    if (has.integer(0) != 1) return out;
    Stmt s(impl_->db, "SELECT sale, total FROM refund_totals");
    while (s.step()) out.emplace_back(s.text(0), s.integer(1));
    return out;
  });
}

std::vector<std::pair<std::string, std::int64_t>> StoreReader::pending_by_webhook() const {
  return impl_->read([&] {
    std::vector<std::pair<std::string, std::int64_t>> out;
    if (!impl_->has_outbox()) return out;
    Stmt s(impl_->db, "SELECT webhook, count(*) FROM outbox WHERE status = 'pending' GROUP BY webhook ORDER BY webhook");
    while (s.step()) out.emplace_back(s.text(0), s.integer(1));
    return out;
  });
}

std::optional<Delivery> StoreReader::delivery(std::int64_t id) const {
  return impl_->read([&]() -> std::optional<Delivery> {
    if (!impl_->has_outbox()) return std::nullopt;
    Stmt s(impl_->db, (std::string("SELECT ") + store_detail::kDeliveryColumns + " FROM outbox WHERE id = ?").c_str());
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return store_detail::read_delivery(s);
  });
}

namespace {

// Records with their seq after `after`, at most `limit`, oldest or newest first.
std::vector<NumberedRecord> numbered(Db& db, std::int64_t after, std::int64_t limit, bool newest) {
  std::vector<NumberedRecord> out;
  const store_detail::RecordLayout& l = store_detail::record_layout(db);
  Stmt s(db, fmt::format("{} WHERE {} > ?1 ORDER BY {}{} LIMIT ?2", l.select, l.seq, l.seq, newest ? " DESC" : "")
                 .c_str());
  s.bind(1, after);
  s.bind(2, limit);
  while (s.step()) out.push_back({s.integer(0), store_detail::read_record(s, 1)});
  return out;
}

}  // namespace

std::vector<StoredRecord> StoreReader::records_from(std::int64_t first, std::int64_t limit) const {
  std::vector<StoredRecord> out;
  for (NumberedRecord& r : records_after(first - 1, limit)) out.push_back(std::move(r.record));
  return out;
}

std::vector<NumberedRecord> StoreReader::records_after(std::int64_t seq, std::int64_t limit) const {
  return impl_->read([&] { return numbered(impl_->db, seq, limit, false); });
}

std::vector<NumberedRecord> StoreReader::last_records(std::int64_t limit) const {
  return impl_->read([&] {
    // The newest `limit`, then put in output order.
    std::vector<NumberedRecord> out = numbered(impl_->db, 0, limit, true);
    std::reverse(out.begin(), out.end());
    return out;
  });
}

std::int64_t StoreReader::last_seq() const {
  return impl_->read([&] {
    Stmt s(impl_->db, "SELECT coalesce(max(seq), 0) FROM records");
    s.step();
    return s.integer(0);
  });
}

void StoreReader::tag_changes(const std::vector<std::string>& tags, bool adds_only, std::int64_t after,
                              const std::function<void(const TagChange&)>& each) const {
  impl_->read([&] {
    const store_detail::RecordLayout& l = store_detail::record_layout(impl_->db);
    std::string sql = fmt::format("{} WHERE {} > ? AND {}", l.select_changes, l.seq, adds_only ? l.adds : l.changes);
    if (!tags.empty()) {
      std::string list;
      for (std::size_t i = 0; i < tags.size(); ++i) list += i ? ", ?" : "?";
      sql += " AND " + fmt::format(fmt::runtime(l.tag_in), list);
    }
    sql += fmt::format(" ORDER BY {}", l.seq);
    // Version 3 gives tags as numbers: their names, read once.
    store_detail::Names names;
    if (l.compact) names = store_detail::load_names(impl_->db);
    Stmt s(impl_->db, sql.c_str());
    s.bind(1, after);
    for (std::size_t i = 0; i < tags.size(); ++i) s.bind(static_cast<int>(i + 2), tags[i]);
    while (s.step()) {
      bool added = store_detail::read_code(s, 3, store_detail::kActions) == RecordAction::add;
      std::string_view tag;
      if (s.is_integer(4)) {
        auto it = names.find(s.integer(4));
        if (it != names.end()) tag = it->second;
      } else {
        tag = s.text_view(4);
      }
      each(TagChange{s.integer(0), s.time(1).value_or(0), s.text_view(2), added, tag});
    }
    return 0;
  });
}

}  // namespace ptag
