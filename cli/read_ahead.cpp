#include "read_ahead.hpp"

#include <chrono>

namespace ptag::cli {

ReadAhead::ReadAhead(JsonlSource& source, std::size_t batch, std::size_t depth) : source_(source), batch_(batch) {
  for (std::size_t i = 0; i < depth; ++i) {
    all_.push_back(std::make_unique<InputChunk>());
    free_.push_back(all_.back().get());
  }
  reader_ = std::thread([this] { run(); });
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard lock(m_);
    stop_ = true;
  }
  changed_.notify_all();
  reader_.join();
}

InputChunk& ReadAhead::next() {
  std::unique_lock lock(m_);
  if (current_) free_.push_back(current_);  // its events were pushed: the reader may refill it
  // Wake only a thread that sleeps: a wake-up per chunk costs the engine more than the chunk.
  if (reader_waits_) changed_.notify_all();
  engine_waits_ = true;
  changed_.wait(lock, [&] { return !ready_.empty(); });
  engine_waits_ = false;
  current_ = ready_.front();
  ready_.pop_front();
  return *current_;
}

double ReadAhead::parse_seconds() const {
  std::lock_guard lock(m_);
  return parse_seconds_;
}

void ReadAhead::run() {
  Event event;
  std::string error;
  for (;;) {
    InputChunk* c = nullptr;
    {
      std::unique_lock lock(m_);
      reader_waits_ = true;
      changed_.wait(lock, [&] { return stop_ || !free_.empty(); });
      reader_waits_ = false;
      if (stop_) return;
      c = free_.front();
      free_.pop_front();
    }
    auto start = std::chrono::steady_clock::now();
    c->batch.clear();
    c->bad = c->end = false;
    c->lines = 0;
    while (c->batch.size() < batch_) {
      EventSource::Status got = source_.next(event, error);
      if (got == EventSource::Status::end) {
        c->end = true;
        break;
      }
      ++c->lines;
      if (got == EventSource::Status::bad_line) {
        c->bad = true;
        c->bad_line = source_.line();
        c->error = error;
        break;
      }
      // A regular file never reports `waiting`: only streams do.
      c->batch.add(event, source_.line());
    }
    c->offset = source_.offset();
    c->line = source_.line();
    c->read_error = source_.read_error();
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bool wake = false;
    {
      std::lock_guard lock(m_);
      parse_seconds_ += took;
      ready_.push_back(c);
      wake = engine_waits_;
    }
    if (wake) changed_.notify_all();
    if (c->end) return;
  }
}

}  // namespace ptag::cli
