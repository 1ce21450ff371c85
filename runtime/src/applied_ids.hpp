// The applied event ids of an engine without a dedup window. Most sources
// number their events (`e-1042`, `1042`): such an id is kept as one bit, 64
// numbers of a prefix to a word, so that increasing ids touch one word per
// 64 events instead of a table slot (a cache miss) each, and cost a bit
// instead of 20 bytes. Every other id (`evt-0042`, with a leading zero, or
// `a1b`) is kept as text. Membership is exact either way.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptag/state_rows.hpp"
#include "text_table.hpp"

namespace ptag {

class AppliedIds {
 public:
  // Prefixes kept as bits: the first ones seen, in order. An id of any
  // other prefix is kept as text, always, so where an id lives depends only
  // on the ids before it.
  static constexpr std::size_t kMaxPrefixes = 16;

  // An id that ends in a number: the text before it and the number. The
  // number has 1 to 18 digits and no leading zero (`0` itself is one), so
  // that every such id is exactly one (prefix, number).
  struct Numbered {
    std::string_view prefix;
    std::uint64_t number;
  };
  static std::optional<Numbered> numbered(std::string_view id) {
    std::size_t end = id.size(), begin = end;
    while (begin > 0 && id[begin - 1] >= '0' && id[begin - 1] <= '9') --begin;
    std::size_t digits = end - begin;
    if (digits == 0 || digits > 18 || (id[begin] == '0' && digits > 1)) return std::nullopt;
    std::uint64_t n = 0;
    for (std::size_t i = begin; i < end; ++i) n = n * 10 + static_cast<std::uint64_t>(id[i] - '0');
    return Numbered{id.substr(0, begin), n};
  }

  // What changed, for state rows: the key of each word a bit was set in
  // (repeats included) and each id kept as text, from log_to() on.
  struct Log {
    std::vector<std::uint64_t> word_keys;
    TextRows texts;
    void clear() {
      word_keys.clear();
      texts.clear();
    }
  };
  void log_to(Log* log) { log_ = log; }
  // The word a logged key names, as it is now.
  AppliedIdWord word_of_key(std::uint64_t key) const {
    return {static_cast<std::uint32_t>((key - 1) >> kPrefixShift), (key - 1) & kBlockMask, word_of(key)};
  }

  bool contains(std::string_view id, std::uint64_t hash) const {
    if (auto bit = where(id)) return word_of(bit->key) & bit->mask;
    return texts_.contains(id, hash);
  }
  // False when the id was already there.
  bool insert(std::string_view id, std::uint64_t hash) {
    if (auto bit = where_admitting(id)) return set(bit->key, bit->mask);
    if (!texts_.insert(id, hash)) return false;
    if (log_) log_->texts.add(id);
    return true;
  }
  void prefetch(std::string_view id, std::uint64_t hash) const {
    if (auto bit = where(id)) {
      if (!words_.empty()) __builtin_prefetch(&words_[slot_hash(bit->key) & mask_]);
      return;
    }
    texts_.prefetch(hash);
  }
  std::size_t size() const { return numbered_ + texts_.size(); }

  // For snapshots: the prefixes in order, then every word (prefix number,
  // number / 64, the bits) by prefix and number, then the other ids in the
  // order they came.
  const std::vector<std::string>& prefixes() const { return prefixes_; }
  struct Word {
    std::uint32_t prefix;
    std::uint64_t block;
    std::uint64_t bits;
    friend bool operator<(const Word& a, const Word& b) {
      return a.prefix != b.prefix ? a.prefix < b.prefix : a.block < b.block;
    }
  };
  std::vector<Word> words() const {
    std::vector<Word> out;
    out.reserve(count_);
    for (const Slot& s : words_)
      if (s.key) out.push_back({static_cast<std::uint32_t>((s.key - 1) >> kPrefixShift), (s.key - 1) & kBlockMask, s.bits});
    std::sort(out.begin(), out.end());
    return out;
  }
  template <typename Fn>
  void for_each_text(const Fn& fn) const {
    texts_.for_each(fn);
  }
  // Every id as text: the numbered ones by prefix and number, then the others.
  template <typename Fn>
  void for_each(const Fn& fn) const {
    std::string id;
    for (const Word& w : words())
      for (std::uint64_t b = w.bits; b; b &= b - 1) {
        id = prefixes_[w.prefix];
        id += std::to_string(w.block * 64 + static_cast<std::uint64_t>(__builtin_ctzll(b)));
        fn(std::string_view(id));
      }
    texts_.for_each(fn);
  }
  // Restoring: false for what a snapshot of this class cannot hold (a
  // prefix twice or past the limit, a word of an unknown prefix or given
  // twice or empty, an id as text that would be kept as bits).
  bool add_prefix(std::string_view prefix) {
    // A prefix ends before the number: never in a digit.
    if (!prefix.empty() && prefix.back() >= '0' && prefix.back() <= '9') return false;
    if (prefixes_.size() >= kMaxPrefixes) return false;
    for (const std::string& p : prefixes_)
      if (p == prefix) return false;
    prefixes_.emplace_back(prefix);
    return true;
  }
  bool add_word(std::uint32_t prefix, std::uint64_t block, std::uint64_t bits) {
    constexpr std::uint64_t kLargest = 999'999'999'999'999'999;  // 18 digits
    if (prefix >= prefixes_.size() || bits == 0 || block > kLargest / 64) return false;
    if (block * 64 + static_cast<std::uint64_t>(63 - __builtin_clzll(bits)) > kLargest) return false;
    std::uint64_t key = (static_cast<std::uint64_t>(prefix) << kPrefixShift | block) + 1;
    if (word_of(key)) return false;
    for (std::uint64_t b = bits; b; b &= b - 1) set(key, b & -b);
    return true;
  }
  // A numbered id is text only when its prefix came after the list was full
  // (restore the prefixes first).
  bool add_text(std::string_view id, std::uint64_t hash) {
    if (numbered(id) && (where(id) || prefixes_.size() < kMaxPrefixes)) return false;
    return texts_.insert(id, hash);
  }
  void reserve_texts(std::size_t n) { texts_.reserve(n); }

 private:
  // 10^18 / 64 < 2^54 blocks; the prefix number above them.
  static constexpr int kPrefixShift = 54;
  static constexpr std::uint64_t kBlockMask = (std::uint64_t{1} << kPrefixShift) - 1;
  struct Bit {
    std::uint64_t key;  // (prefix << kPrefixShift | number / 64) + 1: never 0
    std::uint64_t mask;
  };
  struct Slot {
    std::uint64_t key = 0;  // 0: empty
    std::uint64_t bits = 0;
  };

  // The word and bit of an id kept as bits; empty for an id kept as text.
  std::optional<Bit> where(std::string_view id) const {
    std::optional<Numbered> n = numbered(id);
    if (!n) return std::nullopt;
    std::optional<std::uint32_t> p = prefix_number(n->prefix);
    if (!p) return std::nullopt;
    return bit(*p, n->number);
  }
  // The same, taking a new prefix while there is room.
  std::optional<Bit> where_admitting(std::string_view id) {
    std::optional<Numbered> n = numbered(id);
    if (!n) return std::nullopt;
    std::optional<std::uint32_t> p = prefix_number(n->prefix);
    if (!p) {
      if (prefixes_.size() >= kMaxPrefixes) return std::nullopt;
      prefixes_.emplace_back(n->prefix);
      p = last_ = static_cast<std::uint32_t>(prefixes_.size() - 1);
    }
    return bit(*p, n->number);
  }
  static Bit bit(std::uint32_t prefix, std::uint64_t number) {
    return Bit{(static_cast<std::uint64_t>(prefix) << kPrefixShift | number >> 6) + 1, std::uint64_t{1} << (number & 63)};
  }
  std::optional<std::uint32_t> prefix_number(std::string_view prefix) const {
    if (last_ < prefixes_.size() && prefixes_[last_] == prefix) return last_;
    for (std::uint32_t i = 0; i < prefixes_.size(); ++i)
      if (prefixes_[i] == prefix) return last_ = i;
    return std::nullopt;
  }
  // splitmix64's finalizer: every bit of the key (the prefix too) moves the low bits.
  static std::uint64_t slot_hash(std::uint64_t key) {
    key = (key ^ (key >> 30)) * 0xBF58476D1CE4E5B9ULL;
    key = (key ^ (key >> 27)) * 0x94D049BB133111EBULL;
    return key ^ (key >> 31);
  }
  std::uint64_t word_of(std::uint64_t key) const {
    if (words_.empty()) return 0;
    for (std::size_t i = slot_hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = words_[i];
      if (s.key == key) return s.bits;
      if (!s.key) return 0;
    }
  }
  bool set(std::uint64_t key, std::uint64_t mask) {
    if (log_) log_->word_keys.push_back(key);
    if ((count_ + 1) * 4 > words_.size() * 3) grow();
    for (std::size_t i = slot_hash(key) & mask_;; i = (i + 1) & mask_) {
      Slot& s = words_[i];
      if (!s.key) {
        s = {key, mask};
        ++count_;
        ++numbered_;
        return true;
      }
      if (s.key == key) {
        if (s.bits & mask) return false;
        s.bits |= mask;
        ++numbered_;
        return true;
      }
    }
  }
  void grow() {
    std::vector<Slot> old = std::move(words_);
    words_.assign(old.empty() ? 256 : old.size() * 2, Slot{});
    mask_ = words_.size() - 1;
    for (const Slot& s : old) {
      if (!s.key) continue;
      std::size_t i = slot_hash(s.key) & mask_;
      while (words_[i].key) i = (i + 1) & mask_;
      words_[i] = s;
    }
  }

  Log* log_ = nullptr;
  std::vector<std::string> prefixes_;
  // The last prefix found (ids of one source come in runs). Written by const
  // lookups: an engine is used from one thread at a time.
  mutable std::uint32_t last_ = 0;
  std::vector<Slot> words_;
  std::size_t mask_ = 0, count_ = 0, numbered_ = 0;
  TextSet texts_;
};

}  // namespace ptag
