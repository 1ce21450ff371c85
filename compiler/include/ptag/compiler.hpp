// Loading rule files (with their imports) and checking them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ptag/ast.hpp"
#include "ptag/program.hpp"
#include "ptag/diagnostic.hpp"
#include "ptag/source.hpp"

namespace ptag {

// One item of the program, by module and position.
struct ItemRef {
  std::size_t module = 0;
  std::size_t item = 0;
};

// An import statement and the file it loaded (also when that file was loaded before).
struct ImportLink {
  Span at;  // the imported path, quotes included
  FileId file = kNoFile;
};

// Every file of one program and the order its items take effect in: files in
// command-line order, an import replaced by the imported file's items where it
// first appears (a file is loaded once, however often it is imported).
struct Unit {
  SourceSet sources;
  std::vector<ast::Module> modules;
  std::vector<ItemRef> order;
  std::vector<ImportLink> imports;
  Diagnostics diagnostics;

  const ast::Item& item(ItemRef r) const { return modules[r.module].items[r.item]; }
  template <typename T>
  std::vector<const T*> all() const {
    std::vector<const T*> out;
    for (ItemRef r : order) {
      if (const T* x = std::get_if<T>(&item(r))) out.push_back(x);
    }
    return out;
  }
  // A rule's name in records: its `rule "NAME"`, else FILE:LINE.
  std::string rule_name(const ast::Rule& rule) const;
};

// Reads, parses and loads imports; syntax and import errors go to diagnostics.
Unit load_files(const std::vector<std::string>& paths);
// Reads an imported file; false when it cannot (a missing file, a directory).
using FileReader = std::function<bool(const std::string& path, std::string& out)>;
// The same for one in-memory file (imports resolve relative to `name`); an
// editor passes `read` to see its unsaved buffers and to resolve relative names.
Unit load_text(std::string name, std::string text, const FileReader& read = {});
// Several in-memory files as one program, in this order.
Unit load_texts(const std::vector<SourceFile>& files);

// Runs every check pass on a loaded unit (when it has no syntax errors).
void check(Unit& unit);

// Lowers a checked unit without errors to bytecode and tables.
Program lower(const Unit& unit);

// A guard compiled on its own against a program's tags (a segment query):
// its code starts at pc 0. `program` is empty when there are errors.
struct SegmentResult {
  SourceSet sources;
  Diagnostics diagnostics;
  std::optional<Program> program;
};
SegmentResult compile_segment(const Program& base, std::string_view expression);

// load + check.
inline Unit compile_files(const std::vector<std::string>& paths) {
  Unit unit = load_files(paths);
  check(unit);
  return unit;
}

}  // namespace ptag
