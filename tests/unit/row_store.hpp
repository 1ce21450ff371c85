// A store of state rows in memory, for tests: applies StateRows as the
// SQLite store does (everything first when `all`, ids forgotten before a
// time) and reads them back through the runtime's interface.
#pragma once

#include <map>
#include <set>

#include "ptag/state_rows.hpp"

namespace ptag::testing {

class RowStore : public StateRowsReader {
 public:
  void apply(const StateRows& r) {
    if (r.all) {
      partners_.clear();
      customers_.clear();
      words_.clear();
      ids_.clear();
    }
    head_ = r.head;
    for (std::size_t i = 0; i < r.partners.size(); ++i) partners_[r.partners[i]] = std::string(r.partner_rows[i]);
    for (std::size_t i = 0; i < r.customers.size(); ++i)
      customers_.emplace(r.customer_partners[i], std::string(r.customers[i]));
    for (const AppliedIdWord& w : r.id_words) words_[{w.prefix, w.block}] = w.bits;
    for (std::size_t i = 0; i < r.id_texts.size(); ++i) ids_[std::string(r.id_texts[i])] = r.id_times[i];
    if (r.forget_before) std::erase_if(ids_, [&](const auto& e) { return e.second && *e.second < *r.forget_before; });
  }
  std::size_t partner_rows() const { return partners_.size(); }

  std::string head() override { return head_; }
  void partners(const std::function<void(std::int64_t, std::string_view)>& each) override {
    for (const auto& [position, row] : partners_) each(position, row);
  }
  void customers(const std::function<void(std::int64_t, std::string_view)>& each) override {
    for (const auto& [partner, customer] : customers_) each(partner, customer);
  }
  void id_words(const std::function<void(const AppliedIdWord&)>& each) override {
    for (const auto& [key, bits] : words_) each({key.first, key.second, bits});
  }
  void id_texts(const std::function<void(std::string_view, std::optional<Seconds>)>& each) override {
    for (const auto& [id, time] : ids_) each(id, time);
  }

  std::map<std::int64_t, std::string> partners_;  // public for tests that damage a row

 private:
  std::string head_;
  std::set<std::pair<std::int64_t, std::string>> customers_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::uint64_t> words_;
  std::map<std::string, std::optional<Seconds>> ids_;
};

}  // namespace ptag::testing
