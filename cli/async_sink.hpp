// Records formatted and written on a thread of their own (`ptag run
// --threads 2`): the engine's thread only copies each record's partner and
// event id into a block; a writer thread turns full blocks into JSON lines
// through the inner sink, in order. flush() returns once everything handed
// over is written and flushed, so a store commit's --out length is exact.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ptag/sink.hpp"

namespace ptag::cli {

class AsyncSink : public Sink {
 public:
  // `inner` is called only on the writer thread (and after flush() returns,
  // until the next record, by no one).
  explicit AsyncSink(Sink& inner);
  ~AsyncSink() override;  // flushes, stops the writer and joins it
  AsyncSink(const AsyncSink&) = delete;
  AsyncSink& operator=(const AsyncSink&) = delete;

  void record(const ChangeRecord& r) override;
  void flush() override;

 private:
  // Tags and rules are the program's strings (they live as long as it);
  // partner ids and event ids are copied into `text`.
  struct Row {
    ChangeRecord record;
    std::size_t partner_at, event_at;
  };
  struct Block {
    std::vector<Row> rows;
    std::string text;
  };
  static constexpr std::size_t kRows = 4096;

  void hand_over();
  void run();

  Sink& inner_;
  std::unique_ptr<Block> filling_;
  std::mutex m_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Block>> full_, free_;
  bool flush_asked_ = false, stop_ = false;
  bool writer_waits_ = false, flush_waits_ = false;  // asleep on changed_
  std::uint64_t handed_ = 0, written_ = 0, flushed_at_ = 0;
  std::thread writer_;
};

}  // namespace ptag::cli
