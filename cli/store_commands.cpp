// ptag tags / why / query --state DB: reading a store, also while a run
// writes it (each command sees the last commit).
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "ptag/compiler.hpp"
#include "ptag/engine.hpp"
#include "ptag/store.hpp"
#include "ptag/text.hpp"
#include "run_state.hpp"

namespace ptag::cli {
namespace {

std::unique_ptr<StoreReader> open_store(const char* command, const std::string& path) {
  try {
    return StoreReader::open(path);
  } catch (const StoreError& e) {
    std::fprintf(stderr, "ptag %s: %s\n", command, e.what());
    return nullptr;
  }
}

std::string tags_line(const PartnerRow& row) {
  std::string line = "{\"partner\":" + json_quote(row.partner) + ",\"tags\":[";
  for (std::size_t t = 0; t < row.tags.size(); ++t) line += (t ? "," : "") + json_quote(row.tags[t].tag);
  return line + "]}\n";
}

void add_state_option(CLI::App& app, std::string& state) {
  app.add_option("--state", state, "The store a `ptag run --state` wrote")->required();
}

}  // namespace

Run add_tags(CLI::App& app) {
  struct Options {
    std::string state;
    std::vector<std::string> partners;
  };
  auto o = std::make_shared<Options>();
  add_state_option(app, o->state);
  app.add_option("partners", o->partners, "Partner ids (default: every partner)");
  app.footer(
      "Prints current tags as --tags-out does: {\"partner\",\"tags\"} per line, partners in order "
      "of first appearance, or in the order named.\n"
      "Exit status: 0; 1 when the store cannot be read or a named partner is not in it.\n"
      "Example:\n  ptag tags --state tags.db p-42 p-7");
  return [o] {
    auto store = open_store("tags", o->state);
    if (!store) return kFailed;
    if (o->partners.empty()) {
      for (const PartnerRow& row : store->partners()) std::fputs(tags_line(row).c_str(), stdout);
      return kOk;
    }
    int status = kOk;
    auto rows = store->partners(o->partners);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i]) {
        std::fputs(tags_line(*rows[i]).c_str(), stdout);
      } else {
        std::fprintf(stderr, "ptag tags: no partner %s in the store '%s'\n",
                     json_quote(o->partners[i]).c_str(), o->state.c_str());
        status = kFailed;
      }
    }
    return status;
  };
}

Run add_why(CLI::App& app) {
  struct Options {
    std::string state, partner, tag;
  };
  auto o = std::make_shared<Options>();
  add_state_option(app, o->state);
  app.add_option("partner", o->partner, "The partner's id")->required();
  app.add_option("tag", o->tag, "The tag")->required();
  app.footer(
      "Prints the records that added and removed the tag for the partner, oldest first, as "
      "JSONL records, then one line saying whether the partner has it now.\n"
      "Exit status: 0; 1 when the store cannot be read or the partner is not in it.\n"
      "Example:\n  ptag why --state tags.db p-42 VIP");
  return [o] {
    auto store = open_store("why", o->state);
    if (!store) return kFailed;
    auto rows = store->partners({o->partner});
    if (!rows[0]) {
      std::fprintf(stderr, "ptag why: no partner %s in the store '%s'\n", json_quote(o->partner).c_str(),
                   o->state.c_str());
      return kFailed;
    }
    std::string out;
    for (const StoredRecord& s : store->records(o->partner, o->tag)) {
      ChangeRecord r = s.view();
      append_record_json(out, r);
    }
    const StoredTag* now = nullptr;
    for (const StoredTag& t : rows[0]->tags)
      if (t.tag == o->tag) now = &t;
    if (now) {
      out += json_quote(o->partner) + " has " + json_quote(o->tag) + " now: since " +
             format_time(now->added_at) + ", by rule " + json_quote(now->rule);
      if (now->expires_at) out += ", until " + format_time(*now->expires_at);
      out += "\n";
    } else {
      out += json_quote(o->partner) + " does not have " + json_quote(o->tag) + " now\n";
    }
    std::fputs(out.c_str(), stdout);
    return kOk;
  };
}

Run add_query(CLI::App& app) {
  struct Options {
    std::string state, expression;
    bool count = false;
  };
  auto o = std::make_shared<Options>();
  add_state_option(app, o->state);
  app.add_option("expression", o->expression,
                 "A guard over tags, metrics, days_since_* and partner attributes")
      ->required();
  app.add_flag("--count", o->count, "Print the number of partners only");
  app.footer(
      "Prints the partners (one id per line, in order of first appearance) for which the "
      "expression is true at the store's clock.\n"
      "Exit status: 0; 1 when the store cannot be read or the expression has errors.\n"
      "Examples:\n"
      "  ptag query --state tags.db 'tagged \"VIP\" and not tagged \"Inactive\" and revenue > 1000'\n"
      "  ptag query --state tags.db --count 'days_since_activity >= 30'");
  return [o] {
    auto store = open_store("query", o->state);
    if (!store) return kFailed;
    StoreContents contents = store->contents();
    std::vector<SourceFile> files = decode_program(contents.program.value_or(""));
    if (files.empty()) {
      std::fprintf(stderr, "ptag query: the store '%s' holds no program yet\n", o->state.c_str());
      return kFailed;
    }
    Unit unit = load_texts(files);
    check(unit);
    if (unit.diagnostics.has_errors()) {
      print_diagnostics(unit.diagnostics, unit.sources);
      std::fprintf(stderr, "ptag query: the rules of the store '%s' no longer compile (an import changed?)\n",
                   o->state.c_str());
      return kFailed;
    }
    Program program = lower(unit);
    SegmentResult query = compile_segment(program, o->expression);
    if (!query.program) {
      print_diagnostics(query.diagnostics, query.sources);
      return kFailed;
    }
    try {
      Engine engine = restore_stored(*store, contents, program);
      std::vector<std::size_t> found = engine.segment(*query.program);
      if (o->count) {
        std::printf("%zu\n", found.size());
      } else {
        std::string out;
        for (std::size_t i : found) out += std::string(engine.partner_id(i)) + "\n";
        std::fputs(out.c_str(), stdout);
      }
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "ptag query: the store '%s': %s\n", o->state.c_str(), e.what());
      return kFailed;
    }
    return kOk;
  };
}

}  // namespace ptag::cli
