/* fleet.h -- a simulated bot fleet: per-shard state machines, health pings with jitter (one POST per shard, or
 * batches), events at a rate, figures if asked, every POST over a few keep-alive connections; it also matches
 * the changes viewers see to the POSTs. */
#ifndef GLANCE_SIM_FLEET_H
#define GLANCE_SIM_FLEET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "flags.h"
#include "http.h"
#include "stats.h"

struct fleet;

struct fleet_stats {
    uint64_t status_posts, health_posts;     /* answered */
    uint64_t batch_posts, batch_items;       /* batch reports answered, and the shard pings they carried */
    uint64_t errors;                         /* answered with anything but 204 (200 for a batch), or not answered */
    uint64_t status_by_code[6];              /* 0 (no answer), 2xx, 3xx, 4xx, 5xx, other */
    uint64_t events[FLAGS_NUM_EVENTS];
    uint64_t events_skipped;                 /* no shard was free for an event when it was due */
    uint64_t loop_restarts;                  /* restarts of the --restart-loop cluster */
    uint64_t session_posts;                  /* identify budgets posted (answered), with --gateway */
    uint64_t tracked;                        /* changes posted while measuring */
    uint64_t expected;                       /* deliveries owed: each tracked change times the viewers then ready */
    uint64_t delivered;                      /* viewer frames that carried a tracked change */
    uint64_t superseded;                     /* owed deliveries given up because the shard changed again first */
    uint64_t unmatched;                      /* changes seen that no tracked POST explains (expiries, stale) */
    struct stats_hist post_us;               /* POST round trips */
    struct stats_hist latency_us;            /* POST sent -> frame with the change received, per viewer */
};

/* Builds the fleet for f's clusters, posting through `pool`. Nothing is sent before fleet_tick. */
struct fleet *fleet_new(const struct sim_flags *f, struct http_pool *pool, uint64_t seed);

/* Writes a line per trouble flag given, naming the shards it picked ("glance-sim: 2 zombies (...): main/17
 * main/203"; at most 50 named) and the looping cluster. */
void fleet_describe(const struct fleet *fl, FILE *out);

/* Frees the fleet. The pool must be freed first (its callbacks reach into the fleet). */
void fleet_free(struct fleet *fl);

/* Runs whatever is due at now_ms (a monotonic clock in ms): boot steps, pings, event steps, new events.
 * Returns the ms until the next thing is due (at most 100). */
uint64_t fleet_tick(struct fleet *fl, uint64_t now_ms);

/* 1 once every shard has finished its boot (starting -> online) and its POSTs were answered. */
int fleet_booted(const struct fleet *fl);

/* Starts measuring (changes posted from now on are tracked) and starting events at the configured rate. */
void fleet_start_events(struct fleet *fl, uint64_t now_ms);

/* Stops starting events; steps of events under way go on. */
void fleet_stop_events(struct fleet *fl);

/* 1 when no event step is pending (silences included) and no POST is queued or in flight. */
int fleet_idle(const struct fleet *fl);

/* Says how many viewers will see each change posted from now on. */
void fleet_set_audience(struct fleet *fl, uint32_t viewers);

/* The fleet's key for a shard of the named cluster (its index in the fleet), or UINT32_MAX when the fleet
 * has no such shard (the change is counted as unmatched). */
uint32_t fleet_key(struct fleet *fl, const char *name, size_t name_len, uint32_t shard);

/* A viewer saw the shard with this key in `state` at now_ns. */
void fleet_observe(struct fleet *fl, uint32_t key, int state, uint64_t now_ns);

/* Counts as of now; owed deliveries that are not delivered yet are reported as missing by the caller. */
const struct fleet_stats *fleet_stats(struct fleet *fl);

/* Deliveries still owed for the latest tracked change of every shard. */
uint64_t fleet_outstanding(const struct fleet *fl);

#endif
