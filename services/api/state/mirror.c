/* mirror.c -- the replica's cache of every shard state, kept current from events, rebuilt from snapshots.
 *
 * Start-up and recovery order: subscribe first, then snapshot, then apply the events that came in
 * meanwhile. Events travel on the subscriber connection and snapshots on the command connection, so
 * their order is unknown; the per-cluster version sorts it out: an event at or below the snapshot's
 * version is already in it, the next one applies, and a gap means something was missed. */
#include "state/mirror.h"

#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "base/versions.h"

#define MAX_BUFFERED 65536
/* A snapshot that failed (Redis out of memory, a timeout) is tried again after this, doubling up to the max. */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000
#define RETRY_TICK_MS 50

struct buffered_event {
    size_t cluster;
    uint32_t shard;
    uint8_t state;
    uint64_t version;
};

struct mirror {
    h2o_loop_t *loop;
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
    uint32_t retry_ms;    /* the next backoff after a failed snapshot; 0 while none failed */
    uint64_t retry_at;    /* when to try again; 0 when no retry is due */
    uint64_t snapshot_failures;
    h2o_timeout_t retry_interval;
    h2o_timeout_entry_t retry_tick;
};

struct snapshot_call {
    struct mirror *mirror;
    size_t cluster;
    uint64_t epoch;
};

static void on_retry_tick(h2o_timeout_entry_t *entry);

struct mirror *mirror_new(h2o_loop_t *loop, const struct conf *conf, struct store *store,
                          const struct mirror_listener *listener)
{
    struct mirror *m = h2o_mem_alloc(sizeof(*m));
    size_t i;

    memset(m, 0, sizeof(*m));
    m->loop = loop;
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
    h2o_timeout_init(loop, &m->retry_interval, RETRY_TICK_MS);
    m->retry_tick.cb = on_retry_tick;
    h2o_timeout_link(loop, &m->retry_interval, &m->retry_tick);
    return m;
}

void mirror_free(struct mirror *m)
{
    size_t i;

    h2o_timeout_unlink(&m->retry_tick);
    h2o_timeout_dispose(m->loop, &m->retry_interval);
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

void mirror_versions(struct mirror *m, uint64_t *out)
{
    size_t i;

    for (i = 0; i != m->num_clusters; ++i)
        out[i] = m->clusters[i].version;
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

    switch (version_order(c->version, version)) {
    case VERSION_SEEN:
        return; /* already part of the snapshot */
    case VERSION_GAP:
        log_warn("mirror: cluster %s jumped from version %llu to %llu; taking a snapshot", c->conf->name,
                 (unsigned long long)c->version, (unsigned long long)version);
        c->synced = 0;
        start_snapshot(m, cluster);
        return;
    case VERSION_NEXT:
        break;
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

/* A snapshot failed: the clusters still out of sync are asked for again after a backoff. */
static void schedule_retry(struct mirror *m)
{
    if (m->retry_at != 0)
        return;
    m->retry_ms = m->retry_ms == 0 ? RETRY_FIRST_MS : m->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : m->retry_ms * 2;
    m->retry_at = h2o_now(m->loop) + m->retry_ms;
}

static void on_retry_tick(h2o_timeout_entry_t *entry)
{
    struct mirror *m = H2O_STRUCT_FROM_MEMBER(struct mirror, retry_tick, entry);

    h2o_timeout_link(m->loop, &m->retry_interval, &m->retry_tick);
    if (m->retry_at == 0 || h2o_now(m->loop) < m->retry_at)
        return;
    m->retry_at = 0;
    /* only while wanted: after a loss, the reconnect asks for the resync itself */
    if (m->resync_wanted && store_ready(m->store))
        mirror_resync(m);
}

static void on_snapshot(void *data, uint64_t version, h2o_iovec_t states, const char *err)
{
    struct snapshot_call *call = data;
    struct mirror *m = call->mirror;
    size_t cluster = call->cluster, i;
    struct mirror_cluster *c = &m->clusters[cluster];
    int current = call->epoch == m->epoch;

    free(call);
    c->snapshot_inflight = 0;
    if (!current) {
        /* track was lost while it travelled; if a resync was asked for since, it waited for this one */
        if (m->resync_wanted && !c->synced)
            start_snapshot(m, cluster);
        return;
    }
    if (err != NULL) {
        ++m->snapshot_failures;
        log_warn("mirror: snapshot of %s failed: %s; trying again", c->conf->name, err);
        schedule_retry(m);
        return;
    }
    /* a shard past the end of the string, or with a zero byte, never reported: unknown */
    for (i = 0; i != c->conf->shards; ++i)
        set_state(m, cluster, (uint32_t)i,
                  (uint8_t)(i < states.len ? shard_state_from_byte((unsigned char)states.base[i]) : STATE_UNKNOWN));
    c->version = version;
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
    if (mirror_synced(m))
        m->retry_ms = 0;
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
        schedule_retry(m);
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
    m->retry_at = 0;
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

uint64_t mirror_snapshot_failures(struct mirror *m)
{
    return m->snapshot_failures;
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
