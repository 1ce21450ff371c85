// The live progress line of `ptag run` on a terminal (docs/cli.md,
// "Progress"): input read, events/s, records, the last commit and the time
// left, on one stderr line a few times a second, cleared before the summary.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace ptag::cli {

class Progress {
 public:
  // `input_bytes`: the input's size when it is a file (percent and time
  // left), from `start_offset` (a continued run).
  Progress(std::optional<std::uint64_t> input_bytes, std::uint64_t start_offset);
  ~Progress();  // finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // The run's thread, after each batch (relaxed: the line reads them as it can).
  void read(std::uint64_t offset, std::uint64_t lines) {
    offset_.store(offset, std::memory_order_relaxed);
    lines_.store(lines, std::memory_order_relaxed);
  }
  void records(std::uint64_t n) { records_.store(n, std::memory_order_relaxed); }
  void committed() { committed_.store(now_ms(), std::memory_order_relaxed); }
  // Prints a message line (a bad input line) above the progress line.
  void message(const std::string& text);
  // Stops the line and clears it, so that the summary takes its place.
  void finish();

  // The line as it is shown (for tests): `seconds` since the start.
  static std::string line(std::optional<std::uint64_t> input_bytes, std::uint64_t start_offset, std::uint64_t offset,
                          std::uint64_t lines, std::uint64_t records, double seconds,
                          std::optional<double> since_commit);

 private:
  static std::int64_t now_ms();
  void loop();

  std::optional<std::uint64_t> input_bytes_;
  std::uint64_t start_offset_;
  std::int64_t started_ms_;
  std::atomic<std::uint64_t> offset_{0}, lines_{0}, records_{0};
  std::atomic<std::int64_t> committed_{-1};
  std::mutex m_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  bool shown_ = false;
  std::thread thread_;
};

}  // namespace ptag::cli
