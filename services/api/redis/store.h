/* store.h -- typed async Redis operations: the transition scripts run with EVALSHA on one pipelined connection. */
#ifndef GLANCE_STORE_H
#define GLANCE_STORE_H

#include "h2o.h"
#include "base/conf.h"
#include "base/report_input.h"
#include "base/session_input.h"

struct store;

#define STORE_MAX_BATCH 1000
/* Each cluster's history keys: history (shard-time per day and hour), maint (maintenance windows), recent (each
 * shard's last transitions), flapping, log (the transition stream). */
#define STORE_HISTORY_KEYS 5
enum { STORE_HISTORY_HIST, STORE_HISTORY_MAINT, STORE_HISTORY_RECENT, STORE_HISTORY_FLAPPING, STORE_HISTORY_LOG };
/* Incident and maintenance records kept (the oldest go first, never an open one). */
#define STORE_INCIDENTS_KEPT 1000
/* Operators' incidents and maintenance windows open at once (automatic incidents, one per cluster, aside). */
#define STORE_INCIDENTS_OPEN_MAX 50

/* What a call's callback gets when it fails: `err` says why (Redis unreachable, not answering in time, an
 * error reply, or a reply of the wrong shape) and the result arguments are zero. `err` is NULL on success. */

/* An integer result (see each operation for its meaning). */
typedef void (*store_count_cb)(void *data, long long value, const char *err);

/* A cluster's states as stored: `states` holds a byte per shard from shard 0 ('0'..'6', or a zero byte for a
 * shard that never reported) and may be shorter than the cluster (the rest never reported). Borrowed: copy
 * what you need before returning. */
typedef void (*store_snapshot_cb)(void *data, uint64_t version, h2o_iovec_t states, const char *err);

/* A shard's gateway counters as stored (lib.lua, merge_gateway). */
struct store_gateway {
    int64_t at_ms;               /* when it last reported events (or first reported a counter); 0: never */
    uint64_t c[NUM_COUNTERS];    /* COUNTER_ABSENT for one never reported */
    uint32_t rate_milli;         /* events per second between its last two reports, in thousandths, or FIGURE_ABSENT */
    int64_t last_event_ms;       /* when its events last grew (or it restarted, or first reported them) */
    uint32_t latency_at_event;   /* its latency then (FIGURE_ABSENT when none) */
};

struct store_shard_info {
    int state;                /* -1 when the shard never reported */
    int64_t since_ms;         /* when the state was set; 0 if never */
    int64_t healthy_until_ms; /* when the health key runs out; 0 when it is gone */
    h2o_iovec_t story;        /* JSON members: transitions, availability, covered_from_ms, flapping (shard.lua) */
    int64_t figures_at_ms;    /* when it last reported figures; 0 if never */
    struct shard_figures figures;
    struct store_gateway gateway; /* at_ms 0: it never reported a counter */
};
typedef void (*store_shard_cb)(void *data, const struct store_shard_info *info, const char *err);

/* A cluster's condition as recorded in Redis (see store_condition). */
struct store_condition {
    int condition;    /* condition.h; -1 when none is recorded */
    int64_t since_ms; /* when it began */
    int recorded;     /* this call recorded a change */
    int stale;        /* the caller's version is not the cluster's version now: nothing was recorded */
};
typedef void (*store_condition_cb)(void *data, const struct store_condition *cond, const char *err);
/* A string result; borrowed, as for store_snapshot_cb. */
typedef void (*store_text_cb)(void *data, h2o_iovec_t text, const char *err);

/* The reply of a command sent as it is (store_command); borrowed for the callback. */
struct redisReply;
typedef void (*store_reply_cb)(void *data, const struct redisReply *reply, const char *err);

/* Alerts the stream keeps (about: older ones are trimmed). */
#define STORE_ALERTS_KEPT 1000
/* A cluster with this many alerts within the window flaps (alert_due.lua marks the alert): the sender then keeps
 * one message for the episode, edited in place, instead of an incident per change. */
#define STORE_FLAP_ALERTS 4
#define STORE_FLAP_WINDOW_MS (10 * 60 * 1000)

struct store_listener {
    void (*on_ready)(void *data); /* connected (again): scripts may run */
    void (*on_lost)(void *data);  /* connection lost: calls fail until on_ready */
    void *data;
};

/* Creates the store and starts connecting; names are resolved through `resolver` (see redis_conn.h).
 * `conf` and `resolver` must outlive it. */
struct store *store_new(h2o_loop_t *loop, h2o_multithread_receiver_t *resolver, const struct conf *conf,
                        const struct store_listener *listener);
void store_free(struct store *store);

/* 1 while commands can be sent. */
int store_ready(struct store *store);
uint64_t store_reconnects(struct store *store);
/* WAITs for durable acknowledgements by outcome: every replica asked had the writes, fewer did in time, no answer */
enum { STORE_WAIT_CONFIRMED, STORE_WAIT_SHORT, STORE_WAIT_FAILED, STORE_WAIT_OUTCOMES };
void store_wait_counts(const struct store *store, uint64_t out[STORE_WAIT_OUTCOMES]);
/* Round trips of the transition scripts (status, health, report, expire), from sent to answered. */
enum { STORE_RTT_STATUS, STORE_RTT_HEALTH, STORE_RTT_REPORT, STORE_RTT_EXPIRE, STORE_RTT_SCRIPTS };
const struct histogram *store_rtt(const struct store *store, int script);
/* How the error of a write that WAIT did not confirm starts (the store logs those itself, once every 10 s). */
#define STORE_WAIT_ERROR "WAIT: "
#define STORE_WAIT_FAILED_WRITE(err) (strncmp((err), STORE_WAIT_ERROR, sizeof(STORE_WAIT_ERROR) - 1) == 0)
/* Why the command connection is not up ("" while it is). */
const char *store_last_error(struct store *store);

/* Every operation below either returns -1 (Redis is not connected, or hiredis refused the command) and
 * never calls `cb`, or returns 0 and calls `cb` exactly once. `cluster` indexes conf->clusters; `shard` is
 * below its shard count. */

/* Sets a state, with the figures of the report when `figures` is not NULL and has any; the value is 1 when it
 * changed, 0 when it was already that. `likely_unchanged` (the mirror has the
 * shard in that state already) sends the cheaper call first; either way the result is the same. */
int store_status(struct store *store, size_t cluster, uint32_t shard, int state, const struct shard_figures *figures,
                 int likely_unchanged, store_count_cb cb, void *data);
/* A health ping; the value is -1 when the shard never had a status, 1 when it came back online, else 0.
 * `likely_unchanged`: the mirror does not have the shard unhealthy. */
int store_health(struct store *store, size_t cluster, uint32_t shard, const struct shard_figures *figures,
                 int likely_unchanged, store_count_cb cb, void *data);
/* A batch report (report.lua), all or nothing: the value is how many shards changed state, or -i when item i
 * (from 1) is a ping for a shard that never had a status (nothing is written). `items` is copied; `session` (the
 * cluster's session budget, or NULL) is written with them when given. `n` may be 0 when a session is given. */
int store_report(struct store *store, size_t cluster, const struct report_item *items, size_t n,
                 const struct gateway_session *session, store_count_cb cb, void *data);
/* The bytes a shard's figures take in its cluster's figs string (lib.lua): shard i's are at i times this. */
#define STORE_FIGURES_SIZE (6 + 4 * NUM_FIGURES)
/* `len` (at least 1) bytes of a cluster's figs string from byte `offset`, as they are (GETRANGE): STORE_FIGURES_SIZE
 * a shard (store_figures_decode), all of them zero for a shard that never reported any. The text is shorter than
 * `len` where the string ends (the shards past it never reported figures), empty when there is none; borrowed, as
 * for store_snapshot_cb. One call is one plain command of O(len) for Redis: whoever reads a million shards asks for
 * them a chunk at a time, so that the bots' writes on the same connection are answered in between. */
int store_figures_read(struct store *store, size_t cluster, uint64_t offset, size_t len, store_text_cb cb,
                       void *data);
/* Unpacks a shard's stored figures (6 bytes of ms, then the four figures, big-endian; `at_ms` is 0 for a shard that
 * never reported any). Returns 0, or -1 when `len` is not STORE_FIGURES_SIZE. */
int store_figures_decode(const char *bytes, size_t len, int64_t *at_ms, struct shard_figures *f);
/* The bytes a shard's gateway counters take in its cluster's gw string (lib.lua, GATEWAY_SIZE). */
#define STORE_GATEWAY_SIZE 38
/* As store_figures_read, of the cluster's gw string (STORE_GATEWAY_SIZE a shard, store_gateway_decode). */
int store_gateway_read(struct store *store, size_t cluster, uint64_t offset, size_t len, store_text_cb cb, void *data);
/* Unpacks a shard's stored counters; all zero bytes (never reported) give at_ms 0. Returns 0, or -1 when `len` is not
 * STORE_GATEWAY_SIZE. */
int store_gateway_decode(const char *bytes, size_t len, struct store_gateway *g);
/* The cluster's gwc hash as it is (HGETALL): its session budget and its identifies and resumes per minute and hour
 * (lib.lua, count_sessions and put_session). */
int store_sessions_read(struct store *store, size_t cluster, store_reply_cb cb, void *data);
/* The expire check (health key gone, state can expire: turn unhealthy) over a list of at most
 * STORE_MAX_BATCH shards; the value counts the shards that turned unhealthy. */
int store_expire(struct store *store, size_t cluster, const uint32_t *shards, size_t n, store_count_cb cb, void *data);
/* Every state of one cluster and the version they belong to, taken atomically. */
int store_snapshot(struct store *store, size_t cluster, store_snapshot_cb cb, void *data);
/* One shard as stored. */
int store_shard(struct store *store, size_t cluster, uint32_t shard, store_shard_cb cb, void *data);
/* PUBLISH `message` on `channel`; the value is how many subscribers received it. */
int store_publish(struct store *store, const char *channel, size_t channel_len, const char *message, size_t len,
                  store_count_cb cb, void *data);

/* Records a cluster's condition as the caller's mirror sees it at `version` (condition.lua). */
int store_condition(struct store *store, size_t cluster, uint64_t version, int condition, uint32_t down, uint32_t busy,
                    uint32_t total, store_condition_cb cb, void *data);
/* Records the condition that began at `since_ms` as an alert once it has held for `delay_ms` (alert_due.lua):
 * the value is 1 when this call recorded it, 0 when there is nothing to record, minus the ms left when early. */
int store_alert_due(struct store *store, size_t cluster, int64_t since_ms, uint32_t delay_ms, store_count_cb cb,
                    void *data);
/* Records a cluster's gateway mark `mark` (conf_gateway_alert_names) as on or off (gateway_alert.lua): once it has
 * held for `delay_ms`, an alert with `text`, once across every replica. The value is 1 when this call recorded it, 0
 * when there is nothing to record, minus the ms left when early (or in maintenance). `text` is copied. */
int store_gateway_alert(struct store *store, size_t cluster, const char *mark, int on, const char *text,
                        uint32_t delay_ms, store_count_cb cb, void *data);
/* Sends one command of at most 20 arguments as it is, for the alert sender's stream and incident keys; an
 * error reply is passed as `err`. */
int store_command(struct store *store, int argc, const char *const *argv, const size_t *argvlen, store_reply_cb cb,
                  void *data);
/* Takes or renews the alert sender's lock for `holder` (alert_lock.lua): the value is 1 while it holds it. */
int store_alert_lock(struct store *store, const char *holder, uint32_t hold_ms, store_count_cb cb, void *data);
/* The alerts stream's key, and a cluster's incident hash (the alert sender's Discord message ids). */
const char *store_alerts_key(struct store *store);
const char *store_incident_key(struct store *store, size_t cluster);
/* Makes the webhooks' consumer groups on the alerts stream that do not exist yet (alert_group.lua): the text is the
 * position they were made at, or empty when all existed. */
int store_alert_groups(struct store *store, const char *const *groups, size_t n, store_text_cb cb, void *data);
/* Records what became of alert `id` at one webhook (its conf id): sent when `why` is NULL, else not sent and why,
 * for GET /api/alerts, in a stream that keeps as many alerts as the alerts stream does. */
int store_alert_outcome(struct store *store, const char *id, const char *webhook, const char *why, store_reply_cb cb,
                        void *data);
/* The latest `count` alerts, newest first, as JSON: {"alerts":[...]}. */
int store_alerts(struct store *store, uint32_t count, store_text_cb cb, void *data);

/* One cluster's history as the JSON object GET /api/history lists (history.lua). */
int store_history(struct store *store, size_t cluster, store_text_cb cb, void *data);
/* A cluster's latest `count` state changes from its log, newest first, as JSON (log.lua). */
int store_log(struct store *store, size_t cluster, uint32_t count, store_text_cb cb, void *data);
/* The latest `count` incidents and maintenance, and every open one, as JSON:
 * {"now_ms":..,"windows_to_close":..,"incidents":[...]}. */
int store_incidents(struct store *store, uint32_t count, store_text_cb cb, void *data);
enum store_incident_op {
    STORE_INCIDENT_UPDATE,
    STORE_INCIDENT_NEW,
    STORE_INCIDENT_CLOSE_ENDED, /* only close the maintenance windows that are over (`json` is ignored) */
    STORE_INCIDENT_REMIND       /* `json` {"remind_ms":..}: windows starting that soon told to subscribers once more */
};
/* A new incident or maintenance, or an update to one, from JSON that incident_input.c made (incident.lua); each
 * closes the windows that are over first. The value is the id (0 for STORE_INCIDENT_CLOSE_ENDED), or -1 (no such
 * incident), -2 (resolved already), -3 (a status that does not suit its kind), -4 (STORE_INCIDENTS_OPEN_MAX open
 * already). `json` is not copied: it must stay valid until `cb` runs. */
int store_incident_write(struct store *store, enum store_incident_op op, const char *json, size_t len,
                         store_count_cb cb, void *data);

/* One notification of Alertmanager's webhook, as alertmanager_input.c shaped it (alertmanager.lua): the reply is
 * {incident id or 0, event} (event 1 opened, 2 updated, 3 unchanged, 4 resolved, 5 none; -4 with id 0 when
 * ALERTMANAGER_GROUPS_MAX groups have an open incident already). `json` must stay valid until `cb` runs. */
int store_alertmanager(struct store *store, const char *json, size_t len, store_reply_cb cb, void *data);

/* The visitors' subscriptions (subscription.lua, which says each mode's arguments and replies): `mode`, then `args`
 * after the configured clusters' names; `address` (a client_address_key) and `hook` (the webhook's id) for the
 * modes about a subscription being made, NULL otherwise. */
int store_subscription(struct store *store, const char *mode, const char *address, const char *hook,
                       const char *const *args, size_t nargs, store_reply_cb cb, void *data);

/* A notify stream entry's delivery (notify.lua, which says each mode's arguments and replies): `clusters`, the
 * entry's (comma-separated), matter to "plan" only. */
int store_notify(struct store *store, const char *mode, const char *entry, const char *clusters,
                 const char *const *args, size_t nargs, store_reply_cb cb, void *data);
/* Takes or renews the subscribers' sender's lock (alert_lock.lua, on its own key): 1 while `holder` holds it. */
int store_notify_lock(struct store *store, const char *holder, uint32_t hold_ms, store_count_cb cb, void *data);
/* Asks shard_notice.lua about `n` shards of `cluster` whose state changed: whether the servers they serve are to be
 * told that they went down or came back. The reply is an array: per shard 0 (nothing more to ask) or the ms after
 * which to ask again, then how many notices the call said. */
int store_shard_notice(struct store *store, size_t cluster, const uint32_t *shards, size_t n, uint32_t delay_ms,
                       store_reply_cb cb, void *data);
/* The notify stream's key ("<prefix>:notify"). */
const char *store_notify_key(struct store *store);

/* The latency history (latency_claim.lua, latency.lua; store_latency.c). Minutes count from the Unix epoch, UTC. */
#define STORE_LATENCY_MINUTES 1440 /* minute slots a cluster's history keeps: 24 h */
#define STORE_LATENCY_HOURS 720    /* hour slots: 30 days */
/* Claims `minute` for this replica: the value is 1 when it is this replica's to write, 0 when another replica (or this
 * one) claimed it or a later one already, -1 when it is more than a minute away from Redis's clock. */
int store_latency_claim(struct store *store, int64_t minute, store_count_cb cb, void *data);
/* Writes a cluster's latency of `minute` and rewrites its hour: `shards` online shards had a fresh latency, their
 * median `p50` and 95th percentile `p95` (ms); `shards` 0 writes a gap. The value is 1, or 0 when the minute was
 * written already. */
int store_latency_write(struct store *store, size_t cluster, int64_t minute, uint32_t shards, uint32_t p50,
                        uint32_t p95, store_count_cb cb, void *data);
/* A cluster's latency hash as it is (HGETALL: at most STORE_LATENCY_MINUTES + STORE_LATENCY_HOURS short fields), for
 * the callback to decode with store_latency_slot. */
int store_latency_read(struct store *store, size_t cluster, store_reply_cb cb, void *data);
/* One field of the hash, decoded: a minute slot (`*hour` 0) or an hour slot (`*hour` 1) holding minute or hour `*at`,
 * with `*count` shards (or minutes) behind its `*p50` and `*p95`; `*count` is 0 for one written as a gap. Returns 0,
 * or -1 for a field that is neither. */
int store_latency_slot(h2o_iovec_t field, h2o_iovec_t value, int *hour, int64_t *at, uint32_t *count, uint32_t *p50,
                       uint32_t *p95);

#endif
