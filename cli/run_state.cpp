#include "run_state.hpp"

#include <algorithm>
#include <cstring>

namespace ptag::cli {


std::optional<CountOr> parse_count_or(const std::string& text, char suffix) {
  bool suffixed = !text.empty() && text.back() == suffix;
  std::string number = suffixed ? text.substr(0, text.size() - 1) : text;
  if (number.empty() || number.find_first_not_of(suffixed ? "0123456789." : "0123456789") != std::string::npos)
    return std::nullopt;
  try {
    if (suffixed) return CountOr{true, 0, std::stod(number)};
    return CountOr{false, std::stoull(number), 0};
  } catch (const std::exception&) {
    return std::nullopt;  // out of range
  }
}

std::optional<CommitPolicy> parse_commit_every(const std::string& text) {
  CommitPolicy every;
  if (text.empty()) return every;
  std::optional<CountOr> v = parse_count_or(text, 's');
  if (!v || (v->suffixed ? v->amount <= 0 : v->count == 0)) return std::nullopt;
  every.events = v->suffixed ? UINT64_MAX : v->count;
  every.seconds = v->suffixed ? v->amount : 1e300;
  return every;
}

std::optional<Seconds> parse_dedup_window(const std::string& text) {
  if (text.size() < 2 || text.size() > 12) return std::nullopt;
  std::string number = text.substr(0, text.size() - 1);
  if (number.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  Seconds unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return std::nullopt;
  }
  Seconds n = std::stoll(number) * unit;  // at most 11 digits: no overflow
  if (n <= 0 || n > 1000 * 7 * 86400) return std::nullopt;
  return n;
}

std::string input_fingerprint(std::FILE* file) {
  // FNV-1a over the first 64 KiB: an appended file keeps its fingerprint, a
  // rewritten one does not.
  char head[64 * 1024];
  long at = std::ftell(file);
  std::rewind(file);
  std::size_t n = std::fread(head, 1, sizeof head, file);
  std::clearerr(file);
  std::fseek(file, at, SEEK_SET);
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(head[i])) * 1099511628211ull;
  char text[40];
  std::snprintf(text, sizeof text, "fnv1a64:%zu:%016llx", n, static_cast<unsigned long long>(h));
  return text;
}

std::optional<InputPosition> resume_point(const StoreContents& loaded, const std::string& events,
                                          const std::string& fingerprint) {
  const auto& at = loaded.input;
  if (!at || events == "-" || at->path != events || at->fingerprint != fingerprint) return std::nullopt;
  return *at;
}

}  // namespace ptag::cli
