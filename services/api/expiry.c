/* expiry.c -- turns silent shards unhealthy: on Redis expiry notifications, and by a bounded periodic sweep.
 *
 * Notifications are the fast path (within Redis' expire cycle of the deadline). Redis expires keys in
 * bursts and every replica hears every expiry, so the expiries heard in one turn of the loop are checked
 * with one script call per cluster rather than one per shard. Pub/sub is fire-and-forget,
 * so a sweep walks every shard in batches: one script call checks SWEEP_BATCH shards (about a millisecond of
 * Redis time), batches run one after another, never in parallel, and at most SWEEP_PER_TICK shards are
 * checked per tick, so a huge fleet cannot monopolise Redis. */
#include "expiry.h"

#include <stdlib.h>
#include <string.h>
#include "log.h"

#define SWEEP_BATCH STORE_MAX_BATCH
#define SWEEP_PER_TICK 20000
#define SWEEP_INTERVAL_MS 1000

struct expiry {
    h2o_loop_t *loop;
    const struct conf *conf;
    struct store *store;
    h2o_timeout_t interval;
    h2o_timeout_entry_t tick;
    H2O_VECTOR(uint32_t) * heard; /* per cluster: expiries heard in this turn of the loop */
    h2o_timeout_t next_turn;
    h2o_timeout_entry_t flush;
    int running;              /* a sweep batch is in flight */
    size_t cursor_cluster;    /* where the walk goes on */
    uint32_t cursor_shard;
    uint32_t budget;          /* shards still to check in this tick */
    uint64_t by_notification, by_sweep;
};

static void next_batch(struct expiry *e);

static void on_expire(void *data, const redisReply *reply, const char *err)
{
    struct expiry *e = data;

    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
        e->by_notification += (uint64_t)reply->integer;
    /* a failure is left to the sweep */
}

static void on_flush(h2o_timeout_entry_t *entry)
{
    struct expiry *e = H2O_STRUCT_FROM_MEMBER(struct expiry, flush, entry);
    size_t cluster, off;

    for (cluster = 0; cluster != e->conf->num_clusters; ++cluster) {
        for (off = 0; off < e->heard[cluster].size; off += STORE_MAX_BATCH) {
            size_t n = e->heard[cluster].size - off < STORE_MAX_BATCH ? e->heard[cluster].size - off : STORE_MAX_BATCH;
            store_expire(e->store, cluster, e->heard[cluster].entries + off, n, on_expire, e);
        }
        e->heard[cluster].size = 0;
    }
}

static void on_sweep(void *data, const redisReply *reply, const char *err)
{
    struct expiry *e = data;

    e->running = 0;
    if (reply == NULL) {
        log_warn("expiry: sweep failed: %s", err);
        return;
    }
    if (reply->type == REDIS_REPLY_INTEGER)
        e->by_sweep += (uint64_t)reply->integer;
    next_batch(e);
}

static void next_batch(struct expiry *e)
{
    const struct conf_cluster *c;
    uint32_t end;

    if (e->budget == 0 || !store_ready(e->store))
        return;
    c = &e->conf->clusters[e->cursor_cluster];
    end = c->shards - e->cursor_shard > SWEEP_BATCH ? e->cursor_shard + SWEEP_BATCH : c->shards;
    if (store_sweep(e->store, e->cursor_cluster, e->cursor_shard, end, on_sweep, e) != 0)
        return;
    e->running = 1;
    e->budget = e->budget > end - e->cursor_shard ? e->budget - (end - e->cursor_shard) : 0;
    if (end == c->shards) {
        e->cursor_shard = 0;
        e->cursor_cluster = (e->cursor_cluster + 1) % e->conf->num_clusters;
    } else {
        e->cursor_shard = end;
    }
}

static void start_pass(struct expiry *e)
{
    size_t total = 0, i;

    for (i = 0; i != e->conf->num_clusters; ++i)
        total += e->conf->clusters[i].shards;
    e->budget = total < SWEEP_PER_TICK ? (uint32_t)total : SWEEP_PER_TICK;
    if (!e->running)
        next_batch(e);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct expiry *e = H2O_STRUCT_FROM_MEMBER(struct expiry, tick, entry);

    start_pass(e);
    h2o_timeout_link(e->loop, &e->interval, &e->tick);
}

struct expiry *expiry_new(h2o_loop_t *loop, const struct conf *conf, struct store *store)
{
    struct expiry *e = h2o_mem_alloc(sizeof(*e));

    *e = (struct expiry){loop, conf, store};
    e->heard = h2o_mem_alloc(sizeof(*e->heard) * conf->num_clusters);
    memset(e->heard, 0, sizeof(*e->heard) * conf->num_clusters);
    h2o_timeout_init(loop, &e->next_turn, 0);
    e->flush.cb = on_flush;
    h2o_timeout_init(loop, &e->interval, SWEEP_INTERVAL_MS);
    e->tick.cb = on_tick;
    h2o_timeout_link(loop, &e->interval, &e->tick);
    return e;
}

void expiry_free(struct expiry *e)
{
    size_t i;

    h2o_timeout_unlink(&e->tick);
    h2o_timeout_unlink(&e->flush);
    h2o_timeout_dispose(e->loop, &e->interval);
    h2o_timeout_dispose(e->loop, &e->next_turn);
    for (i = 0; i != e->conf->num_clusters; ++i)
        free(e->heard[i].entries);
    free(e->heard);
    free(e);
}

void expiry_on_expired(struct expiry *e, size_t cluster, uint32_t shard)
{
    h2o_vector_reserve(NULL, &e->heard[cluster], e->heard[cluster].size + 1);
    e->heard[cluster].entries[e->heard[cluster].size++] = shard;
    if (!h2o_timeout_is_linked(&e->flush))
        h2o_timeout_link(e->loop, &e->next_turn, &e->flush);
}

void expiry_on_store_ready(struct expiry *e)
{
    e->running = 0; /* a batch in flight on the old connection has been answered with an error */
    start_pass(e);
}

uint64_t expiry_by_notification(struct expiry *e)
{
    return e->by_notification;
}

uint64_t expiry_by_sweep(struct expiry *e)
{
    return e->by_sweep;
}
