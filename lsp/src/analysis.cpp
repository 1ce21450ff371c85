// Positions, URIs, open documents and their programs, diagnostics.
#include <fmt/format.h>
#include <algorithm>
#include <filesystem>
#include <variant>

#include "ptag/catalogue.hpp"
#include "ptag/format.hpp"
#include "ptag/text.hpp"
#include "state.hpp"

namespace ptag::lsp {
namespace fs = std::filesystem;

// ---- positions ----

LineIndex::LineIndex(std::string_view text) : text_(text) {
  starts_.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') starts_.push_back(i + 1);
  }
}

// UTF-16 code units of the UTF-8 character that starts with `lead` (0 for a continuation byte).
static std::uint32_t utf16_units(unsigned char lead) {
  if ((lead & 0xC0) == 0x80) return 0;
  return lead >= 0xF0 ? 2 : 1;
}

Position LineIndex::position(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  std::size_t line = static_cast<std::size_t>(it - starts_.begin()) - 1;
  std::uint32_t units = 0;
  for (std::size_t i = starts_[line]; i < offset; ++i) {
    units += utf16_units(static_cast<unsigned char>(text_[i]));
  }
  return {static_cast<std::uint32_t>(line), units};
}

std::size_t LineIndex::offset(Position p) const {
  if (p.line >= starts_.size()) return text_.size();
  std::size_t end = p.line + 1 < starts_.size() ? starts_[p.line + 1] - 1 : text_.size();
  if (end > starts_[p.line] && text_[end - 1] == '\r' && end < text_.size()) --end;
  std::size_t i = starts_[p.line];
  std::uint32_t units = 0;
  while (i < end) {
    std::size_t next = i + 1;
    while (next < end && (static_cast<unsigned char>(text_[next]) & 0xC0) == 0x80) ++next;
    std::uint32_t width = std::max<std::uint32_t>(1, utf16_units(static_cast<unsigned char>(text_[i])));
    if (units + width > p.character) break;  // also inside a surrogate pair: its start
    units += width;
    i = next;
  }
  return i;
}

Range LineIndex::range(std::size_t offset, std::size_t length) const {
  return {position(offset), position(offset + length)};
}

// ---- URIs ----

std::string uri_to_path(std::string_view uri) {
  constexpr std::string_view kScheme = "file://";
  if (uri.substr(0, kScheme.size()) != kScheme) return {};
  uri.remove_prefix(kScheme.size());
  std::size_t slash = uri.find('/');
  if (slash == std::string_view::npos) return {};
  std::string_view host = uri.substr(0, slash);
  if (!host.empty() && host != "localhost") return {};
  uri.remove_prefix(slash);
  std::string out;
  for (std::size_t i = 0; i < uri.size(); ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (uri[i] == '%' && i + 2 < uri.size() && hex(uri[i + 1]) >= 0 && hex(uri[i + 2]) >= 0) {
      out += static_cast<char>(hex(uri[i + 1]) * 16 + hex(uri[i + 2]));
      i += 2;
    } else if (uri[i] == '?' || uri[i] == '#') {
      break;
    } else {
      out += uri[i];
    }
  }
  return out;
}

std::string path_to_uri(std::string_view path) {
  std::string out = "file://";
  for (char c : path) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("-._~/").find(c) != std::string_view::npos;
    out += plain ? std::string(1, c) : fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

// ---- programs ----

Location Program::location(const Span& span) const {
  if (!span.valid() || span.file >= uris.size()) return {};
  return {uris[span.file], lines[span.file].range(span.offset, span.length)};
}

std::string Program::place(const Span& span) const {
  if (!span.valid()) return {};
  return fmt::format("{}:{}", unit.sources.file(span.file).name, span.line);
}

const Document* Workspace::State::doc(const std::string& uri) const {
  auto it = docs.find(uri);
  return it == docs.end() ? nullptr : &it->second;
}

Workspace::State::Where Workspace::State::find(const std::string& uri) const {
  auto it = where.find(uri);
  return it == where.end() ? Where{} : it->second;
}

std::string Workspace::State::absolute(const std::string& name) const {
  fs::path p(name);
  if (p.is_relative() && !root.empty()) p = fs::path(root) / p;
  std::error_code ec;
  if (p.is_relative()) p = fs::absolute(p, ec);
  return p.lexically_normal().string();
}

std::string Workspace::State::name_for(const std::string& path, const std::string& uri) const {
  if (path.empty()) return uri;
  if (!root.empty()) {
    fs::path relative = fs::path(path).lexically_relative(root);
    if (!relative.empty() && *relative.begin() != "..") return relative.string();
  }
  return path;
}

std::unique_ptr<Program> Workspace::State::build(const Document& d) const {
  auto program = std::make_unique<Program>();
  // Imported files: an open document's text (saved or not), else the disk.
  FileReader read = [this](const std::string& name, std::string& out) {
    std::string path = absolute(name);
    for (const auto& [uri, other] : docs) {
      if (other.path == path) {
        out = other.text;
        return true;
      }
    }
    std::error_code ec;
    return read_file(path, out) && !fs::is_directory(path, ec);
  };
  program->unit = load_text(d.name, d.text, read);
  check(program->unit);
  const SourceSet& sources = program->unit.sources;
  for (FileId f = 0; f < sources.size(); ++f) {
    const SourceFile& file = sources.file(f);
    program->lines.emplace_back(file.text);
    const RulePack* pack = find_rule_pack(file.name);
    if (f == 0) {
      program->uris.push_back(d.uri);
    } else if (pack && pack->text == file.text) {
      program->uris.emplace_back();
    } else {
      std::string path = absolute(file.name), uri = path_to_uri(path);
      for (const auto& [other_uri, other] : docs) {
        if (other.path == path) uri = other_uri;  // the client's spelling
      }
      program->uris.push_back(uri);
    }
  }
  program->occurrences = collect_occurrences(program->unit);
  for (const ast::Rule* rule : program->unit.all<ast::Rule>()) {
    program->rules_by_name.emplace(program->unit.rule_name(*rule), rule);
  }
  return program;
}

// ---- the workspace ----

Workspace::Workspace() : state_(std::make_unique<State>()) {}
Workspace::~Workspace() = default;

void Workspace::set_root(std::string directory) {
  state_->root = directory.empty() ? directory : fs::path(directory).lexically_normal().string();
  if (state_->root.size() > 1 && state_->root.back() == '/') state_->root.pop_back();
}

void Workspace::open(const std::string& uri, std::string text, int version) {
  Document d;
  d.uri = uri;
  d.path = uri_to_path(uri);
  if (!d.path.empty()) d.path = fs::path(d.path).lexically_normal().string();
  d.name = state_->name_for(d.path, uri);
  d.text = std::move(text);
  d.version = version;
  if (!state_->docs.count(uri)) state_->open_order.push_back(uri);
  state_->docs[uri] = std::move(d);
  state_->closed.erase(uri);
}

bool Workspace::change(const std::string& uri, std::string text, int version) {
  auto it = state_->docs.find(uri);
  if (it == state_->docs.end()) return false;
  it->second.text = std::move(text);
  it->second.version = version;
  return true;
}

void Workspace::close(const std::string& uri) {
  if (!state_->docs.erase(uri)) return;
  state_->where.erase(uri);  // its answers end now, not at the next analyze()
  auto& order = state_->open_order;
  order.erase(std::remove(order.begin(), order.end(), uri), order.end());
  state_->closed.insert(uri);
}

bool Workspace::is_open(const std::string& uri) const {
  return state_->docs.count(uri) > 0;
}

void Workspace::analyze() {
  State& s = *state_;
  s.programs.clear();
  s.where.clear();
  // Each open document's own program; a document another open document
  // imports is checked as part of that program (its constants and tags count).
  std::vector<std::unique_ptr<Program>> own;
  for (const std::string& uri : s.open_order) own.push_back(s.build(s.docs.at(uri)));
  auto contains = [&](const Program& p, const std::string& uri) {
    return std::find(p.uris.begin(), p.uris.end(), uri) != p.uris.end();
  };
  std::vector<bool> imported(own.size(), false);
  for (std::size_t i = 0; i < own.size(); ++i) {
    for (std::size_t j = 0; j < own.size(); ++j) {
      const std::string& ui = s.open_order[i];
      const std::string& uj = s.open_order[j];
      if (i != j && contains(*own[j], ui) && !contains(*own[i], uj)) imported[i] = true;
    }
  }
  auto adopt = [&](std::size_t i) {
    Program* p = own[i].get();
    for (FileId f = 0; f < p->uris.size(); ++f) {
      if (s.docs.count(p->uris[f]) && !s.where.count(p->uris[f])) s.where[p->uris[f]] = {p, f};
    }
    s.programs.push_back(std::move(own[i]));
  };
  for (std::size_t i = 0; i < own.size(); ++i) {
    if (!imported[i]) adopt(i);
  }
  for (std::size_t i = 0; i < own.size(); ++i) {
    if (own[i] && !s.where.count(s.open_order[i])) adopt(i);
  }
}

FileDiagnostic convert(const Program& p, const Diagnostic& d, const Span& at) {
  FileDiagnostic out;
  out.range = p.lines.at(at.file).range(at.offset, at.length);
  out.error = d.severity == Severity::error;
  out.code = std::string(d.code);
  out.message = d.message;
  for (const DiagnosticNote& n : d.notes) {
    Location where = p.location(n.span);
    if (n.span.valid() && !where.uri.empty()) {
      out.related.push_back({where, n.message});
    } else {
      out.message += "\n" + n.message;
    }
  }
  return out;
}

std::vector<FileDiagnostics> Workspace::diagnostics() {
  State& s = *state_;
  std::map<std::string, FileDiagnostics> by_uri;
  for (const auto& [uri, where] : s.where) {
    by_uri[uri] = {uri, s.docs.at(uri).version, {}};
  }
  for (const auto& program : s.programs) {
    const Program& p = *program;
    // The import statements of open files, to report what is wrong in files that are not open.
    std::map<FileId, std::vector<FileId>> imports_of;
    for (const ImportLink& link : p.unit.imports) imports_of[link.at.file].push_back(link.file);
    auto reaches = [&](FileId from, FileId target) {
      std::vector<FileId> todo{from};
      std::set<FileId> seen;
      while (!todo.empty()) {
        FileId f = todo.back();
        todo.pop_back();
        if (f == target) return true;
        if (!seen.insert(f).second) continue;
        for (FileId next : imports_of[f]) todo.push_back(next);
      }
      return false;
    };
    for (const Diagnostic& d : p.unit.diagnostics.all()) {
      Span at = d.span.valid() ? d.span : Span{0, 1, 1, 0, 0};
      const std::string& uri = p.uris.at(at.file);
      auto own = s.where.find(uri);
      if (own != s.where.end() && own->second.program == &p) {
        by_uri[uri].diagnostics.push_back(convert(p, d, at));
        continue;
      }
      for (const ImportLink& link : p.unit.imports) {
        auto importer = s.where.find(p.uris.at(link.at.file));
        if (importer == s.where.end() || importer->second.program != &p) continue;
        if (!reaches(link.file, at.file)) continue;
        FileDiagnostic fd = convert(p, d, link.at);
        fd.message = fmt::format("in {} ({}): {}", p.unit.sources.file(at.file).name,
                                 fmt::format("line {}", at.line), fd.message);
        Location real = p.location(at);
        if (!real.uri.empty()) fd.related.insert(fd.related.begin(), {real, d.message});
        by_uri[p.uris.at(link.at.file)].diagnostics.push_back(std::move(fd));
        break;
      }
    }
  }
  std::vector<FileDiagnostics> out;
  for (auto& [uri, list] : by_uri) {
    // In the file's order: an imported file's problems sit at their import.
    std::stable_sort(list.diagnostics.begin(), list.diagnostics.end(),
                     [](const FileDiagnostic& a, const FileDiagnostic& b) {
                       return std::pair(a.range.start.line, a.range.start.character) <
                              std::pair(b.range.start.line, b.range.start.character);
                     });
    out.push_back(std::move(list));
  }
  for (const std::string& uri : s.closed) out.push_back({uri, std::nullopt, {}});
  s.closed.clear();
  return out;
}

// ---- names in the tree ----

Span string_in(const Unit& unit, const Span& span) {
  if (!span.valid() || span.file >= unit.sources.size()) return span;
  std::string_view text = unit.sources.file(span.file).text;
  std::string_view inside = text.substr(std::min<std::size_t>(span.offset, text.size()), span.length);
  std::size_t open = inside.find('"');
  if (open == std::string_view::npos || open == 0) return span;
  std::size_t close = open + 1;
  while (close < inside.size() && inside[close] != '"') close += inside[close] == '\\' ? 2 : 1;
  Span out = span;
  out.offset += static_cast<std::uint32_t>(open);
  out.column += static_cast<std::uint32_t>(open);
  out.length = static_cast<std::uint32_t>(std::min(close + 1, inside.size()) - open);
  return out;
}

std::string trigger_text(const ast::Rule& rule) {
  const ast::Trigger& t = rule.trigger;
  std::string out = "on " + t.name.value;
  if (t.duration) out += fmt::format(" {}{}", t.duration->amount, t.duration->unit);
  if (t.text) out += " " + ptag_quote(t.text->value);
  if (t.metric) out += " " + t.metric->value;
  if (t.threshold) out += " >= " + format_expr(*t.threshold);
  if (rule.guard) out += " when " + format_expr(*rule.guard);
  return out;
}

namespace {

class Collector {
 public:
  explicit Collector(const Unit& unit) : unit_(unit) {}

  std::vector<Occurrence> run() {
    for (const ast::Module& m : unit_.modules) {
      for (const ast::Item& item : m.items) std::visit([&](const auto& x) { visit(x); }, item);
    }
    for (const ImportLink& link : unit_.imports) {
      for (Occurrence& o : out_) {
        if (o.what == What::import && o.span.file == link.at.file &&
            o.span.offset == link.at.offset)
          o.target = link.file;
      }
    }
    return std::move(out_);
  }

 private:
  void add(What what, const Span& span, std::string text, TagUse use = TagUse::other) {
    Occurrence o;
    o.what = what;
    o.span = span;
    o.text = std::move(text);
    o.rule = rule_;
    o.use = use;
    out_.push_back(std::move(o));
  }
  void add_duration(const ast::Duration& d) {
    add(What::duration, d.span, fmt::format("{}{}", d.amount, d.unit));
    out_.back().duration = &d;
  }

  void visit(const ast::Rule& r) {
    rule_ = &r;
    std::string name = unit_.rule_name(r);
    if (r.name) add(What::rule_decl, r.name->span, name);
    add(What::rule_decl, r.span, name);
    const ast::Trigger& t = r.trigger;
    add(What::trigger, t.name.span, t.name.value);
    if (t.duration) add_duration(*t.duration);
    if (t.text) {
      if (t.name.value == "event") {
        add(What::custom_event, t.text->span, t.text->value);
      } else if (t.name.value == "tag_added" || t.name.value == "tag_removed") {
        add(What::tag, t.text->span, t.text->value,
            t.name.value == "tag_added" ? TagUse::watched_added : TagUse::watched_removed);
      }
    }
    if (t.metric) add(What::metric, t.metric->span, t.metric->value);
    if (t.threshold) expr(*t.threshold);
    if (r.guard) expr(*r.guard);
    for (const ast::Action& a : r.actions) {
      for (const ast::Text& tag : a.tags) {
        if (a.kind == ast::ActionKind::emit) {
          add(What::notification, tag.span, tag.value);
        } else {
          add(What::tag, tag.span, tag.value,
              a.kind == ast::ActionKind::add ? TagUse::added : TagUse::removed);
        }
      }
      if (a.expires) add_duration(*a.expires);
    }
    rule_ = nullptr;
  }

  void expr(const ast::Expr& e) {
    using K = ast::ExprKind;
    if (e.kind == K::name) {
      add(is_metric(e.text)           ? What::metric
          : is_guard_builtin(e.text) ? What::builtin
                                     : What::constant_use,
          e.span, e.text);
    } else if (e.kind == K::event_field) {
      add(What::event_field, e.span, e.text);
    } else if (e.kind == K::partner_field) {
      add(What::partner_field, e.span, e.text);
    } else if (e.kind == K::tagged) {
      add(What::tag, string_in(unit_, e.span), e.text);
    }
    for (const ast::Expr& arg : e.args) expr(arg);
  }

  void visit(const ast::Let& let) {
    add(What::constant_decl, let.name.span, let.name.value);
    expr(let.value);
  }
  void visit(const ast::Exclusive& group) {
    for (const ast::Text& tag : group.tags) add(What::tag, tag.span, tag.value, TagUse::group);
  }
  void visit(const ast::Import& import) { add(What::import, import.path.span, import.path.value); }
  void visit(const ast::Setting& s) {
    add(s.word.value == "timezone" ? What::timezone : What::currency, s.value.span, s.value.value);
  }
  void visit(const ast::Test& test) {
    for (const ast::Step& s : test.steps) {
      if (s.kind == ast::StepKind::event && s.custom_event)
        add(What::custom_event, s.event_type.span, s.event_type.value);
      for (const ast::Text& tag : s.tags) add(What::tag, tag.span, tag.value);
      if (s.kind == ast::StepKind::expect_metric) {
        add(is_metric(s.metric.value) ? What::metric : What::builtin, s.metric.span,
            s.metric.value);
      }
      for (const ast::RecordPattern& r : s.records) {
        add(r.action == ast::ActionKind::emit ? What::notification : What::tag, r.tag.span,
            r.tag.value);
        if (r.rule) add(What::rule_ref, r.rule->span, r.rule->value);
      }
    }
  }

  const Unit& unit_;
  const ast::Rule* rule_ = nullptr;
  std::vector<Occurrence> out_;
};

}  // namespace

std::vector<Occurrence> collect_occurrences(const Unit& unit) {
  return Collector(unit).run();
}

const Occurrence* occurrence_at(const Program& program, FileId file, std::size_t offset) {
  const Occurrence* best = nullptr;
  for (const Occurrence& o : program.occurrences) {
    if (o.span.file != file || offset < o.span.offset || offset > o.span.offset + o.span.length)
      continue;
    if (!best || o.span.length < best->span.length) best = &o;
  }
  return best;
}

}  // namespace ptag::lsp
