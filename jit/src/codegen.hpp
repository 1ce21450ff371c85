// Bytecode to LLVM IR: one function per guard.
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <deque>
#include <memory>
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

std::string guard_name(RuleId rule);

// Adds `int guard_N(const NativeFrame*)` for the guard at `pc` to `module`,
// with the semantics of evaluate_guard(). Texts the code compares are
// copied into `texts`, which must outlive the compiled code. Returns false,
// adding nothing, for code it does not take (the VM then runs that guard).
bool emit_guard(llvm::Module& module, const Program& program, std::uint32_t pc, RuleId rule,
                const NativeLayout& layout, std::deque<std::string>& texts);

}  // namespace ptag::jit
