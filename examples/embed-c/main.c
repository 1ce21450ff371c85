/* A host program in C: compiles rule files, pushes its own events through
 * the C API, prints every change, then every partner's tags.
 *
 *   embed-c RULES.ptag...                 an engine in memory
 *   embed-c RULES.ptag... --state DB      a durable engine: the state is kept
 *                                         in the store DB and continued by the
 *                                         next run (its events are then duplicates) */
#include <stdio.h>
#include <string.h>

#include <ptag/ptag.h>

static void print_record(const ptag_record* r, void* user_data) {
  static const char* actions[] = {"add", "remove", "emit"};
  int* count = (int*)user_data;
  char when[PTAG_TIME_SIZE];
  ++*count;
  if (ptag_format_time(r->time, when, sizeof when, NULL) != PTAG_OK) snprintf(when, sizeof when, "?");
  printf("%s %s %s %s (rule %s, %s%s%s)\n", when, r->partner, actions[r->action], r->tag, r->rule,
         r->timer ? "timer" : "event", r->event ? " " : "", r->event ? r->event : "");
}

static int push(ptag_engine* engine, const char* id, const char* type, const char* partner, const char* when,
                const ptag_field* data, size_t data_count) {
  ptag_event e;
  ptag_status status;
  memset(&e, 0, sizeof e);
  if (ptag_parse_time(when, &e.time) != PTAG_OK) return 1;
  e.id = id;
  e.type = type;
  e.partner = partner;
  e.data = data;
  e.data_count = data_count;
  status = ptag_engine_push(engine, &e);
  if (status == PTAG_ERROR_EVENT) fprintf(stderr, "event %s rejected: %s\n", id, ptag_last_error());
  return status == PTAG_OK || status == PTAG_DUPLICATE ? 0 : 1;
}

int main(int argc, char** argv) {
  ptag_program* program = NULL;
  ptag_engine* engine = NULL;
  ptag_durable* durable = NULL;
  const char* state = NULL;
  const char* files[64];
  size_t file_count = 0;
  int records = 0, failed = 0, a;
  const char* tags[16];
  char id[256], revenue_text[PTAG_DECIMAL_SIZE];
  size_t count, i, p;
  int64_t revenue = 0;
  ptag_field country = {"country", PTAG_TEXT, 0, "DE"};
  ptag_field sale[2] = {{"amount", PTAG_NUMBER, 129900000, NULL}, {"customer", PTAG_TEXT, 0, "c-1"}};
  ptag_field big_sale[2] = {{"amount", PTAG_NUMBER, 6000000000LL, NULL}, {"customer", PTAG_TEXT, 0, "c-2"}};
  ptag_field no_amount = {"customer", PTAG_TEXT, 0, "c-3"};

  for (a = 1; a < argc; ++a) {
    if (strcmp(argv[a], "--state") == 0 && a + 1 < argc) state = argv[++a];
    else if (file_count < 64) files[file_count++] = argv[a];
  }
  if (file_count == 0) {
    fprintf(stderr, "usage: embed-c RULES.ptag... [--state DB]\n");
    return 2;
  }
  if (ptag_compile_files(files, file_count, &program) != PTAG_OK) {
    fprintf(stderr, "%s", ptag_last_error());
    return 1;
  }
  if (state) {
    /* Opens (or creates) the store and restores its last commit. */
    if (ptag_durable_open(state, program, 0, print_record, &records, &durable) != PTAG_OK) {
      fprintf(stderr, "%s\n", ptag_last_error());
      ptag_program_free(program);
      return 1;
    }
    engine = ptag_durable_engine(durable);
  } else if (ptag_engine_new(program, print_record, &records, &engine) != PTAG_OK) {
    return 1;
  }

  failed |= push(engine, "e1", "join", "p-1", "2026-01-01T09:00:00Z", &country, 1);
  failed |= push(engine, "e2", "signup", "p-1", "2026-01-03T10:00:00Z", NULL, 0);
  failed |= push(engine, "e3", "sale", "p-1", "2026-01-05T11:00:00Z", sale, 2);
  failed |= push(engine, "e3", "sale", "p-1", "2026-01-05T11:00:00Z", sale, 2); /* a duplicate: no effect */
  failed |= push(engine, "e4", "sale", "p-1", "2026-01-06T12:00:00Z", big_sale, 2);
  failed |= push(engine, "e6", "join", "p-2", "2026-02-01T09:00:00Z", NULL, 0);
  if (push(engine, "e5", "sale", "p-1", "2026-01-07T12:00:00Z", &no_amount, 1) == 0) failed = 1; /* must be refused */
  ptag_engine_advance_to(engine, 1767225600 + 120 * 86400); /* 2026-05-01: the timers run */

  for (p = 0; p < ptag_engine_partner_count(engine); ++p) {
    if (ptag_engine_partner_id(engine, p, id, sizeof id, NULL) != PTAG_OK) {
      fprintf(stderr, "%s\n", ptag_last_error());
      failed = 1;
      continue;
    }
    count = ptag_engine_partner_tags(engine, id, tags, 16);
    printf("%s has %zu tags:", id, count);
    for (i = 0; i < count && i < 16; ++i) printf(" [%s]", tags[i]);
    if (ptag_engine_partner_metric(engine, id, "revenue", &revenue) != PTAG_OK ||
        ptag_format_decimal(revenue, revenue_text, sizeof revenue_text, NULL) != PTAG_OK) {
      fprintf(stderr, "%s\n", ptag_last_error());
      failed = 1;
      continue;
    }
    printf("; revenue %s\n", revenue_text);
  }
  printf("%d records\n", records);

  if (durable) {
    /* Commit what this run did, wait until it is on disk, close. */
    if (ptag_durable_commit(durable) != PTAG_OK || ptag_durable_flush(durable) != PTAG_OK) {
      fprintf(stderr, "%s\n", ptag_last_error());
      failed = 1;
    }
    printf("%lld records in the store %s\n", (long long)ptag_durable_records(durable), state);
    if (ptag_durable_close(durable) != PTAG_OK) failed = 1;
  } else {
    ptag_engine_free(engine);
  }
  ptag_program_free(program);
  return failed;
}
