// Pass 3: the program as a whole: rule names, exclusive groups, the
// tag_added / tag_removed cascade graph, and tags nothing adds.
#include <fmt/format.h>
#include <algorithm>
#include <functional>
#include <map>
#include <optional>

#include "passes.hpp"
#include "zones.hpp"
#include "ptag/catalogue.hpp"
#include "ptag/decimal.hpp"
#include "ptag/diagnostic_codes.hpp"
#include "ptag/text.hpp"

namespace ptag::passes {
namespace {

class ProgramChecker {
 public:
  ProgramChecker(Unit& unit, const std::set<std::string>& used) : unit_(unit), used_(used) {
    rules_ = unit.all<ast::Rule>();
  }

  void run() {
    rule_names();
    settings();
    exclusive_groups();
    cascades();
    tags_never_added();
    add_and_remove();
    tier_order();
    tags_differing_in_case();
    unused_constants();
    constants_differing_in_case();
  }

 private:
  Diagnostics& diags() { return unit_.diagnostics; }

  void rule_names() {
    std::map<std::string, const ast::Rule*> seen;
    for (const ast::Rule* rule : rules_) {
      std::string name = unit_.rule_name(*rule);
      auto [it, fresh] = seen.emplace(name, rule);
      if (fresh) continue;
      Span where = rule->name ? rule->name->span : rule->span;
      auto& d = diags().error(codes::kDuplicateRuleName, where,
                              fmt::format("two rules are named '{}'", name));
      d.note(it->second->name ? it->second->name->span : it->second->span, "the other rule");
      if (!rule->name) d.help("put each rule on its own line, or name them with rule \"NAME\"");
    }
  }

  // `currency "EUR"` (an ISO 4217 code: three letters) and `timezone
  // "Europe/Berlin"` (a name of the system's tz database): each once per
  // program; the same value in several files is one declaration (a
  // currency in any case).
  void settings() {
    std::map<std::string, const ast::Setting*> first;  // by word
    for (const ast::Setting* s : unit_.all<ast::Setting>()) {
      bool currency = s->word.value == "currency";
      if (!(currency ? valid_currency(*s) : valid_zone(*s))) continue;
      auto [it, fresh] = first.emplace(s->word.value, s);
      const std::string& was = it->second->value.value;
      if (fresh || (currency ? lower_case(was) == lower_case(s->value.value) : was == s->value.value)) continue;
      diags()
          .error(currency ? codes::kTwoCurrencies : codes::kTwoTimeZones, s->value.span,
                 fmt::format("a second {} '{}': the program's is '{}'", currency ? "currency" : "time zone",
                             s->value.value, was))
          .note(it->second->value.span, fmt::format("the program's {} is declared here", currency ? "currency" : "time zone"))
          .help(currency ? "a program counts money in one currency: convert amounts before sending them"
                         : "a program has one calendar: declare its time zone once");
    }
  }

  bool valid_currency(const ast::Setting& s) {
    const std::string& code = s.value.value;
    bool letters = code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) {
                     return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
                   });
    if (letters) return true;
    diags()
        .error(codes::kBadCurrency, s.value.span,
               fmt::format("'{}' is not a currency code: an ISO 4217 code is three letters", code))
        .help("write the code the platforms send, as in currency \"EUR\" or currency \"USD\"");
    return false;
  }

  bool valid_zone(const ast::Setting& s) {
    const std::string& name = s.value.value;
    if (known_zone(name)) return true;
    auto& d = diags().error(codes::kUnknownTimeZone, s.value.span,
                            fmt::format("unknown time zone '{}'", name));
    std::vector<std::string> names = zone_names();
    auto same_but_case = std::find_if(names.begin(), names.end(), [&](const std::string& z) {
      return equal_ignoring_case(z, name);
    });
    std::vector<std::string_view> views(names.begin(), names.end());
    std::string_view best = same_but_case != names.end() ? std::string_view(*same_but_case) : closest_name(name, views);
    if (!best.empty()) d.help(fmt::format("did you mean '{}'? (names are case-sensitive)", best));
    else d.help("write an IANA name of the tz database, as in timezone \"Europe/Berlin\" or timezone \"UTC\"");
    return false;
  }

  void exclusive_groups() {
    std::map<std::string, const ast::Text*> group_of;
    for (const ast::Exclusive* group : unit_.all<ast::Exclusive>()) {
      if (group->tags.size() < 2) {
        diags().error(codes::kExclusiveGroup, group->span,
                      "an exclusive group needs at least two tags");
      }
      std::set<std::string> in_this;
      for (const ast::Text& tag : group->tags) {
        if (!in_this.insert(tag.value).second) {
          diags().error(codes::kExclusiveGroup, tag.span,
                        fmt::format("'{}' is listed twice in this group", tag.value));
          continue;
        }
        auto [it, fresh] = group_of.emplace(tag.value, &tag);
        if (!fresh) {
          diags()
              .error(codes::kTagInTwoGroups, tag.span,
                     fmt::format("tag '{}' is in two exclusive groups", tag.value))
              .note(it->second->span, "the other group lists it here");
        } else {
          groups_[tag.value] = group;
        }
      }
    }
  }

  // Tags a rule can remove: its `remove` actions and, for each tag it adds,
  // the other tags of that tag's exclusive group (§4: those count as changes).
  struct Change {
    const ast::Text* tag;
    bool added;
    const ast::Text* because;  // the added tag behind an exclusive removal
  };
  std::vector<Change> changes_of(const ast::Rule& rule) {
    std::vector<Change> out;
    for (const ast::Action& a : rule.actions) {
      if (a.kind == ast::ActionKind::emit) continue;
      for (const ast::Text& tag : a.tags) {
        out.push_back({&tag, a.kind == ast::ActionKind::add, nullptr});
        auto group = groups_.find(tag.value);
        if (a.kind != ast::ActionKind::add || group == groups_.end()) continue;
        for (const ast::Text& other : group->second->tags) {
          if (other.value != tag.value) out.push_back({&other, false, &tag});
        }
      }
    }
    return out;
  }

  void cascades() {
    // Rules triggered by a tag change, by (tag, added?).
    std::map<std::pair<std::string, bool>, std::vector<std::size_t>> listeners;
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      const ast::Trigger& t = rules_[i]->trigger;
      bool added = t.name.value == "tag_added";
      if ((added || t.name.value == "tag_removed") && t.text)
        listeners[{t.text->value, added}].push_back(i);
    }
    struct Edge {
      std::size_t to;
      Change why;
    };
    std::vector<std::vector<Edge>> edges(rules_.size());
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      for (const Change& c : changes_of(*rules_[i])) {
        auto it = listeners.find({c.tag->value, c.added});
        if (it == listeners.end()) continue;
        for (std::size_t to : it->second) edges[i].push_back({to, c});
      }
    }
    // Tarjan's strongly connected components; a component with a cycle is an error.
    std::vector<int> index(rules_.size(), -1), low(rules_.size(), 0);
    std::vector<bool> on_stack(rules_.size(), false);
    std::vector<std::size_t> stack;
    int counter = 0;
    std::function<void(std::size_t)> visit = [&](std::size_t v) {
      index[v] = low[v] = counter++;
      stack.push_back(v);
      on_stack[v] = true;
      for (const Edge& e : edges[v]) {
        if (index[e.to] < 0) {
          visit(e.to);
          low[v] = std::min(low[v], low[e.to]);
        } else if (on_stack[e.to]) {
          low[v] = std::min(low[v], index[e.to]);
        }
      }
      if (low[v] != index[v]) return;
      std::vector<std::size_t> component;
      std::size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component.push_back(w);
      } while (w != v);
      bool self_loop =
          std::any_of(edges[v].begin(), edges[v].end(), [&](const Edge& e) { return e.to == v; });
      if (component.size() > 1 || self_loop) report_cycle(component, edges);
    };
    for (std::size_t v = 0; v < rules_.size(); ++v) {
      if (index[v] < 0) visit(v);
    }
  }

  template <typename Edges>
  void report_cycle(std::vector<std::size_t> component, const Edges& edges) {
    std::sort(component.begin(), component.end());
    std::set<std::size_t> members(component.begin(), component.end());
    // Walk the cycle from the first rule in source order: breadth first back to it.
    std::size_t start = component.front();
    std::map<std::size_t, std::pair<std::size_t, std::size_t>> came_from;  // node -> (from, edge)
    std::vector<std::size_t> queue{start};
    bool closed = false;
    std::size_t last = start, last_edge = 0;
    for (std::size_t qi = 0; qi < queue.size() && !closed; ++qi) {
      std::size_t v = queue[qi];
      for (std::size_t k = 0; k < edges[v].size(); ++k) {
        std::size_t to = edges[v][k].to;
        if (!members.count(to)) continue;
        if (to == start) {
          closed = true;
          last = v;
          last_edge = k;
          break;
        }
        if (came_from.count(to)) continue;
        came_from[to] = {v, k};
        queue.push_back(to);
      }
    }
    std::vector<std::pair<std::size_t, std::size_t>> path{{last, last_edge}};  // (rule, edge)
    for (std::size_t v = last; v != start;) {
      auto [from, k] = came_from.at(v);
      path.push_back({from, k});
      v = from;
    }
    std::reverse(path.begin(), path.end());

    std::string names;
    for (auto [v, k] : path) names += fmt::format("'{}' → ", unit_.rule_name(*rules_[v]));
    names += fmt::format("'{}'", unit_.rule_name(*rules_[start]));
    auto& d = diags().error(codes::kTagTriggerCycle, rules_[start]->trigger.name.span,
                            "these rules can trigger each other without end: " + names);
    for (auto [v, k] : path) {
      const auto& edge = edges[v][k];
      std::string what = edge.why.added ? fmt::format("adds '{}'", edge.why.tag->value)
                         : edge.why.because
                             ? fmt::format("removes '{}' (it adds '{}', exclusive with it)",
                                           edge.why.tag->value, edge.why.because->value)
                             : fmt::format("removes '{}'", edge.why.tag->value);
      Span where = edge.why.because ? edge.why.because->span : edge.why.tag->span;
      d.note(where, fmt::format("'{}' {}, which triggers '{}'", unit_.rule_name(*rules_[v]), what,
                                unit_.rule_name(*rules_[edge.to])));
    }
  }

  void tags_never_added() {
    std::set<std::string> added;
    for (const ast::Rule* rule : rules_) {
      for (const ast::Action& a : rule->actions) {
        if (a.kind == ast::ActionKind::add) {
          for (const ast::Text& tag : a.tags) added.insert(tag.value);
        }
      }
    }
    std::vector<std::string_view> known(added.begin(), added.end());
    auto warn = [&](const ast::Text& tag, std::string_view how, std::string_view so = {}) {
      if (added.count(tag.value) || tag.value.empty()) return;
      auto& d = diags().warning(codes::kTagNeverAdded, tag.span,
                                fmt::format("tag '{}' is {} but no rule adds it", tag.value, how));
      std::string_view best = closest_name(tag.value, known);
      for (std::string_view k : known) {
        if (lower_case(k) == lower_case(tag.value)) best = k;  // only the case differs
      }
      if (!best.empty()) d.help(fmt::format("did you mean '{}'?", best));
      if (!so.empty()) d.help(std::string(so));
    };
    std::function<void(const ast::Expr&)> tested = [&](const ast::Expr& e) {
      if (e.kind == ast::ExprKind::tagged) warn({e.text, e.span}, "tested");
      for (const ast::Expr& arg : e.args) tested(arg);
    };
    for (const ast::Rule* rule : rules_) {
      if (rule->trigger.text &&
          (rule->trigger.name.value == "tag_added" || rule->trigger.name.value == "tag_removed")) {
        warn(*rule->trigger.text, "watched by this trigger");
      }
      if (rule->guard) tested(*rule->guard);
      for (const ast::Action& a : rule->actions) {
        if (a.kind != ast::ActionKind::remove) continue;
        for (const ast::Text& tag : a.tags) warn(tag, "removed");
      }
    }
    // A test cannot add a tag: only rules do. So an expectation on a tag no
    // rule adds cannot pass ("has") or cannot fail ("lacks").
    for (const ast::Test* test : unit_.all<ast::Test>()) {
      for (const ast::Step& step : test->steps) {
        if (step.kind == ast::StepKind::expect_has || step.kind == ast::StepKind::expect_tags) {
          for (const ast::Text& tag : step.tags)
            warn(tag, "expected by this test", "a test cannot add tags: this check always fails");
        } else if (step.kind == ast::StepKind::expect_lacks) {
          for (const ast::Text& tag : step.tags)
            warn(tag, "expected absent by this test", "so this check always passes");
        } else if (step.kind == ast::StepKind::expect_records) {
          for (const ast::RecordPattern& r : step.records) {
            if (r.action != ast::ActionKind::emit)
              warn(r.tag, "expected in a record", "so this check always fails");
          }
        }
      }
    }
  }

  // Within one rule: a tag both added and removed, or two tags of one
  // exclusive group added (the second removes the first at once).
  void add_and_remove() {
    for (const ast::Rule* rule : rules_) {
      std::map<std::string, std::pair<const ast::Text*, std::size_t>> added;  // tag -> (where, action)
      std::vector<const ast::Text*> added_in_order;
      for (std::size_t i = 0; i < rule->actions.size(); ++i) {
        const ast::Action& a = rule->actions[i];
        if (a.kind != ast::ActionKind::add) continue;
        for (const ast::Text& tag : a.tags) {
          if (added.emplace(tag.value, std::pair{&tag, i}).second) added_in_order.push_back(&tag);
        }
      }
      for (std::size_t i = 0; i < rule->actions.size(); ++i) {
        const ast::Action& a = rule->actions[i];
        if (a.kind != ast::ActionKind::remove) continue;
        for (const ast::Text& tag : a.tags) {
          auto it = added.find(tag.value);
          if (it == added.end()) continue;
          bool remove_last = it->second.second < i;
          diags()
              .warning(codes::kAddAndRemove, tag.span,
                       fmt::format("this rule both adds and removes '{}'", tag.value))
              .note(it->second.first->span, "added here")
              .help(remove_last
                        ? fmt::format("actions run in order: the remove undoes the add and the "
                                      "partner ends without '{}'; keep only one of them",
                                      tag.value)
                        : fmt::format("actions run in order: the partner ends with '{}' either "
                                      "way; drop the remove unless you mean to take it off and "
                                      "add it again",
                                      tag.value));
        }
      }
      for (std::size_t k = 1; k < added_in_order.size(); ++k) {
        const ast::Text* later = added_in_order[k];
        auto group = groups_.find(later->value);
        if (group == groups_.end()) continue;
        for (std::size_t j = 0; j < k; ++j) {
          const ast::Text* earlier = added_in_order[j];
          auto other = groups_.find(earlier->value);
          if (other == groups_.end() || other->second != group->second) continue;
          diags()
              .warning(codes::kAddAndRemove, later->span,
                       fmt::format("this rule adds '{}' and '{}', which are exclusive: adding '{}' "
                                   "removes '{}' at once",
                                   earlier->value, later->value, later->value, earlier->value))
              .note(earlier->span, "added here")
              .help("add only the tag the partner should end with");
          break;
        }
      }
    }
  }

  // The threshold of a milestone rule, with constants resolved.
  std::optional<std::int64_t> threshold_of(const ast::Trigger& t) const {
    if (!t.threshold) return std::nullopt;
    const ast::Expr* value = &*t.threshold;
    if (value->kind == ast::ExprKind::name) {
      auto it = constants_.find(value->text);
      if (it == constants_.end()) return std::nullopt;
      value = &it->second->value;
    }
    if (value->kind != ast::ExprKind::number || value->number <= 0) return std::nullopt;
    return value->number;
  }

  // Tier rules run in source order on the event that crosses their
  // thresholds: written from high to low, one big event ends on the lower
  // tier, because adding it removes the higher one (they are exclusive).
  // `first_sale` counts as the lowest revenue tier: any first sale crosses it.
  void tier_order() {
    for (const ast::Let* let : unit_.all<ast::Let>()) constants_.emplace(let->name.value, let);
    struct Tier {
      const ast::Rule* rule;
      std::string metric;
      std::int64_t threshold;  // 0 for first_sale
      const ast::Text* tag;
    };
    std::vector<Tier> tiers;
    for (const ast::Rule* rule : rules_) {
      const ast::Trigger& t = rule->trigger;
      Tier tier{rule, "revenue", 0, nullptr};
      if (t.name.value == "milestone" && t.metric) {
        std::optional<std::int64_t> threshold = threshold_of(t);
        if (!threshold) continue;
        tier.metric = t.metric->value;
        tier.threshold = *threshold;
      } else if (t.name.value != "first_sale") {
        continue;
      }
      for (const ast::Action& a : rule->actions) {
        if (a.kind != ast::ActionKind::add) continue;
        for (const ast::Text& tag : a.tags) {
          if (groups_.count(tag.value)) tiers.push_back({rule, tier.metric, tier.threshold, &tag});
        }
      }
    }
    auto label = [&](const Tier& tier) {
      const ast::Trigger& t = tier.rule->trigger;
      if (!t.threshold) return std::string("first_sale");
      std::string value = format_decimal(tier.threshold);
      return t.threshold->text == value
                 ? fmt::format("{} >= {}", tier.metric, value)
                 : fmt::format("{} >= {} ({})", tier.metric, t.threshold->text, value);
    };
    std::set<const ast::Rule*> warned;
    for (std::size_t b = 0; b < tiers.size(); ++b) {
      const Tier& low = tiers[b];
      if (warned.count(low.rule)) continue;
      const Tier* high = nullptr;  // the highest earlier tier this one overrides
      for (std::size_t a = 0; a < b; ++a) {
        const Tier& t = tiers[a];
        if (t.rule == low.rule || t.metric != low.metric || t.threshold <= low.threshold ||
            t.tag->value == low.tag->value || groups_.at(t.tag->value) != groups_.at(low.tag->value))
          continue;
        if (!high || t.threshold > high->threshold) high = &t;
      }
      if (!high) continue;
      warned.insert(low.rule);
      std::string low_name = unit_.rule_name(*low.rule), high_name = unit_.rule_name(*high->rule);
      std::string crossing =
          low.threshold == 0
              ? fmt::format("a first sale that reaches {}", label(*high))
              : fmt::format("one event that crosses both thresholds");
      diags()
          .warning(codes::kTierOrder, low.rule->trigger.name.span,
                   fmt::format("tier rule '{}' ({}) comes after '{}' ({}): {} ends on '{}', not "
                               "'{}'",
                               low_name, label(low), high_name, label(*high), crossing,
                               low.tag->value, high->tag->value))
          .note(high->tag->span,
                fmt::format("'{}' adds '{}' first; then '{}' adds '{}', which removes '{}' "
                            "(they are exclusive)",
                            high_name, high->tag->value, low_name, low.tag->value,
                            high->tag->value))
          .help(fmt::format("rules run in source order: write the tier rules in ascending "
                            "threshold order, '{}' before '{}'",
                            low_name, high_name));
    }
  }

  // Tags are case-sensitive: "VIP" and "Vip" are two tags. Looks at the tags
  // rules add and groups list; a tag only tested or removed gets W001.
  void tags_differing_in_case() {
    std::map<std::string, std::vector<const ast::Text*>> spellings;  // lower case -> first of each
    auto see = [&](const ast::Text& tag) {
      auto& list = spellings[lower_case(tag.value)];
      for (const ast::Text* t : list) {
        if (t->value == tag.value) return;
      }
      if (!list.empty()) {
        diags()
            .warning(codes::kCaseOnly, tag.span,
                     fmt::format("tag '{}' differs from '{}' only in case: they are two tags",
                                 tag.value, list.front()->value))
            .note(list.front()->span, fmt::format("'{}' is written here", list.front()->value))
            .help("tags are case-sensitive: write one spelling everywhere");
      }
      list.push_back(&tag);
    };
    for (ItemRef r : unit_.order) {
      const ast::Item& item = unit_.item(r);
      if (const auto* rule = std::get_if<ast::Rule>(&item)) {
        for (const ast::Action& a : rule->actions) {
          if (a.kind != ast::ActionKind::add) continue;
          for (const ast::Text& tag : a.tags) see(tag);
        }
      } else if (const auto* group = std::get_if<ast::Exclusive>(&item)) {
        for (const ast::Text& tag : group->tags) see(tag);
      }
    }
  }

  void unused_constants() {
    for (const ast::Let* let : unit_.all<ast::Let>()) {
      bool builtin =
          is_metric(let->name.value) || is_guard_builtin(let->name.value);  // already an error
      if (!used_.count(let->name.value) && !builtin) {
        diags().warning(codes::kUnusedConstant, let->name.span,
                        fmt::format("constant '{}' is never used", let->name.value));
      }
    }
  }

  // Constants are case-sensitive too: `VIP` and `vip` are two constants, and a
  // constant `Revenue` is not the metric `revenue`.
  void constants_differing_in_case() {
    std::map<std::string, const ast::Let*> seen;
    std::vector<std::string_view> builtins(metrics());
    builtins.insert(builtins.end(), guard_builtins().begin(), guard_builtins().end());
    for (const ast::Let* let : unit_.all<ast::Let>()) {
      const std::string& name = let->name.value;
      std::string lower = lower_case(name);
      for (std::string_view builtin : builtins) {
        if (lower == builtin && name != builtin) {
          diags()
              .warning(codes::kCaseOnly, let->name.span,
                       fmt::format("constant '{}' differs from '{}' only in case", name, builtin))
              .help(fmt::format("names are case-sensitive: '{}' in a guard is this constant, "
                                "not '{}'; rename the constant",
                                name, builtin));
        }
      }
      auto [it, fresh] = seen.emplace(lower, let);
      if (fresh || it->second->name.value == name) continue;
      diags()
          .warning(codes::kCaseOnly, let->name.span,
                   fmt::format("constant '{}' differs from '{}' only in case: they are two "
                               "constants",
                               name, it->second->name.value))
          .note(it->second->name.span, "the other constant")
          .help("names are case-sensitive: rename one, or use one spelling everywhere");
    }
  }

  Unit& unit_;
  const std::set<std::string>& used_;
  std::vector<const ast::Rule*> rules_;
  std::map<std::string, const ast::Exclusive*> groups_;
  std::map<std::string, const ast::Let*> constants_;  // the first declaration of each
};

}  // namespace

void check_program(Unit& unit, const std::set<std::string>& used_constants) {
  ProgramChecker(unit, used_constants).run();
}

}  // namespace ptag::passes
