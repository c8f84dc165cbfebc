/* figures.c -- the replica's copy of every shard's figures: each cluster's figs string read at most every few
 * seconds, a chunk at a time, aggregated as the chunks arrive (totals, then median and 95th percentile latency) and
 * rendered once as GET /api/figures. The shards' gateway counters (the gw string) are read the same way, a chunk of
 * the same shards after each figures chunk, and the cluster's session counts and budget (its gwc hash) last: what
 * gateway.c concludes from them is tallied per cluster beside the figures.
 *
 * A million shards' figures are 22 MB: read with one command (as the HGETALL of the hash that held them before was),
 * they kept Redis busy for most of a second while the bots' writes queued behind them on the same connection, and
 * hiredis built a reply object per field in the replica. A chunk is one GETRANGE of CHUNK_SHARDS shards; a cluster's
 * next chunk is asked for once the last is in, so a write waits behind one chunk per cluster at most, and a chunk is
 * decoded in its callback, never kept. */
#include "state/figures.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/body_cache.h"
#include "base/codec.h"
#include "base/log.h"
#include "base/shard.h"
#include "state/gateway.h"
#include "state/mirror.h"

/* A cluster's aggregates as of the last read. */
struct cluster_figures {
    uint32_t reporting;                  /* shards with any figures */
    uint64_t guilds, unavailable, members;
    uint32_t with_guilds, with_members;  /* shards that reported guilds, members */
    uint32_t latencies;                  /* shards with a fresh latency */
    uint32_t median, p95;
    uint32_t guilds_max;                 /* the most guilds a shard reported (with_guilds != 0) */
    uint32_t near_cap, near_listed;      /* shards at FIGURES_GUILD_CAP_NEAR guilds or more; how many are listed */
    uint32_t gw_reporting;               /* shards that reported gateway counters */
    uint64_t rate_milli;                 /* the online shards' events per second, in thousandths, summed */
    uint32_t silent, silent_listed, stale_latency; /* gateway.h's marks */
    struct gateway_sessions sessions;
};

/* Shards near the guild cap listed per cluster, lowest ids first; all are counted. A million shards near the cap
 * would otherwise make every GET /api/figures megabytes longer. */
#define NEAR_CAP_LISTED 1000

/* Shards a chunk holds: 64 KiB, whole shards (2,978 of 22 bytes). Measured on Redis 7.0, a GETRANGE of 64 KiB takes
 * about 5 µs and 30-40 µs of Redis's CPU with writing its reply out; 256 KiB took 60-85 µs, near the 0.1 ms a write
 * may wait behind it. Smaller chunks would only add round trips: a million shards are 336 of them. */
#define CHUNK_SHARDS (65536 / STORE_FIGURES_SIZE)

struct figures {
    h2o_loop_t *loop;
    struct store *store;
    struct mirror *mirror;
    const struct conf *conf;
    struct cluster_figures *clusters;
    uint32_t **latency;       /* per cluster, per shard: its latency while fresh and online, or FIGURE_ABSENT */
    uint32_t **near_cap;      /* per cluster, the first NEAR_CAP_LISTED shards near the guild cap */
    uint32_t **silent;        /* per cluster, the first NEAR_CAP_LISTED silent shards */
    h2o_buffer_t *json;       /* where GET /api/figures's body is rendered */
    struct body_cache body;   /* and kept, shared by reference by every request that reads it */
    int loaded;               /* there is a copy (from the first read that succeeded) */
    uint64_t read_at;         /* h2o_now of the last read; 0: none yet, or it must be read again */
    size_t outstanding;       /* clusters still being read in the read under way */
    int failed;               /* one of them could not be */
    char why[128];            /* why the first of them could not be */
    H2O_VECTOR(struct figures_waiter) waiting; /* callers of figures_body waiting for the read under way */
};

struct figures *figures_new(h2o_loop_t *loop, struct store *store, struct mirror *mirror, const struct conf *conf)
{
    struct figures *fig = h2o_mem_alloc(sizeof(*fig));
    size_t i;

    memset(fig, 0, sizeof(*fig));
    fig->loop = loop;
    fig->store = store;
    fig->mirror = mirror;
    fig->conf = conf;
    fig->clusters = calloc(conf->num_clusters, sizeof(*fig->clusters));
    fig->latency = calloc(conf->num_clusters, sizeof(*fig->latency));
    fig->near_cap = calloc(conf->num_clusters, sizeof(*fig->near_cap));
    fig->silent = calloc(conf->num_clusters, sizeof(*fig->silent));
    if (fig->clusters == NULL || fig->latency == NULL || fig->near_cap == NULL || fig->silent == NULL)
        h2o_fatal("out of memory");
    for (i = 0; i != conf->num_clusters; ++i) {
        fig->latency[i] = h2o_mem_alloc(sizeof(uint32_t) * conf->clusters[i].shards);
        fig->near_cap[i] = h2o_mem_alloc(sizeof(uint32_t) * NEAR_CAP_LISTED);
        fig->silent[i] = h2o_mem_alloc(sizeof(uint32_t) * NEAR_CAP_LISTED);
    }
    h2o_buffer_init(&fig->json, &h2o_socket_buffer_prototype);
    body_cache_init(&fig->body, 0);
    return fig;
}

void figures_free(struct figures *fig)
{
    size_t i;

    for (i = 0; i != fig->conf->num_clusters; ++i) {
        free(fig->latency[i]);
        free(fig->near_cap[i]);
        free(fig->silent[i]);
    }
    free(fig->latency);
    free(fig->near_cap);
    free(fig->silent);
    free(fig->clusters);
    free(fig->waiting.entries);
    h2o_buffer_dispose(&fig->json);
    body_cache_dispose(&fig->body);
    free(fig);
}

#define LATENCY_HALF 65536 /* a latency is taken in two halves of 16 bits (kth_latency) */

/* The `k`th smallest (from 0) of the latencies in `latency[0..n)` that are not FIGURE_ABSENT (there are more than
 * `k`), by their halves: a count per high half, then per low half within the high half that holds it. Two passes
 * over the shards, where sorting a million latencies held the loop (and every request on it) for 50-70 ms. `count`
 * has room for LATENCY_HALF counts. */
static uint32_t kth_latency(const uint32_t *latency, size_t n, uint32_t k, uint32_t *count)
{
    uint32_t high = 0, low = 0;
    size_t i;

    memset(count, 0, sizeof(*count) * LATENCY_HALF);
    for (i = 0; i != n; ++i)
        if (latency[i] != FIGURE_ABSENT)
            ++count[latency[i] / LATENCY_HALF];
    for (; k >= count[high]; ++high)
        k -= count[high];
    memset(count, 0, sizeof(*count) * LATENCY_HALF);
    for (i = 0; i != n; ++i)
        if (latency[i] != FIGURE_ABSENT && latency[i] / LATENCY_HALF == high)
            ++count[latency[i] % LATENCY_HALF];
    for (; k >= count[low]; ++low)
        k -= count[low];
    return high * LATENCY_HALF + low;
}

/* The `q`th percentile of the `fresh` latencies in `latency[0..n)`, nearest rank. */
static uint32_t percentile(const uint32_t *latency, size_t n, uint32_t fresh, uint32_t q, uint32_t *count)
{
    uint64_t rank = ((uint64_t)q * fresh + 99) / 100;

    return kth_latency(latency, n, rank == 0 ? 0 : (uint32_t)(rank - 1), count);
}

static void put_optional(h2o_buffer_t **buf, uint32_t value)
{
    if (value == FIGURE_ABSENT)
        codec_put_lit(buf, "null");
    else
        codec_put_u64(buf, value);
}

/* A sum over the shards that reported it, or null when none did. */
static void put_total(h2o_buffer_t **buf, uint32_t reported, uint64_t sum)
{
    if (reported == 0)
        codec_put_lit(buf, "null");
    else
        codec_put_u64(buf, sum);
}

void figures_put_json(h2o_buffer_t **buf, int64_t at_ms, const struct shard_figures *f)
{
    int i;

    if (at_ms == 0) {
        codec_put_lit(buf, "null");
        return;
    }
    for (i = 0; i != NUM_FIGURES; ++i) {
        codec_put(buf, i == 0 ? "{\"" : ",\"", 2);
        codec_put(buf, figure_names[i], strlen(figure_names[i]));
        codec_put_lit(buf, "\":");
        put_optional(buf, f->v[i]);
    }
    codec_put_lit(buf, ",\"near_guild_cap\":");
    if (f->v[FIGURE_GUILDS] != FIGURE_ABSENT && f->v[FIGURE_GUILDS] >= FIGURES_GUILD_CAP_NEAR)
        codec_put_lit(buf, "true");
    else
        codec_put_lit(buf, "false");
    codec_put_lit(buf, ",\"reported_ms\":");
    codec_put_u64(buf, (uint64_t)at_ms);
    codec_put_lit(buf, "}");
}

/* One cluster's read: its chunks are asked for one after the other (a range's figures, then its counters), and its
 * aggregates made aside, so that the copy's aggregates stay whole (those of the last read) until the cluster's last
 * chunk is in. */
struct read {
    struct figures *fig;
    size_t cluster;
    uint32_t next;              /* the first shard of the range asked for */
    uint32_t asked;             /* and how many */
    int counters_next;          /* the range's figures are in: its counters are next */
    int figs_ended, gw_ended;   /* a short chunk said where the string ends: the shards after it never reported */
    struct cluster_figures c;   /* what is made of the chunks so far */
    uint32_t guilds[CHUNK_SHARDS]; /* the range's guilds (FIGURE_ABSENT when not reported), for the silent mark */
};

/* Takes in the chunk asked for: its shards' part of the aggregates, and their fresh latencies (straight into the
 * copy's latency array, which nothing reads before the read is whole: render_json). */
static void take_chunk(struct figures *fig, struct read *r, h2o_iovec_t bytes, int64_t now)
{
    const uint8_t *states = mirror_cluster(fig->mirror, r->cluster)->states;
    struct cluster_figures *c = &r->c;
    uint32_t *latency = fig->latency[r->cluster], id = r->next;
    int64_t fresh_from = now - 2000 * (int64_t)fig->conf->health_timeout_s, at;
    struct shard_figures f;
    size_t i;

    for (i = 0; i + STORE_FIGURES_SIZE <= bytes.len && id != r->next + r->asked; i += STORE_FIGURES_SIZE, ++id) {
        store_figures_decode(bytes.base + i, STORE_FIGURES_SIZE, &at, &f);
        if (at == 0)
            continue; /* never reported any: SETRANGE's padding */
        ++c->reporting;
        r->guilds[id - r->next] = f.v[FIGURE_GUILDS];
        if (f.v[FIGURE_GUILDS] != FIGURE_ABSENT) {
            c->guilds += f.v[FIGURE_GUILDS], ++c->with_guilds;
            if (f.v[FIGURE_GUILDS] > c->guilds_max)
                c->guilds_max = f.v[FIGURE_GUILDS];
            if (f.v[FIGURE_GUILDS] >= FIGURES_GUILD_CAP_NEAR) {
                if (c->near_listed != NEAR_CAP_LISTED)
                    fig->near_cap[r->cluster][c->near_listed++] = id;
                ++c->near_cap;
            }
        }
        if (f.v[FIGURE_UNAVAILABLE] != FIGURE_ABSENT)
            c->unavailable += f.v[FIGURE_UNAVAILABLE];
        if (f.v[FIGURE_MEMBERS] != FIGURE_ABSENT)
            c->members += f.v[FIGURE_MEMBERS], ++c->with_members;
        /* a latency speaks of a live connection: one from before a shard went down is no longer true */
        if (f.v[FIGURE_LATENCY] != FIGURE_ABSENT && at >= fresh_from && states[id] == STATE_ONLINE) {
            latency[id] = f.v[FIGURE_LATENCY];
            ++c->latencies;
        }
    }
}

/* Takes in the counters of the range asked for: the cluster's events per second and the shards' marks. */
static void take_gateway_chunk(struct figures *fig, struct read *r, h2o_iovec_t bytes, int64_t now)
{
    const uint8_t *states = mirror_cluster(fig->mirror, r->cluster)->states;
    const uint32_t *latency = fig->latency[r->cluster];
    struct cluster_figures *c = &r->c;
    struct store_gateway g;
    struct gateway_marks m;
    uint32_t id = r->next;
    size_t i;

    for (i = 0; i + STORE_GATEWAY_SIZE <= bytes.len && id != r->next + r->asked; i += STORE_GATEWAY_SIZE, ++id) {
        store_gateway_decode(bytes.base + i, STORE_GATEWAY_SIZE, &g);
        if (g.at_ms == 0)
            continue;
        ++c->gw_reporting;
        /* what a shard that went down last received is not what the cluster receives now */
        if (g.rate_milli != FIGURE_ABSENT && states[id] == STATE_ONLINE)
            c->rate_milli += g.rate_milli;
        gateway_judge(&g, states[id], r->guilds[id - r->next], latency[id], fig->conf->silent_after_s, &m);
        if (m.silent) {
            if (c->silent_listed != NEAR_CAP_LISTED)
                fig->silent[r->cluster][c->silent_listed++] = id;
            ++c->silent;
        }
        c->stale_latency += m.stale_latency != 0;
    }
}

/* The cluster's last chunk is in: its percentiles, and its aggregates become the copy's. */
static void finish_cluster(struct figures *fig, struct read *r)
{
    const struct conf_cluster *conf = &fig->conf->clusters[r->cluster];
    const uint32_t *latency = fig->latency[r->cluster];
    struct cluster_figures *c = &r->c;
    uint32_t *count;

    if (c->latencies != 0) {
        count = h2o_mem_alloc(sizeof(*count) * LATENCY_HALF);
        c->median = percentile(latency, conf->shards, c->latencies, 50, count);
        c->p95 = percentile(latency, conf->shards, c->latencies, 95, count);
        free(count);
    }
    fig->clusters[r->cluster] = *c;
}

/* A list of shard ids. */
static void put_ids(h2o_buffer_t **buf, const uint32_t *ids, uint32_t n)
{
    uint32_t i;

    codec_put_lit(buf, "[");
    for (i = 0; i != n; ++i) {
        if (i != 0)
            codec_put_lit(buf, ",");
        codec_put_u64(buf, ids[i]);
    }
    codec_put_lit(buf, "]");
}

/* A cluster's "gateway" member: what its counters and session budget say (gateway.h). */
static void put_gateway(h2o_buffer_t **buf, const struct figures *fig, size_t ci)
{
    const struct cluster_figures *c = &fig->clusters[ci];
    const struct gateway_sessions *s = &c->sessions;

    codec_put_lit(buf, ",\"gateway\":{\"reporting\":");
    codec_put_u64(buf, c->gw_reporting);
    codec_put_lit(buf, ",\"events_per_s\":");
    if (c->gw_reporting != 0)
        gateway_put_milli(buf, c->rate_milli);
    else
        codec_put_lit(buf, "null");
    codec_put_lit(buf, ",\"silent\":");
    codec_put_u64(buf, c->silent);
    codec_put_lit(buf, ",\"silent_shards\":");
    put_ids(buf, fig->silent[ci], c->silent_listed);
    codec_put_lit(buf, ",\"stale_latency\":");
    codec_put_u64(buf, c->stale_latency);
    codec_put_lit(buf, ",\"identifies_per_min\":");
    codec_put_u64(buf, s->identifies);
    codec_put_lit(buf, ",\"resumes_per_min\":");
    codec_put_u64(buf, s->resumes);
    codec_put_lit(buf, ",\"sessions_24h\":");
    codec_put_u64(buf, s->day_total);
    codec_put_text(buf, s->storm ? ",\"storm\":true" : ",\"storm\":false");
    codec_put_lit(buf, ",\"session\":");
    if (!s->has_budget) {
        codec_put_lit(buf, "null}");
        return;
    }
    codec_put_lit(buf, "{\"total\":");
    codec_put_u64(buf, s->total);
    codec_put_lit(buf, ",\"remaining\":");
    codec_put_u64(buf, s->remaining);
    codec_put_lit(buf, ",\"reset_at_ms\":");
    codec_put_u64(buf, (uint64_t)s->reset_at_ms);
    codec_put_lit(buf, ",\"max_concurrency\":");
    codec_put_u64(buf, s->max_concurrency);
    codec_put_lit(buf, ",\"reported_ms\":");
    codec_put_u64(buf, (uint64_t)s->reported_ms);
    codec_put_text(buf, s->short_budget ? ",\"short\":true}}" : ",\"short\":false}}");
}

static void render_json(struct figures *fig, int64_t now)
{
    h2o_buffer_t **buf = &fig->json;
    size_t ci, i;

    h2o_buffer_consume(buf, (*buf)->size);
    codec_put_lit(buf, "{\"now_ms\":");
    codec_put_u64(buf, (uint64_t)now);
    codec_put_lit(buf, ",\"clusters\":[");
    for (ci = 0; ci != fig->conf->num_clusters; ++ci) {
        const struct conf_cluster *conf = &fig->conf->clusters[ci];
        const struct cluster_figures *c = &fig->clusters[ci];
        codec_put(buf, ci == 0 ? "{" : ",{", ci == 0 ? 1 : 2);
        codec_put_lit(buf, "\"name\":");
        codec_put_json_string(buf, conf->name, conf->name_len);
        codec_put_lit(buf, ",\"shards\":");
        codec_put_u64(buf, conf->shards);
        codec_put_lit(buf, ",\"reporting\":");
        codec_put_u64(buf, c->reporting);
        codec_put_lit(buf, ",\"guilds\":");
        put_total(buf, c->with_guilds, c->guilds);
        codec_put_lit(buf, ",\"unavailable_guilds\":");
        put_total(buf, c->with_guilds, c->unavailable);
        codec_put_lit(buf, ",\"members\":");
        put_total(buf, c->with_members, c->members);
        codec_put_lit(buf, ",\"guild_cap\":{\"highest\":");
        if (c->with_guilds != 0)
            codec_put_u64(buf, c->guilds_max);
        else
            codec_put_lit(buf, "null");
        codec_put_lit(buf, ",\"near\":");
        codec_put_u64(buf, c->near_cap);
        codec_put_lit(buf, ",\"shards\":");
        put_ids(buf, fig->near_cap[ci], c->near_listed);
        codec_put_lit(buf, "}");
        codec_put_lit(buf, ",\"latency_ms\":");
        if (c->latencies != 0) {
            codec_put_lit(buf, "{\"median\":");
            codec_put_u64(buf, c->median);
            codec_put_lit(buf, ",\"p95\":");
            codec_put_u64(buf, c->p95);
            codec_put_lit(buf, "}");
        } else {
            codec_put_lit(buf, "null");
        }
        put_gateway(buf, fig, ci);
        codec_put_lit(buf, ",\"latency\":[");
        for (i = 0; i != conf->shards; ++i) {
            if (i != 0)
                codec_put_lit(buf, ",");
            put_optional(buf, fig->latency[ci][i]);
        }
        codec_put_lit(buf, "]}");
    }
    codec_put_lit(buf, "]}");
    /* a copy kept whole for its readers: at a million shards it is megabytes, never copied per request */
    body_cache_store(&fig->body, &fig->read_at, 0, (*buf)->bytes, (*buf)->size, 0);
    h2o_buffer_consume(buf, (*buf)->size);
}

static void answer_waiting(struct figures *fig)
{
    size_t i, n = fig->waiting.size;

    fig->waiting.size = 0; /* a callback may ask again */
    for (i = 0; i != n; ++i) {
        struct figures_waiter w = fig->waiting.entries[i];
        if (fig->loaded)
            w.cb(w.data, fig->body.body, NULL);
        else
            w.cb(w.data, NULL, "redis is unavailable; retry");
    }
}

/* A cluster's read is over (`err` NULL: every chunk is in); the read is once every cluster's is. */
static void cluster_done(struct figures *fig, const char *err)
{
    if (err != NULL && !fig->failed) {
        fig->failed = 1;
        snprintf(fig->why, sizeof(fig->why), "%s", err);
    }
    if (--fig->outstanding != 0)
        return;
    if (fig->failed) {
        log_warn("reading the shards' figures: %s", fig->why);
    } else {
        fig->loaded = 1;
        /* read while the mirror was still loading, which shards are online was not known: the next reader reads
         * again */
        fig->read_at = mirror_synced(fig->mirror) ? h2o_now(fig->loop) : 0;
        render_json(fig, log_wall_ms());
    }
    answer_waiting(fig);
}

static void on_chunk(void *data, h2o_iovec_t bytes, const char *err);
static void on_gateway_chunk(void *data, h2o_iovec_t bytes, const char *err);
static void on_sessions(void *data, const struct redisReply *reply, const char *err);

/* Asks for what the cluster's read needs next: a range's figures, then its counters, then the next range, until
 * both strings ended or every shard is read, then the session counts. Returns 0 when a call was sent (its callback
 * goes on), or -1 when none could be (on_* is then not called). */
static int read_next(struct read *r)
{
    struct figures *fig = r->fig;
    uint32_t shards = fig->conf->clusters[r->cluster].shards;
    size_t j;

    for (;;) {
        if (r->next >= shards || (r->figs_ended && r->gw_ended))
            return store_sessions_read(fig->store, r->cluster, on_sessions, r);
        r->asked = shards - r->next < CHUNK_SHARDS ? shards - r->next : CHUNK_SHARDS;
        if (!r->counters_next) {
            r->counters_next = 1;
            for (j = 0; j != r->asked; ++j)
                r->guilds[j] = FIGURE_ABSENT;
            if (!r->figs_ended)
                return store_figures_read(fig->store, r->cluster, (uint64_t)r->next * STORE_FIGURES_SIZE,
                                          (size_t)r->asked * STORE_FIGURES_SIZE, on_chunk, r);
        }
        r->counters_next = 0;
        if (!r->gw_ended)
            return store_gateway_read(fig->store, r->cluster, (uint64_t)r->next * STORE_GATEWAY_SIZE,
                                      (size_t)r->asked * STORE_GATEWAY_SIZE, on_gateway_chunk, r);
        r->next += r->asked;
    }
}

/* A chunk failed, or the next call could not be sent: the cluster's read is over. */
static void read_failed(struct read *r, const char *err)
{
    struct figures *fig = r->fig;

    free(r);
    cluster_done(fig, err);
}

static void on_chunk(void *data, h2o_iovec_t bytes, const char *err)
{
    struct read *r = data;

    if (err != NULL) {
        read_failed(r, err);
        return;
    }
    take_chunk(r->fig, r, bytes, log_wall_ms());
    /* a short chunk is where the string ends: the shards after it never reported figures */
    if (bytes.len != (size_t)r->asked * STORE_FIGURES_SIZE)
        r->figs_ended = 1;
    if (read_next(r) != 0)
        read_failed(r, "redis is unavailable");
}

static void on_gateway_chunk(void *data, h2o_iovec_t bytes, const char *err)
{
    struct read *r = data;

    if (err != NULL) {
        read_failed(r, err);
        return;
    }
    take_gateway_chunk(r->fig, r, bytes, log_wall_ms());
    if (bytes.len != (size_t)r->asked * STORE_GATEWAY_SIZE)
        r->gw_ended = 1;
    r->next += r->asked;
    if (read_next(r) != 0)
        read_failed(r, "redis is unavailable");
}

static void on_sessions(void *data, const struct redisReply *reply, const char *err)
{
    struct read *r = data;
    struct figures *fig = r->fig;

    if (err == NULL && gateway_sessions_read(reply, fig->conf->clusters[r->cluster].shards, log_wall_ms(),
                                             fig->conf->storm_per_minute, &r->c.sessions) != 0)
        err = "unexpected reply from redis";
    if (err != NULL) {
        read_failed(r, err);
        return;
    }
    finish_cluster(fig, r);
    free(r);
    cluster_done(fig, NULL);
}

static int is_fresh(struct figures *fig)
{
    return fig->read_at != 0 && h2o_now(fig->loop) - fig->read_at < FIGURES_FRESH_MS;
}

void figures_refresh(struct figures *fig)
{
    size_t i, j;

    if (fig->outstanding != 0 || is_fresh(fig))
        return;
    fig->failed = 0;
    /* counted whole first, so that a cluster finishing at once cannot finish the read early */
    fig->outstanding = fig->conf->num_clusters + 1;
    for (i = 0; i != fig->conf->num_clusters; ++i) {
        struct read *r = h2o_mem_alloc(sizeof(*r));
        memset(r, 0, sizeof(*r));
        r->fig = fig;
        r->cluster = i;
        for (j = 0; j != fig->conf->clusters[i].shards; ++j)
            fig->latency[i][j] = FIGURE_ABSENT;
        if (read_next(r) != 0) {
            free(r);
            cluster_done(fig, "redis is unavailable");
        }
    }
    if (--fig->outstanding == 0) { /* nothing was sent: Redis is down */
        log_warn("reading the shards' figures: redis is unavailable");
        answer_waiting(fig);
    }
}

void figures_body(struct figures *fig, figures_cb cb, void *data)
{
    if (is_fresh(fig)) {
        cb(data, fig->body.body, NULL);
        return;
    }
    h2o_vector_reserve(NULL, &fig->waiting, fig->waiting.size + 1);
    fig->waiting.entries[fig->waiting.size++] = (struct figures_waiter){cb, data};
    figures_refresh(fig);
}

int figures_cluster_latency(struct figures *fig, size_t cluster, uint32_t *count, uint32_t *median, uint32_t *p95)
{
    const struct cluster_figures *c = &fig->clusters[cluster];

    if (!fig->loaded)
        return -1;
    *count = c->latencies;
    *median = c->latencies != 0 ? c->median : 0;
    *p95 = c->latencies != 0 ? c->p95 : 0;
    return 0;
}

/* The `which`th gateway metric of figures_metrics for one cluster, or 0 bytes when it has none. */
static int gateway_metric(char *line, size_t size, size_t which, const char *metric, const char *cluster,
                          const struct cluster_figures *c)
{
    const struct gateway_sessions *s = &c->sessions;
    uint64_t v;

    if ((which == 0 && c->gw_reporting == 0) || (which >= 6 && !s->has_budget))
        return 0;
    switch (which) {
    case 0:
        return snprintf(line, size, "%s{cluster=\"%s\"} %" PRIu64 ".%03u\n", metric, cluster, c->rate_milli / 1000,
                        (unsigned)(c->rate_milli % 1000));
    case 1: v = c->silent; break;
    case 2: v = c->stale_latency; break;
    case 3: v = s->identifies; break;
    case 4: v = s->resumes; break;
    case 5: v = (uint64_t)s->storm; break;
    case 6: v = s->remaining; break;
    case 7: v = s->total; break;
    default: v = (uint64_t)s->short_budget; break;
    }
    return snprintf(line, size, "%s{cluster=\"%s\"} %" PRIu64 "\n", metric, cluster, v);
}

int figures_marks(struct figures *fig, size_t cluster, struct figures_marks *out)
{
    const struct cluster_figures *c = &fig->clusters[cluster];
    uint32_t i;

    if (!fig->loaded)
        return -1;
    memset(out, 0, sizeof(*out));
    out->silent = c->silent;
    out->stale_latency = c->stale_latency;
    for (i = 0; i != c->silent_listed && i != FIGURES_SILENT_NAMED; ++i)
        out->silent_ids[out->silent_named++] = fig->silent[cluster][i];
    out->sessions = c->sessions;
    out->near_cap = c->near_cap;
    out->guilds_max = c->guilds_max;
    return 0;
}

void figures_metrics(struct figures *fig, h2o_buffer_t **buf)
{
    static const struct {
        const char *name, *help;
    } metric[] = {
        {"glance_cluster_guilds", "Guilds the cluster's shards last reported, summed."},
        {"glance_cluster_unavailable_guilds", "Unavailable guilds the cluster's shards last reported, summed."},
        {"glance_cluster_members", "Members the cluster's shards last reported, summed."},
        {"glance_cluster_latency_ms", "Gateway latency of the cluster's shards that reported one lately, by quantile."},
        {"glance_cluster_shards_reporting_figures", "Shards of the cluster that reported figures."},
        {"glance_cluster_guilds_max", "The most guilds one of the cluster's shards last reported (Discord's cap: 2,500)."},
        {"glance_cluster_shards_near_guild_cap", "Shards of the cluster at 90 % of Discord's 2,500 guilds or more: reshard soon."},
        {"glance_cluster_events_per_second", "Gateway events per second the cluster's online shards receive, summed."},
        {"glance_cluster_shards_silent", "Online shards serving guilds that received no gateway events for GLANCE_SILENT_AFTER."},
        {"glance_cluster_shards_stale_latency", "Silent shards whose latency has not changed since their events stopped."},
        {"glance_cluster_identifies_per_minute", "IDENTIFYs the cluster's shards sent in the last minute."},
        {"glance_cluster_resumes_per_minute", "Sessions the cluster's shards resumed in the last minute."},
        {"glance_cluster_reconnect_storm", "1 while the cluster's identifies and resumes a minute are a storm."},
        {"glance_cluster_session_start_remaining", "Session starts (identifies) left in the cluster's daily budget."},
        {"glance_cluster_session_start_total", "The cluster's daily session start budget."},
        {"glance_cluster_identify_budget_short", "1 when a full restart now would exhaust the cluster's identify budget."},
    };
    char line[256];
    size_t m, ci;
    int n;

    figures_refresh(fig);
    if (!fig->loaded)
        return;
    for (m = 0; m != sizeof(metric) / sizeof(metric[0]); ++m) {
        n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s gauge\n", metric[m].name, metric[m].help,
                     metric[m].name);
        codec_put(buf, line, (size_t)n);
        for (ci = 0; ci != fig->conf->num_clusters; ++ci) {
            const struct cluster_figures *c = &fig->clusters[ci];
            const char *name = fig->conf->clusters[ci].name;
            n = 0;
            if (m == 0 && c->with_guilds != 0)
                n = snprintf(line, sizeof(line), "%s{cluster=\"%s\"} %" PRIu64 "\n", metric[m].name, name, c->guilds);
            else if (m == 1 && c->with_guilds != 0)
                n = snprintf(line, sizeof(line), "%s{cluster=\"%s\"} %" PRIu64 "\n", metric[m].name, name,
                             c->unavailable);
            else if (m == 2 && c->with_members != 0)
                n = snprintf(line, sizeof(line), "%s{cluster=\"%s\"} %" PRIu64 "\n", metric[m].name, name, c->members);
            else if (m == 3 && c->latencies != 0)
                n = snprintf(line, sizeof(line), "%s{cluster=\"%s\",quantile=\"0.5\"} %u\n%s{cluster=\"%s\",quantile=\"0.95\"} %u\n",
                             metric[m].name, name, c->median, metric[m].name, name, c->p95);
            else if (m == 4)
                n = snprintf(line, sizeof(line), "%s{cluster=\"%s\"} %u\n", metric[m].name, name, c->reporting);
            else if (m == 5 && c->with_guilds != 0)
                n = snprintf(line, sizeof(line), "%s{cluster=\"%s\"} %u\n", metric[m].name, name, c->guilds_max);
            else if (m == 6)
                n = snprintf(line, sizeof(line), "%s{cluster=\"%s\"} %u\n", metric[m].name, name, c->near_cap);
            else if (m >= 7)
                n = gateway_metric(line, sizeof(line), m - 7, metric[m].name, name, c);
            codec_put(buf, line, (size_t)n);
        }
    }
}

/* /plain's lines about a cluster's gateway: silent shards, a storm, a short identify budget (its reset in UTC: the
 * page says it in the reader's zone, this page has no script). */
static void gateway_plain(h2o_buffer_t **buf, const char *name, uint32_t shards, const struct cluster_figures *c)
{
    const struct gateway_sessions *s = &c->sessions;
    char line[400], when[40];
    int n;

    if (c->silent != 0) {
        n = snprintf(line, sizeof(line),
                     "<p class=\"figures silent\">%s: %u shard%s online but receiving no gateway events (silent; %u "
                     "with a frozen latency): restart %s.</p>",
                     name, c->silent, c->silent == 1 ? "" : "s", c->stale_latency, c->silent == 1 ? "it" : "them");
        codec_put(buf, line, (size_t)n);
    }
    if (s->storm) {
        n = snprintf(line, sizeof(line),
                     "<p class=\"figures storm\">%s: reconnect storm, %u identifies and %u resumes a minute.</p>", name,
                     s->identifies, s->resumes);
        codec_put(buf, line, (size_t)n);
    }
    if (s->has_budget && s->short_budget) {
        time_t t = (time_t)(s->reset_at_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
        n = snprintf(line, sizeof(line),
                     "<p class=\"figures budget\">%s: a full restart now would exhaust the daily identify budget (%" PRIu64
                     " left, %u shards); it resets at %s.</p>",
                     name, s->remaining, shards, when);
        codec_put(buf, line, (size_t)n);
    }
}

void figures_plain(struct figures *fig, h2o_buffer_t **buf)
{
    char line[320];
    size_t ci;
    int n;

    figures_refresh(fig);
    if (!fig->loaded)
        return;
    for (ci = 0; ci != fig->conf->num_clusters; ++ci) {
        const struct cluster_figures *c = &fig->clusters[ci];
        if (c->reporting == 0) {
            gateway_plain(buf, fig->conf->clusters[ci].name, fig->conf->clusters[ci].shards, c);
            continue;
        }
        n = snprintf(line, sizeof(line), "<p class=\"figures\">%s: %u of %u shards report figures", fig->conf->clusters[ci].name,
                     c->reporting, fig->conf->clusters[ci].shards);
        codec_put(buf, line, (size_t)n);
        if (c->with_guilds != 0) {
            n = snprintf(line, sizeof(line), "; %" PRIu64 " guilds (%" PRIu64 " unavailable)", c->guilds,
                         c->unavailable);
            codec_put(buf, line, (size_t)n);
        }
        if (c->latencies != 0) {
            n = snprintf(line, sizeof(line), "; latency median %u ms, 95th percentile %u ms", c->median, c->p95);
            codec_put(buf, line, (size_t)n);
        }
        codec_put_lit(buf, ".</p>");
        if (c->near_cap != 0) {
            n = snprintf(line, sizeof(line),
                         "<p class=\"figures near-cap\">%s: %u shard%s at 90 %% of Discord's 2,500-guild cap or more "
                         "(the most: %u guilds): reshard soon.</p>",
                         fig->conf->clusters[ci].name, c->near_cap, c->near_cap == 1 ? "" : "s", c->guilds_max);
            codec_put(buf, line, (size_t)n);
        }
        gateway_plain(buf, fig->conf->clusters[ci].name, fig->conf->clusters[ci].shards, c);
    }
}
