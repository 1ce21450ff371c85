// The engine's state as rows, for stores that write only what changed
// (docs/store.md, "How the state is kept"): a small head (the program's
// rules and tags, the clock), one self-contained row per partner, and the
// customers and applied event ids added since the last commit. The bytes of
// a row are the engine's own format; a store keeps them as they are.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptag/time.hpp"

namespace ptag {

// 64 applied ids of one numbered prefix (`e-1042`): bit i is the id with
// number block * 64 + i. Written whole each time one of its bits is set.
struct AppliedIdWord {
  std::uint32_t prefix = 0;  // into the head's list of prefixes
  std::uint64_t block = 0;
  std::uint64_t bits = 0;
  friend bool operator==(const AppliedIdWord&, const AppliedIdWord&) = default;
};

// A list of texts in one buffer (a commit may carry a million rows).
class TextRows {
 public:
  void add(std::string_view text) {
    text_.append(text);
    ends_.push_back(text_.size());
  }
  std::size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  std::string_view operator[](std::size_t i) const {
    std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(text_).substr(begin, ends_[i] - begin);
  }
  std::size_t bytes() const { return text_.size(); }
  void clear() {
    text_.clear();
    ends_.clear();
  }

 private:
  std::string text_;
  std::vector<std::size_t> ends_;
};

// What changed since the last take_state_rows(): written in the same
// transaction as the records, it brings the stored state up to the engine's.
struct StateRows {
  std::string head;  // replaces the stored one
  // Everything follows, not only what changed: the stored partners,
  // customers and ids go first (a new store, or a rule change that
  // renumbered tags or rules).
  bool all = false;
  std::vector<std::uint32_t> partners;  // positions, ascending
  TextRows partner_rows;                // their rows, in the same order
  std::vector<std::uint32_t> customer_partners;  // new customers: the partner's position
  TextRows customers;                            //   and the customer's id
  std::vector<AppliedIdWord> id_words;           // changed words, whole
  TextRows id_texts;                             // new (or re-applied) ids kept as text
  std::vector<std::optional<Seconds>> id_times;  //   with their event time under a dedup window
  // Under a dedup window: ids with an event time before this are forgotten.
  std::optional<Seconds> forget_before;

  std::size_t bytes() const {
    return head.size() + partner_rows.bytes() + partners.size() * 4 + customers.bytes() +
           id_words.size() * 20 + id_texts.bytes() + id_times.size() * 8;
  }
};

// What a store gives back to restore an engine from its rows.
class StateRowsReader {
 public:
  virtual ~StateRowsReader() = default;
  virtual std::string head() = 0;
  // Every partner's row in position order (0, 1, 2, ...).
  virtual void partners(const std::function<void(std::int64_t position, std::string_view row)>& each) = 0;
  virtual void customers(const std::function<void(std::int64_t partner, std::string_view customer)>& each) = 0;
  virtual void id_words(const std::function<void(const AppliedIdWord&)>& each) = 0;
  virtual void id_texts(const std::function<void(std::string_view id, std::optional<Seconds> time)>& each) = 0;
};

}  // namespace ptag
