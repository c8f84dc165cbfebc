/* store.h -- typed async Redis operations: the transition scripts run with EVALSHA on one pipelined connection. */
#ifndef GLANCE_STORE_H
#define GLANCE_STORE_H

#include <hiredis/hiredis.h>
#include "h2o.h"
#include "conf.h"

struct store;

#define STORE_MAX_BATCH 1000

/* A reply arrives, or the call failed: then `reply` is NULL and `err` says why (Redis unreachable, not
 * answering in time, or an error reply). The reply is borrowed: copy what you need before returning. */
typedef void (*store_reply_cb)(void *data, const redisReply *reply, const char *err);

struct store_listener {
    void (*on_ready)(void *data); /* connected (again): scripts may run */
    void (*on_lost)(void *data);  /* connection lost: calls fail until on_ready */
    void *data;
};

/* Creates the store and starts connecting. `conf` must outlive it. */
struct store *store_new(h2o_loop_t *loop, const struct conf *conf, const struct store_listener *listener);
void store_free(struct store *store);

/* 1 while commands can be sent. */
int store_ready(struct store *store);
uint64_t store_reconnects(struct store *store);

/* Every operation below either returns -1 (Redis is not connected) and never calls `cb`, or returns 0
 * and calls `cb` exactly once. `cluster` indexes conf->clusters; `shard` is below its shard count. */

/* Sets a state; the reply is 1 when it changed, 0 when it was already that. */
int store_status(struct store *store, size_t cluster, uint32_t shard, int state, store_reply_cb cb, void *data);
/* A health ping; the reply is -1 when the shard never had a status, 1 when it came back online, else 0. */
int store_health(struct store *store, size_t cluster, uint32_t shard, store_reply_cb cb, void *data);
/* Health keys expired; the reply counts the shards of the list that turned unhealthy. At most
 * STORE_MAX_BATCH shards per call. */
int store_expire(struct store *store, size_t cluster, const uint32_t *shards, size_t n, store_reply_cb cb, void *data);
/* The expire check over shards [first, end); the reply counts the shards that turned unhealthy. */
int store_sweep(struct store *store, size_t cluster, uint32_t first, uint32_t end, store_reply_cb cb, void *data);
/* {version, {shard, state, ...}} of one cluster, taken atomically. */
int store_snapshot(struct store *store, size_t cluster, store_reply_cb cb, void *data);
/* {state or -1, since ms, health key's remaining ms, now ms} of one shard. */
int store_shard(struct store *store, size_t cluster, uint32_t shard, store_reply_cb cb, void *data);

#endif
