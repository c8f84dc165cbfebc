/* bus.c -- the one subscriber connection: published events and key expirations in, listeners out.
 *
 * One connection serves the whole replica, however many feed clients it has: events fan out in-process. */
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
};

static int is(const redisReply *r, const char *s)
{
    return r->type == REDIS_REPLY_STRING && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

static void on_message(redisAsyncContext *ac, void *r, void *privdata)
{
    struct bus *b = privdata;
    redisReply *reply = r;
    const redisReply *channel, *payload;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
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
    redisAsyncCommand(conn_context(conn), on_message, b, "SUBSCRIBE %s %s", b->events_channel, b->expired_channel);
}

static void on_conn_lost(struct conn *conn, void *data, const char *why)
{
    struct bus *b = data;
    int was = b->confirmations >= 2;

    b->confirmations = 0;
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
    b->conn = conn_new(loop, conf, "subscriber", on_conn_ready, on_conn_lost, b);
    return b;
}

void bus_free(struct bus *b)
{
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
