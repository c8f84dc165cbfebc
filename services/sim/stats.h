/* stats.h -- latency histograms with a bounded relative error, their percentiles, and a clock. */
#ifndef GLANCE_SIM_STATS_H
#define GLANCE_SIM_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Values below STATS_EXACT are counted exactly; above, each power of two is split into 64 buckets, so a
 * percentile is reported at most 1/64 (1.6 %) above the true value. Values past 2^40 share the last bucket. */
#define STATS_EXACT 128
#define STATS_MAX_SHIFT 34
#define STATS_BUCKETS (STATS_EXACT + STATS_MAX_SHIFT * 64)

struct stats_hist {
    uint64_t counts[STATS_BUCKETS];
    uint64_t total;
    uint64_t min, max;
    double sum;
};

/* Empties a histogram. */
void stats_init(struct stats_hist *h);

/* Counts one value (any unit; the sim uses microseconds). */
void stats_add(struct stats_hist *h, uint64_t value);

/* Adds every count of `src` to `dst`. */
void stats_merge(struct stats_hist *dst, const struct stats_hist *src);

/* The value at percentile `p` (0 to 100): the smallest bucket bound at or below which at least p % of the
 * values lie, never above the largest value seen. Returns 0 for an empty histogram. */
uint64_t stats_percentile(const struct stats_hist *h, double p);

/* The mean, or 0 for an empty histogram. */
double stats_mean(const struct stats_hist *h);

/* The bucket a value falls in, and the largest value of a bucket: exposed for the unit tests. */
size_t stats_bucket(uint64_t value);
uint64_t stats_bucket_upper(size_t bucket);

/* CLOCK_MONOTONIC in nanoseconds: the one clock every timestamp of the sim is taken from. */
uint64_t stats_now_ns(void);

#endif
