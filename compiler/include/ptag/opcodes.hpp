// The bytecode: one list of opcodes generates the enum, the names, operand
// sizes, the VM's dispatch table and the disassembler.
//
// Format. A Program's `code` is one byte array. Every rule has a guard (an
// entry pc; the code ends with RETURN) unless it has none, and actions (an
// entry pc; the code ends with END). An instruction is its opcode byte, then
// its operands, little-endian, in the order the operand string names them:
//   u8   1 byte: a metric (0 signups, 1 customers, 2 revenue, 3 sales, 4 clicks, 5 commissions)
//   u32  4 bytes: an index into a Program table (tags, texts, lists) or an absolute jump target
//   i64  8 bytes: a number in millionths (docs/events.md, "Numbers and amounts"), or a duration in seconds
// Guards run on a value stack; an error (missing field, kind mismatch,
// x / 0, overflow) stops the guard, which is then false and counted (docs/language.md, "Guards").
// Limits: code, tables and jump targets fit in 32 bits; the stack holds
// kMaxStack values (the grammar's nesting limit keeps guards far below it).
#pragma once

#include <cstdint>
#include <string_view>

namespace ptag {

#define PTAG_OPCODES(OP)                                                                     \
  OP(PUSH_NUMBER, "i64", "push a number (millionths)")                                       \
  OP(PUSH_TEXT, "u32", "push text #i of the text table")                                     \
  OP(PUSH_TRUE, "", "push true")                                                             \
  OP(PUSH_FALSE, "", "push false")                                                           \
  OP(PUSH_LIST, "u32", "push list #i of the list table")                                     \
  OP(LOAD_METRIC, "u8", "push a metric of the partner")                                      \
  OP(DAYS_SINCE_JOIN, "", "push whole days from joined_at to the clock")                     \
  OP(DAYS_SINCE_ACTIVITY, "", "push whole days from last_activity to the clock")             \
  OP(EVENT_FIELD, "u32", "push the event's data field named by text #i (error if missing)")  \
  OP(PARTNER_FIELD, "u32", "push the partner attribute named by text #i (error if missing)") \
  OP(TAGGED, "u32", "push whether the partner has tag #i")                                   \
  OP(NOT, "", "negate a boolean")                                                            \
  OP(NEGATE, "", "negate a number")                                                          \
  OP(EQ, "", "a == b (same kinds)")                                                          \
  OP(NE, "", "a != b (same kinds)")                                                          \
  OP(LT, "", "a < b (numbers, or texts by bytes)")                                           \
  OP(LE, "", "a <= b")                                                                       \
  OP(GT, "", "a > b")                                                                        \
  OP(GE, "", "a >= b")                                                                       \
  OP(IN, "", "a in list b: like a == e1 or a == e2 ..., left to right")                      \
  OP(ADD, "", "a + b, exact")                                                                \
  OP(SUB, "", "a - b, exact")                                                                \
  OP(MUL, "", "a * b, rounded half-to-even to six digits")                                   \
  OP(DIV, "", "a / b, rounded half-to-even to six digits")                                   \
  OP(AND_THEN, "u32", "false: jump to the target keeping it; true: pop it")                  \
  OP(OR_ELSE, "u32", "true: jump to the target keeping it; false: pop it")                   \
  OP(EXPECT_BOOL, "", "error unless the top is a boolean")                                   \
  OP(RETURN, "", "end of a guard: the top is its result")                                    \
  OP(ADD_TAG, "u32", "add tag #i")                                                           \
  OP(ADD_TAG_FOR, "u32 i64", "add tag #i, removed again after i64 seconds")                  \
  OP(REMOVE_TAG, "u32", "remove tag #i")                                                     \
  OP(EMIT, "u32", "send notification text #i to the sinks")                                  \
  OP(END, "", "end of a rule's actions")

enum class Op : std::uint8_t {
#define PTAG_OP_ENUM(name, operands, doc) name,
  PTAG_OPCODES(PTAG_OP_ENUM)
#undef PTAG_OP_ENUM
};

inline constexpr std::size_t kOpCount = 0
#define PTAG_OP_COUNT(name, operands, doc) +1
    PTAG_OPCODES(PTAG_OP_COUNT)
#undef PTAG_OP_COUNT
    ;

inline constexpr std::size_t kMaxStack = 256;

// Bytes an operand string takes: "u32 i64" -> 12.
constexpr std::size_t operand_bytes(std::string_view operands) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < operands.size(); ++i) {
    if (operands.substr(i, 2) == "u8") total += 1;
    if (operands.substr(i, 3) == "u32") total += 4;
    if (operands.substr(i, 3) == "i64") total += 8;
  }
  return total;
}

struct OpInfo {
  std::string_view name;
  std::string_view operands;
  std::string_view doc;
  std::size_t size;  // opcode byte plus operands
};

inline constexpr OpInfo kOps[] = {
#define PTAG_OP_INFO(name, operands, doc) {#name, operands, doc, 1 + operand_bytes(operands)},
    PTAG_OPCODES(PTAG_OP_INFO)
#undef PTAG_OP_INFO
};

constexpr const OpInfo& op_info(Op op) {
  return kOps[static_cast<std::size_t>(op)];
}

}  // namespace ptag
