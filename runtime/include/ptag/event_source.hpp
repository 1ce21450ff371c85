// Where events come from: a pull interface, and the JSONL reader.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "ptag/event.hpp"

namespace ptag {

class EventSource {
 public:
  // `waiting`: only from sources asked to report waits (JsonlSource's
  // `stream`): nothing more has arrived yet; calling next() again blocks.
  enum class Status { event, bad_line, end, waiting };
  virtual ~EventSource() = default;
  // The next event (valid until the following call), a bad line (`error`
  // says why), or the end of the input.
  virtual Status next(Event& event, std::string& error) = 0;
  // The line (1-based) of the last event or bad line returned.
  virtual std::size_t line() const = 0;
};

// One JSON object per line (docs/events.md), read with simdjson. Blank lines
// are skipped. Numbers keep their exact decimal text (docs/events.md, "Numbers and amounts").
//
// A file is read in large blocks. With `stream` (for pipes, FIFOs and
// terminals), the source reads whatever has arrived and returns
// Status::waiting when the next read would block after it returned lines,
// so that the caller can apply and write them without waiting for more.
class JsonlSource : public EventSource {
 public:
  explicit JsonlSource(std::FILE* in, bool stream = false);
  // Over text in memory (a request's body): the same reader, no FILE*.
  explicit JsonlSource(std::string_view text);
  ~JsonlSource() override;
  Status next(Event& event, std::string& error) override;
  std::size_t line() const override;
  // Bytes of input consumed: through the last line returned.
  std::uint64_t offset() const;
  // Continues from `offset` (a regular file), counting lines from `line`
  // (the lines before it); false when the file cannot seek there.
  bool start_at(std::uint64_t offset, std::size_t line);
  // The errno that ended the input early (a read error such as EIO or
  // EISDIR), or 0 when it ended at its end.
  int read_error() const;

 private:
  struct Reader;
  std::unique_ptr<Reader> reader_;
};

}  // namespace ptag
