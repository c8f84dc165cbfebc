/* fuzz_report.c -- libFuzzer target: a shard's figures from a query string or a JSON body (figures_input.c) and a
 * batch report in JSON or msgpack (report_input.c); the first byte picks which. Invariants: what is accepted is in
 * range (shard below the cluster's count, state 0..6 or a ping, every figure within its bound, unavailable guilds
 * at most the guilds, each counter within its bound, a session budget whole and consistent, each shard once); what
 * is refused says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/figures_input.h"
#include "base/report_input.h"

#define SHARDS 64

static const uint32_t bound[NUM_FIGURES] = {FIGURES_LATENCY_MAX, FIGURES_GUILDS_MAX, FIGURES_GUILDS_MAX,
                                            FIGURES_MEMBERS_MAX};

static void check_figures(const struct shard_figures *f)
{
    for (int i = 0; i != NUM_FIGURES; ++i)
        if (f->v[i] != FIGURE_ABSENT && f->v[i] != FIGURE_CLEAR && f->v[i] > bound[i])
            abort();
    if (f->v[FIGURE_GUILDS] < FIGURE_CLEAR && f->v[FIGURE_UNAVAILABLE] < FIGURE_CLEAR &&
        f->v[FIGURE_UNAVAILABLE] > f->v[FIGURE_GUILDS])
        abort();
    if (f->c[COUNTER_EVENTS] != COUNTER_ABSENT && f->c[COUNTER_EVENTS] > COUNTER_EVENTS_MAX)
        abort();
    for (int i = COUNTER_RESUMES; i != NUM_COUNTERS; ++i)
        if (f->c[i] != COUNTER_ABSENT && f->c[i] > COUNTER_SESSIONS_MAX)
            abort();
}

/* A session budget accepted is whole (or absent) and consistent. */
static void check_session(const struct gateway_session *s)
{
    if (s->given != 0 && (s->given != (1u << NUM_SESSION_FIELDS) - 1 || s->v[SESSION_REMAINING] > s->v[SESSION_TOTAL] ||
                          s->v[SESSION_TOTAL] == 0 || s->v[SESSION_MAX_CONCURRENCY] == 0 ||
                          s->v[SESSION_MAX_CONCURRENCY] > SESSION_CONCURRENCY_MAX))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct report_item items[REPORT_ITEMS_MAX];
    static uint8_t seen[SHARDS];
    struct shard_figures f;
    struct gateway_session session;
    struct report_error e;
    char err[200];
    const char *body = (const char *)data + 1;
    long n;

    if (size == 0)
        return 0;
    switch (data[0] % 4) {
    case 0:
    case 1:
        err[0] = '\0';
        if ((data[0] % 4 == 0 ? figures_from_query(body, size - 1, &f, err, sizeof(err))
                              : figures_from_json(body, size - 1, &f, err, sizeof(err))) == 0)
            check_figures(&f);
        else if (err[0] == '\0')
            abort();
        break;
    default:
        n = report_input(data[0] % 4 == 2 ? REPORT_JSON : REPORT_MSGPACK, body, size - 1, SHARDS, items, &session, &e);
        if (n < 0) {
            if (e.message[0] == '\0')
                abort();
            break;
        }
        if (n > REPORT_ITEMS_MAX)
            abort();
        memset(seen, 0, sizeof(seen));
        for (long i = 0; i != n; ++i) {
            if (items[i].shard >= SHARDS || seen[items[i].shard]++ || items[i].state < -1 || items[i].state > 6)
                abort();
            check_figures(&items[i].figures);
        }
        check_session(&session);
    }
    return 0;
}
