/* app.h -- the parts of one replica, wired together by main.c and handed to the HTTP handlers. */
#ifndef GLANCE_APP_H
#define GLANCE_APP_H

#include "h2o.h"
#include "alerts/alert_sender.h"
#include "alerts/alerts.h"
#include "base/body_cache.h"
#include "base/conf.h"
#include "feed/feed.h"
#include "redis/bus.h"
#include "redis/store.h"
#include "render/metrics.h"
#include "state/expiry.h"
#include "state/figures.h"
#include "state/history.h"
#include "state/incidents.h"
#include "state/latency.h"
#include "state/log_cache.h"
#include "state/mirror.h"

struct summary;
struct statuspage_routes;
struct web_pages;
struct render_gate;
struct read_queue;
struct subscriber_messages;
struct subscriber_sender;

struct app {
    const struct conf *conf;
    h2o_loop_t *loop;
    struct store *store;
    struct bus *bus;
    struct mirror *mirror;
    struct expiry *expiry;
    struct feed *feed;
    struct alerts *alerts;
    struct alert_sender *alert_sender;
    struct history *history;     /* GET /api/history, shared for a few seconds */
    struct log_cache *log_cache; /* GET /api/history/<cluster>: one read per cluster for every reader */
    struct incidents *incidents; /* the incidents and maintenance list, shared for a few seconds */
    struct figures *figures;     /* every shard's figures and their aggregates, shared for a few seconds */
    struct latency *latency;     /* the latency history: written once a minute by one replica, read once a minute */
    struct summary *summary;     /* GET /api/summary and the badges, rendered when what they say changes */
    struct statuspage_routes *statuspage; /* GET /api/v2/...: Statuspage's API, rendered as the badges are */
    struct web_pages *web_pages; /* `/` with its link previews, and /embed */
    struct metrics metrics;
    struct body_cache plain_body, status_body; /* /plain and GET /api/status, rendered once per version */
    struct render_gate *plain_gate, *status_gate; /* and at most once per RENDER_GATE_MS while versions move */
    struct read_queue *shard_reads, *alert_reads; /* GET /api/status/<c>/<id>, /api/alerts: a few in flight */
    struct read_queue *subscription_reads;        /* /api/subscriptions/<token>, whatever the method */
    struct subscriber_messages *subscriber_messages; /* a new subscription's confirmation */
    struct subscriber_sender *subscriber_sender;     /* the notify stream to the subscribers */
    uint64_t *versions;                        /* scratch: the mirror's versions now */
    uint64_t plain_renders, status_renders, summary_renders, badge_renders, preview_renders, statuspage_renders;
    uint64_t alertmanager[6]; /* Alertmanager's notifications by outcome (enum alertmanager_outcome) */
    size_t inflight;   /* requests waiting on Redis; shutdown waits for them */
    /* responses sending a shared body, oldest first, and the bytes of the distinct bodies they hold (respond.c):
     * past GLANCE_READER_BYTES_MAX_MB, the oldest are closed */
    h2o_linklist_t readers;
    size_t reader_bytes;
    uint64_t readers_closed;
    int shutting_down;
};

#endif
