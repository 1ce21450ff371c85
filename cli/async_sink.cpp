#include "async_sink.hpp"

namespace ptag::cli {

AsyncSink::AsyncSink(Sink& inner) : inner_(inner), filling_(std::make_unique<Block>()) {
  writer_ = std::thread([this] { run(); });
}

AsyncSink::~AsyncSink() {
  flush();
  {
    std::lock_guard lock(m_);
    stop_ = true;
  }
  changed_.notify_all();
  writer_.join();
}

void AsyncSink::record(const ChangeRecord& r) {
  Block& b = *filling_;
  Row row{r, b.text.size(), 0};
  b.text.append(r.partner);
  row.event_at = b.text.size();
  if (r.has_event_id) b.text.append(r.event_id);
  b.rows.push_back(row);
  if (b.rows.size() == kRows) hand_over();
}

void AsyncSink::hand_over() {
  std::unique_ptr<Block> next;
  bool wake = false;
  {
    std::lock_guard lock(m_);
    full_.push_back(std::move(filling_));
    ++handed_;
    if (!free_.empty()) {
      next = std::move(free_.front());
      free_.pop_front();
    }
    wake = writer_waits_;
  }
  if (wake) changed_.notify_all();
  filling_ = next ? std::move(next) : std::make_unique<Block>();
}

void AsyncSink::flush() {
  if (!filling_->rows.empty()) hand_over();
  std::unique_lock lock(m_);
  std::uint64_t target = handed_;
  flush_asked_ = true;
  changed_.notify_all();
  flush_waits_ = true;
  changed_.wait(lock, [&] { return flushed_at_ >= target && written_ >= target && !flush_asked_; });
  flush_waits_ = false;
}

void AsyncSink::run() {
  std::unique_lock lock(m_);
  for (;;) {
    writer_waits_ = true;
    changed_.wait(lock, [&] { return stop_ || flush_asked_ || !full_.empty(); });
    writer_waits_ = false;
    if (!full_.empty()) {
      std::unique_ptr<Block> b = std::move(full_.front());
      full_.pop_front();
      lock.unlock();
      for (Row& row : b->rows) {
        // The views into the block's own text, made now that the text no longer grows.
        row.record.partner = std::string_view(b->text).substr(row.partner_at, row.record.partner.size());
        if (row.record.has_event_id)
          row.record.event_id = std::string_view(b->text).substr(row.event_at, row.record.event_id.size());
        inner_.record(row.record);
      }
      b->rows.clear();
      b->text.clear();
      lock.lock();
      ++written_;
      if (free_.size() < 4) free_.push_back(std::move(b));
      if (flush_waits_) changed_.notify_all();
      continue;
    }
    if (flush_asked_) {
      lock.unlock();
      inner_.flush();
      lock.lock();
      flushed_at_ = written_;
      flush_asked_ = false;
      changed_.notify_all();
      continue;
    }
    if (stop_) return;
  }
}

}  // namespace ptag::cli
