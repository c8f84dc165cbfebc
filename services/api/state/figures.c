/* figures.c -- the replica's copy of every shard's figures: each cluster's figs string read at most every few
 * seconds, a chunk at a time, aggregated as the chunks arrive (totals, then median and 95th percentile latency) and
 * rendered once as GET /api/figures.
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
#include "base/body_cache.h"
#include "base/codec.h"
#include "base/log.h"
#include "base/shard.h"
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
    if (fig->clusters == NULL || fig->latency == NULL || fig->near_cap == NULL)
        h2o_fatal("out of memory");
    for (i = 0; i != conf->num_clusters; ++i) {
        fig->latency[i] = h2o_mem_alloc(sizeof(uint32_t) * conf->clusters[i].shards);
        fig->near_cap[i] = h2o_mem_alloc(sizeof(uint32_t) * NEAR_CAP_LISTED);
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
    }
    free(fig->latency);
    free(fig->near_cap);
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

/* One cluster's read: its chunks are asked for one after the other, and its aggregates made aside, so that the
 * copy's aggregates stay whole (those of the last read) until the cluster's last chunk is in. */
struct read {
    struct figures *fig;
    size_t cluster;
    uint32_t next;            /* the first shard of the chunk asked for */
    uint32_t asked;           /* and how many */
    struct cluster_figures c; /* what is made of the chunks so far */
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
        codec_put_lit(buf, ",\"shards\":[");
        for (i = 0; i != c->near_listed; ++i) {
            if (i != 0)
                codec_put_lit(buf, ",");
            codec_put_u64(buf, fig->near_cap[ci][i]);
        }
        codec_put_lit(buf, "]}");
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

/* Asks for the cluster's next chunk. Returns 0, or -1 when it cannot be sent (on_chunk is then not called). */
static int read_chunk(struct read *r)
{
    uint32_t shards = r->fig->conf->clusters[r->cluster].shards;

    r->asked = shards - r->next < CHUNK_SHARDS ? shards - r->next : CHUNK_SHARDS;
    return store_figures_read(r->fig->store, r->cluster, (uint64_t)r->next * STORE_FIGURES_SIZE,
                              (size_t)r->asked * STORE_FIGURES_SIZE, on_chunk, r);
}

static void on_chunk(void *data, h2o_iovec_t bytes, const char *err)
{
    struct read *r = data;
    struct figures *fig = r->fig;

    if (err == NULL) {
        take_chunk(fig, r, bytes, log_wall_ms());
        r->next += r->asked;
        /* a short chunk is where the string ends: the shards after it never reported figures */
        if (bytes.len == (size_t)r->asked * STORE_FIGURES_SIZE && r->next < fig->conf->clusters[r->cluster].shards) {
            if (read_chunk(r) == 0)
                return;
            err = "redis is unavailable";
        } else {
            finish_cluster(fig, r);
        }
    }
    free(r);
    cluster_done(fig, err);
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
        if (read_chunk(r) != 0) {
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
            codec_put(buf, line, (size_t)n);
        }
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
        if (c->reporting == 0)
            continue;
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
    }
}
