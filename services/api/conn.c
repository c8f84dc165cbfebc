/* conn.c -- one Redis connection that keeps itself connected: connect, AUTH, SELECT, reconnect with backoff.
 *
 * With Sentinel, every (re)connect first asks the sentinels, in turn, where the master is, and the
 * handshake checks with ROLE that the server really is a master: after a failover the old master may
 * still answer, as a replica. */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "parse.h"
#include "redis_h2o.h"

#define BACKOFF_TICK_MS 100
#define BACKOFF_MAX_TICKS 20 /* 2 s */

struct conn {
    h2o_loop_t *loop;
    const struct conf *conf;
    const char *role;
    conn_ready_cb on_ready;
    conn_lost_cb on_lost;
    void *data;
    redisAsyncContext *ac; /* NULL while waiting to reconnect */
    redisAsyncContext *sentinel; /* asking a sentinel where the master is */
    size_t next_sentinel;
    char host[256]; /* where the connection goes: the configured host, or the master Sentinel named */
    uint16_t port;
    int ready;
    int was_ready;      /* the next successful connect counts as a reconnect */
    int logged_failure; /* log one line per outage, not one per attempt */
    unsigned backoff_ticks, ticks_left;
    uint64_t reconnects;
    h2o_timeout_t tick;
    h2o_timeout_entry_t tick_entry;
};

static void start_connect(struct conn *c);
static void connect_to_server(struct conn *c);

static void schedule_reconnect(struct conn *c)
{
    c->backoff_ticks = c->backoff_ticks == 0 ? 1 : c->backoff_ticks * 2;
    if (c->backoff_ticks > BACKOFF_MAX_TICKS)
        c->backoff_ticks = BACKOFF_MAX_TICKS;
    /* jitter, so that replicas restarted together do not knock on Redis in step */
    c->ticks_left = c->backoff_ticks / 2 + 1 + (unsigned)rand() % (c->backoff_ticks / 2 + 1);
    if (!h2o_timeout_is_linked(&c->tick_entry))
        h2o_timeout_link(c->loop, &c->tick, &c->tick_entry);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct conn *c = H2O_STRUCT_FROM_MEMBER(struct conn, tick_entry, entry);

    if (--c->ticks_left != 0) {
        h2o_timeout_link(c->loop, &c->tick, &c->tick_entry);
        return;
    }
    start_connect(c);
}

static void fail(struct conn *c, const char *what, const char *detail)
{
    if (!c->logged_failure) {
        log_warn("redis %s (%s:%u): %s: %s; retrying", c->role, c->host, c->port, what,
                 detail != NULL ? detail : "no detail");
        c->logged_failure = 1;
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct conn *c = ac->data;
    int was = c->ready;

    c->ac = NULL;
    c->ready = 0;
    if (c->loop == NULL)
        return; /* conn_free() is closing it */
    if (was) {
        log_warn("redis %s: connection lost: %s", c->role, ac->errstr[0] != '\0' ? ac->errstr : "closed");
        c->was_ready = 1;
        c->on_lost(c, c->data, ac->errstr[0] != '\0' ? ac->errstr : "connection closed");
    } else {
        fail(c, "connection lost", ac->errstr);
    }
    schedule_reconnect(c);
}

static void on_handshake(redisAsyncContext *ac, void *r, void *privdata)
{
    struct conn *c = ac->data;
    redisReply *reply = r;
    const char *step = privdata;

    if (reply == NULL)
        return; /* the disconnect callback deals with it */
    if (reply->type == REDIS_REPLY_ERROR) {
        fail(c, step, reply->str);
        redisAsyncDisconnect(ac);
        return;
    }
    if (strcmp(step, "ROLE") == 0) {
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 || reply->element[0]->type != REDIS_REPLY_STRING ||
            strcmp(reply->element[0]->str, "master") != 0) {
            fail(c, "ROLE", "the server Sentinel named is not a master (a failover in progress?)");
            redisAsyncDisconnect(ac);
        }
        return;
    }
    if (strcmp(step, "PING") != 0)
        return;
    c->ready = 1;
    c->backoff_ticks = 0;
    if (c->logged_failure || c->was_ready)
        log_info("redis %s: connected to %s:%u", c->role, c->host, c->port);
    c->logged_failure = 0;
    if (c->was_ready)
        ++c->reconnects;
    c->on_ready(c, c->data);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct conn *c = ac->data;
    char db[16];

    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns, without calling on_disconnect */
        fail(c, "cannot connect", ac->errstr);
        c->ac = NULL;
        schedule_reconnect(c);
        return;
    }
    /* pipelined: the handshake is the first thing on the wire, before anything a caller sends */
    if (c->conf->redis.password[0] != '\0') {
        if (c->conf->redis.user[0] != '\0')
            redisAsyncCommand(ac, on_handshake, "AUTH", "AUTH %s %s", c->conf->redis.user, c->conf->redis.password);
        else
            redisAsyncCommand(ac, on_handshake, "AUTH", "AUTH %s", c->conf->redis.password);
    }
    if (c->conf->redis.db != 0) {
        snprintf(db, sizeof(db), "%u", c->conf->redis.db);
        redisAsyncCommand(ac, on_handshake, "SELECT", "SELECT %s", db);
    }
    if (c->conf->redis.num_sentinels != 0)
        redisAsyncCommand(ac, on_handshake, "ROLE", "ROLE");
    redisAsyncCommand(ac, on_handshake, "PING", "PING");
}

static void connect_to_server(struct conn *c)
{
    redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);

    if (ac == NULL || ac->err != 0) {
        fail(c, "cannot connect", ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        schedule_reconnect(c);
        return;
    }
    if (redis_h2o_attach(ac, c->loop) != 0) {
        fail(c, "cannot connect", "cannot watch the socket");
        redisAsyncFree(ac);
        schedule_reconnect(c);
        return;
    }
    ac->data = c;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
}

static void on_sentinel_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct conn *c = privdata;
    redisReply *reply = r;
    uint64_t port;

    if (c->sentinel != ac)
        return;
    c->sentinel = NULL;
    redisAsyncDisconnect(ac);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_STRING ||
        reply->element[0]->len >= sizeof(c->host) || parse_u64(reply->element[1]->str, reply->element[1]->len, &port) != 0 ||
        port == 0 || port > 65535) {
        fail(c, "sentinel", reply != NULL && reply->type == REDIS_REPLY_ERROR ? reply->str : "does not know the master");
        schedule_reconnect(c);
        return;
    }
    memcpy(c->host, reply->element[0]->str, reply->element[0]->len);
    c->host[reply->element[0]->len] = '\0';
    c->port = (uint16_t)port;
    connect_to_server(c);
}

static void on_sentinel_disconnect(const redisAsyncContext *ac, int status)
{
    struct conn *c = ac->data;

    if (c->sentinel == ac) {
        /* lost before it answered */
        c->sentinel = NULL;
        fail(c, "sentinel", ac->errstr);
        schedule_reconnect(c);
    }
}

static void on_sentinel_connect(const redisAsyncContext *ac, int status)
{
    struct conn *c = ac->data;

    if (status != REDIS_OK && c->sentinel == ac) {
        c->sentinel = NULL; /* hiredis frees it */
        fail(c, "sentinel", ac->errstr);
        schedule_reconnect(c);
    }
}

/* Asks the next sentinel where the master is; the answer leads to connect_to_server(). */
static void ask_sentinel(struct conn *c)
{
    const struct conf *conf = c->conf;
    size_t i = c->next_sentinel++ % conf->redis.num_sentinels;
    redisAsyncContext *ac = redisAsyncConnect(conf->redis.sentinels[i].host, conf->redis.sentinels[i].port);

    snprintf(c->host, sizeof(c->host), "%s", conf->redis.sentinels[i].host);
    c->port = conf->redis.sentinels[i].port;
    if (ac == NULL || ac->err != 0 || redis_h2o_attach(ac, c->loop) != 0) {
        fail(c, "sentinel", ac != NULL && ac->err != 0 ? ac->errstr : "cannot connect");
        if (ac != NULL)
            redisAsyncFree(ac);
        schedule_reconnect(c);
        return;
    }
    ac->data = c;
    redisAsyncSetConnectCallback(ac, on_sentinel_connect);
    redisAsyncSetDisconnectCallback(ac, on_sentinel_disconnect);
    redisAsyncCommand(ac, on_sentinel_reply, c, "SENTINEL get-master-addr-by-name %s", conf->redis.master);
    c->sentinel = ac;
}

static void start_connect(struct conn *c)
{
    if (c->conf->redis.num_sentinels != 0) {
        ask_sentinel(c);
    } else {
        snprintf(c->host, sizeof(c->host), "%s", c->conf->redis.host);
        c->port = c->conf->redis.port;
        connect_to_server(c);
    }
}

struct conn *conn_new(h2o_loop_t *loop, const struct conf *conf, const char *role, conn_ready_cb on_ready,
                      conn_lost_cb on_lost, void *data)
{
    struct conn *c = h2o_mem_alloc(sizeof(*c));

    *c = (struct conn){loop, conf, role, on_ready, on_lost, data};
    h2o_timeout_init(loop, &c->tick, BACKOFF_TICK_MS);
    c->tick_entry.cb = on_tick;
    start_connect(c);
    return c;
}

void conn_free(struct conn *c)
{
    if (h2o_timeout_is_linked(&c->tick_entry))
        h2o_timeout_unlink(&c->tick_entry);
    h2o_timeout_dispose(c->loop, &c->tick);
    c->loop = NULL; /* no reconnect from the disconnect callback */
    c->ready = 0;
    if (c->sentinel != NULL) {
        redisAsyncContext *s = c->sentinel;
        c->sentinel = NULL;
        redisAsyncFree(s);
    }
    if (c->ac != NULL)
        redisAsyncFree(c->ac);
    free(c);
}

redisAsyncContext *conn_context(struct conn *c)
{
    return c->ready ? c->ac : NULL;
}

void conn_drop(struct conn *c, const char *why)
{
    if (c->ac == NULL)
        return;
    log_warn("redis %s: dropping the connection: %s", c->role, why);
    /* frees at once: every pending callback gets a NULL reply, then on_disconnect runs */
    redisAsyncFree(c->ac);
}

uint64_t conn_reconnects(struct conn *c)
{
    return c->reconnects;
}
