/* app.h -- the parts of one replica, wired together by main.c and handed to the HTTP handlers. */
#ifndef GLANCE_APP_H
#define GLANCE_APP_H

#include "h2o.h"
#include "alert_sender.h"
#include "alerts.h"
#include "body_cache.h"
#include "bus.h"
#include "conf.h"
#include "expiry.h"
#include "figures.h"
#include "feed.h"
#include "history.h"
#include "incidents.h"
#include "log_cache.h"
#include "metrics.h"
#include "mirror.h"
#include "store.h"

/* The handlers' own parts (routes.c, summary.c, web_pages.c), by pointer: this header is read by parts below the
 * handlers (metrics.c), which must not depend on them. */
struct summary;
struct web_pages;
struct render_gate;
struct read_queue;

/* Counters of the handlers' parts, copied here before /metrics is rendered (routes.c), for the same reason. */
struct http_counters {
    uint64_t plain_waits, status_waits;           /* requests that waited at a render gate */
    uint64_t shard_queued, alert_queued;          /* reads that waited in line */
    uint64_t shard_refused, alert_refused;        /* reads refused, the line full */
};

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
    struct summary *summary;     /* GET /api/summary and the badges, rendered when what they say changes */
    struct web_pages *web_pages; /* `/` with its link previews, and /embed */
    struct metrics metrics;
    struct body_cache plain_body, status_body; /* /plain and GET /api/status, rendered once per version */
    struct render_gate *plain_gate, *status_gate; /* and at most once per RENDER_GATE_MS while versions move */
    struct read_queue *shard_reads, *alert_reads; /* GET /api/status/<c>/<id>, /api/alerts: a few in flight */
    struct http_counters http_counters;
    uint64_t *versions;                        /* scratch: the mirror's versions now */
    uint64_t plain_renders, status_renders, summary_renders, badge_renders, preview_renders;
    size_t inflight;   /* requests waiting on Redis; shutdown waits for them */
    /* responses sending a shared body, oldest first, and the bytes of the distinct bodies they hold (respond.c):
     * past GLANCE_READER_BYTES_MAX_MB, the oldest are closed */
    h2o_linklist_t readers;
    size_t reader_bytes;
    uint64_t readers_closed;
    int shutting_down;
};

#endif
