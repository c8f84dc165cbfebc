/* expiry.h -- turns silent shards unhealthy: at the deadline this replica saw coming, on Redis expiry
 * notifications, and by a bounded periodic sweep. */
#ifndef GLANCE_EXPIRY_H
#define GLANCE_EXPIRY_H

#include "h2o.h"
#include "conf.h"
#include "store.h"

struct expiry;

/* Creates the sweeper; it starts sweeping once the store is ready. */
struct expiry *expiry_new(h2o_loop_t *loop, const struct conf *conf, struct store *store);
void expiry_free(struct expiry *expiry);

/* An event for the shard was heard: `healthy` when its health key was just set (a status other than unknown or
 * unhealthy, or a ping), so it runs out a health timeout from now; else it has no deadline to watch. */
void expiry_on_heard(struct expiry *expiry, size_t cluster, uint32_t shard, int healthy);

/* A health key expired (heard on the bus): run the expire script for that shard. */
void expiry_on_expired(struct expiry *expiry, size_t cluster, uint32_t shard);

/* The store (re)connected: sweep everything now, since expiries may have gone unheard meanwhile. */
void expiry_on_store_ready(struct expiry *expiry);

/* Shards turned unhealthy by this replica: on a notification, in a sweep, at a deadline it saw pass. */
uint64_t expiry_by_notification(struct expiry *expiry);
uint64_t expiry_by_sweep(struct expiry *expiry);
uint64_t expiry_by_deadline(struct expiry *expiry);

#endif
