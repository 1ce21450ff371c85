/* The ptag C API (docs/embedding.md): compile rules, run an engine (in
 * memory, or durable in a store file), get change records through a
 * callback. Opaque handles; every function returns
 * a status (or a plain value) and never lets a C++ exception out; after a
 * failure, ptag_last_error() says what went wrong.
 *
 * Threads: a ptag_program may be shared by engines on any threads; a
 * ptag_engine (and a ptag_durable with its engine) must be used by one
 * thread at a time. ptag_last_error() is per thread. */
#ifndef PTAG_H
#define PTAG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ptag_program ptag_program;
typedef struct ptag_engine ptag_engine;
typedef struct ptag_durable ptag_durable;

typedef enum ptag_status {
  PTAG_OK = 0,
  PTAG_DUPLICATE = 1,      /* push: an event with an id already applied; nothing changed */
  PTAG_ERROR_COMPILE = 2,  /* the rules have errors; ptag_last_error() has them rendered */
  PTAG_ERROR_EVENT = 3,    /* push: the event is not valid (e.g. a sale without amount) */
  PTAG_ERROR_ARGUMENT = 4, /* a NULL handle, an unknown partner or metric, bad text */
  PTAG_ERROR_INTERNAL = 5, /* out of memory or a bug */
  PTAG_ERROR_RANGE = 6,    /* a partner index >= the partner count; a number or time too large */
  PTAG_ERROR_BUFFER = 7,   /* the text does not fit the caller's buffer; *length says its length */
  PTAG_ERROR_STORE = 8     /* a store refused (not a store, in use, ...) or a commit failed; the message names the file */
} ptag_status;

typedef enum ptag_kind { PTAG_NUMBER = 0, PTAG_TEXT = 1, PTAG_BOOLEAN = 2 } ptag_kind;

/* A `data` field of an event: a number in millionths (129.90 is 129900000),
 * a NUL-terminated text, or a boolean (number 0 or 1). */
typedef struct ptag_field {
  const char* name;
  ptag_kind kind;
  int64_t number;
  const char* text;
} ptag_field;

/* An event (docs/events.md). Strings are NUL-terminated and only read during
 * ptag_engine_push. `id` may be NULL; `time` is Unix epoch seconds. */
typedef struct ptag_event {
  const char* id;
  const char* type;
  const char* partner;
  int64_t time;
  const ptag_field* data;
  size_t data_count;
} ptag_event;

typedef enum ptag_action { PTAG_ADD = 0, PTAG_REMOVE = 1, PTAG_EMIT = 2 } ptag_action;

/* A change record (docs/language.md, "Records"). Strings are NUL-terminated and valid
 * only during the callback (`tag` and `rule` live as long as the program).
 * `event` is NULL for timers and events without id. */
typedef struct ptag_record {
  int64_t time;
  const char* partner;
  ptag_action action;
  const char* tag; /* the tag, or the notification name for PTAG_EMIT */
  const char* rule;
  int timer;       /* 1: caused by a timer, 0: by an event */
  const char* event;
} ptag_record;

typedef void (*ptag_record_fn)(const ptag_record* record, void* user_data);

/* The last error of this thread, or "" (never NULL). */
const char* ptag_last_error(void);

/* Compiles one rule file held in memory (`name` is used in messages and rule
 * names; imports resolve relative to it). On success *out is a new program. */
ptag_status ptag_compile(const char* name, const char* text, ptag_program** out);
/* Compiles rule files from disk as one program. */
ptag_status ptag_compile_files(const char* const* paths, size_t count, ptag_program** out);
void ptag_program_free(ptag_program* program);

/* What runs a program's guards and rules (docs/jit.md): AUTOMATIC is the
 * JIT when this libptag has it and the program has more than 100 guarded
 * rules, else the bytecode interpreter. */
typedef enum ptag_engine_kind { PTAG_ENGINE_AUTOMATIC = 0, PTAG_ENGINE_VM = 1, PTAG_ENGINE_JIT = 2 } ptag_engine_kind;

/* 1 if this libptag was built with the JIT (-DPTAG_JIT=ON), else 0. */
int ptag_jit_available(void);
/* Prepares `program` for an engine kind, before any engine uses it (never
 * while an engine on it exists: the native code it replaces is freed);
 * `jit_opt` is 0, 1 or 2 (LLVM's optimization level). *chosen (may be
 * NULL) is PTAG_ENGINE_VM or PTAG_ENGINE_JIT. PTAG_ERROR_ARGUMENT for
 * PTAG_ENGINE_JIT without the JIT or a bad jit_opt. */
ptag_status ptag_program_set_engine(ptag_program* program, ptag_engine_kind kind, int jit_opt,
                                    ptag_engine_kind* chosen);

/* A new engine on `program` (which must outlive it). `on_record` may be NULL. */
ptag_status ptag_engine_new(const ptag_program* program, ptag_record_fn on_record, void* user_data,
                            ptag_engine** out);
void ptag_engine_free(ptag_engine* engine);

/* Applies one event (docs/language.md, "Evaluation order"). PTAG_OK, PTAG_DUPLICATE or PTAG_ERROR_EVENT. */
ptag_status ptag_engine_push(ptag_engine* engine, const ptag_event* event);
/* Fires every timer due up to `time` (epoch seconds). */
ptag_status ptag_engine_advance_to(ptag_engine* engine, int64_t time);

/* Partners are numbered 0 to ptag_engine_partner_count() - 1 in order of
 * first appearance. A larger index is PTAG_ERROR_RANGE. */
size_t ptag_engine_partner_count(const ptag_engine* engine);
/* The id of partner `index`, as text into `buffer` (see "Text out" below). */
ptag_status ptag_engine_partner_id(const ptag_engine* engine, size_t index, char* buffer,
                                   size_t size, size_t* length);

/* Writes up to `capacity` tag names of `partner` (in the order added) into
 * `tags` and returns how many it has (0 for an unknown partner). The names
 * live as long as the program. */
size_t ptag_engine_partner_tags(const ptag_engine* engine, const char* partner, const char** tags,
                                size_t capacity);
/* A metric (or days_since_join / days_since_activity) of a partner, in millionths. */
ptag_status ptag_engine_partner_metric(const ptag_engine* engine, const char* partner, const char* metric,
                                       int64_t* millionths);

/* Durable engines (docs/embedding.md, "Durable engines"): an engine whose
 * state lives in a store file (docs/store.md), continued by the next open. */

/* Flags of ptag_durable_open and ptag_durable_reload. */
#define PTAG_DURABLE_SYNC_NORMAL 1u /* open: a commit survives a crash of the process, not a power loss */
#define PTAG_DURABLE_BACKFILL 2u    /* rules new to the stored program act now ("cause":"backfill") */

/* Opens (or creates) the store at `path` and starts its engine on
 * `program` (which must outlive it): restored from the last commit, with
 * the rules matched as docs/store.md says, or new for a new store.
 * `on_record` (may be NULL) gets the records as they are made. On success
 * *out is a new durable engine; PTAG_ERROR_STORE for a file that is not a
 * store, a store in use, or a stored state these rules cannot continue. */
ptag_status ptag_durable_open(const char* path, const ptag_program* program, unsigned flags,
                              ptag_record_fn on_record, void* user_data, ptag_durable** out);
/* Its engine, for ptag_engine_push, _advance_to and the partner functions.
 * It belongs to `durable` (ptag_engine_free does nothing to it); NULL for NULL. */
ptag_engine* ptag_durable_engine(ptag_durable* durable);
/* Queues a commit of everything since the last one (records, changed
 * partners and tags, the engine's state) and returns; the store's writer
 * thread makes it durable. PTAG_ERROR_STORE once a commit has failed. */
ptag_status ptag_durable_commit(ptag_durable* durable);
/* Waits until every queued commit is durable. PTAG_ERROR_STORE for a failed one. */
ptag_status ptag_durable_flush(ptag_durable* durable);
/* Records durable so far, across every run on the store (0 for NULL). */
int64_t ptag_durable_records(const ptag_durable* durable);
/* What opening (or the last reload) did to the rules: how many were kept
 * (`changed` of them with another body), added and removed. */
typedef struct ptag_rule_changes {
  size_t kept, changed, added, removed;
} ptag_rule_changes;
ptag_status ptag_durable_rule_changes(const ptag_durable* durable, ptag_rule_changes* out);
/* Continues the same state with another program, as reopening with it would
 * (flag PTAG_DURABLE_BACKFILL as in open). `program` must outlive the
 * durable engine; the previous one may be freed afterwards. On failure the
 * previous program goes on running. The program is stored with the next commit. */
ptag_status ptag_durable_reload(ptag_durable* durable, const ptag_program* program, unsigned flags);
/* Waits for the queued commits, then closes the store and frees `durable`
 * and its engine. It does not commit: what happened since the last
 * ptag_durable_commit is not kept (the next open continues from that
 * commit). PTAG_ERROR_STORE when a queued commit failed; `durable` is freed
 * either way. */
ptag_status ptag_durable_close(ptag_durable* durable);

/* RFC 3339 (or YYYY-MM-DD) to epoch seconds. */
ptag_status ptag_parse_time(const char* text, int64_t* seconds);
/* A decimal number (`-12`, `0.7`, `129.90`, `1.5e3`; no spaces) to millionths,
 * rounding half-to-even to six decimals. PTAG_ERROR_ARGUMENT for text that is
 * not a number, PTAG_ERROR_RANGE beyond +-9223372036854.775807. */
ptag_status ptag_parse_decimal(const char* text, int64_t* millionths);

/* Text out: the text and a NUL go into `buffer` of `size` bytes, and
 * `*length` (if `length` is not NULL) is set to the text's length without
 * the NUL. When size <= length the result is PTAG_ERROR_BUFFER, `*length`
 * still says how long the text is, and `buffer` (if size > 0) holds "": never
 * a cut text. `buffer` may be NULL only with size 0. */

/* Buffer sizes that always fit: "-9223372036854.775808", "YYYY-MM-DDTHH:MM:SSZ". */
#define PTAG_DECIMAL_SIZE 22
#define PTAG_TIME_SIZE 21

/* Millionths as the shortest exact decimal: 5000, 0.7, -129.9. */
ptag_status ptag_format_decimal(int64_t millionths, char* buffer, size_t size, size_t* length);
/* Epoch seconds as RFC 3339 UTC, `YYYY-MM-DDTHH:MM:SSZ`. PTAG_ERROR_RANGE
 * outside the years 0000 to 9999 (-62167219200 to 253402300799). */
ptag_status ptag_format_time(int64_t seconds, char* buffer, size_t size, size_t* length);

#ifdef __cplusplus
}
#endif

#endif /* PTAG_H */
