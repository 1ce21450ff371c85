// ptag diff OLD.ptag NEW.ptag --events FILE [--until TIME] [--format text|json]:
// what would change if NEW had been running instead of OLD over that history.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <set>

#include "commands.hpp"
#include "ptag/compiler.hpp"
#include "ptag/engine.hpp"
#include "ptag/event_batch.hpp"
#include "ptag/event_source.hpp"
#include "ptag/string_map.hpp"
#include "ptag/text.hpp"

namespace ptag::cli {
namespace {

struct Options {
  std::string old_rules, new_rules, events, until, format = "text";
};

struct TagChange {
  std::string tag;
  std::size_t old_count = 0, new_count = 0;
  std::vector<std::string_view> gained, lost;  // partners, in order of first appearance
};

constexpr std::size_t kSamples = 5;

std::string samples(const std::vector<std::string_view>& ids) {
  std::string out;
  for (std::size_t i = 0; i < std::min(ids.size(), kSamples); ++i) out += (i ? ", " : "") + std::string(ids[i]);
  if (ids.size() > kSamples) out += ", ...";
  return out;
}

std::string json_samples(const std::vector<std::string_view>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < std::min(ids.size(), kSamples); ++i) out += (i ? "," : "") + json_quote(ids[i]);
  return out + "]";
}

// Every tag either program can hold, or a partner holds: NEW's tags in its
// order, then those only OLD has.
std::vector<TagChange> compare(const Engine& before, const Engine& after, const Program& old_program,
                               const Program& new_program) {
  std::vector<TagChange> changes;
  StringMap<std::size_t> index;
  auto slot = [&](std::string_view tag) -> TagChange& {
    auto it = index.find(tag);
    if (it != index.end()) return changes[it->second];
    index.emplace(std::string(tag), changes.size());
    changes.emplace_back().tag = tag;
    return changes.back();
  };
  for (const std::string& t : new_program.tags) slot(t);
  for (const std::string& t : old_program.tags) slot(t);
  // Both engines saw the same events, so they know the same partners in the same order.
  for (std::size_t i = 0; i < after.partner_count(); ++i) {
    std::string_view id = after.partner_id(i);
    std::vector<std::string_view> now = after.partner_tags(i), was;
    if (std::optional<std::size_t> j = before.find_partner(id)) was = before.partner_tags(*j);
    std::set<std::string_view> was_set(was.begin(), was.end()), now_set(now.begin(), now.end());
    for (std::string_view t : was) {
      TagChange& c = slot(t);
      ++c.old_count;
      if (!now_set.count(t)) c.lost.push_back(id);
    }
    for (std::string_view t : now) {
      TagChange& c = slot(t);
      ++c.new_count;
      if (!was_set.count(t)) c.gained.push_back(id);
    }
  }
  return changes;
}

int diff(const Options& o) {
  std::optional<Seconds> until;
  if (!o.until.empty() && !(until = parse_time(o.until, true))) {
    std::fprintf(stderr, "ptag diff: --until '%s' is not an RFC 3339 time\n", o.until.c_str());
    return kUsage;
  }
  Unit old_unit = compile_files({o.old_rules}), new_unit = compile_files({o.new_rules});
  print_diagnostics(old_unit.diagnostics, old_unit.sources);
  print_diagnostics(new_unit.diagnostics, new_unit.sources);
  if (old_unit.diagnostics.has_errors() || new_unit.diagnostics.has_errors()) {
    std::fprintf(stderr, "ptag diff: the rule files have errors: nothing ran\n");
    return kFailed;
  }
  Program old_program = lower(old_unit), new_program = lower(new_unit);
  bool from_stdin = o.events == "-";
  std::FILE* in = from_stdin ? stdin : std::fopen(o.events.c_str(), "rb");
  if (!in) {
    std::fprintf(stderr, "ptag diff: cannot read events from '%s'\n", o.events.c_str());
    return kUsage;
  }
  Engine before(old_program, EngineOptions{}), after(new_program, EngineOptions{});
  {
    JsonlSource source(in);
    EventBatch batch;
    Event event;
    std::string error;
    std::vector<Rejection> rejected;
    std::string name = from_stdin ? "stdin" : o.events;
    auto push = [&] {
      before.push(batch.events());
      rejected.clear();
      after.push(batch.events(), &rejected);  // validity does not depend on the rules
      for (const Rejection& r : rejected)
        std::fprintf(stderr, "%s:%zu: %s\n", name.c_str(), batch.line(r.index), r.why.c_str());
      batch.clear();
    };
    for (EventSource::Status got; (got = source.next(event, error)) != EventSource::Status::end;) {
      if (got == EventSource::Status::event) batch.add(event, source.line());
      if (got == EventSource::Status::bad_line || batch.size() == 256) push();
      if (got == EventSource::Status::bad_line)
        std::fprintf(stderr, "%s:%zu: %s\n", name.c_str(), source.line(), error.c_str());
    }
    push();
  }
  if (!from_stdin) std::fclose(in);
  if (until) {
    before.advance_to(*until);
    after.advance_to(*until);
  }
  std::string out;
  if (o.format == "text") {
    out += fmt::format("{:<24} {:>8} {:>8} {:>8} {:>8}\n", "tag", "old", "new", "gained", "lost");
  }
  for (const TagChange& c : compare(before, after, old_program, new_program)) {
    if (o.format == "json") {
      out += fmt::format(
          "{{\"tag\":{},\"old\":{},\"new\":{},\"gained\":{},\"lost\":{},\"sample_gained\":{},\"sample_lost\":{}}}\n",
          json_quote(c.tag), c.old_count, c.new_count, c.gained.size(), c.lost.size(),
          json_samples(c.gained), json_samples(c.lost));
      continue;
    }
    out += fmt::format("{:<24} {:>8} {:>8} {:>8} {:>8}", json_quote(c.tag), c.old_count, c.new_count,
                       "+" + std::to_string(c.gained.size()), "-" + std::to_string(c.lost.size()));
    if (!c.gained.empty()) out += "  gained: " + samples(c.gained);
    if (!c.lost.empty()) out += (c.gained.empty() ? "  lost: " : "; lost: ") + samples(c.lost);
    out += "\n";
  }
  std::fputs(out.c_str(), stdout);
  return kOk;
}

}  // namespace

Run add_diff(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("old", o->old_rules, "The rule file running now")->required()->check(CLI::ExistingFile);
  app.add_option("new", o->new_rules, "The rule file to compare it with")->required()->check(CLI::ExistingFile);
  app.add_option("--events", o->events, "JSONL events, the history to run both over; - for stdin")->required();
  app.add_option("--until", o->until, "After the events, fire the timers due up to this time (RFC 3339)");
  app.add_option("--format", o->format, "text (a table) or json (one object per tag)")
      ->check(CLI::IsMember({"text", "json"}));
  app.footer(
      "For each tag: how many partners hold it at the end under each program, how many gained and "
      "lost it, and up to five of each.\n"
      "JSON: {\"tag\",\"old\",\"new\",\"gained\",\"lost\",\"sample_gained\",\"sample_lost\"} per line.\n"
      "Exit status: 0; 1 when a rule file has errors; 2 on usage errors.\n"
      "Example:\n  ptag diff tiers.ptag tiers-new.ptag --events history.jsonl --until 2027-01-01");
  return [o] { return diff(*o); };
}

}  // namespace ptag::cli
