/* gateway.h -- what Glance concludes from the gateway counters the bots report (lib.lua, merge_gateway): a shard
 * that is online and serves guilds but receives no events (silent: a zombie connection), its latency frozen at the
 * last acknowledged heartbeat (stale), a cluster whose identifies and resumes run far above its own day (a reconnect
 * storm), and one whose session budget would not last a full restart. Pure judgements and their JSON: figures.c
 * reads the counters with the figures and tallies them per cluster. */
#ifndef GLANCE_GATEWAY_H
#define GLANCE_GATEWAY_H

#include <stdint.h>
#include "h2o.h"
#include "redis/store.h"

struct redisReply;

struct gateway_marks {
    int silent;        /* online, serving guilds, and no new events for silent_after while it reported them */
    int stale_latency; /* silent, and its latency still the one it had when its events stopped */
};

/* A shard's marks from its counters, its state, guilds and latency (FIGURE_ABSENT when unknown). */
void gateway_judge(const struct store_gateway *g, int state, uint32_t guilds, uint32_t latency, uint32_t silent_after_s,
                   struct gateway_marks *m);
/* A shard's counters as GET /api/status/<c>/<id>'s "gateway" member, or null when it never reported one. */
void gateway_put_json(h2o_buffer_t **buf, const struct store_gateway *g, const struct gateway_marks *m);
/* Thousandths as a JSON number ("12.5"). */
void gateway_put_milli(h2o_buffer_t **buf, uint64_t milli);

/* A cluster's session budget and session counts, from its gwc hash (lib.lua, count_sessions, put_session). */
struct gateway_sessions {
    int has_budget;
    uint64_t total, remaining, max_concurrency;
    int64_t reported_ms, reset_at_ms;
    uint32_t identifies, resumes; /* per minute: over the last 60 to 70 s (7 slices of 10 s) */
    uint64_t day_total;           /* identifies and resumes over the last 24 hours */
    uint64_t day_resumes;         /* of which resumes */
    uint32_t known_minutes;       /* since the cluster's counters were first seen, up to a day (at least 1) */
    uint64_t recent_identifies;   /* identifies in this clock hour and the last */
    int storm;                    /* gateway_sessions_read says when */
    int short_budget;             /* remaining below the cluster's shards: a full restart would exhaust it */
};

/* Reads HGETALL's reply for a cluster of `shards` at `now`. A reconnect storm is: identifies plus resumes a minute at
 * `storm_per_minute` or more (when not 0); or resumes a minute at least GATEWAY_STORM_FLOOR and GATEWAY_STORM_FACTOR
 * times the cluster's average minute over the last 24 hours, or over the time since its counters were first seen when
 * that is shorter (a new bot's first busy minutes are its usual rate, not a storm); or more identifies in this clock hour and the last than
 * the cluster has shards (more than a full restart: a restart loop). A start or a deploy, every shard identifying
 * once, is none: identifies come at Discord's pace (max_concurrency every 5 s) whether it is a deploy or a loop, so
 * their rate says nothing; their count against the shards does. Returns 0, or -1 when the reply is not a flat array. */
int gateway_sessions_read(const struct redisReply *reply, uint32_t shards, int64_t now, uint32_t storm_per_minute,
                          struct gateway_sessions *s);

/* A storm at least this many resumes a minute when judged against the cluster's own day: a handful of reconnects a
 * minute is weather, not a storm. */
#define GATEWAY_STORM_FLOOR 10
#define GATEWAY_STORM_FACTOR 10

#endif
