/* bus.c -- the one subscriber connection: published events and key expirations in, listeners out.
 *
 * One connection serves the whole replica, however many feed clients it has: events fan out in-process.
 * A subscriber only ever reads, so a connection that died without a word (a rebooted host, a NAT that forgot
 * the flow) would look idle forever; the bus PINGs it when it has been quiet and drops it if no answer comes
 * within GLANCE_REDIS_TIMEOUT_MS, so the replica resubscribes and resyncs. */
#include "bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn.h"
#include "log.h"
#include "parse.h"

struct bus {
    const struct conf *conf;
    struct bus_listener listener;
    struct conn *conn;
    char events_channel[80];
    char expired_channel[48];
    int confirmations; /* subscribe confirmations seen on this connection */
    uint64_t bad_events;
    h2o_loop_t *loop;
    h2o_timeout_t liveness_interval;
    h2o_timeout_entry_t liveness_tick;
    uint64_t heard_at;     /* when the connection last said anything */
    uint64_t ping_sent_at; /* 0 unless a PING is waiting for its answer */
};

/* A quiet subscriber is asked to answer this often. */
#define LIVENESS_INTERVAL_MS 1000

static int is(const redisReply *r, const char *s)
{
    return r->type == REDIS_REPLY_STRING && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

static void on_message(redisAsyncContext *ac, void *r, void *privdata)
{
    struct bus *b = privdata;
    redisReply *reply = r;
    const redisReply *channel, *payload;

    if (reply == NULL)
        return;
    b->heard_at = h2o_now(b->loop);
    b->ping_sent_at = 0;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return; /* the answer to a PING: ["pong", ""] */
    channel = reply->element[1];
    payload = reply->element[2];
    if (is(reply->element[0], "subscribe")) {
        if (++b->confirmations == 2)
            b->listener.on_subscribed(b->listener.data);
        return;
    }
    if (!is(reply->element[0], "message") || payload->type != REDIS_REPLY_STRING)
        return;
    if (is(channel, b->events_channel)) {
        struct codec_event ev;
        if (codec_decode_event(payload->str, payload->len, &ev) == 0) {
            b->listener.on_event(b->listener.data, &ev);
        } else if (b->bad_events++ == 0) {
            log_warn("bus: ignoring a malformed event on %s (is another program publishing there?)", b->events_channel);
        }
    } else {
        size_t cluster;
        uint32_t shard;
        if (parse_health_key(b->conf, payload->str, payload->len, &cluster, &shard) == 0)
            b->listener.on_expired(b->listener.data, cluster, shard);
    }
}

static void on_conn_ready(struct conn *conn, void *data)
{
    struct bus *b = data;

    b->confirmations = 0;
    b->heard_at = h2o_now(b->loop);
    b->ping_sent_at = 0;
    redisAsyncCommand(conn_context(conn), on_message, b, "SUBSCRIBE %s %s", b->events_channel, b->expired_channel);
}

static void on_liveness_tick(h2o_timeout_entry_t *entry)
{
    struct bus *b = H2O_STRUCT_FROM_MEMBER(struct bus, liveness_tick, entry);
    redisAsyncContext *ac = conn_context(b->conn);
    uint64_t now = h2o_now(b->loop);

    h2o_timeout_link(b->loop, &b->liveness_interval, &b->liveness_tick);
    if (ac == NULL)
        return;
    if (b->ping_sent_at != 0) {
        if (now - b->ping_sent_at >= b->conf->redis.timeout_ms)
            conn_drop(b->conn, "the subscriber did not answer a PING in time");
        return;
    }
    if (now - b->heard_at >= LIVENESS_INTERVAL_MS) {
        /* hiredis 0.14 hands a subscribed context's replies to the oldest waiting callback, so a message that
         * overtakes the pong may arrive here too: the PING shares on_message, which takes either */
        b->ping_sent_at = now;
        redisAsyncCommand(ac, on_message, b, "PING");
    }
}

static void on_conn_lost(struct conn *conn, void *data, const char *why)
{
    struct bus *b = data;
    int was = b->confirmations >= 2;

    b->confirmations = 0;
    b->ping_sent_at = 0;
    if (was)
        b->listener.on_lost(b->listener.data);
}

struct bus *bus_new(h2o_loop_t *loop, const struct conf *conf, const struct bus_listener *listener)
{
    struct bus *b = h2o_mem_alloc(sizeof(*b));

    memset(b, 0, sizeof(*b));
    b->conf = conf;
    b->listener = *listener;
    snprintf(b->events_channel, sizeof(b->events_channel), "%s:events", conf->prefix);
    snprintf(b->expired_channel, sizeof(b->expired_channel), "__keyevent@%u__:expired", conf->redis.db);
    b->loop = loop;
    b->conn = conn_new(loop, conf, "subscriber", on_conn_ready, on_conn_lost, b);
    b->liveness_tick.cb = on_liveness_tick;
    h2o_timeout_init(loop, &b->liveness_interval, LIVENESS_INTERVAL_MS / 4);
    h2o_timeout_link(loop, &b->liveness_interval, &b->liveness_tick);
    return b;
}

void bus_free(struct bus *b)
{
    h2o_timeout_unlink(&b->liveness_tick);
    h2o_timeout_dispose(b->loop, &b->liveness_interval);
    conn_free(b->conn);
    free(b);
}

int bus_subscribed(struct bus *b)
{
    return b->confirmations >= 2 && conn_context(b->conn) != NULL;
}

uint64_t bus_reconnects(struct bus *b)
{
    return conn_reconnects(b->conn);
}
