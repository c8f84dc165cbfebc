/* redis_conn.c -- one Redis connection that keeps itself connected: resolve, connect, AUTH, SELECT, reconnect
 * with backoff.
 *
 * Nothing here may block the event loop. hiredis 0.14 resolves a host name with a blocking getaddrinfo inside
 * redisAsyncConnect and has no connect timeout, so names are resolved on h2o's lookup thread and hiredis is
 * handed a numeric address, and every attempt (lookup, TCP connect, handshake) runs against a deadline of
 * GLANCE_REDIS_TIMEOUT_MS: a server or sentinel that drops packets costs that long, not the kernel's two
 * minutes of SYN retries.
 *
 * With Sentinel, every (re)connect first asks the sentinels, in turn, where the master is, and the
 * handshake checks with ROLE that the server really is a master: after a failover the old master may
 * still answer, as a replica. */
#include "redis/redis_conn.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "base/parse.h"
#include "redis/redis_h2o.h"

#define BACKOFF_TICK_MS 100
#define BACKOFF_MAX_TICKS 20 /* 2 s */

/* Where an attempt stands; each step runs against the same deadline. */
enum phase {
    PHASE_IDLE,     /* ready, or waiting to retry */
    PHASE_SENTINEL, /* asking a sentinel where the master is */
    PHASE_SERVER,   /* connecting to Redis and shaking hands */
};

struct redis_conn {
    h2o_loop_t *loop;
    h2o_multithread_receiver_t *resolver;
    const struct conf *conf;
    const char *role;
    redis_conn_ready_cb on_ready;
    redis_conn_lost_cb on_lost;
    void *data;
    enum phase phase;
    h2o_hostinfo_getaddr_req_t *lookup; /* a host name being resolved */
    redisAsyncContext *ac;              /* the server connection; NULL while none is open */
    redisAsyncContext *sentinel;        /* asking a sentinel where the master is */
    size_t next_sentinel;
    char host[256]; /* where the attempt goes: the configured host, a sentinel, or the master Sentinel named */
    uint16_t port;
    int ready;
    int was_ready;      /* the next successful connect counts as a reconnect */
    int logged_failure; /* log one line per outage, not one per attempt */
    int closing;        /* freeing a context ourselves: its callbacks must not start another attempt */
    const char *dropped_why; /* set while redis_conn_drop frees the context, for the disconnect's log line */
    unsigned backoff_ticks, ticks_left;
    uint64_t reconnects;
    char last_error[640]; /* room for the host name and an error string */
    h2o_timeout_t tick, deadline;
    h2o_timeout_entry_t tick_entry, deadline_entry;
};

static void start_attempt(struct redis_conn *c);
static void resolve_then_connect(struct redis_conn *c);

static void arm_deadline(struct redis_conn *c)
{
    if (h2o_timeout_is_linked(&c->deadline_entry))
        h2o_timeout_unlink(&c->deadline_entry);
    h2o_timeout_link(c->loop, &c->deadline, &c->deadline_entry);
}

static void schedule_reconnect(struct redis_conn *c)
{
    c->phase = PHASE_IDLE;
    if (h2o_timeout_is_linked(&c->deadline_entry))
        h2o_timeout_unlink(&c->deadline_entry);
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
    struct redis_conn *c = H2O_STRUCT_FROM_MEMBER(struct redis_conn, tick_entry, entry);

    if (--c->ticks_left != 0) {
        h2o_timeout_link(c->loop, &c->tick, &c->tick_entry);
        return;
    }
    start_attempt(c);
}

/* Notes why the attempt failed (logged once per outage) and schedules the next one. */
static void retry_later(struct redis_conn *c, const char *what, const char *detail)
{
    snprintf(c->last_error, sizeof(c->last_error), "%s %s:%u: %s", what, c->host, c->port,
             detail != NULL && detail[0] != '\0' ? detail : "no detail");
    if (!c->logged_failure) {
        log_warn("redis %s: %s; retrying", c->role, c->last_error);
        c->logged_failure = 1;
    }
    schedule_reconnect(c);
}

/* Frees a context of ours without its callbacks starting anything. */
static void close_quietly(struct redis_conn *c, redisAsyncContext *ac)
{
    c->closing = 1;
    redisAsyncFree(ac);
    c->closing = 0;
}

/* Abandons whatever the attempt is waiting for. */
static void abandon_attempt(struct redis_conn *c)
{
    if (c->lookup != NULL) {
        h2o_hostinfo_getaddr_cancel(c->lookup);
        c->lookup = NULL;
    }
    if (c->sentinel != NULL) {
        redisAsyncContext *s = c->sentinel;
        c->sentinel = NULL;
        close_quietly(c, s);
    }
    if (c->ac != NULL && !c->ready) {
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        close_quietly(c, ac);
    }
}

static void on_deadline(h2o_timeout_entry_t *entry)
{
    struct redis_conn *c = H2O_STRUCT_FROM_MEMBER(struct redis_conn, deadline_entry, entry);
    const char *what = c->phase == PHASE_SENTINEL ? "sentinel" : "connect to";

    abandon_attempt(c);
    retry_later(c, what, "no answer within GLANCE_REDIS_TIMEOUT_MS");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_conn *c = ac->data;
    int was = c->ready;

    if (c->closing || c->ac != ac)
        return;
    c->ac = NULL;
    c->ready = 0;
    if (c->loop == NULL)
        return; /* redis_conn_free() is closing it */
    if (was) {
        snprintf(c->last_error, sizeof(c->last_error), "connection to %s:%u %s: %s", c->host, c->port,
                 c->dropped_why != NULL ? "dropped" : "lost",
                 c->dropped_why != NULL ? c->dropped_why : ac->errstr[0] != '\0' ? ac->errstr : "closed");
        if (c->dropped_why == NULL)
            log_warn("redis %s: %s", c->role, c->last_error);
        c->was_ready = 1;
        c->on_lost(c, c->data, ac->errstr[0] != '\0' ? ac->errstr : "connection closed");
        schedule_reconnect(c);
    } else {
        retry_later(c, "connection lost to", ac->errstr);
    }
}

static void on_handshake(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_conn *c = ac->data;
    redisReply *reply = r;
    const char *step = privdata;

    if (reply == NULL || c->ac != ac)
        return; /* the disconnect callback deals with it */
    if (reply->type == REDIS_REPLY_ERROR) {
        c->ac = NULL;
        close_quietly(c, ac);
        retry_later(c, step, reply->str);
        return;
    }
    if (strcmp(step, "ROLE") == 0) {
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 || reply->element[0]->type != REDIS_REPLY_STRING ||
            strcmp(reply->element[0]->str, "master") != 0) {
            c->ac = NULL;
            close_quietly(c, ac);
            retry_later(c, "ROLE of", "the server Sentinel named is not a master (a failover in progress?)");
        }
        return;
    }
    if (strcmp(step, "PING") != 0)
        return;
    if (h2o_timeout_is_linked(&c->deadline_entry))
        h2o_timeout_unlink(&c->deadline_entry);
    c->phase = PHASE_IDLE;
    c->ready = 1;
    c->backoff_ticks = 0;
    c->last_error[0] = '\0';
    if (c->logged_failure || c->was_ready)
        log_info("redis %s: connected to %s:%u", c->role, c->host, c->port);
    c->logged_failure = 0;
    if (c->was_ready)
        ++c->reconnects;
    c->on_ready(c, c->data);
}

/* Pipelined: the handshake is the first thing on the wire, before anything a caller sends. Returns 0, or -1
 * when hiredis refused a command (the context is then unusable). */
static int send_handshake(struct redis_conn *c, redisAsyncContext *ac)
{
    const struct conf *conf = c->conf;
    char db[16];
    int rc = REDIS_OK;

    if (conf->redis.password[0] != '\0') {
        if (conf->redis.user[0] != '\0')
            rc |= redisAsyncCommand(ac, on_handshake, "AUTH", "AUTH %s %s", conf->redis.user, conf->redis.password);
        else
            rc |= redisAsyncCommand(ac, on_handshake, "AUTH", "AUTH %s", conf->redis.password);
    }
    if (conf->redis.db != 0) {
        snprintf(db, sizeof(db), "%u", conf->redis.db);
        rc |= redisAsyncCommand(ac, on_handshake, "SELECT", "SELECT %s", db);
    }
    if (conf->redis.num_sentinels != 0)
        rc |= redisAsyncCommand(ac, on_handshake, "ROLE", "ROLE");
    rc |= redisAsyncCommand(ac, on_handshake, "PING", "PING");
    return rc == REDIS_OK ? 0 : -1;
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct redis_conn *c = ac->data;

    if (c->closing || c->ac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns, without calling on_disconnect */
        c->ac = NULL;
        retry_later(c, "connect to", ac->errstr);
        return;
    }
    if (send_handshake(c, ac) != 0) {
        c->ac = NULL;
        close_quietly(c, ac);
        retry_later(c, "connect to", "cannot queue the handshake");
    }
}

static void on_sentinel_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_conn *c = privdata;
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
        retry_later(c, "sentinel", reply != NULL && reply->type == REDIS_REPLY_ERROR ? reply->str : "does not know the master");
        return;
    }
    memcpy(c->host, reply->element[0]->str, reply->element[0]->len);
    c->host[reply->element[0]->len] = '\0';
    c->port = (uint16_t)port;
    /* a new step, with a deadline of its own */
    c->phase = PHASE_SERVER;
    arm_deadline(c);
    resolve_then_connect(c);
}

static void on_sentinel_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_conn *c = ac->data;

    if (c->sentinel == ac && !c->closing) {
        /* lost before it answered */
        c->sentinel = NULL;
        retry_later(c, "sentinel", ac->errstr);
    }
}

static void on_sentinel_connect(const redisAsyncContext *ac, int status)
{
    struct redis_conn *c = ac->data;

    if (status != REDIS_OK && c->sentinel == ac && !c->closing) {
        c->sentinel = NULL; /* hiredis frees it */
        retry_later(c, "sentinel", ac->errstr);
    }
}

/* Opens the hiredis context of the current step to a numeric address. */
static void connect_to(struct redis_conn *c, const char *addr)
{
    redisAsyncContext *ac = redisAsyncConnect(addr, c->port);
    int sentinel = c->phase == PHASE_SENTINEL;

    if (ac == NULL || ac->err != 0 || redis_h2o_attach(ac, c->loop) != 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ac == NULL ? "out of memory" : ac->err != 0 ? ac->errstr : "cannot watch the socket");
        if (ac != NULL)
            redisAsyncFree(ac);
        retry_later(c, sentinel ? "sentinel" : "connect to", why);
        return;
    }
    ac->data = c;
    if (sentinel) {
        redisAsyncSetConnectCallback(ac, on_sentinel_connect);
        redisAsyncSetDisconnectCallback(ac, on_sentinel_disconnect);
        if (redisAsyncCommand(ac, on_sentinel_reply, c, "SENTINEL get-master-addr-by-name %s", c->conf->redis.master) !=
            REDIS_OK) {
            redisAsyncFree(ac);
            retry_later(c, "sentinel", "cannot queue the question");
            return;
        }
        c->sentinel = ac;
    } else {
        redisAsyncSetConnectCallback(ac, on_connect);
        redisAsyncSetDisconnectCallback(ac, on_disconnect);
        c->ac = ac;
    }
}

static void on_resolved(h2o_hostinfo_getaddr_req_t *req, const char *errstr, struct addrinfo *res, void *data)
{
    struct redis_conn *c = data;
    char addr[INET6_ADDRSTRLEN];
    int rc;

    c->lookup = NULL;
    if (errstr != NULL) {
        retry_later(c, c->phase == PHASE_SENTINEL ? "resolve sentinel" : "resolve", errstr);
        return;
    }
    res = h2o_hostinfo_select_one(res);
    if ((rc = getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST)) != 0) {
        retry_later(c, "resolve", gai_strerror(rc));
        return;
    }
    connect_to(c, addr);
}

/* A numeric address goes straight to hiredis; a name is looked up on h2o's resolver thread first. */
static void resolve_then_connect(struct redis_conn *c)
{
    unsigned char numeric[sizeof(struct in6_addr)];

    if (inet_pton(AF_INET, c->host, numeric) == 1 || inet_pton(AF_INET6, c->host, numeric) == 1) {
        connect_to(c, c->host);
        return;
    }
    c->lookup = h2o_hostinfo_getaddr(c->resolver, h2o_iovec_init(c->host, strlen(c->host)), h2o_iovec_init(H2O_STRLIT("0")),
                                     AF_UNSPEC, SOCK_STREAM, IPPROTO_TCP, AI_ADDRCONFIG, on_resolved, c);
}

static void start_attempt(struct redis_conn *c)
{
    const struct conf *conf = c->conf;

    if (conf->redis.num_sentinels != 0) {
        size_t i = c->next_sentinel++ % conf->redis.num_sentinels;
        c->phase = PHASE_SENTINEL;
        snprintf(c->host, sizeof(c->host), "%s", conf->redis.sentinels[i].host);
        c->port = conf->redis.sentinels[i].port;
    } else {
        c->phase = PHASE_SERVER;
        snprintf(c->host, sizeof(c->host), "%s", conf->redis.host);
        c->port = conf->redis.port;
    }
    arm_deadline(c);
    resolve_then_connect(c);
}

struct redis_conn *redis_conn_new(h2o_loop_t *loop, h2o_multithread_receiver_t *resolver, const struct conf *conf,
                                  const char *role, redis_conn_ready_cb on_ready, redis_conn_lost_cb on_lost, void *data)
{
    struct redis_conn *c = h2o_mem_alloc(sizeof(*c));

    *c = (struct redis_conn){loop, resolver, conf, role, on_ready, on_lost, data};
    snprintf(c->last_error, sizeof(c->last_error), "connecting");
    h2o_timeout_init(loop, &c->tick, BACKOFF_TICK_MS);
    c->tick_entry.cb = on_tick;
    h2o_timeout_init(loop, &c->deadline, conf->redis.timeout_ms);
    c->deadline_entry.cb = on_deadline;
    start_attempt(c);
    return c;
}

void redis_conn_free(struct redis_conn *c)
{
    if (h2o_timeout_is_linked(&c->tick_entry))
        h2o_timeout_unlink(&c->tick_entry);
    if (h2o_timeout_is_linked(&c->deadline_entry))
        h2o_timeout_unlink(&c->deadline_entry);
    h2o_timeout_dispose(c->loop, &c->tick);
    h2o_timeout_dispose(c->loop, &c->deadline);
    c->loop = NULL; /* no reconnect from the disconnect callback */
    c->ready = 0;
    if (c->lookup != NULL)
        h2o_hostinfo_getaddr_cancel(c->lookup);
    if (c->sentinel != NULL) {
        redisAsyncContext *s = c->sentinel;
        c->sentinel = NULL;
        close_quietly(c, s);
    }
    if (c->ac != NULL) {
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        close_quietly(c, ac);
    }
    free(c);
}

redisAsyncContext *redis_conn_context(struct redis_conn *c)
{
    return c->ready ? c->ac : NULL;
}

void redis_conn_drop(struct redis_conn *c, const char *why)
{
    if (c->ac == NULL)
        return;
    log_warn("redis %s: dropping the connection: %s", c->role, why);
    if (!c->ready) {
        /* hiredis calls no disconnect callback for a context that never connected */
        abandon_attempt(c);
        retry_later(c, "connect to", why);
        return;
    }
    /* frees at once: every pending callback gets a NULL reply, then on_disconnect runs */
    c->dropped_why = why;
    redisAsyncFree(c->ac);
    c->dropped_why = NULL;
}

uint64_t redis_conn_reconnects(struct redis_conn *c)
{
    return c->reconnects;
}

const char *redis_conn_last_error(struct redis_conn *c)
{
    return c->ready ? "" : c->last_error;
}

int redis_conn_input_waiting(struct redis_conn *c)
{
    struct pollfd pfd;

    if (!c->ready || c->ac == NULL)
        return 0;
    pfd.fd = c->ac->c.fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) != 0;
}
