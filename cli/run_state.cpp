#include "run_state.hpp"

#include <algorithm>
#include <iterator>
#include <cstring>

namespace ptag::cli {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

std::optional<CountOr> parse_count_or(const std::string& text, char suffix) {
  bool suffixed = !text.empty() && text.back() == suffix;
  std::string number = suffixed ? text.substr(0, text.size() - 1) : text;
  if (number.empty() || number.find_first_not_of(suffixed ? "0123456789." : "0123456789") != std::string::npos)
    return std::nullopt;
  try {
    if (suffixed) return CountOr{true, 0, std::stod(number)};
    return CountOr{false, std::stoull(number), 0};
  } catch (const std::exception&) {
    return std::nullopt;  // out of range
  }
}

std::optional<CommitEvery> parse_commit_every(const std::string& text) {
  CommitEvery every;
  if (text.empty()) return every;
  std::optional<CountOr> v = parse_count_or(text, 's');
  if (!v || (v->suffixed ? v->amount <= 0 : v->count == 0)) return std::nullopt;
  every.events = v->suffixed ? UINT64_MAX : v->count;
  every.seconds = v->suffixed ? v->amount : 1e300;
  return every;
}

std::optional<Seconds> parse_dedup_window(const std::string& text) {
  if (text.size() < 2 || text.size() > 12) return std::nullopt;
  std::string number = text.substr(0, text.size() - 1);
  if (number.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  Seconds unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return std::nullopt;
  }
  Seconds n = std::stoll(number) * unit;  // at most 11 digits: no overflow
  if (n <= 0 || n > 1000 * 7 * 86400) return std::nullopt;
  return n;
}

namespace {
constexpr std::string_view kProgramHeader = "ptag program 1\n";
}

std::string program_text(const std::vector<std::string>& files, const SourceSet& sources) {
  std::string text(kProgramHeader);
  for (const std::string& name : files) {
    for (std::size_t f = 0; f < sources.size(); ++f) {
      const SourceFile& file = sources.file(static_cast<FileId>(f));
      if (file.name != name) continue;
      text += "file " + std::to_string(file.name.size()) + " " + std::to_string(file.text.size()) + "\n";
      text += file.name + "\n" + file.text + "\n";
      break;
    }
  }
  return text;
}

std::vector<SourceFile> program_files(std::string_view text) {
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

std::string input_fingerprint(std::FILE* file) {
  // FNV-1a over the first 64 KiB: an appended file keeps its fingerprint, a
  // rewritten one does not.
  char head[64 * 1024];
  long at = std::ftell(file);
  std::rewind(file);
  std::size_t n = std::fread(head, 1, sizeof head, file);
  std::clearerr(file);
  std::fseek(file, at, SEEK_SET);
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(head[i])) * 1099511628211ull;
  char text[40];
  std::snprintf(text, sizeof text, "fnv1a64:%zu:%016llx", n, static_cast<unsigned long long>(h));
  return text;
}

void DurableSink::mark(std::uint32_t partner) {
  if (partner >= marked_.size()) marked_.resize(partner + 1);
  if (marked_[partner]) return;
  marked_[partner] = true;
  marked_list_.push_back(partner);
}

void DurableSink::record(const ChangeRecord& r) {
  records_.add(r);
  // The writer stores records as they come, not all at the commit.
  if (records_.size() >= 16384) {
    try {
      store_->append(std::move(records_));
    } catch (const StoreError&) {
      // The store has failed: the next commit says so and stops the run.
    }
    records_.clear();
  }
  std::int64_t seq = next_seq_++;
  if (r.action != RecordAction::emit) {
    if (r.partner_index >= tags_.size()) tags_.resize(r.partner_index + 1);
    Tags& tags = tags_[r.partner_index];
    auto it = std::find_if(tags.begin(), tags.end(), [&](const HeldTag& t) { return t.tag == r.tag; });
    // The views live as long as the program (ChangeRecord).
    if (r.action == RecordAction::add && it == tags.end()) tags.push_back({r.tag, r.time, r.rule, {}, seq});
    if (r.action == RecordAction::remove && it != tags.end()) tags.erase(it);
    mark(r.partner_index);
  }
  inner_->record(r);
}

DurableRun::DurableRun(const std::string& path, StoreSync sync, CommitEvery every)
    : store_(Store::open(path, {.sync = sync})), every_(every) {
  sink_.store_ = store_.get();
  sink_.next_seq_ = store_->loaded().records + 1;
  if (store_->loaded().created) return;
  auto name = [&](std::string&& text) { return std::string_view(*sink_.names_.insert(std::move(text)).first); };
  // partner_tags has the committed tags, in order (ORDER BY position).
  std::vector<PartnerRow> rows = StoreReader::open(path)->partners();
  for (PartnerRow& row : rows) {
    auto at = static_cast<std::size_t>(row.position);
    if (at >= sink_.tags_.size()) sink_.tags_.resize(at + 1);
    for (StoredTag& t : row.tags)
      sink_.tags_[at].push_back({name(std::move(t.tag)), t.added_at, name(std::move(t.rule)), t.expires_at, t.order});
  }
  sink_.committed_ = sink_.tags_;
}

Sink& DurableRun::sink(Sink& records_out) {
  sink_.inner_ = &records_out;
  return sink_;
}

Engine DurableRun::make_engine(const Program& program, bool backfill, std::optional<Seconds> dedup_window) {
  const std::string& snapshot = store_->loaded().snapshot;
  if (snapshot.empty()) return Engine(program, EngineOptions{.sink = &sink_, .dedup_window = dedup_window});
  return Engine::restore(program, sink_, snapshot,
                         {.backfill = backfill, .changes = &changes_, .dedup_window = dedup_window});
}

std::optional<InputPosition> DurableRun::resume_point(const std::string& events,
                                                      const std::string& fingerprint) const {
  const auto& at = store_->loaded().input;
  if (!at || events == "-" || at->path != events || at->fingerprint != fingerprint) return std::nullopt;
  return *at;
}

void DurableRun::attach(Engine& engine, std::string program_text) {
  engine_ = &engine;
  engine.track_changed_partners();
  program_text_ = std::move(program_text);
}

bool DurableRun::due(std::uint64_t lines_so_far) {
  bool due = lines_so_far - events_at_commit_ >= every_.events ||
             std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_time_).count() >=
                 every_.seconds;
  if (due) events_at_commit_ = lines_so_far;
  return due;
}

void DurableRun::finish(const InputPosition& at) {
  commit(at);
  auto t0 = std::chrono::steady_clock::now();
  store_->flush();
  times_.final_wait += seconds_since(t0);
}

// A partner's metrics and times as they are now.
PartnerRow DurableRun::row(std::uint32_t index) {
  const Engine& e = *engine_;
  PartnerRow row;
  row.partner = std::string(e.partner_id(index));
  row.position = index;
  row.signups = e.partner_metric(index, Metric::signups);
  row.customers = e.partner_metric(index, Metric::customers);
  row.revenue = e.partner_metric(index, Metric::revenue);
  row.sales = e.partner_metric(index, Metric::sales);
  row.clicks = e.partner_metric(index, Metric::clicks);
  row.commissions = e.partner_metric(index, Metric::commissions);
  Engine::PartnerTimes times = e.partner_times(index);
  row.joined_at = times.joined_at;
  row.last_activity = times.last_activity;
  row.last_referral = times.last_referral;
  return row;
}

// Only the difference reaches the store: a tag added and removed between two
// commits writes nothing, and one whose expiry moved is one row.
void DurableRun::tag_changes(std::uint32_t index, bool marked, std::vector<TagChange>& out) {
  if (index >= sink_.tags_.size()) return;
  DurableSink::Tags& now = sink_.tags_[index];
  bool expiry_moved = false;
  for (DurableSink::HeldTag& t : now) {
    std::optional<Seconds> expires = engine_->partner_tag_expiry(index, t.tag);
    expiry_moved |= expires != t.expires_at;
    t.expires_at = expires;
  }
  if (!marked && !expiry_moved) return;
  if (index >= sink_.committed_.size()) sink_.committed_.resize(index + 1);
  DurableSink::Tags& before = sink_.committed_[index];
  std::string_view partner = engine_->partner_id(index);
  auto find = [](const DurableSink::Tags& in, std::string_view tag) {
    return std::find_if(in.begin(), in.end(), [&](const DurableSink::HeldTag& t) { return t.tag == tag; });
  };
  for (const DurableSink::HeldTag& t : before) {
    if (find(now, t.tag) == now.end()) out.push_back({std::string(partner), std::string(t.tag), false, 0, {}, {}, 0});
  }
  for (const DurableSink::HeldTag& t : now) {
    auto was = find(before, t.tag);
    if (was != before.end() && was->order == t.order && was->expires_at == t.expires_at) continue;
    out.push_back({std::string(partner), std::string(t.tag), true, t.added_at, std::string(t.rule), t.expires_at, t.order});
  }
  before = now;
}

void DurableRun::commit(const InputPosition& at) {
  auto t0 = std::chrono::steady_clock::now();
  StoreCommit batch;
  // Partners an event or a timer reached, and partners whose tags changed, in position order.
  std::vector<std::uint32_t> changed = engine_->take_changed_partners();
  std::vector<std::uint32_t> tagged = std::move(sink_.marked_list_);
  sink_.marked_list_.clear();
  std::sort(tagged.begin(), tagged.end());
  std::vector<std::uint32_t> all;
  all.reserve(changed.size() + tagged.size());
  std::set_union(changed.begin(), changed.end(), tagged.begin(), tagged.end(), std::back_inserter(all));
  batch.partners.reserve(all.size());
  for (std::uint32_t n : all) {
    bool marked = n < sink_.marked_.size() && sink_.marked_[n];
    if (marked) sink_.marked_[n] = false;
    batch.partners.push_back(row(n));
    tag_changes(n, marked, batch.tags);
  }
  batch.records = std::move(sink_.records_);
  sink_.records_.clear();
  auto t1 = std::chrono::steady_clock::now();
  batch.snapshot = engine_->snapshot();
  auto t2 = std::chrono::steady_clock::now();
  times_.changes += std::chrono::duration<double>(t1 - t0).count();
  times_.snapshot += std::chrono::duration<double>(t2 - t1).count();
  times_.partner_rows += batch.partners.size();
  times_.tag_changes += batch.tags.size();
  ++times_.commits;
  batch.input = at;
  if (engine_->has_clock()) batch.clock = engine_->clock();
  batch.program = std::move(program_text_);
  program_text_.reset();
  store_->commit(std::move(batch));
  times_.wait += seconds_since(t2);
  // From the end of this commit: one that waited for the writer is not followed at once by another.
  commit_time_ = std::chrono::steady_clock::now();
}

}  // namespace ptag::cli
