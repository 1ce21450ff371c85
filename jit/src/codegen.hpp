// Bytecode to LLVM IR: one function per guard, and functions that run an
// event type's rules.
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <deque>
#include <memory>
#include <span>
#include <string>

#include "ptag/native.hpp"
#include "ptag/program.hpp"

namespace ptag::jit {

// The host functions' names in the module; their addresses come from NativeHost.
inline constexpr const char* kEventField = "ptag_host_event_field";
inline constexpr const char* kPartnerField = "ptag_host_partner_field";
inline constexpr const char* kCompareText = "ptag_host_compare_text";
inline constexpr const char* kMultiply = "ptag_host_multiply";
inline constexpr const char* kDivide = "ptag_host_divide";
inline constexpr const char* kFire = "ptag_host_fire";
inline constexpr const char* kGuardError = "ptag_host_guard_error";
inline constexpr const char* kOthers = "ptag_host_others";

std::string guard_name(RuleId rule);

// Adds `int guard_N(const NativeFrame*)` for the guard at `pc` to `module`,
// with the semantics of evaluate_guard(). Texts the code compares are
// copied into `texts`, which must outlive the compiled code. Returns false,
// adding nothing, for code it does not take (the VM then runs that guard).
bool emit_guard(llvm::Module& module, const Program& program, std::uint32_t pc, RuleId rule,
                const NativeLayout& layout, std::deque<std::string>& texts);

// Adds `void NAME(NativeFrame*)` running `rules` (every-event rules of one
// type, in source order) as NativeRules: each guard inline, each rule that
// fires given to the host. `others` (ascending) are the rules the type's
// events may trigger besides: the frame's others are run, through the
// host, wherever one of them can come. False, adding nothing, if it does
// not take a guard.
bool emit_rules(llvm::Module& module, const Program& program, const std::string& name,
                std::span<const RuleId> rules, std::span<const RuleId> others, const NativeLayout& layout,
                std::deque<std::string>& texts);

}  // namespace ptag::jit
