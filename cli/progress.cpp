#include "progress.hpp"

#include <cinttypes>
#include <cstdio>

#include "run_summary.hpp"

namespace ptag::cli {

namespace {

constexpr auto kEvery = std::chrono::milliseconds(250);

std::string bytes_text(double b) {
  char out[32];
  if (b >= 1e9) std::snprintf(out, sizeof out, "%.1f GB", b / 1e9);
  else if (b >= 1e6) std::snprintf(out, sizeof out, "%.1f MB", b / 1e6);
  else std::snprintf(out, sizeof out, "%.0f kB", b / 1e3);
  return out;
}


}  // namespace

std::string Progress::line(std::optional<std::uint64_t> input_bytes, std::uint64_t start_offset, std::uint64_t offset,
                           std::uint64_t lines, std::uint64_t records, double seconds,
                           std::optional<double> since_commit) {
  std::string out = "ptag run: ";
  double read = static_cast<double>(offset >= start_offset ? offset - start_offset : 0);
  if (input_bytes && *input_bytes > 0) {
    char percent[16];
    std::snprintf(percent, sizeof percent, "%.0f%%", 100.0 * static_cast<double>(offset) / static_cast<double>(*input_bytes));
    out += bytes_text(static_cast<double>(offset)) + " of " + bytes_text(static_cast<double>(*input_bytes)) + " (" +
           percent + ")";
  } else {
    out += bytes_text(static_cast<double>(offset)) + " read";
  }
  double rate = seconds > 0 ? static_cast<double>(lines) / seconds : 0;
  out += ", " + count_of(static_cast<std::uint64_t>(rate), "line/s", "lines/s") + ", " + count_of(records, "record");
  if (since_commit) out += ", committed " + duration_text(static_cast<Seconds>(*since_commit)) + " ago";
  if (input_bytes && read > 0 && seconds > 1 && offset < *input_bytes) {
    double left = static_cast<double>(*input_bytes - offset) / (read / seconds);
    out += ", about " + duration_text(static_cast<Seconds>(left) + 1) + " left";
  }
  return out;
}

std::int64_t Progress::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Progress::Progress(std::optional<std::uint64_t> input_bytes, std::uint64_t start_offset)
    : input_bytes_(input_bytes), start_offset_(start_offset), started_ms_(now_ms()) {
  offset_ = start_offset;
  thread_ = std::thread([this] { loop(); });
}

Progress::~Progress() {
  finish();
}

void Progress::loop() {
  std::unique_lock lock(m_);
  while (!stop_cv_.wait_for(lock, kEvery, [this] { return stop_; })) {
    std::int64_t now = now_ms();
    std::int64_t committed = committed_.load(std::memory_order_relaxed);
    std::optional<double> since;
    if (committed >= 0) since = static_cast<double>(now - committed) / 1000.0;
    std::string text = line(input_bytes_, start_offset_, offset_.load(std::memory_order_relaxed),
                            lines_.load(std::memory_order_relaxed), records_.load(std::memory_order_relaxed),
                            static_cast<double>(now - started_ms_) / 1000.0, since);
    // \r and erase to the end of the line: one line, rewritten in place.
    std::fprintf(stderr, "\r%s\033[K", text.c_str());
    std::fflush(stderr);
    shown_ = true;
  }
}

void Progress::message(const std::string& text) {
  std::lock_guard lock(m_);
  std::fprintf(stderr, "%s%s", shown_ ? "\r\033[K" : "", text.c_str());
  shown_ = false;
}

void Progress::finish() {
  {
    std::lock_guard lock(m_);
    if (stop_) return;
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
  if (shown_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

}  // namespace ptag::cli
