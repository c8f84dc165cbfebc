/* stats.c -- latency histograms with a bounded relative error, their percentiles, and a clock. */
#include "stats.h"

#include <math.h>
#include <string.h>
#include <time.h>

size_t stats_bucket(uint64_t value)
{
    unsigned msb, shift;

    if (value < STATS_EXACT)
        return (size_t)value;
    msb = 63u - (unsigned)__builtin_clzll(value);
    shift = msb - 6; /* the top 7 bits stay: a mantissa from 64 to 127 */
    if (shift > STATS_MAX_SHIFT)
        return STATS_BUCKETS - 1;
    return STATS_EXACT + (size_t)(shift - 1) * 64 + (size_t)((value >> shift) - 64);
}

uint64_t stats_bucket_upper(size_t bucket)
{
    uint64_t shift, mantissa;

    if (bucket < STATS_EXACT)
        return bucket;
    shift = (bucket - STATS_EXACT) / 64 + 1;
    mantissa = (bucket - STATS_EXACT) % 64 + 64;
    return ((mantissa + 1) << shift) - 1;
}

void stats_init(struct stats_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void stats_add(struct stats_hist *h, uint64_t value)
{
    ++h->counts[stats_bucket(value)];
    ++h->total;
    h->sum += (double)value;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void stats_merge(struct stats_hist *dst, const struct stats_hist *src)
{
    size_t i;

    for (i = 0; i != STATS_BUCKETS; ++i)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t stats_percentile(const struct stats_hist *h, double p)
{
    uint64_t rank, seen = 0;
    size_t i;

    if (h->total == 0)
        return 0;
    if (p <= 0)
        return h->min;
    rank = (uint64_t)ceil(p / 100.0 * (double)h->total);
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;
    for (i = 0; i != STATS_BUCKETS; ++i) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = stats_bucket_upper(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

double stats_mean(const struct stats_hist *h)
{
    return h->total == 0 ? 0 : h->sum / (double)h->total;
}

uint64_t stats_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
