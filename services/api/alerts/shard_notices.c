/* shard_notices.c -- the shards each cluster has to ask shard_notice.lua about, and when (see the header).
 *
 * Per cluster: a bit per shard (waiting, or in the call in flight) and the list of those waiting, each with the time
 * to ask. A shard that changes again while it waits keeps its place, though its change restarts the delay: asked
 * early, the script answers "not yet, in so long". A shard that changes while the call about it is in flight is
 * marked (a second bit), since the script may have read it before the change: the answer then puts it back with the
 * whole delay. One call per cluster is in flight at a time, of BATCH shards at most, the next sent as the last is
 * answered: a cluster-wide outage is a few calls in a row, not thousands, and each one notify entry. */
#include "alerts/shard_notices.h"

#include <hiredis/hiredis.h>
#include "h2o.h"
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "base/shard.h"

#define BATCH 1000 /* shards a call: as many as a batch report's, so a call costs Redis what one of those does */
#define RETRY_MS 1000 /* after a call that failed */

struct waiting {
    uint32_t shard;
    int64_t at_ms;
};

struct notice_cluster {
    struct shard_notices *n;
    size_t index;
    uint8_t *queued;  /* a bit per shard: waiting, or in the call in flight */
    uint8_t *changed; /* a bit per shard: changed again while queued (what the call in flight read may be older) */
    struct waiting *list;
    size_t len, cap;
    uint32_t batch[BATCH];
    size_t batch_len;
    int inflight;
};

struct shard_notices {
    const struct conf *conf;
    struct store *store;
    struct mirror *mirror;
    struct notice_cluster *clusters;
    uint64_t said;
};

struct shard_notices *shard_notices_new(const struct conf *conf, struct store *store, struct mirror *mirror)
{
    struct shard_notices *n = h2o_mem_alloc(sizeof(*n));

    memset(n, 0, sizeof(*n));
    n->conf = conf;
    n->store = store;
    n->mirror = mirror;
    if (conf->subscriptions_max == 0)
        return n;
    n->clusters = h2o_mem_alloc(sizeof(*n->clusters) * conf->num_clusters);
    memset(n->clusters, 0, sizeof(*n->clusters) * conf->num_clusters);
    for (size_t i = 0; i != conf->num_clusters; ++i) {
        n->clusters[i].n = n;
        n->clusters[i].index = i;
        n->clusters[i].queued = calloc(conf->clusters[i].shards / 8 + 1, 1);
        n->clusters[i].changed = calloc(conf->clusters[i].shards / 8 + 1, 1);
    }
    return n;
}

void shard_notices_free(struct shard_notices *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; n->clusters != NULL && i != n->conf->num_clusters; ++i) {
        free(n->clusters[i].queued);
        free(n->clusters[i].changed);
        free(n->clusters[i].list);
    }
    free(n->clusters);
    free(n);
}

static void wait_for(struct notice_cluster *nc, uint32_t shard, int64_t at_ms)
{
    if (nc->len == nc->cap) {
        nc->cap = nc->cap == 0 ? 64 : nc->cap * 2;
        nc->list = h2o_mem_realloc(nc->list, sizeof(*nc->list) * nc->cap);
    }
    nc->list[nc->len++] = (struct waiting){shard, at_ms};
    nc->queued[shard / 8] |= (uint8_t)(1u << (shard % 8));
}

void shard_notices_changed(struct shard_notices *n, size_t cluster, uint32_t shard)
{
    struct notice_cluster *nc;
    int state;

    if (n->clusters == NULL || cluster >= n->conf->num_clusters || shard >= n->conf->clusters[cluster].shards)
        return;
    nc = &n->clusters[cluster];
    state = mirror_cluster(n->mirror, cluster)->states[shard];
    if (nc->queued[shard / 8] & (1u << (shard % 8))) {
        nc->changed[shard / 8] |= (uint8_t)(1u << (shard % 8)); /* waiting already: see on_reply */
        return;
    }
    if (state != STATE_UNHEALTHY && state != STATE_OFFLINE && state != STATE_ONLINE)
        return; /* starting, stopping, resuming: on the way; the change that ends it is asked about */
    wait_for(nc, shard, log_wall_ms() + (int64_t)n->conf->alert_delay_s * 1000);
}

static void ask(struct notice_cluster *nc, int64_t now_ms);

static void on_reply(void *data, const redisReply *reply, const char *err)
{
    struct notice_cluster *nc = data;
    int64_t now = log_wall_ms();
    size_t i;

    nc->inflight = 0;
    if (err != NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != nc->batch_len + 1) {
        /* asked again: the store says why on its own */
        for (i = 0; i != nc->batch_len; ++i)
            wait_for(nc, nc->batch[i], now + RETRY_MS);
        nc->batch_len = 0;
        return;
    }
    for (i = 0; i != nc->batch_len; ++i) {
        uint32_t shard = nc->batch[i];
        long long after = reply->element[i]->type == REDIS_REPLY_INTEGER ? reply->element[i]->integer : 0;
        if (nc->changed[shard / 8] & (1u << (shard % 8))) {
            /* changed since it was put in the call: the script may have read the state before, so ask again once the
             * change's own delay has passed */
            nc->changed[shard / 8] &= (uint8_t)~(1u << (shard % 8));
            if (after < (long long)nc->n->conf->alert_delay_s * 1000)
                after = (long long)nc->n->conf->alert_delay_s * 1000;
        }
        if (after > 0)
            wait_for(nc, nc->batch[i], now + after);
        else
            nc->queued[nc->batch[i] / 8] &= (uint8_t)~(1u << (nc->batch[i] % 8));
    }
    if (reply->element[i]->type == REDIS_REPLY_INTEGER && reply->element[i]->integer > 0) {
        nc->n->said += (uint64_t)reply->element[i]->integer;
        log_info("subscriptions: %lld shards of %s to tell their servers of", reply->element[i]->integer,
                 nc->n->conf->clusters[nc->index].name);
    }
    nc->batch_len = 0;
    ask(nc, now); /* the next batch at once: a cluster-wide change is asked about in a few round trips */
}

/* Asks about the cluster's due shards, a batch of them, unless a call is in flight. */
static void ask(struct notice_cluster *nc, int64_t now_ms)
{
    struct shard_notices *n = nc->n;

    if (nc->inflight || nc->len == 0 || !mirror_cluster(n->mirror, nc->index)->synced)
        return;
    /* the due ones, moved out of the list (the last one takes each one's place) */
    for (size_t i = 0; i < nc->len && nc->batch_len != BATCH;) {
        if (nc->list[i].at_ms <= now_ms) {
            nc->batch[nc->batch_len++] = nc->list[i].shard;
            nc->list[i] = nc->list[--nc->len];
        } else {
            ++i;
        }
    }
    if (nc->len == 0 && nc->cap > 4096) {
        /* a cluster-wide change is over: its list goes back to nothing (16 bytes a shard while it lasted) */
        free(nc->list);
        nc->list = NULL;
        nc->cap = 0;
    }
    if (nc->batch_len == 0)
        return;
    nc->inflight = 1;
    if (store_shard_notice(n->store, nc->index, nc->batch, nc->batch_len, n->conf->alert_delay_s * 1000, on_reply, nc) != 0) {
        nc->inflight = 0;
        for (size_t i = 0; i != nc->batch_len; ++i)
            wait_for(nc, nc->batch[i], now_ms + RETRY_MS);
        nc->batch_len = 0;
    }
}

void shard_notices_tick(struct shard_notices *n, int64_t now_ms)
{
    for (size_t c = 0; n->clusters != NULL && c != n->conf->num_clusters; ++c)
        ask(&n->clusters[c], now_ms);
}


uint64_t shard_notices_said(struct shard_notices *n)
{
    return n->said;
}
