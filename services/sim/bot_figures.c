/* bot_figures.c -- a simulated shard's figures (gateway latency, guilds, unavailable guilds) and how they travel:
 * the query string of a single POST, the JSON body of a batch report. Pure: no I/O, randomness from the caller.
 *
 * The numbers are meant to look like a real fleet's on the dashboard: latencies spread per shard but steady
 * per shard, a rare slow shard that stays slow long enough to be seen (and coloured), guild counts that
 * differ between shards and hardly move, unavailable guilds only while a shard is in trouble. */
#include "bot_figures.h"

#include <stdio.h>
#include "rng.h"

#define SLOW_EVERY_MS (2 * 3600 * 1000.0) /* per shard, on average */
#define SLOW_MIN_SPELL_MS 30000u
#define SLOW_MAX_SPELL_MS 120000u
#define SLOW_MAX_MS 1500u
/* {"id":,"latency_ms":,"guilds":,"unavailable_guilds":}, with room for four 10-digit numbers, and the gateway
 * counters */
#define ITEM_MAX (100u + GATEWAY_TEXT_MAX)

static uint32_t between(uint64_t *rng, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(rng_next(rng) % ((uint64_t)hi - lo + 1));
}

void bot_figures_init(struct bot_figures_shard *s, int near_cap, uint64_t *rng)
{
    s->base_latency_ms = between(rng, 25, 90);
    s->guilds_lo = near_cap ? BOT_FIGURES_GUILDS_NEAR_MIN : BOT_FIGURES_GUILDS_MIN;
    s->guilds_hi = near_cap ? BOT_FIGURES_GUILDS_NEAR_MAX : BOT_FIGURES_GUILDS_USUAL_MAX;
    s->guilds = between(rng, s->guilds_lo, s->guilds_hi);
    s->slow_latency_ms = 0;
    s->slow_until_ms = 0;
    s->last_ms = 0;
}

void bot_figures_next(struct bot_figures_shard *s, uint64_t *rng, uint64_t now_ms, int trouble,
                      struct bot_figures *out)
{
    double latency, scale = 0.8 + 0.4 * rng_uniform(rng);
    uint64_t elapsed = s->last_ms != 0 && now_ms > s->last_ms ? now_ms - s->last_ms : 0;
    uint32_t step;

    /* a spell starts with a chance in proportion to the time since the last report, so that a faster
     * --ping-interval shows the same share of slow shards */
    if (now_ms >= s->slow_until_ms && rng_uniform(rng) < (double)elapsed / SLOW_EVERY_MS) {
        s->slow_until_ms = now_ms + between(rng, SLOW_MIN_SPELL_MS, SLOW_MAX_SPELL_MS);
        s->slow_latency_ms = between(rng, BOT_FIGURES_SLOW_MIN_MS, SLOW_MAX_MS);
    }
    s->last_ms = now_ms;
    if (now_ms < s->slow_until_ms) {
        /* +-10 % around the spell's level, kept within the documented band so a slow shard never looks healthy */
        latency = s->slow_latency_ms * (0.9 + 0.2 * rng_uniform(rng));
        if (latency < BOT_FIGURES_SLOW_MIN_MS)
            latency = BOT_FIGURES_SLOW_MIN_MS;
        else if (latency > SLOW_MAX_MS)
            latency = SLOW_MAX_MS;
    } else {
        latency = s->base_latency_ms * scale * (trouble ? 2 : 1); /* at most 216 ms: below any slow spell */
    }
    /* guilds join and leave a few at a time; the count stays in the range a shard of a big bot serves */
    step = between(rng, 0, 4);
    if (step == 0 && s->guilds > s->guilds_lo)
        --s->guilds;
    else if (step == 4 && s->guilds < s->guilds_hi)
        ++s->guilds;
    out->latency_ms = (uint32_t)(latency + 0.5);
    out->guilds = s->guilds;
    out->unavailable_guilds = trouble ? between(rng, 1, 1 + s->guilds / 200) : 0;
}

int bot_figures_query(char *buf, size_t cap, const struct bot_figures *fig)
{
    int n = snprintf(buf, cap, "?latency_ms=%u&guilds=%u&unavailable_guilds=%u", fig->latency_ms, fig->guilds,
                     fig->unavailable_guilds);

    return n >= 0 && (size_t)n < cap ? n : -1;
}

size_t bot_figures_batch_cap(size_t n)
{
    return sizeof("{\"shards\":[]}") + n * ITEM_MAX;
}

long bot_figures_batch_body(char *buf, size_t cap, const struct bot_figures_item *items, size_t n)
{
    size_t len = 0, i;
    int w;

    if (n == 0 || n > BOT_FIGURES_MAX_BATCH)
        return -1;
#define PUT(...)                                                                                                   \
    do {                                                                                                           \
        w = snprintf(buf + len, cap - len, __VA_ARGS__);                                                           \
        if (w < 0 || (size_t)w >= cap - len)                                                                       \
            return -1;                                                                                             \
        len += (size_t)w;                                                                                          \
    } while (0)
    if (cap == 0)
        return -1;
    PUT("{\"shards\":[");
    for (i = 0; i != n; ++i) {
        const struct bot_figures_item *it = &items[i];
        if (it->has_figures)
            PUT("%s{\"id\":%u,\"latency_ms\":%u,\"guilds\":%u,\"unavailable_guilds\":%u", i ? "," : "", it->id,
                it->fig.latency_ms, it->fig.guilds, it->fig.unavailable_guilds);
        else
            PUT("%s{\"id\":%u", i ? "," : "", it->id);
        if (it->has_gateway) {
            if ((w = gateway_fields(buf + len, cap - len, &it->gw)) < 0)
                return -1;
            len += (size_t)w;
        }
        PUT("}");
    }
    PUT("]}");
#undef PUT
    return (long)len;
}
