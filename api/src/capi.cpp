// The C API over the C++ one: no exception crosses this file's functions.
#include "ptag/ptag.h"

#include <new>
#include <optional>
#include <string>
#include <vector>

#include "ptag/ptag.hpp"

struct ptag_program {
  ptag::Program program;
};

namespace {

thread_local std::string last_error;

ptag_status fail(ptag_status status, std::string message) {
  last_error = std::move(message);
  return status;
}

// Turns a record's views into the C struct. The tag and rule are the
// program's std::strings and the event id is the caller's C string, all
// NUL-terminated; the partner id is not (the engine packs ids), so it is
// copied into a buffer reused for every record.
class CallbackSink : public ptag::Sink {
 public:
  CallbackSink(ptag_record_fn fn, void* user) : fn_(fn), user_(user) {}
  void record(const ptag::ChangeRecord& r) override {
    if (!fn_) return;
    partner_.assign(r.partner);
    ptag_record c{
        r.time,        partner_.c_str(), static_cast<ptag_action>(r.action),          r.tag.data(),
        r.rule.data(), r.timer ? 1 : 0,  r.has_event_id ? r.event_id.data() : nullptr};
    fn_(&c, user_);
  }

 private:
  ptag_record_fn fn_;
  void* user_;
  std::string partner_;
};

template <typename F>
ptag_status guarded(F&& body) {
  try {
    last_error.clear();
    return body();
  } catch (const std::bad_alloc&) {
    return fail(PTAG_ERROR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(PTAG_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(PTAG_ERROR_INTERNAL, "unknown error");
  }
}

ptag_status take(ptag::Result<ptag::Program> result, ptag_program** out) {
  if (!result) return fail(PTAG_ERROR_COMPILE, result.render());
  *out = new ptag_program{std::move(result.value())};
  return PTAG_OK;
}

}  // namespace

struct ptag_engine {
  ptag_engine(const ptag::Program& p, ptag_record_fn fn, void* user)
      : sink(fn, user), engine(p, sink) {}
  CallbackSink sink;
  ptag::Engine engine;
  std::vector<ptag::Field> fields;  // reused for every push: no allocation per event
};

extern "C" {

const char* ptag_last_error(void) {
  return last_error.c_str();
}

ptag_status ptag_compile(const char* name, const char* text, ptag_program** out) {
  if (!name || !text || !out) return fail(PTAG_ERROR_ARGUMENT, "ptag_compile: NULL argument");
  return guarded([&] { return take(ptag::compile({{name, text}}), out); });
}

ptag_status ptag_compile_files(const char* const* paths, size_t count, ptag_program** out) {
  if (!paths || !out) return fail(PTAG_ERROR_ARGUMENT, "ptag_compile_files: NULL argument");
  return guarded([&] {
    std::vector<std::string> files(paths, paths + count);
    return take(ptag::compile_files(files), out);
  });
}

void ptag_program_free(ptag_program* program) {
  delete program;
}

ptag_status ptag_engine_new(const ptag_program* program, ptag_record_fn on_record, void* user_data,
                            ptag_engine** out) {
  if (!program || !out) return fail(PTAG_ERROR_ARGUMENT, "ptag_engine_new: NULL argument");
  return guarded([&] {
    *out = new ptag_engine(program->program, on_record, user_data);
    return PTAG_OK;
  });
}

void ptag_engine_free(ptag_engine* engine) {
  delete engine;
}

ptag_status ptag_engine_push(ptag_engine* engine, const ptag_event* e) {
  if (!engine || !e || !e->type || !e->partner || (e->data_count && !e->data)) {
    return fail(PTAG_ERROR_ARGUMENT, "ptag_engine_push: NULL argument");
  }
  return guarded([&] {
    ptag::Event event;
    event.type = e->type;
    event.partner = e->partner;
    event.time = e->time;
    event.has_id = e->id != nullptr;
    if (e->id) event.id = e->id;
    engine->fields.clear();
    for (size_t i = 0; i < e->data_count; ++i) {
      const ptag_field& f = e->data[i];
      if (!f.name) continue;
      ptag::Value v{static_cast<ptag::Value::Kind>(f.kind), f.number, {}};
      if (f.kind == PTAG_TEXT) {
        if (!f.text) continue;
        v.text = f.text;
      }
      engine->fields.push_back({f.name, v});
    }
    event.data.swap(engine->fields);
    std::string why;
    ptag::PushResult r = engine->engine.push(event, &why);
    event.data.swap(engine->fields);
    if (r == ptag::PushResult::invalid) return fail(PTAG_ERROR_EVENT, why);
    return r == ptag::PushResult::duplicate ? PTAG_DUPLICATE : PTAG_OK;
  });
}

ptag_status ptag_engine_advance_to(ptag_engine* engine, int64_t time) {
  if (!engine) return fail(PTAG_ERROR_ARGUMENT, "ptag_engine_advance_to: NULL engine");
  return guarded([&] {
    engine->engine.advance_to(time);
    return PTAG_OK;
  });
}

size_t ptag_engine_partner_tags(const ptag_engine* engine, const char* partner, const char** tags,
                                size_t capacity) {
  if (!engine || !partner) return 0;
  size_t count = 0;
  guarded([&] {
    std::optional<size_t> i = engine->engine.find_partner(partner);
    if (!i) return PTAG_OK;
    auto names = engine->engine.partner_tags(*i);
    for (size_t k = 0; k < names.size() && k < capacity && tags; ++k) tags[k] = names[k].data();
    count = names.size();
    return PTAG_OK;
  });
  return count;
}

ptag_status ptag_engine_partner_metric(const ptag_engine* engine, const char* partner,
                                       const char* metric, int64_t* millionths) {
  if (!engine || !partner || !metric || !millionths)
    return fail(PTAG_ERROR_ARGUMENT, "NULL argument");
  return guarded([&] {
    std::optional<size_t> i = engine->engine.find_partner(partner);
    if (!i) return fail(PTAG_ERROR_ARGUMENT, std::string("unknown partner ") + partner);
    auto value = engine->engine.partner_value(*i, metric);
    if (!value) return fail(PTAG_ERROR_ARGUMENT, std::string("unknown metric ") + metric);
    *millionths = *value;
    return PTAG_OK;
  });
}

ptag_status ptag_parse_time(const char* text, int64_t* seconds) {
  if (!text || !seconds) return fail(PTAG_ERROR_ARGUMENT, "NULL argument");
  auto t = ptag::parse_time(text, true);
  if (!t) return fail(PTAG_ERROR_ARGUMENT, std::string("not an RFC 3339 time: ") + text);
  *seconds = *t;
  return PTAG_OK;
}

}  // extern "C"
