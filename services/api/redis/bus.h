/* bus.h -- the one subscriber connection: published events and key expirations in, listeners out. */
#ifndef GLANCE_BUS_H
#define GLANCE_BUS_H

#include "h2o.h"
#include "base/codec.h"
#include "base/conf.h"
#include "redis/store.h"

struct bus;

struct bus_listener {
    /* Both channels are subscribed (again): anything published before may have been missed. */
    void (*on_subscribed)(void *data);
    /* The subscription is gone; events are missed until on_subscribed. */
    void (*on_lost)(void *data);
    /* An event from the scripts; `ev` is borrowed. */
    void (*on_event)(void *data, const struct codec_event *ev);
    /* A health key of ours expired. */
    void (*on_expired)(void *data, size_t cluster, uint32_t shard);
    void *data;
};

/* Creates the bus and starts connecting; names are resolved through `resolver` (see redis_conn.h). Heartbeats
 * are published through `store`. `conf`, `resolver` and `store` must outlive the bus, and the store must be
 * freed first: a heartbeat in flight is answered by it. */
struct bus *bus_new(h2o_loop_t *loop, h2o_multithread_receiver_t *resolver, const struct conf *conf,
                    struct store *store, const struct bus_listener *listener);
void bus_free(struct bus *bus);

/* 1 while both channels are subscribed. */
int bus_subscribed(struct bus *bus);
uint64_t bus_reconnects(struct bus *bus);
/* Heartbeats published to prove the subscription alive. */
uint64_t bus_heartbeats(struct bus *bus);
/* Why the subscriber connection is not up ("" while it is); see redis_conn_last_error. */
const char *bus_last_error(struct bus *bus);

#endif
