/* mirror.c -- the replica's cache of every shard state, kept current from events, rebuilt from snapshots.
 *
 * Start-up and recovery order: subscribe first, then snapshot, then apply the events that came in
 * meanwhile. Events travel on the subscriber connection and snapshots on the command connection, so
 * their order is unknown; the per-cluster version sorts it out: an event at or below the snapshot's
 * version is already in it, the next one applies, and a gap means something was missed. */
#include "mirror.h"

#include <stdlib.h>
#include <string.h>
#include "log.h"

#define MAX_BUFFERED 65536

struct buffered_event {
    size_t cluster;
    uint32_t shard;
    uint8_t state;
    uint64_t version;
};

struct mirror {
    const struct conf *conf;
    struct store *store;
    struct mirror_listener listener;
    struct mirror_cluster *clusters;
    size_t num_clusters;
    int lost; /* lost track since the last time every cluster was in sync */
    uint64_t epoch; /* bumped when track is lost: a snapshot asked for before that is worthless */
    int resync_wanted; /* mirror_resync was called since track was last lost */
    H2O_VECTOR(struct buffered_event) buffered; /* events that came while a snapshot was on its way */
    int buffer_overflowed;
};

struct snapshot_call {
    struct mirror *mirror;
    size_t cluster;
    uint64_t epoch;
};

struct mirror *mirror_new(const struct conf *conf, struct store *store, const struct mirror_listener *listener)
{
    struct mirror *m = h2o_mem_alloc(sizeof(*m));
    size_t i;

    memset(m, 0, sizeof(*m));
    m->conf = conf;
    m->store = store;
    m->listener = *listener;
    m->num_clusters = conf->num_clusters;
    m->clusters = h2o_mem_alloc(sizeof(*m->clusters) * m->num_clusters);
    memset(m->clusters, 0, sizeof(*m->clusters) * m->num_clusters);
    for (i = 0; i != m->num_clusters; ++i) {
        struct mirror_cluster *c = &m->clusters[i];
        c->conf = &conf->clusters[i];
        c->states = calloc(c->conf->shards, 1);
        if (c->states == NULL)
            h2o_fatal("out of memory");
        c->counts[STATE_UNKNOWN] = c->conf->shards;
    }
    m->lost = 1;
    return m;
}

void mirror_free(struct mirror *m)
{
    size_t i;

    for (i = 0; i != m->num_clusters; ++i)
        free(m->clusters[i].states);
    free(m->clusters);
    free(m->buffered.entries);
    free(m);
}

size_t mirror_num_clusters(struct mirror *m)
{
    return m->num_clusters;
}

const struct mirror_cluster *mirror_cluster(struct mirror *m, size_t index)
{
    return &m->clusters[index];
}

ssize_t mirror_find(struct mirror *m, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i != m->num_clusters; ++i)
        if (m->clusters[i].conf->name_len == len && memcmp(m->clusters[i].conf->name, name, len) == 0)
            return (ssize_t)i;
    return -1;
}

void mirror_views(struct mirror *m, struct codec_cluster *out)
{
    size_t i;

    for (i = 0; i != m->num_clusters; ++i) {
        const struct mirror_cluster *c = &m->clusters[i];
        out[i] = (struct codec_cluster){h2o_iovec_init(c->conf->name, c->conf->name_len), c->conf->shards, c->version,
                                        c->states};
    }
}

int mirror_synced(struct mirror *m)
{
    size_t i;

    for (i = 0; i != m->num_clusters; ++i)
        if (!m->clusters[i].synced)
            return 0;
    return 1;
}

static void set_state(struct mirror *m, size_t cluster, uint32_t shard, uint8_t state)
{
    struct mirror_cluster *c = &m->clusters[cluster];

    if (c->states[shard] == state)
        return;
    --c->counts[c->states[shard]];
    ++c->counts[state];
    c->states[shard] = state;
    m->listener.on_change(m->listener.data, cluster, shard);
}

static void start_snapshot(struct mirror *m, size_t cluster);

/* Applies an event to a cluster that is in sync. */
static void apply_in_order(struct mirror *m, size_t cluster, uint32_t shard, uint8_t state, uint64_t version)
{
    struct mirror_cluster *c = &m->clusters[cluster];

    if (version <= c->version)
        return; /* already part of the snapshot */
    if (version != c->version + 1) {
        log_warn("mirror: cluster %s jumped from version %llu to %llu; taking a snapshot", c->conf->name,
                 (unsigned long long)c->version, (unsigned long long)version);
        c->synced = 0;
        start_snapshot(m, cluster);
        return;
    }
    c->version = version;
    set_state(m, cluster, shard, state);
}

static void replay_buffered(struct mirror *m, size_t cluster)
{
    size_t i, kept = 0;

    for (i = 0; i != m->buffered.size; ++i) {
        struct buffered_event *e = &m->buffered.entries[i];
        if (e->cluster != cluster) {
            m->buffered.entries[kept++] = *e;
        } else if (m->clusters[cluster].synced) {
            apply_in_order(m, cluster, e->shard, e->state, e->version);
        }
    }
    m->buffered.size = kept;
}

static void on_snapshot(void *data, const redisReply *reply, const char *err)
{
    struct snapshot_call *call = data;
    struct mirror *m = call->mirror;
    size_t cluster = call->cluster, i;
    struct mirror_cluster *c = &m->clusters[cluster];
    const redisReply *pairs;
    int current = call->epoch == m->epoch;

    free(call);
    c->snapshot_inflight = 0;
    if (!current) {
        /* track was lost while it travelled; if a resync was asked for since, it waited for this one */
        if (m->resync_wanted && !c->synced)
            start_snapshot(m, cluster);
        return;
    }
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[1]->type != REDIS_REPLY_ARRAY) {
        log_warn("mirror: snapshot of %s failed: %s", c->conf->name, err != NULL ? err : "unexpected reply");
        return; /* retried when the store is ready again, or by the next mirror_resync */
    }
    pairs = reply->element[1];
    /* states not in the hash are unknown; a shard the snapshot names differently is a change to report */
    {
        uint8_t *seen = calloc(c->conf->shards, 1);
        if (seen == NULL)
            h2o_fatal("out of memory");
        for (i = 0; i + 1 < pairs->elements; i += 2) {
            uint64_t shard, state;
            const redisReply *k = pairs->element[i], *v = pairs->element[i + 1];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || parse_u64(k->str, k->len, &shard) != 0 ||
                parse_u64(v->str, v->len, &state) != 0 || shard >= c->conf->shards || state > SHARD_STATE_MAX)
                continue;
            seen[shard] = 1;
            set_state(m, cluster, (uint32_t)shard, (uint8_t)state);
        }
        for (i = 0; i != c->conf->shards; ++i)
            if (!seen[i])
                set_state(m, cluster, (uint32_t)i, STATE_UNKNOWN);
        free(seen);
    }
    c->version = (uint64_t)reply->element[0]->integer;
    c->synced = 1;
    replay_buffered(m, cluster);
    if (m->buffer_overflowed) {
        /* events were dropped while waiting: nothing can be trusted but another snapshot */
        m->buffer_overflowed = 0;
        for (i = 0; i != m->num_clusters; ++i)
            m->clusters[i].synced = 0;
        mirror_resync(m);
        return;
    }
    if (m->lost && mirror_synced(m)) {
        m->lost = 0;
        log_info("mirror: in sync with Redis");
        m->listener.on_synced(m->listener.data);
    }
}

static void start_snapshot(struct mirror *m, size_t cluster)
{
    struct snapshot_call *call;

    if (m->clusters[cluster].snapshot_inflight)
        return;
    call = h2o_mem_alloc(sizeof(*call));
    *call = (struct snapshot_call){m, cluster, m->epoch};
    if (store_snapshot(m->store, cluster, on_snapshot, call) != 0) {
        free(call);
        return;
    }
    m->clusters[cluster].snapshot_inflight = 1;
}

void mirror_lost(struct mirror *m)
{
    size_t i;

    m->lost = 1;
    ++m->epoch;
    m->resync_wanted = 0;
    for (i = 0; i != m->num_clusters; ++i)
        m->clusters[i].synced = 0;
    m->buffered.size = 0;
}

void mirror_resync(struct mirror *m)
{
    size_t i;

    m->resync_wanted = 1;
    for (i = 0; i != m->num_clusters; ++i)
        if (!m->clusters[i].synced)
            start_snapshot(m, i);
}

ssize_t mirror_apply(struct mirror *m, const struct codec_event *ev)
{
    ssize_t cluster = mirror_find(m, ev->cluster.base, ev->cluster.len);
    struct mirror_cluster *c;

    if (cluster < 0 || ev->shard >= m->clusters[cluster].conf->shards)
        return -1; /* another dashboard's cluster on a shared prefix, or a shard beyond our configuration */
    c = &m->clusters[cluster];
    if (ev->kind == EVENT_PING) {
        m->listener.on_ping(m->listener.data, (size_t)cluster, ev->shard);
        return cluster;
    }
    if (c->synced) {
        apply_in_order(m, (size_t)cluster, ev->shard, ev->state, ev->version);
    } else if (c->snapshot_inflight) {
        if (m->buffered.size == MAX_BUFFERED) {
            m->buffer_overflowed = 1;
            return cluster;
        }
        h2o_vector_reserve(NULL, &m->buffered, m->buffered.size + 1);
        m->buffered.entries[m->buffered.size++] = (struct buffered_event){(size_t)cluster, ev->shard, ev->state, ev->version};
    }
    return cluster;
}
