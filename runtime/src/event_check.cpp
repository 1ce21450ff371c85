#include "event_check.hpp"

#include <algorithm>
#include <utility>

#include "ptag/decimal.hpp"
#include "ptag/text.hpp"

namespace ptag {
namespace {

bool invalid(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return false;
}

}  // namespace

// Sales, refunds and commissions need a non-negative number (§2): money
// taken back is a refund, never a negative amount.
std::string_view event_currency(const Event& e) {
  const Field* f = e.field("currency");
  return f && f->value.kind == Value::Kind::text ? f->value.text : std::string_view();
}

bool valid_event(const Event& e, EventType type, std::int64_t& amount, std::string* why, std::string_view currency) {
  if (e.type.empty()) return invalid(why, "\"type\" is empty");
  if (e.partner.empty()) return invalid(why, "\"partner\" is empty");
  if (type == EventType::sale || type == EventType::refund || type == EventType::commission) {
    const Field* f = e.field("amount");
    if (!f) {
      return invalid(why, "\"data.amount\" is missing (a " + std::string(e.type) +
                              " needs a numeric amount)");
    }
    switch (f->value.kind) {
      case Value::Kind::number:
        break;
      case Value::Kind::text:
        return invalid(why, "\"data.amount\" is a string (" + json_quote(f->value.text) +
                                "); write a JSON number");
      default:
        return invalid(why, "\"data.amount\" is a boolean; write a JSON number");
    }
    if (f->value.number < 0) {
      return invalid(why, "\"data.amount\" is negative (" + format_decimal(f->value.number) +
                              "); money taken back is a refund with a positive amount");
    }
    amount = f->value.number;
    // Compared without case; a currency that is not a string is not checked.
    std::string_view given = event_currency(e);
    auto upper = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; };
    if (!currency.empty() && !given.empty() &&
        !std::equal(given.begin(), given.end(), currency.begin(), currency.end(),
                    [&](char a, char b) { return upper(a) == b; })) {
      return invalid(why, "currency " + std::string(given) + " differs from the program's " + std::string(currency) +
                              "; convert amounts before sending");
    }
  }
  return true;
}

}  // namespace ptag
