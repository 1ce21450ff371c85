// The input parsed on a thread of its own (`ptag run --threads 2`). The
// reader cuts the input into chunks exactly where the one-thread loop cuts
// its batches (every `batch` events, and at each bad line), so the engine
// sees the same pushes in the same order and the output is byte-identical.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ptag/event_batch.hpp"
#include "ptag/event_source.hpp"

namespace ptag::cli {

struct InputChunk {
  EventBatch batch;         // the events, at most `batch` of them
  bool bad = false;         // a bad line follows the events
  std::size_t bad_line = 0;
  std::string error;        // why that line is bad
  bool end = false;         // the input ends after the events
  std::uint64_t lines = 0;  // lines consumed: the events and the bad line
  // The input's position after the chunk, as JsonlSource tells it.
  std::uint64_t offset = 0;
  std::size_t line = 0;
  int read_error = 0;
};

class ReadAhead {
 public:
  // Starts reading `source` (a regular file: a read never waits for a writer).
  ReadAhead(JsonlSource& source, std::size_t batch, std::size_t depth = 32);
  ~ReadAhead();  // stops the reader and joins it
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next chunk, in input order; valid until the next call. After the
  // chunk with `end`, do not call again.
  InputChunk& next();
  // Seconds the reader spent reading and parsing (for --stats).
  double parse_seconds() const;

 private:
  void run();

  JsonlSource& source_;
  std::size_t batch_;
  mutable std::mutex m_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<InputChunk>> all_;
  std::deque<InputChunk*> free_, ready_;
  InputChunk* current_ = nullptr;  // handed out by next()
  bool stop_ = false;
  bool reader_waits_ = false, engine_waits_ = false;  // asleep on changed_
  double parse_seconds_ = 0;
  std::thread reader_;
};

}  // namespace ptag::cli
