// The ptag embedding API (docs/embedding.md).
//
//   auto rules = ptag::compile({{"tiers.ptag", text}});
//   if (!rules) { std::cerr << rules.render(); return 1; }
//   MySink sink;                                   // a ptag::Sink
//   ptag::Engine engine(rules.value(), {.sink = &sink});
//   engine.push(event);                            // a ptag::Event of views
//   engine.advance_to(now);                        // fire timers up to now
//
// A durable engine keeps its state in a store file (ptag/durable.hpp):
//   auto durable = ptag::DurableEngine::open("tags.db");
//   ptag::Engine& engine = durable->start(rules.value(), {.sink = &sink});
//   engine.push(event);  durable->commit();  durable->flush();
//
// Thread safety: a Program is immutable and may be shared by any number of
// engines on any threads. An Engine is not synchronised: use each engine from
// one thread at a time. To use several cores, shard partners across engines
// by a hash of the partner id (examples/embed-cpp does). A DurableEngine too
// is used from one thread; its store's writer thread is its own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ptag/durable.hpp"
#include "ptag/pipeline.hpp"
#include "ptag/engine.hpp"
#include "ptag/event.hpp"
#include "ptag/event_batch.hpp"
#include "ptag/event_source.hpp"
#include "ptag/program.hpp"
#include "ptag/result.hpp"
#include "ptag/sink.hpp"
#include "ptag/store.hpp"

namespace ptag {

inline constexpr const char* kVersion = "0.1.0";

// A rule file held in memory. Imports resolve relative to `name`'s folder,
// or to the standard packs (`std/tiers`).
struct RuleSource {
  std::string name;
  std::string text;
};

struct CompileOptions {
  bool warnings_as_errors = false;
};

// Compiles rule files as one program. Diagnostics (warnings, or the errors
// that left no program) are data; Result::render() prints them like the CLI.
Result<Program> compile(std::span<const RuleSource> sources, const CompileOptions& options = {});
Result<Program> compile(std::initializer_list<RuleSource> sources,
                        const CompileOptions& options = {});
Result<Program> compile_files(std::span<const std::string> paths,
                              const CompileOptions& options = {});

// The rule files as a store keeps them (DurableStart::program_text), so that
// `ptag query --state` and `ptag tags` can compile them again.
std::string encode_program(std::span<const RuleSource> sources);

// Compiles a segment query, a guard such as `tagged "VIP" and revenue > 1000`,
// for Engine::segment(). Event fields are not allowed: there is no event.
Result<Program> compile_segment_query(const Program& program, std::string_view expression);

// What runs a program's guards and rules (docs/jit.md): the bytecode
// interpreter, native code from the optional JIT (a libptag built with
// -DPTAG_JIT=ON), or `automatic`: the JIT when it is built in and the
// program has more than kJitGuardedRules guarded rules.
enum class EngineKind : std::uint8_t { automatic, vm, jit };

struct EngineSetup {
  EngineKind kind = EngineKind::automatic;
  int jit_opt = 2;  // 0, 1 or 2: LLVM's optimization level
};

struct EngineChosen {
  EngineKind kind = EngineKind::vm;  // vm or jit
  double compile_seconds = 0;        // the JIT's, 0 for the VM
};

// Whether this libptag has the JIT.
bool jit_available();

// Prepares `program` for the engine `setup` asks for, before any Engine uses
// it (native code is attached to the program and shared by its engines).
// Throws std::runtime_error for `jit` in a libptag without the JIT, for a
// bad jit_opt, or when LLVM cannot compile (`automatic` then falls back to
// the VM).
EngineChosen prepare_engine(Program& program, const EngineSetup& setup = {});

// The ids of the partners an engine's segment query matches, in order of
// first appearance. The views live until the engine's next push.
std::vector<std::string_view> segment(const Engine& engine, const Program& query);

}  // namespace ptag
