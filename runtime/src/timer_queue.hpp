// The timer queue: a 4-ary min-heap of (deadline, partner) entries whose four
// children share one 64-byte cache line. Against a binary heap that halves
// the levels a pop walks and the cache lines it touches.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "ptag/time.hpp"

namespace ptag {

// A timer-queue entry: the partner's earliest deadline when it was queued.
struct TimerEntry {
  Seconds deadline;
  std::uint32_t partner;

  bool before(const TimerEntry& o) const {
    return deadline != o.deadline ? deadline < o.deadline : partner < o.partner;
  }
};
static_assert(sizeof(TimerEntry) == 16);

class TimerQueue {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  const TimerEntry& top() const { return at(0); }
  // The entries that can surface right after the top: its children.
  template <typename Fn>
  void for_next(const Fn& fn) const {
    for (std::size_t c = 1; c < 5 && c < size_; ++c) fn(at(c));
  }

  void push(TimerEntry e) {
    if (size_ == capacity_) grow();
    std::size_t i = size_++;
    while (i > 0) {
      std::size_t parent = (i - 1) / 4;
      if (!e.before(at(parent))) break;
      at(i) = at(parent);
      i = parent;
    }
    at(i) = e;
  }

  void pop() {
    TimerEntry last = at(--size_);
    if (size_ == 0) return;
    std::size_t i = 0;
    for (;;) {
      std::size_t first = 4 * i + 1;
      if (first >= size_) break;
      std::size_t end = first + 4 < size_ ? first + 4 : size_;
      std::size_t best = first;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (at(c).before(at(best))) best = c;
      }
      if (!at(best).before(last)) break;
      at(i) = at(best);
      i = best;
    }
    at(i) = last;
  }

 private:
  // Slot i lives at buffer index i + 3, so children 4i+1..4i+4 start on a
  // 64-byte boundary.
  static constexpr std::size_t kPad = 3;
  struct Free {
    void operator()(TimerEntry* p) const { std::free(p); }
  };
  TimerEntry& at(std::size_t i) { return buffer_.get()[i + kPad]; }
  const TimerEntry& at(std::size_t i) const { return buffer_.get()[i + kPad]; }

  void grow() {
    std::size_t capacity = capacity_ ? capacity_ * 2 : 1024;
    std::size_t bytes = (capacity + kPad + 1) * sizeof(TimerEntry);
    bytes = (bytes + 63) / 64 * 64;
    auto* fresh = static_cast<TimerEntry*>(std::aligned_alloc(64, bytes));
    if (!fresh) throw std::bad_alloc();
    if (size_) std::memcpy(fresh + kPad, buffer_.get() + kPad, size_ * sizeof(TimerEntry));
    buffer_.reset(fresh);
    capacity_ = capacity;
  }

  std::unique_ptr<TimerEntry, Free> buffer_;
  std::size_t size_ = 0, capacity_ = 0;
};

}  // namespace ptag
