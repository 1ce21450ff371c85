// The applied ids against a plain set of strings: numbered ids as bits,
// the others as text, must give the same answers, and a restore from the
// parts a snapshot writes must hold the same ids.
#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "applied_ids.hpp"

using ptag::AppliedIds;
using ptag::hash_text;

namespace {

// Ids as sources write them, and the cases at the edges of "numbered".
std::string random_id(std::mt19937_64& rng, std::uint64_t& next) {
  static const std::vector<std::string> prefixes = {"e-", "", "evt_", "x", "partner-42/", "é"};
  switch (rng() % 12) {
    case 0: return "e-0" + std::to_string(rng() % 50);          // leading zero: text
    case 1: return "a" + std::to_string(rng() % 40) + "b";      // no trailing number: text
    case 2: return std::to_string(rng() % 1000000000000000000ULL);  // 18 digits at most: bits
    case 3: return "big" + std::to_string(1000000000000000000ULL + rng() % 1000);  // 19 digits: text
    case 4: return "p" + std::to_string(rng() % 40) + "-" + std::to_string(rng() % 100);  // many prefixes
    case 5: return "0";
    case 6: return "";
    default: {
      const std::string& p = prefixes[rng() % prefixes.size()];
      // Mostly increasing, some late, some repeated.
      std::uint64_t n = rng() % 8 == 0 ? rng() % (next + 1) : next++;
      return p + std::to_string(n);
    }
  }
}

}  // namespace

TEST_CASE("applied ids: numbered tell apart exactly") {
  auto numbered = [](std::string_view id) { return AppliedIds::numbered(id); };
  REQUIRE(numbered("e-1042"));
  CHECK(numbered("e-1042")->prefix == "e-");
  CHECK(numbered("e-1042")->number == 1042);
  CHECK(numbered("0")->number == 0);
  CHECK(numbered("0")->prefix.empty());
  CHECK(numbered("999999999999999999")->number == 999999999999999999ULL);
  CHECK_FALSE(numbered("1000000000000000000"));  // 19 digits
  CHECK_FALSE(numbered("e-01"));
  CHECK_FALSE(numbered("e-00"));
  CHECK_FALSE(numbered("e-"));
  CHECK_FALSE(numbered(""));
  CHECK(numbered("e-10")->prefix == "e-");
}

TEST_CASE("applied ids: the same answers as a set of strings, and the same after a restore") {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    std::mt19937_64 rng(seed);
    AppliedIds ids;
    std::unordered_set<std::string> reference;
    std::uint64_t next = rng() % 100;
    for (int i = 0; i < 60000; ++i) {
      std::string id = random_id(rng, next);
      std::uint64_t h = hash_text(id);
      INFO("seed " << seed << " id '" << id << "'");
      REQUIRE(ids.contains(id, h) == (reference.count(id) == 1));
      ids.prefetch(id, h);
      REQUIRE(ids.insert(id, h) == reference.insert(id).second);
      REQUIRE(ids.contains(id, h));
    }
    CHECK(ids.size() == reference.size());
    CHECK(ids.prefixes().size() == AppliedIds::kMaxPrefixes);  // "p.." made more than fit

    // Every id once through for_each.
    std::multiset<std::string> listed;
    ids.for_each([&](std::string_view id) { listed.emplace(id); });
    CHECK(listed == std::multiset<std::string>(reference.begin(), reference.end()));

    // Rebuilt from what a snapshot writes, in its order.
    AppliedIds restored;
    for (const std::string& p : ids.prefixes()) REQUIRE(restored.add_prefix(p));
    for (const AppliedIds::Word& w : ids.words()) REQUIRE(restored.add_word(w.prefix, w.block, w.bits));
    ids.for_each_text([&](std::string_view id) { REQUIRE(restored.add_text(id, hash_text(id))); });
    CHECK(restored.size() == ids.size());
    // The same parts again: a restored engine snapshots to the same bytes.
    CHECK(restored.prefixes() == ids.prefixes());
    std::vector<AppliedIds::Word> a = ids.words(), b = restored.words();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].prefix == b[i].prefix);
      CHECK(a[i].block == b[i].block);
      CHECK(a[i].bits == b[i].bits);
    }
    std::vector<std::string> texts_a, texts_b;
    ids.for_each_text([&](std::string_view id) { texts_a.emplace_back(id); });
    restored.for_each_text([&](std::string_view id) { texts_b.emplace_back(id); });
    CHECK(texts_a == texts_b);
    for (const std::string& id : reference) CHECK(restored.contains(id, hash_text(id)));
    std::uint64_t probe = 0;
    for (int i = 0; i < 5000; ++i) {
      std::string id = random_id(rng, probe);
      CHECK(restored.contains(id, hash_text(id)) == (reference.count(id) == 1));
    }
  }
}

TEST_CASE("applied ids: increasing numbers take a word per 64, and a restore refuses what it cannot hold") {
  AppliedIds ids;
  for (int i = 1; i <= 6400; ++i) {
    std::string id = "e" + std::to_string(i);
    REQUIRE(ids.insert(id, hash_text(id)));
  }
  CHECK(ids.size() == 6400);
  CHECK(ids.words().size() == 101);  // 1..63, then 64 to a word, then 6400 alone
  std::size_t texts = 0;
  ids.for_each_text([&](std::string_view) { ++texts; });
  CHECK(texts == 0);

  AppliedIds r;
  CHECK_FALSE(r.add_word(0, 1, 1));  // no prefix yet
  REQUIRE(r.add_prefix("e"));
  CHECK_FALSE(r.add_prefix("e"));  // twice
  CHECK(r.add_word(0, 1, 0b101));
  CHECK_FALSE(r.add_word(0, 1, 0b010));  // the same word twice
  CHECK_FALSE(r.add_word(0, 2, 0));      // empty
  CHECK_FALSE(r.add_word(0, 999999999999999999ULL / 64 + 1, 1));  // past 18 digits
  CHECK_FALSE(r.add_text("e65", hash_text("e65")));  // numbered, so never text
  CHECK(r.add_text("e065", hash_text("e065")));
  CHECK(r.contains("e64", hash_text("e64")));
  CHECK(r.contains("e66", hash_text("e66")));
  CHECK_FALSE(r.contains("e65", hash_text("e65")));
  CHECK(r.size() == 3);
  CHECK_FALSE(r.add_prefix("a1"));  // a prefix never ends in a digit
  // While there is room for its prefix, a numbered id would have been bits.
  CHECK_FALSE(r.add_text("q-5", hash_text("q-5")));
  for (std::size_t i = 1; i < AppliedIds::kMaxPrefixes; ++i) REQUIRE(r.add_prefix("q" + std::to_string(i) + "-"));
  CHECK_FALSE(r.add_prefix("one-too-many-"));
  CHECK(r.add_text("q-5", hash_text("q-5")));  // now its prefix came too late: text
  CHECK(r.contains("q-5", hash_text("q-5")));
}
