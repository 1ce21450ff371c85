// Pass 3: the program as a whole: rule names, exclusive groups, the
// tag_added / tag_removed cascade graph, and tags nothing adds.
#include <fmt/format.h>
#include <algorithm>
#include <functional>
#include <map>

#include "passes.hpp"
#include "ptag/catalogue.hpp"
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
    exclusive_groups();
    cascades();
    tags_never_added();
    add_and_remove();
    unused_constants();
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
    auto warn = [&](const ast::Text& tag, std::string_view how) {
      if (added.count(tag.value) || tag.value.empty()) return;
      auto& d = diags().warning(codes::kTagNeverAdded, tag.span,
                                fmt::format("tag '{}' is {} but no rule adds it", tag.value, how));
      std::string_view best = closest_name(tag.value, known);
      if (!best.empty()) d.help(fmt::format("did you mean '{}'?", best));
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
  }

  void add_and_remove() {
    for (const ast::Rule* rule : rules_) {
      std::map<std::string, const ast::Text*> added;
      for (const ast::Action& a : rule->actions) {
        if (a.kind == ast::ActionKind::add) {
          for (const ast::Text& tag : a.tags) added.emplace(tag.value, &tag);
        }
      }
      for (const ast::Action& a : rule->actions) {
        if (a.kind != ast::ActionKind::remove) continue;
        for (const ast::Text& tag : a.tags) {
          auto it = added.find(tag.value);
          if (it == added.end()) continue;
          diags()
              .warning(codes::kAddAndRemove, tag.span,
                       fmt::format("this rule both adds and removes '{}'", tag.value))
              .note(it->second->span, "added here");
        }
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

  Unit& unit_;
  const std::set<std::string>& used_;
  std::vector<const ast::Rule*> rules_;
  std::map<std::string, const ast::Exclusive*> groups_;
};

}  // namespace

void check_program(Unit& unit, const std::set<std::string>& used_constants) {
  ProgramChecker(unit, used_constants).run();
}

}  // namespace ptag::passes
