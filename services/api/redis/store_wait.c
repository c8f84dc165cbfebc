/* store_wait.c -- durable acknowledgements (GLANCE_REDIS_WAIT_REPLICAS): the writes a replica acknowledges to its
 * clients are answered only once Redis's WAIT says that many of Redis's own replicas have them, so that a Sentinel
 * failover cannot lose a write a bot was told was done. Replication is asynchronous: without this, a 204 sent just
 * before the master dies can name a write the promoted replica never received.
 * One WAIT covers every such write sent in one turn of the loop: the writes join the turn's batch as they are sent,
 * and a zero timeout, which h2o runs after the turn's I/O, sends the WAIT behind them on the same connection; while
 * a WAIT is in flight, the next batch takes the writes of every turn until it answers. Redis
 * answers in order, so every write of the batch has answered before its WAIT does; their replies are kept (copied:
 * hiredis frees its own after the callback) until the WAIT answers, then delivered, or replaced by an error when
 * fewer replicas had them in time (the handlers answer 503: the write may have landed, and a retry is safe). */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "redis/redis_conn.h"
#include "redis/store_call.h"

struct held {
    struct held *next;
    struct call *call;
    redisReply *reply;
};

struct wait_batch {
    struct store *store;
    size_t pending; /* writes sent in its turn that have not answered */
    int answered;   /* its WAIT answered, or could not be sent */
    char why[160];  /* why its writes are not confirmed; empty: confirmed */
    struct held *first, **last;
};

/* The writes that acknowledge a client's request: a bot's states and pings, an operator's incidents, Alertmanager's
 * notifications, a visitor's subscription. Not the replicas' own bookkeeping (expiry, alerts, locks), which a lagging
 * Redis replica must not stall. */
static int durable(const struct call *c)
{
    switch (c->script) {
    case SCRIPT_STATUS:
    case SCRIPT_HEALTH:
    case SCRIPT_REPORT:
    case SCRIPT_ALERTMANAGER:
        return 1;
    default:
        return c->acknowledges; /* an operator's incident, a subscription made or managed: the caller says */
    }
}

/* What a superseded status is answered with, once the status that replaced it is confirmed. */
static const redisReply applied = {.type = REDIS_REPLY_INTEGER, .integer = 0};

static redisReply *reply_copy(const redisReply *r)
{
    redisReply *c = h2o_mem_alloc(sizeof(*c));
    size_t i;

    memset(c, 0, sizeof(*c));
    c->type = r->type;
    c->integer = r->integer;
    if (r->str != NULL) {
        c->str = h2o_mem_alloc(r->len + 1);
        memcpy(c->str, r->str, r->len);
        c->str[r->len] = '\0';
        c->len = r->len;
    }
    if (r->elements != 0) {
        c->element = h2o_mem_alloc(sizeof(*c->element) * r->elements);
        c->elements = r->elements;
        for (i = 0; i != r->elements; ++i)
            c->element[i] = reply_copy(r->element[i]);
    }
    return c;
}

static void reply_free(redisReply *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i != r->elements; ++i)
        reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

/* Delivers a batch whose WAIT has answered and whose writes all have, and frees it. */
static void settle(struct wait_batch *b)
{
    struct held *h, *next;

    if (!b->answered || b->pending != 0)
        return;
    for (h = b->first; h != NULL; h = next) {
        next = h->next;
        if (b->why[0] == '\0')
            store_deliver(h->call, h->reply, NULL);
        else
            store_deliver(h->call, NULL, b->why);
        store_call_free(h->call);
        reply_free(h->reply);
        free(h);
    }
    free(b);
}

static void send_wait(struct store *s);

static void on_wait(redisAsyncContext *ac, void *r, void *privdata)
{
    struct wait_batch *b = privdata;
    struct store *s = b->store;
    const redisReply *reply = r;
    uint32_t want = s->conf->redis.wait_replicas;

    (void)ac;
    if (s->inflight != 0)
        --s->inflight;
    s->last_progress = h2o_now(s->loop);
    if (reply == NULL) {
        snprintf(b->why, sizeof(b->why), STORE_WAIT_ERROR "redis is not answering: the write may not have reached its "
                 "replicas");
    } else if (reply->type != REDIS_REPLY_INTEGER) {
        snprintf(b->why, sizeof(b->why), STORE_WAIT_ERROR "%.120s",
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
    } else if (reply->integer < (long long)want) {
        snprintf(b->why, sizeof(b->why), STORE_WAIT_ERROR "the writes reached %lld of the %u redis replicas they must "
                 "within %u ms (GLANCE_REDIS_WAIT_REPLICAS)", reply->integer, want, s->conf->redis.wait_ms);
    }
    ++s->waits[reply == NULL || reply->type != REDIS_REPLY_INTEGER ? STORE_WAIT_FAILED
               : b->why[0] != '\0'                                ? STORE_WAIT_SHORT
                                                                  : STORE_WAIT_CONFIRMED];
    /* once every 10 s at most: a replica that is down fails every turn's WAIT, and every write with it */
    if (b->why[0] != '\0' && h2o_now(s->loop) - s->wait_logged_at >= 10000) {
        s->wait_logged_at = h2o_now(s->loop);
        log_warn("%s; writes are answered 503 until they do", b->why);
    }
    b->answered = 1;
    s->wait_inflight = 0;
    settle(b);
    if (s->wait_open != NULL)
        send_wait(s);
}

/* Sends the WAIT of the open batch. */
static void send_wait(struct store *s)
{
    struct wait_batch *b = s->wait_open;
    redisAsyncContext *ac = redis_conn_context(s->conn);

    s->wait_open = NULL;
    /* sent from on_wait, the batch's own end of turn may still be due: the next batch of this turn links it again */
    if (h2o_timeout_is_linked(&s->wait_entry))
        h2o_timeout_unlink(&s->wait_entry);
    if (ac != NULL && redisAsyncCommand(ac, on_wait, b, "WAIT %u %u", s->conf->redis.wait_replicas,
                                        s->conf->redis.wait_ms) == REDIS_OK) {
        s->wait_inflight = 1;
        if (s->inflight++ == 0)
            s->last_progress = h2o_now(s->loop);
        return;
    }
    snprintf(b->why, sizeof(b->why), STORE_WAIT_ERROR "redis is not answering: the write may not have reached its "
             "replicas");
    ++s->waits[STORE_WAIT_FAILED];
    b->answered = 1;
    settle(b);
}

/* The end of the loop turn: the WAIT that covers the writes sent in it, unless one is in flight. Redis holds the
 * commands behind a WAIT until it answers, so a second one would only wait behind the first: the batch stays open,
 * takes the writes of the turns to come, and its WAIT goes when the first one answers (on_wait). */
static void on_turn(h2o_timeout_entry_t *entry)
{
    struct store *s = H2O_STRUCT_FROM_MEMBER(struct store, wait_entry, entry);

    if (s->wait_open != NULL && !s->wait_inflight)
        send_wait(s);
}

void store_wait_init(struct store *s)
{
    h2o_timeout_init(s->loop, &s->wait_turn, 0);
    s->wait_entry.cb = on_turn;
}

void store_wait_dispose(struct store *s)
{
    /* the connection is gone: every write has answered (with an error), so the open batch holds none */
    h2o_timeout_unlink(&s->wait_entry);
    if (s->wait_open != NULL) {
        s->wait_open->answered = 1;
        snprintf(s->wait_open->why, sizeof(s->wait_open->why), STORE_WAIT_ERROR "shutting down");
        settle(s->wait_open);
        s->wait_open = NULL;
    }
    h2o_timeout_dispose(s->loop, &s->wait_turn);
}

void store_wait_sent(struct call *c)
{
    struct store *s = c->store;
    struct wait_batch *b = s->wait_open;

    if (s->conf->redis.wait_replicas == 0 || !durable(c))
        return;
    if (b == NULL) {
        b = s->wait_open = h2o_mem_alloc(sizeof(*b));
        memset(b, 0, sizeof(*b));
        b->store = s;
        b->last = &b->first;
        if (!h2o_timeout_is_linked(&s->wait_entry))
            h2o_timeout_link(s->loop, &s->wait_turn, &s->wait_entry);
    }
    c->batch = b;
    ++b->pending;
}

struct wait_batch *store_wait_answered(struct call *c)
{
    struct wait_batch *b = c->batch;

    if (b != NULL) {
        c->batch = NULL;
        --b->pending;
    }
    return b;
}

void store_wait_hold(struct wait_batch *b, struct call *c, const redisReply *reply)
{
    struct held *h = h2o_mem_alloc(sizeof(*h));

    h->next = NULL;
    h->call = c;
    h->reply = reply_copy(reply);
    *b->last = h;
    b->last = &h->next;
    settle(b);
}

void store_wait_release(struct wait_batch *b)
{
    if (b != NULL)
        settle(b);
}

void store_wait_counts(const struct store *s, uint64_t out[STORE_WAIT_OUTCOMES])
{
    memcpy(out, s->waits, sizeof(s->waits));
}

int store_wait_superseded(struct call *c)
{
    struct call **latest = c->store->keys[c->cluster].latest_status, *w, *f;

    /* the write that replaced it was sent after it and, the replies coming in order, has not been answered */
    if (latest == NULL || (w = latest[c->shard]) == NULL || w == c)
        return 0;
    for (f = c->followers; f != NULL && f->next_follower != NULL; f = f->next_follower)
        ;
    if (f != NULL) {
        f->next_follower = w->followers;
        w->followers = c->followers;
    }
    c->followers = NULL;
    c->next_follower = w->followers;
    w->followers = c;
    return 1;
}

void store_wait_followers(struct call *c, struct wait_batch *b, const char *err)
{
    struct call *f, *next;

    for (f = c->followers; f != NULL; f = next) {
        next = f->next_follower;
        f->next_follower = NULL;
        if (b != NULL) {
            store_wait_hold(b, f, &applied);
            continue;
        }
        f->cb.count(f->data, 0, err);
        store_call_free(f);
    }
    c->followers = NULL;
}
