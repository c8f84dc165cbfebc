/* store_call.h -- what the files of the store share (store.c and store_*.c, nothing else includes it): the store
 * itself, one call in flight, and the RESP encoders that build a call's command in place. The encoders are inline:
 * they are the write path's formatting, and a status POST runs a dozen of them. */
#ifndef GLANCE_STORE_CALL_H
#define GLANCE_STORE_CALL_H

#include <hiredis/async.h>
#include <string.h>
#include "base/conf.h"
#include "base/histogram.h"
#include "base/shard.h"
#include "redis/redis_conn.h"
#include "redis/store.h"

#define FIXED_ARGS 20 /* the most store_command passes on */
#define CMD_HEAD 16   /* room kept at the start of a command for its "*<argc>\r\n" */

/* Arguments encoded as RESP bulk strings: a whole command (after CMD_HEAD bytes of room), or a run of arguments
 * kept to be copied into commands. */
struct resp {
    char *base;
    size_t len, cap;
    int argc;
};

enum script {
    SCRIPT_STATUS,
    SCRIPT_HEALTH,
    SCRIPT_EXPIRE,
    SCRIPT_SNAPSHOT,
    SCRIPT_SHARD,
    SCRIPT_MIGRATE,
    SCRIPT_CONDITION,
    SCRIPT_ALERT_DUE,
    SCRIPT_ALERTS,
    SCRIPT_ALERT_LOCK,
    SCRIPT_ALERT_GROUP,
    SCRIPT_HISTORY,
    SCRIPT_INCIDENT,
    SCRIPT_INCIDENTS,
    SCRIPT_LOG,
    SCRIPT_REPORT,
    SCRIPT_LATENCY_CLAIM,
    SCRIPT_LATENCY,
    SCRIPT_GATEWAY_ALERT,
    SCRIPT_SUBSCRIPTION,
    SCRIPT_NOTIFY,
    SCRIPT_SHARD_NOTICE,
    SCRIPT_ALERTMANAGER,
    NUM_SCRIPTS
};

/* How a reply is decoded for the caller. */
enum result { RESULT_COUNT, RESULT_SNAPSHOT, RESULT_SHARD, RESULT_CONDITION, RESULT_TEXT, RESULT_REPLY };

struct cluster_keys {
    char *states, *since, *ver, *hb_prefix, *condition, *incident, *figs; /* "<prefix>:{<c>}:..." */
    char *gw, *gwc; /* the shards' gateway counters; the cluster's session budget and counts (lib.lua) */
    char *latency; /* the latency history's two rings (latency.lua) */
    char *old_state, *old_figures; /* the hashes that builds before the strings kept them in (migrate.lua) */
    char *history[STORE_HISTORY_KEYS]; /* history, maint, recent, flapping, log (lib.lua, history_keys) */
    size_t hb_prefix_len;
    /* encoded once: states, since, version, figs (a transition's first keys); the history keys; a transition's
     * first arguments (health timeout, channel, cluster, the log's length) */
    struct resp transition_keys, history_keys, transition_args;
    struct resp gateway_keys; /* gw, gwc: encoded once, for a transition that carries counters */
    /* per shard: how many status writes (a status, a report's item with a state) were sent for it, so that one sent
     * again (after NOSCRIPT, or a short form declined) can tell that a later one was sent meanwhile */
    uint32_t *status_sent;
    /* with GLANCE_REDIS_WAIT_REPLICAS: each shard's last status write sent (a status call or a report), which a
     * status that it superseded follows (store_wait.c); NULL without */
    struct call **latest_status;
};

struct store {
    h2o_loop_t *loop;
    const struct conf *conf;
    struct store_listener listener;
    struct redis_conn *conn;
    struct cluster_keys *keys;
    char channel[80];
    char alerts[80];      /* the alerts stream: "<prefix>:alerts" */
    char alerts_lock[96]; /* the alert sender's lock */
    char delivered[96];   /* what became of each alert */
    char incidents[80], incidents_next[96], incidents_open[96]; /* incident records, the last id, the open ones */
    char latency_claim[96]; /* the last minute of latency history a replica claimed (latency_claim.lua) */
    char notify[80];        /* what subscribers are told: incidents opened, updated, resolved (lib.lua, said) */
    char *cluster_names; /* every cluster's name, comma-separated, for incident.lua */
    char ttl[16];
    char log_max[16]; /* GLANCE_HISTORY_LOG */
    struct {
        h2o_iovec_t body;
        char sha[41];
        struct resp evalsha; /* EVALSHA <sha>, encoded */
    } scripts[NUM_SCRIPTS];
    size_t max_hb_prefix_len;
    size_t inflight;
    uint64_t last_progress;
    h2o_timeout_t watchdog;
    h2o_timeout_entry_t watchdog_entry;
    /* durable acknowledgements (store_wait.c): the writes sent in this loop turn, waiting for their WAIT */
    struct wait_batch *wait_open;
    h2o_timeout_t wait_turn; /* zero: runs at the end of the turn */
    h2o_timeout_entry_t wait_entry;
    uint64_t waits[STORE_WAIT_OUTCOMES];
    uint64_t wait_logged_at;
    int wait_inflight; /* a WAIT sent and not answered */
    struct histogram rtt[STORE_RTT_SCRIPTS];
};

/* One call in flight. It keeps its command so that a NOSCRIPT reply can be answered by sending it again as EVAL. */
struct call {
    struct store *store;
    enum script script; /* NUM_SCRIPTS for a plain command */
    enum result result;
    union {
        store_count_cb count;
        store_snapshot_cb snapshot;
        store_shard_cb shard;
        store_condition_cb condition;
        store_text_cb text;
        store_reply_cb reply;
    } cb;
    void *data;
    struct resp cmd;
    int evaled; /* sent again as EVAL already */
    /* a one-shard transition sent without the history keys (transition_call): sent again with them when the
     * script answers NEEDS_HISTORY */
    int short_form;
    size_t cluster;
    uint32_t shard;
    int state;
    uint32_t status_seq; /* a status: its number among the shard's status writes (cluster_keys.status_sent) */
    struct shard_figures figures;
    struct wait_batch *batch; /* the WAIT that must confirm it before it is answered (store_wait.c); NULL: none */
    /* it acknowledges a client's write (a subscription made, changed or removed; an operator's incident): with
     * GLANCE_REDIS_WAIT_REPLICAS it is answered once confirmed (states, pings, reports, Alertmanager's always are) */
    int acknowledges;
    /* statuses superseded by this one (store_wait.c): answered as it is, once it is */
    struct call *followers, *next_follower;
    uint64_t sent_ns; /* when it was sent (histogram_now_ns), for the transition scripts' round trips */
};

/* What status.lua and health.lua answer when they were sent without the history keys and the call turned out to
 * be a change. */
#define NEEDS_HISTORY (-2)

static inline void resp_reserve(struct resp *r, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->base = h2o_mem_realloc(r->base, r->cap);
    }
}

/* the decimal digits of `v` at the end of out[0..20), returning where they start */
static inline char *u64_digits(char out[20], uint64_t v)
{
    char *p = out + 20;

    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return p;
}

/* "$<len>\r\n", then the caller's `len` bytes and "\r\n" */
static inline void resp_bulk_head(struct resp *r, size_t len)
{
    char digits[20], *d = u64_digits(digits, len);
    size_t n = (size_t)(digits + 20 - d);

    resp_reserve(r, 1 + n + 2 + len + 2);
    r->base[r->len++] = '$';
    memcpy(r->base + r->len, d, n);
    memcpy(r->base + r->len + n, "\r\n", 2);
    r->len += n + 2;
    ++r->argc;
}

static inline void resp_bulk_tail(struct resp *r)
{
    memcpy(r->base + r->len, "\r\n", 2);
    r->len += 2;
}

/* Arguments are appended in order: the command first, then keys, then values. */
static inline void resp_arg(struct resp *r, const char *s, size_t len)
{
    resp_bulk_head(r, len);
    memcpy(r->base + r->len, s, len);
    r->len += len;
    resp_bulk_tail(r);
}

static inline void resp_u64(struct resp *r, uint64_t v)
{
    char digits[20], *d = u64_digits(digits, v);

    resp_arg(r, d, (size_t)(digits + 20 - d));
}

/* a run of arguments encoded before */
static inline void resp_copy(struct resp *r, const struct resp *run)
{
    resp_reserve(r, run->len);
    memcpy(r->base + r->len, run->base, run->len);
    r->len += run->len;
    r->argc += run->argc;
}

static inline void push(struct call *c, const char *s, size_t len)
{
    resp_arg(&c->cmd, s, len);
}

static inline void push_str(struct call *c, const char *s)
{
    push(c, s, strlen(s));
}

static inline void push_u64(struct call *c, uint64_t v)
{
    resp_u64(&c->cmd, v);
}

static inline void push_hb_key(struct call *c, const struct cluster_keys *k, uint32_t shard)
{
    char digits[20], *d = u64_digits(digits, shard);
    size_t n = (size_t)(digits + 20 - d);

    resp_bulk_head(&c->cmd, k->hb_prefix_len + n);
    memcpy(c->cmd.base + c->cmd.len, k->hb_prefix, k->hb_prefix_len);
    memcpy(c->cmd.base + c->cmd.len + k->hb_prefix_len, d, n);
    c->cmd.len += k->hb_prefix_len + n;
    resp_bulk_tail(&c->cmd);
}

static inline int is_int(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER;
}

static inline void push_history_keys(struct call *c, const struct cluster_keys *k)
{
    resp_copy(&c->cmd, &k->history_keys);
}

static inline void push_event_target(struct store *s, struct call *c, size_t cluster)
{
    push_str(c, s->channel);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
}

static inline void push_incident_keys(struct store *s, struct call *c)
{
    push_str(c, s->incidents);
    push_str(c, s->incidents_next);
    push_str(c, s->incidents_open);
}

/* Decodes the reply for the caller and calls it; `err` is set when the call failed. */
void store_deliver(struct call *c, const struct redisReply *reply, const char *err);

/* Durable acknowledgements (store_wait.c). store_wait_sent: a call was sent (a write that acknowledges a client
 * joins this turn's batch when GLANCE_REDIS_WAIT_REPLICAS is set). store_wait_answered: its reply came; returns its
 * batch (NULL: none), which the caller then gives the reply to hold (store_wait_hold: the call is the batch's to
 * deliver and free) or lets go of (store_wait_release: the call was sent again, or failed and was answered). */
void store_wait_init(struct store *s);
void store_wait_dispose(struct store *s);
void store_wait_sent(struct call *c);
struct wait_batch *store_wait_answered(struct call *c);
void store_wait_hold(struct wait_batch *b, struct call *c, const struct redisReply *reply);
void store_wait_release(struct wait_batch *b);
/* A status answered before it could be applied, a later one for its shard having been sent (store.c, superseded):
 * with GLANCE_REDIS_WAIT_REPLICAS it follows that later one (answered as it is, once it is; returns 1), else 0. */
int store_wait_superseded(struct call *c);
/* The call's outcome is known: its followers share it (held in `b` with it, or delivered with `err`). */
void store_wait_followers(struct call *c, struct wait_batch *b, const char *err);
/* The last status write sent for `shard` is `c` (store_transitions.c). */
static inline void store_wait_latest(struct store *s, size_t cluster, uint32_t shard, struct call *c)
{
    if (s->keys[cluster].latest_status != NULL)
        s->keys[cluster].latest_status[shard] = c;
}

/* A call of a plain command (script NUM_SCRIPTS) with room for `extra` shards beyond its fixed arguments. */
struct call *store_call_alloc(struct store *s, enum script script, enum result result, size_t extra, void *data);
void store_call_free(struct call *c);
/* A call of `script` (EVALSHA <sha> <numkeys> already encoded). */
struct call *store_script_call(struct store *s, enum script script, enum result result, int numkeys, size_t extra,
                               void *data);
/* Sends the call; on failure frees it and returns -1. */
int store_run(struct call *c);

/* store_transitions.c: a cluster's pre-formatted runs (at start-up), and a one-shard transition's call (sent again in
 * full by on_reply when the short form was declined). */
void store_encode_cluster(struct store *s, size_t i);
struct call *store_transition_call(struct store *s, size_t cluster, uint32_t shard, int state,
                                   const struct shard_figures *figures, int short_form, store_count_cb cb, void *data);

/* A hash as it is (HGETALL), for the reads of small fixed-size hashes (a cluster's gwc, its latency rings). */
int store_read_hash(struct store *s, const char *key, store_reply_cb cb, void *data);

#endif
