/* mirror.h -- the replica's cache of every shard state, kept current from events, rebuilt from snapshots. */
#ifndef GLANCE_MIRROR_H
#define GLANCE_MIRROR_H

#include <stdint.h>
#include "base/codec.h"
#include "base/conf.h"
#include "base/shard.h"
#include "redis/store.h"

struct mirror_cluster {
    const struct conf_cluster *conf;
    uint8_t *states;
    uint64_t version;
    uint32_t counts[SHARD_STATE_MAX + 1];
    int synced;
    int snapshot_inflight;
};

struct mirror_listener {
    /* A shard's state changed (from an event, or found different by a snapshot). */
    void (*on_change)(void *data, size_t cluster, uint32_t shard);
    void (*on_ping)(void *data, size_t cluster, uint32_t shard);
    /* Every cluster is in sync again after the mirror lost track (see mirror_lost). */
    void (*on_synced)(void *data);
    void *data;
};

struct mirror;

/* Creates an empty mirror (every shard unknown, nothing in sync). `conf` and `store` must outlive it. */
struct mirror *mirror_new(h2o_loop_t *loop, const struct conf *conf, struct store *store,
                          const struct mirror_listener *listener);
void mirror_free(struct mirror *mirror);

size_t mirror_num_clusters(struct mirror *mirror);
const struct mirror_cluster *mirror_cluster(struct mirror *mirror, size_t index);
/* The index of the cluster called `name`, or -1. */
ssize_t mirror_find(struct mirror *mirror, const char *name, size_t len);
/* Fills `out` (mirror_num_clusters entries) with views for the JSON encoders. */
void mirror_views(struct mirror *mirror, struct codec_cluster *out);

/* Fills `out` (mirror_num_clusters entries) with every cluster's version now, to check a body or frame
 * rendered earlier against (versions_current). */
void mirror_versions(struct mirror *mirror, uint64_t *out);

/* 1 when every cluster is in sync with Redis. */
int mirror_synced(struct mirror *mirror);

/* Events may have been missed (the subscription was lost): stop trusting versions until mirror_resync. */
void mirror_lost(struct mirror *mirror);
/* Takes a snapshot of every cluster that is not in sync. Call once subscribed and the store is ready. A
 * snapshot that fails is tried again with a backoff (100 ms doubling to 5 s) until one succeeds or track is
 * lost again. */
void mirror_resync(struct mirror *mirror);
/* Snapshots that failed since start. */
uint64_t mirror_snapshot_failures(struct mirror *mirror);

/* Applies a published event: in order it updates the mirror; a version gap starts a snapshot. Returns the
 * event's cluster index, or -1 when the event is not about a shard of ours (and was ignored). */
ssize_t mirror_apply(struct mirror *mirror, const struct codec_event *ev);

#endif
