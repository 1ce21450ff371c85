#include "workload.hpp"

#include <fmt/format.h>

#include <ptag/time.hpp>

namespace ptag::bench {
namespace {

struct Random {
  std::uint64_t state;
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

}  // namespace

std::uint64_t write_events(std::FILE* out, const EventMix& mix) {
  static const char* kCountries[] = {"DE", "AT", "CH", "FR", "NL", "US", "GB", "ES"};
  Random rng{mix.seed};
  const Seconds start = *parse_time("2026-01-01T00:00:00Z");
  const Seconds year = 365 * 86400;
  std::string buffer;
  std::uint64_t id = 0;
  auto flush = [&] {
    std::fwrite(buffer.data(), 1, buffer.size(), out);
    buffer.clear();
  };
  for (std::uint64_t p = 0; p < mix.partners; ++p) {
    Seconds t = start + static_cast<Seconds>(p * year / mix.partners);
    fmt::format_to(std::back_inserter(buffer),
                   R"({{"id":"e{}","type":"join","partner":"p{}","time":"{}","data":{{"country":"{}"}}}})"
                   "\n",
                   ++id, p, format_time(t), kCountries[rng.below(8)]);
    if (buffer.size() > (1 << 20)) flush();
  }
  std::uint64_t rest = mix.events > mix.partners ? mix.events - mix.partners : 0;
  for (std::uint64_t i = 0; i < rest; ++i) {
    Seconds t = start + year + static_cast<Seconds>(i * year / std::max<std::uint64_t>(rest, 1));
    if (rng.below(500) == 0) t -= static_cast<Seconds>(rng.below(2 * 86400));  // a late event
    std::uint64_t p = rng.below(mix.partners);
    std::uint64_t kind = rng.below(100);
    std::string time = format_time(t);
    auto head = [&](const char* type) {
      fmt::format_to(std::back_inserter(buffer), R"({{"id":"e{}","type":"{}","partner":"p{}","time":"{}")", ++id,
                     type, p, time);
    };
    if (kind < 70) {
      head("click");
      buffer += "}\n";
    } else if (kind < 85) {
      head("signup");
      buffer += "}\n";
    } else if (kind < 95) {
      head("sale");
      // Repeat customers: a partner's customers come from a small pool.
      fmt::format_to(std::back_inserter(buffer), R"(,"data":{{"amount":{}.{:02},"customer":"c{}-{}"}}}})"
                                                 "\n",
                     rng.below(500) + 5, rng.below(100), p, rng.below(20));
    } else if (kind < 99) {
      head("commission");
      fmt::format_to(std::back_inserter(buffer), R"(,"data":{{"amount":{}.{:02}}}}})"
                                                 "\n",
                     rng.below(50) + 1, rng.below(100));
    } else {
      head("refund");
      fmt::format_to(std::back_inserter(buffer), R"(,"data":{{"amount":{}.00}}}})"
                                                 "\n",
                     rng.below(100) + 1);
    }
    if (buffer.size() > (1 << 20)) flush();
  }
  flush();
  return mix.partners + rest;
}

std::string make_rules(std::uint64_t count, std::uint64_t seed) {
  Random rng{seed};
  std::string out = "# Generated rules.\n";
  std::uint64_t groups = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t n = rng.below(1000) + 1;
    switch (i % 12) {
      case 0: out += fmt::format("rule \"r{}\" on join add \"New {}\"\n", i, i); break;
      case 1: out += fmt::format("rule \"r{}\" on click when clicks >= {} add \"Clicker {}\"\n", i, n % 50 + 2, i); break;
      case 2:
        out += fmt::format("rule \"r{}\" on sale when event.amount >= {} add \"Big {}\" for {}d\n", i, n % 400 + 50, i,
                           n % 30 + 1);
        break;
      case 3: out += fmt::format("rule \"r{}\" on milestone revenue >= {} add \"Revenue {}\"\n", i, n * 10, i); break;
      case 4: out += fmt::format("rule \"r{}\" on first_sale add \"Proven {}\"\n", i, i); break;
      case 5: out += fmt::format("rule \"r{}\" on inactive {}d add \"Quiet {}\"\n", i, n % 90 + 7, i); break;
      case 6: out += fmt::format("rule \"r{}\" on signup when tagged \"Quiet {}\" remove \"Quiet {}\"\n", i, i - 1, i - 1); break;
      case 7: out += fmt::format("rule \"r{}\" on no_referral {}d add \"No Referrals {}\"\n", i, n % 120 + 30, i); break;
      case 8: out += fmt::format("rule \"r{}\" on tag_added \"Revenue {}\" emit \"revenue {}\"\n", i, i - 5, i); break;
      case 9: {
        std::uint64_t g = groups++;
        out += fmt::format("exclusive \"Tier {} A\", \"Tier {} B\", \"Tier {} C\"\n", g, g, g);
        out += fmt::format("rule \"r{}\" on milestone sales >= {} add \"Tier {} B\"\n", i, n % 20 + 1, g);
        break;
      }
      case 10:
        out += fmt::format("rule \"r{}\" on commission when partner.country in [\"DE\", \"AT\"] and commissions > {} add \"Earner {}\"\n",
                           i, n % 100, i);
        break;
      default: out += fmt::format("rule \"r{}\" on anniversary {}d add \"Anniversary {}\"\n", i, n % 400 + 30, i); break;
    }
  }
  return out;
}

// The countries generated rules test (most of them are W1's joins' countries).
constexpr const char* kRuleCountries[] = {"DE", "AT", "FR", "ES", "GB", "US", "NL", "IT"};

std::string make_sparse_rules(std::uint64_t count, std::uint64_t seed) {
  Random rng{seed};
  std::string out = "# Generated rules that fire rarely.\n";
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t n = rng.below(1000) + 1;
    const char* country = kRuleCountries[n % 8];
    switch (i % 10) {
      case 0: out += fmt::format("rule \"r{}\" on join when partner.country == \"{}\" add \"Region {}\"\n", i, country, i); break;
      case 1: out += fmt::format("rule \"r{}\" on click when clicks == {} add \"Clicker {}\"\n", i, n % 400 + 50, i); break;
      case 2:
        out += fmt::format("rule \"r{}\" on sale when event.amount >= {} add \"Big {}\" for 30d\n", i, n % 100 + 495, i);
        break;
      case 3: out += fmt::format("rule \"r{}\" on milestone revenue >= {} add \"Revenue {}\"\n", i, n * 20 + 5000, i); break;
      case 4:
        out += fmt::format("rule \"r{}\" on first_sale when partner.country == \"{}\" and event.amount >= 400 add \"Proven {}\"\n",
                           i, country, i);
        break;
      case 5: out += fmt::format("rule \"r{}\" on signup when signups == {} add \"Recruiter {}\"\n", i, n % 30 + 10, i); break;
      case 6:
        out += fmt::format("rule \"r{}\" on commission when partner.country in [\"DE\", \"AT\"] and commissions > {} add \"Earner {}\"\n",
                           i, n * 10 + 500, i);
        break;
      case 7: out += fmt::format("rule \"r{}\" on refund when event.amount >= {} emit \"refund {}\"\n", i, n % 10 + 95, i); break;
      case 8: out += fmt::format("rule \"r{}\" on event \"custom.{}\" add \"Custom {}\"\n", i, i, i); break;
      default:
        if (i % 100 == 9) out += fmt::format("rule \"r{}\" on inactive {}d add \"Quiet {}\"\n", i, n % 60 + 30, i);
        else out += fmt::format("rule \"r{}\" on click when tagged \"Clicker {}\" and clicks == {} add \"Keen {}\"\n", i, i - 8, n % 400 + 60, i);
        break;
    }
  }
  return out;
}

std::string make_guarded_rules(std::uint64_t count, std::uint64_t seed) {
  Random rng{seed};
  std::string out = "# Generated rules, every one guarded.\n";
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t n = rng.below(1000) + 1;
    const char* country = kRuleCountries[n % 8];
    std::uint64_t tag = i % 40, other = (i + 7) % 40;
    switch (i % 10) {
      case 0:
        out += fmt::format("on click when clicks >= {} and partner.country in [\"DE\", \"AT\"] and not tagged \"G{}\" add \"G{}\"\n",
                           n % 300 + 20, tag, tag);
        break;
      case 1: out += fmt::format("on click when days_since_join > {} and clicks < {} add \"G{}\"\n", n % 400, n % 50 + 5, tag); break;
      case 2: out += fmt::format("on click when tagged \"G{}\" and clicks == {} remove \"G{}\"\n", other, n % 200 + 10, tag); break;
      case 3:
        out += fmt::format("on click when partner.country == \"{}\" and (sales > {} or revenue >= {}) add \"G{}\"\n", country,
                           n % 20 + 5, n * 10 + 2000, tag);
        break;
      case 4:
        out += fmt::format("on sale when event.amount >= {} and revenue >= {} and not tagged \"G{}\" add \"G{}\"\n", n % 400 + 100,
                           n * 5 + 1000, tag, tag);
        break;
      case 5:
        out += fmt::format("on sale when revenue >= {} and partner.country in [\"DE\", \"AT\"] and not tagged \"G{}\" add \"G{}\"\n",
                           n * 10 + 5000, tag, tag);
        break;
      case 6: out += fmt::format("on signup when signups >= {} and sales > {} add \"G{}\"\n", n % 40 + 5, n % 10, tag); break;
      case 7:
        out += fmt::format("on commission when commissions > {} and partner.country == \"{}\" add \"G{}\"\n", n * 2 + 100, country, tag);
        break;
      case 8: out += fmt::format("on refund when event.amount * 2 > revenue / {} emit \"refund {}\"\n", n % 20 + 5, i); break;
      default: out += fmt::format("on click when revenue - commissions > {} and not tagged \"G{}\" add \"G{}\"\n", n * 20, tag, tag); break;
    }
  }
  return out;
}

}  // namespace ptag::bench
