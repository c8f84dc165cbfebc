/* histogram.h -- latency histograms in Prometheus's form: fixed buckets from 100 µs to 5 s, counted in place (an
 * observation is a few comparisons and three additions), rendered as _bucket, _sum and _count lines. */
#ifndef GLANCE_HISTOGRAM_H
#define GLANCE_HISTOGRAM_H

#include <stdint.h>
#include "h2o.h"

#define HISTOGRAM_BUCKETS 15 /* and +Inf */

struct histogram {
    uint64_t counts[HISTOGRAM_BUCKETS + 1]; /* per bucket, not cumulative: rendering sums them */
    uint64_t count;
    uint64_t sum_ns;
};

/* CLOCK_MONOTONIC in nanoseconds (the loop's own clock counts milliseconds: too coarse for a 100 µs bucket). */
uint64_t histogram_now_ns(void);

void histogram_observe(struct histogram *h, uint64_t ns);

/* Appends `name`'s HELP and TYPE lines. */
void histogram_render_head(h2o_buffer_t **buf, const char *name, const char *help);

/* Appends one histogram of `name` with the label `label`="`value`": its buckets, sum (seconds) and count. */
void histogram_render(h2o_buffer_t **buf, const char *name, const char *label, const char *value,
                      const struct histogram *h);

#endif
