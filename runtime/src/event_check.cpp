#include "event_check.hpp"

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
bool valid_event(const Event& e, EventType type, std::int64_t& amount, std::string* why) {
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
  }
  return true;
}

}  // namespace ptag
