/* shard_notices.h -- the shards whose state changed, asked about in Redis once the alert delay has passed, so that
 * the servers a shard serves hear that it went down or came back (shard_notice.lua decides, once across the
 * replicas, and writes the notify stream entry the subscribers' sender delivers). Every replica asks about what its
 * own mirror saw change: any of them may stop, and an episode is still said. Nothing is asked while nothing changes,
 * and a cluster no server listens to costs one EXISTS per batch. */
#ifndef GLANCE_SHARD_NOTICES_H
#define GLANCE_SHARD_NOTICES_H

#include <stdint.h>
#include "base/conf.h"
#include "redis/store.h"
#include "state/mirror.h"

struct shard_notices;

/* Everything passed must outlive it. Without subscriptions (GLANCE_SUBSCRIPTIONS_MAX=0) it keeps nothing. */
struct shard_notices *shard_notices_new(const struct conf *conf, struct store *store, struct mirror *mirror);
void shard_notices_free(struct shard_notices *n);

/* The mirror saw shard `shard` of `cluster` change: a shard now down (unhealthy, offline) or online is asked about
 * once the delay has passed since. */
void shard_notices_changed(struct shard_notices *n, size_t cluster, uint32_t shard);
/* Asks about the shards whose time has come, a batch per cluster at a time. */
void shard_notices_tick(struct shard_notices *n, int64_t now_ms);

/* Notices this replica said first (each said by one replica only). */
uint64_t shard_notices_said(struct shard_notices *n);

#endif
