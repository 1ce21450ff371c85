// The workspace's insides, shared by the analysis files: open documents,
// the programs they belong to, and every name written in those programs.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ptag/compiler.hpp"
#include "ptag/lsp_analysis.hpp"

namespace ptag::lsp {

struct Document {
  std::string uri;
  std::string path;  // absolute; "" for an URI that is not a file
  std::string name;  // as the compiler sees it: relative to the root when inside it
  std::string text;
  int version = 0;
};

// What a name written in a rule file is.
enum class What : std::uint8_t {
  trigger,        // the word after `on`
  metric,         // revenue, in a guard, a milestone or a test
  builtin,        // days_since_join
  constant_decl,  // let NAME
  constant_use,
  duration,       // 30d
  tag,            // "VIP" in add, remove, tagged, tag_added, exclusive, tests
  notification,   // emit "NAME"
  custom_event,   // event "NAME"
  event_field,    // event.FIELD
  partner_field,  // partner.FIELD
  rule_decl,      // rule "NAME", and the `on` of every rule
  rule_ref,       // by "NAME" in a test's expected records
  import,         // the path of an import
  currency,       // currency "EUR"
  timezone,       // timezone "Europe/Berlin"
};

enum class TagUse : std::uint8_t { other, added, removed, watched_added, watched_removed, group };

struct Occurrence {
  What what = What::tag;
  Span span;
  std::string text;                     // the name, tag, rule name or path
  const ast::Rule* rule = nullptr;      // the rule it is written in
  const ast::Duration* duration = nullptr;
  TagUse use = TagUse::other;
  FileId target = kNoFile;  // an import's file
};

// One program: a root document and what it imports, checked.
struct Program {
  Unit unit;
  std::vector<std::string> uris;  // per file: its URI, "" for a rule pack
  std::vector<LineIndex> lines;   // per file
  std::vector<Occurrence> occurrences;
  std::map<std::string, const ast::Rule*> rules_by_name;

  Location location(const Span& span) const;
  std::string place(const Span& span) const;  // "tiers.ptag:3"
  std::size_t offset_in(FileId file, Position p) const { return lines.at(file).offset(p); }
};

struct Workspace::State {
  std::string root;                      // absolute, or "" (the current folder)
  std::map<std::string, Document> docs;  // by URI
  std::vector<std::string> open_order;
  std::vector<std::unique_ptr<Program>> programs;
  struct Where {
    const Program* program = nullptr;
    FileId file = kNoFile;
  };
  std::map<std::string, Where> where;  // by URI, from the last analyze()
  std::set<std::string> closed;        // since the last diagnostics()

  const Document* doc(const std::string& uri) const;
  Where find(const std::string& uri) const;
  std::string name_for(const std::string& path, const std::string& uri) const;
  std::string absolute(const std::string& name) const;
  std::unique_ptr<Program> build(const Document& doc) const;
};

// A checker's diagnostic as the editor shows it, placed at `at`; its help lines join the message.
FileDiagnostic convert(const Program& p, const Diagnostic& d, const Span& at);
// Every name written in the program's files.
std::vector<Occurrence> collect_occurrences(const Unit& unit);
// The innermost occurrence at `offset` of `file`, or nullptr.
const Occurrence* occurrence_at(const Program& program, FileId file, std::size_t offset);
// A span narrowed to the first string literal inside it (`tagged "VIP"` -> `"VIP"`).
Span string_in(const Unit& unit, const Span& span);
// "on inactive 30d when ...": a rule's trigger and guard as `ptag fmt` writes them.
std::string trigger_text(const ast::Rule& rule);
// Completion (completion.cpp).
std::vector<CompletionItem> complete(const Program* program, FileId file, std::string_view text,
                                     std::size_t offset, const LineIndex& lines);

}  // namespace ptag::lsp
