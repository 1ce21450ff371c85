// The JIT: one LLVM module per program, optimized with LLVM's default
// pipeline at the chosen level, compiled by ORC's LLJIT; the host functions
// are absolute symbols, so the code needs nothing else from the process.
#include "ptag/jit.hpp"

#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <span>
#include <unordered_map>
#include <deque>
#include <mutex>
#include <vector>

#include "codegen.hpp"
#include "ptag/native_host.hpp"

namespace ptag::jit {
namespace {

class CompiledProgram : public NativeCode {
 public:
  NativeGuard guard(RuleId rule) const override { return rule < guards.size() ? guards[rule] : nullptr; }
  std::span<const NativeRules> event_rules(std::size_t type) const override {
    return type < by_type.size() ? std::span<const NativeRules>(by_type[type]) : std::span<const NativeRules>();
  }

  std::span<const NativeRules> custom_rules(RuleId first) const override {
    auto it = by_custom_type.find(first);
    return it == by_custom_type.end() ? std::span<const NativeRules>() : std::span<const NativeRules>(it->second);
  }

  std::unique_ptr<llvm::orc::LLJIT> jit;  // owns the code
  std::deque<std::string> texts;          // the texts the code points at
  std::vector<NativeGuard> guards;        // by rule
  std::array<std::vector<NativeRules>, kEventTypes> by_type;
  std::unordered_map<RuleId, std::vector<NativeRules>> by_custom_type;  // by the type's first rule
};

// Rules per NativeRules function: LLVM's time grows faster than linearly
// with a function's size, so a type with many rules is several functions.
constexpr std::size_t kRulesPerFunction = 64;

std::string rules_name(const std::string& prefix, std::size_t part) {
  return prefix + "_" + std::to_string(part);
}

std::string message(llvm::Error e) {
  std::string text;
  llvm::raw_string_ostream out(text);
  out << e;
  return out.str();
}

template <typename T>
T take(llvm::Expected<T> value, const char* what) {
  if (!value) throw JitError(std::string("the JIT cannot ") + what + ": " + message(value.takeError()));
  return std::move(*value);
}

// -O2: LLVM's default module pipeline and code generation, the fastest
// code. -O1: a few function passes (the stack's slots into registers,
// common loads and checks merged, branches folded) and LLVM's fast
// instruction selection and register allocation: on R1000-guards a third
// of -O2's compile time for code 1.3x slower. -O0: neither.
void optimize(llvm::Module& module, int level) {
  if (level <= 0) return;
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder builder;
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(sccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, sccs, modules);
  llvm::ModulePassManager passes;
  if (level == 1) {
    if (llvm::Error e = builder.parsePassPipeline(
            passes, "function(sroa,early-cse<memssa>,instcombine,simplifycfg,gvn,simplifycfg)"))
      throw JitError("the JIT cannot set up its -O1 passes: " + message(std::move(e)));
  } else {
    passes = builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
  }
  passes.run(module, modules);
}

llvm::CodeGenOpt::Level codegen_level(int level) {
  return level >= 2 ? llvm::CodeGenOpt::Default : llvm::CodeGenOpt::None;
}

void init_llvm() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = !llvm::InitializeNativeTarget() && !llvm::InitializeNativeTargetAsmPrinter(); });
  if (!ok) throw JitError("the JIT cannot set up LLVM's native target");
}

}  // namespace

std::shared_ptr<const NativeCode> compile(const Program& program, const JitOptions& options, JitStats* stats) {
  auto start = std::chrono::steady_clock::now();
  if (options.opt_level < 0 || options.opt_level > 2) throw JitError("--jit-opt must be 0, 1 or 2");
  init_llvm();
  auto code = std::make_shared<CompiledProgram>();
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>("ptag", *context);
  NativeLayout layout = native_layout();
  JitStats counted;
  // Each type's every-event rules, as the engine runs them, and what its
  // events may trigger besides (its firsts, milestones on what it changes).
  const auto& plain = program.index.plain;
  const auto& others = program.index.besides;
  std::vector<bool> inline_only(program.rules.size(), false);  // its guard only inside NativeRules
  // One type's rules as functions of kRulesPerFunction rules; none if the
  // code generator does not take one of them (the engine's loop runs them).
  struct Run {
    std::string prefix;
    std::size_t parts = 0;
    std::vector<NativeRules>* out;
  };
  std::vector<Run> runs;
  auto emit_run = [&](std::string prefix, std::span<const RuleId> all, std::span<const RuleId> besides,
                      std::vector<NativeRules>* out) {
    Run run{std::move(prefix), 0, out};
    for (std::size_t at = 0; at < all.size(); at += kRulesPerFunction) {
      auto part = all.subspan(at, std::min(kRulesPerFunction, all.size() - at));
      if (emit_rules(*module, program, rules_name(run.prefix, run.parts), part, besides, layout, code->texts)) {
        ++run.parts;
        continue;
      }
      for (; run.parts > 0; --run.parts) module->getFunction(rules_name(run.prefix, run.parts - 1))->eraseFromParent();
      break;
    }
    if (run.parts == 0) return;
    counted.functions += run.parts;
    for (RuleId r : all) inline_only[r] = program.rules[r].guard != kNone;
    runs.push_back(std::move(run));
  };
  for (std::size_t t = 0; t < kEventTypes; ++t)
    emit_run("ptag_rules_" + std::to_string(t), plain[t], others[t], &code->by_type[t]);
  for (const auto& [name, rules] : program.index.custom)  // no firsts or milestones
    emit_run("ptag_custom_" + std::to_string(rules.front()), rules, {}, &code->by_custom_type[rules.front()]);
  // A guard alone for every other rule: timers, tag changes, firsts,
  // milestones. A guard inside NativeRules is only inline (a function of
  // its own would cost ~1 ms of compile time for nothing).
  std::vector<bool> compiled(program.rules.size(), false);
  for (RuleId r = 0; r < program.rules.size(); ++r) {
    std::uint32_t pc = program.rules[r].guard;
    if (pc == kNone) continue;
    if (inline_only[r]) {
      ++counted.guards;
      continue;
    }
    compiled[r] = emit_guard(*module, program, pc, r, layout, code->texts);
    ++(compiled[r] ? counted.guards : counted.left_to_vm);
  }
  std::string broken;
  llvm::raw_string_ostream why(broken);
  if (llvm::verifyModule(*module, &why)) throw JitError("the JIT made a malformed module: " + why.str());

  auto machine = take(llvm::orc::JITTargetMachineBuilder::detectHost(), "find the host machine");
  machine.setCodeGenOptLevel(codegen_level(options.opt_level));
  auto layout_of = take(machine.getDefaultDataLayoutForTarget(), "find the data layout");
  module->setDataLayout(layout_of);
  module->setTargetTriple(machine.getTargetTriple().str());
  optimize(*module, options.opt_level);

  code->jit = take(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(machine)).create(), "start");
  llvm::orc::LLJIT& jit = *code->jit;
  const NativeHost& h = native_host();
  llvm::orc::SymbolMap host;
  auto define = [&](const char* name, auto* function) {
    host[jit.mangleAndIntern(name)] = llvm::JITEvaluatedSymbol(
        llvm::pointerToJITTargetAddress(function), llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  };
  define(kEventField, h.event_field);
  define(kPartnerField, h.partner_field);
  define(kCompareText, h.compare_text);
  define(kMultiply, h.multiply);
  define(kDivide, h.divide);
  define(kFire, h.fire);
  define(kGuardError, h.guard_error);
  define(kOthers, h.others);
  if (llvm::Error e = jit.getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(host))))
    throw JitError("the JIT cannot define the host functions: " + message(std::move(e)));
  if (llvm::Error e = jit.addIRModule(llvm::orc::ThreadSafeModule(std::move(module), std::move(context))))
    throw JitError("the JIT cannot add the program: " + message(std::move(e)));
  code->guards.assign(program.rules.size(), nullptr);
  for (RuleId r = 0; r < program.rules.size(); ++r) {
    if (!compiled[r]) continue;
    auto symbol = take(jit.lookup(guard_name(r)), "compile a guard");
    code->guards[r] = reinterpret_cast<NativeGuard>(static_cast<std::uintptr_t>(symbol.getAddress()));
  }
  for (const Run& run : runs) {
    for (std::size_t part = 0; part < run.parts; ++part) {
      auto symbol = take(jit.lookup(rules_name(run.prefix, part)), "compile an event type's rules");
      run.out->push_back(reinterpret_cast<NativeRules>(static_cast<std::uintptr_t>(symbol.getAddress())));
    }
  }
  counted.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (stats) *stats = counted;
  return code;
}

}  // namespace ptag::jit
