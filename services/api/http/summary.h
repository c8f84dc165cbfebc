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

/* One body as sent, its ETag, and what it was rendered from: rendered once per change, shared by every reader. */
struct rendered {
    h2o_buffer_t *body;
    char etag[20]; /* "\"" 16 hex digits "\"" */
    uint64_t key;  /* what it says, hashed; 0: nothing rendered yet */
};
/* Marks `r` as rendered from `key`, its ETag made from its bytes. */
void rendered_seal(struct rendered *r, uint64_t key);
/* Sends `r` as public (Cache-Control max-age 15, CORS *), or a 304 to a client whose If-None-Match names it. */
void rendered_send(h2o_req_t *req, const char *type, const struct rendered *r);
/* 1 when the request's If-None-Match names `etag` (or is "*"). */
int rendered_client_has(h2o_req_t *req, const char *etag);
#define SUMMARY_MAX_AGE "public, max-age=15" /* readers check back soon; the ETag makes that cheap */

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
