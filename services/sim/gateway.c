/* gateway.c -- a simulated shard's gateway counters (events, resumes, identifies, disconnects) and a cluster's
 * identify budget (GET /gateway/bot's session_start_limit), and how they travel. Pure: no I/O, randomness and
 * time from the caller.
 *
 * The counters follow the states the fleet reports, so that what Glance concludes from them (events/s, a
 * counter reset on a restart, identifies and resumes per minute) tells the same story as the shard's cells. */
#include "gateway.h"

#include <inttypes.h>
#include <stdio.h>
#include "rng.h"

enum { STATE_OFFLINE = 2, STATE_ONLINE = 3, STATE_STARTING = 4, STATE_RESUMING = 6 };

void gateway_shard_init(struct gateway_shard *g, uint32_t guilds, uint64_t zombie_after_ms, uint64_t *rng)
{
    g->c = (struct gateway_counters){0};
    g->events_per_s = guilds / 100.0 * (0.5 + 2.5 * rng_uniform(rng));
    g->carry = 0;
    g->last_ms = 0;
    g->online_ms = 0;
    g->zombie_after_ms = zombie_after_ms;
    g->state = 0;
}

/* When events stop flowing while it stays online: a zombie's quiet moment, else never. */
static uint64_t quiet_at(const struct gateway_shard *g)
{
    return g->zombie_after_ms != 0 ? g->online_ms + g->zombie_after_ms : UINT64_MAX;
}

int gateway_flowing(const struct gateway_shard *g, uint64_t now_ms)
{
    return g->state == STATE_ONLINE && now_ms < quiet_at(g);
}

int gateway_quiet(const struct gateway_shard *g, uint64_t now_ms)
{
    return g->state == STATE_ONLINE && now_ms >= quiet_at(g);
}

void gateway_advance(struct gateway_shard *g, uint64_t now_ms, uint64_t *rng)
{
    uint64_t end = now_ms < quiet_at(g) ? now_ms : quiet_at(g);

    if (g->state == STATE_ONLINE && end > g->last_ms) {
        double n = (double)(end - g->last_ms) / 1000.0 * g->events_per_s * (0.8 + 0.4 * rng_uniform(rng)) + g->carry;
        uint64_t whole = (uint64_t)n;
        g->c.events += whole;
        g->carry = n - (double)whole;
    }
    if (now_ms > g->last_ms)
        g->last_ms = now_ms;
}

int gateway_on_state(struct gateway_shard *g, int state, uint64_t now_ms, uint64_t *rng)
{
    int identified = 0;

    gateway_advance(g, now_ms, rng);
    switch (state) {
    case STATE_STARTING:
        /* a new process: what the old one counted is gone */
        g->c = (struct gateway_counters){0};
        g->carry = 0;
        break;
    case STATE_OFFLINE:
        /* from stopping, the process ends its own connection: not a lost one */
        if (g->state == STATE_ONLINE || g->state == STATE_RESUMING)
            ++g->c.disconnects;
        break;
    case STATE_RESUMING:
        if (g->state != STATE_OFFLINE)
            ++g->c.disconnects;
        ++g->c.resumes;
        break;
    case STATE_ONLINE:
        /* a start ends in a session of its own: its IDENTIFY is counted here, not in the starting report, so that
         * the counter of the new process goes 0 then 1 and a reader that compares reports sees it, even where the
         * old process had identified once too (1 then 1 would look like nothing happened) */
        if (g->state == STATE_STARTING) {
            ++g->c.identifies;
            identified = 1;
        }
        g->online_ms = now_ms;
        break;
    default:
        break;
    }
    g->state = (uint8_t)state;
    return identified;
}

int gateway_query(char *buf, size_t cap, const struct gateway_counters *c)
{
    int n = snprintf(buf, cap, "&events=%" PRIu64 "&resumes=%" PRIu32 "&identifies=%" PRIu32 "&disconnects=%" PRIu32,
                     c->events, c->resumes, c->identifies, c->disconnects);

    return n >= 0 && (size_t)n < cap ? n : -1;
}

int gateway_fields(char *buf, size_t cap, const struct gateway_counters *c)
{
    int n = snprintf(buf, cap,
                     ",\"events\":%" PRIu64 ",\"resumes\":%" PRIu32 ",\"identifies\":%" PRIu32
                     ",\"disconnects\":%" PRIu32,
                     c->events, c->resumes, c->identifies, c->disconnects);

    return n >= 0 && (size_t)n < cap ? n : -1;
}

void gateway_session_init(struct gateway_session *s, uint32_t total, uint32_t remaining, uint32_t max_concurrency,
                          uint64_t now_ms)
{
    s->total = total;
    s->remaining = remaining < total ? remaining : total;
    s->max_concurrency = max_concurrency;
    s->reset_at_ms = now_ms + GATEWAY_RESET_MS;
}

void gateway_session_refresh(struct gateway_session *s, uint64_t now_ms)
{
    if (now_ms < s->reset_at_ms)
        return;
    s->remaining = s->total;
    s->reset_at_ms = now_ms + GATEWAY_RESET_MS;
}

void gateway_session_identify(struct gateway_session *s, uint64_t now_ms)
{
    gateway_session_refresh(s, now_ms);
    if (s->remaining != 0)
        --s->remaining;
}

int gateway_session_body(char *buf, size_t cap, struct gateway_session *s, uint64_t now_ms)
{
    int n;

    gateway_session_refresh(s, now_ms);
    n = snprintf(buf, cap,
                 "{\"session_start_total\":%" PRIu32 ",\"session_start_remaining\":%" PRIu32
                 ",\"session_start_reset_after_ms\":%" PRIu64 ",\"max_concurrency\":%" PRIu32 "}",
                 s->total, s->remaining, s->reset_at_ms - now_ms, s->max_concurrency);
    return n >= 0 && (size_t)n < cap ? n : -1;
}
