// The PEGTL grammar of ptag (language.md §3, §8, §9.17-18). Private to the
// grammar module: nothing outside parser.cpp includes PEGTL.
//
// Conventions: `sep` (white space and comments) comes before every token;
// every `must<>` point names a wrapper rule (`struct X : seq<...>`) whose
// error message is in errors.hpp, so wrappers stay out of the parse tree.
#pragma once

#include <tao/pegtl.hpp>

namespace ptag::grammar {

using namespace tao::pegtl;

// ---- layout ---------------------------------------------------------------
struct comment : seq<one<'#'>, star<not_one<'\n'>>> {};
struct ws : sor<one<' ', '\t', '\r', '\n'>, comment> {};
struct sep : star<ws> {};

// ---- keywords and names ---------------------------------------------------
struct kw_on : TAO_PEGTL_KEYWORD("on") {};
struct kw_rule : TAO_PEGTL_KEYWORD("rule") {};
struct kw_when : TAO_PEGTL_KEYWORD("when") {};
struct kw_add : TAO_PEGTL_KEYWORD("add") {};
struct kw_remove : TAO_PEGTL_KEYWORD("remove") {};
struct kw_emit : TAO_PEGTL_KEYWORD("emit") {};
struct kw_for : TAO_PEGTL_KEYWORD("for") {};
struct kw_let : TAO_PEGTL_KEYWORD("let") {};
struct kw_exclusive : TAO_PEGTL_KEYWORD("exclusive") {};
struct kw_import : TAO_PEGTL_KEYWORD("import") {};
struct kw_test : TAO_PEGTL_KEYWORD("test") {};
struct kw_and : TAO_PEGTL_KEYWORD("and") {};
struct kw_or : TAO_PEGTL_KEYWORD("or") {};
struct kw_not : TAO_PEGTL_KEYWORD("not") {};
struct kw_in : TAO_PEGTL_KEYWORD("in") {};
struct kw_tagged : TAO_PEGTL_KEYWORD("tagged") {};
struct kw_true : TAO_PEGTL_KEYWORD("true") {};
struct kw_false : TAO_PEGTL_KEYWORD("false") {};
struct kw_event : TAO_PEGTL_KEYWORD("event") {};
struct kw_partner : TAO_PEGTL_KEYWORD("partner") {};

struct reserved : sor<kw_on, kw_rule, kw_when, kw_add, kw_remove, kw_emit, kw_for, kw_let,
                      kw_exclusive, kw_import, kw_test, kw_and, kw_or, kw_not, kw_in, kw_tagged,
                      kw_true, kw_false, kw_event, kw_partner> {};
struct name : seq<not_at<reserved>, identifier> {};

// ---- literals -------------------------------------------------------------
struct escape_char : one<'"', '\\', 'n', 't'> {};
struct string_close : one<'"'> {};
struct escape : seq<one<'\\'>, must<escape_char>> {};
struct string_lit
    : seq<one<'"'>, star<sor<escape, not_one<'"', '\\', '\n', '\r'>>>, must<string_close>> {};

struct fraction_digits : plus<digit> {};
struct number : seq<plus<digit>, opt<one<'.'>, must<fraction_digits>>, not_at<identifier_other>> {};
// A number that may carry its sign: thresholds, constants, list elements, fields.
struct signed_number : seq<opt<one<'-'>>, number> {};
struct true_lit : kw_true {};
struct false_lit : kw_false {};
struct boolean : sor<true_lit, false_lit> {};

struct duration_unit : identifier {};
struct duration : seq<plus<digit>, must<duration_unit>> {};

struct two_digits : rep<2, digit> {};
// The grammar takes a time of day with a space instead of 'T', without seconds
// or without a zone, so the parser can say what is missing (E003) instead of
// a syntax error at the next word.
struct clock_sep : sor<one<'T', 't'>, plus<one<' '>>> {};
struct clock_zone
    : sor<one<'Z', 'z'>, seq<one<'+', '-'>, two_digits, opt<opt<one<':'>>, two_digits>>> {};
struct clock_time : seq<clock_sep, two_digits, one<':'>, two_digits, opt<one<':'>, two_digits>,
                        opt<one<'.'>, plus<digit>>, opt<clock_zone>> {};
struct time_lit : seq<rep<4, digit>, one<'-'>, two_digits, one<'-'>, two_digits, opt<clock_time>> {
};

// ---- guard expressions (precedence §9.17, loosest first) --------------------
struct expr;
struct list_value : sor<signed_number, string_lit, boolean, name> {};
struct list_next : seq<list_value> {};
struct list_close : one<']'> {};
struct list_lit : seq<one<'['>, sep, opt<list_value, star<sep, one<','>, sep, must<list_next>>>,
                      sep, must<list_close>> {};

struct paren_inner : seq<expr> {};
struct paren_close : one<')'> {};
struct paren : seq<one<'('>, sep, must<paren_inner>, sep, must<paren_close>> {};
struct tagged_tag : seq<string_lit> {};
struct tagged_expr : seq<kw_tagged, sep, must<tagged_tag>> {};
struct field_name : identifier {};
struct event_field_name : seq<field_name> {};
struct partner_field_name : seq<field_name> {};
struct event_field : seq<kw_event, one<'.'>, must<event_field_name>> {};
struct partner_field : seq<kw_partner, one<'.'>, must<partner_field_name>> {};
struct name_ref : name {};
struct primary : sor<paren, list_lit, tagged_expr, event_field, partner_field, boolean, number,
                     string_lit, name_ref> {};

struct unary;
struct mul_operand : seq<unary> {};
struct negate_operand : seq<unary> {};
struct negate : seq<one<'-'>, sep, must<negate_operand>> {};
struct unary : sor<negate, primary> {};

struct mul_op : one<'*', '/'> {};
struct mul_expr : seq<unary, star<sep, mul_op, sep, must<mul_operand>>> {};
struct add_op : one<'+', '-'> {};
struct add_operand : seq<mul_expr> {};
struct add_expr : seq<mul_expr, star<sep, add_op, sep, must<add_operand>>> {};

struct cmp_op : sor<string<'=', '='>, string<'!', '='>, string<'<', '='>, string<'>', '='>,
                    one<'<'>, one<'>'>> {};
struct cmp_operand : seq<add_expr> {};
struct in_op : kw_in {};
struct in_operand : seq<add_expr> {};
struct use_double_equals : failure {};  // a lone '=' in a guard
struct cmp_expr
    : seq<add_expr,
          opt<sep, sor<seq<cmp_op, sep, must<cmp_operand>>, seq<in_op, sep, must<in_operand>>,
                       seq<at<one<'='>>, must<use_double_equals>>>>> {};

struct not_expr;
struct not_operand : seq<not_expr> {};
struct not_op : seq<kw_not, sep, must<not_operand>> {};
struct not_expr : sor<not_op, cmp_expr> {};
struct and_operand : seq<not_expr> {};
struct and_expr : seq<not_expr, star<sep, kw_and, sep, must<and_operand>>> {};
struct or_operand : seq<and_expr> {};
struct or_expr : seq<and_expr, star<sep, kw_or, sep, must<or_operand>>> {};
struct expr : seq<or_expr> {};

// ---- triggers ---------------------------------------------------------------
struct trigger_word : name {};
struct metric_name : name {};
struct milestone_word : TAO_PEGTL_KEYWORD("milestone") {};
struct milestone_metric : seq<metric_name> {};
struct milestone_at_least : string<'>', '='> {};
struct milestone_threshold : sor<signed_number, name_ref> {};
struct milestone_value : seq<milestone_threshold> {};
struct milestone_trigger : seq<milestone_word, sep, must<milestone_metric>, sep,
                               must<milestone_at_least>, sep, must<milestone_value>> {};

struct timer_word : sor<TAO_PEGTL_KEYWORD("anniversary"), TAO_PEGTL_KEYWORD("inactive"),
                        TAO_PEGTL_KEYWORD("no_referral")> {};
struct timer_duration : seq<duration> {};
struct timer_trigger : seq<timer_word, sep, must<timer_duration>> {};

struct text_word : sor<kw_event, TAO_PEGTL_KEYWORD("tag_added"), TAO_PEGTL_KEYWORD("tag_removed")> {
};
struct trigger_text : seq<string_lit> {};
struct text_trigger : seq<text_word, sep, must<trigger_text>> {};

// Any other word; the checks look it up in the catalogue ("did you mean").
struct plain_trigger : seq<trigger_word, opt<sep, sor<string_lit, duration>>> {};
struct trigger : sor<milestone_trigger, timer_trigger, text_trigger, plain_trigger> {};

// ---- actions ----------------------------------------------------------------
struct tag_next : seq<string_lit> {};
struct tag_list : seq<string_lit, star<sep, one<','>, sep, must<tag_next>>> {};
struct add_tags : seq<tag_list> {};
struct expiry_duration : seq<duration> {};
struct expiry : seq<kw_for, sep, must<expiry_duration>> {};
struct add_action : seq<kw_add, sep, must<add_tags>, opt<sep, expiry>> {};
struct remove_tags : seq<tag_list> {};
struct remove_action : seq<kw_remove, sep, must<remove_tags>> {};
struct emit_name : seq<string_lit> {};
struct emit_action : seq<kw_emit, sep, must<emit_name>> {};
struct action : sor<add_action, remove_action, emit_action> {};

// ---- rules and declarations -------------------------------------------------
struct guard_expr : seq<expr> {};
struct guard : seq<kw_when, sep, must<guard_expr>> {};
struct on_trigger : seq<trigger> {};
struct first_action : seq<action> {};
struct on_clause : seq<kw_on, sep, must<on_trigger>, opt<sep, guard>, sep, must<first_action>,
                       star<sep, action>> {};
struct rule_name : seq<string_lit> {};
struct named_on : seq<on_clause> {};
struct named_rule : seq<kw_rule, sep, must<rule_name>, sep, must<named_on>> {};
struct rule_def : sor<named_rule, on_clause> {};

struct let_name : seq<name_ref> {};
struct let_equals : one<'='> {};
struct let_value : sor<signed_number, string_lit, boolean, list_lit> {};
struct let_value_after : seq<let_value> {};
struct let_decl
    : seq<kw_let, sep, must<let_name>, sep, must<let_equals>, sep, must<let_value_after>> {};

struct exclusive_tags : seq<tag_list> {};
struct exclusive_decl : seq<kw_exclusive, sep, must<exclusive_tags>> {};

struct import_path : seq<string_lit> {};
struct import_decl : seq<kw_import, sep, must<import_path>> {};

// Settings: each word is a keyword only here (not reserved).
struct currency_word : TAO_PEGTL_KEYWORD("currency") {};
struct currency_value : seq<string_lit> {};
struct currency_decl : seq<currency_word, sep, must<currency_value>> {};
struct timezone_word : TAO_PEGTL_KEYWORD("timezone") {};
struct timezone_value : seq<string_lit> {};
struct timezone_decl : seq<timezone_word, sep, must<timezone_value>> {};
struct setting_decl : sor<currency_decl, timezone_decl> {};

// ---- test blocks (§8) ------------------------------------------------------
struct field_key : identifier {};
struct field_colon : one<':'> {};
struct field_value : sor<signed_number, string_lit, boolean> {};
struct field_value_after : seq<field_value> {};
struct field : seq<field_key, sep, must<field_colon>, sep, must<field_value_after>> {};
struct field_next : seq<field> {};
struct fields_close : one<'}'> {};
struct fields : seq<one<'{'>, sep, opt<field, star<sep, one<','>, sep, must<field_next>>>, sep,
                    must<fields_close>> {};

struct step_partner : seq<string_lit> {};
struct custom_type : seq<string_lit> {};
struct event_type_word : name {};
struct tick_word : TAO_PEGTL_KEYWORD("tick") {};
struct custom_event_step : seq<kw_event, sep, must<custom_type>> {};
struct event_step
    : seq<sor<custom_event_step, event_type_word>, sep, must<step_partner>, opt<sep, fields>> {};
struct at_what : sor<tick_word, event_step> {};
struct step_time : seq<time_lit> {};
struct at_step : seq<TAO_PEGTL_KEYWORD("at"), sep, must<step_time>, sep, must<at_what>> {};

struct has_tag : seq<string_lit> {};
struct has_step : seq<TAO_PEGTL_KEYWORD("has"), sep, must<has_tag>> {};
struct lacks_step : seq<TAO_PEGTL_KEYWORD("lacks"), sep, must<has_tag>> {};
struct tags_open : one<'['> {};
struct tags_body : seq<tags_open, sep, opt<string_lit, star<sep, one<','>, sep, must<tag_next>>>,
                       sep, must<list_close>> {};
struct tags_after : seq<tags_body> {};
struct tags_step : seq<TAO_PEGTL_KEYWORD("tags"), sep, must<tags_after>> {};
struct metric_value : seq<signed_number> {};
struct metric_step : seq<metric_name, sep, cmp_op, sep, must<metric_value>> {};
// metric_step is not last, so a partial match rewinds and the error points at its start.
struct expectation : sor<has_step, lacks_step, metric_step, tags_step> {};
struct expect_partner : seq<string_lit, sep, must<expectation>> {};

struct record_word : sor<kw_add, kw_remove, kw_emit> {};
struct record_tag : seq<string_lit> {};
struct record_rule : seq<string_lit> {};
struct record_by : seq<TAO_PEGTL_KEYWORD("by"), sep, must<record_rule>> {};
struct record : seq<record_word, sep, must<record_tag>, opt<sep, record_by>> {};
struct record_next : seq<record> {};
struct records_body : seq<one<'['>, sep, opt<record, star<sep, one<','>, sep, must<record_next>>>,
                          sep, must<list_close>> {};
struct records_after : seq<records_body> {};
struct records_word : TAO_PEGTL_KEYWORD("records") {};
struct expect_records : seq<records_word, sep, must<records_after>> {};
struct records_after_no : seq<records_word> {};
struct expect_no_records : seq<TAO_PEGTL_KEYWORD("no"), sep, must<records_after_no>> {};
struct rejected_reason : seq<string_lit> {};
struct expect_rejected : seq<TAO_PEGTL_KEYWORD("rejected"), sep, must<rejected_reason>> {};
struct expect_what : sor<expect_records, expect_no_records, expect_rejected, expect_partner> {};
struct expect_step : seq<TAO_PEGTL_KEYWORD("expect"), sep, must<expect_what>> {};

struct step : sor<at_step, expect_step> {};
struct test_name : seq<string_lit> {};
struct test_open : one<'{'> {};
struct test_close : one<'}'> {};
struct test_block : seq<kw_test, sep, must<test_name>, sep, must<test_open>, star<sep, step>, sep,
                        must<test_close>> {};

// ---- a file -------------------------------------------------------------------
struct item : sor<rule_def, let_decl, exclusive_decl, import_decl, test_block, setting_decl> {};
struct expected_item : seq<item> {};
// One top-level item; the parser calls it in a loop so it can recover after an error.
struct next_item : seq<sep, sor<eof, must<expected_item>>> {};
struct end_of_items : eof {};
// A guard on its own: a segment query of the embedding API.
struct segment_end : eof {};
struct segment : seq<sep, must<guard_expr>, sep, must<segment_end>> {};
// The whole file at once: what `analyze` checks.
struct file : seq<star<sep, item>, sep, must<end_of_items>> {};

}  // namespace ptag::grammar
