// The human message of every `must<>` point of the grammar.
#pragma once

#include "grammar.hpp"

namespace ptag::grammar {

template <typename Rule>
inline constexpr const char* error_message = nullptr;

#define PTAG_SYNTAX_ERROR(rule, text) \
  template <>                         \
  inline constexpr const char* error_message<rule> = text

PTAG_SYNTAX_ERROR(escape_char, "unknown escape in a string; use \\\" \\\\ \\n or \\t");
PTAG_SYNTAX_ERROR(string_close, "unterminated string: add a closing '\"' on the same line");
PTAG_SYNTAX_ERROR(fraction_digits, "expected digits after the decimal point");
PTAG_SYNTAX_ERROR(duration_unit, "expected a unit after the number: s, m, h, d or w (as in 30d)");
PTAG_SYNTAX_ERROR(list_next, "expected a value after ',' in the list");
PTAG_SYNTAX_ERROR(list_close, "expected ',' or ']' to close the list");
PTAG_SYNTAX_ERROR(paren_inner, "expected a condition or a value after '('");
PTAG_SYNTAX_ERROR(paren_close, "expected ')' to close the '('");
PTAG_SYNTAX_ERROR(tagged_tag, "expected a tag name in quotes after 'tagged'");
PTAG_SYNTAX_ERROR(event_field_name, "expected a field name after 'event.' (as in event.amount)");
PTAG_SYNTAX_ERROR(partner_field_name,
                  "expected a field name after 'partner.' (as in partner.country)");
PTAG_SYNTAX_ERROR(negate_operand, "expected a value after '-'");
PTAG_SYNTAX_ERROR(mul_operand, "expected a value after the operator");
PTAG_SYNTAX_ERROR(add_operand, "expected a value after the operator");
PTAG_SYNTAX_ERROR(cmp_operand, "expected a value after the comparison");
PTAG_SYNTAX_ERROR(in_operand, "expected a list after 'in' (as in [\"DE\", \"AT\"])");
PTAG_SYNTAX_ERROR(use_double_equals, "'=' is not a comparison; use '==' to compare values");
PTAG_SYNTAX_ERROR(not_operand, "expected a condition after 'not'");
PTAG_SYNTAX_ERROR(and_operand, "expected a condition after 'and'");
PTAG_SYNTAX_ERROR(or_operand, "expected a condition after 'or'");
PTAG_SYNTAX_ERROR(milestone_metric,
                  "expected a metric after 'milestone' (signups, customers, revenue, sales, clicks "
                  "or commissions)");
PTAG_SYNTAX_ERROR(
    milestone_at_least,
    "expected '>=' after the metric: a milestone fires when the metric reaches a threshold");
PTAG_SYNTAX_ERROR(milestone_value, "expected a threshold (a number or a constant) after '>='");
PTAG_SYNTAX_ERROR(timer_duration, "expected a duration after the trigger, such as 30d, 12h or 2w");
PTAG_SYNTAX_ERROR(trigger_text,
                  "expected a name in quotes after the trigger (as in event \"contract.signed\" or "
                  "tag_added \"VIP\")");
PTAG_SYNTAX_ERROR(tag_next, "expected another tag name in quotes after ','");
PTAG_SYNTAX_ERROR(add_tags, "expected a tag name in quotes after 'add'");
PTAG_SYNTAX_ERROR(expiry_duration, "expected a duration after 'for', such as 7d");
PTAG_SYNTAX_ERROR(remove_tags, "expected a tag name in quotes after 'remove'");
PTAG_SYNTAX_ERROR(emit_name, "expected a notification name in quotes after 'emit'");
PTAG_SYNTAX_ERROR(guard_expr, "expected a condition after 'when'");
PTAG_SYNTAX_ERROR(on_trigger,
                  "expected a trigger after 'on' (join, sale, first_sale, milestone revenue >= "
                  "5000, inactive 30d, ...)");
PTAG_SYNTAX_ERROR(first_action, "expected an action: add \"TAG\", remove \"TAG\" or emit \"NAME\"");
PTAG_SYNTAX_ERROR(rule_name, "expected the rule's name in quotes after 'rule'");
PTAG_SYNTAX_ERROR(named_on, "expected 'on' and a trigger after the rule's name");
PTAG_SYNTAX_ERROR(let_name, "expected a constant's name after 'let'");
PTAG_SYNTAX_ERROR(let_equals, "expected '=' after the constant's name");
PTAG_SYNTAX_ERROR(let_value_after,
                  "expected a value after '=': a number, a text in quotes, true, false or a list");
PTAG_SYNTAX_ERROR(exclusive_tags, "expected tag names in quotes after 'exclusive'");
PTAG_SYNTAX_ERROR(import_path, "expected a file name in quotes after 'import'");
PTAG_SYNTAX_ERROR(field_colon, "expected ':' after the field name");
PTAG_SYNTAX_ERROR(field_value_after,
                  "expected a value after ':' (a number, a text in quotes, true or false)");
PTAG_SYNTAX_ERROR(field_next, "expected a field (name: value) after ','");
PTAG_SYNTAX_ERROR(fields_close, "expected ',' or '}' to close the fields");
PTAG_SYNTAX_ERROR(step_partner, "expected the partner's id in quotes");
PTAG_SYNTAX_ERROR(custom_type, "expected the custom event's type in quotes after 'event'");
PTAG_SYNTAX_ERROR(at_what,
                  "expected an event (join, sale, event \"NAME\", ...) or 'tick' after the time");
PTAG_SYNTAX_ERROR(step_time,
                  "expected a time after 'at', such as 2026-01-01 or 2026-01-01T10:00:00Z");
PTAG_SYNTAX_ERROR(has_tag, "expected a tag name in quotes");
PTAG_SYNTAX_ERROR(tags_after,
                  "expected a list of tag names after 'tags' (as in [\"Proven\", \"VIP\"])");
PTAG_SYNTAX_ERROR(metric_value, "expected a number after the comparison");
PTAG_SYNTAX_ERROR(
    expectation,
    "expected has \"TAG\", lacks \"TAG\", tags [...] or a metric comparison after the partner");
PTAG_SYNTAX_ERROR(record_tag, "expected a tag or notification name in quotes");
PTAG_SYNTAX_ERROR(record_rule, "expected the rule's name in quotes after 'by'");
PTAG_SYNTAX_ERROR(record_next,
                  "expected a record (add \"T\", remove \"T\" or emit \"N\") after ','");
PTAG_SYNTAX_ERROR(records_after,
                  "expected a list of records after 'records' (as in [add \"VIP\"])");
PTAG_SYNTAX_ERROR(records_after_no, "expected 'records' after 'expect no'");
PTAG_SYNTAX_ERROR(rejected_reason,
                  "expected part of the rejection's reason in quotes after 'rejected' (as in "
                  "rejected \"negative\")");
PTAG_SYNTAX_ERROR(expect_what,
                  "expected a partner id in quotes, 'records [...]', 'no records' or 'rejected "
                  "\"...\"' after 'expect'");
PTAG_SYNTAX_ERROR(test_name, "expected the test's name in quotes after 'test'");
PTAG_SYNTAX_ERROR(test_open, "expected '{' to open the test's steps");
PTAG_SYNTAX_ERROR(test_close,
                  "expected a step ('at ...' or 'expect ...') or '}' to close the test");
PTAG_SYNTAX_ERROR(currency_value, "expected the currency's ISO 4217 code in quotes (as in currency \"EUR\")");
PTAG_SYNTAX_ERROR(timezone_value, "expected the time zone's name in quotes (as in timezone \"Europe/Berlin\")");
PTAG_SYNTAX_ERROR(expected_item,
                  "expected a rule ('on TRIGGER ...' or 'rule \"NAME\"'), 'let', 'exclusive', "
                  "'import', 'test', 'currency' or 'timezone'");
PTAG_SYNTAX_ERROR(segment_end, "expected an operator or the end of the condition");
PTAG_SYNTAX_ERROR(end_of_items,
                  "expected a rule ('on TRIGGER ...' or 'rule \"NAME\"'), 'let', 'exclusive', "
                  "'import', 'test', 'currency' or 'timezone'");

#undef PTAG_SYNTAX_ERROR

struct syntax_errors {
  template <typename Rule>
  static constexpr const char* message = error_message<Rule>;
};

template <typename Rule>
using control = must_if<syntax_errors>::control<Rule>;

}  // namespace ptag::grammar
