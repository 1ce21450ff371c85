/* The C API, from C. */
#include <stdio.h>
#include <string.h>

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
  }
  CHECK(seen.count == 5);
  ptag_engine_free(engine);
  ptag_program_free(program);
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

  ptag_engine_free(engine);
  ptag_program_free(program);

  check_partner_ids_in_records();
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures != 0;
}
