// The guard interpreter: a stack machine over the opcodes of opcodes.hpp.
// Dispatch is a switch, or computed goto where the compiler has it.
#include <cassert>

#include "ptag/decimal.hpp"
#include "state.hpp"

#if defined(__GNUC__) && !defined(PTAG_NO_COMPUTED_GOTO)
#define PTAG_COMPUTED_GOTO 1
#pragma GCC diagnostic ignored "-Wpedantic"
#else
#define PTAG_COMPUTED_GOTO 0
#endif

namespace ptag {
namespace {

__extension__ typedef __int128 Wide;

bool fits(Wide v) {
  return v >= -INT64_MAX && v <= INT64_MAX;
}

// num / den rounded half-to-even (§9.16).
Wide divide_half_even(Wide num, Wide den) {
  Wide q = num / den, r = num % den;
  if (r == 0) return q;
  Wide twice = (r < 0 ? -r : r) * 2, whole = den < 0 ? -den : den;
  Wide step = ((num < 0) != (den < 0)) ? -1 : 1;
  if (twice > whole || (twice == whole && (q % 2 != 0))) q += step;
  return q;
}

Value number(std::int64_t n) {
  return {Value::Kind::number, n, {}};
}
Value boolean(bool b) {
  return {Value::Kind::boolean, b ? 1 : 0, {}};
}

Value of(const Program& p, const Constant& c) {
  switch (c.kind) {
    case Constant::Kind::number:
      return number(c.number);
    case Constant::Kind::boolean:
      return boolean(c.number != 0);
    case Constant::Kind::text:
      return {Value::Kind::text, 0, p.texts[c.text]};
  }
  return {};
}

// -1 error, else the comparison's sign. Numbers, or texts by bytes.
int order(const Value& a, const Value& b, bool* ok) {
  *ok = a.kind == b.kind && (a.kind == Value::Kind::number || a.kind == Value::Kind::text);
  if (!*ok) return 0;
  if (a.kind == Value::Kind::number) return a.number < b.number ? -1 : a.number > b.number;
  int c = a.text.compare(b.text);
  return c < 0 ? -1 : c > 0;
}

// Equality of two values of one kind; false in `*ok` when the kinds differ.
bool equal(const Value& a, const Value& b, bool* ok) {
  *ok = a.kind == b.kind && a.kind != Value::Kind::list;
  if (!*ok) return false;
  return a.kind == Value::Kind::text ? a.text == b.text : a.number == b.number;
}


}  // namespace

bool exact_multiply(std::int64_t a, std::int64_t b, std::int64_t* out) {
  Wide r = divide_half_even(Wide(a) * b, kMillion);
  if (!fits(r)) return false;
  *out = static_cast<std::int64_t>(r);
  return true;
}

bool exact_divide(std::int64_t a, std::int64_t b, std::int64_t* out) {
  if (b == 0) return false;
  Wide r = divide_half_even(Wide(a) * kMillion, b);
  if (!fits(r)) return false;
  *out = static_cast<std::int64_t>(r);
  return true;
}

int evaluate_guard(const Program& p, std::uint32_t start, const PartnerView& view,
                   const Event* event, Seconds now) {
  // Raw storage: constructing kMaxStack values on every call would cost more
  // than most guards.
  alignas(Value) unsigned char storage[sizeof(Value) * kMaxStack];
  Value* stack = reinterpret_cast<Value*>(storage);
  std::size_t sp = 0;  // number of values on the stack
  std::size_t pc = start;
  const std::uint8_t* code = p.code.data();
  auto u32 = [&](std::size_t at) { return p.read<std::uint32_t>(at); };

#if PTAG_COMPUTED_GOTO
  static const void* const kLabels[] = {
#define PTAG_LABEL(name, operands, doc) &&op_##name,
      PTAG_OPCODES(PTAG_LABEL)
#undef PTAG_LABEL
  };
#define VM_CASE(name) op_##name:
#define VM_NEXT(name)           \
  pc += op_info(Op::name).size; \
  goto* kLabels[code[pc]]
  goto* kLabels[code[pc]];
#else
#define VM_CASE(name) case Op::name:
#define VM_NEXT(name)           \
  pc += op_info(Op::name).size; \
  continue
  for (;;) switch (static_cast<Op>(code[pc])) {
#endif

  VM_CASE(PUSH_NUMBER) {
    stack[sp++] = number(p.read<std::int64_t>(pc + 1));
    VM_NEXT(PUSH_NUMBER);
  }
  VM_CASE(PUSH_TEXT) {
    stack[sp++] = {Value::Kind::text, 0, p.texts[u32(pc + 1)]};
    VM_NEXT(PUSH_TEXT);
  }
  VM_CASE(PUSH_TRUE) {
    stack[sp++] = boolean(true);
    VM_NEXT(PUSH_TRUE);
  }
  VM_CASE(PUSH_FALSE) {
    stack[sp++] = boolean(false);
    VM_NEXT(PUSH_FALSE);
  }
  VM_CASE(PUSH_LIST) {
    stack[sp++] = {Value::Kind::list, u32(pc + 1), {}};
    VM_NEXT(PUSH_LIST);
  }
  VM_CASE(LOAD_METRIC) {
    stack[sp++] = number(metric_value(view.partner, static_cast<Metric>(code[pc + 1])));
    VM_NEXT(LOAD_METRIC);
  }
  VM_CASE(DAYS_SINCE_JOIN) {
    stack[sp++] = number(whole_days(view.partner.joined_at, now));
    VM_NEXT(DAYS_SINCE_JOIN);
  }
  VM_CASE(DAYS_SINCE_ACTIVITY) {
    stack[sp++] = number(whole_days(view.partner.last_activity, now));
    VM_NEXT(DAYS_SINCE_ACTIVITY);
  }
  VM_CASE(EVENT_FIELD) {
    const Field* f = event ? event->field(p.texts[u32(pc + 1)]) : nullptr;
    if (!f) return -1;
    stack[sp++] = f->value;
    VM_NEXT(EVENT_FIELD);
  }
  VM_CASE(PARTNER_FIELD) {
    const Attribute* a = view.attribute(p.texts[u32(pc + 1)]);
    if (!a) return -1;
    stack[sp++] = {a->kind, a->number, a->text};
    VM_NEXT(PARTNER_FIELD);
  }
  VM_CASE(TAGGED) {
    stack[sp++] = boolean(view.has(u32(pc + 1)));
    VM_NEXT(TAGGED);
  }
  VM_CASE(NOT) {
    if (stack[sp - 1].kind != Value::Kind::boolean) return -1;
    stack[sp - 1].number = !stack[sp - 1].number;
    VM_NEXT(NOT);
  }
  VM_CASE(NEGATE) {
    if (stack[sp - 1].kind != Value::Kind::number) return -1;
    stack[sp - 1].number = -stack[sp - 1].number;  // the range is symmetric
    VM_NEXT(NEGATE);
  }
#define PTAG_EQUALITY(name, negated)                      \
  VM_CASE(name) {                                         \
    bool ok;                                              \
    bool same = equal(stack[sp - 2], stack[sp - 1], &ok); \
    if (!ok) return -1;                                   \
    stack[sp - 2] = boolean(negated ? !same : same);      \
    --sp;                                                 \
    VM_NEXT(name);                                        \
  }
  PTAG_EQUALITY(EQ, false)
  PTAG_EQUALITY(NE, true)
#undef PTAG_EQUALITY
#define PTAG_ORDERING(name, test)                     \
  VM_CASE(name) {                                     \
    bool ok;                                          \
    int c = order(stack[sp - 2], stack[sp - 1], &ok); \
    if (!ok) return -1;                               \
    stack[sp - 2] = boolean(test);                    \
    --sp;                                             \
    VM_NEXT(name);                                    \
  }
  PTAG_ORDERING(LT, c < 0)
  PTAG_ORDERING(LE, c <= 0)
  PTAG_ORDERING(GT, c > 0)
  PTAG_ORDERING(GE, c >= 0)
#undef PTAG_ORDERING
  VM_CASE(IN) {
    const Value& list = stack[sp - 1];
    if (list.kind != Value::Kind::list) return -1;
    bool found = false;
    for (const Constant& c : p.lists[static_cast<std::size_t>(list.number)]) {
      bool ok;
      found = equal(stack[sp - 2], of(p, c), &ok);
      if (!ok) return -1;  // an element of another kind, reached before a match
      if (found) break;
    }
    stack[sp - 2] = boolean(found);
    --sp;
    VM_NEXT(IN);
  }
#define PTAG_ARITHMETIC(name, expression)                                          \
  VM_CASE(name) {                                                                  \
    const Value &a = stack[sp - 2], &b = stack[sp - 1];                            \
    if (a.kind != Value::Kind::number || b.kind != Value::Kind::number) return -1; \
    Wide x = a.number, y = b.number;                                               \
    (void)x;                                                                       \
    (void)y;                                                                       \
    Wide r = expression;                                                           \
    if (!fits(r)) return -1;                                                       \
    stack[sp - 2] = number(static_cast<std::int64_t>(r));                          \
    --sp;                                                                          \
    VM_NEXT(name);                                                                 \
  }
  PTAG_ARITHMETIC(ADD, x + y)
  PTAG_ARITHMETIC(SUB, x - y)
#undef PTAG_ARITHMETIC
#define PTAG_ROUNDED(name, function)                                               \
  VM_CASE(name) {                                                                  \
    const Value &a = stack[sp - 2], &b = stack[sp - 1];                            \
    if (a.kind != Value::Kind::number || b.kind != Value::Kind::number) return -1; \
    std::int64_t r = 0;                                                            \
    if (!function(a.number, b.number, &r)) return -1;                              \
    stack[sp - 2] = number(r);                                                     \
    --sp;                                                                          \
    VM_NEXT(name);                                                                 \
  }
  PTAG_ROUNDED(MUL, exact_multiply)
  PTAG_ROUNDED(DIV, exact_divide)
#undef PTAG_ROUNDED
#if PTAG_COMPUTED_GOTO
#define VM_JUMP goto* kLabels[code[pc]]
#else
#define VM_JUMP continue
#endif
// and / or: a boolean that decides the result jumps over the right side,
// keeping it; the other value is popped and the right side runs (§9.15).
#define PTAG_SHORT_CIRCUIT(name, decides)                      \
  VM_CASE(name) {                                              \
    if (stack[sp - 1].kind != Value::Kind::boolean) return -1; \
    if ((stack[sp - 1].number != 0) == (decides)) {            \
      pc = u32(pc + 1);                                        \
      VM_JUMP;                                                 \
    }                                                          \
    --sp;                                                      \
    VM_NEXT(name);                                             \
  }
  PTAG_SHORT_CIRCUIT(AND_THEN, false)
  PTAG_SHORT_CIRCUIT(OR_ELSE, true)
#undef PTAG_SHORT_CIRCUIT
#undef VM_JUMP
  VM_CASE(EXPECT_BOOL) {
    if (stack[sp - 1].kind != Value::Kind::boolean) return -1;
    VM_NEXT(EXPECT_BOOL);
  }
  VM_CASE(RETURN) {
    if (stack[sp - 1].kind != Value::Kind::boolean) return -1;
    return stack[sp - 1].number ? 1 : 0;
  }
  VM_CASE(ADD_TAG)
  VM_CASE(ADD_TAG_FOR)
  VM_CASE(REMOVE_TAG)
  VM_CASE(EMIT)
  VM_CASE(END) {
    assert(false && "an action opcode inside a guard");
    return -1;
  }
#if !PTAG_COMPUTED_GOTO
}
#endif
}

}  // namespace ptag
