#include <fmt/format.h>

#include "ptag/program.hpp"
#include "ptag/text.hpp"

namespace ptag {
namespace {

std::string constant_text(const Program& p, const Constant& c) {
  switch (c.kind) {
    case Constant::Kind::number:
      return fmt::format("{}", c.number);
    case Constant::Kind::text:
      return json_quote(p.texts[c.text]);
    case Constant::Kind::boolean:
      return c.number ? "true" : "false";
  }
  return "?";
}

// One instruction at `pc`, with a comment naming what its operands index.
std::string instruction(const Program& p, std::size_t pc) {
  Op op = static_cast<Op>(p.code[pc]);
  const OpInfo& info = op_info(op);
  std::string out = fmt::format("    {:04}  {}", pc, info.name);
  std::string note;
  std::size_t at = pc + 1;
  switch (op) {
    case Op::PUSH_NUMBER:
      out += fmt::format(" {}", p.read<std::int64_t>(at));
      break;
    case Op::PUSH_TEXT:
    case Op::EVENT_FIELD:
    case Op::PARTNER_FIELD:
    case Op::EMIT: {
      auto i = p.read<std::uint32_t>(at);
      out += fmt::format(" {}", i);
      note = json_quote(p.texts[i]);
      break;
    }
    case Op::PUSH_LIST: {
      auto i = p.read<std::uint32_t>(at);
      out += fmt::format(" {}", i);
      for (const Constant& c : p.lists[i])
        note += (note.empty() ? "[" : ", ") + constant_text(p, c);
      note += note.empty() ? "[]" : "]";
      break;
    }
    case Op::LOAD_METRIC: {
      auto m = p.code[at];
      out += fmt::format(" {}", m);
      note = std::string(metric_name(static_cast<Metric>(m)));
      break;
    }
    case Op::TAGGED:
    case Op::ADD_TAG:
    case Op::REMOVE_TAG:
    case Op::ADD_TAG_FOR: {
      auto i = p.read<std::uint32_t>(at);
      out += fmt::format(" {}", i);
      if (op == Op::ADD_TAG_FOR) out += fmt::format(" {}", p.read<std::int64_t>(at + 4));
      note = json_quote(p.tags[i]);
      if (op == Op::ADD_TAG_FOR) note += fmt::format(" for {}s", p.read<std::int64_t>(at + 4));
      break;
    }
    case Op::AND_THEN:
    case Op::OR_ELSE:
      out += fmt::format(" {:04}", p.read<std::uint32_t>(at));
      break;
    default:
      break;
  }
  if (!note.empty())
    out += fmt::format("{}; {}", std::string(out.size() < 36 ? 36 - out.size() : 1, ' '), note);
  return out + "\n";
}

void block(std::string& out, const Program& p, std::size_t pc, Op last) {
  for (;;) {
    out += instruction(p, pc);
    Op op = static_cast<Op>(p.code[pc]);
    if (op == last) return;
    pc += op_info(op).size;
  }
}

}  // namespace

std::string disassemble(const Program& p) {
  std::string out =
      fmt::format("program: {} rules, {} tags, {} texts, {} lists, {} code bytes\n", p.rules.size(),
                  p.tags.size(), p.texts.size(), p.lists.size(), p.code.size());
  if (!p.currency.empty()) out += "currency " + p.currency + "\n";
  if (p.timezone != "UTC") out += "timezone " + p.timezone + "\n";
  for (std::size_t i = 0; i < p.tags.size(); ++i)
    out += fmt::format("tag {} {}\n", i, json_quote(p.tags[i]));
  for (std::size_t g = 0; g < p.exclusive_groups.size(); ++g) {
    out += fmt::format("exclusive {}:", g);
    for (TagId t : p.exclusive_groups[g]) out += fmt::format(" {}", t);
    out += "\n";
  }
  for (std::size_t r = 0; r < p.rules.size(); ++r) {
    const ProgramRule& rule = p.rules[r];
    out += fmt::format("rule {} {} {}\n", r, json_quote(rule.name), rule.trigger_text);
    if (rule.guard != kNone) {
      out += "  when\n";
      block(out, p, rule.guard, Op::RETURN);
    }
    out += "  do\n";
    block(out, p, rule.actions, Op::END);
  }
  return out;
}

}  // namespace ptag
