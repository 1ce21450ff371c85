// The syntax tree of one rule file. Every node carries its source span.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ptag/source.hpp"
#include "ptag/time.hpp"

namespace ptag::ast {

// A quoted string or a name, with where it was written.
struct Text {
  std::string value;
  Span span;
};

struct Duration {
  std::uint64_t amount = 0;
  std::string unit;  // checked against the catalogue later: "30days" parses
  Span span;
};

enum class ExprKind : std::uint8_t {
  number,
  string,
  boolean,
  list,
  name,           // a metric, a constant or days_since_*
  event_field,    // event.FIELD
  partner_field,  // partner.FIELD
  tagged,         // tagged "T"
  negate,
  not_,
  and_,
  or_,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  in,
  add,
  sub,
  mul,
  div,
};

struct Expr {
  ExprKind kind = ExprKind::number;
  Span span;
  std::int64_t number = 0;  // millionths for numbers; 0/1 for booleans
  std::string text;         // number as written, string value, name, field or tag
  std::vector<Expr> args;   // operands, or list elements
};

struct Trigger {
  Text name;                         // the keyword: join, inactive, milestone, ...
  std::optional<Duration> duration;  // anniversary / inactive / no_referral
  std::optional<Text> text;          // event "NAME", tag_added "T"
  std::optional<Text> metric;        // milestone METRIC >= threshold
  std::optional<Expr> threshold;     // a number or a constant's name
};

enum class ActionKind : std::uint8_t { add, remove, emit };

struct Action {
  ActionKind kind = ActionKind::add;
  Span span;                        // the keyword
  std::vector<Text> tags;           // for emit: the one notification name
  std::optional<Duration> expires;  // add "T" for D
};

struct Rule {
  std::optional<Text> name;
  Span span;  // the `on` keyword: its line names an unnamed rule
  Trigger trigger;
  std::optional<Expr> guard;
  std::vector<Action> actions;
};

struct Let {
  Text name;
  Span span;
  Expr value;
};

struct Exclusive {
  Span span;
  std::vector<Text> tags;
};

struct Import {
  Span span;
  Text path;
};

// A `data` field of an event written in a test step.
struct Field {
  Text name;
  Expr value;
};

// An expected change record: `add "VIP"`, `remove "At Risk" by "rule name"`.
struct RecordPattern {
  ActionKind action = ActionKind::add;
  Text tag;
  std::optional<Text> rule;
};

enum class StepKind : std::uint8_t {
  event,
  tick,
  expect_has,
  expect_lacks,
  expect_tags,
  expect_metric,
  expect_records,
  expect_no_records,
  expect_rejected,  // the event of the step before was rejected, for a reason containing `reason`
};

struct Step {
  StepKind kind = StepKind::tick;
  Span span;
  Seconds time = 0;  // event, tick
  Span time_span;
  Text event_type;            // event: `sale`, or the NAME of `event "NAME"`
  bool custom_event = false;  // written as `event "NAME"`
  Text partner;               // event and expect steps
  std::vector<Field> fields;  // event
  std::vector<Text> tags;     // has, lacks (one), tags (the exact set)
  Text metric;                // expect_metric
  ExprKind comparison = ExprKind::eq;
  std::optional<Expr> value;  // expect_metric
  std::vector<RecordPattern> records;
  Text reason;  // expect_rejected
};

struct Test {
  Text name;
  Span span;
  std::vector<Step> steps;
  Span end;  // the closing brace
};

// A program-wide setting: `currency "EUR"`, `timezone "Europe/Berlin"`. The
// words are not reserved (a setting starts a line; `partner.currency` stays
// a field).
struct Setting {
  Span span;
  Text word;   // "currency" or "timezone"
  Text value;  // as written
};

using Item = std::variant<Rule, Let, Exclusive, Import, Test, Setting>;

struct Comment {
  Span span;
  std::string text;       // from '#' to the end of the line
  bool trailing = false;  // code precedes it on its line
};

struct Module {
  FileId file = kNoFile;
  std::vector<Item> items;
  std::vector<Comment> comments;
};

// A canonical, span-free rendering of the tree: equal dumps mean equal meaning.
std::string dump(const Module& module);

const char* to_string(ExprKind kind);
const char* to_string(ActionKind kind);

}  // namespace ptag::ast
