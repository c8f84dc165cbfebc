/* incidents.h -- the replica's copy of the incidents and maintenance list: GET /api/incidents, /plain's banner
 * and /history.atom are served from it, and it is read again from Redis when it is older than a few seconds or
 * after this replica wrote, so readers never put their number on Redis. */
#ifndef GLANCE_INCIDENTS_H
#define GLANCE_INCIDENTS_H

#include <jansson.h>
#include "h2o.h"
#include "base/body_cache.h"
#include "redis/store.h"

#define INCIDENTS_FRESH_MS 5000 /* how stale another replica's write may be seen */
#define INCIDENTS_LISTED 50     /* the latest listed (every open one is listed too) */

struct incidents;

/* The list as it was read: `json` is GET /api/incidents's body, `atom` /history.atom's (both rendered once a read
 * and sent by reference: take a reference to keep one), `parsed` the same list, `banner` /plain's HTML (the banner
 * of what is open, then the whole list, collapsed).
 * Borrowed for the callback. */
struct incidents_view {
    struct shared_body *json;
    struct shared_body *atom;
    json_t *parsed;
    h2o_iovec_t banner;
    int64_t now_ms; /* Redis's clock when it was read */
};
typedef void (*incidents_cb)(void *data, const struct incidents_view *view, const char *err);

/* `feed_id` names the Atom feed (its <id>). */
struct incidents *incidents_new(h2o_loop_t *loop, struct store *store, const char *feed_id);
void incidents_free(struct incidents *in);

/* Calls `cb` with a fresh copy: at once, or once Redis answered (every caller waiting meanwhile shares one read). */
void incidents_get(struct incidents *in, incidents_cb cb, void *data);
/* The banner of the copy as it is, even stale (empty before the first read); starts a read when it is stale. */
h2o_iovec_t incidents_banner(struct incidents *in);
/* The list as it is, even stale (parsed; NULL before the first read); starts a read when it is stale. Borrowed
 * until the next read. */
json_t *incidents_list(struct incidents *in);
/* A write went through: the next caller reads again. */
void incidents_invalidate(struct incidents *in);

#endif
