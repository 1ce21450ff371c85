// The C API over the C++ one: no exception crosses this file's functions.
#include "ptag/ptag.h"

#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ptag/decimal.hpp"
#include "ptag/ptag.hpp"
#include "ptag/time.hpp"

struct ptag_program {
  ptag::Program program;
  std::string text;  // the rule files as a store keeps them (ptag::encode_program)
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

// `files`: the names of the files compiled (their imports are found again from these).
ptag_status take(ptag::Result<ptag::Program> result, const std::vector<std::string>& files,
                 ptag_program** out) {
  if (!result) return fail(PTAG_ERROR_COMPILE, result.render());
  std::vector<ptag::SourceFile> named;
  const ptag::SourceSet& sources = result.sources();
  for (const std::string& name : files) {
    for (std::size_t f = 0; f < sources.size(); ++f) {
      const ptag::SourceFile& file = sources.file(static_cast<ptag::FileId>(f));
      if (file.name == name) {
        named.push_back(file);
        break;
      }
    }
  }
  *out = new ptag_program{std::move(result.value()), ptag::encode_program(named)};
  return PTAG_OK;
}

// A store's refusals and failures name the file already.
template <typename F>
ptag_status guarded_store(F&& body) {
  return guarded([&] {
    try {
      return body();
    } catch (const ptag::StoreError& e) {
      return fail(PTAG_ERROR_STORE, e.what());
    }
  });
}

// Copies `text` and a NUL into the caller's buffer (ptag.h, "Text out").
ptag_status put_text(std::string_view text, char* buffer, size_t size, size_t* length,
                     const char* function) {
  if (length) *length = text.size();
  if (!buffer && size > 0)
    return fail(PTAG_ERROR_ARGUMENT, std::string(function) + ": NULL buffer");
  if (size <= text.size()) {
    if (size > 0) buffer[0] = '\0';
    return fail(PTAG_ERROR_BUFFER, std::string(function) + ": the text needs " +
                                       std::to_string(text.size() + 1) + " bytes, the buffer has " +
                                       std::to_string(size));
  }
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  return PTAG_OK;
}

// The seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: RFC 3339
// has four-digit years only.
constexpr int64_t kFirstTime = -62167219200;
constexpr int64_t kLastTime = 253402300799;

}  // namespace

struct ptag_engine {
  ptag_engine(ptag_record_fn fn, void* user) : sink(fn, user) {}
  CallbackSink sink;
  std::optional<ptag::Engine> owned;  // ptag_engine_new's; empty in a durable engine's view
  ptag::Engine* engine = nullptr;
  std::vector<ptag::Field> fields;  // reused for every push: no allocation per event
};

struct ptag_durable {
  ptag_durable(ptag_record_fn fn, void* user) : view(fn, user) {}
  std::unique_ptr<ptag::DurableEngine> durable;
  ptag_engine view;  // its sink gets the records; `engine` is the durable one's
};

extern "C" {

const char* ptag_last_error(void) {
  return last_error.c_str();
}

ptag_status ptag_compile(const char* name, const char* text, ptag_program** out) {
  if (!name || !text || !out) return fail(PTAG_ERROR_ARGUMENT, "ptag_compile: NULL argument");
  return guarded([&] { return take(ptag::compile({{name, text}}), {name}, out); });
}

ptag_status ptag_compile_files(const char* const* paths, size_t count, ptag_program** out) {
  if (!paths || !out) return fail(PTAG_ERROR_ARGUMENT, "ptag_compile_files: NULL argument");
  return guarded([&] {
    std::vector<std::string> files(paths, paths + count);
    return take(ptag::compile_files(files), files, out);
  });
}

void ptag_program_free(ptag_program* program) {
  delete program;
}

int ptag_jit_available(void) {
  return ptag::jit_available() ? 1 : 0;
}

ptag_status ptag_program_set_engine(ptag_program* program, ptag_engine_kind kind, int jit_opt,
                                    ptag_engine_kind* chosen) {
  if (!program) return fail(PTAG_ERROR_ARGUMENT, "ptag_program_set_engine: NULL program");
  if (kind != PTAG_ENGINE_AUTOMATIC && kind != PTAG_ENGINE_VM && kind != PTAG_ENGINE_JIT)
    return fail(PTAG_ERROR_ARGUMENT, "ptag_program_set_engine: unknown engine kind");
  if (jit_opt < 0 || jit_opt > 2) return fail(PTAG_ERROR_ARGUMENT, "ptag_program_set_engine: jit_opt must be 0, 1 or 2");
  if (kind == PTAG_ENGINE_JIT && !ptag::jit_available())
    return fail(PTAG_ERROR_ARGUMENT, "ptag_program_set_engine: this libptag was built without the JIT");
  return guarded([&] {
    ptag::EngineKind want = kind == PTAG_ENGINE_JIT  ? ptag::EngineKind::jit
                            : kind == PTAG_ENGINE_VM ? ptag::EngineKind::vm
                                                     : ptag::EngineKind::automatic;
    ptag::EngineChosen got = ptag::prepare_engine(program->program, {.kind = want, .jit_opt = jit_opt});
    if (chosen) *chosen = got.kind == ptag::EngineKind::jit ? PTAG_ENGINE_JIT : PTAG_ENGINE_VM;
    return PTAG_OK;
  });
}

ptag_status ptag_engine_new(const ptag_program* program, ptag_record_fn on_record, void* user_data,
                            ptag_engine** out) {
  if (!program || !out) return fail(PTAG_ERROR_ARGUMENT, "ptag_engine_new: NULL argument");
  return guarded([&] {
    auto made = std::make_unique<ptag_engine>(on_record, user_data);
    made->engine = &made->owned.emplace(program->program, made->sink);
    *out = made.release();
    return PTAG_OK;
  });
}

void ptag_engine_free(ptag_engine* engine) {
  if (engine && engine->owned) delete engine;
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
    ptag::PushResult r = engine->engine->push(event, &why);
    event.data.swap(engine->fields);
    if (r == ptag::PushResult::invalid) return fail(PTAG_ERROR_EVENT, why);
    return r == ptag::PushResult::duplicate ? PTAG_DUPLICATE : PTAG_OK;
  });
}

ptag_status ptag_engine_advance_to(ptag_engine* engine, int64_t time) {
  if (!engine) return fail(PTAG_ERROR_ARGUMENT, "ptag_engine_advance_to: NULL engine");
  return guarded([&] {
    engine->engine->advance_to(time);
    return PTAG_OK;
  });
}

size_t ptag_engine_partner_count(const ptag_engine* engine) {
  return engine ? engine->engine->partner_count() : 0;
}

ptag_status ptag_engine_partner_id(const ptag_engine* engine, size_t index, char* buffer,
                                   size_t size, size_t* length) {
  if (length) *length = 0;
  if (!engine) return fail(PTAG_ERROR_ARGUMENT, "ptag_engine_partner_id: NULL engine");
  return guarded([&] {
    std::string_view id;
    try {
      id = engine->engine->partner_id(index);
    } catch (const std::out_of_range& e) {
      if (size > 0 && buffer) buffer[0] = '\0';
      return fail(PTAG_ERROR_RANGE, std::string("ptag_engine_partner_id: ") + e.what());
    }
    return put_text(id, buffer, size, length, "ptag_engine_partner_id");
  });
}

size_t ptag_engine_partner_tags(const ptag_engine* engine, const char* partner, const char** tags,
                                size_t capacity) {
  if (!engine || !partner) return 0;
  size_t count = 0;
  guarded([&] {
    std::optional<size_t> i = engine->engine->find_partner(partner);
    if (!i) return PTAG_OK;
    auto names = engine->engine->partner_tags(*i);
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
    std::optional<size_t> i = engine->engine->find_partner(partner);
    if (!i) return fail(PTAG_ERROR_ARGUMENT, std::string("unknown partner ") + partner);
    auto value = engine->engine->partner_value(*i, metric);
    if (!value) return fail(PTAG_ERROR_ARGUMENT, std::string("unknown metric ") + metric);
    *millionths = *value;
    return PTAG_OK;
  });
}

ptag_status ptag_durable_open(const char* path, const ptag_program* program, unsigned flags,
                              ptag_record_fn on_record, void* user_data, ptag_durable** out) {
  if (!path || !program || !out) return fail(PTAG_ERROR_ARGUMENT, "ptag_durable_open: NULL argument");
  return guarded_store([&] {
    auto made = std::make_unique<ptag_durable>(on_record, user_data);
    ptag::StoreOptions options;
    if (flags & PTAG_DURABLE_SYNC_NORMAL) options.sync = ptag::StoreSync::normal;
    made->durable = ptag::DurableEngine::open(path, options);
    try {
      made->view.engine = &made->durable->start(program->program,
                                                {.sink = &made->view.sink,
                                                 .backfill = (flags & PTAG_DURABLE_BACKFILL) != 0,
                                                 .program_text = program->text});
    } catch (const std::invalid_argument& e) {
      return fail(PTAG_ERROR_STORE, std::string(path) + ": the stored state cannot run these rules: " + e.what());
    }
    *out = made.release();
    return PTAG_OK;
  });
}

ptag_engine* ptag_durable_engine(ptag_durable* durable) {
  return durable ? &durable->view : nullptr;
}

ptag_status ptag_durable_commit(ptag_durable* durable) {
  if (!durable) return fail(PTAG_ERROR_ARGUMENT, "ptag_durable_commit: NULL durable engine");
  return guarded_store([&] {
    durable->durable->commit();
    return PTAG_OK;
  });
}

ptag_status ptag_durable_flush(ptag_durable* durable) {
  if (!durable) return fail(PTAG_ERROR_ARGUMENT, "ptag_durable_flush: NULL durable engine");
  return guarded_store([&] {
    durable->durable->flush();
    return PTAG_OK;
  });
}

int64_t ptag_durable_records(const ptag_durable* durable) {
  return durable ? durable->durable->durable_records() : 0;
}

ptag_status ptag_durable_rule_changes(const ptag_durable* durable, ptag_rule_changes* out) {
  if (!durable || !out) return fail(PTAG_ERROR_ARGUMENT, "ptag_durable_rule_changes: NULL argument");
  const ptag::RuleChanges& c = durable->durable->rule_changes();
  out->kept = c.kept.size();
  out->changed = 0;
  for (const ptag::RuleChanges::Kept& k : c.kept) out->changed += k.changed ? 1 : 0;
  out->added = c.added.size();
  out->removed = c.removed.size();
  return PTAG_OK;
}

ptag_status ptag_durable_reload(ptag_durable* durable, const ptag_program* program, unsigned flags) {
  if (!durable || !program) return fail(PTAG_ERROR_ARGUMENT, "ptag_durable_reload: NULL argument");
  return guarded_store([&] {
    try {
      durable->durable->reload(program->program, (flags & PTAG_DURABLE_BACKFILL) != 0, program->text);
    } catch (const std::invalid_argument& e) {
      return fail(PTAG_ERROR_STORE,
                  durable->durable->path() + ": the stored state cannot run these rules: " + e.what());
    }
    return PTAG_OK;
  });
}

ptag_status ptag_durable_close(ptag_durable* durable) {
  if (!durable) return PTAG_OK;
  std::unique_ptr<ptag_durable> closing(durable);
  return guarded_store([&] {
    closing->durable->flush();
    return PTAG_OK;
  });
}

ptag_status ptag_parse_time(const char* text, int64_t* seconds) {
  if (!text || !seconds) return fail(PTAG_ERROR_ARGUMENT, "NULL argument");
  auto t = ptag::parse_time(text, true);
  if (!t) {
    std::string hint = ptag::time_hint(text);
    return fail(PTAG_ERROR_ARGUMENT, std::string("not an RFC 3339 time: ") + text + (hint.empty() ? "" : "; " + hint));
  }
  *seconds = *t;
  return PTAG_OK;
}

ptag_status ptag_parse_decimal(const char* text, int64_t* millionths) {
  if (!text || !millionths) return fail(PTAG_ERROR_ARGUMENT, "ptag_parse_decimal: NULL argument");
  return guarded([&] {
    if (auto value = ptag::parse_decimal(text)) {
      *millionths = *value;
      return PTAG_OK;
    }
    // With every digit 0 only the syntax is left: if that parses, the value was too large.
    std::string zeros(text);
    for (char& c : zeros)
      if (c >= '1' && c <= '9') c = '0';
    if (ptag::parse_decimal(zeros))
      return fail(PTAG_ERROR_RANGE,
                  std::string("out of range (at most +-9223372036854.775807): ") + text);
    return fail(PTAG_ERROR_ARGUMENT, std::string("not a decimal number: '") + text + "'");
  });
}

ptag_status ptag_format_decimal(int64_t millionths, char* buffer, size_t size, size_t* length) {
  return guarded([&] {
    return put_text(ptag::format_decimal(millionths), buffer, size, length, "ptag_format_decimal");
  });
}

ptag_status ptag_format_time(int64_t seconds, char* buffer, size_t size, size_t* length) {
  if (seconds < kFirstTime || seconds > kLastTime) {
    if (length) *length = 0;
    if (size > 0 && buffer) buffer[0] = '\0';
    return fail(PTAG_ERROR_RANGE, "ptag_format_time: " + std::to_string(seconds) +
                                      " is outside the years 0000 to 9999");
  }
  return guarded([&] {
    return put_text(ptag::format_time(seconds), buffer, size, length, "ptag_format_time");
  });
}

}  // extern "C"
