/* bot_figures.h -- a simulated shard's figures (gateway latency, guilds, unavailable guilds) and how they travel:
 * the query string of a single POST, the JSON body of a batch report. Pure: no I/O, randomness from the caller. */
#ifndef GLANCE_SIM_BOT_FIGURES_H
#define GLANCE_SIM_BOT_FIGURES_H

#include <stddef.h>
#include <stdint.h>
#include "gateway.h"

/* a shard's guild count stays within these, as Discord's sharding keeps it (2,500 guilds a shard at most) */
#define BOT_FIGURES_GUILDS_MIN 1000u
#define BOT_FIGURES_GUILDS_MAX 2500u
/* an ordinary shard stays below Glance's guild-cap mark (90 % of 2,500), so that only shards meant to be near the
 * cap (--near-cap) are flagged; those sit within the NEAR range */
#define BOT_FIGURES_GUILDS_USUAL_MAX 2200u
#define BOT_FIGURES_GUILDS_NEAR_MIN 2300u
#define BOT_FIGURES_GUILDS_NEAR_MAX 2499u
/* a slow spell's latency is at least this; a shard's usual latency, even in trouble, stays below 220 ms */
#define BOT_FIGURES_SLOW_MIN_MS 300u
/* the server's limit on the items of one batch report */
#define BOT_FIGURES_MAX_BATCH 1000u

/* The figures of one report. */
struct bot_figures {
    uint32_t latency_ms;
    uint32_t guilds;
    uint32_t unavailable_guilds;
};

/* What a shard's figures evolve from; bot_figures_init sets it up. */
struct bot_figures_shard {
    uint32_t base_latency_ms; /* its usual latency (the gateway's region, the host's network) */
    uint32_t guilds;          /* wanders by a guild or two between reports, within [guilds_lo, guilds_hi] */
    uint32_t guilds_lo, guilds_hi;
    uint32_t slow_latency_ms; /* the level of the current slow spell */
    uint64_t slow_until_ms;   /* a slow spell lasts until then; 0: none yet */
    uint64_t last_ms;         /* the previous report: spells start at a rate per hour, not per report */
};

/* One item of a batch: a shard id and, when has_figures, its figures (else a bare ping); when has_gateway, its
 * gateway counters too. */
struct bot_figures_item {
    uint32_t id;
    int has_figures;
    struct bot_figures fig;
    int has_gateway;
    struct gateway_counters gw;
};

/* Draws a shard's usual latency (25 to 90 ms) and its guild count: BOT_FIGURES_GUILDS_MIN to _USUAL_MAX, or with
 * near_cap, BOT_FIGURES_GUILDS_NEAR_MIN to _NEAR_MAX; the count keeps within that range from then on. */
void bot_figures_init(struct bot_figures_shard *s, int near_cap, uint64_t *rng);

/* The figures of a report made at now_ms (a monotonic clock, ms). The latency varies by +-20 % around the
 * shard's usual one; now and then (once every two hours per shard, on average) a shard turns slow for 30 to
 * 120 s, at 300 to 1500 ms. `trouble` (the shard is resuming, reconnecting or restarting) raises the latency
 * and makes a few guilds unavailable (1 to 1 + guilds / 200); without trouble none are. Never fails. */
void bot_figures_next(struct bot_figures_shard *s, uint64_t *rng, uint64_t now_ms, int trouble,
                      struct bot_figures *out);

/* Writes "?latency_ms=L&guilds=G&unavailable_guilds=U" and a NUL into buf. Returns the length (without the
 * NUL), or -1 when it does not fit in cap. */
int bot_figures_query(char *buf, size_t cap, const struct bot_figures *fig);

/* The most bytes bot_figures_batch_body writes for n items, the NUL included: size the buffer with it. */
size_t bot_figures_batch_cap(size_t n);

/* Writes the body of POST /api/clusters/<cluster>/report and a NUL into buf:
 * {"shards":[{"id":0,"latency_ms":41,"guilds":980,"unavailable_guilds":0},{"id":1},...]}
 * (an item with gateway counters adds "events", "resumes", "identifies" and "disconnects")
 * (no "state": every item is a health ping). Returns the length (without the NUL), or -1 when it does not fit
 * in cap or n is 0 or above BOT_FIGURES_MAX_BATCH (the server refuses both). */
long bot_figures_batch_body(char *buf, size_t cap, const struct bot_figures_item *items, size_t n);

#endif
