/* The C API, from C. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ptag/ptag.h"

static int failures = 0, checks = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    ++checks;                                                         \
    if (!(cond)) {                                                    \
      ++failures;                                                     \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

struct seen {
  int count;
  char last[256];
};

static void on_record(const ptag_record* r, void* user) {
  struct seen* s = (struct seen*)user;
  ++s->count;
  snprintf(s->last, sizeof s->last, "%lld %s %d %s %s %s %s", (long long)r->time, r->partner, (int)r->action, r->tag,
           r->rule, r->timer ? "timer" : "event", r->event ? r->event : "-");
}

/* Partners by index: in range, out of range, buffers too small. */
static void check_partner_index(ptag_engine* engine) {
  char id[8] = "junk";
  size_t length = 99;
  CHECK(ptag_engine_partner_count(engine) == 1);
  CHECK(ptag_engine_partner_count(NULL) == 0);
  CHECK(ptag_engine_partner_id(engine, 0, id, sizeof id, &length) == PTAG_OK);
  CHECK(strcmp(id, "p1") == 0 && length == 2);
  CHECK(ptag_engine_partner_id(engine, 1, id, sizeof id, &length) == PTAG_ERROR_RANGE);
  CHECK(strcmp(ptag_last_error(), "ptag_engine_partner_id: partner index 1 is out of range (partner count 1)") == 0);
  CHECK(id[0] == '\0' && length == 0);
  CHECK(ptag_engine_partner_id(engine, (size_t)-1, id, sizeof id, NULL) == PTAG_ERROR_RANGE);
  CHECK(strstr(ptag_last_error(), "partner count 1") != NULL);
  CHECK(ptag_engine_partner_id(NULL, 0, id, sizeof id, &length) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_engine_partner_id(engine, 0, id, 2, &length) == PTAG_ERROR_BUFFER);
  CHECK(id[0] == '\0' && length == 2);
  CHECK(strstr(ptag_last_error(), "needs 3 bytes") != NULL);
  CHECK(ptag_engine_partner_id(engine, 0, NULL, 0, &length) == PTAG_ERROR_BUFFER && length == 2);
  CHECK(ptag_engine_partner_id(engine, 0, NULL, 8, &length) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_engine_partner_id(engine, 0, id, 3, NULL) == PTAG_OK && strcmp(id, "p1") == 0);
}

/* A record's partner is a C string of exactly the id, whatever its length
 * and however many partners came after it. */
static void on_partner(const ptag_record* r, void* user) {
  struct seen* s = (struct seen*)user;
  ++s->count;
  snprintf(s->last, sizeof s->last, "%s", r->partner);
}

static void check_partner_ids_in_records(void) {
  static const char* ids[] = {"a-partner-with-a-long-id", "the-next-long-partner-id", "fifteen-chars-x",
                              "sixteen-chars-xx", "short"};
  ptag_program* program = NULL;
  ptag_engine* engine = NULL;
  struct seen seen = {0, ""};
  ptag_event e;
  char id[64];
  size_t i;
  CHECK(ptag_compile("c.ptag", "on click add \"C\"\n", &program) == PTAG_OK);
  CHECK(ptag_engine_new(program, on_partner, &seen, &engine) == PTAG_OK);
  memset(&e, 0, sizeof e);
  e.type = "join";
  for (i = 0; i < 5; ++i) {
    e.partner = ids[i];
    CHECK(ptag_engine_push(engine, &e) == PTAG_OK);
  }
  e.type = "click";
  for (i = 0; i < 5; ++i) {
    e.partner = ids[i];
    CHECK(ptag_engine_push(engine, &e) == PTAG_OK);
    CHECK(strcmp(seen.last, ids[i]) == 0);
    CHECK(ptag_engine_partner_id(engine, i, id, sizeof id, NULL) == PTAG_OK && strcmp(id, ids[i]) == 0);
  }
  CHECK(seen.count == 5);
  ptag_engine_free(engine);
  ptag_program_free(program);
}

static void check_decimals(void) {
  int64_t v = 7;
  char text[PTAG_DECIMAL_SIZE];
  size_t length = 0;
  CHECK(ptag_parse_decimal("129.90", &v) == PTAG_OK && v == 129900000);
  CHECK(ptag_parse_decimal("-0.5", &v) == PTAG_OK && v == -500000);
  CHECK(ptag_parse_decimal("1.5e3", &v) == PTAG_OK && v == 1500000000);
  CHECK(ptag_parse_decimal("0.0000005", &v) == PTAG_OK && v == 0); /* half to even */
  CHECK(ptag_parse_decimal("0.0000015", &v) == PTAG_OK && v == 2);
  CHECK(ptag_parse_decimal("9223372036854.775807", &v) == PTAG_OK && v == INT64_MAX);
  CHECK(ptag_parse_decimal("-9223372036854.775807", &v) == PTAG_OK && v == -INT64_MAX);
  v = 7;
  CHECK(ptag_parse_decimal("9223372036854.775808", &v) == PTAG_ERROR_RANGE && v == 7);
  CHECK(strstr(ptag_last_error(), "out of range") != NULL);
  CHECK(ptag_parse_decimal("1e20", &v) == PTAG_ERROR_RANGE);
  CHECK(ptag_parse_decimal("-98765432109876543210", &v) == PTAG_ERROR_RANGE);
  CHECK(ptag_parse_decimal("12abc", &v) == PTAG_ERROR_ARGUMENT && v == 7);
  CHECK(strcmp(ptag_last_error(), "not a decimal number: '12abc'") == 0);
  CHECK(ptag_parse_decimal("", &v) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_parse_decimal(" 1", &v) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_parse_decimal(".5", &v) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_parse_decimal("1e", &v) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_parse_decimal(NULL, &v) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_parse_decimal("1", NULL) == PTAG_ERROR_ARGUMENT);

  CHECK(ptag_format_decimal(5000000000LL, text, sizeof text, &length) == PTAG_OK);
  CHECK(strcmp(text, "5000") == 0 && length == 4);
  CHECK(ptag_format_decimal(-129900000, text, sizeof text, &length) == PTAG_OK);
  CHECK(strcmp(text, "-129.9") == 0 && length == 6);
  CHECK(ptag_format_decimal(INT64_MIN, text, sizeof text, &length) == PTAG_OK);
  CHECK(strcmp(text, "-9223372036854.775808") == 0 && length + 1 == PTAG_DECIMAL_SIZE);
  CHECK(ptag_format_decimal(1, text, sizeof text, NULL) == PTAG_OK && strcmp(text, "0.000001") == 0);
  /* Too small: nothing cut, the length to allocate. */
  CHECK(ptag_format_decimal(5000000000LL, text, 4, &length) == PTAG_ERROR_BUFFER);
  CHECK(text[0] == '\0' && length == 4);
  CHECK(strstr(ptag_last_error(), "needs 5 bytes, the buffer has 4") != NULL);
  CHECK(ptag_format_decimal(5000000000LL, text, 5, &length) == PTAG_OK && strcmp(text, "5000") == 0);
  CHECK(ptag_format_decimal(-129900000, NULL, 0, &length) == PTAG_ERROR_BUFFER && length == 6);
  CHECK(ptag_format_decimal(-129900000, NULL, 8, &length) == PTAG_ERROR_ARGUMENT);
  /* Round trips. */
  CHECK(ptag_parse_decimal("-9223372036854.775807", &v) == PTAG_OK);
  CHECK(ptag_format_decimal(v, text, sizeof text, NULL) == PTAG_OK);
  CHECK(strcmp(text, "-9223372036854.775807") == 0);
}

static void check_times(void) {
  int64_t t = 0;
  char text[PTAG_TIME_SIZE];
  size_t length = 0;
  CHECK(ptag_format_time(1767225600, text, sizeof text, &length) == PTAG_OK);
  CHECK(strcmp(text, "2026-01-01T00:00:00Z") == 0 && length + 1 == PTAG_TIME_SIZE);
  CHECK(ptag_format_time(-1, text, sizeof text, NULL) == PTAG_OK && strcmp(text, "1969-12-31T23:59:59Z") == 0);
  /* The first and last second of four-digit years, and one past each. */
  CHECK(ptag_parse_time("9999-12-31T23:59:59Z", &t) == PTAG_OK);
  CHECK(ptag_format_time(t, text, sizeof text, NULL) == PTAG_OK && strcmp(text, "9999-12-31T23:59:59Z") == 0);
  CHECK(ptag_format_time(t + 1, text, sizeof text, &length) == PTAG_ERROR_RANGE);
  CHECK(text[0] == '\0' && length == 0);
  CHECK(strstr(ptag_last_error(), "outside the years 0000 to 9999") != NULL);
  /* Times taken are from 1970 on, as everywhere; written ones back to year 0000. */
  CHECK(ptag_parse_time("0000-01-01T00:00:00Z", &t) == PTAG_ERROR_ARGUMENT);
  CHECK(strstr(ptag_last_error(), "times run from 1970-01-01T00:00:00Z") != NULL);
  CHECK(ptag_parse_time("1970-01-01T00:00:00Z", &t) == PTAG_OK && t == 0);
  t = -62167219200;
  CHECK(ptag_format_time(t, text, sizeof text, NULL) == PTAG_OK && strcmp(text, "0000-01-01T00:00:00Z") == 0);
  CHECK(ptag_format_time(t - 1, text, sizeof text, NULL) == PTAG_ERROR_RANGE);
  CHECK(ptag_format_time(INT64_MIN, text, sizeof text, NULL) == PTAG_ERROR_RANGE);
  CHECK(ptag_format_time(INT64_MAX, text, sizeof text, NULL) == PTAG_ERROR_RANGE);
  /* Too small. */
  CHECK(ptag_format_time(1767225600, text, 20, &length) == PTAG_ERROR_BUFFER);
  CHECK(text[0] == '\0' && length == 20);
  CHECK(ptag_format_time(1767225600, NULL, 0, &length) == PTAG_ERROR_BUFFER && length == 20);
  /* Offsets are read, UTC is written. */
  CHECK(ptag_parse_time("2026-03-01T10:15:00+02:00", &t) == PTAG_OK);
  CHECK(ptag_format_time(t, text, sizeof text, NULL) == PTAG_OK && strcmp(text, "2026-03-01T08:15:00Z") == 0);
  CHECK(ptag_parse_time("2026-02-30", &t) == PTAG_ERROR_ARGUMENT);
}

static ptag_status push_event(ptag_engine* engine, const char* id, const char* type, const char* partner,
                              int64_t time, int64_t amount) {
  ptag_event e;
  ptag_field field = {"amount", PTAG_NUMBER, 0, NULL};
  memset(&e, 0, sizeof e);
  field.number = amount;
  e.id = id;
  e.type = type;
  e.partner = partner;
  e.time = time;
  e.data = amount ? &field : NULL;
  e.data_count = amount ? 1 : 0;
  return ptag_engine_push(engine, &e);
}

/* A durable engine: commit, close, reopen, reload; a foreign file refused. */
static void check_durable(void) {
  static const char* suffixes[] = {"", "-wal", "-shm", "-lock"};
  char dir[] = "/tmp/ptag-capi-XXXXXX";
  char path[128], foreign[128], file[160];
  ptag_program *v1 = NULL, *v2 = NULL;
  ptag_durable *durable = NULL, *second = NULL;
  ptag_engine* engine = NULL;
  ptag_rule_changes changes;
  struct seen seen = {0, ""};
  const char* tags[4];
  int64_t t0 = 1767225600;
  size_t i;
  FILE* f;

  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/tags.db", dir);
  snprintf(foreign, sizeof foreign, "%s/events.jsonl", dir);
  CHECK(ptag_compile("r.ptag",
                     "rule \"welcome\" on join add \"New\"\n"
                     "rule \"vip\" on milestone revenue >= 5000 add \"VIP\"\n",
                     &v1) == PTAG_OK);
  CHECK(ptag_compile("r.ptag",
                     "rule \"welcome\" on join add \"New\"\n"
                     "rule \"vip\" on milestone revenue >= 5000 add \"VIP\"\n"
                     "rule \"big\" on milestone revenue >= 1000 add \"Big\"\n",
                     &v2) == PTAG_OK);

  /* A new store: commit two records, then one more that is not committed. */
  CHECK(ptag_durable_open(path, v1, 0, on_record, &seen, &durable) == PTAG_OK);
  engine = ptag_durable_engine(durable);
  CHECK(engine != NULL);
  CHECK(ptag_durable_rule_changes(durable, &changes) == PTAG_OK && changes.kept == 0 && changes.added == 0);
  CHECK(push_event(engine, "e1", "join", "p1", t0, 0) == PTAG_OK);
  CHECK(push_event(engine, "e2", "sale", "p1", t0 + 60, 6000000000LL) == PTAG_OK);
  CHECK(seen.count == 2 && strcmp(seen.last, "1767225660 p1 0 VIP vip event e2") == 0);
  CHECK(ptag_durable_commit(durable) == PTAG_OK);
  CHECK(ptag_durable_flush(durable) == PTAG_OK);
  CHECK(ptag_durable_records(durable) == 2);
  /* One writer at a time: a second open is refused, naming the file. */
  CHECK(ptag_durable_open(path, v1, 0, NULL, NULL, &second) == PTAG_ERROR_STORE && second == NULL);
  CHECK(strstr(ptag_last_error(), path) != NULL && strstr(ptag_last_error(), "in use") != NULL);
  ptag_engine_free(engine); /* the durable engine's own: nothing happens */
  CHECK(push_event(engine, "e3", "join", "p2", t0 + 120, 0) == PTAG_OK);
  CHECK(seen.count == 3 && ptag_engine_partner_count(engine) == 2);
  CHECK(ptag_durable_close(durable) == PTAG_OK); /* no implicit commit: p2 is not kept */

  /* Reopened: the last commit, its rules matched, its ids still applied. */
  seen.count = 0;
  CHECK(ptag_durable_open(path, v1, PTAG_DURABLE_SYNC_NORMAL, on_record, &seen, &durable) == PTAG_OK);
  engine = ptag_durable_engine(durable);
  CHECK(ptag_durable_records(durable) == 2);
  CHECK(ptag_engine_partner_count(engine) == 1);
  CHECK(ptag_engine_partner_tags(engine, "p1", tags, 4) == 2);
  CHECK(strcmp(tags[0], "New") == 0 && strcmp(tags[1], "VIP") == 0);
  CHECK(ptag_engine_partner_tags(engine, "p2", tags, 4) == 0);
  CHECK(ptag_durable_rule_changes(durable, &changes) == PTAG_OK);
  CHECK(changes.kept == 2 && changes.changed == 0 && changes.added == 0 && changes.removed == 0);
  CHECK(push_event(engine, "e2", "sale", "p1", t0 + 60, 6000000000LL) == PTAG_DUPLICATE);

  /* Another program for the same state: "big" is new, and backfilled for p1. */
  CHECK(ptag_durable_reload(durable, v2, PTAG_DURABLE_BACKFILL) == PTAG_OK);
  ptag_program_free(v1);
  CHECK(ptag_durable_rule_changes(durable, &changes) == PTAG_OK);
  CHECK(changes.kept == 2 && changes.added == 1 && changes.removed == 0);
  CHECK(seen.count == 1 && strcmp(seen.last, "1767225660 p1 0 Big big event -") == 0);
  CHECK(push_event(engine, "e3", "join", "p2", t0 + 120, 0) == PTAG_OK);
  CHECK(seen.count == 2 && ptag_durable_engine(durable) == engine);
  CHECK(ptag_durable_commit(durable) == PTAG_OK);
  CHECK(ptag_durable_close(durable) == PTAG_OK);
  CHECK(ptag_durable_open(path, v2, 0, NULL, NULL, &durable) == PTAG_OK);
  CHECK(ptag_durable_records(durable) == 4);
  CHECK(ptag_engine_partner_tags(ptag_durable_engine(durable), "p1", tags, 4) == 3);
  CHECK(ptag_engine_partner_tags(ptag_durable_engine(durable), "p2", tags, 4) == 1);
  CHECK(ptag_durable_close(durable) == PTAG_OK);

  /* A file that is not a store: a status and a message naming it. */
  f = fopen(foreign, "w");
  CHECK(f != NULL);
  if (f) {
    fputs("{\"type\":\"join\",\"partner\":\"p1\",\"time\":\"2026-01-01T00:00:00Z\"}\n", f);
    fclose(f);
  }
  durable = NULL;
  CHECK(ptag_durable_open(foreign, v2, 0, NULL, NULL, &durable) == PTAG_ERROR_STORE && durable == NULL);
  CHECK(strstr(ptag_last_error(), foreign) != NULL && strstr(ptag_last_error(), "not a ptag store") != NULL);
  /* NULL handles. */
  CHECK(ptag_durable_open(NULL, v2, 0, NULL, NULL, &durable) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_durable_open(path, NULL, 0, NULL, NULL, &durable) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_durable_commit(NULL) == PTAG_ERROR_ARGUMENT && ptag_durable_flush(NULL) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_durable_reload(NULL, v2, 0) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_durable_rule_changes(NULL, &changes) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_durable_engine(NULL) == NULL && ptag_durable_records(NULL) == 0);
  CHECK(ptag_durable_close(NULL) == PTAG_OK);
  ptag_program_free(v2);

  for (i = 0; i < 4; ++i) {
    snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
    unlink(file);
  }
  unlink(foreign);
  CHECK(rmdir(dir) == 0);
}

int main(void) {
  ptag_program* program = NULL;
  ptag_engine* engine = NULL;
  struct seen seen = {0, ""};
  ptag_event e;
  ptag_field amount = {"amount", PTAG_NUMBER, 5000000000LL, NULL};
  const char* tags[4];
  int64_t value = 0, t = 0;

  /* Compile errors are a status and a rendered message. */
  CHECK(ptag_compile("bad.ptag", "on frist_sale add \"X\"\n", &program) == PTAG_ERROR_COMPILE);
  CHECK(program == NULL);
  CHECK(strstr(ptag_last_error(), "bad.ptag:1:4: error[E101]: unknown trigger 'frist_sale'") != NULL);
  CHECK(ptag_compile(NULL, "x", &program) == PTAG_ERROR_ARGUMENT);

  CHECK(ptag_compile("r.ptag",
                     "rule \"vip\" on milestone revenue >= 5000 add \"VIP\"\n"
                     "rule \"quiet\" on inactive 10d add \"Quiet\"\n",
                     &program) == PTAG_OK);
  {
    /* The engine kind: automatic is the VM for so few guarded rules; the
     * JIT where built in (then the records below come from native code). */
    ptag_engine_kind chosen = PTAG_ENGINE_JIT;
    CHECK(ptag_program_set_engine(program, PTAG_ENGINE_AUTOMATIC, 2, &chosen) == PTAG_OK);
    CHECK(chosen == PTAG_ENGINE_VM);
    CHECK(ptag_program_set_engine(program, PTAG_ENGINE_VM, 3, &chosen) == PTAG_ERROR_ARGUMENT);
    CHECK(strstr(ptag_last_error(), "jit_opt") != NULL);
    CHECK(ptag_program_set_engine(NULL, PTAG_ENGINE_VM, 2, &chosen) == PTAG_ERROR_ARGUMENT);
    if (ptag_jit_available()) {
      CHECK(ptag_program_set_engine(program, PTAG_ENGINE_JIT, 0, &chosen) == PTAG_OK);
      CHECK(chosen == PTAG_ENGINE_JIT);
    } else {
      CHECK(ptag_program_set_engine(program, PTAG_ENGINE_JIT, 2, &chosen) == PTAG_ERROR_ARGUMENT);
      CHECK(strstr(ptag_last_error(), "without the JIT") != NULL);
    }
  }
  CHECK(ptag_engine_new(program, on_record, &seen, &engine) == PTAG_OK);

  memset(&e, 0, sizeof e);
  e.id = "e1";
  e.type = "sale";
  e.partner = "p1";
  CHECK(ptag_parse_time("2026-01-01T00:00:00Z", &t) == PTAG_OK);
  e.time = t;
  e.data = &amount;
  e.data_count = 1;
  CHECK(ptag_engine_push(engine, &e) == PTAG_OK);
  CHECK(seen.count == 1);
  CHECK(strcmp(seen.last, "1767225600 p1 0 VIP vip event e1") == 0);
  CHECK(ptag_engine_push(engine, &e) == PTAG_DUPLICATE);

  e.id = NULL;
  e.data_count = 0; /* a sale without amount */
  CHECK(ptag_engine_push(engine, &e) == PTAG_ERROR_EVENT);
  CHECK(strstr(ptag_last_error(), "amount") != NULL);

  CHECK(ptag_engine_advance_to(engine, t + 10 * 86400) == PTAG_OK);
  CHECK(seen.count == 2);
  CHECK(strcmp(seen.last, "1768089600 p1 0 Quiet quiet timer -") == 0);

  CHECK(ptag_engine_partner_tags(engine, "p1", tags, 4) == 2);
  CHECK(strcmp(tags[0], "VIP") == 0 && strcmp(tags[1], "Quiet") == 0);
  CHECK(ptag_engine_partner_tags(engine, "nobody", tags, 4) == 0);
  CHECK(ptag_engine_partner_metric(engine, "p1", "revenue", &value) == PTAG_OK && value == 5000000000LL);
  CHECK(ptag_engine_partner_metric(engine, "p1", "days_since_join", &value) == PTAG_OK && value == 10000000);
  CHECK(ptag_engine_partner_metric(engine, "p1", "karma", &value) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_parse_time("yesterday", &t) == PTAG_ERROR_ARGUMENT);
  CHECK(ptag_engine_push(NULL, &e) == PTAG_ERROR_ARGUMENT);

  check_partner_index(engine);
  ptag_engine_free(engine);
  ptag_program_free(program);

  check_partner_ids_in_records();
  check_decimals();
  check_times();
  check_durable();
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures != 0;
}
