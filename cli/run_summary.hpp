// The end-of-run summary of `ptag run` on stderr, and its warnings about
// input that was valid but almost surely a mistake.
#pragma once

#include <cstdint>
#include <string>

#include "ptag/engine.hpp"
#include "ptag/program.hpp"

namespace ptag::cli {

struct RunTotals {
  std::uint64_t lines = 0;  // non-blank lines read: events and bad lines
  std::uint64_t bad = 0;
  double seconds = 0;
};

// "1 partner", "2 partners", with thousands separated: "14,524 events".
std::string count_of(std::uint64_t n, const char* singular, const char* plural = nullptr);
// A duration in the largest two units: "3d 4h", "12m", "5s".
std::string duration_text(Seconds s);

void print_summary(const Program& program, const Engine& engine, const RunTotals& totals);
// Event types no rule uses (with a "did you mean" for built-in look-alikes)
// and events older than the clock; the number of warnings printed.
std::size_t print_input_warnings(const Program& program, const EngineStats& stats);

}  // namespace ptag::cli
