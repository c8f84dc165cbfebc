/* latency.c -- the latency history: a once-a-minute claim that one replica of the deployment wins, the winner's
 * write of every cluster's percentiles (from the replica's figures copy), and the history read back for readers.
 *
 * Writing: every replica ticks at the start of each minute (conf->latency_interval_ms: tests tick more often, a
 * minute is still claimed once). A tick makes one call, the claim (latency_claim.lua); only its winner reads the
 * figures (figures_body: the copy is whole when it calls back) and runs latency.lua once per cluster. An idle replica
 * thus makes one cheap call a minute, and N replicas write a minute once.
 *
 * Reading: a cluster's two rings are one HGETALL (at most 2,160 short fields), decoded into scratch slots, rendered
 * as the cluster's JSON object and kept, with GET /api/latency/<cluster>'s body, until the next minute settles
 * (LATENCY_SETTLE_MS after it starts) or this replica writes a minute. Readers in the meantime share those bodies by
 * reference, and readers that come while a read is under way wait for it: a flood of GETs costs Redis at most one read
 * per cluster per minute per replica. */
#include "state/latency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include "base/codec.h"
#include "base/log.h"

#define MINUTE_MS 60000
#define HOUR_MS 3600000

/* One slot of a ring as read: `at` the minute (or hour) it holds, -1 when none. */
struct slot {
    int64_t at;
    uint32_t count, p50, p95;
};

/* A cluster's copy of its history. */
struct cluster_hist {
    struct latency *lat;
    size_t index;
    h2o_buffer_t *object;   /* its JSON object in the clusters array */
    uint64_t stamp;         /* the stamp (see stamp()) that object was read at; 0: none */
    uint64_t reading_stamp; /* the stamp of the read under way */
    int reading;
    int failed;             /* the last read failed: its waiters were told; the next request reads again */
    struct body_cache body; /* GET /api/latency/<cluster>, at `stamp` */
};

struct waiter {
    latency_cb cb;
    void *data;
    size_t cluster; /* or LATENCY_ALL */
};

struct latency {
    h2o_loop_t *loop;
    struct store *store;
    struct figures *figures;
    struct mirror *mirror;
    const struct conf *conf;
    /* h2o 2.2.5's timeouts have one duration each; this one has a single entry, whose delay (to the next tick) is set
     * in its `timeout` before each link: h2o reads it only while the entry is linked (h2o_timeout_run and
     * h2o_timeout_get_wake_at) */
    h2o_timeout_t tick;
    h2o_timeout_entry_t tick_entry;
    int64_t last_minute; /* the last minute this replica tried to claim */
    int64_t writing;     /* the minute being written; -1: none */
    size_t outstanding;  /* its clusters still being written */
    uint64_t generation; /* bumped when this replica wrote a minute: its copy is then read again */
    struct cluster_hist *clusters;
    struct body_cache all; /* GET /api/latency, at the stamp of every cluster */
    struct slot *minutes, *hours; /* scratch for decoding one cluster's rings */
    H2O_VECTOR(struct waiter) waiting;
    uint64_t claims_won, claims_lost, claims_refused, claims_failed, cluster_writes, write_failures, reads;
};

static void arm(struct latency *lat)
{
    uint64_t interval = lat->conf->latency_interval_ms, now = (uint64_t)log_wall_ms();
    uint64_t next = (now / interval + 1) * interval + LATENCY_TICK_OFFSET_MS;

    if (next - now > interval) /* still inside this tick's offset */
        next -= interval;
    lat->tick.timeout = next - now;
    h2o_timeout_link(lat->loop, &lat->tick, &lat->tick_entry);
}

static void write_done(struct latency *lat)
{
    if (--lat->outstanding != 0)
        return;
    lat->writing = -1;
    ++lat->generation; /* this replica's readers see the new minute at once */
}

static void on_written(void *data, long long value, const char *err)
{
    struct latency *lat = data;

    if (err != NULL) {
        ++lat->write_failures;
        log_warn("writing the latency history of minute %lld: %s", (long long)lat->writing, err);
    } else if (value == 1) {
        ++lat->cluster_writes;
    }
    write_done(lat);
}

/* The figures copy is whole: each cluster's percentiles of this minute, or a gap where no shard had a fresh latency. */
static void on_figures(void *data, struct shared_body *body, const char *err)
{
    struct latency *lat = data;
    uint32_t count, p50, p95;
    size_t i;

    if (err != NULL) {
        ++lat->write_failures;
        log_warn("the latency history misses minute %lld: the figures could not be read: %s", (long long)lat->writing,
                 err);
        lat->writing = -1;
        return;
    }
    lat->outstanding = 1; /* held until every call is sent, so that none finishing at once ends the minute */
    for (i = 0; i != lat->conf->num_clusters; ++i) {
        if (figures_cluster_latency(lat->figures, i, &count, &p50, &p95) != 0)
            count = p50 = p95 = 0;
        ++lat->outstanding;
        if (store_latency_write(lat->store, i, lat->writing, count, p50, p95, on_written, lat) != 0)
            on_written(lat, 0, "redis is unavailable");
    }
    write_done(lat);
}

static void on_claim(void *data, long long value, const char *err)
{
    struct latency *lat = data;

    if (err != NULL || value != 1) {
        if (err != NULL) {
            ++lat->claims_failed;
            log_warn("claiming minute %lld of the latency history: %s", (long long)lat->writing, err);
        } else if (value == 0) {
            ++lat->claims_lost;
        } else {
            ++lat->claims_refused;
            log_warn("minute %lld of the latency history is more than a minute away from redis's clock: this "
                     "replica's clock is off, and it does not write the history",
                     (long long)lat->writing);
        }
        lat->writing = -1;
        return;
    }
    ++lat->claims_won;
    figures_body(lat->figures, on_figures, lat);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct latency *lat = H2O_STRUCT_FROM_MEMBER(struct latency, tick_entry, entry);
    int64_t minute = log_wall_ms() / MINUTE_MS;

    arm(lat);
    /* once per minute per replica, and only with what a write needs: a mirror that knows which shards are online
     * (else every latency would be left out, and the minute written as a gap it was not) */
    if (minute <= lat->last_minute || lat->writing >= 0 || !store_ready(lat->store) || !mirror_synced(lat->mirror))
        return;
    lat->last_minute = minute;
    lat->writing = minute;
    if (store_latency_claim(lat->store, minute, on_claim, lat) != 0)
        on_claim(lat, 0, "redis is unavailable");
}

struct latency *latency_new(h2o_loop_t *loop, struct store *store, struct figures *figures, struct mirror *mirror,
                            const struct conf *conf)
{
    struct latency *lat = h2o_mem_alloc(sizeof(*lat));
    size_t i, n = conf->num_clusters;

    memset(lat, 0, sizeof(*lat));
    lat->loop = loop;
    lat->store = store;
    lat->figures = figures;
    lat->mirror = mirror;
    lat->conf = conf;
    lat->last_minute = -1;
    lat->writing = -1;
    lat->clusters = h2o_mem_alloc(sizeof(*lat->clusters) * (n != 0 ? n : 1));
    memset(lat->clusters, 0, sizeof(*lat->clusters) * (n != 0 ? n : 1));
    for (i = 0; i != n; ++i) {
        lat->clusters[i].lat = lat;
        lat->clusters[i].index = i;
        h2o_buffer_init(&lat->clusters[i].object, &h2o_socket_buffer_prototype);
        body_cache_init(&lat->clusters[i].body, 1);
    }
    body_cache_init(&lat->all, 1);
    lat->minutes = h2o_mem_alloc(sizeof(*lat->minutes) * STORE_LATENCY_MINUTES);
    lat->hours = h2o_mem_alloc(sizeof(*lat->hours) * STORE_LATENCY_HOURS);
    h2o_timeout_init(loop, &lat->tick, conf->latency_interval_ms);
    lat->tick_entry.cb = on_tick;
    arm(lat);
    return lat;
}

void latency_free(struct latency *lat)
{
    size_t i;

    h2o_timeout_unlink(&lat->tick_entry);
    h2o_timeout_dispose(lat->loop, &lat->tick);
    for (i = 0; i != lat->conf->num_clusters; ++i) {
        h2o_buffer_dispose(&lat->clusters[i].object);
        body_cache_dispose(&lat->clusters[i].body); /* requests still sending it hold their own reference */
    }
    body_cache_dispose(&lat->all);
    free(lat->clusters);
    free(lat->minutes);
    free(lat->hours);
    free(lat->waiting.entries);
    free(lat);
}

/* What a copy is current at: the minute that settled last, and this replica's writes since. */
static uint64_t stamp(struct latency *lat)
{
    uint64_t settled = ((uint64_t)log_wall_ms() - LATENCY_SETTLE_MS) / MINUTE_MS;

    return (settled << 20) | (lat->generation & 0xfffff);
}

static void put_slot(h2o_buffer_t **buf, int first, int64_t at_ms, const struct slot *s, const char *count_name)
{
    if (!first)
        codec_put_lit(buf, ",");
    codec_put_lit(buf, "{\"at_ms\":");
    codec_put_u64(buf, (uint64_t)at_ms);
    codec_put_lit(buf, ",\"p50_ms\":");
    codec_put_u64(buf, s->p50);
    codec_put_lit(buf, ",\"p95_ms\":");
    codec_put_u64(buf, s->p95);
    codec_put(buf, count_name, strlen(count_name));
    codec_put_u64(buf, s->count);
    codec_put_lit(buf, "}");
}

/* The cluster's object from its decoded rings: the minutes of the last 24 h and the hours of the last 30 days that
 * hold data, oldest first; gaps (a minute written without data, a slot holding an older minute, or nothing) are left
 * out. */
static void render_object(struct latency *lat, struct cluster_hist *c, int64_t now_ms)
{
    const struct conf_cluster *conf = &lat->conf->clusters[c->index];
    int64_t now_min = now_ms / MINUTE_MS, now_hour = now_min / 60, m, h;
    h2o_buffer_t **buf = &c->object;
    int first = 1;

    h2o_buffer_consume(buf, (*buf)->size);
    codec_put_lit(buf, "{\"name\":");
    codec_put_json_string(buf, conf->name, conf->name_len);
    codec_put_lit(buf, ",\"minutes\":[");
    for (m = now_min - STORE_LATENCY_MINUTES + 1; m <= now_min; ++m) {
        const struct slot *s = &lat->minutes[m % STORE_LATENCY_MINUTES];
        if (m >= 0 && s->at == m && s->count != 0) {
            put_slot(buf, first, m * MINUTE_MS, s, ",\"shards\":");
            first = 0;
        }
    }
    codec_put_lit(buf, "],\"hours\":[");
    first = 1;
    for (h = now_hour - STORE_LATENCY_HOURS + 1; h <= now_hour; ++h) {
        const struct slot *s = &lat->hours[h % STORE_LATENCY_HOURS];
        if (h >= 0 && s->at == h && s->count != 0) {
            put_slot(buf, first, h * HOUR_MS, s, ",\"minutes\":");
            first = 0;
        }
    }
    codec_put_lit(buf, "]}");
}

/* A body: {"now_ms":..,"clusters":[..]} around the objects of clusters [from, to). */
static struct shared_body *render_body(struct latency *lat, struct body_cache *cache, uint64_t at, size_t from,
                                       size_t to)
{
    struct shared_body *body;
    h2o_buffer_t *buf;
    size_t i;

    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    codec_put_lit(&buf, "{\"now_ms\":");
    codec_put_u64(&buf, (uint64_t)log_wall_ms());
    codec_put_lit(&buf, ",\"clusters\":[");
    for (i = from; i != to; ++i) {
        if (i != from)
            codec_put_lit(&buf, ",");
        codec_put(&buf, lat->clusters[i].object->bytes, lat->clusters[i].object->size);
    }
    codec_put_lit(&buf, "]}");
    body = body_cache_store(cache, &at, 0, buf->bytes, buf->size, 0);
    h2o_buffer_dispose(&buf);
    return body;
}

static void kick(struct latency *lat);

static void on_read(void *data, const redisReply *reply, const char *err)
{
    struct cluster_hist *c = data;
    struct latency *lat = c->lat;
    size_t i;

    c->reading = 0;
    if (err == NULL && reply->type != REDIS_REPLY_ARRAY)
        err = "unexpected reply from redis";
    if (err != NULL) {
        log_warn("reading the latency history of %s: %s", lat->conf->clusters[c->index].name, err);
        c->failed = 1;
    } else {
        for (i = 0; i != STORE_LATENCY_MINUTES; ++i)
            lat->minutes[i].at = -1;
        for (i = 0; i != STORE_LATENCY_HOURS; ++i)
            lat->hours[i].at = -1;
        for (i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *f = reply->element[i], *v = reply->element[i + 1];
            struct slot s;
            int hour;
            if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
                store_latency_slot(h2o_iovec_init(f->str, f->len), h2o_iovec_init(v->str, v->len), &hour, &s.at,
                                   &s.count, &s.p50, &s.p95) != 0)
                continue; /* not ours: left out, as a gap */
            if (hour)
                lat->hours[s.at % STORE_LATENCY_HOURS] = s;
            else
                lat->minutes[s.at % STORE_LATENCY_MINUTES] = s;
        }
        render_object(lat, c, log_wall_ms());
        c->stamp = c->reading_stamp;
        render_body(lat, &c->body, c->stamp, c->index, c->index + 1);
    }
    kick(lat);
}

static int is_current(struct cluster_hist *c, uint64_t now)
{
    return c->stamp == now && c->body.body != NULL;
}

static void start_read(struct latency *lat, struct cluster_hist *c, uint64_t now)
{
    c->reading = 1;
    c->failed = 0;
    c->reading_stamp = now;
    ++lat->reads;
    if (store_latency_read(lat->store, c->index, on_read, c) != 0) {
        c->reading = 0;
        c->failed = 1;
    }
}

/* Answers the waiters whose clusters are current (or failed), and starts the reads the others need. */
static void kick(struct latency *lat)
{
    uint64_t now = stamp(lat);
    size_t i, j, n, from, to;
    struct waiter *list;

    /* reads first, so that one that cannot be sent is a failure the answers below see */
    for (i = 0; i != lat->waiting.size; ++i) {
        struct waiter *w = &lat->waiting.entries[i];
        from = w->cluster == LATENCY_ALL ? 0 : w->cluster;
        to = w->cluster == LATENCY_ALL ? lat->conf->num_clusters : w->cluster + 1;
        for (j = from; j != to; ++j) {
            struct cluster_hist *c = &lat->clusters[j];
            if (!is_current(c, now) && !c->reading && !c->failed)
                start_read(lat, c, now);
        }
    }
    /* the list is taken whole: a callback may ask again */
    n = lat->waiting.size;
    list = lat->waiting.entries;
    lat->waiting.entries = NULL;
    lat->waiting.size = lat->waiting.capacity = 0;
    for (i = 0; i != n; ++i) {
        struct waiter w = list[i];
        int ready = 1, failed = 0;
        from = w.cluster == LATENCY_ALL ? 0 : w.cluster;
        to = w.cluster == LATENCY_ALL ? lat->conf->num_clusters : w.cluster + 1;
        for (j = from; j != to; ++j) {
            struct cluster_hist *c = &lat->clusters[j];
            if (!is_current(c, now))
                ready = 0;
            if (c->failed && !c->reading)
                failed = 1;
        }
        if (failed) {
            w.cb(w.data, NULL, "redis is unavailable; retry");
        } else if (!ready) {
            h2o_vector_reserve(NULL, &lat->waiting, lat->waiting.size + 1);
            lat->waiting.entries[lat->waiting.size++] = w;
        } else if (w.cluster != LATENCY_ALL) {
            w.cb(w.data, lat->clusters[w.cluster].body.body, NULL);
        } else {
            struct shared_body *body = body_cache_find(&lat->all, &now, 0);
            if (body == NULL)
                body = render_body(lat, &lat->all, now, 0, lat->conf->num_clusters);
            w.cb(w.data, body, NULL);
        }
    }
    free(list);
}

void latency_body(struct latency *lat, size_t cluster, latency_cb cb, void *data)
{
    size_t j, from = cluster == LATENCY_ALL ? 0 : cluster, to = cluster == LATENCY_ALL ? lat->conf->num_clusters : cluster + 1;

    /* a read that failed for earlier readers is tried again for this one */
    for (j = from; j != to; ++j)
        if (!lat->clusters[j].reading)
            lat->clusters[j].failed = 0;
    h2o_vector_reserve(NULL, &lat->waiting, lat->waiting.size + 1);
    lat->waiting.entries[lat->waiting.size++] = (struct waiter){cb, data, cluster};
    kick(lat);
}

void latency_metrics(struct latency *lat, h2o_buffer_t **buf)
{
    char text[1536];
    int n = snprintf(
        text, sizeof(text),
        "# HELP glance_latency_claims_total Minutes of the latency history this replica tried to claim, by outcome: won "
        "(it wrote them), lost (another replica had), refused (its clock is over a minute from redis's), failed.\n"
        "# TYPE glance_latency_claims_total counter\n"
        "glance_latency_claims_total{outcome=\"won\"} %llu\n"
        "glance_latency_claims_total{outcome=\"lost\"} %llu\n"
        "glance_latency_claims_total{outcome=\"refused\"} %llu\n"
        "glance_latency_claims_total{outcome=\"failed\"} %llu\n"
        "# HELP glance_latency_cluster_writes_total A cluster's minute of latency history written by this replica.\n"
        "# TYPE glance_latency_cluster_writes_total counter\n"
        "glance_latency_cluster_writes_total %llu\n"
        "# HELP glance_latency_write_failures_total Minutes, or a cluster's minute, this replica won and could not write.\n"
        "# TYPE glance_latency_write_failures_total counter\n"
        "glance_latency_write_failures_total %llu\n"
        "# HELP glance_latency_reads_total Reads of a cluster's latency history for GET /api/latency (one per cluster "
        "a minute at most, however many ask).\n"
        "# TYPE glance_latency_reads_total counter\n"
        "glance_latency_reads_total %llu\n",
        (unsigned long long)lat->claims_won, (unsigned long long)lat->claims_lost,
        (unsigned long long)lat->claims_refused, (unsigned long long)lat->claims_failed,
        (unsigned long long)lat->cluster_writes, (unsigned long long)lat->write_failures,
        (unsigned long long)lat->reads);

    if (n > 0)
        codec_put(buf, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}
