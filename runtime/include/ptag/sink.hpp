// Where change records go (docs/language.md, "Records").
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "ptag/time.hpp"

namespace ptag {

enum class RecordAction : std::uint8_t { add, remove, emit };

// Why a record was written: an event, a timer (or an expiring tag), or
// `--backfill` (new rules acting once on a restored state).
enum class RecordCause : std::uint8_t { event, timer, backfill };

// A record's views are valid during the Sink::record call that receives it;
// copy what you keep. Beyond the call, `tag` and `rule` (the program's own
// strings) live as long as the Program, or as long as the engine for a tag or
// rule that only the restored snapshot named; `partner` (in the engine's partner
// table, which moves as partners arrive) and `event_id` (in the pushed Event)
// may not. Do not assume a NUL after a view (partner ids have none).
struct ChangeRecord {
  Seconds time = 0;  // the event's own time, or the timer's deadline
  std::string_view partner;
  RecordAction action = RecordAction::add;
  std::string_view tag;  // the tag, or the notification name for emit
  std::string_view rule;
  bool timer = false;         // cause: timer (else event, or `cause`)
  std::string_view event_id;  // only for events with an id
  bool has_event_id = false;
  // The engine sets both `timer` and `cause`; a record made by hand with only
  // `timer` set still reads as a timer's.
  RecordCause cause = RecordCause::event;
  // The partner's number in the engine (order of first appearance).
  std::uint32_t partner_index = 0;
  // Its place in a store's audit trail (`records.seq`): an engine on a store
  // (DurableEngine) numbers each record once, as it is made, before any sink
  // sees it; 0 for an engine without a store.
  std::int64_t seq = 0;
  RecordCause cause_of() const {
    if (cause != RecordCause::event) return cause;
    return timer ? RecordCause::timer : RecordCause::event;
  }
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void record(const ChangeRecord& r) = 0;
  virtual void flush() {}
  // A hint, given a few events or timers ahead: records of this partner
  // (ChangeRecord::partner_index) may follow soon. A sink that keeps state
  // per partner can start loading it from memory.
  virtual void prefetch(std::uint32_t partner_index) { (void)partner_index; }
};

// One JSON object per line, fields in the order of docs/language.md, "Records";
// byte for byte the text of append_record_json, only faster: tag and rule
// names are quoted once and kept, the time text is kept per second (and its
// date per day), and lines go to the FILE in large writes. After flush()
// everything is in the FILE and fflush'ed.
class JsonlSink : public Sink {
 public:
  explicit JsonlSink(std::FILE* out);
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;
  void record(const ChangeRecord& r) override;
  void flush() override;

 private:
  struct Names;  // the quoted tag and rule names
  std::string_view quoted_name(std::string_view name);
  void update_time(Seconds t);
  void write_out();

  std::FILE* out_;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0, used_ = 0;
  std::unique_ptr<Names> names_;
  std::string scratch_;  // a partner or event id that needs escapes
  // The last record's time and its text; the day of that text's date part.
  Seconds second_ = 0, day_ = 0;
  bool have_second_ = false, have_day_ = false;
  std::string time_text_;
};

// Appends `r` as one JSONL line to `out`.
void append_record_json(std::string& out, const ChangeRecord& r);

}  // namespace ptag
