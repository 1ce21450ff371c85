#include <fmt/format.h>
#include <filesystem>
#include <map>

#include "passes.hpp"
#include "ptag/catalogue.hpp"
#include "ptag/diagnostic_codes.hpp"
#include "ptag/parser.hpp"

namespace ptag {
namespace fs = std::filesystem;

std::string Unit::rule_name(const ast::Rule& rule) const {
  if (rule.name) return rule.name->value;
  return fmt::format("{}:{}", sources.file(rule.span.file).name, rule.span.line);
}

namespace {

// A file on the current path of imports, and where it was imported.
struct ChainLink {
  std::string key, name;
  Span imported_at;
};

class Loader {
 public:
  explicit Loader(Unit& unit, FileReader read = {}) : unit_(unit), read_(std::move(read)) {
    if (!read_) {
      read_ = [](const std::string& path, std::string& out) {
        return read_file(path, out) && !fs::is_directory(path);
      };
    }
  }

  void load_path(const std::string& path) {
    std::string text;
    if (!read_file(path, text) || fs::is_directory(path)) {
      unit_.diagnostics.error(codes::kReadFile, Span{}, fmt::format("cannot read '{}'", path));
      return;
    }
    load(path, key_of(path), std::move(text), Span{}, {});
  }

  void load_text(std::string name, std::string text) {
    std::string key = key_of(name);
    load(std::move(name), std::move(key), std::move(text), Span{}, {});
  }

 private:
  static std::string key_of(const std::string& path) {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(path, ec);
    return ec ? path : canonical.string();
  }

  // Loads one file and, depth first, what it imports; appends its items to
  // the program order with each import replaced by the imported items.
  void load(std::string name, std::string key, std::string text, Span imported_at,
            std::vector<ChainLink> chain) {
    FileId file = unit_.sources.add(name, std::move(text));
    ParseResult parsed = parse(unit_.sources, file);
    unit_.diagnostics.append(parsed.diagnostics);
    std::size_t index = unit_.modules.size();
    loaded_[key] = index;
    unit_.modules.push_back(std::move(parsed.module));
    chain.push_back({key, name, imported_at});

    for (std::size_t i = 0; i < unit_.modules[index].items.size(); ++i) {
      const auto* import = std::get_if<ast::Import>(&unit_.modules[index].items[i]);
      if (!import) {
        unit_.order.push_back({index, i});
        continue;
      }
      ast::Text path = import->path;  // copied: loading more modules moves the vector
      resolve_import(name, path, chain);
    }
  }

  void resolve_import(const std::string& importer, const ast::Text& path,
                      const std::vector<ChainLink>& chain) {
    std::string text;
    std::string name, key;
    if (path.value.rfind("std/", 0) == 0) {
      const RulePack* pack = find_rule_pack(path.value);
      if (!pack) {
        std::string list;
        for (const RulePack& p : rule_packs())
          list += (list.empty() ? "" : ", ") + std::string(p.name);
        auto& d =
            unit_.diagnostics.error(codes::kImportNotFound, path.span,
                                    fmt::format("there is no standard rule pack '{}'", path.value));
        d.help("the standard packs are: " + list);
        return;
      }
      name = key = path.value;
      text = std::string(pack->text);
    } else {
      fs::path target = fs::path(importer).parent_path() / path.value;
      name = target.lexically_normal().string();
      key = key_of(name);
      if (!loaded_.count(key) && !read_(name, text)) {
        unit_.diagnostics
            .error(codes::kImportNotFound, path.span,
                   fmt::format("cannot find the imported file '{}'", path.value))
            .note(Span{}, fmt::format("looked for '{}'", name));
        return;
      }
    }
    if (auto it = loaded_.find(key); it != loaded_.end())
      unit_.imports.push_back({path.span, unit_.modules[it->second].file});
    for (std::size_t i = 0; i < chain.size(); ++i) {
      if (chain[i].key != key) continue;
      auto& d = unit_.diagnostics.error(
          codes::kImportCycle, path.span,
          fmt::format("'{}' imports itself through a cycle of imports", path.value));
      for (std::size_t j = i + 1; j < chain.size(); ++j) {
        d.note(chain[j].imported_at, fmt::format("'{}' is imported here", chain[j].name));
      }
      return;
    }
    if (loaded_.count(key)) return;  // already part of the program
    FileId file = static_cast<FileId>(unit_.sources.size());
    load(name, key, std::move(text), path.span, chain);
    unit_.imports.push_back({path.span, file});
  }

  Unit& unit_;
  FileReader read_;
  std::map<std::string, std::size_t> loaded_;
};

}  // namespace

Unit load_files(const std::vector<std::string>& paths) {
  Unit unit;
  Loader loader(unit);
  for (const std::string& path : paths) loader.load_path(path);
  return unit;
}

Unit load_text(std::string name, std::string text, const FileReader& read) {
  Unit unit;
  Loader(unit, read).load_text(std::move(name), std::move(text));
  return unit;
}

Unit load_texts(const std::vector<SourceFile>& files) {
  Unit unit;
  Loader loader(unit);
  for (const SourceFile& f : files) loader.load_text(f.name, f.text);
  return unit;
}

void check(Unit& unit) {
  if (unit.diagnostics.has_errors()) return;  // syntax or import errors: the tree is partial
  std::set<std::string> used_constants;
  passes::check_names(unit, used_constants);
  passes::check_guards(unit);
  passes::check_program(unit, used_constants);
  passes::check_tests(unit);
  unit.diagnostics.sort();
}

}  // namespace ptag
