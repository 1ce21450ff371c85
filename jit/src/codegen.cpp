// A guard's stack code becomes straight-line SSA: the stack is tracked at
// compile time (its depth at every pc is fixed), each slot a (kind, number,
// text, size) tuple of LLVM values. Kinds the code fixes (constants,
// metrics, tag tests) are constants, so LLVM folds their checks away; kinds
// only known at run time (event and partner fields) are checked as the VM
// checks them. Every failed check branches to one `return -1`.
#include "codegen.hpp"

#include <llvm/IR/IRBuilder.h>

#include <algorithm>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "ptag/event.hpp"
#include "ptag/opcodes.hpp"

namespace ptag::jit {
namespace {

using llvm::BasicBlock;
using llvm::Value;

constexpr std::uint8_t kNumber = static_cast<std::uint8_t>(ptag::Value::Kind::number);
constexpr std::uint8_t kText = static_cast<std::uint8_t>(ptag::Value::Kind::text);
constexpr std::uint8_t kBoolean = static_cast<std::uint8_t>(ptag::Value::Kind::boolean);
constexpr std::uint8_t kList = static_cast<std::uint8_t>(ptag::Value::Kind::list);

// One stack slot.
struct Slot {
  Value* kind;  // i8
  Value* num;   // i64: millionths, 0/1, or a list's index
  Value* ptr;   // i8*: text
  Value* len;   // i64: text size
};

struct Incoming {
  BasicBlock* from;
  std::vector<Slot> stack;
};

class GuardEmitter {
 public:
  GuardEmitter(llvm::Module& m, const Program& p, const NativeLayout& layout, std::deque<std::string>& texts)
      : m_(m), p_(p), layout_(layout), texts_(texts), ctx_(m.getContext()), b_(ctx_) {}

  // `int NAME(const NativeFrame*)`: 1, 0 or -1, as evaluate_guard().
  bool emit(std::uint32_t start, RuleId rule) {
    if (!takes(start)) return false;
    begin(guard_name(rule), b_.getInt32Ty());
    BasicBlock* yes = returning(1);
    BasicBlock* no = returning(0);
    BasicBlock* error = returning(-1);
    b_.SetInsertPoint(body_);
    guard(start, yes, no, error);
    finish();
    return true;
  }

  // `void NAME(NativeFrame*)`: the rules in order, each guard inline, each
  // rule that fires handed to the host, the frame's other rules in their places.
  // An event's and the partner's fields are looked up once, at the entry:
  // neither changes while an event's rules run (actions change tags and
  // expiries; a partner's attributes, which its extra record holds, move
  // only in the state update before the rules), and a missing one is still
  // an error only in the guards that reach it.
  bool emit_rules(const std::string& name, std::span<const RuleId> rules, std::span<const RuleId> others) {
    for (RuleId r : rules) {
      if (p_.rules[r].guard != kNone && !takes(p_.rules[r].guard)) return false;
    }
    hoist_fields_ = true;
    begin(name, b_.getVoidTy());
    auto* i8p = b_.getInt8PtrTy();
    auto fire = host(kFire, b_.getVoidTy(), {i8p, b_.getInt32Ty()});
    auto guard_error = host(kGuardError, b_.getVoidTy(), {i8p, b_.getInt32Ty()});
    auto run_before = host(kOthers, b_.getVoidTy(), {i8p, b_.getInt32Ty()});
    RuleId previous = kNone;
    b_.SetInsertPoint(body_);
    for (RuleId r : rules) {
      // First the event's other triggered rules that come before this one,
      // where there can be any.
      auto candidate = std::lower_bound(others.begin(), others.end(), previous == kNone ? 0 : previous + 1);
      if (candidate != others.end() && *candidate < r) {
        BasicBlock* run_others = BasicBlock::Create(ctx_, "others", fn_);
        BasicBlock* rule = BasicBlock::Create(ctx_, "guard", fn_);
        Value* at = load_at(frame_, offsetof(NativeFrame, others), b_.getInt32Ty()->getPointerTo());
        Value* pending = b_.CreateLoad(b_.getInt32Ty(), at);
        b_.CreateCondBr(b_.CreateICmpULT(pending, b_.getInt32(r)), run_others, rule);
        b_.SetInsertPoint(run_others);
        b_.CreateCall(run_before, {frame_, b_.getInt32(r)});
        b_.CreateBr(rule);
        b_.SetInsertPoint(rule);
      }
      previous = r;
      BasicBlock* next = BasicBlock::Create(ctx_, "rule", fn_);
      BasicBlock* fires = BasicBlock::Create(ctx_, "fires", fn_);
      if (p_.rules[r].guard == kNone) {
        b_.CreateBr(fires);
      } else {
        BasicBlock* error = BasicBlock::Create(ctx_, "guard_error", fn_);
        guard(p_.rules[r].guard, fires, next, error);
        b_.SetInsertPoint(error);
        b_.CreateCall(guard_error, {frame_, b_.getInt32(r)});
        b_.CreateBr(next);
      }
      b_.SetInsertPoint(fires);
      b_.CreateCall(fire, {frame_, b_.getInt32(r)});
      b_.CreateBr(next);
      b_.SetInsertPoint(next);
    }
    b_.CreateRetVoid();
    finish();
    return true;
  }

 private:
  // Only guard opcodes, only constant lists before IN, up to RETURN.
  bool takes(std::uint32_t pc) const {
    bool list_before = false;
    for (;;) {
      if (pc >= p_.code.size()) return false;
      Op op = static_cast<Op>(p_.code[pc]);
      switch (op) {
        case Op::ADD_TAG:
        case Op::ADD_TAG_FOR:
        case Op::REMOVE_TAG:
        case Op::EMIT:
        case Op::END:
          return false;
        case Op::IN:
          if (!list_before) return false;
          break;
        case Op::RETURN:
          return true;
        default:
          break;
      }
      list_before = op == Op::PUSH_LIST;
      pc += static_cast<std::uint32_t>(op_info(op).size);
    }
  }

  // The function, its entry (where the scratch slots and hoisted fields
  // go) and the block the code starts in.
  void begin(const std::string& name, llvm::Type* result) {
    auto* type = llvm::FunctionType::get(result, {b_.getInt8PtrTy()}, false);
    fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, m_);
    frame_ = fn_->getArg(0);
    entry_ = BasicBlock::Create(ctx_, "entry", fn_);
    body_ = BasicBlock::Create(ctx_, "body", fn_);
    b_.SetInsertPoint(entry_);
    out_ = b_.CreateAlloca(b_.getInt8Ty(), b_.getInt64(sizeof(NativeValue)));
    out_->setAlignment(llvm::Align(alignof(NativeValue)));
    result_ = b_.CreateAlloca(b_.getInt64Ty());
    entry_end_ = b_.CreateBr(body_);
  }
  void finish() { fields_.clear(); }

  BasicBlock* returning(int value) {
    BasicBlock* bb = BasicBlock::Create(ctx_, "return", fn_);
    llvm::IRBuilder<> at(bb);
    at.CreateRet(at.getInt32(value));
    return bb;
  }

  // One guard from the current block: to `yes`, `no`, or `error` (a failed check).
  void guard(std::uint32_t start, BasicBlock* yes, BasicBlock* no, BasicBlock* error) {
    yes_ = yes;
    no_ = no;
    error_ = error;
    blocks_.clear();
    pending_.clear();
    partner_ = load_at(frame_, offsetof(NativeFrame, partner), b_.getInt8PtrTy());
    walk(start);
  }

  // ---- values ------------------------------------------------------------

  Value* load_at(Value* base, std::size_t offset, llvm::Type* type) {
    Value* at = b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), base, offset);
    return b_.CreateLoad(type, b_.CreateBitCast(at, type->getPointerTo()));
  }
  Slot number(Value* n) { return {b_.getInt8(kNumber), n, null_text(), b_.getInt64(0)}; }
  Slot boolean(Value* bit) {
    return {b_.getInt8(kBoolean), b_.CreateZExt(bit, b_.getInt64Ty()), null_text(), b_.getInt64(0)};
  }
  Value* null_text() { return llvm::ConstantPointerNull::get(b_.getInt8PtrTy()); }
  // A text the code names, kept alive by the compiled program.
  Slot text(const std::string& t) {
    const std::string& kept = texts_.emplace_back(t);
    Value* ptr = b_.CreateIntToPtr(b_.getInt64(reinterpret_cast<std::uintptr_t>(kept.data())), b_.getInt8PtrTy());
    return {b_.getInt8(kText), b_.getInt64(0), ptr, b_.getInt64(kept.size())};
  }
  Slot constant(const Constant& c) {
    switch (c.kind) {
      case Constant::Kind::number:
        return number(b_.getInt64(c.number));
      case Constant::Kind::boolean:
        return boolean(b_.getInt1(c.number != 0));
      case Constant::Kind::text:
        return text(p_.texts[c.text]);
    }
    return number(b_.getInt64(0));
  }

  static bool known(Value* kind, std::uint8_t k) {
    auto* c = llvm::dyn_cast<llvm::ConstantInt>(kind);
    return c != nullptr && c->getZExtValue() == k;
  }
  static bool known_not(Value* kind, std::uint8_t k) {
    auto* c = llvm::dyn_cast<llvm::ConstantInt>(kind);
    return c != nullptr && c->getZExtValue() != k;
  }

  // Continues where `ok` holds; the guard is an error where it does not.
  void check(Value* ok) {
    if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(ok); c && c->isOne()) return;
    BasicBlock* next = BasicBlock::Create(ctx_, "ok", fn_);
    b_.CreateCondBr(ok, next, error_);
    b_.SetInsertPoint(next);
  }
  Value* is(const Slot& s, std::uint8_t k) { return b_.CreateICmpEQ(s.kind, b_.getInt8(k)); }

  llvm::FunctionCallee host(const char* name, llvm::Type* result, std::vector<llvm::Type*> args) {
    return m_.getOrInsertFunction(name, llvm::FunctionType::get(result, args, false));
  }

  // A field through the host: an error when it is missing. Hoisted, the
  // lookup is made once, at the function's entry.
  Slot field(const char* host_name, const std::string& name) {
    if (!hoist_fields_) {
      auto [found, slot] = look_up(host_name, name, out_);
      check(b_.CreateICmpNE(found, b_.getInt32(0)));
      return slot;
    }
    std::string key = std::string(host_name) + '\0' + name;
    auto it = fields_.find(key);
    if (it == fields_.end()) {
      llvm::IRBuilderBase::InsertPointGuard keep(b_);
      b_.SetInsertPoint(entry_end_);
      llvm::AllocaInst* out = b_.CreateAlloca(b_.getInt8Ty(), b_.getInt64(sizeof(NativeValue)));
      out->setAlignment(llvm::Align(alignof(NativeValue)));
      it = fields_.emplace(key, look_up(host_name, name, out)).first;
    }
    check(b_.CreateICmpNE(it->second.first, b_.getInt32(0)));
    return it->second.second;
  }
  std::pair<Value*, Slot> look_up(const char* host_name, const std::string& name, Value* out) {
    Slot n = text(name);
    auto* i8p = b_.getInt8PtrTy();
    auto callee = host(host_name, b_.getInt32Ty(), {i8p, i8p, b_.getInt64Ty(), i8p});
    Value* found = b_.CreateCall(callee, {frame_, n.ptr, n.len, out});
    return {found,
            {load_at(out, offsetof(NativeValue, kind), b_.getInt8Ty()),
             load_at(out, offsetof(NativeValue, number), b_.getInt64Ty()), load_at(out, offsetof(NativeValue, text), i8p),
             load_at(out, offsetof(NativeValue, size), b_.getInt64Ty())}};
  }

  Value* metric(Metric m) {
    const MetricSpec& spec = metric_spec(m);
    if (spec.unit == MetricUnit::money) return load_at(partner_, layout_.money + 8 * spec.slot, b_.getInt64Ty());
    Value* count = load_at(partner_, layout_.counts + 4 * spec.slot, b_.getInt32Ty());
    return b_.CreateMul(b_.CreateZExt(count, b_.getInt64Ty()), b_.getInt64(1'000'000));
  }

  // whole_days(from, now) in millionths.
  Value* days_since(std::size_t offset) {
    Value* from = load_at(partner_, offset, b_.getInt64Ty());
    Value* now = load_at(frame_, offsetof(NativeFrame, now), b_.getInt64Ty());
    Value* d = b_.CreateSub(now, from);
    Value* ahead = b_.CreateSDiv(d, b_.getInt64(86400));
    Value* behind = b_.CreateNeg(b_.CreateSDiv(b_.CreateAdd(b_.CreateNeg(d), b_.getInt64(86399)), b_.getInt64(86400)));
    Value* days = b_.CreateSelect(b_.CreateICmpSGE(d, b_.getInt64(0)), ahead, behind);
    return b_.CreateMul(days, b_.getInt64(1'000'000));
  }

  Value* tagged(TagId t) {
    if (t < 64) {
      Value* bits = load_at(partner_, layout_.tag_bits, b_.getInt64Ty());
      return b_.CreateTrunc(b_.CreateLShr(bits, b_.getInt64(t)), b_.getInt1Ty());
    }
    // A word of the partner's further tags, if it has that many.
    std::uint64_t word = t / 64 - 1;
    Value* words = load_at(frame_, offsetof(NativeFrame, more_words), b_.getInt64Ty());
    BasicBlock* from = b_.GetInsertBlock();
    BasicBlock* read = BasicBlock::Create(ctx_, "more_tags", fn_);
    BasicBlock* done = BasicBlock::Create(ctx_, "tagged", fn_);
    b_.CreateCondBr(b_.CreateICmpULT(b_.getInt64(word), words), read, done);
    b_.SetInsertPoint(read);
    Value* more = load_at(frame_, offsetof(NativeFrame, more_tags), b_.getInt64Ty()->getPointerTo());
    Value* w = b_.CreateLoad(b_.getInt64Ty(), b_.CreateConstInBoundsGEP1_64(b_.getInt64Ty(), more, word));
    Value* bit = b_.CreateTrunc(b_.CreateLShr(w, b_.getInt64(t % 64)), b_.getInt1Ty());
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    llvm::PHINode* phi = b_.CreatePHI(b_.getInt1Ty(), 2);
    phi->addIncoming(b_.getInt1(false), from);
    phi->addIncoming(bit, read);
    return phi;
  }

  // Sign of a text comparison (by bytes, as std::string_view::compare).
  Value* compare_text(const Slot& a, const Slot& c) {
    auto* i8p = b_.getInt8PtrTy();
    auto callee = host(kCompareText, b_.getInt32Ty(), {i8p, b_.getInt64Ty(), i8p, b_.getInt64Ty()});
    return b_.CreateCall(callee, {a.ptr, a.len, c.ptr, c.len});
  }

  // Runs `if_text` or `if_number` by the kind `kind` (equal for both sides,
  // checked before), folding the choice when the kind is known.
  template <typename T, typename N>
  Value* by_kind(Value* kind, llvm::Type* type, T&& if_text, N&& if_number) {
    if (known(kind, kText)) return if_text();
    if (known_not(kind, kText)) return if_number();
    BasicBlock* text_bb = BasicBlock::Create(ctx_, "text", fn_);
    BasicBlock* number_bb = BasicBlock::Create(ctx_, "number", fn_);
    BasicBlock* done = BasicBlock::Create(ctx_, "compared", fn_);
    b_.CreateCondBr(b_.CreateICmpEQ(kind, b_.getInt8(kText)), text_bb, number_bb);
    b_.SetInsertPoint(text_bb);
    Value* t = if_text();
    BasicBlock* text_end = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(number_bb);
    Value* n = if_number();
    BasicBlock* number_end = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    llvm::PHINode* phi = b_.CreatePHI(type, 2);
    phi->addIncoming(t, text_end);
    phi->addIncoming(n, number_end);
    return phi;
  }

  // equal(): same kinds (not lists), then texts by bytes or numbers.
  Value* equal(const Slot& a, const Slot& c) {
    check(b_.CreateAnd(b_.CreateICmpEQ(a.kind, c.kind), b_.CreateICmpNE(a.kind, b_.getInt8(kList))));
    return by_kind(
        a.kind, b_.getInt1Ty(),
        [&] {
          // Sizes first: a call only for texts of one size.
          BasicBlock* from = b_.GetInsertBlock();
          BasicBlock* bytes = BasicBlock::Create(ctx_, "bytes", fn_);
          BasicBlock* done = BasicBlock::Create(ctx_, "texts", fn_);
          b_.CreateCondBr(b_.CreateICmpEQ(a.len, c.len), bytes, done);
          b_.SetInsertPoint(bytes);
          Value* same = b_.CreateICmpEQ(compare_text(a, c), b_.getInt32(0));
          BasicBlock* bytes_end = b_.GetInsertBlock();
          b_.CreateBr(done);
          b_.SetInsertPoint(done);
          llvm::PHINode* phi = b_.CreatePHI(b_.getInt1Ty(), 2);
          phi->addIncoming(b_.getInt1(false), from);
          phi->addIncoming(same, bytes_end);
          return static_cast<Value*>(phi);
        },
        [&] { return b_.CreateICmpEQ(a.num, c.num); });
  }

  // order(): the sign, for numbers or texts of one kind.
  Value* order(const Slot& a, const Slot& c) {
    check(b_.CreateAnd(b_.CreateICmpEQ(a.kind, c.kind),
                       b_.CreateOr(is(a, kNumber), is(a, kText))));
    return by_kind(
        a.kind, b_.getInt32Ty(), [&] { return compare_text(a, c); },
        [&] {
          Value* less = b_.CreateZExt(b_.CreateICmpSLT(a.num, c.num), b_.getInt32Ty());
          Value* more = b_.CreateZExt(b_.CreateICmpSGT(a.num, c.num), b_.getInt32Ty());
          return b_.CreateSub(more, less);
        });
  }

  // `a in [c1, c2, ...]`: equal() with each element, left to right; an
  // element of another kind reached before a match is an error.
  Value* in_list(const Slot& a, const std::vector<Constant>& list) {
    if (list.empty()) return b_.getInt1(false);
    BasicBlock* found = BasicBlock::Create(ctx_, "found", fn_);
    BasicBlock* done = BasicBlock::Create(ctx_, "in", fn_);
    for (const Constant& c : list) {
      Value* same = equal(a, constant(c));
      BasicBlock* next = BasicBlock::Create(ctx_, "next", fn_);
      b_.CreateCondBr(same, found, next);
      b_.SetInsertPoint(next);
    }
    BasicBlock* missing = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(found);
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    llvm::PHINode* phi = b_.CreatePHI(b_.getInt1Ty(), 2);
    phi->addIncoming(b_.getInt1(false), missing);
    phi->addIncoming(b_.getInt1(true), found);
    return phi;
  }

  // a + b or a - b, exact: an error outside ±INT64_MAX.
  Value* add(const Slot& a, const Slot& c, bool subtract) {
    auto* wide = b_.getIntNTy(128);
    Value* x = b_.CreateSExt(a.num, wide);
    Value* y = b_.CreateSExt(c.num, wide);
    Value* r = subtract ? b_.CreateSub(x, y) : b_.CreateAdd(x, y);
    check(b_.CreateAnd(b_.CreateICmpSGE(r, llvm::ConstantInt::get(wide, -INT64_MAX, true)),
                       b_.CreateICmpSLE(r, llvm::ConstantInt::get(wide, INT64_MAX, true))));
    return b_.CreateTrunc(r, b_.getInt64Ty());
  }

  Value* host_arithmetic(const char* name, const Slot& a, const Slot& c) {
    auto callee = host(name, b_.getInt32Ty(), {b_.getInt64Ty(), b_.getInt64Ty(), b_.getInt64Ty()->getPointerTo()});
    Value* ok = b_.CreateCall(callee, {a.num, c.num, result_});
    check(b_.CreateICmpNE(ok, b_.getInt32(0)));
    return b_.CreateLoad(b_.getInt64Ty(), result_);
  }

  // ---- control flow ----------------------------------------------------------

  BasicBlock* block_at(std::uint32_t pc) {
    auto [it, added] = blocks_.try_emplace(pc, nullptr);
    if (added) it->second = BasicBlock::Create(ctx_, "at" + std::to_string(pc), fn_);
    return it->second;
  }

  // Joins the stacks that reach `pc` (jumps, and the code falling through).
  void join(std::uint32_t pc, std::vector<Slot>& stack, bool falls_through) {
    auto jumps = pending_.find(pc);
    if (jumps == pending_.end()) return;
    std::vector<Incoming> in = std::move(jumps->second);
    pending_.erase(jumps);
    BasicBlock* at = block_at(pc);
    if (falls_through) {
      in.push_back({b_.GetInsertBlock(), stack});
      b_.CreateBr(at);
    }
    b_.SetInsertPoint(at);
    stack.resize(in.front().stack.size());
    for (std::size_t i = 0; i < stack.size(); ++i) {
      auto merge = [&](Value* Slot::*part) {
        Value* first = in.front().stack[i].*part;
        bool same = true;
        for (const Incoming& e : in) same &= e.stack[i].*part == first;
        if (same) return first;
        llvm::PHINode* phi = b_.CreatePHI(first->getType(), static_cast<unsigned>(in.size()));
        for (const Incoming& e : in) phi->addIncoming(e.stack[i].*part, e.from);
        return static_cast<Value*>(phi);
      };
      stack[i] = {merge(&Slot::kind), merge(&Slot::num), merge(&Slot::ptr), merge(&Slot::len)};
    }
  }

  void walk(std::uint32_t pc) {
    std::vector<Slot> stack;
    auto u32 = [&](std::size_t at) { return p_.read<std::uint32_t>(at); };
    auto pop = [&] {
      Slot s = stack.back();
      stack.pop_back();
      return s;
    };
    bool live = true;  // the current block still runs on (not after a jump's end)
    for (;;) {
      join(pc, stack, live);
      live = true;
      Op op = static_cast<Op>(p_.code[pc]);
      switch (op) {
        case Op::PUSH_NUMBER:
          stack.push_back(number(b_.getInt64(p_.read<std::int64_t>(pc + 1))));
          break;
        case Op::PUSH_TEXT:
          stack.push_back(text(p_.texts[u32(pc + 1)]));
          break;
        case Op::PUSH_TRUE:
          stack.push_back(boolean(b_.getInt1(true)));
          break;
        case Op::PUSH_FALSE:
          stack.push_back(boolean(b_.getInt1(false)));
          break;
        case Op::PUSH_LIST:
          stack.push_back({b_.getInt8(kList), b_.getInt64(u32(pc + 1)), null_text(), b_.getInt64(0)});
          break;
        case Op::LOAD_METRIC:
          stack.push_back(number(metric(static_cast<Metric>(p_.code[pc + 1]))));
          break;
        case Op::DAYS_SINCE_JOIN:
          stack.push_back(number(days_since(layout_.joined_at)));
          break;
        case Op::DAYS_SINCE_ACTIVITY:
          stack.push_back(number(days_since(layout_.last_activity)));
          break;
        case Op::EVENT_FIELD:
          stack.push_back(field(kEventField, p_.texts[u32(pc + 1)]));
          break;
        case Op::PARTNER_FIELD:
          stack.push_back(field(kPartnerField, p_.texts[u32(pc + 1)]));
          break;
        case Op::TAGGED:
          stack.push_back(boolean(tagged(u32(pc + 1))));
          break;
        case Op::NOT: {
          Slot a = pop();
          check(is(a, kBoolean));
          stack.push_back(boolean(b_.CreateICmpEQ(a.num, b_.getInt64(0))));
          break;
        }
        case Op::NEGATE: {
          Slot a = pop();
          check(is(a, kNumber));
          stack.push_back(number(b_.CreateNeg(a.num)));  // the range is symmetric
          break;
        }
        case Op::EQ:
        case Op::NE: {
          Slot c = pop(), a = pop();
          Value* same = equal(a, c);
          stack.push_back(boolean(op == Op::EQ ? same : b_.CreateNot(same)));
          break;
        }
        case Op::LT:
        case Op::LE:
        case Op::GT:
        case Op::GE: {
          Slot c = pop(), a = pop();
          Value* sign = order(a, c);
          Value* zero = b_.getInt32(0);
          Value* r = op == Op::LT   ? b_.CreateICmpSLT(sign, zero)
                     : op == Op::LE ? b_.CreateICmpSLE(sign, zero)
                     : op == Op::GT ? b_.CreateICmpSGT(sign, zero)
                                    : b_.CreateICmpSGE(sign, zero);
          stack.push_back(boolean(r));
          break;
        }
        case Op::IN: {
          Slot list = pop(), a = pop();
          auto* index = llvm::cast<llvm::ConstantInt>(list.num);  // takes() saw PUSH_LIST
          stack.push_back(boolean(in_list(a, p_.lists[index->getZExtValue()])));
          break;
        }
        case Op::ADD:
        case Op::SUB:
        case Op::MUL:
        case Op::DIV: {
          Slot c = pop(), a = pop();
          check(b_.CreateAnd(is(a, kNumber), is(c, kNumber)));
          Value* r = op == Op::ADD   ? add(a, c, false)
                     : op == Op::SUB ? add(a, c, true)
                     : host_arithmetic(op == Op::MUL ? kMultiply : kDivide, a, c);
          stack.push_back(number(r));
          break;
        }
        case Op::AND_THEN:
        case Op::OR_ELSE: {
          // A boolean that decides the result jumps over the right side, kept.
          const Slot& top = stack.back();
          check(is(top, kBoolean));
          std::uint32_t target = u32(pc + 1);
          Value* decides = op == Op::AND_THEN ? b_.CreateICmpEQ(top.num, b_.getInt64(0))
                                              : b_.CreateICmpNE(top.num, b_.getInt64(0));
          pending_[target].push_back({b_.GetInsertBlock(), stack});
          BasicBlock* right = BasicBlock::Create(ctx_, "right", fn_);
          b_.CreateCondBr(decides, block_at(target), right);
          b_.SetInsertPoint(right);
          stack.pop_back();
          break;
        }
        case Op::EXPECT_BOOL:
          check(is(stack.back(), kBoolean));
          break;
        case Op::RETURN: {
          Slot a = pop();
          check(is(a, kBoolean));
          b_.CreateCondBr(b_.CreateICmpNE(a.num, b_.getInt64(0)), yes_, no_);
          return;
        }
        default:
          return;  // takes() let no other opcode through
      }
      pc += static_cast<std::uint32_t>(op_info(op).size);
    }
  }

  llvm::Module& m_;
  const Program& p_;
  const NativeLayout& layout_;
  std::deque<std::string>& texts_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  llvm::Function* fn_ = nullptr;
  Value* frame_ = nullptr;
  Value* partner_ = nullptr;
  llvm::AllocaInst* out_ = nullptr;
  llvm::AllocaInst* result_ = nullptr;
  BasicBlock* entry_ = nullptr;
  BasicBlock* body_ = nullptr;
  llvm::Instruction* entry_end_ = nullptr;  // hoisted code goes before it
  BasicBlock *yes_ = nullptr, *no_ = nullptr, *error_ = nullptr;
  bool hoist_fields_ = false;
  std::map<std::string, std::pair<Value*, Slot>> fields_;  // hoisted: found, value
  std::map<std::uint32_t, BasicBlock*> blocks_;
  std::map<std::uint32_t, std::vector<Incoming>> pending_;
};

}  // namespace

std::string guard_name(RuleId rule) {
  return "ptag_guard_" + std::to_string(rule);
}

bool emit_guard(llvm::Module& module, const Program& program, std::uint32_t pc, RuleId rule,
                const NativeLayout& layout, std::deque<std::string>& texts) {
  return GuardEmitter(module, program, layout, texts).emit(pc, rule);
}

bool emit_rules(llvm::Module& module, const Program& program, const std::string& name,
                std::span<const RuleId> rules, std::span<const RuleId> others, const NativeLayout& layout,
                std::deque<std::string>& texts) {
  return GuardEmitter(module, program, layout, texts).emit_rules(name, rules, others);
}

}  // namespace ptag::jit
