#include "ptag/test_runner.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <optional>
#include <set>

#include "expected_errors.hpp"
#include "ptag/compiler.hpp"
#include "ptag/decimal.hpp"
#include "ptag/engine.hpp"
#include "ptag/program.hpp"
#include "ptag/text.hpp"

namespace ptag {
namespace {

struct Record {
  Seconds time;
  std::string partner;
  RecordAction action;
  std::string tag;
  std::string rule;
  bool timer;
  std::string event;
};

const char* action_name(RecordAction a) {
  return a == RecordAction::add ? "add" : a == RecordAction::remove ? "remove" : "emit";
}

std::string describe(const Record& r) {
  return fmt::format("{} {} {} by {}", action_name(r.action), json_quote(r.tag),
                     json_quote(r.partner), json_quote(r.rule));
}

class RecordingSink : public Sink {
 public:
  RecordingSink(bool verbose, std::FILE* out) : verbose_(verbose), out_(out) {}
  std::vector<Record> records;
  void record(const ChangeRecord& r) override {
    records.push_back({r.time, std::string(r.partner), r.action, std::string(r.tag),
                       std::string(r.rule), r.timer, std::string(r.event_id)});
    if (verbose_) {
      std::fprintf(out_, "    %s %s (%s)\n", format_time(r.time).c_str(),
                   describe(records.back()).c_str(), r.timer ? "timer" : "event");
    }
  }

 private:
  bool verbose_;
  std::FILE* out_;
};

std::string list(const std::vector<std::string_view>& tags) {
  std::string out = "[";
  for (std::size_t i = 0; i < tags.size(); ++i) out += (i ? ", " : "") + json_quote(tags[i]);
  return out + "]";
}

bool compare(std::int64_t a, ast::ExprKind op, std::int64_t b) {
  switch (op) {
    case ast::ExprKind::eq:
      return a == b;
    case ast::ExprKind::ne:
      return a != b;
    case ast::ExprKind::lt:
      return a < b;
    case ast::ExprKind::le:
      return a <= b;
    case ast::ExprKind::gt:
      return a > b;
    default:
      return a >= b;
  }
}

class TestRun {
 public:
  TestRun(const Unit& unit, const Program& program, const ast::Test& test,
          const TestOptions& options, std::FILE* out)
      : unit_(unit), test_(test), out_(out), sink_(options.verbose, out), engine_(program, sink_) {}

  // Runs the steps until the first failed expectation; true when all held.
  bool run() {
    const auto& steps = test_.steps;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      expect_rejection_ = i + 1 < steps.size() && steps[i + 1].kind == ast::StepKind::expect_rejected;
      if (!perform(steps[i])) return false;
    }
    return true;
  }

 private:
  bool perform(const ast::Step& s) {
    switch (s.kind) {
      case ast::StepKind::event:
        return send(s);
      case ast::StepKind::tick:
        step_begin_ = sink_.records.size();
        engine_.advance_to(s.time);
        return true;
      case ast::StepKind::expect_has:
      case ast::StepKind::expect_lacks: {
        auto tags = tags_of(s.partner.value);
        bool has = std::count(tags.begin(), tags.end(), s.tags[0].value) > 0;
        if (has == (s.kind == ast::StepKind::expect_has)) return true;
        return fail(s,
                    fmt::format("expected {} to {} {}, got tags {}", json_quote(s.partner.value),
                                has ? "lack" : "have", json_quote(s.tags[0].value), list(tags)),
                    s.partner.value);
      }
      case ast::StepKind::expect_tags: {
        auto tags = tags_of(s.partner.value);
        std::set<std::string_view> got(tags.begin(), tags.end()), want;
        std::vector<std::string_view> wanted;
        for (const ast::Text& t : s.tags) {
          want.insert(t.value);
          wanted.push_back(t.value);
        }
        if (got == want) return true;
        return fail(s,
                    fmt::format("expected {} tags {}, got {}", json_quote(s.partner.value),
                                list(wanted), list(tags)),
                    s.partner.value);
      }
      case ast::StepKind::expect_metric: {
        std::int64_t value = 0;
        if (auto index = engine_.find_partner(s.partner.value))
          value = *engine_.partner_value(*index, s.metric.value);
        if (compare(value, s.comparison, s.value->number)) return true;
        return fail(s,
                    fmt::format("expected {} {} {} {}, got {}", json_quote(s.partner.value),
                                s.metric.value, ast::to_string(s.comparison),
                                format_decimal(s.value->number), format_decimal(value)),
                    s.partner.value);
      }
      case ast::StepKind::expect_records:
      case ast::StepKind::expect_no_records:
        return check_records(s);
      case ast::StepKind::expect_rejected:
        if (!rejection_) return fail(s, "expected the event before to be rejected, but it was applied", "");
        if (rejection_->find(s.reason.value) != std::string::npos) return true;
        return fail(s,
                    fmt::format("expected the event to be rejected for {}, but the reason was: {}",
                                json_quote(s.reason.value), *rejection_),
                    "");
    }
    return true;
  }

  bool send(const ast::Step& s) {
    Event e;
    e.type = s.event_type.value;
    e.partner = s.partner.value;
    e.time = s.time;
    for (const ast::Field& f : s.fields) {
      if (f.name.value == "id") {
        e.id = f.value.text;
        e.has_id = true;
        continue;
      }
      Value v;
      if (f.value.kind == ast::ExprKind::string) {
        v = {Value::Kind::text, 0, f.value.text};
      } else {
        v = {f.value.kind == ast::ExprKind::boolean ? Value::Kind::boolean : Value::Kind::number,
             f.value.number,
             {}};
      }
      e.data.push_back({f.name.value, v});
    }
    step_begin_ = sink_.records.size();
    std::string why;
    rejection_.reset();
    if (engine_.push(e, &why) == PushResult::invalid) {
      if (expect_rejection_) {
        rejection_ = why;
        return true;
      }
      return fail(s, "the event was rejected: " + why, s.partner.value);
    }
    return true;
  }

  bool check_records(const ast::Step& s) {
    std::vector<const Record*> got;
    for (std::size_t i = step_begin_; i < sink_.records.size(); ++i)
      got.push_back(&sink_.records[i]);
    bool same = got.size() == s.records.size();
    for (std::size_t i = 0; same && i < got.size(); ++i) {
      const ast::RecordPattern& want = s.records[i];
      same = got[i]->action == static_cast<RecordAction>(want.action) &&
             got[i]->tag == want.tag.value && (!want.rule || got[i]->rule == want.rule->value);
    }
    if (same) return true;
    std::string expected = s.kind == ast::StepKind::expect_no_records ? "no records" : "records [";
    for (std::size_t i = 0; i < s.records.size(); ++i) {
      const ast::RecordPattern& r = s.records[i];
      expected +=
          fmt::format("{}{} {}{}", i ? ", " : "", ast::to_string(r.action), json_quote(r.tag.value),
                      r.rule ? " by " + json_quote(r.rule->value) : "");
    }
    if (s.kind == ast::StepKind::expect_records) expected += "]";
    std::string actual = "[";
    for (std::size_t i = 0; i < got.size(); ++i) actual += (i ? ", " : "") + describe(*got[i]);
    return fail(s, fmt::format("expected {} from the step before, got {}]", expected, actual), "");
  }

  std::vector<std::string_view> tags_of(const std::string& partner) const {
    auto i = engine_.find_partner(partner);
    return i ? engine_.partner_tags(*i) : std::vector<std::string_view>{};
  }

  bool fail(const ast::Step& s, const std::string& message, const std::string& partner) {
    std::fprintf(out_, "%s:%u: test %s: %s\n", unit_.sources.file(s.span.file).name.c_str(),
                 s.span.line, json_quote(test_.name.value).c_str(), message.c_str());
    std::vector<const Record*> trail;
    for (const Record& r : sink_.records) {
      if (partner.empty() || r.partner == partner) trail.push_back(&r);
    }
    if (!partner.empty())
      std::fprintf(out_, "  tags of %s now: %s\n", json_quote(partner).c_str(),
                   list(tags_of(partner)).c_str());
    std::size_t from = trail.size() > 20 ? trail.size() - 20 : 0;
    std::fprintf(out_, "  records that led there%s:%s\n", from ? " (the last 20)" : "",
                 trail.empty() ? " none" : "");
    for (std::size_t i = from; i < trail.size(); ++i) {
      const Record& r = *trail[i];
      std::fprintf(out_, "    %s %s (%s%s)\n", format_time(r.time).c_str(), describe(r).c_str(),
                   r.timer ? "timer" : "event", r.event.empty() ? "" : (" " + r.event).c_str());
    }
    return false;
  }

  const Unit& unit_;
  const ast::Test& test_;
  std::FILE* out_;
  RecordingSink sink_;
  Engine engine_;
  std::size_t step_begin_ = 0;
  bool expect_rejection_ = false;         // the step after this one is `expect rejected`
  std::optional<std::string> rejection_;  // why the last event step was rejected
};

}  // namespace

TestSummary run_test_files(const std::vector<std::string>& files, const TestOptions& options,
                           std::FILE* out) {
  TestSummary summary;
  for (const std::string& file : files) {
    Unit unit = compile_files({file});
    std::string text;
    std::vector<ExpectedError> expected;
    if (read_file(file, text)) expected = find_expected_errors(text);
    if (!expected.empty() || unit.diagnostics.has_errors()) {
      if (expected.empty()) {
        for (const Diagnostic& d : unit.diagnostics.all())
          std::fputs(render_text(d, unit.sources).c_str(), out);
        std::size_t tests = unit.modules.empty() ? 0 : unit.all<ast::Test>().size();
        summary.failed += std::max<std::size_t>(1, tests);
        std::fprintf(out, "%s: does not compile; its tests count as failed\n", file.c_str());
      } else {
        check_expected_errors(unit, expected, options, summary, out);
      }
      continue;
    }
    Program program = lower(unit);
    if (options.prepare) options.prepare(program);
    for (const ast::Item& item : unit.modules[0].items) {
      const auto* test = std::get_if<ast::Test>(&item);
      if (!test || test->name.value.find(options.filter) == std::string::npos) continue;
      if (options.verbose)
        std::fprintf(out, "%s:%u: test %s\n", file.c_str(), test->span.line,
                     json_quote(test->name.value).c_str());
      ++summary.tests_run;
      bool ok = TestRun(unit, program, *test, options, out).run();
      ++(ok ? summary.passed : summary.failed);
      if (ok && options.verbose) std::fprintf(out, "  ok\n");
    }
  }
  return summary;
}

}  // namespace ptag
