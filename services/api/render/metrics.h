/* metrics.h -- counters of one replica and their Prometheus text form. */
#ifndef GLANCE_METRICS_H
#define GLANCE_METRICS_H

#include <stdint.h>
#include "h2o.h"
#include "base/histogram.h"

/* What a request was, for its latency histogram (glance_http_request_duration_seconds{route}). */
enum metrics_route {
    METRICS_ROUTE_WRITE, /* a bot's state or ping; an operator's or a visitor's write */
    METRICS_ROUTE_BATCH, /* a batch report, a cluster's gateway figures */
    METRICS_ROUTE_READ,  /* the JSON reads of /api */
    METRICS_ROUTE_PAGE,  /* the page, /plain, /embed, badges, previews, the Atom feed, the dashboard's files */
    METRICS_ROUTE_FEED,  /* GET /api/feed, to its upgrade */
    METRICS_ROUTE_OTHER, /* /healthz, /readyz, /metrics, and what matched nothing */
    METRICS_ROUTES
};

struct metrics {
    uint64_t responses[600]; /* by status code */
    struct histogram http[METRICS_ROUTES]; /* from the request's arrival at its handler to its response sent */
};

/* Times `req` from now until h2o disposes of it (its response sent, or its connection gone), into `route`'s
 * histogram. */
void metrics_time_request(struct metrics *metrics, h2o_req_t *req, enum metrics_route route);

/* The parts whose counters /metrics shows. */
struct metrics_parts {
    struct store *store;
    struct bus *bus;
    struct mirror *mirror;
    struct expiry *expiry;
    struct feed *feed;
    struct alerts *alerts;
    struct alert_sender *alert_sender;
    struct subscriber_sender *subscriber_sender;
    struct log_cache *log_cache;
    struct figures *figures;
};

/* What the handlers counted, handed down by them: this renderer sits below the handlers and knows nothing of them. */
struct metrics_http {
    uint64_t plain_renders, status_renders, summary_renders, badge_renders, preview_renders, statuspage_renders;
    uint64_t plain_waits, status_waits;   /* requests that waited at a render gate */
    uint64_t shard_queued, alert_queued;  /* reads that waited in line */
    uint64_t shard_refused, alert_refused; /* reads refused, the line full */
    size_t reader_bytes;                  /* the distinct shared bodies that responses being sent hold */
    uint64_t readers_closed;
    /* Alertmanager's notifications by outcome, and their names (alertmanager_routes.h) */
    const uint64_t *alertmanager;
    const char *const *alertmanager_outcomes;
    size_t num_alertmanager_outcomes;
    int ready;      /* what /readyz would say: 1 for 200 */
    int subscribed; /* the subscription is up and the mirror in sync with it (0 while it is rebuilt) */
};

/* Counts every response, whoever produced it (our handlers, the file handler, h2o's own errors). */
void metrics_register_logger(struct metrics *metrics, h2o_pathconf_t *pathconf);

/* Appends the Prometheus text exposition of everything the replica knows about itself. */
void metrics_render(const struct metrics *metrics, const struct metrics_parts *parts, const struct metrics_http *http,
                    h2o_buffer_t **buf);

#endif
