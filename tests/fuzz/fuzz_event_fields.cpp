// Almost valid events: each input line is "T M PAYLOAD": byte T picks a valid
// event line, byte M whether PAYLOAD goes in raw or as a JSON string, and the
// payload replaces one field of that line (type, partner, time, id, a data key
// or value). So the fuzzer spends its time on numbers with many digits,
// exponents, odd times and ids instead of on JSON syntax. Besides the
// invariants of event_harness.hpp, exact decimals and times are checked
// against a reference here.
#include <cerrno>
#include <cstdint>
#include <optional>

#include "event_harness.hpp"
#include "ptag/decimal.hpp"
#include "ptag/time.hpp"

namespace {
using namespace ptag;

enum class Slot { other, number, amount, time_text, time_number };

struct Template {
  const char* before;
  const char* after;
  Slot slot;
  const char* key = nullptr;  // the data key of a number slot
};

// The payload goes between `before` and `after`; string slots have no quotes
// here: the payload brings them (raw) or is quoted.
constexpr Template kTemplates[] = {
    {R"({"type":)", R"(,"partner":"p1","time":"2026-01-03T00:00:00Z"})", Slot::other},
    {R"({"type":"sale","partner":)", R"(,"time":"2026-01-03T00:00:00Z","data":{"amount":1200,"customer":"c1"}})", Slot::other},
    {R"({"type":"click","partner":"p1","time":)", R"(})", Slot::time_text},
    {R"({"type":"signup","partner":"p2","time":)", R"(})", Slot::time_number},
    {R"({"id":)", R"(,"type":"click","partner":"p1","time":"2026-01-04T00:00:00Z"})", Slot::other},
    {R"({"type":"sale","partner":"p1","time":"2026-01-05T00:00:00Z","data":{"amount":)", R"(,"customer":"c2"}})", Slot::amount, "amount"},
    {R"({"type":"refund","partner":"p1","time":"2026-01-06T00:00:00Z","data":{"amount":)", R"(}})", Slot::amount, "amount"},
    {R"({"type":"commission","partner":"p2","time":"2026-01-06T00:00:00Z","data":{"amount":50,"rate":)", R"(}})", Slot::number, "rate"},
    {R"({"type":"x.probe","partner":"p3","time":"2026-01-07T00:00:00Z","data":{"n":)", R"(}})", Slot::number, "n"},
    {R"({"type":"sale","partner":"p2","time":"2026-01-07T00:00:00Z","data":{"amount":1500,"customer":)", R"(}})", Slot::other},
    {R"({"type":"update","partner":"p1","time":"2026-01-08T00:00:00Z","data":{"delta":)", R"(}})", Slot::number, "delta"},
    {R"({"type":"update","partner":"p2","time":"2026-01-08T00:00:00Z","data":{"score":)", R"(,"country":"AT"}})", Slot::number, "score"},
    {R"({"type":"update","partner":"p1","time":"2026-01-09T00:00:00Z","data":{)", R"(:12,"vip":true}})", Slot::other},
    {R"({"type":"sale","partner":"p1","time":"2026-01-09T00:00:00Z","data":{"amount":10,"amount":)", R"(}})", Slot::amount, "amount"},
    {R"({"type":"contract.signed","partner":"p2","time":"2026-01-10T00:00:00Z","data":{"value":)", R"(}})", Slot::other},
    {R"({"type":"join","partner":"p4","time":"2026-01-10T00:00:00Z","data":{"country":)", R"(}})", Slot::other},
    {R"({"type":"click","partner":"p1","time":"2026-01-11T00:00:00Z")", R"(})", Slot::other},
    {R"({)", R"("type":"signup","partner":"p1","time":"2026-01-11T00:00:00Z"})", Slot::other},
};
constexpr std::size_t kTemplateCount = sizeof kTemplates / sizeof kTemplates[0];

constexpr const char* kPrefix =
    R"({"id":"j1","type":"join","partner":"p1","time":"2026-01-01T00:00:00Z","data":{"country":"DE","score":5}})"
    "\n"
    R"({"id":"j2","type":"join","partner":"p2","time":"2026-01-02T00:00:00Z","data":{"country":"FR"}})"
    "\n";

void append_quoted(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

bool digits(std::string_view s, std::size_t& i) {
  std::size_t start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i > start;
}

// A JSON number as millionths, rounded half to even; nullopt when it is
// outside ±(2^63-1) millionths; `valid` false when it is not a JSON number.
std::optional<std::int64_t> reference_decimal(std::string_view s, bool& valid) {
  valid = false;
  std::size_t i = 0;
  bool negative = i < s.size() && s[i] == '-';
  if (negative) ++i;
  std::size_t int_start = i;
  if (!digits(s, i) || (s[int_start] == '0' && i - int_start > 1)) return std::nullopt;
  std::string mantissa(s.substr(int_start, i - int_start));
  long long exponent = 0;
  if (i < s.size() && s[i] == '.') {
    std::size_t frac = ++i;
    if (!digits(s, i)) return std::nullopt;
    mantissa += s.substr(frac, i - frac);
    exponent -= static_cast<long long>(i - frac);
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool minus = i < s.size() && s[i] == '-';
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t e = i;
    if (!digits(s, i)) return std::nullopt;
    long long value = 0;
    for (std::size_t k = e; k < i; ++k) value = std::min(value * 10 + (s[k] - '0'), 1'000'000LL);
    exponent += minus ? -value : value;
  }
  if (i != s.size()) return std::nullopt;
  valid = true;
  exponent += 6;  // to millionths
  std::size_t nonzero = mantissa.find_first_not_of('0');
  if (nonzero == std::string::npos) return 0;
  mantissa.erase(0, nonzero);
  std::string whole = mantissa, dropped;
  if (exponent >= 0) {
    if (static_cast<long long>(whole.size()) + exponent > 19) return std::nullopt;
    whole.append(static_cast<std::size_t>(exponent), '0');
  } else {
    auto drop = static_cast<std::size_t>(std::min<long long>(-exponent, 1'000'000));
    if (drop >= whole.size()) {
      dropped = std::string(drop - whole.size(), '0') + whole;
      whole = "0";
    } else {
      dropped = whole.substr(whole.size() - drop);
      whole.erase(whole.size() - drop);
    }
    if (whole.size() > 19) return std::nullopt;
  }
  unsigned __int128 value = 0;
  for (char c : whole) value = value * 10 + static_cast<unsigned>(c - '0');
  if (!dropped.empty()) {
    bool above_half = dropped[0] > '5' ||
                      (dropped[0] == '5' && dropped.find_first_not_of('0', 1) != std::string::npos);
    bool half = dropped[0] == '5' && !above_half;
    if (above_half || (half && (value & 1))) ++value;
  }
  if (value > static_cast<unsigned __int128>(INT64_MAX)) return std::nullopt;
  auto v = static_cast<std::int64_t>(value);
  return negative ? -v : v;
}

// The spliced lines of the current input; line numbers after kPrefixLines.
struct Spliced {
  const Template* t;
  std::string payload, line;
  bool raw;
};
constexpr std::size_t kPrefixLines = 2;
std::vector<Spliced> spliced;

// Checks what the source read from a spliced number or time against the reference.
void check_line(std::size_t number, EventSource::Status got, const Event& event,
                const std::string&) {
  if (number <= kPrefixLines) return;
  if (number - kPrefixLines > spliced.size()) fuzz::fail("more lines than were spliced");
  const Spliced& s = spliced[number - kPrefixLines - 1];
  const Template& t = *s.t;
  const std::string& line = s.line;
  std::string_view payload = s.payload;
  bool raw = s.raw;
  if (t.slot == Slot::other || (!raw && t.slot != Slot::time_text) ||
      (raw && t.slot == Slot::time_text))
    return;
  if (t.slot == Slot::time_text) {
    if (got != EventSource::Status::event) return;
    std::optional<Seconds> again = parse_time(format_time(event.time));
    if (!again || *again != event.time) fuzz::fail("a time does not read back", line);
    return;
  }
  bool valid;
  std::optional<std::int64_t> expected = reference_decimal(payload, valid);
  if (!valid) return;
  if (t.slot == Slot::time_number) {
    if (payload.find_first_of(".eE") != std::string_view::npos) return;
    errno = 0;
    long long seconds = std::strtoll(std::string(payload).c_str(), nullptr, 10);
    bool in_range = errno == 0 && seconds >= 0 && seconds <= 253402300799;
    if (in_range != (got == EventSource::Status::event))
      fuzz::fail(in_range ? "an epoch time in range made the line bad"
                          : "an epoch time out of range was accepted", line);
    if (in_range && event.time != seconds) fuzz::fail("an epoch time reads wrong", line);
    return;
  }
  if (got != EventSource::Status::event) {
    // Right for an amount out of range; a reader may also refuse a negative one.
    if (t.slot == Slot::amount && (!expected || *expected < 0)) return;
    fuzz::fail("a number in range made the line bad", line);
  }
  const Field* f = event.field(t.key);
  if (!expected) {
    if (f && t.slot != Slot::amount) fuzz::fail("a number out of range was read", line);
    if (t.slot == Slot::amount) fuzz::fail("an amount out of range was accepted", line);
    return;
  }
  if (!f || f->value.kind != Value::Kind::number || f->value.number != *expected)
    fuzz::fail("a number reads wrong", line + " expected " + format_decimal(*expected));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string events = kPrefix;
  spliced.clear();
  while (input.size() >= 2) {
    const Template& t = kTemplates[static_cast<std::uint8_t>(input[0]) % kTemplateCount];
    bool raw = (static_cast<std::uint8_t>(input[1]) & 1) == 0;
    input.remove_prefix(2);
    std::size_t end = input.find('\n');
    std::string_view payload = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    std::string line = t.before;
    if (raw) {
      line += payload;
    } else {
      append_quoted(line, payload);
    }
    line += t.after;
    events += line;
    events += '\n';
    spliced.push_back({&t, std::string(payload), std::move(line), raw});
  }
  ptag::fuzz::run_both(std::move(events), check_line);
  return 0;
}
