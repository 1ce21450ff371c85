// DurableEngine: an engine and its store. A commit writes only the partners
// that changed since the last one, each with its tags: the engine notes the
// partners its events and timers reached, the records those whose tags
// changed.
#include "ptag/durable.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <iterator>
#include <unordered_map>

namespace ptag {

namespace {

constexpr std::string_view kProgramHeader = "ptag program 1\n";

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Records go to the store's batch (and on to the caller's sink), and the
// sink keeps since when and by which rule each partner has each tag: the
// records say it, the engine does not keep it. Tags and rules are numbers
// into `names`, so that a partner's held tags are 24 bytes each (the
// lookup is a cache miss per record) and outlive any program.
class DurableSink : public Sink {
 public:
  struct HeldTag {
    std::uint32_t tag = 0, rule = 0;  // into names
    Seconds added_at = 0;
    std::int64_t order = 0;  // the seq of the record that added it
  };
  using Tags = std::vector<HeldTag>;

  void record(const ChangeRecord& made) override {
    // Numbered here, once: the batch, the held tags and the caller's sink
    // all take this number; the store checks it against its own count.
    ChangeRecord r = made;
    std::int64_t seq = r.seq = next_seq++;
    if (r.partner_index >= last.size()) last.resize(r.partner_index + 1, 0);
    records.add(r, last[r.partner_index]);
    last[r.partner_index] = seq;
    mark(r.partner_index);  // its row names its last record
    // The writer stores records as they come, not all at the commit.
    if (records.size() >= kAppendEvery) {
      try {
        store->append(std::move(records));
      } catch (const StoreError&) {
        // The store has failed: the next commit says so.
      }
      records = store->recycled();
    }
    if (r.action != RecordAction::emit) {
      if (r.partner_index >= tags.size()) tags.resize(r.partner_index + 1);
      Tags& held = tags[r.partner_index];
      std::uint32_t tag = name(r.tag);
      auto it = std::find_if(held.begin(), held.end(), [&](const HeldTag& t) { return t.tag == tag; });
      if (r.action == RecordAction::add && it == held.end()) held.push_back({tag, name(r.rule), r.time, seq});
      if (r.action == RecordAction::remove && it != held.end()) held.erase(it);
    }
    if (inner) inner->record(r);
  }
  void flush() override {
    if (inner) inner->flush();
  }
  // A partner's held tags take two loads (the vector, then its elements):
  // the vector now, and the elements of the partner named kLater hints
  // ago, whose vector has arrived by then.
  void prefetch(std::uint32_t partner) override {
    if (partner < tags.size()) __builtin_prefetch(&tags[partner]);
    std::uint32_t earlier = hinted[hint % kLater];
    hinted[hint++ % kLater] = partner;
    if (earlier < tags.size() && !tags[earlier].empty()) __builtin_prefetch(tags[earlier].data());
  }

  void mark(std::uint32_t partner) {
    if (partner >= marked.size()) marked.resize(partner + 1);
    if (marked[partner]) return;
    marked[partner] = true;
    marked_list.push_back(partner);
  }

  std::uint32_t name(std::string_view text) { return names.number(text); }

  static constexpr std::size_t kAppendEvery = 16384;
  static constexpr std::size_t kLater = 4;
  std::array<std::uint32_t, kLater> hinted{};
  std::size_t hint = 0;
  Sink* inner = nullptr;
  Store* store = nullptr;
  RecordBatch records;      // since the last commit (or the last append)
  std::int64_t next_seq = 1;  // of the next record
  std::vector<Tags> tags;       // by partner position: as they are now
  std::vector<std::int64_t> last;  // by partner position: the seq of its last record (0: none)
  std::vector<std::uint32_t> marked_list;  // partners with records since the last commit
  std::vector<bool> marked;                // in marked_list
  NameNumbers names;                       // tags and rules by number
};

}  // namespace

std::string encode_program(std::span<const SourceFile> files) {
  std::string text(kProgramHeader);
  for (const SourceFile& file : files) {
    text += "file " + std::to_string(file.name.size()) + " " + std::to_string(file.text.size()) + "\n";
    text += file.name + "\n" + file.text + "\n";
  }
  return text;
}

std::string encode_program(const std::vector<std::string>& names, const SourceSet& sources) {
  std::vector<SourceFile> named;
  for (const std::string& name : names) {
    for (std::size_t f = 0; f < sources.size(); ++f) {
      const SourceFile& file = sources.file(static_cast<FileId>(f));
      if (file.name == name) {
        named.push_back(file);
        break;
      }
    }
  }
  return encode_program(named);
}

std::vector<SourceFile> decode_program(std::string_view text) {
  std::vector<SourceFile> files;
  if (!text.starts_with(kProgramHeader)) return {};
  text.remove_prefix(kProgramHeader.size());
  while (!text.empty()) {
    unsigned long long name_size = 0, text_size = 0;
    int used = 0;
    std::string head(text.substr(0, text.find('\n') + 1));
    if (std::sscanf(head.c_str(), "file %llu %llu\n%n", &name_size, &text_size, &used) != 2 || used == 0)
      return {};
    text.remove_prefix(static_cast<std::size_t>(used));
    if (text.size() < name_size + text_size + 2) return {};
    files.push_back({std::string(text.substr(0, name_size)), std::string(text.substr(name_size + 1, text_size))});
    text.remove_prefix(name_size + text_size + 2);
  }
  return files;
}

Engine restore_stored(const StoreReader& reader, const StoreContents& contents, const Program& program) {
  if (contents.state_rows) {
    std::optional<Engine> engine;
    reader.read_state([&](StateRowsReader& rows) { engine.emplace(Engine::restore(program, EngineOptions{}, rows)); });
    return std::move(*engine);
  }
  if (!contents.snapshot.empty()) return Engine::restore(program, EngineOptions{}, contents.snapshot);
  return Engine(program, EngineOptions{});
}

struct DurableEngine::Impl {
  std::unique_ptr<Store> store;
  DurableSink sink;
  std::optional<Engine> engine;
  std::optional<Seconds> dedup_window;
  RuleChanges changes;
  std::optional<std::string> program_text;  // stored with the next commit
  std::vector<std::uint32_t> carried;       // changed partners of an engine a reload replaced
  DurableTimes times;

  PartnerRow row(std::uint32_t index) const;
};

DurableEngine::DurableEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DurableEngine::~DurableEngine() = default;

std::unique_ptr<DurableEngine> DurableEngine::open(const std::string& path, const StoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->store = Store::open(path, options);
  DurableSink& sink = impl->sink;
  sink.store = impl->store.get();
  sink.next_seq = impl->store->loaded().records + 1;
  if (!impl->store->loaded().created) {
    // The partners' rows hold the committed tags, in order.
    StoreReader::open(path)->held_tags(
        [&sink](std::int64_t position, std::int64_t last_record, const std::vector<StoreReader::HeldTag>& tags) {
          auto at = static_cast<std::size_t>(position);
          if (at >= sink.tags.size()) {
            sink.tags.resize(at + 1);
            sink.last.resize(at + 1, 0);
          }
          sink.last[at] = last_record;
          sink.tags[at].reserve(tags.size());
          for (const StoreReader::HeldTag& t : tags)
            sink.tags[at].push_back({sink.name(t.tag), sink.name(t.rule), t.added_at, t.order});
        });
  }
  return std::unique_ptr<DurableEngine>(new DurableEngine(std::move(impl)));
}

const StoreContents& DurableEngine::loaded() const {
  return impl_->store->loaded();
}
const std::string& DurableEngine::path() const {
  return impl_->store->path();
}
const RuleChanges& DurableEngine::rule_changes() const {
  return impl_->changes;
}
const DurableTimes& DurableEngine::times() const {
  return impl_->times;
}
std::int64_t DurableEngine::durable_records() const {
  return impl_->store->durable_records();
}
std::int64_t DurableEngine::records() const {
  return impl_->sink.next_seq - 1;
}

Engine& DurableEngine::engine() {
  if (!impl_->engine) throw std::logic_error("DurableEngine::engine() before start()");
  return *impl_->engine;
}

Engine& DurableEngine::start(const Program& program, const DurableStart& options) {
  Impl& d = *impl_;
  if (d.engine) throw std::logic_error("DurableEngine::start() twice");
  d.sink.inner = options.sink;
  d.dedup_window = options.dedup_window;
  const StoreContents& loaded = d.store->loaded();
  EngineOptions engine_options{.sink = &d.sink, .dedup_window = options.dedup_window};
  RestoreOptions restore{.backfill = options.backfill, .changes = &d.changes, .dedup_window = options.dedup_window};
  if (loaded.state_rows) {
    StoreReader::open(d.store->path())->read_state([&](StateRowsReader& rows) {
      d.engine.emplace(Engine::restore(program, engine_options, rows, restore));
    });
  } else if (!loaded.snapshot.empty()) {
    // A version 4 store: the blob once, then rows from the first commit on.
    d.engine.emplace(Engine::restore(program, engine_options, loaded.snapshot, restore));
  } else {
    d.engine.emplace(program, engine_options);
  }
  d.engine->track_state_rows();
  if (!options.program_text.empty()) d.program_text = options.program_text;
  return *d.engine;
}

const RuleChanges& DurableEngine::reload(const Program& program, bool backfill, std::string program_text) {
  Impl& d = *impl_;
  Engine& old = engine();
  std::string snapshot = old.snapshot();
  // Restore first: a program the state cannot take leaves the old engine running.
  RuleChanges changes;
  Engine next = Engine::restore(program, d.sink, snapshot,
                                {.backfill = backfill, .changes = &changes, .dedup_window = d.dedup_window});
  std::vector<std::uint32_t> changed = old.take_changed_partners();
  std::vector<std::uint32_t> merged;
  std::set_union(d.carried.begin(), d.carried.end(), changed.begin(), changed.end(), std::back_inserter(merged));
  d.carried = std::move(merged);
  *d.engine = std::move(next);
  d.engine->track_state_rows();  // every row again: tags and rules may be numbered anew
  d.changes = std::move(changes);
  if (!program_text.empty()) d.program_text = std::move(program_text);
  return d.changes;
}

std::vector<StoredTag> DurableEngine::partner_tags(std::size_t index) const {
  const Impl& d = *impl_;
  std::vector<StoredTag> out;
  if (!d.engine || index >= d.sink.tags.size()) return out;
  for (const DurableSink::HeldTag& t : d.sink.tags[index]) {
    const std::string& tag = d.sink.names[t.tag];
    out.push_back({tag, t.added_at, d.sink.names[t.rule], d.engine->partner_tag_expiry(index, tag), t.order});
  }
  return out;
}

// A partner's metrics, times and tags as they are now.
PartnerRow DurableEngine::Impl::row(std::uint32_t index) const {
  const Engine& e = *engine;
  PartnerRow row;
  row.partner = std::string(e.partner_id(index));
  row.position = index;
  for (std::size_t m = 0; m < kMetrics; ++m) row.metrics[m] = e.partner_metric(index, static_cast<Metric>(m));
  Engine::PartnerTimes at = e.partner_times(index);
  row.joined_at = at.joined_at;
  row.last_activity = at.last_activity;
  row.last_referral = at.last_referral;
  if (index < sink.last.size()) row.last_record = sink.last[index];
  if (index < sink.tags.size()) {
    row.tags.reserve(sink.tags[index].size());
    for (const DurableSink::HeldTag& t : sink.tags[index]) {
      const std::string& tag = sink.names[t.tag];
      row.tags.push_back({tag, t.added_at, sink.names[t.rule], e.partner_tag_expiry(index, tag), t.order});
    }
  }
  return row;
}

Store& DurableEngine::store() {
  return *impl_->store;
}

void DurableEngine::wait(std::uint64_t commit) {
  impl_->store->wait(commit);
}

std::uint64_t DurableEngine::commit(const InputPosition& at, std::vector<Delivery> deliveries, ServerRows server) {
  Impl& d = *impl_;
  Engine& e = engine();
  auto t0 = std::chrono::steady_clock::now();
  StoreCommit batch;
  // Partners an event or a timer reached, and partners whose tags changed, in position order.
  std::vector<std::uint32_t> changed = e.take_changed_partners();
  std::vector<std::uint32_t> tagged = std::move(d.sink.marked_list);
  d.sink.marked_list.clear();
  std::sort(tagged.begin(), tagged.end());
  std::vector<std::uint32_t> some, all;
  std::set_union(changed.begin(), changed.end(), tagged.begin(), tagged.end(), std::back_inserter(some));
  std::set_union(some.begin(), some.end(), d.carried.begin(), d.carried.end(), std::back_inserter(all));
  d.carried.clear();
  batch.partners.reserve(all.size());
  for (std::uint32_t n : all) {
    if (n < d.sink.marked.size()) d.sink.marked[n] = false;
    batch.partners.push_back(d.row(n));
    d.times.tags += batch.partners.back().tags.size();
  }
  batch.records = std::move(d.sink.records);
  d.sink.records.clear();
  auto t1 = std::chrono::steady_clock::now();
  batch.state = e.take_state_rows(changed);
  d.times.state_rows += batch.state.partners.size();
  d.times.state_bytes += batch.state.bytes();
  auto t2 = std::chrono::steady_clock::now();
  d.times.changes += std::chrono::duration<double>(t1 - t0).count();
  d.times.state += std::chrono::duration<double>(t2 - t1).count();
  d.times.partner_rows += batch.partners.size();
  ++d.times.commits;
  batch.input = at;
  batch.deliveries = std::move(deliveries);
  batch.server = std::move(server);
  if (e.has_clock()) batch.clock = e.clock();
  batch.program = std::move(d.program_text);
  d.program_text.reset();
  std::uint64_t number = d.store->commit(std::move(batch));
  d.times.wait += seconds_since(t2);
  return number;
}

void DurableEngine::flush() {
  auto t0 = std::chrono::steady_clock::now();
  impl_->store->flush();
  impl_->times.flush_wait += seconds_since(t0);
}

}  // namespace ptag
