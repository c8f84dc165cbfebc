/* session_input.h -- a bot's gateway session budget, as Discord's GET /gateway/bot gives it (session_start_limit's
 * total, remaining and reset_after, and max_concurrency), from POST /api/clusters/<cluster>/gateway or the top level
 * of a batch report. Pure: no I/O, so the unit tests and the fuzzer drive it directly. */
#ifndef GLANCE_SESSION_INPUT_H
#define GLANCE_SESSION_INPUT_H

#include <stddef.h>
#include <stdint.h>

enum session_field { SESSION_TOTAL, SESSION_REMAINING, SESSION_RESET_AFTER, SESSION_MAX_CONCURRENCY, NUM_SESSION_FIELDS };

#define SESSION_TOTAL_MAX 1000000000u
#define SESSION_RESET_AFTER_MAX 604800000u /* ms: Discord resets the budget daily; a week is room for any plan */
#define SESSION_CONCURRENCY_MAX 1024u      /* Discord's largest buckets are in the hundreds */

/* The names as the API spells them, in enum session_field order. */
extern const char *const session_names[NUM_SESSION_FIELDS];

struct gateway_session {
    uint64_t v[NUM_SESSION_FIELDS];
    unsigned given; /* a bit per field given */
};

void session_clear(struct gateway_session *s);
/* Which field `name` is, or -1. */
int session_find(const char *name, size_t len);
/* Checks and sets field `which`. Returns 0, or -1 with one line in `err` naming the field. */
int session_set(struct gateway_session *s, int which, double value, int is_integer, char *err, size_t errlen);
/* The checks across fields: all four given (or, when `optional`, none), remaining at most total. Returns 0, or -1
 * with `err` and the field it is about in `field`. */
int session_check(const struct gateway_session *s, int optional, char *err, size_t errlen, const char **field);
/* Reads {"session_start_total":..,"session_start_remaining":..,"session_start_reset_after_ms":..,"max_concurrency":..};
 * an unknown member is refused. Returns 0, or -1 with `err` and `field` ("" for the body as a whole). */
int session_from_json(const char *body, size_t len, struct gateway_session *s, char *err, size_t errlen,
                      const char **field);

#endif
