/* figures.h -- the replica's copy of every shard's figures (latency, guilds, unavailable guilds, members), read
 * from Redis at most every few seconds however many ask, and what is made of it: GET /api/figures, the per-cluster
 * aggregates of /metrics and /plain, and a shard's figures in GET /api/status/<cluster>/<id>. */
#ifndef GLANCE_FIGURES_H
#define GLANCE_FIGURES_H

#include "h2o.h"
#include "base/body_cache.h"
#include "base/conf.h"
#include "base/figures_input.h"
#include "redis/store.h"
#include "state/gateway.h"

struct app;

#define FIGURES_FRESH_MS 5000 /* how stale the copy may be */

struct figures;

struct mirror;
/* `mirror` says which shards are online: only their latency counts. */
struct figures *figures_new(h2o_loop_t *loop, struct store *store, struct mirror *mirror, const struct conf *conf);
void figures_free(struct figures *fig);

/* Starts reading the copy again unless a read is under way or the copy is fresh. */
void figures_refresh(struct figures *fig);
/* Called with GET /api/figures's body (borrowed: take a reference to keep it), or with NULL and why. */
typedef void (*figures_cb)(void *data, struct shared_body *body, const char *err);
struct figures_waiter {
    figures_cb cb;
    void *data;
};
/* Calls cb once: at once from the copy when it is fresh, else when the read started now (or under way) is over. */
void figures_body(struct figures *fig, figures_cb cb, void *data);
/* The per-cluster aggregates in Prometheus text, and as /plain's HTML, from the copy as it is (nothing before the
 * first read); each starts a read when the copy is stale. */
void figures_metrics(struct figures *fig, h2o_buffer_t **buf);
void figures_plain(struct figures *fig, h2o_buffer_t **buf);
/* A cluster's latency as of the copy (figures_body's callback is the moment it is whole): how many online shards
 * have a fresh one, and their median and 95th percentile (ms; both 0 when `count` is 0). Returns 0, or -1 before
 * the first read. */
int figures_cluster_latency(struct figures *fig, size_t cluster, uint32_t *count, uint32_t *median, uint32_t *p95);

/* A cluster's gateway marks as of the copy, for the alerts (gateway.h says what each means). */
#define FIGURES_SILENT_NAMED 5 /* silent shards an alert names */
struct figures_marks {
    uint32_t silent, stale_latency, silent_named, silent_ids[FIGURES_SILENT_NAMED];
    struct gateway_sessions sessions; /* storm, identifies and resumes a minute, the budget */
    uint32_t near_cap, guilds_max;
};
/* Returns 0, or -1 before the first read. */
int figures_marks(struct figures *fig, size_t cluster, struct figures_marks *out);

/* One shard's figures as a JSON object ({"latency_ms":..,"guilds":..,"unavailable_guilds":..,"members":..,
 * "reported_ms":..}, null for one never reported), or null when `at_ms` is 0 (it never reported any). */
void figures_put_json(h2o_buffer_t **buf, int64_t at_ms, const struct shard_figures *f);

#endif
