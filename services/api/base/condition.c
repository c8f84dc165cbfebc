/* condition.c -- a cluster's condition from its shard counts; the same rules as the page's summarise(). */
#include "base/condition.h"

#include <stdio.h>
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

/* 20000 -> "20,000", as the page's toLocaleString('en-US') */
static void put_number(char *out, size_t len, uint64_t n)
{
    char digits[24];
    int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n), i, o = 0;

    for (i = 0; i < nd && (size_t)o + 2 < len; ++i) {
        if (i != 0 && (nd - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* The names of the states of `states` that have shards: "unhealthy", "unhealthy or offline", "a, b or c". */
static void put_named(char *out, size_t len, const uint32_t counts[SHARD_STATE_MAX + 1], const int *states, int n)
{
    int present[SHARD_STATE_MAX + 1], k = 0, i;
    size_t o = 0;

    for (i = 0; i != n; ++i)
        if (counts[states[i]] > 0)
            present[k++] = states[i];
    out[0] = '\0';
    for (i = 0; i != k && o < len; ++i) {
        const char *sep = i == 0 ? "" : i == k - 1 ? " or " : ", ";
        int w = snprintf(out + o, len - o, "%s%s", sep, state_name(present[i]));
        o += w > 0 ? (size_t)w : 0;
    }
}

void condition_describe(const uint32_t counts[SHARD_STATE_MAX + 1], char *title, size_t title_len, char *detail,
                        size_t detail_len)
{
    static const int down_states[] = {STATE_UNHEALTHY, STATE_OFFLINE};
    static const int busy_states[] = {STATE_STARTING, STATE_STOPPING, STATE_RESUMING};
    uint64_t total = 0;
    uint32_t down = condition_down(counts), busy = condition_busy(counts), unknown = counts[STATE_UNKNOWN];
    char n_total[32], n_part[32], named[64];
    const char *shards;
    int s;

    for (s = 0; s <= SHARD_STATE_MAX; ++s)
        total += counts[s];
    put_number(n_total, sizeof(n_total), total);
    shards = total == 1 ? "shard" : "shards";
    if (total == 0) {
        snprintf(title, title_len, "No shards");
        snprintf(detail, detail_len, "No clusters are configured");
    } else if (unknown == total) {
        snprintf(title, title_len, "No data yet");
        if (total == 1)
            snprintf(detail, detail_len, "The shard has not reported yet");
        else
            snprintf(detail, detail_len, "None of the %s shards has reported yet", n_total);
    } else if (total == 1) {
        /* one shard: its state rather than "1 of 1" */
        for (s = 0; counts[s] == 0; ++s)
            ;
        snprintf(title, title_len, "%s", down ? "Major outage" : busy ? "Degraded" : "Operational");
        snprintf(detail, detail_len, "The shard is %s", state_name(s));
    } else if (down > 0) {
        put_named(named, sizeof(named), counts, down_states, 2);
        put_number(n_part, sizeof(n_part), down);
        snprintf(title, title_len, "%s", down == total - unknown ? "Major outage" : "Partial outage");
        if (down == total)
            snprintf(detail, detail_len, "All %s shards %s", n_total, named);
        else
            snprintf(detail, detail_len, "%s of %s shards %s", n_part, n_total, named);
    } else if (busy > 0) {
        put_named(named, sizeof(named), counts, busy_states, 3);
        put_number(n_part, sizeof(n_part), busy);
        snprintf(title, title_len, "Degraded");
        snprintf(detail, detail_len, "%s of %s shards %s", n_part, n_total, named);
    } else if (unknown > 0) {
        char n_unknown[32];
        put_number(n_part, sizeof(n_part), counts[STATE_ONLINE]);
        put_number(n_unknown, sizeof(n_unknown), unknown);
        snprintf(title, title_len, "Operational");
        snprintf(detail, detail_len, "%s of %s shards online; %s not reporting yet", n_part, n_total, n_unknown);
    } else {
        snprintf(title, title_len, "Operational");
        snprintf(detail, detail_len, "All %s %s online", n_total, shards);
    }
}
