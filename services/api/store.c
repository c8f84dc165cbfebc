/* store.c -- typed async Redis operations: the transition scripts run with EVALSHA on one pipelined connection.
 *
 * Every request shares one connection; hiredis pipelines them and Redis answers in order, so a single
 * "last progress" time is enough to notice a Redis that stopped answering (frozen, or a dead peer that
 * TCP has not noticed yet). Such a connection is dropped: waiting callers get an error at once and the
 * connection comes back by itself. */
#include "store.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn.h"
#include "log.h"
#include "lua_scripts.h"

#define FIXED_ARGS 12 /* the most any call has besides a list of shard ids */

enum script { SCRIPT_STATUS, SCRIPT_HEALTH, SCRIPT_EXPIRE, SCRIPT_SWEEP, SCRIPT_SNAPSHOT, SCRIPT_SHARD, NUM_SCRIPTS };

struct cluster_keys {
    char *state, *since, *ver, *hb_prefix; /* "<prefix>:{<cluster>}:..." */
    size_t hb_prefix_len;
};

struct store {
    h2o_loop_t *loop;
    const struct conf *conf;
    struct store_listener listener;
    struct conn *conn;
    struct cluster_keys *keys;
    char channel[80];
    char ttl[16];
    struct {
        h2o_iovec_t body;
        char sha[41];
    } scripts[NUM_SCRIPTS];
    size_t inflight;
    uint64_t last_progress;
    h2o_timeout_t watchdog;
    h2o_timeout_entry_t watchdog_entry;
};

/* One call in flight, allocated in one block with room for its arguments. It owns copies of them so
 * that a NOSCRIPT reply can be answered by sending the same call again as EVAL. */
struct call {
    struct store *store;
    enum script script;
    store_reply_cb cb;
    void *data;
    int argc;
    const char **argv;
    size_t *argvlen;
    char *buf; /* numbers and key names formatted for this call */
    size_t buflen, bufcap;
};

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

    if (s->inflight != 0 && h2o_now(s->loop) - s->last_progress > s->conf->redis.timeout_ms)
        conn_drop(s->conn, "a command went unanswered for longer than GLANCE_REDIS_TIMEOUT_MS");
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
    redisAsyncCommand(ac, NULL, NULL, "CONFIG SET notify-keyspace-events %s", flags);
}

static void on_conn_ready(struct conn *conn, void *data)
{
    struct store *s = data;

    /* a restarted Redis forgets the setting; where CONFIG is forbidden the sweep still catches expiries */
    redisAsyncCommand(conn_context(conn), on_config_get, NULL, "CONFIG GET notify-keyspace-events");
    s->listener.on_ready(s->listener.data);
}

static void on_conn_lost(struct conn *conn, void *data, const char *why)
{
    struct store *s = data;

    s->inflight = 0;
    s->listener.on_lost(s->listener.data);
}

struct store *store_new(h2o_loop_t *loop, const struct conf *conf, const struct store_listener *listener)
{
    static const h2o_iovec_t *bodies[NUM_SCRIPTS] = {&lua_status, &lua_health,   &lua_expire,
                                                     &lua_sweep,  &lua_snapshot, &lua_shard};
    struct store *s = h2o_mem_alloc(sizeof(*s));
    size_t i;

    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->conf = conf;
    s->listener = *listener;
    snprintf(s->channel, sizeof(s->channel), "%s:events", conf->prefix);
    snprintf(s->ttl, sizeof(s->ttl), "%u", conf->health_timeout_s);
    for (i = 0; i != NUM_SCRIPTS; ++i) {
        s->scripts[i].body = *bodies[i];
        sha1_hex(s->scripts[i].body, s->scripts[i].sha);
    }
    s->keys = h2o_mem_alloc(sizeof(*s->keys) * conf->num_clusters);
    for (i = 0; i != conf->num_clusters; ++i) {
        const struct conf_cluster *c = &conf->clusters[i];
        s->keys[i].state = key(conf, c, "state");
        s->keys[i].since = key(conf, c, "since");
        s->keys[i].ver = key(conf, c, "ver");
        s->keys[i].hb_prefix = key(conf, c, "hb:");
        s->keys[i].hb_prefix_len = strlen(s->keys[i].hb_prefix);
    }
    h2o_timeout_init(loop, &s->watchdog, conf->redis.timeout_ms / 4);
    s->watchdog_entry.cb = on_watchdog;
    h2o_timeout_link(loop, &s->watchdog, &s->watchdog_entry);
    s->conn = conn_new(loop, conf, "commands", on_conn_ready, on_conn_lost, s);
    return s;
}

void store_free(struct store *s)
{
    size_t i;

    conn_free(s->conn);
    h2o_timeout_unlink(&s->watchdog_entry);
    h2o_timeout_dispose(s->loop, &s->watchdog);
    for (i = 0; i != s->conf->num_clusters; ++i) {
        free(s->keys[i].state);
        free(s->keys[i].since);
        free(s->keys[i].ver);
        free(s->keys[i].hb_prefix);
    }
    free(s->keys);
    free(s);
}

int store_ready(struct store *s)
{
    return conn_context(s->conn) != NULL;
}

uint64_t store_reconnects(struct store *s)
{
    return conn_reconnects(s->conn);
}

/* Arguments are appended in order: the script slot and the key count first, then keys, then values. */
static void push(struct call *c, const char *s, size_t len)
{
    c->argv[c->argc] = s;
    c->argvlen[c->argc] = len;
    ++c->argc;
}

static void push_str(struct call *c, const char *s)
{
    push(c, s, strlen(s));
}

/* formats a number into the call's own buffer, so it lives as long as the call */
static void push_u64(struct call *c, uint64_t v)
{
    int n = snprintf(c->buf + c->buflen, c->bufcap - c->buflen, "%llu", (unsigned long long)v);
    push(c, c->buf + c->buflen, n);
    c->buflen += n + 1;
}

static void push_hb_key(struct call *c, const struct cluster_keys *k, uint32_t shard)
{
    int n = snprintf(c->buf + c->buflen, c->bufcap - c->buflen, "%s%u", k->hb_prefix, shard);
    push(c, c->buf + c->buflen, n);
    c->buflen += n + 1;
}

/* `extra` is how many shard ids the call will carry beyond its fixed arguments. */
static struct call *call_new(struct store *s, enum script script, int numkeys, size_t extra, store_reply_cb cb,
                             void *data)
{
    size_t args = FIXED_ARGS + extra, bufcap = 256 + 11 * extra;
    struct call *c = h2o_mem_alloc(sizeof(*c) + args * (sizeof(*c->argv) + sizeof(*c->argvlen)) + bufcap);

    c->store = s;
    c->script = script;
    c->cb = cb;
    c->data = data;
    c->argc = 0;
    c->argv = (const char **)(c + 1);
    c->argvlen = (size_t *)(c->argv + args);
    c->buf = (char *)(c->argvlen + args);
    c->buflen = 0;
    c->bufcap = bufcap;
    push(c, "EVALSHA", 7);
    push(c, s->scripts[script].sha, 40);
    push_u64(c, numkeys);
    return c;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

static int send_call(struct call *c)
{
    struct store *s = c->store;
    redisAsyncContext *ac = conn_context(s->conn);

    if (ac == NULL || redisAsyncCommandArgv(ac, on_reply, c, c->argc, c->argv, c->argvlen) != REDIS_OK)
        return -1;
    if (s->inflight++ == 0)
        s->last_progress = h2o_now(s->loop);
    return 0;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct call *c = privdata;
    struct store *s = c->store;
    redisReply *reply = r;

    if (s->inflight != 0)
        --s->inflight;
    s->last_progress = h2o_now(s->loop);
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0 &&
        c->argv[0][0] == 'E' && c->argvlen[0] == 7) {
        /* Redis restarted or flushed its script cache: send the body once; EVAL caches it again */
        c->argv[0] = "EVAL";
        c->argvlen[0] = 4;
        c->argv[1] = s->scripts[c->script].body.base;
        c->argvlen[1] = s->scripts[c->script].body.len;
        if (send_call(c) == 0)
            return;
        reply = NULL;
    }
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "READONLY", 8) == 0) {
        /* the master was demoted under us (a failover): reconnect, which asks Sentinel again */
        log_warn("redis commands: %s; reconnecting", reply->str);
        redisAsyncDisconnect(ac);
    }
    if (reply == NULL)
        c->cb(c->data, NULL, "redis is not answering");
    else if (reply->type == REDIS_REPLY_ERROR)
        c->cb(c->data, NULL, reply->str);
    else
        c->cb(c->data, reply, NULL);
    free(c);
}

static int run(struct call *c)
{
    if (send_call(c) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* KEYS: state, since, health key, version -- the four keys of a one-shard transition */
static struct call *transition(struct store *s, enum script script, size_t cluster, uint32_t shard, store_reply_cb cb,
                               void *data)
{
    const struct cluster_keys *k = &s->keys[cluster];
    struct call *c = call_new(s, script, 4, 0, cb, data);

    push_str(c, k->state);
    push_str(c, k->since);
    push_hb_key(c, k, shard);
    push_str(c, k->ver);
    push_u64(c, shard);
    return c;
}

static void push_event_target(struct store *s, struct call *c, size_t cluster)
{
    push_str(c, s->channel);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
}

int store_status(struct store *s, size_t cluster, uint32_t shard, int state, store_reply_cb cb, void *data)
{
    struct call *c = transition(s, SCRIPT_STATUS, cluster, shard, cb, data);

    push_u64(c, (uint64_t)state);
    push_str(c, s->ttl);
    push_event_target(s, c, cluster);
    return run(c);
}

int store_health(struct store *s, size_t cluster, uint32_t shard, store_reply_cb cb, void *data)
{
    struct call *c = transition(s, SCRIPT_HEALTH, cluster, shard, cb, data);

    push_str(c, s->ttl);
    push_event_target(s, c, cluster);
    return run(c);
}

/* KEYS: state, since, version; then the health key prefix -- how the expire and sweep scripts start */
static struct call *expiry_call(struct store *s, enum script script, size_t cluster, size_t extra, store_reply_cb cb,
                                void *data)
{
    const struct cluster_keys *k = &s->keys[cluster];
    struct call *c = call_new(s, script, 3, extra, cb, data);

    push_str(c, k->state);
    push_str(c, k->since);
    push_str(c, k->ver);
    push(c, k->hb_prefix, k->hb_prefix_len);
    return c;
}

int store_expire(struct store *s, size_t cluster, const uint32_t *shards, size_t n, store_reply_cb cb, void *data)
{
    struct call *c = expiry_call(s, SCRIPT_EXPIRE, cluster, n, cb, data);
    size_t i;

    push_event_target(s, c, cluster);
    for (i = 0; i != n; ++i)
        push_u64(c, shards[i]);
    return run(c);
}

int store_sweep(struct store *s, size_t cluster, uint32_t first, uint32_t end, store_reply_cb cb, void *data)
{
    struct call *c = expiry_call(s, SCRIPT_SWEEP, cluster, 0, cb, data);

    push_u64(c, first);
    push_u64(c, end);
    push_event_target(s, c, cluster);
    return run(c);
}

int store_snapshot(struct store *s, size_t cluster, store_reply_cb cb, void *data)
{
    struct call *c = call_new(s, SCRIPT_SNAPSHOT, 2, 0, cb, data);

    push_str(c, s->keys[cluster].state);
    push_str(c, s->keys[cluster].ver);
    return run(c);
}

int store_shard(struct store *s, size_t cluster, uint32_t shard, store_reply_cb cb, void *data)
{
    const struct cluster_keys *k = &s->keys[cluster];
    struct call *c = call_new(s, SCRIPT_SHARD, 3, 0, cb, data);

    push_str(c, k->state);
    push_str(c, k->since);
    push_hb_key(c, k, shard);
    push_u64(c, shard);
    return run(c);
}
