// Events that own their bytes. A source's events are views valid only until
// its next event; copied into a batch, many can be pushed at once, which
// lets the engine fetch the state of later events while it applies earlier
// ones (Engine::push(span)).
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "ptag/event.hpp"

namespace ptag {

class EventBatch {
 public:
  // Copies the event and its strings; `line` is where it came from (0 if
  // not from a file).
  void add(const Event& event, std::size_t line = 0);
  std::span<const Event> events() const { return {events_.data(), size_}; }
  std::size_t line(std::size_t index) const { return lines_[index]; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Orders the events by time; equal times keep the order they were added in
  // (each keeps its line). For inputs that are not in time order (`--sort`).
  void sort_by_time();
  // Forgets the events; their storage is kept for the next ones.
  void clear();

 private:
  std::string_view keep(std::string_view s);

  std::vector<Event> events_;  // the first size_ are in use
  std::vector<std::size_t> lines_;
  std::size_t size_ = 0;
  std::vector<std::unique_ptr<char[]>> chunks_;
  std::size_t chunk_ = 0, used_ = 0;  // the chunk being filled, and its fill
  std::vector<std::unique_ptr<char[]>> large_;  // texts longer than a chunk
};

}  // namespace ptag
