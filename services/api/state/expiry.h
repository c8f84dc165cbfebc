/* expiry.h -- turns silent shards unhealthy: at the deadline this replica saw coming, on Redis expiry
 * notifications, and by a bounded periodic sweep. */
#ifndef GLANCE_EXPIRY_H
#define GLANCE_EXPIRY_H

#include "h2o.h"
#include "base/conf.h"
#include "redis/store.h"

struct expiry;

/* Whether a shard may still need turning unhealthy as far as this replica knows (its mirror): 0 when it is known to
 * hold a state that cannot expire (unhealthy, unknown), so that a check for it would find nothing to do. */
typedef int (*expiry_may_expire_cb)(void *data, size_t cluster, uint32_t shard);

/* Creates the sweeper; it starts sweeping once the store is ready. Deadlines and notifications for shards that
 * may_expire rules out are not sent to Redis: usually another replica has turned them already. */
struct expiry *expiry_new(h2o_loop_t *loop, const struct conf *conf, struct store *store, expiry_may_expire_cb may_expire,
                          void *may_expire_data);
void expiry_free(struct expiry *expiry);

/* An event for the shard was heard: `healthy` when its health key was just set (a status other than unknown or
 * unhealthy, or a ping), so it runs out a health timeout after that; else it has no deadline to watch. `set_ms` is
 * when Redis set the key by its own clock (a change's since), or 0 when the event does not say (a ping): then the
 * key is taken to have been set when it was heard. */
void expiry_on_heard(struct expiry *expiry, size_t cluster, uint32_t shard, int healthy, int64_t set_ms);

/* A health key expired (heard on the bus): run the expire script for that shard. */
void expiry_on_expired(struct expiry *expiry, size_t cluster, uint32_t shard);

/* The store (re)connected: sweep everything now, since expiries may have gone unheard meanwhile. */
void expiry_on_store_ready(struct expiry *expiry);

/* Shards turned unhealthy by this replica: on a notification, in a sweep, at a deadline it saw pass. */
uint64_t expiry_by_notification(struct expiry *expiry);
uint64_t expiry_by_sweep(struct expiry *expiry);
uint64_t expiry_by_deadline(struct expiry *expiry);
/* Deadlines and notifications not checked in Redis because may_expire ruled them out. */
uint64_t expiry_checks_skipped(struct expiry *expiry);

#endif
