/* bus.c -- the one subscriber connection: published events and key expirations in, listeners out.
 *
 * One connection serves the whole replica, however many feed clients it has: events fan out in-process.
 *
 * A subscriber only ever reads, so a connection that died without a word (a rebooted host, a NAT that forgot
 * the flow, a Redis frozen by SIGSTOP) would look idle forever. When it has been quiet for a second, the bus
 * publishes a heartbeat through the command connection on a channel of its own that the subscriber listens
 * to, and drops the subscriber if nothing at all arrives on it within GLANCE_REDIS_TIMEOUT_MS. A heartbeat
 * that reached no subscriber (PUBLISH answers 0) means ours is not subscribed where the commands go (an old
 * master after a failover): dropped at once.
 *
 * This relies on how hiredis 0.14 (Debian 12's) routes replies on a subscribed context, pinned by
 * tests/redis/test_hiredis_subscribed.c and written down in docs/RELIABILITY.md:
 *   - every "subscribe" confirmation and every "message" reaches the callback given to SUBSCRIBE, looked up
 *     by channel name, for as long as the context lives, and that callback gets a NULL reply when it is freed;
 *   - a PING on a subscribed context is answered ["pong", ""], which hiredis 0.14 looks up among *pattern*
 *     subscriptions, finds nothing for and drops: the PING's callback never runs. So a PING proves nothing
 *     here (hiredis 1.x routes it to its callback), and the bus never sends one. */
#include "redis/bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "base/parse.h"
#include "redis/redis_conn.h"

/* A subscriber quiet for this long is sent a heartbeat. */
#define LIVENESS_INTERVAL_MS 1000
#define LIVENESS_TICK_MS (LIVENESS_INTERVAL_MS / 4)
/* events, expirations, heartbeats */
#define NUM_CHANNELS 3

struct bus {
    const struct conf *conf;
    struct bus_listener listener;
    struct store *store;
    struct redis_conn *conn;
    char events_channel[80];
    char expired_channel[48];
    char heartbeat_channel[160];
    int confirmations; /* subscribe confirmations seen on this connection */
    uint64_t bad_events;
    h2o_loop_t *loop;
    h2o_timeout_t liveness_interval;
    h2o_timeout_entry_t liveness_tick;
    uint64_t subscribed_at;     /* when SUBSCRIBE was sent on this connection */
    uint64_t heard_at;          /* when the connection last said anything */
    uint64_t heartbeat_sent_at; /* 0 unless a heartbeat is waiting to be heard */
    uint64_t heartbeats;
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

    if (reply == NULL)
        return; /* the context is being freed */
    b->heard_at = h2o_now(b->loop);
    b->heartbeat_sent_at = 0;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
    channel = reply->element[1];
    payload = reply->element[2];
    if (is(reply->element[0], "subscribe")) {
        if (++b->confirmations == NUM_CHANNELS)
            b->listener.on_subscribed(b->listener.data);
        return;
    }
    if (!is(reply->element[0], "message") || payload->type != REDIS_REPLY_STRING)
        return;
    if (is(channel, b->events_channel)) {
        struct codec_event ev;
        if (codec_decode_event(payload->str, payload->len, &ev) != 0) {
            if (b->bad_events++ == 0)
                log_warn("bus: ignoring a malformed event on %s (is another program publishing there?)",
                         b->events_channel);
        } else if (ev.kind == EVENT_PINGS) {
            /* a batch report's pings: one message, heard as the pings they are */
            const unsigned char *id = (const unsigned char *)ev.shards.base;
            ev.kind = EVENT_PING;
            for (size_t i = 0; i != ev.shards.len; i += 4) {
                ev.shard = (uint32_t)id[i] << 24 | (uint32_t)id[i + 1] << 16 | (uint32_t)id[i + 2] << 8 | id[i + 3];
                b->listener.on_event(b->listener.data, &ev);
            }
        } else {
            b->listener.on_event(b->listener.data, &ev);
        }
    } else if (is(channel, b->expired_channel)) {
        size_t cluster;
        uint32_t shard;
        if (parse_health_key(b->conf, payload->str, payload->len, &cluster, &shard) == 0)
            b->listener.on_expired(b->listener.data, cluster, shard);
    }
    /* a heartbeat says nothing beyond having arrived */
}

static void on_conn_ready(struct redis_conn *conn, void *data)
{
    struct bus *b = data;

    b->confirmations = 0;
    b->subscribed_at = b->heard_at = h2o_now(b->loop);
    b->heartbeat_sent_at = 0;
    if (redisAsyncCommand(redis_conn_context(conn), on_message, b, "SUBSCRIBE %s %s %s", b->events_channel,
                          b->expired_channel, b->heartbeat_channel) != REDIS_OK)
        redis_conn_drop(conn, "cannot queue SUBSCRIBE");
}

static void on_heartbeat_published(void *data, long long receivers, const char *err)
{
    struct bus *b = data;

    /* an error is left to the bound: the heartbeat stays unheard */
    if (err == NULL && receivers == 0 && b->heartbeat_sent_at != 0 && bus_subscribed(b))
        redis_conn_drop(b->conn, "its heartbeat reached no subscriber: ours is not subscribed where commands go");
}

static void on_liveness_tick(h2o_timeout_entry_t *entry)
{
    struct bus *b = H2O_STRUCT_FROM_MEMBER(struct bus, liveness_tick, entry);
    uint64_t now = h2o_now(b->loop);
    char payload[24];
    int len;

    h2o_timeout_link(b->loop, &b->liveness_interval, &b->liveness_tick);
    if (redis_conn_context(b->conn) == NULL)
        return;
    if (b->confirmations < NUM_CHANNELS) {
        if (now - b->subscribed_at >= b->conf->redis.timeout_ms)
            redis_conn_drop(b->conn, "SUBSCRIBE was not confirmed within GLANCE_REDIS_TIMEOUT_MS");
        return;
    }
    if (b->heartbeat_sent_at != 0) {
        /* unless it is waiting in the socket for a loop that was busy */
        if (now - b->heartbeat_sent_at >= b->conf->redis.timeout_ms && !redis_conn_input_waiting(b->conn))
            redis_conn_drop(b->conn, "a heartbeat was not heard within GLANCE_REDIS_TIMEOUT_MS");
        return;
    }
    if (now - b->heard_at < LIVENESS_INTERVAL_MS)
        return;
    len = snprintf(payload, sizeof(payload), "%llu", (unsigned long long)++b->heartbeats);
    /* with the command connection down there is no way to prove anything; its own loss is reported */
    if (store_publish(b->store, b->heartbeat_channel, strlen(b->heartbeat_channel), payload, (size_t)len,
                      on_heartbeat_published, b) == 0)
        b->heartbeat_sent_at = now;
}

static void on_conn_lost(struct redis_conn *conn, void *data, const char *why)
{
    struct bus *b = data;
    int was = b->confirmations >= NUM_CHANNELS;

    b->confirmations = 0;
    b->heartbeat_sent_at = 0;
    if (was)
        b->listener.on_lost(b->listener.data);
}

struct bus *bus_new(h2o_loop_t *loop, h2o_multithread_receiver_t *resolver, const struct conf *conf,
                    struct store *store, const struct bus_listener *listener)
{
    struct bus *b = h2o_mem_alloc(sizeof(*b));

    memset(b, 0, sizeof(*b));
    b->conf = conf;
    b->listener = *listener;
    b->store = store;
    snprintf(b->events_channel, sizeof(b->events_channel), "%s:events", conf->prefix);
    snprintf(b->expired_channel, sizeof(b->expired_channel), "__keyevent@%u__:expired", conf->redis.db);
    /* a channel of this process's own, so replicas do not hear each other's heartbeats; the replica's name
     * makes it recognisable in PUBSUB CHANNELS */
    snprintf(b->heartbeat_channel, sizeof(b->heartbeat_channel), "%s:heartbeat:%s:%08x", conf->prefix, conf->replica,
             (unsigned)rand());
    b->loop = loop;
    b->liveness_tick.cb = on_liveness_tick;
    h2o_timeout_init(loop, &b->liveness_interval, LIVENESS_TICK_MS);
    h2o_timeout_link(loop, &b->liveness_interval, &b->liveness_tick);
    b->conn = redis_conn_new(loop, resolver, conf, "subscriber", on_conn_ready, on_conn_lost, b);
    return b;
}

void bus_free(struct bus *b)
{
    h2o_timeout_unlink(&b->liveness_tick);
    h2o_timeout_dispose(b->loop, &b->liveness_interval);
    redis_conn_free(b->conn);
    free(b);
}

int bus_subscribed(struct bus *b)
{
    return b->confirmations >= NUM_CHANNELS && redis_conn_context(b->conn) != NULL;
}

uint64_t bus_reconnects(struct bus *b)
{
    return redis_conn_reconnects(b->conn);
}

uint64_t bus_heartbeats(struct bus *b)
{
    return b->heartbeats;
}

const char *bus_last_error(struct bus *b)
{
    return redis_conn_last_error(b->conn);
}
