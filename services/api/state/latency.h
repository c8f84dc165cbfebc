/* latency.h -- the latency history: each cluster's median and 95th percentile latency per minute for 24 h and per hour
 * for 30 days, written to Redis once a minute by one replica of the deployment (latency.lua), and read back as
 * GET /api/latency's body at most once a minute per cluster per replica, however many ask. */
#ifndef GLANCE_LATENCY_H
#define GLANCE_LATENCY_H

#include <stddef.h>
#include <stdint.h>
#include "h2o.h"
#include "base/body_cache.h"
#include "base/conf.h"
#include "redis/store.h"
#include "state/figures.h"
#include "state/mirror.h"

/* A replica's copy of the history is read again this long after each minute starts: the minute's writer (whichever
 * replica claimed it) writes about LATENCY_TICK_OFFSET_MS in, plus however long the figures take to read. */
#define LATENCY_SETTLE_MS 5000
/* How far into each tick (each minute by default) a replica claims it, so that a loop waking a few ms early or late
 * still names the minute it means. */
#define LATENCY_TICK_OFFSET_MS 500
/* latency_body's `cluster` for every cluster's history: GET /api/latency */
#define LATENCY_ALL SIZE_MAX

struct latency;

/* Starts the once-a-tick claim (conf->latency_interval_ms, aligned to its multiples). Every part must outlive it. */
struct latency *latency_new(h2o_loop_t *loop, struct store *store, struct figures *figures, struct mirror *mirror,
                            const struct conf *conf);
/* Frees it; callers still waiting are not called. Free it after the store, whose pending calls it may still get. */
void latency_free(struct latency *lat);

/* Called with the body (borrowed: take a reference to keep it), or with NULL and why. */
typedef void (*latency_cb)(void *data, struct shared_body *body, const char *err);
/* Calls cb exactly once with GET /api/latency's body ({"now_ms":..,"clusters":[{"name":..,"minutes":[..],
 * "hours":[..]}]}, every cluster when `cluster` is LATENCY_ALL, else that one): at once when the copy is current
 * (read since the last minute settled), else once the cluster reads it needs are answered. */
void latency_body(struct latency *lat, size_t cluster, latency_cb cb, void *data);

/* The counters of /metrics, in Prometheus text. */
void latency_metrics(struct latency *lat, h2o_buffer_t **buf);

#endif
