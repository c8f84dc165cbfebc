/* condition.c -- a cluster's condition from its shard counts; the same rules as the page's summarise(). */
#include "condition.h"

#include <string.h>

uint32_t condition_down(const uint32_t counts[SHARD_STATE_MAX + 1])
{
    return counts[STATE_UNHEALTHY] + counts[STATE_OFFLINE];
}

uint32_t condition_busy(const uint32_t counts[SHARD_STATE_MAX + 1])
{
    return counts[STATE_STARTING] + counts[STATE_STOPPING] + counts[STATE_RESUMING];
}

enum condition condition_of(const uint32_t counts[SHARD_STATE_MAX + 1])
{
    uint64_t total = 0;
    uint32_t down = condition_down(counts), busy = condition_busy(counts), unknown = counts[STATE_UNKNOWN];

    for (int s = 0; s <= SHARD_STATE_MAX; ++s)
        total += counts[s];
    if (total == 0 || unknown == total)
        return CONDITION_NONE;
    if (down > 0 && down == total - unknown)
        return CONDITION_MAJOR;
    if (down > 0)
        return CONDITION_PARTIAL;
    if (busy > 0)
        return CONDITION_DEGRADED;
    return CONDITION_OPERATIONAL;
}

static const char *const names[] = {"no data", "operational", "degraded", "partial outage", "major outage"};

const char *condition_name(int condition)
{
    return condition >= 0 && condition <= CONDITION_MAX ? names[condition] : "invalid";
}

int condition_from_name(const char *name, size_t len)
{
    for (int c = 0; c <= CONDITION_MAX; ++c)
        if (strlen(names[c]) == len && memcmp(names[c], name, len) == 0)
            return c;
    if (len == 7 && memcmp(name, "partial", 7) == 0)
        return CONDITION_PARTIAL;
    if (len == 5 && memcmp(name, "major", 5) == 0)
        return CONDITION_MAJOR;
    return -1;
}
