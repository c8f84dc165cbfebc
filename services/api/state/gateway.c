/* gateway.c -- the judgements on a shard's gateway counters and a cluster's session counts, and their JSON. */
#include "state/gateway.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/codec.h"
#include "base/shard.h"

#define MINUTE_MS 60000
#define HOUR_MS 3600000
#define SLICE_MS 10000    /* the ring of 10 s slices (lib.lua, count_sessions) ... */
#define SESSION_SLICES 7  /* ... this one and the 6 before it: the last minute, whatever the clock's minutes */
#define SESSION_HOURS 25 /* the hour ring: this hour and the 24 before it */

void gateway_judge(const struct store_gateway *g, int state, uint32_t guilds, uint32_t latency, uint32_t silent_after_s,
                   struct gateway_marks *m)
{
    int64_t after = (int64_t)silent_after_s * 1000;

    /* online is alive (it pings within the health timeout); its events standing still is known only from a report of
     * them that came `after` or more past their last growth */
    m->silent = g->at_ms != 0 && g->c[COUNTER_EVENTS] != COUNTER_ABSENT && state == STATE_ONLINE &&
                guilds != FIGURE_ABSENT && guilds > 0 && g->at_ms - g->last_event_ms >= after;
    m->stale_latency = m->silent && latency != FIGURE_ABSENT && latency == g->latency_at_event;
}

void gateway_put_milli(h2o_buffer_t **buf, uint64_t milli)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%llu.%03llu", (unsigned long long)(milli / 1000),
                     (unsigned long long)(milli % 1000));

    /* no trailing zeros: 12.5, 3, not 12.500, 3.000 */
    while (text[n - 1] == '0')
        --n;
    if (text[n - 1] == '.')
        --n;
    codec_put(buf, text, (size_t)n);
}

static void put_counter(h2o_buffer_t **buf, uint64_t v)
{
    if (v == COUNTER_ABSENT)
        codec_put_lit(buf, "null");
    else
        codec_put_u64(buf, v);
}

void gateway_put_json(h2o_buffer_t **buf, const struct store_gateway *g, const struct gateway_marks *m)
{
    if (g->at_ms == 0) {
        codec_put_lit(buf, "null");
        return;
    }
    codec_put_lit(buf, "{\"events\":");
    put_counter(buf, g->c[COUNTER_EVENTS]);
    codec_put_lit(buf, ",\"events_per_s\":");
    if (g->rate_milli == FIGURE_ABSENT)
        codec_put_lit(buf, "null");
    else
        gateway_put_milli(buf, g->rate_milli);
    codec_put_lit(buf, ",\"resumes\":");
    put_counter(buf, g->c[COUNTER_RESUMES]);
    codec_put_lit(buf, ",\"identifies\":");
    put_counter(buf, g->c[COUNTER_IDENTIFIES]);
    codec_put_lit(buf, ",\"disconnects\":");
    put_counter(buf, g->c[COUNTER_DISCONNECTS]);
    codec_put_lit(buf, ",\"reported_ms\":");
    codec_put_u64(buf, (uint64_t)g->at_ms);
    codec_put_lit(buf, ",\"last_event_ms\":");
    if (g->c[COUNTER_EVENTS] == COUNTER_ABSENT)
        codec_put_lit(buf, "null");
    else
        codec_put_u64(buf, (uint64_t)g->last_event_ms);
    codec_put_text(buf, m->silent ? ",\"silent\":true" : ",\"silent\":false");
    codec_put_text(buf, m->stale_latency ? ",\"stale_latency\":true}" : ",\"stale_latency\":false}");
}

/* A hiredis string as a number; 0 when it is not one. */
static uint64_t number(const redisReply *r)
{
    char text[32];

    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len >= sizeof(text))
        return 0;
    memcpy(text, r->str, r->len);
    text[r->len] = '\0';
    return strtoull(text, NULL, 10);
}

/* A ring slot "<slice or hour> <identifies> <resumes>": its counts when it holds one from `from` to `to`, else none. */
static void slot(const redisReply *r, int64_t from, int64_t to, uint64_t *identifies, uint64_t *resumes)
{
    char text[80];
    unsigned long long t, i, s;

    *identifies = *resumes = 0;
    if (r->type != REDIS_REPLY_STRING || r->len >= sizeof(text))
        return;
    memcpy(text, r->str, r->len);
    text[r->len] = '\0';
    if (sscanf(text, "%llu %llu %llu", &t, &i, &s) == 3 && (int64_t)t >= from && (int64_t)t <= to)
        *identifies = i, *resumes = s;
}

int gateway_sessions_read(const redisReply *reply, uint32_t shards, int64_t now, uint32_t storm_per_minute,
                          struct gateway_sessions *s)
{
    int64_t slice = now / SLICE_MS, hour = now / HOUR_MS;
    uint64_t minute_i = 0, minute_r = 0, reset_after = 0;
    size_t k;

    memset(s, 0, sizeof(*s));
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0)
        return -1;
    for (k = 0; k + 1 < reply->elements; k += 2) {
        const redisReply *f = reply->element[k], *v = reply->element[k + 1];
        uint64_t i, r;
        if (f->type != REDIS_REPLY_STRING || f->len == 0)
            continue;
        if (f->str[0] == 's' && f->len == 2) {
            /* this slice so far and the 6 before it: the last 60 to 70 seconds */
            slot(v, slice - SESSION_SLICES + 1, slice, &i, &r);
            minute_i += i, minute_r += r;
        } else if (f->str[0] == 'h' && f->len <= 3) {
            /* the 24 hours before this one and this one so far: every slot of the ring but the one that passed */
            slot(v, hour - SESSION_HOURS + 2, hour, &i, &r);
            s->day_total += i + r;
            s->day_resumes += r;
            if (number(v) >= (uint64_t)(hour - 1))
                s->recent_identifies += i;
        } else if (f->len == 5 && memcmp(f->str, "total", 5) == 0) {
            s->total = number(v), s->has_budget = 1;
        } else if (f->len == 9 && memcmp(f->str, "remaining", 9) == 0) {
            s->remaining = number(v);
        } else if (f->len == 14 && memcmp(f->str, "reset_after_ms", 14) == 0) {
            reset_after = number(v);
        } else if (f->len == 15 && memcmp(f->str, "max_concurrency", 15) == 0) {
            s->max_concurrency = number(v);
        } else if (f->len == 13 && memcmp(f->str, "session_at_ms", 13) == 0) {
            s->reported_ms = (int64_t)number(v);
        } else if (f->len == 5 && memcmp(f->str, "since", 5) == 0) {
            int64_t known = (now - (int64_t)number(v)) / MINUTE_MS + 1;
            s->known_minutes = known < 1 ? 1 : known > 1440 ? 1440 : (uint32_t)known;
        }
    }
    s->identifies = (uint32_t)minute_i;
    s->resumes = (uint32_t)minute_r;
    /* the usual rate is day_resumes over the minutes known: 10 times it, without the division's rounding */
    if (s->known_minutes == 0)
        s->known_minutes = 1440; /* counted before 'since' was kept */
    s->storm = (storm_per_minute != 0 && minute_i + minute_r >= storm_per_minute) ||
               (s->resumes >= GATEWAY_STORM_FLOOR &&
                (uint64_t)s->resumes * s->known_minutes >= GATEWAY_STORM_FACTOR * s->day_resumes) ||
               /* a start or a deploy is one identify a shard, and a zombie reconnecting now and then a few more: a
                * restart loop is half the shards again on top of that (a lone re-identify once made the demo's
                * calm cluster "storm" a minute after it started) */
               s->recent_identifies > (uint64_t)shards + (shards / 2 > 2 ? shards / 2 : 2);
    if (s->has_budget) {
        s->reset_at_ms = s->reported_ms + (int64_t)reset_after;
        /* Discord refills the budget at the reset: past it, what was reported no longer holds */
        if (now >= s->reset_at_ms)
            s->remaining = s->total;
        s->short_budget = s->remaining < shards;
    }
    return 0;
}
