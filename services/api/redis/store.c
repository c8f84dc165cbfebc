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
#include "redis/store.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "redis/lua_scripts.h"
#include "redis/redis_conn.h"
#include "redis/store_call.h"

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

struct store *store_new(h2o_loop_t *loop, h2o_multithread_receiver_t *resolver, const struct conf *conf,
                        const struct store_listener *listener)
{
    static const h2o_iovec_t *bodies[NUM_SCRIPTS] = {&lua_status,    &lua_health,    &lua_expire,
                                                     &lua_snapshot,  &lua_shard,     &lua_migrate,
                                                     &lua_condition, &lua_alert_due, &lua_alerts, &lua_alert_lock, &lua_alert_group,
                                                     &lua_history,   &lua_incident,  &lua_incidents,
                                                     &lua_log,       &lua_report,    &lua_latency_claim,
                                                     &lua_latency,   &lua_gateway_alert, &lua_subscription, &lua_notify,
                                                     &lua_shard_notice, &lua_alertmanager};
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
    snprintf(s->latency_claim, sizeof(s->latency_claim), "%s:latency:claim", conf->prefix);
    snprintf(s->notify, sizeof(s->notify), "%s:notify", conf->prefix);
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
        s->keys[i].gw = key(conf, c, "gw");
        s->keys[i].gwc = key(conf, c, "gwc");
        s->keys[i].old_figures = key(conf, c, "figures");
        s->keys[i].latency = key(conf, c, "latency");
        for (size_t h = 0; h != STORE_HISTORY_KEYS; ++h)
            s->keys[i].history[h] = key(conf, c, history_suffixes[h]);
        s->keys[i].status_sent = h2o_mem_alloc(sizeof(uint32_t) * (c->shards ? c->shards : 1));
        memset(s->keys[i].status_sent, 0, sizeof(uint32_t) * c->shards);
        s->keys[i].latest_status = NULL;
        if (conf->redis.wait_replicas != 0) {
            s->keys[i].latest_status = h2o_mem_alloc(sizeof(struct call *) * (c->shards ? c->shards : 1));
            memset(s->keys[i].latest_status, 0, sizeof(struct call *) * (c->shards ? c->shards : 1));
        }
        store_encode_cluster(s, i);
    }
    store_wait_init(s);
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
    store_wait_dispose(s);
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
        free(s->keys[i].gw);
        free(s->keys[i].gwc);
        free(s->keys[i].gateway_keys.base);
        free(s->keys[i].old_figures);
        free(s->keys[i].latency);
        for (size_t h = 0; h != STORE_HISTORY_KEYS; ++h)
            free(s->keys[i].history[h]);
        free(s->keys[i].transition_keys.base);
        free(s->keys[i].history_keys.base);
        free(s->keys[i].transition_args.base);
        free(s->keys[i].status_sent);
        free(s->keys[i].latest_status);
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

/* A call with room for `extra` shards (a health key and a few numbers each) beyond its fixed arguments; more is
 * made when needed. */
struct call *store_call_alloc(struct store *s, enum script script, enum result result, size_t extra, void *data)
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

struct call *store_script_call(struct store *s, enum script script, enum result result, int numkeys, size_t extra,
                               void *data)
{
    struct call *c = store_call_alloc(s, script, result, extra, data);

    resp_copy(&c->cmd, &s->scripts[script].evalsha);
    push_u64(c, (uint64_t)numkeys);
    return c;
}

void store_call_free(struct call *c)
{
    free(c->cmd.base);
    free(c);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* The round-trip histogram of a transition script, or -1. */
static int rtt_of(enum script script)
{
    switch (script) {
    case SCRIPT_STATUS: return STORE_RTT_STATUS;
    case SCRIPT_HEALTH: return STORE_RTT_HEALTH;
    case SCRIPT_REPORT: return STORE_RTT_REPORT;
    case SCRIPT_EXPIRE: return STORE_RTT_EXPIRE;
    default: return -1;
    }
}

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
    if (rtt_of(c->script) >= 0)
        c->sent_ns = histogram_now_ns();
    store_wait_sent(c);
    return 0;
}

const struct histogram *store_rtt(const struct store *s, int script)
{
    return &s->rtt[script];
}

void store_deliver(struct call *c, const redisReply *reply, const char *err)
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
        struct store_shard_info info = {-1, 0, 0, {NULL, 0}, 0, {{0}, {0}}, {0}};
        if (err == NULL && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 7 || !is_int(reply->element[0]) ||
                            !is_int(reply->element[1]) || !is_int(reply->element[2]) || !is_int(reply->element[3]) ||
                            reply->element[4]->type != REDIS_REPLY_STRING ||
                            reply->element[5]->type != REDIS_REPLY_STRING ||
                            reply->element[6]->type != REDIS_REPLY_STRING))
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
            if (store_gateway_decode(reply->element[6]->str, reply->element[6]->len, &info.gateway) != 0)
                info.gateway.at_ms = 0;
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
    struct wait_batch *batch = store_wait_answered(c);
    int rtt = reply != NULL ? rtt_of(c->script) : -1;

    if (rtt >= 0)
        histogram_observe(&s->rtt[rtt], histogram_now_ns() - c->sent_ns);
    if (s->inflight != 0)
        --s->inflight;
    s->last_progress = h2o_now(s->loop);
    if (reply != NULL && ((reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) ||
                          (c->short_form && reply->type == REDIS_REPLY_INTEGER && reply->integer == NEEDS_HISTORY)) &&
        superseded(c)) {
        /* with WAIT, answered as the later write that replaces it is, once it is */
        if (store_wait_superseded(c)) {
            store_wait_release(batch);
            return;
        }
        store_wait_followers(c, NULL, NULL);
        c->cb.count(c->data, 0, NULL);
        store_call_free(c);
        store_wait_release(batch);
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
        if (send_call(c) == 0) {
            store_wait_release(batch);
            return;
        }
        reply = NULL;
    }
    if (reply != NULL && c->short_form && reply->type == REDIS_REPLY_INTEGER && reply->integer == NEEDS_HISTORY) {
        struct call *full = store_transition_call(s, c->cluster, c->shard, c->state, &c->figures, 0, c->cb.count,
                                                  c->data);
        full->status_seq = c->status_seq;
        full->followers = c->followers; /* what followed the short form follows the full one */
        c->followers = NULL;
        if (s->keys[c->cluster].latest_status != NULL && s->keys[c->cluster].latest_status[c->shard] == c)
            s->keys[c->cluster].latest_status[c->shard] = full;
        if (send_call(full) == 0) {
            store_call_free(c);
            store_wait_release(batch);
            return;
        }
        c->followers = full->followers; /* not sent: they follow the short form's failure */
        if (s->keys[c->cluster].latest_status != NULL && s->keys[c->cluster].latest_status[c->shard] == full)
            s->keys[c->cluster].latest_status[c->shard] = c;
        store_call_free(full);
        reply = NULL;
    }
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "READONLY", 8) == 0) {
        /* the master was demoted under us (a failover): reconnect, which asks Sentinel again */
        log_warn("redis commands: %s; reconnecting", reply->str);
        redisAsyncDisconnect(ac);
    }
    if (batch != NULL && reply != NULL && reply->type != REDIS_REPLY_ERROR) {
        store_wait_followers(c, batch, NULL);
        store_wait_hold(batch, c, reply); /* delivered when its WAIT answers */
        return;
    }
    if (reply == NULL) {
        store_wait_followers(c, NULL, "redis is not answering");
        store_deliver(c, NULL, "redis is not answering");
    } else if (reply->type == REDIS_REPLY_ERROR) {
        store_wait_followers(c, NULL, reply->str);
        store_deliver(c, NULL, reply->str);
    } else {
        store_wait_followers(c, NULL, NULL);
        store_deliver(c, reply, NULL);
    }
    store_call_free(c);
    store_wait_release(batch);
}

int store_run(struct call *c)
{
    if (send_call(c) != 0) {
        store_call_free(c);
        return -1;
    }
    return 0;
}

int store_command(struct store *s, int argc, const char *const *argv, const size_t *argvlen, store_reply_cb cb, void *data)
{
    struct call *c;

    if (argc > FIXED_ARGS)
        return -1;
    c = store_call_alloc(s, NUM_SCRIPTS, RESULT_REPLY, 0, data);
    c->cb.reply = cb;
    for (int i = 0; i < argc; ++i)
        push(c, argv[i], argvlen[i]);
    return store_run(c);
}

int store_publish(struct store *s, const char *channel, size_t channel_len, const char *message, size_t len,
                  store_count_cb cb, void *data)
{
    struct call *c = store_call_alloc(s, NUM_SCRIPTS, RESULT_COUNT, 0, data);

    c->cb.count = cb;
    push(c, "PUBLISH", 7);
    push(c, channel, channel_len);
    push(c, message, len);
    return store_run(c);
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
        struct call *c = store_script_call(s, SCRIPT_MIGRATE, RESULT_REPLY, 4, 0, m);
        *m = (struct migration){s, i};
        c->cb.reply = on_migrated;
        push_str(c, s->keys[i].states);
        push_str(c, s->keys[i].old_state);
        push_str(c, s->keys[i].figs);
        push_str(c, s->keys[i].old_figures);
        push_u64(c, s->conf->clusters[i].shards);
        if (store_run(c) != 0)
            free(m);
    }
}
