// What `ptag lsp` knows about open rule files, without JSON: the open
// documents, their programs (imports resolved, checked by the compiler), and
// the answers to an editor's questions. Positions are the protocol's: 0-based
// lines and UTF-16 code units.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ptag::lsp {

struct Position {
  std::uint32_t line = 0;
  std::uint32_t character = 0;  // UTF-16 code units
  bool operator==(const Position&) const = default;
};

struct Range {
  Position start, end;
  bool operator==(const Range&) const = default;
};

// Byte offsets of one text to protocol positions and back. A position past
// the end of its line means the line's end; past the last line, the text's end.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  Position position(std::size_t offset) const;
  std::size_t offset(Position p) const;
  Range range(std::size_t offset, std::size_t length) const;

 private:
  std::string_view text_;
  std::vector<std::size_t> starts_;  // byte offset of each line
};

// file:///a%20b/x.ptag <-> /a b/x.ptag. An URI of another scheme has no path ("").
std::string uri_to_path(std::string_view uri);
std::string path_to_uri(std::string_view path);

struct Location {
  std::string uri;
  Range range;
  bool operator==(const Location&) const = default;
};

struct RelatedInfo {
  Location location;
  std::string message;
};

struct FileDiagnostic {
  Range range;
  bool error = true;  // else a warning
  std::string code;
  std::string message;  // the checker's message, its help lines below it
  std::vector<RelatedInfo> related;
};

struct FileDiagnostics {
  std::string uri;
  std::optional<int> version;
  std::vector<FileDiagnostic> diagnostics;
};

struct Hover {
  std::string markdown;
  Range range;
};

enum class CompletionKind : std::uint8_t { keyword, trigger, metric, tag, constant, unit, snippet };

struct CompletionItem {
  std::string label;
  CompletionKind kind = CompletionKind::keyword;
  std::string detail;
  std::string documentation;
  std::string insert_text;      // the label when empty
  bool snippet = false;         // insert_text uses $1 placeholders
  std::optional<Range> replace;  // the text the item replaces (inside a string)
};

enum class SymbolKind : std::uint8_t { rule, test, constant, group, tag };

struct Symbol {
  std::string name;
  std::string detail;
  SymbolKind kind = SymbolKind::rule;
  Range range;      // the whole item
  Range selection;  // its name
  std::vector<Symbol> children;
};

struct TextEdit {
  Range range;
  std::string text;
};

struct CodeAction {
  std::string title;
  std::string uri;
  TextEdit edit;
  FileDiagnostic diagnostic;  // the one it fixes
};

// A formatting answer: the edits, or why there are none.
struct FormatResult {
  std::vector<TextEdit> edits;
  std::string error;  // not empty: the file cannot be formatted
};

class Workspace {
 public:
  Workspace();
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // The folder relative names and unnamed rules' FILE:LINE are taken from.
  void set_root(std::string directory);

  void open(const std::string& uri, std::string text, int version);
  // Full text sync: the whole new text. False when the document is not open.
  bool change(const std::string& uri, std::string text, int version);
  void close(const std::string& uri);
  bool is_open(const std::string& uri) const;

  // Re-checks the programs of the open documents.
  void analyze();
  // The diagnostics of every open document (empty lists included), from the
  // last analyze(); then the documents closed since, with empty lists.
  std::vector<FileDiagnostics> diagnostics();

  std::optional<Hover> hover(const std::string& uri, Position p) const;
  std::vector<Location> definition(const std::string& uri, Position p) const;
  std::vector<Location> references(const std::string& uri, Position p,
                                   bool include_declaration) const;
  std::vector<Symbol> symbols(const std::string& uri) const;
  std::vector<CompletionItem> completion(const std::string& uri, Position p) const;
  std::vector<CodeAction> code_actions(const std::string& uri, Range range) const;
  FormatResult format(const std::string& uri) const;

  struct State;  // documents and programs (in analysis.cpp)

 private:
  std::unique_ptr<State> state_;
};

}  // namespace ptag::lsp
