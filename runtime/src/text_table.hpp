// Compact keyed storage for the engine: short texts kept inline, longer ones
// in an arena, and open-addressing tables of 64-bit hashes. Millions of
// partners, event ids and customers cost a slot and their bytes each, not a
// heap node and a std::string (docs/performance.md).
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace ptag {

// A fast 64-bit hash of a short text (ids are typically 5-40 bytes): 8 bytes
// at a time, one multiply each, then a full avalanche. Not keyed: a hostile
// input can make probes longer, never wrong.
inline std::uint64_t hash_text(std::string_view s, std::uint64_t seed = 0) {
  constexpr std::uint64_t k = 0x9E3779B97F4A7C15ULL;
  std::uint64_t h = seed ^ (s.size() * k);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * k;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * k;
  }
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  return h ^ (h >> 33);
}

// Texts appended once and never moved: views into it stay valid.
class TextArena {
 public:
  // `size` bytes in one piece, never moved.
  char* allocate(std::size_t size) {
    if (size > free_) {
      std::size_t chunk = std::max<std::size_t>(kChunk, size);
      chunks_.push_back(std::make_unique_for_overwrite<char[]>(chunk));
      used_.push_back(0);
      next_ = chunks_.back().get();
      free_ = chunk;
    }
    char* at = next_;
    next_ += size;
    free_ -= size;
    bytes_ += size;
    if (!used_.empty()) used_.back() += size;
    return at;
  }
  std::string_view keep(std::string_view s) {
    char* at = allocate(s.size());
    if (!s.empty()) std::memcpy(at, s.data(), s.size());
    return {at, s.size()};
  }
  std::size_t bytes() const { return bytes_; }
  // Every chunk's used bytes, oldest first: the allocations in their order.
  template <typename Fn>
  void for_each_chunk(const Fn& fn) const {
    for (std::size_t i = 0; i < chunks_.size(); ++i) fn(chunks_[i].get(), used_[i]);
  }

 private:
  static constexpr std::size_t kChunk = 1 << 20;
  std::vector<std::unique_ptr<char[]>> chunks_;
  std::vector<std::size_t> used_;  // per chunk
  char* next_ = nullptr;
  std::size_t free_ = 0, bytes_ = 0;
};

// A text of any length in 16 bytes: up to 15 bytes inline, longer ones as a
// view into an arena.
class CompactText {
 public:
  CompactText() { bytes_[15] = 0; }
  CompactText(std::string_view s, TextArena& arena) {
    if (s.size() < 16) {
      std::memcpy(bytes_, s.data(), s.size());
      bytes_[15] = static_cast<char>(s.size());
    } else {
      std::string_view kept = arena.keep(s);
      const char* p = kept.data();
      std::uint32_t n = static_cast<std::uint32_t>(kept.size());
      std::memcpy(bytes_, &p, sizeof p);
      std::memcpy(bytes_ + 8, &n, sizeof n);
      bytes_[15] = kLong;
    }
  }
  std::string_view view() const {
    if (bytes_[15] != kLong) return {bytes_, static_cast<std::size_t>(bytes_[15])};
    const char* p;
    std::uint32_t n;
    std::memcpy(&p, bytes_, sizeof p);
    std::memcpy(&n, bytes_ + 8, sizeof n);
    return {p, n};
  }

 private:
  static constexpr char kLong = 16;
  char bytes_[16];
};

// A set of texts: one 16-byte slot (hash, text in the arena) per member,
// linear probing, at most 3/4 full. Each member may carry a fixed-size
// header of `Header` bytes before its text (the event time of an applied id
// for a dedup window); members are kept in the arena as header, 4-byte
// length, bytes.
template <std::size_t Header>
class BasicTextSet {
 public:
  bool contains(std::string_view key, std::uint64_t hash) const { return find(key, hash) != nullptr; }
  void prefetch(std::uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & mask_]);
  }
  // False when the key was already there; `header` is copied in when added.
  bool insert(std::string_view key, std::uint64_t hash, const void* header = nullptr) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.text) {
        s.hash = hash;
        s.text = store(key, header);
        ++size_;
        return true;
      }
      if (s.hash == hash && stored(s) == key) return false;
    }
  }
  std::size_t size() const { return size_; }
  // Room for `n` members without growing (a restore knows how many come).
  void reserve(std::size_t n) {
    std::size_t slots = slots_.empty() ? 1024 : slots_.size();
    while (n * 4 > slots * 3) slots *= 2;
    if (slots == slots_.size()) return;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(slots, Slot{});
    mask_ = slots - 1;
    rehash(old);
  }
  // Every member in the order it was inserted (snapshots are then the same
  // bytes for the same history).
  template <typename Fn>
  void for_each(const Fn& fn) const {
    for_each_entry([&](std::string_view key, const char*) { fn(key); });
  }
  // The same, with each member's header bytes.
  template <typename Fn>
  void for_each_entry(const Fn& fn) const {
    arena_.for_each_chunk([&](const char* at, std::size_t used) {
      for (const char* end = at + used; at < end;) {
        std::uint32_t n;
        std::memcpy(&n, at + Header, sizeof n);
        fn(std::string_view(at + Header + sizeof n, n), at);
        at += Header + sizeof n + n;
      }
    });
  }

 protected:
  // The member's header bytes (the start of its arena entry), or null.
  const char* find(std::string_view key, std::uint64_t hash) const {
    if (slots_.empty()) return nullptr;
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.text) return nullptr;
      if (s.hash == hash && stored(s) == key) return s.text;
    }
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    const char* text = nullptr;  // the header, a 4-byte length, then the bytes
  };
  static std::string_view stored(const Slot& s) {
    std::uint32_t n;
    std::memcpy(&n, s.text + Header, sizeof n);
    return {s.text + Header + sizeof n, n};
  }
  const char* store(std::string_view key, const void* header) {
    std::uint32_t n = static_cast<std::uint32_t>(key.size());
    char* at = arena_.allocate(Header + sizeof n + key.size());
    if constexpr (Header > 0) std::memcpy(at, header, Header);
    std::memcpy(at + Header, &n, sizeof n);
    if (n) std::memcpy(at + Header + sizeof n, key.data(), n);
    return at;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    rehash(old);
  }
  void rehash(const std::vector<Slot>& old) {
    for (const Slot& s : old) {
      if (!s.text) continue;
      std::size_t i = s.hash & mask_;
      while (slots_[i].text) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0, size_ = 0;
  TextArena arena_;
};

using TextSet = BasicTextSet<0>;

// Applied ids with their event times, for a dedup window. Forgetting is
// lazy: an id outside the window is ignored by the engine until keep_since()
// rebuilds the set without it (once per window of clock progress).
class TimedTextSet : public BasicTextSet<sizeof(std::int64_t)> {
 public:
  // The member's event time; empty when absent.
  std::optional<std::int64_t> time_of(std::string_view key, std::uint64_t hash) const {
    const char* at = find(key, hash);
    if (!at) return std::nullopt;
    std::int64_t t;
    std::memcpy(&t, at, sizeof t);
    return t;
  }
  // Sets the time of a member, or adds it.
  void assign(std::string_view key, std::uint64_t hash, std::int64_t time) {
    if (char* at = const_cast<char*>(find(key, hash))) {  // the arena's own bytes
      std::memcpy(at, &time, sizeof time);
      return;
    }
    insert(key, hash, &time);
  }
  // Every member (id, time) in the order it was first inserted.
  template <typename Fn>
  void for_each(const Fn& fn) const {
    for_each_entry([&](std::string_view id, const char* header) {
      std::int64_t t;
      std::memcpy(&t, header, sizeof t);
      fn(id, t);
    });
  }
  // Drops every member older than `cutoff`, keeping the others' order.
  void keep_since(std::int64_t cutoff) {
    TimedTextSet kept;
    for_each([&](std::string_view id, std::int64_t t) {
      if (t >= cutoff) kept.assign(id, hash_text(id), t);
    });
    *this = std::move(kept);
  }
};

// Partner number by id: 8-byte slots (32 bits of hash, the number); the id
// itself is compared where the partner keeps it.
class PartnerIndex {
 public:
  static constexpr std::uint32_t kMissing = UINT32_MAX;

  template <typename IdOf>
  std::uint32_t find(std::string_view id, std::uint64_t hash, const IdOf& id_of) const {
    if (slots_.empty()) return kMissing;
    std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.partner == kMissing) return kMissing;
      if (s.tag == tag && id_of(s.partner) == id) return s.partner;
    }
  }
  void prefetch(std::uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & mask_]);
  }
  // `hash_of` recomputes a member's hash when the table grows.
  template <typename HashOf>
  void insert(std::uint64_t hash, std::uint32_t partner, const HashOf& hash_of) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow(hash_of);
    place(hash, partner);
    ++size_;
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t partner = kMissing;
  };
  void place(std::uint64_t hash, std::uint32_t partner) {
    std::size_t i = hash & mask_;
    while (slots_[i].partner != kMissing) i = (i + 1) & mask_;
    slots_[i] = {static_cast<std::uint32_t>(hash >> 32), partner};
  }
  template <typename HashOf>
  void grow(const HashOf& hash_of) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.partner != kMissing) place(hash_of(s.partner), s.partner);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0, size_ = 0;
};

}  // namespace ptag
