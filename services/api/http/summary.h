/* summary.h -- the condition of the bot and of each cluster, from the mirror's counts and the maintenance windows
 * on now: GET /api/summary and the badges (/badge.svg, /badge/<cluster>.svg, /badge/<cluster>.json), each rendered
 * once per change, shared, and sent with an ETag so that a client that has it gets a 304. */
#ifndef GLANCE_SUMMARY_H
#define GLANCE_SUMMARY_H

#include <jansson.h>
#include "h2o.h"
#include "base/shard.h"

struct app;
struct summary;

struct summary *summary_new(size_t num_clusters);
void summary_free(struct summary *s);

/* GET /api/summary */
void summary_get(struct app *app, h2o_req_t *req);
/* A badge: of the whole bot when `cluster` is empty, else of that cluster; `json` for shields.io's endpoint badge,
 * else the SVG. */
void summary_badge(struct app *app, h2o_req_t *req, h2o_iovec_t cluster, int json);

/* Marks the clusters under maintenance now by `list` (the incidents as parsed, or NULL) and returns the whole bot's
 * level: the condition of the clusters that are not, or BADGE_MAINTENANCE when every one is; `totals` gets their
 * counts. Then summary_cluster_level tells a cluster's level (its condition, or BADGE_MAINTENANCE). */
int summary_look(struct app *app, json_t *list, uint32_t totals[SHARD_STATE_MAX + 1]);
int summary_cluster_level(struct app *app, size_t i);

#endif
