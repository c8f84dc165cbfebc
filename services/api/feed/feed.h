/* feed.h -- the live WebSocket feed: clients, coalesced update frames encoded once, backlog bounds. */
#ifndef GLANCE_FEED_H
#define GLANCE_FEED_H

#include "h2o.h"
#include "base/conf.h"
#include "state/mirror.h"

#define FEED_MAX_BACKLOG (1024 * 1024) /* plus one hello */
#define FEED_PING_INTERVAL_MS 15000

struct feed;

struct feed_stats {
    size_t clients, clients_deflate;
    uint64_t frames_sent, bytes_sent, dropped, hellos_encoded, updates_encoded, resyncs_refused;
};

struct feed *feed_new(h2o_loop_t *loop, const struct conf *conf, struct mirror *mirror);
/* Closes every client at once and frees the feed. */
void feed_free(struct feed *feed);

/* Why a feed request was refused, for the router to answer. */
struct feed_refusal {
    int status;
    const char *reason;
    const char *message;
    unsigned retry_after_s; /* 0: no Retry-After */
};

/* Takes GET /api/feed: returns 0 when the WebSocket handshake was answered (101) and the client will get its
 * hello, or -1 with `no` filled in (not a handshake, a refused Origin, a limit reached, shutting down): the
 * caller answers the request. */
int feed_accept(struct feed *feed, h2o_req_t *req, struct feed_refusal *no);

/* Mirror news. */
void feed_on_change(struct feed *feed, size_t cluster, uint32_t shard);
void feed_on_ping(struct feed *feed, size_t cluster, uint32_t shard);
/* The mirror is in sync again: every client gets a fresh hello. */
void feed_on_synced(struct feed *feed);
/* Redis was lost: tell every client its data may be stale. */
void feed_on_lost(struct feed *feed);

/* Shutting down: refuse new clients, close the others with 1001 once what they were sent is written. */
void feed_shutdown(struct feed *feed);

/* Cuts every client at once (shutdown, once the grace for their close frames has passed). */
void feed_drop_all(struct feed *feed);

void feed_get_stats(struct feed *feed, struct feed_stats *out);

#endif
