#include "ptag/ptag.hpp"

#include <stdexcept>

#include "ptag/compiler.hpp"
#ifdef PTAG_HAVE_JIT
#include "ptag/jit.hpp"
#endif

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

bool jit_available() {
#ifdef PTAG_HAVE_JIT
  return true;
#else
  return false;
#endif
}

EngineChosen prepare_engine(Program& program, const EngineSetup& setup) {
  if (setup.jit_opt < 0 || setup.jit_opt > 2) throw std::runtime_error("jit_opt must be 0, 1 or 2");
  bool jit = setup.kind == EngineKind::jit ||
             (setup.kind == EngineKind::automatic && jit_available() && guarded_rules(program) > kJitGuardedRules);
  if (!jit) {
    program.native.reset();
    return {};
  }
#ifdef PTAG_HAVE_JIT
  jit::JitStats stats;
  try {
    program.native = jit::compile(program, {.opt_level = setup.jit_opt}, &stats);
  } catch (const jit::JitError& e) {
    program.native.reset();
    if (setup.kind == EngineKind::jit) throw std::runtime_error(e.what());
    return {};  // automatic: the VM, with the same results
  }
  return {EngineKind::jit, stats.compile_seconds};
#else
  throw std::runtime_error("the JIT: this libptag was built without it (configure with -DPTAG_JIT=ON)");
#endif
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
