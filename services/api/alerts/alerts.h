/* alerts.h -- turns what the mirror shows into alerts: each cluster's condition is recorded in Redis when it
 * changes, and once it has held for GLANCE_ALERT_DELAY it becomes one entry of the alerts stream, exactly once
 * across every replica (condition.lua and alert_due.lua decide; the replicas only ask). The gateway marks of
 * GLANCE_ALERT_GATEWAY (silent shards, a storm, a short identify budget, the guild cap), from the figures' copy, go
 * the same way through gateway_alert.lua. */
#ifndef GLANCE_ALERTS_H
#define GLANCE_ALERTS_H

#include "h2o.h"
#include "base/conf.h"
#include "redis/store.h"
#include "state/figures.h"
#include "state/mirror.h"

struct alerts;

/* Starts checking, every ALERTS_TICK_MS, the clusters of `mirror` that are in sync. Everything passed must
 * outlive it; free it after the store (the store answers calls it still holds when it is freed). */
struct alerts *alerts_new(h2o_loop_t *loop, const struct conf *conf, struct store *store, struct mirror *mirror,
                          struct figures *figures);
void alerts_free(struct alerts *alerts);

/* Condition changes this replica recorded first, and alerts it recorded (each counted by one replica only). */
uint64_t alerts_condition_changes(struct alerts *alerts);
uint64_t alerts_recorded(struct alerts *alerts);

/* When cluster `cluster`'s present condition began, as Redis recorded it (the same on every replica); 0 until this
 * replica has heard. */
int64_t alerts_condition_since(struct alerts *alerts, size_t cluster);
/* The mirror saw a shard change: the servers it serves may have to hear of it (shard_notices.h). */
void alerts_shard_changed(struct alerts *alerts, size_t cluster, uint32_t shard);
/* Notices to servers' subscribers of their shard going down or coming back that this replica said first. */
uint64_t alerts_shard_notices(struct alerts *alerts);

#endif
