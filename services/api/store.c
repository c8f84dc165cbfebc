/* store.c -- typed async Redis operations: the transition scripts run with EVALSHA on one pipelined connection.
 *
 * Commands are written as RESP by this file and handed to hiredis already formatted: the parts that never change
 * (EVALSHA and a script's SHA, a cluster's keys, the transition scripts' fixed arguments) are encoded once at
 * start-up and copied into each command, so that a status POST formats only its shard id, state and figures.
 *
 * Every request shares one connection; hiredis pipelines them and Redis answers in order, so a single
 * "last progress" time is enough to notice a Redis that stopped answering (frozen, or a dead peer that
 * TCP has not noticed yet). Such a connection is dropped: waiting callers get an error at once and the
 * connection comes back by itself. */
#include "store.h"

#include <hiredis/async.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "lua_scripts.h"
#include "redis_conn.h"
#include "shard.h"

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
    NUM_SCRIPTS
};

/* How a reply is decoded for the caller. */
enum result { RESULT_COUNT, RESULT_SNAPSHOT, RESULT_SHARD, RESULT_CONDITION, RESULT_TEXT, RESULT_REPLY };

struct cluster_keys {
    char *states, *since, *ver, *hb_prefix, *condition, *incident, *figs; /* "<prefix>:{<c>}:..." */
    char *old_state, *old_figures; /* the hashes that builds before the strings kept them in (migrate.lua) */
    char *history[STORE_HISTORY_KEYS]; /* history, maint, recent, flapping, log (lib.lua, history_keys) */
    size_t hb_prefix_len;
    /* encoded once: states, since, version, figs (a transition's first keys); the history keys; a transition's
     * first arguments (health timeout, channel, cluster, the log's length) */
    struct resp transition_keys, history_keys, transition_args;
    /* per shard: how many status writes (a status, a report's item with a state) were sent for it, so that one sent
     * again (after NOSCRIPT, or a short form declined) can tell that a later one was sent meanwhile */
    uint32_t *status_sent;
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
};

/* What status.lua and health.lua answer when they were sent without the history keys and the call turned out to
 * be a change. */
#define NEEDS_HISTORY (-2)

static void resp_reserve(struct resp *r, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->base = h2o_mem_realloc(r->base, r->cap);
    }
}

/* the decimal digits of `v` at the end of out[0..20), returning where they start */
static char *u64_digits(char out[20], uint64_t v)
{
    char *p = out + 20;

    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return p;
}

/* "$<len>\r\n", then the caller's `len` bytes and "\r\n" */
static void resp_bulk_head(struct resp *r, size_t len)
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

static void resp_bulk_tail(struct resp *r)
{
    memcpy(r->base + r->len, "\r\n", 2);
    r->len += 2;
}

/* Arguments are appended in order: the command first, then keys, then values. */
static void resp_arg(struct resp *r, const char *s, size_t len)
{
    resp_bulk_head(r, len);
    memcpy(r->base + r->len, s, len);
    r->len += len;
    resp_bulk_tail(r);
}

static void resp_u64(struct resp *r, uint64_t v)
{
    char digits[20], *d = u64_digits(digits, v);

    resp_arg(r, d, (size_t)(digits + 20 - d));
}

/* a run of arguments encoded before */
static void resp_copy(struct resp *r, const struct resp *run)
{
    resp_reserve(r, run->len);
    memcpy(r->base + r->len, run->base, run->len);
    r->len += run->len;
    r->argc += run->argc;
}

static void sha1_hex(h2o_iovec_t body, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0, i;

    EVP_Digest(body.base, body.len, md, &len, EVP_sha1(), NULL);
    for (i = 0; i != len; ++i)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static char *key(const struct conf *conf, const struct conf_cluster *c, const char *suffix)
{
    char *k;

    if (asprintf(&k, "%s:{%s}:%s", conf->prefix, c->name, suffix) < 0)
        h2o_fatal("out of memory");
    return k;
}

static void on_watchdog(h2o_timeout_entry_t *entry)
{
    struct store *s = H2O_STRUCT_FROM_MEMBER(struct store, watchdog_entry, entry);

    if (s->inflight != 0 && h2o_now(s->loop) - s->last_progress > s->conf->redis.timeout_ms &&
        !redis_conn_input_waiting(s->conn)) /* else the replica's own loop was late, not Redis */
        redis_conn_drop(s->conn, "a command went unanswered for longer than GLANCE_REDIS_TIMEOUT_MS");
    h2o_timeout_link(s->loop, &s->watchdog, &s->watchdog_entry);
}

static void on_config_get(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    char flags[64];
    size_t len;

    if (reply == NULL)
        return;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[1]->type != REDIS_REPLY_STRING) {
        log_warn("redis: cannot read notify-keyspace-events (%s); expiries are caught by the sweep only unless "
                 "redis.conf sets it to include Ex",
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        return;
    }
    len = reply->element[1]->len;
    if (len + 3 > sizeof(flags))
        return;
    memcpy(flags, reply->element[1]->str, len);
    flags[len] = '\0';
    /* keep whatever others enabled; add keyevent (E) and expired (x, or included in A) */
    if (strchr(flags, 'E') != NULL && (strchr(flags, 'x') != NULL || strchr(flags, 'A') != NULL))
        return;
    if (strchr(flags, 'E') == NULL)
        strcat(flags, "E");
    if (strchr(flags, 'x') == NULL && strchr(flags, 'A') == NULL)
        strcat(flags, "x");
    if (redisAsyncCommand(ac, NULL, NULL, "CONFIG SET notify-keyspace-events %s", flags) != REDIS_OK)
        log_warn("redis: cannot queue CONFIG SET notify-keyspace-events");
}

static void run_migrations(struct store *s);

static void on_conn_ready(struct redis_conn *conn, void *data)
{
    struct store *s = data;

    /* a restarted Redis forgets the setting; where CONFIG is forbidden the sweep still catches expiries */
    if (redisAsyncCommand(redis_conn_context(conn), on_config_get, NULL, "CONFIG GET notify-keyspace-events") != REDIS_OK) {
        redis_conn_drop(conn, "cannot queue CONFIG GET");
        return;
    }
    /* pipelined ahead of anything the listeners send, so every snapshot sees the current layout */
    run_migrations(s);
    s->listener.on_ready(s->listener.data);
}

static void on_conn_lost(struct redis_conn *conn, void *data, const char *why)
{
    struct store *s = data;

    s->inflight = 0;
    s->listener.on_lost(s->listener.data);
}

/* The runs of a cluster's transition commands that are the same for every shard (cluster_keys). */
static void encode_cluster(struct store *s, size_t i)
{
    struct cluster_keys *k = &s->keys[i];
    const struct conf_cluster *c = &s->conf->clusters[i];

    memset(&k->transition_keys, 0, sizeof(k->transition_keys));
    memset(&k->history_keys, 0, sizeof(k->history_keys));
    memset(&k->transition_args, 0, sizeof(k->transition_args));
    resp_arg(&k->transition_keys, k->states, strlen(k->states));
    resp_arg(&k->transition_keys, k->since, strlen(k->since));
    resp_arg(&k->transition_keys, k->ver, strlen(k->ver));
    resp_arg(&k->transition_keys, k->figs, strlen(k->figs));
    for (size_t h = 0; h != STORE_HISTORY_KEYS; ++h)
        resp_arg(&k->history_keys, k->history[h], strlen(k->history[h]));
    resp_arg(&k->transition_args, s->ttl, strlen(s->ttl));
    resp_arg(&k->transition_args, s->channel, strlen(s->channel));
    resp_arg(&k->transition_args, c->name, c->name_len);
    resp_arg(&k->transition_args, s->log_max, strlen(s->log_max));
}

struct store *store_new(h2o_loop_t *loop, h2o_multithread_receiver_t *resolver, const struct conf *conf,
                        const struct store_listener *listener)
{
    static const h2o_iovec_t *bodies[NUM_SCRIPTS] = {&lua_status,    &lua_health,    &lua_expire,
                                                     &lua_snapshot,  &lua_shard,     &lua_migrate,
                                                     &lua_condition, &lua_alert_due, &lua_alerts, &lua_alert_lock, &lua_alert_group,
                                                     &lua_history,   &lua_incident,  &lua_incidents,
                                                     &lua_log,       &lua_report};
    static const char *const history_suffixes[STORE_HISTORY_KEYS] = {"history", "maint", "recent", "flapping", "log"};
    struct store *s = h2o_mem_alloc(sizeof(*s));
    size_t i;

    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->conf = conf;
    s->listener = *listener;
    snprintf(s->channel, sizeof(s->channel), "%s:events", conf->prefix);
    snprintf(s->alerts, sizeof(s->alerts), "%s:alerts", conf->prefix);
    snprintf(s->alerts_lock, sizeof(s->alerts_lock), "%s:alerts:sender", conf->prefix);
    snprintf(s->delivered, sizeof(s->delivered), "%s:alerts:delivered", conf->prefix);
    snprintf(s->incidents, sizeof(s->incidents), "%s:incidents", conf->prefix);
    snprintf(s->incidents_next, sizeof(s->incidents_next), "%s:incidents:next", conf->prefix);
    snprintf(s->incidents_open, sizeof(s->incidents_open), "%s:incidents:open", conf->prefix);
    s->cluster_names = h2o_mem_alloc(conf->num_clusters * (sizeof(conf->clusters[0].name) + 1) + 1);
    s->cluster_names[0] = '\0';
    for (i = 0; i != conf->num_clusters; ++i) {
        if (i != 0)
            strcat(s->cluster_names, ",");
        strcat(s->cluster_names, conf->clusters[i].name);
    }
    snprintf(s->ttl, sizeof(s->ttl), "%u", conf->health_timeout_s);
    snprintf(s->log_max, sizeof(s->log_max), "%u", conf->history_log);
    for (i = 0; i != NUM_SCRIPTS; ++i) {
        s->scripts[i].body = *bodies[i];
        sha1_hex(s->scripts[i].body, s->scripts[i].sha);
        resp_arg(&s->scripts[i].evalsha, "EVALSHA", 7);
        resp_arg(&s->scripts[i].evalsha, s->scripts[i].sha, 40);
    }
    s->keys = h2o_mem_alloc(sizeof(*s->keys) * conf->num_clusters);
    for (i = 0; i != conf->num_clusters; ++i) {
        const struct conf_cluster *c = &conf->clusters[i];
        s->keys[i].states = key(conf, c, "states");
        s->keys[i].since = key(conf, c, "since");
        s->keys[i].ver = key(conf, c, "ver");
        s->keys[i].hb_prefix = key(conf, c, "hb:");
        s->keys[i].hb_prefix_len = strlen(s->keys[i].hb_prefix);
        if (s->keys[i].hb_prefix_len > s->max_hb_prefix_len)
            s->max_hb_prefix_len = s->keys[i].hb_prefix_len;
        s->keys[i].old_state = key(conf, c, "state");
        s->keys[i].condition = key(conf, c, "condition");
        s->keys[i].incident = key(conf, c, "incident");
        s->keys[i].figs = key(conf, c, "figs");
        s->keys[i].old_figures = key(conf, c, "figures");
        for (size_t h = 0; h != STORE_HISTORY_KEYS; ++h)
            s->keys[i].history[h] = key(conf, c, history_suffixes[h]);
        s->keys[i].status_sent = h2o_mem_alloc(sizeof(uint32_t) * (c->shards ? c->shards : 1));
        memset(s->keys[i].status_sent, 0, sizeof(uint32_t) * c->shards);
        encode_cluster(s, i);
    }
    h2o_timeout_init(loop, &s->watchdog, conf->redis.timeout_ms / 4);
    s->watchdog_entry.cb = on_watchdog;
    h2o_timeout_link(loop, &s->watchdog, &s->watchdog_entry);
    s->conn = redis_conn_new(loop, resolver, conf, "commands", on_conn_ready, on_conn_lost, s);
    return s;
}

void store_free(struct store *s)
{
    size_t i;

    redis_conn_free(s->conn);
    h2o_timeout_unlink(&s->watchdog_entry);
    h2o_timeout_dispose(s->loop, &s->watchdog);
    for (i = 0; i != s->conf->num_clusters; ++i) {
        free(s->keys[i].states);
        free(s->keys[i].since);
        free(s->keys[i].ver);
        free(s->keys[i].hb_prefix);
        free(s->keys[i].old_state);
        free(s->keys[i].condition);
        free(s->keys[i].incident);
        free(s->keys[i].figs);
        free(s->keys[i].old_figures);
        for (size_t h = 0; h != STORE_HISTORY_KEYS; ++h)
            free(s->keys[i].history[h]);
        free(s->keys[i].transition_keys.base);
        free(s->keys[i].history_keys.base);
        free(s->keys[i].transition_args.base);
        free(s->keys[i].status_sent);
    }
    for (i = 0; i != NUM_SCRIPTS; ++i)
        free(s->scripts[i].evalsha.base);
    free(s->keys);
    free(s->cluster_names);
    free(s);
}

int store_ready(struct store *s)
{
    return redis_conn_context(s->conn) != NULL;
}

uint64_t store_reconnects(struct store *s)
{
    return redis_conn_reconnects(s->conn);
}

const char *store_last_error(struct store *s)
{
    return redis_conn_last_error(s->conn);
}

static void push(struct call *c, const char *s, size_t len)
{
    resp_arg(&c->cmd, s, len);
}

static void push_str(struct call *c, const char *s)
{
    push(c, s, strlen(s));
}

static void push_u64(struct call *c, uint64_t v)
{
    resp_u64(&c->cmd, v);
}

static void push_hb_key(struct call *c, const struct cluster_keys *k, uint32_t shard)
{
    char digits[20], *d = u64_digits(digits, shard);
    size_t n = (size_t)(digits + 20 - d);

    resp_bulk_head(&c->cmd, k->hb_prefix_len + n);
    memcpy(c->cmd.base + c->cmd.len, k->hb_prefix, k->hb_prefix_len);
    memcpy(c->cmd.base + c->cmd.len + k->hb_prefix_len, d, n);
    c->cmd.len += k->hb_prefix_len + n;
    resp_bulk_tail(&c->cmd);
}

/* A report's four figures, each as a number, '' when not reported, '-' when reported as null. */
static void push_figures(struct call *c, const struct shard_figures *f)
{
    for (int i = 0; i != NUM_FIGURES; ++i) {
        if (f->v[i] == FIGURE_ABSENT)
            push(c, "", 0);
        else if (f->v[i] == FIGURE_CLEAR)
            push(c, "-", 1);
        else
            push_u64(c, f->v[i]);
    }
}

/* A call with room for `extra` shards (a health key and a few numbers each) beyond its fixed arguments; more is
 * made when needed. */
static struct call *call_alloc(struct store *s, enum script script, enum result result, size_t extra, void *data)
{
    struct call *c = h2o_mem_alloc(sizeof(*c));

    memset(c, 0, sizeof(*c));
    c->store = s;
    c->script = script;
    c->result = result;
    c->data = data;
    c->cmd.cap = CMD_HEAD + 1024 + extra * (s->max_hb_prefix_len + 64);
    c->cmd.base = h2o_mem_alloc(c->cmd.cap);
    c->cmd.len = CMD_HEAD;
    return c;
}

static void call_free(struct call *c)
{
    free(c->cmd.base);
    free(c);
}

static struct call *script_call(struct store *s, enum script script, enum result result, int numkeys, size_t extra,
                                void *data)
{
    struct call *c = call_alloc(s, script, result, extra, data);

    resp_copy(&c->cmd, &s->scripts[script].evalsha);
    push_u64(c, (uint64_t)numkeys);
    return c;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);
static struct call *transition_call(struct store *s, size_t cluster, uint32_t shard, int state,
                                    const struct shard_figures *figures, int short_form, store_count_cb cb,
                                    void *data);

static int send_call(struct call *c)
{
    struct store *s = c->store;
    redisAsyncContext *ac = redis_conn_context(s->conn);
    char digits[20], *d = u64_digits(digits, (uint64_t)c->cmd.argc);
    size_t n = (size_t)(digits + 20 - d);
    char *start = c->cmd.base + CMD_HEAD - (n + 3);

    start[0] = '*';
    memcpy(start + 1, d, n);
    memcpy(start + 1 + n, "\r\n", 2);
    if (ac == NULL || redisAsyncFormattedCommand(ac, on_reply, c, start, c->cmd.len - (size_t)(start - c->cmd.base)) !=
                          REDIS_OK)
        return -1;
    if (s->inflight++ == 0)
        s->last_progress = h2o_now(s->loop);
    return 0;
}

static int is_int(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER;
}

/* Decodes the reply for the caller and calls it; `err` is set when the call failed. */
static void deliver(struct call *c, const redisReply *reply, const char *err)
{
    const char *bad = "unexpected reply from redis";

    switch (c->result) {
    case RESULT_COUNT:
        if (err == NULL && !is_int(reply))
            err = bad;
        c->cb.count(c->data, err == NULL ? reply->integer : 0, err);
        break;
    case RESULT_SNAPSHOT:
        if (err == NULL && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || !is_int(reply->element[0]) ||
                            reply->element[0]->integer < 0 || reply->element[1]->type != REDIS_REPLY_STRING))
            err = bad;
        if (err != NULL)
            c->cb.snapshot(c->data, 0, h2o_iovec_init(NULL, 0), err);
        else
            c->cb.snapshot(c->data, (uint64_t)reply->element[0]->integer,
                           h2o_iovec_init(reply->element[1]->str, reply->element[1]->len), NULL);
        break;
    case RESULT_SHARD: {
        struct store_shard_info info = {-1, 0, 0, {NULL, 0}, 0, {{0}}};
        if (err == NULL && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 6 || !is_int(reply->element[0]) ||
                            !is_int(reply->element[1]) || !is_int(reply->element[2]) || !is_int(reply->element[3]) ||
                            reply->element[4]->type != REDIS_REPLY_STRING ||
                            reply->element[5]->type != REDIS_REPLY_STRING))
            err = bad;
        if (err == NULL) {
            long long state = reply->element[0]->integer, pttl = reply->element[2]->integer;
            info.story = h2o_iovec_init(reply->element[4]->str, reply->element[4]->len);
            info.state = state >= 0 && state <= SHARD_STATE_MAX ? (int)state : -1;
            info.since_ms = reply->element[1]->integer;
            info.healthy_until_ms = pttl > 0 ? reply->element[3]->integer + pttl : 0;
            if (store_figures_decode(reply->element[5]->str, reply->element[5]->len, &info.figures_at_ms,
                                     &info.figures) != 0)
                info.figures_at_ms = 0; /* never reported any */
        }
        c->cb.shard(c->data, err == NULL ? &info : NULL, err);
        break;
    }
    case RESULT_CONDITION: {
        struct store_condition cond = {0};
        if (err == NULL && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 || !is_int(reply->element[0]) ||
                            !is_int(reply->element[1]) || !is_int(reply->element[2]) || !is_int(reply->element[3])))
            err = bad;
        if (err == NULL) {
            cond.condition = (int)reply->element[0]->integer;
            cond.since_ms = reply->element[1]->integer;
            cond.recorded = reply->element[2]->integer != 0;
            cond.stale = reply->element[3]->integer != 0;
        }
        c->cb.condition(c->data, err == NULL ? &cond : NULL, err);
        break;
    }
    case RESULT_REPLY:
        c->cb.reply(c->data, err == NULL ? reply : NULL, err);
        break;
    case RESULT_TEXT:
        if (err == NULL && reply->type != REDIS_REPLY_STRING)
            err = bad;
        c->cb.text(c->data, err == NULL ? h2o_iovec_init(reply->str, reply->len) : h2o_iovec_init(NULL, 0), err);
        break;
    }
}

/* A status that must be sent again (NOSCRIPT, or a short form declined) after a later status write for the same shard
 * was sent: sending it now would put the older state last. It is answered as applied and replaced at once, which
 * is what the order the replica took them in says. */
static int superseded(const struct call *c)
{
    return c->script == SCRIPT_STATUS && c->state >= 0 &&
           c->store->keys[c->cluster].status_sent[c->shard] != c->status_seq;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct call *c = privdata;
    struct store *s = c->store;
    redisReply *reply = r;

    if (s->inflight != 0)
        --s->inflight;
    s->last_progress = h2o_now(s->loop);
    if (reply != NULL && ((reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) ||
                          (c->short_form && reply->type == REDIS_REPLY_INTEGER && reply->integer == NEEDS_HISTORY)) &&
        superseded(c)) {
        c->cb.count(c->data, 0, NULL);
        call_free(c);
        return;
    }
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0 &&
        c->script != NUM_SCRIPTS && !c->evaled) {
        /* Redis restarted or flushed its script cache: send the body once; EVAL caches it again. The command is
         * the same after EVALSHA <sha>. */
        const struct resp *evalsha = &s->scripts[c->script].evalsha;
        struct resp eval = {NULL, 0, 0, 0};
        resp_reserve(&eval, CMD_HEAD + 64 + s->scripts[c->script].body.len + c->cmd.len);
        eval.len = CMD_HEAD;
        resp_arg(&eval, "EVAL", 4);
        resp_arg(&eval, s->scripts[c->script].body.base, s->scripts[c->script].body.len);
        resp_reserve(&eval, c->cmd.len);
        memcpy(eval.base + eval.len, c->cmd.base + CMD_HEAD + evalsha->len, c->cmd.len - CMD_HEAD - evalsha->len);
        eval.len += c->cmd.len - CMD_HEAD - evalsha->len;
        eval.argc = c->cmd.argc;
        free(c->cmd.base);
        c->cmd = eval;
        c->evaled = 1;
        if (send_call(c) == 0)
            return;
        reply = NULL;
    }
    if (reply != NULL && c->short_form && reply->type == REDIS_REPLY_INTEGER && reply->integer == NEEDS_HISTORY) {
        struct call *full = transition_call(s, c->cluster, c->shard, c->state, &c->figures, 0, c->cb.count,
                                            c->data);
        full->status_seq = c->status_seq;
        if (send_call(full) == 0) {
            call_free(c);
            return;
        }
        call_free(full);
        reply = NULL;
    }
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "READONLY", 8) == 0) {
        /* the master was demoted under us (a failover): reconnect, which asks Sentinel again */
        log_warn("redis commands: %s; reconnecting", reply->str);
        redisAsyncDisconnect(ac);
    }
    if (reply == NULL)
        deliver(c, NULL, "redis is not answering");
    else if (reply->type == REDIS_REPLY_ERROR)
        deliver(c, NULL, reply->str);
    else
        deliver(c, reply, NULL);
    call_free(c);
}

static int run(struct call *c)
{
    if (send_call(c) != 0) {
        call_free(c);
        return -1;
    }
    return 0;
}

/* The keys every one-shard script starts with: states, since, the shard's health key. */
static void push_shard_keys(struct call *c, const struct cluster_keys *k, uint32_t shard)
{
    push_str(c, k->states);
    push_str(c, k->since);
    push_hb_key(c, k, shard);
}

static void push_history_keys(struct call *c, const struct cluster_keys *k)
{
    resp_copy(&c->cmd, &k->history_keys);
}

static void push_event_target(struct store *s, struct call *c, size_t cluster)
{
    push_str(c, s->channel);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
}

/* A one-shard transition: status.lua (`state` >= 0) or health.lua (`state` < 0).
 * KEYS: states, since, version, figs, health key, then the history keys unless `short_form`; ARGV: the health
 * timeout, the channel, the cluster, the log's length, the id, the state (status only), then the four figures when
 * the report has any ('' for one it leaves out). What does not depend on the shard comes first, so that it is
 * copied as encoded at start-up (cluster_keys).
 * The short form is for what is most likely a ping (the mirror says the shard is in that state already): the
 * script then never needs the history, and five keys fewer make the most common call about a fifth cheaper for
 * Redis; should it be a change after all, the script answers NEEDS_HISTORY, writes nothing but the health key,
 * and on_reply sends the call again in full. */
static struct call *transition_call(struct store *s, size_t cluster, uint32_t shard, int state,
                                    const struct shard_figures *figures, int short_form, store_count_cb cb,
                                    void *data)
{
    const struct cluster_keys *k = &s->keys[cluster];
    struct call *c = script_call(s, state >= 0 ? SCRIPT_STATUS : SCRIPT_HEALTH, RESULT_COUNT,
                                 5 + (short_form ? 0 : STORE_HISTORY_KEYS), 2, data);

    c->cb.count = cb;
    c->short_form = short_form;
    c->cluster = cluster;
    c->shard = shard;
    c->state = state;
    if (figures != NULL)
        c->figures = *figures;
    else
        figures_clear(&c->figures);
    resp_copy(&c->cmd, &k->transition_keys);
    push_hb_key(c, k, shard);
    if (!short_form)
        push_history_keys(c, k);
    resp_copy(&c->cmd, &k->transition_args);
    push_u64(c, shard);
    if (state >= 0)
        push_u64(c, (uint64_t)state);
    if (figures_any(&c->figures))
        push_figures(c, &c->figures);
    return c;
}

int store_status(struct store *s, size_t cluster, uint32_t shard, int state, const struct shard_figures *figures,
                 int likely_unchanged, store_count_cb cb, void *data)
{
    struct call *c = transition_call(s, cluster, shard, state, figures, likely_unchanged, cb, data);

    c->status_seq = ++s->keys[cluster].status_sent[shard];
    return run(c);
}

int store_health(struct store *s, size_t cluster, uint32_t shard, const struct shard_figures *figures,
                 int likely_unchanged, store_count_cb cb, void *data)
{
    return run(transition_call(s, cluster, shard, -1, figures, likely_unchanged, cb, data));
}

/* report.lua over `n` items. KEYS: states, since, version, figs, the history keys, a health key per item; ARGV:
 * channel, cluster, the log's length, the health timeout, then six per item (id, state or '', four figures). */
int store_report(struct store *s, size_t cluster, const struct report_item *items, size_t n, store_count_cb cb,
                 void *data)
{
    const struct cluster_keys *k = &s->keys[cluster];
    struct call *c;
    size_t i;

    if (n == 0 || n > REPORT_ITEMS_MAX)
        return -1;
    /* room for 8 arguments an item (call_alloc counts 2 a shard): 7 are used */
    c = script_call(s, SCRIPT_REPORT, RESULT_COUNT, (int)(4 + STORE_HISTORY_KEYS + n), 4 * n, data);
    c->cb.count = cb;
    push_str(c, k->states);
    push_str(c, k->since);
    push_str(c, k->ver);
    push_str(c, k->figs);
    push_history_keys(c, k);
    for (i = 0; i != n; ++i)
        push_hb_key(c, k, items[i].shard);
    push_event_target(s, c, cluster);
    push_str(c, s->log_max);
    push_str(c, s->ttl);
    for (i = 0; i != n; ++i) {
        push_u64(c, items[i].shard);
        if (items[i].state >= 0) {
            push_u64(c, (uint64_t)items[i].state);
            ++k->status_sent[items[i].shard];
        } else {
            push(c, "", 0);
        }
        push_figures(c, &items[i].figures);
    }
    return run(c);
}

/* The expire script over shards[0..n).
 * KEYS: states, since, version, the history keys, a health key per shard; ARGV: channel, cluster, the log's length,
 * the shard ids. */
int store_expire(struct store *s, size_t cluster, const uint32_t *shards, size_t n, store_count_cb cb, void *data)
{
    const struct cluster_keys *k = &s->keys[cluster];
    struct call *c;
    size_t i;

    if (n > STORE_MAX_BATCH)
        return -1;
    c = script_call(s, SCRIPT_EXPIRE, RESULT_COUNT, (int)(3 + STORE_HISTORY_KEYS + n), n, data);
    c->cb.count = cb;
    push_str(c, k->states);
    push_str(c, k->since);
    push_str(c, k->ver);
    push_history_keys(c, k);
    for (i = 0; i != n; ++i)
        push_hb_key(c, k, shards[i]);
    push_event_target(s, c, cluster);
    push_str(c, s->log_max);
    for (i = 0; i != n; ++i)
        push_u64(c, shards[i]);
    return run(c);
}

int store_snapshot(struct store *s, size_t cluster, store_snapshot_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_SNAPSHOT, RESULT_SNAPSHOT, 2, 0, data);

    c->cb.snapshot = cb;
    push_str(c, s->keys[cluster].states);
    push_str(c, s->keys[cluster].ver);
    return run(c);
}

int store_shard(struct store *s, size_t cluster, uint32_t shard, store_shard_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_SHARD, RESULT_SHARD, 6, 1, data);

    c->cb.shard = cb;
    push_shard_keys(c, &s->keys[cluster], shard);
    push_str(c, s->keys[cluster].history[STORE_HISTORY_RECENT]);
    push_str(c, s->keys[cluster].history[STORE_HISTORY_FLAPPING]);
    push_str(c, s->keys[cluster].figs);
    push_u64(c, shard);
    return run(c);
}

int store_figures_read(struct store *s, size_t cluster, uint64_t offset, size_t len, store_text_cb cb, void *data)
{
    struct call *c;

    if (len == 0)
        return -1; /* GETRANGE's end is inclusive: there is no empty range to ask for */
    c = call_alloc(s, NUM_SCRIPTS, RESULT_TEXT, 0, data);
    c->cb.text = cb;
    push(c, "GETRANGE", 8);
    push_str(c, s->keys[cluster].figs);
    push_u64(c, offset);
    push_u64(c, offset + len - 1);
    return run(c);
}

int store_figures_decode(const char *bytes, size_t len, int64_t *at_ms, struct shard_figures *f)
{
    const unsigned char *p = (const unsigned char *)bytes;
    uint64_t at = 0;
    int i, b;

    if (len != STORE_FIGURES_SIZE)
        return -1;
    for (b = 0; b != 6; ++b)
        at = at << 8 | *p++;
    *at_ms = (int64_t)at;
    for (i = 0; i != NUM_FIGURES; ++i, p += 4)
        f->v[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return 0;
}

int store_publish(struct store *s, const char *channel, size_t channel_len, const char *message, size_t len,
                  store_count_cb cb, void *data)
{
    struct call *c = call_alloc(s, NUM_SCRIPTS, RESULT_COUNT, 0, data);

    c->cb.count = cb;
    push(c, "PUBLISH", 7);
    push(c, channel, channel_len);
    push(c, message, len);
    return run(c);
}

struct migration {
    struct store *store;
    size_t cluster;
};

static void on_migrated(void *data, const redisReply *reply, const char *err)
{
    struct migration *m = data;
    const char *name = m->store->conf->clusters[m->cluster].name;

    if (err == NULL && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || !is_int(reply->element[0]) ||
                        !is_int(reply->element[1])))
        err = "unexpected reply from redis";
    if (err != NULL)
        log_warn("redis: moving the states and figures of %s to their strings failed: %s", name, err);
    else if (reply->element[0]->integer != 0 || reply->element[1]->integer != 0)
        log_info("redis: moved %lld states and %lld shards' figures of %s from the old hashes to the states and figs "
                 "strings",
                 reply->element[0]->integer, reply->element[1]->integer, name);
    free(m);
}

/* Moves every cluster's states and figures out of the hashes that builds before the strings kept them in
 * (migrate.lua). */
static void run_migrations(struct store *s)
{
    size_t i;

    for (i = 0; i != s->conf->num_clusters; ++i) {
        struct migration *m = h2o_mem_alloc(sizeof(*m));
        struct call *c = script_call(s, SCRIPT_MIGRATE, RESULT_REPLY, 4, 0, m);
        *m = (struct migration){s, i};
        c->cb.reply = on_migrated;
        push_str(c, s->keys[i].states);
        push_str(c, s->keys[i].old_state);
        push_str(c, s->keys[i].figs);
        push_str(c, s->keys[i].old_figures);
        push_u64(c, s->conf->clusters[i].shards);
        if (run(c) != 0)
            free(m);
    }
}

static void push_incident_keys(struct store *s, struct call *c)
{
    push_str(c, s->incidents);
    push_str(c, s->incidents_next);
    push_str(c, s->incidents_open);
}

int store_condition(struct store *s, size_t cluster, uint64_t version, int condition, uint32_t down, uint32_t busy,
                    uint32_t total, store_condition_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_CONDITION, RESULT_CONDITION, 2, 0, data);

    c->cb.condition = cb;
    push_str(c, s->keys[cluster].condition);
    push_str(c, s->keys[cluster].ver);
    push_u64(c, version);
    push_u64(c, (uint64_t)condition);
    push_u64(c, down);
    push_u64(c, busy);
    push_u64(c, total);
    return run(c);
}

int store_alert_due(struct store *s, size_t cluster, int64_t since_ms, uint32_t delay_ms, store_count_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_ALERT_DUE, RESULT_COUNT, 6, 0, data);

    c->cb.count = cb;
    push_str(c, s->keys[cluster].condition);
    push_str(c, s->alerts);
    push_str(c, s->keys[cluster].history[STORE_HISTORY_MAINT]);
    push_incident_keys(s, c);
    push_u64(c, (uint64_t)since_ms);
    push_u64(c, delay_ms);
    push_u64(c, (uint64_t)s->conf->clusters[cluster].alert_level);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
    push_u64(c, STORE_ALERTS_KEPT);
    push_u64(c, STORE_FLAP_ALERTS);
    push_u64(c, STORE_FLAP_WINDOW_MS);
    push_u64(c, STORE_INCIDENTS_KEPT);
    return run(c);
}

int store_alerts(struct store *s, uint32_t count, store_text_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_ALERTS, RESULT_TEXT, 2, 0, data);

    c->cb.text = cb;
    push_str(c, s->alerts);
    push_str(c, s->delivered);
    push_u64(c, count);
    for (size_t w = 0; w < s->conf->num_webhooks; ++w) {
        push_str(c, s->conf->webhooks[w].id);
        push_str(c, s->conf->webhooks[w].shown);
    }
    return run(c);
}

int store_command(struct store *s, int argc, const char *const *argv, const size_t *argvlen, store_reply_cb cb, void *data)
{
    struct call *c;

    if (argc > FIXED_ARGS)
        return -1;
    c = call_alloc(s, NUM_SCRIPTS, RESULT_REPLY, 0, data);
    c->cb.reply = cb;
    for (int i = 0; i < argc; ++i)
        push(c, argv[i], argvlen[i]);
    return run(c);
}

int store_alert_lock(struct store *s, const char *holder, uint32_t hold_ms, store_count_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_ALERT_LOCK, RESULT_COUNT, 1, 0, data);

    c->cb.count = cb;
    push_str(c, s->alerts_lock);
    push_str(c, holder);
    push_u64(c, hold_ms);
    return run(c);
}

const char *store_alerts_key(struct store *s)
{
    return s->alerts;
}

int store_alert_groups(struct store *s, const char *const *groups, size_t n, store_text_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_ALERT_GROUP, RESULT_TEXT, 1, 0, data);

    c->cb.text = cb;
    push_str(c, s->alerts);
    for (size_t i = 0; i < n; ++i)
        push_str(c, groups[i]);
    return run(c);
}

int store_alert_outcome(struct store *s, const char *id, const char *webhook, const char *why, store_reply_cb cb,
                        void *data)
{
    struct call *c = call_alloc(s, NUM_SCRIPTS, RESULT_REPLY, 0, data);

    c->cb.reply = cb;
    push(c, "XADD", 4);
    push_str(c, s->delivered);
    push(c, "MAXLEN", 6);
    push(c, "~", 1);
    push_u64(c, STORE_ALERTS_KEPT * CONF_MAX_WEBHOOKS); /* an entry per webhook of each alert kept */
    push(c, "*", 1);
    push(c, "alert", 5);
    push_str(c, id);
    push(c, "webhook", 7);
    push_str(c, webhook);
    push(c, "outcome", 7);
    if (why == NULL) {
        push(c, "sent", 4);
    } else {
        push(c, "not sent", 8);
        push(c, "why", 3);
        push_str(c, why);
    }
    return run(c);
}

const char *store_incident_key(struct store *s, size_t cluster)
{
    return s->keys[cluster].incident;
}

int store_history(struct store *s, size_t cluster, store_text_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_HISTORY, RESULT_TEXT, STORE_HISTORY_KEYS + 1, 0, data);

    c->cb.text = cb;
    push_history_keys(c, &s->keys[cluster]);
    push_str(c, s->keys[cluster].states);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
    push_u64(c, s->conf->clusters[cluster].shards);
    return run(c);
}

int store_log(struct store *s, size_t cluster, uint32_t count, store_text_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_LOG, RESULT_TEXT, 1, 0, data);

    c->cb.text = cb;
    push_str(c, s->keys[cluster].history[STORE_HISTORY_LOG]);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
    push_u64(c, count);
    return run(c);
}

int store_incidents(struct store *s, uint32_t count, store_text_cb cb, void *data)
{
    struct call *c = script_call(s, SCRIPT_INCIDENTS, RESULT_TEXT, 3, 0, data);

    c->cb.text = cb;
    push_incident_keys(s, c);
    push_u64(c, count);
    return run(c);
}

int store_incident_write(struct store *s, enum store_incident_op op, const char *json, size_t len, store_count_cb cb,
                         void *data)
{
    size_t i, n = s->conf->num_clusters;
    struct call *c = script_call(s, SCRIPT_INCIDENT, RESULT_COUNT, (int)(3 + 2 * n), 2 * n, data);

    c->cb.count = cb;
    push_incident_keys(s, c);
    for (i = 0; i != n; ++i)
        push_str(c, s->keys[i].history[STORE_HISTORY_MAINT]);
    for (i = 0; i != n; ++i)
        push_str(c, s->keys[i].history[STORE_HISTORY_HIST]);
    push_str(c, op == STORE_INCIDENT_NEW ? "new" : op == STORE_INCIDENT_UPDATE ? "update" : "close");
    push(c, json, len);
    push_str(c, s->cluster_names);
    push_u64(c, STORE_INCIDENTS_KEPT);
    push_u64(c, STORE_INCIDENTS_OPEN_MAX);
    return run(c);
}
