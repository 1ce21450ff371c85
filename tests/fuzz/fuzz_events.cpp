// Any bytes as JSONL events for the fixed program of events.ptag: no crash,
// no sanitizer report, and the invariants of event_harness.hpp hold.
#include <cstdint>

#include "event_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ptag::fuzz::run_both(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
