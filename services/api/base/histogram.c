/* histogram.c -- latency histograms in Prometheus's form (histogram.h). */
#include "base/histogram.h"

#include <stdio.h>
#include <time.h>
#include "base/codec.h"

/* upper bounds in nanoseconds, and as Prometheus's `le` labels */
static const uint64_t bounds_ns[HISTOGRAM_BUCKETS] = {
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000, 100000000,
    250000000, 500000000, 1000000000, 2500000000ULL, 5000000000ULL,
};
static const char *const bounds_le[HISTOGRAM_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25", "0.5", "1", "2.5", "5",
};

uint64_t histogram_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void histogram_observe(struct histogram *h, uint64_t ns)
{
    size_t i = 0;

    while (i != HISTOGRAM_BUCKETS && ns > bounds_ns[i])
        ++i;
    ++h->counts[i];
    ++h->count;
    h->sum_ns += ns;
}

void histogram_render_head(h2o_buffer_t **buf, const char *name, const char *help)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);

    codec_put(buf, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void histogram_render(h2o_buffer_t **buf, const char *name, const char *label, const char *value,
                      const struct histogram *h)
{
    char line[512]; /* names and labels are ours and short: a line is under 200 bytes, the last three under 300 */
    uint64_t cumulative = 0;
    size_t i;
    int n;

    for (i = 0; i != HISTOGRAM_BUCKETS; ++i) {
        cumulative += h->counts[i];
        n = snprintf(line, sizeof(line), "%s_bucket{%s=\"%s\",le=\"%s\"} %llu\n", name, label, value, bounds_le[i],
                     (unsigned long long)cumulative);
        codec_put(buf, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
    n = snprintf(line, sizeof(line), "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n%s_sum{%s=\"%s\"} %.9f\n%s_count{%s=\"%s\"} %llu\n",
                 name, label, value, (unsigned long long)h->count, name, label, value, (double)h->sum_ns / 1e9, name,
                 label, value, (unsigned long long)h->count);
    codec_put(buf, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
