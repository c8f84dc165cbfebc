/* figures_input.h -- the optional figures a bot reports with a shard's state or ping (latency, guilds, unavailable
 * guilds, members, and the gateway counters: events, resumes, identifies, disconnects), checked one by one, from a
 * query string or a small JSON body. Pure: no I/O, so the unit tests
 * and the fuzzer drive it directly. The batch report (report_input.h) checks its items' figures with the same rules. */
#ifndef GLANCE_FIGURES_INPUT_H
#define GLANCE_FIGURES_INPUT_H

#include <stddef.h>
#include <stdint.h>

#define FIGURES_LATENCY_MAX 600000u    /* ms: ten minutes is no longer a latency */
#define FIGURES_GUILDS_MAX 1000000u    /* Discord asks for a shard per 2,500; this leaves room for any plan */
#define FIGURES_MEMBERS_MAX 4000000000u
/* Discord closes a shard's gateway connection with 4011 (sharding required) past 2,500 guilds: a shard at 90 % of
 * that is near the cap, and its bot should reshard soon. */
#define FIGURES_GUILD_CAP 2500u
#define FIGURES_GUILD_CAP_NEAR 2250u
#define FIGURE_ABSENT UINT32_MAX      /* not reported */
#define FIGURE_CLEAR (UINT32_MAX - 1) /* reported as null: forget the last one (a shard that has no latency now) */

enum figure { FIGURE_LATENCY, FIGURE_GUILDS, FIGURE_UNAVAILABLE, FIGURE_MEMBERS, NUM_FIGURES };

/* The gateway counters: monotonic since the bot's process started, so a value below the last one is a restart (a
 * counter reset), never a negative rate. Events are dispatches received; a busy shard passes a billion in weeks. */
enum counter { COUNTER_EVENTS, COUNTER_RESUMES, COUNTER_IDENTIFIES, COUNTER_DISCONNECTS, NUM_COUNTERS };
#define COUNTER_EVENTS_MAX 100000000000000ull /* 1e14: 1,000 events/s for three thousand years */
#define COUNTER_SESSIONS_MAX 1000000000ull    /* resumes, identifies, disconnects */
#define COUNTER_ABSENT UINT64_MAX

/* Every field a report may carry: the figures (enum figure), then the counters (NUM_FIGURES + enum counter). */
#define NUM_FIGURE_FIELDS (NUM_FIGURES + NUM_COUNTERS)

/* The names as the API spells them: the figures in enum figure order, then the counters in enum counter order. */
extern const char *const figure_names[NUM_FIGURE_FIELDS];

struct shard_figures {
    uint32_t v[NUM_FIGURES];   /* FIGURE_ABSENT when not given */
    uint64_t c[NUM_COUNTERS];  /* COUNTER_ABSENT when not given (a counter cannot be cleared) */
};

void figures_clear(struct shard_figures *f);
/* 1 when any figure is given (a number or FIGURE_CLEAR); figures_any_counter: any gateway counter. */
int figures_any(const struct shard_figures *f);
int figures_any_counter(const struct shard_figures *f);

/* Which field `name` is (below NUM_FIGURES a figure, else NUM_FIGURES + a counter), or -1. */
int figures_find(const char *name, size_t len);
/* Checks and sets field `which` from a number (`is_integer`: it had no fraction in its source). A latency may have
 * a fraction (rounded to the ms); the counts may not. Returns 0, or -1 with one line in `err` naming the field
 * (prefixed by `where`, e.g. "shards[3]."). */
int figures_set(struct shard_figures *f, int which, double value, int is_integer, const char *where, char *err,
                size_t errlen);
/* Field `which` given as null: a figure is forgotten (FIGURE_CLEAR); a counter cannot be, and is refused. */
int figures_set_null(struct shard_figures *f, int which, const char *where, char *err, size_t errlen);
/* Sets in `to` what `from` gives (a JSON body's fields over the query's). */
void figures_merge(struct shard_figures *to, const struct shard_figures *from);
/* The checks that span figures (unavailable guilds at most the guilds of the same report). Returns 0 or -1. */
int figures_check(const struct shard_figures *f, const char *where, char *err, size_t errlen);

/* Reads the known figures of a query string ("latency_ms=42&guilds=1000", without the '?'); other parameters are
 * ignored, as the original ignored the whole query. Returns 0, or -1 with `err`. */
int figures_from_query(const char *query, size_t len, struct shard_figures *f, char *err, size_t errlen);
/* Reads a JSON object of figures; null clears one; an unknown member is refused so that a typo is not silently
 * dropped. */
int figures_from_json(const char *body, size_t len, struct shard_figures *f, char *err, size_t errlen);

#endif
