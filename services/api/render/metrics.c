/* metrics.c -- counters of one replica and their Prometheus text form. */
#include "render/metrics.h"

#include <stdio.h>
#include "alerts/alert_sender.h"
#include "alerts/subscriber_sender.h"
#include "alerts/alerts.h"
#include "base/codec.h"
#include "base/parse.h"
#include "base/shard.h"
#include "feed/feed.h"
#include "redis/bus.h"
#include "redis/store.h"
#include "state/expiry.h"
#include "state/figures.h"
#include "state/log_cache.h"
#include "state/mirror.h"

struct metrics_logger {
    h2o_logger_t super;
    struct metrics *metrics;
};

static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    struct metrics_logger *logger = (void *)self;
    int status = req->res.status;

    if (status >= 100 && status < 600)
        ++logger->metrics->responses[status];
}

struct request_timer {
    struct histogram *histogram;
    uint64_t started_ns;
};

static void on_request_done(void *p)
{
    struct request_timer *t = p;

    histogram_observe(t->histogram, histogram_now_ns() - t->started_ns);
}

void metrics_time_request(struct metrics *metrics, h2o_req_t *req, enum metrics_route route)
{
    /* freed with the request's pool, which h2o clears once the response is sent: the dispose is the end */
    struct request_timer *t = h2o_mem_alloc_shared(&req->pool, sizeof(*t), on_request_done);

    t->histogram = &metrics->http[route];
    t->started_ns = histogram_now_ns();
}

void metrics_register_logger(struct metrics *metrics, h2o_pathconf_t *pathconf)
{
    struct metrics_logger *logger = (void *)h2o_create_logger(pathconf, sizeof(*logger));

    logger->super.log_access = on_log_access;
    logger->metrics = metrics;
}

/* A counter with one label and two values of it. */
static void put_pair(h2o_buffer_t **buf, const char *name, const char *help, const char *label, const char *a,
                     uint64_t a_value, const char *b, uint64_t b_value)
{
    char line[768];
    int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s counter\n%s{%s=\"%s\"} %llu\n%s{%s=\"%s\"} %llu\n", name, help,
                     name, name, label, a, (unsigned long long)a_value, name, label, b, (unsigned long long)b_value);

    codec_put(buf, line, (size_t)n);
}

static void put_metric(h2o_buffer_t **buf, const char *name, const char *help, const char *type, uint64_t value)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                     (unsigned long long)value);
    codec_put(buf, line, (size_t)n);
}

void metrics_render(const struct metrics *metrics, const struct metrics_parts *parts,
                    const struct metrics_http *http, h2o_buffer_t **buf)
{
    struct feed_stats fs;
    struct alert_sender_stats as;
    struct subscriber_sender_stats ss;
    char line[512];
    size_t i, s;
    int n;

    codec_put_lit(buf, "# HELP glance_http_requests_total HTTP responses sent, by status code.\n"
                       "# TYPE glance_http_requests_total counter\n");
    for (i = 100; i != 600; ++i) {
        if (metrics->responses[i] == 0)
            continue;
        n = snprintf(line, sizeof(line), "glance_http_requests_total{code=\"%zu\"} %llu\n", i,
                     (unsigned long long)metrics->responses[i]);
        codec_put(buf, line, (size_t)n);
    }
    {
        static const char *const routes[METRICS_ROUTES] = {"write", "batch", "read", "page", "feed", "other"};
        static const char *const scripts[STORE_RTT_SCRIPTS] = {"status", "health", "report", "expire"};
        histogram_render_head(buf, "glance_http_request_duration_seconds",
                              "From a request's arrival at its handler to its response sent, by route class.");
        for (i = 0; i != METRICS_ROUTES; ++i)
            histogram_render(buf, "glance_http_request_duration_seconds", "route", routes[i], &metrics->http[i]);
        histogram_render_head(buf, "glance_redis_script_duration_seconds",
                              "Round trips of the transition scripts to Redis, from sent to answered (WAIT not included).");
        for (i = 0; i != STORE_RTT_SCRIPTS; ++i)
            histogram_render(buf, "glance_redis_script_duration_seconds", "script", scripts[i],
                             store_rtt(parts->store, (int)i));
    }
    feed_get_stats(parts->feed, &fs);
    put_metric(buf, "glance_feed_clients", "Connected feed (WebSocket) clients.", "gauge", fs.clients);
    put_metric(buf, "glance_feed_clients_deflate", "Connected feed clients that took permessage-deflate.", "gauge",
               fs.clients_deflate);
    put_metric(buf, "glance_feed_frames_sent_total", "Feed frames written to clients.", "counter", fs.frames_sent);
    put_metric(buf, "glance_feed_bytes_sent_total", "Feed bytes written to clients.", "counter", fs.bytes_sent);
    put_metric(buf, "glance_feed_clients_dropped_total", "Feed clients dropped for falling behind or not answering pings.",
               "counter", fs.dropped);
    put_metric(buf, "glance_feed_hellos_encoded_total", "Hello frames encoded (each shared by every client).", "counter",
               fs.hellos_encoded);
    put_metric(buf, "glance_feed_resyncs_refused_total",
               "Feed clients closed (1008) for asking for resyncs faster than one every 2 s after a burst of 3.", "counter",
               fs.resyncs_refused);
    put_metric(buf, "glance_feed_updates_encoded_total", "Update frames encoded (each shared by every client).",
               "counter", fs.updates_encoded);
    put_metric(buf, "glance_redis_reconnects_total", "Redis connections re-established after a loss.", "counter",
               store_reconnects(parts->store) + bus_reconnects(parts->bus));
    put_metric(buf, "glance_redis_heartbeats_total",
               "Heartbeats published to prove the subscription alive (one per quiet second).", "counter",
               bus_heartbeats(parts->bus));
    put_metric(buf, "glance_snapshot_failures_total", "Mirror snapshots that failed and were tried again.", "counter",
               mirror_snapshot_failures(parts->mirror));
    put_metric(buf, "glance_ready", "1 when /readyz answers 200: Redis reachable, the subscription up, the mirror in sync, "
               "not draining.", "gauge", (uint64_t)http->ready);
    put_metric(buf, "glance_subscription_synced", "1 when the Redis subscription is up and the mirror in sync with it; 0 "
               "while it is being rebuilt (a resubscribe and a snapshot).", "gauge", (uint64_t)http->subscribed);
    put_metric(buf, "glance_redis_up", "1 when the command connection to Redis is ready.", "gauge",
               (uint64_t)store_ready(parts->store));
    put_metric(buf, "glance_expired_by_notification_total", "Shards this replica turned unhealthy on an expiry notification.",
               "counter", expiry_by_notification(parts->expiry));
    put_metric(buf, "glance_expired_by_sweep_total", "Shards this replica turned unhealthy in a sweep.", "counter",
               expiry_by_sweep(parts->expiry));
    put_metric(buf, "glance_expired_by_deadline_total",
               "Shards this replica turned unhealthy when their deadline passed without a ping.", "counter",
               expiry_by_deadline(parts->expiry));
    put_metric(buf, "glance_expiry_checks_skipped_total",
               "Deadlines and expiry notifications not checked in Redis: the mirror already held the shard unhealthy or "
               "unknown (usually turned by another replica).",
               "counter", expiry_checks_skipped(parts->expiry));
    put_metric(buf, "glance_condition_changes_total",
               "Cluster condition changes this replica was the first to record in Redis.", "counter",
               alerts_condition_changes(parts->alerts));
    put_metric(buf, "glance_alerts_recorded_total",
               "Alerts this replica recorded (a condition that held for GLANCE_ALERT_DELAY; one replica records each).",
               "counter", alerts_recorded(parts->alerts));
    alert_sender_stats(parts->alert_sender, &as);
    put_metric(buf, "glance_alerts_sent_total", "Alert messages this replica created (Discord) or posted (JSON webhooks).",
               "counter", as.sent);
    put_metric(buf, "glance_alerts_edited_total", "Alert messages this replica edited as an incident changed or ended.",
               "counter", as.edited);
    put_metric(buf, "glance_alerts_failed_total", "Webhook calls for alerts that failed (no answer, an error status).",
               "counter", as.failed);
    put_metric(buf, "glance_alerts_rate_limited_total", "Webhook calls answered 429 (retried after the time they said).",
               "counter", as.rate_limited);
    put_metric(buf, "glance_alerts_given_up_total",
               "Alerts a webhook still failed GLANCE_ALERT_GIVE_UP after they were recorded, recorded as not sent to it.",
               "counter", as.given_up);
    put_metric(buf, "glance_alert_webhooks_disabled",
               "Webhooks this replica stopped using after a 401, 403 or 404, until it restarts.", "gauge", as.disabled);
    subscriber_sender_stats(parts->subscriber_sender, &ss);
    put_metric(buf, "glance_subscriber_messages_sent_total",
               "Messages to subscribers' webhooks this replica sent and they took (incidents, maintenance, shards).",
               "counter", ss.sent);
    put_metric(buf, "glance_subscriber_messages_edited_total",
               "Messages to subscribers edited in place: the next notice of a shard's episode (back, going down again).",
               "counter", ss.edited);
    put_metric(buf, "glance_shard_notices_total",
               "Shards this replica found had gone down or come back for the servers subscribed to them (each counted once "
               "across the replicas).", "counter", alerts_shard_notices(parts->alerts));
    put_metric(buf, "glance_subscriber_messages_retried_total",
               "Messages to subscribers to be tried again: a 429 (when Discord said), a 5xx or no answer (a backoff).",
               "counter", ss.retried);
    put_metric(buf, "glance_subscriber_messages_given_up_total", "Messages to subscribers still failing after 8 tries.",
               "counter", ss.given_up);
    put_metric(buf, "glance_subscriptions_removed_total",
               "Subscriptions this replica removed because their webhook answered 401, 403 or 404 (deleted in Discord).",
               "counter", ss.gone);
    put_metric(buf, "glance_subscriber_notices_done_total",
               "Incident and maintenance notices delivered to every subscription they concern.", "counter", ss.entries_done);
    codec_put_lit(buf, "# HELP glance_bodies_rendered_total Bodies rendered for many readers (once per version, then shared).\n"
                       "# TYPE glance_bodies_rendered_total counter\n");
    n = snprintf(line, sizeof(line),
                 "glance_bodies_rendered_total{body=\"plain\"} %llu\nglance_bodies_rendered_total{body=\"status\"} %llu\n"
                 "glance_bodies_rendered_total{body=\"summary\"} %llu\nglance_bodies_rendered_total{body=\"badge\"} %llu\n"
                 "glance_bodies_rendered_total{body=\"preview\"} %llu\nglance_bodies_rendered_total{body=\"statuspage\"} %llu\n",
                 (unsigned long long)http->plain_renders, (unsigned long long)http->status_renders,
                 (unsigned long long)http->summary_renders, (unsigned long long)http->badge_renders,
                 (unsigned long long)http->preview_renders, (unsigned long long)http->statuspage_renders);
    codec_put(buf, line, (size_t)n);
    put_pair(buf, "glance_render_waits_total", "Requests that waited for a render (one every 250 ms at most while versions move).",
             "body", "plain", http->plain_waits, "status", http->status_waits);
    put_pair(buf, "glance_reads_queued_total", "Redis reads that waited for one of the few of their kind in flight.", "read",
             "shard", http->shard_queued, "alerts", http->alert_queued);
    put_pair(buf, "glance_reads_refused_total", "Redis reads refused (503) because too many of their kind were waiting.",
             "read", "shard", http->shard_refused, "alerts", http->alert_refused);
    put_metric(buf, "glance_reader_bytes", "Bytes of the distinct shared bodies that responses still being sent hold.",
               "gauge", http->reader_bytes);
    put_metric(buf, "glance_slow_readers_closed_total",
               "Responses closed because the bodies held for readers passed GLANCE_READER_BYTES_MAX_MB (the oldest first).",
               "counter", http->readers_closed);
    {
        uint64_t waits[STORE_WAIT_OUTCOMES];
        store_wait_counts(parts->store, waits);
        codec_put_lit(buf, "# HELP glance_redis_waits_total WAITs for durable acknowledgements (GLANCE_REDIS_WAIT_REPLICAS), by "
                           "outcome: every replica asked had the writes; fewer did in time (the writes answered 503); no answer.\n"
                           "# TYPE glance_redis_waits_total counter\n");
        n = snprintf(line, sizeof(line), "glance_redis_waits_total{outcome=\"confirmed\"} %llu\n"
                     "glance_redis_waits_total{outcome=\"short\"} %llu\nglance_redis_waits_total{outcome=\"failed\"} %llu\n",
                     (unsigned long long)waits[STORE_WAIT_CONFIRMED], (unsigned long long)waits[STORE_WAIT_SHORT],
                     (unsigned long long)waits[STORE_WAIT_FAILED]);
        codec_put(buf, line, (size_t)n);
    }
    codec_put_lit(buf, "# HELP glance_alertmanager_notifications_total Alertmanager's notifications this replica took, by "
                       "what became of them (refused: a 400 or a 409, nothing written; Alertmanager sends a refused group again).\n"
                       "# TYPE glance_alertmanager_notifications_total counter\n");
    for (i = 0; i != http->num_alertmanager_outcomes; ++i) {
        n = snprintf(line, sizeof(line), "glance_alertmanager_notifications_total{outcome=\"%s\"} %llu\n",
                     http->alertmanager_outcomes[i], (unsigned long long)http->alertmanager[i]);
        codec_put(buf, line, (size_t)n);
    }
    put_metric(buf, "glance_log_reads_total",
               "Reads of a cluster's change log from Redis for GET /api/history/<cluster> (one serves every reader).",
               "counter", log_cache_reads(parts->log_cache));
    codec_put_lit(buf, "# HELP glance_shards Shards per state, as this replica's mirror sees them.\n"
                       "# TYPE glance_shards gauge\n");
    for (i = 0; i != mirror_num_clusters(parts->mirror); ++i) {
        const struct mirror_cluster *c = mirror_cluster(parts->mirror, i);
        for (s = 0; s <= SHARD_STATE_MAX; ++s) {
            n = snprintf(line, sizeof(line), "glance_shards{cluster=\"%s\",state=\"%s\"} %u\n", c->conf->name,
                         state_name((int)s), c->counts[s]);
            codec_put(buf, line, (size_t)n);
        }
    }
    codec_put_lit(buf, "# HELP glance_cluster_version Version of each cluster in this replica's mirror.\n"
                       "# TYPE glance_cluster_version gauge\n");
    for (i = 0; i != mirror_num_clusters(parts->mirror); ++i) {
        const struct mirror_cluster *c = mirror_cluster(parts->mirror, i);
        n = snprintf(line, sizeof(line), "glance_cluster_version{cluster=\"%s\"} %llu\n", c->conf->name,
                     (unsigned long long)c->version);
        codec_put(buf, line, (size_t)n);
    }
    figures_metrics(parts->figures, buf); /* per cluster, from the replica's copy (a few seconds old at most) */
}
