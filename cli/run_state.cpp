#include "run_state.hpp"

#include <algorithm>
#include <cstring>

namespace ptag::cli {

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

void DurableSink::record(const ChangeRecord& r) {
  records.push_back(StoredRecord::from(r));
  changed.emplace(r.partner);
  inner_.record(r);
}

DurableRun::DurableRun(const std::string& path, StoreSync sync, CommitEvery every)
    : store_(Store::open(path, {.sync = sync})), every_(every) {
  if (store_->loaded().created) return;
  for (PartnerRow& row : StoreReader::open(path)->partners()) tags_[row.partner] = std::move(row.tags);
}

Engine DurableRun::make_engine(const Program& program, Sink& sink, bool backfill,
                               std::optional<Seconds> dedup_window) {
  const std::string& snapshot = store_->loaded().snapshot;
  if (snapshot.empty()) return Engine(program, EngineOptions{.sink = &sink, .dedup_window = dedup_window});
  return Engine::restore(program, sink, snapshot,
                         {.backfill = backfill, .changes = &changes_, .dedup_window = dedup_window});
}

std::optional<InputPosition> DurableRun::resume_point(const std::string& events,
                                                      const std::string& fingerprint) const {
  const auto& at = store_->loaded().input;
  if (!at || events == "-" || at->path != events || at->fingerprint != fingerprint) return std::nullopt;
  return *at;
}

void DurableRun::attach(Engine& engine, DurableSink& sink, std::string program_text) {
  engine_ = &engine;
  sink_ = &sink;
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
  store_->flush();
}

PartnerRow DurableRun::row(std::size_t index, const std::string& id) {
  const Engine& e = *engine_;
  PartnerRow row;
  row.partner = id;
  row.position = static_cast<std::int64_t>(index);
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
  row.tags = tags_[id];
  for (StoredTag& t : row.tags) t.expires_at = e.partner_tag_expiry(index, t.tag);
  return row;
}

void DurableRun::commit(const InputPosition& at) {
  commit_time_ = std::chrono::steady_clock::now();
  StoreCommit batch;
  // The records say since when and by which rule a partner has each tag.
  for (const StoredRecord& r : sink_->records) {
    if (r.action == RecordAction::emit) continue;
    auto& tags = tags_[r.partner];
    auto it = std::find_if(tags.begin(), tags.end(), [&](const StoredTag& t) { return t.tag == r.tag; });
    if (r.action == RecordAction::add && it == tags.end()) tags.push_back({r.tag, r.time, r.rule, {}});
    if (r.action == RecordAction::remove && it != tags.end()) tags.erase(it);
  }
  for (const std::string& id : sink_->changed) {
    if (std::optional<std::size_t> index = engine_->find_partner(id)) batch.partners.push_back(row(*index, id));
  }
  std::sort(batch.partners.begin(), batch.partners.end(),
            [](const PartnerRow& a, const PartnerRow& b) { return a.position < b.position; });
  batch.records = std::move(sink_->records);
  sink_->records.clear();
  sink_->changed.clear();
  batch.snapshot = engine_->snapshot();
  batch.input = at;
  if (engine_->has_clock()) batch.clock = engine_->clock();
  batch.program = std::move(program_text_);
  program_text_.reset();
  store_->commit(std::move(batch));
}

}  // namespace ptag::cli
