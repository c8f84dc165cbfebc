/* history.h -- GET /api/history's body: every cluster's shard-time per day, availability and flapping shards
 * (history.lua), read from Redis at most every HISTORY_FRESH_MS however many ask, all clusters in one read. */
#ifndef GLANCE_HISTORY_H
#define GLANCE_HISTORY_H

#include "h2o.h"
#include "base/conf.h"
#include "redis/store.h"

#define HISTORY_FRESH_MS 10000

struct history;

/* `body` is borrowed for the callback; NULL with `err` when Redis did not answer. */
typedef void (*history_cb)(void *data, h2o_iovec_t body, const char *err);

struct history *history_new(h2o_loop_t *loop, struct store *store, const struct conf *conf);
void history_free(struct history *h);
void history_get(struct history *h, history_cb cb, void *data);

#endif
