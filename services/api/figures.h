/* figures.h -- the replica's copy of every shard's figures (latency, guilds, unavailable guilds, members), read
 * from Redis at most every few seconds however many ask, and what is made of it: GET /api/figures, the per-cluster
 * aggregates of /metrics and /plain, and a shard's figures in GET /api/status/<cluster>/<id>. */
#ifndef GLANCE_FIGURES_H
#define GLANCE_FIGURES_H

#include "h2o.h"
#include "conf.h"
#include "figures_input.h"
#include "store.h"

struct app;

#define FIGURES_FRESH_MS 5000 /* how stale the copy may be */

struct figures;

struct mirror;
/* `mirror` says which shards are online: only their latency counts. */
struct figures *figures_new(h2o_loop_t *loop, struct store *store, struct mirror *mirror, const struct conf *conf);
void figures_free(struct figures *fig);

/* Starts reading the copy again unless a read is under way or the copy is fresh. */
void figures_refresh(struct figures *fig);
/* GET /api/figures: from the copy, read again first when it is stale. */
void figures_get(struct app *app, h2o_req_t *req);
/* The per-cluster aggregates in Prometheus text, and as /plain's HTML, from the copy as it is (nothing before the
 * first read); each starts a read when the copy is stale. */
void figures_metrics(struct figures *fig, h2o_buffer_t **buf);
void figures_plain(struct figures *fig, h2o_buffer_t **buf);

/* One shard's figures as a JSON object ({"latency_ms":..,"guilds":..,"unavailable_guilds":..,"members":..,
 * "reported_ms":..}, null for one never reported), or null when `at_ms` is 0 (it never reported any). */
void figures_put_json(h2o_buffer_t **buf, int64_t at_ms, const struct shard_figures *f);

#endif
