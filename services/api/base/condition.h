/* condition.h -- a cluster's condition from its shard counts, in the words the page uses (web/assets/states.js). */
#ifndef GLANCE_CONDITION_H
#define GLANCE_CONDITION_H

#include <stddef.h>
#include <stdint.h>
#include "base/shard.h"

/* Ordered by severity, so that "at least partial" is a comparison. */
enum condition {
    CONDITION_NONE = 0, /* no shards, or none has reported yet */
    CONDITION_OPERATIONAL = 1,
    CONDITION_DEGRADED = 2, /* some shards starting, stopping or resuming, none down */
    CONDITION_PARTIAL = 3,  /* some shards unhealthy or offline */
    CONDITION_MAJOR = 4,    /* every shard that reported is unhealthy or offline */
};
#define CONDITION_MAX CONDITION_MAJOR

/* What the page shows for a cluster with these counts (indexed by state). */
enum condition condition_of(const uint32_t counts[SHARD_STATE_MAX + 1]);

/* "operational", "degraded", "partial outage", "major outage", "no data"; "invalid" outside the range. */
const char *condition_name(int condition);

/* The condition called `name` (as condition_name says it, or "partial"/"major" for short), or -1. */
int condition_from_name(const char *name, size_t len);

/* Shards users see as down (unhealthy, offline) and on the way somewhere (starting, stopping, resuming). */
uint32_t condition_down(const uint32_t counts[SHARD_STATE_MAX + 1]);
uint32_t condition_busy(const uint32_t counts[SHARD_STATE_MAX + 1]);

/* The page's headline for these counts ("Operational", "Degraded", "Partial outage", "Major outage", "No data yet",
 * "No shards") and its detail ("12 of 376 shards unhealthy"), in the words of the page's summarise(); `title` and
 * `detail` are always terminated (cut short when too small). */
void condition_describe(const uint32_t counts[SHARD_STATE_MAX + 1], char *title, size_t title_len, char *detail,
                        size_t detail_len);

#endif
