#include "ptag/ptag.hpp"

#include "ptag/compiler.hpp"

namespace ptag {
namespace {

Result<Program> finish(Unit unit, const CompileOptions& options) {
  check(unit);
  bool failed = unit.diagnostics.has_errors() ||
                (options.warnings_as_errors && !unit.diagnostics.all().empty());
  std::optional<Program> program;
  if (!failed) program = lower(unit);
  return {std::move(program), std::move(unit.diagnostics), std::move(unit.sources)};
}

}  // namespace

Result<Program> compile(std::span<const RuleSource> sources, const CompileOptions& options) {
  std::vector<SourceFile> files;
  for (const RuleSource& s : sources) files.push_back({s.name, s.text});
  return finish(load_texts(files), options);
}

Result<Program> compile(std::initializer_list<RuleSource> sources, const CompileOptions& options) {
  return compile(std::span<const RuleSource>(sources.begin(), sources.size()), options);
}

Result<Program> compile_files(std::span<const std::string> paths, const CompileOptions& options) {
  return finish(load_files(std::vector<std::string>(paths.begin(), paths.end())), options);
}

std::string encode_program(std::span<const RuleSource> sources) {
  std::vector<SourceFile> files;
  for (const RuleSource& s : sources) files.push_back({s.name, s.text});
  return encode_program(files);
}

Result<Program> compile_segment_query(const Program& program, std::string_view expression) {
  SegmentResult r = compile_segment(program, expression);
  return {std::move(r.program), std::move(r.diagnostics), std::move(r.sources)};
}

std::vector<std::string_view> segment(const Engine& engine, const Program& query) {
  std::vector<std::string_view> ids;
  for (std::size_t i : engine.segment(query)) ids.push_back(engine.partner_id(i));
  return ids;
}

}  // namespace ptag
