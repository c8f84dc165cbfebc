/* figures.c -- the replica's copy of every shard's figures: one HGETALL per cluster at most every few seconds,
 * aggregated once per read (totals, median and 95th percentile latency) and rendered once as GET /api/figures. */
#include "figures.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include "body_cache.h"
#include "codec.h"
#include "log.h"
#include "mirror.h"
#include "parse.h"
#include "respond.h"
#include "shard.h"

/* A cluster's aggregates as of the last read. */
struct cluster_figures {
    uint32_t reporting;                  /* shards with any figures */
    uint64_t guilds, unavailable, members;
    uint32_t with_guilds, with_members;  /* shards that reported guilds, members */
    uint32_t latencies;                  /* shards with a fresh latency */
    uint32_t median, p95;
};

struct figures {
    h2o_loop_t *loop;
    struct store *store;
    struct mirror *mirror;
    const struct conf *conf;
    struct cluster_figures *clusters;
    uint32_t **latency;       /* per cluster, per shard: its latency while fresh and online, or FIGURE_ABSENT */
    h2o_buffer_t *json;       /* where GET /api/figures's body is rendered */
    struct body_cache body;   /* and kept, shared by reference by every request that reads it */
    int loaded;               /* there is a copy (from the first read that succeeded) */
    uint64_t read_at;         /* h2o_now of the last read; 0: none yet, or it must be read again */
    size_t outstanding;       /* clusters still to answer the read under way */
    int failed;               /* one of them did not */
    H2O_VECTOR(struct pending *) waiting;
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
    if (fig->clusters == NULL || fig->latency == NULL)
        h2o_fatal("out of memory");
    for (i = 0; i != conf->num_clusters; ++i)
        fig->latency[i] = h2o_mem_alloc(sizeof(uint32_t) * conf->clusters[i].shards);
    h2o_buffer_init(&fig->json, &h2o_socket_buffer_prototype);
    body_cache_init(&fig->body, 0);
    return fig;
}

void figures_free(struct figures *fig)
{
    size_t i;

    for (i = 0; i != fig->conf->num_clusters; ++i)
        free(fig->latency[i]);
    free(fig->latency);
    free(fig->clusters);
    free(fig->waiting.entries);
    h2o_buffer_dispose(&fig->json);
    body_cache_dispose(&fig->body);
    free(fig);
}

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The `q`th percentile of sorted `v[0..n)`, nearest rank. */
static uint32_t percentile(const uint32_t *v, uint32_t n, uint32_t q)
{
    uint64_t rank = ((uint64_t)q * n + 99) / 100;

    return v[rank == 0 ? 0 : rank - 1];
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
    codec_put_lit(buf, ",\"reported_ms\":");
    codec_put_u64(buf, (uint64_t)at_ms);
    codec_put_lit(buf, "}");
}

/* Takes in one cluster's HGETALL: its aggregates and its shards' fresh latencies. */
static void take_cluster(struct figures *fig, size_t ci, const redisReply *reply, int64_t now)
{
    const struct conf_cluster *conf = &fig->conf->clusters[ci];
    const uint8_t *states = mirror_cluster(fig->mirror, ci)->states;
    struct cluster_figures *c = &fig->clusters[ci];
    uint32_t *latency = fig->latency[ci], *sorted;
    int64_t fresh_from = now - 2000 * (int64_t)fig->conf->health_timeout_s, at;
    struct shard_figures f;
    uint64_t id;
    size_t i;

    memset(c, 0, sizeof(*c));
    for (i = 0; i != conf->shards; ++i)
        latency[i] = FIGURE_ABSENT;
    for (i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            store_figures_decode(v->str, v->len, &at, &f) != 0 || parse_u64(k->str, k->len, &id) != 0 ||
            id >= conf->shards)
            continue; /* not a shard's figures, or one of a cluster that has since shrunk */
        ++c->reporting;
        if (f.v[FIGURE_GUILDS] != FIGURE_ABSENT)
            c->guilds += f.v[FIGURE_GUILDS], ++c->with_guilds;
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
    if (c->latencies == 0)
        return;
    sorted = h2o_mem_alloc(sizeof(*sorted) * c->latencies);
    for (i = 0, id = 0; i != conf->shards; ++i)
        if (latency[i] != FIGURE_ABSENT)
            sorted[id++] = latency[i];
    qsort(sorted, c->latencies, sizeof(*sorted), by_value);
    c->median = percentile(sorted, c->latencies, 50);
    c->p95 = percentile(sorted, c->latencies, 95);
    free(sorted);
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
    size_t i;

    for (i = 0; i != fig->waiting.size; ++i) {
        struct app *app = fig->waiting.entries[i]->app;
        h2o_req_t *req = pending_finish(fig->waiting.entries[i]);
        if (req == NULL)
            continue;
        if (!fig->loaded)
            respond_unavailable(req, "redis is unavailable; retry");
        else
            respond_send_shared(app, req, "no-store", "application/json", fig->body.body, h2o_iovec_init(NULL, 0));
    }
    fig->waiting.size = 0;
}

struct read {
    struct figures *fig;
    size_t cluster;
};

static void on_cluster(void *data, const redisReply *reply, const char *err)
{
    struct read *r = data;
    struct figures *fig = r->fig;

    if (err == NULL && reply->type == REDIS_REPLY_ARRAY)
        take_cluster(fig, r->cluster, reply, log_wall_ms());
    else
        fig->failed = 1;
    free(r);
    if (--fig->outstanding != 0)
        return;
    if (fig->failed) {
        log_warn("reading the shards' figures: %s", err != NULL ? err : "a reply of the wrong shape");
    } else {
        fig->loaded = 1;
        /* read while the mirror was still loading, which shards are online was not known: the next reader reads
         * again */
        fig->read_at = mirror_synced(fig->mirror) ? h2o_now(fig->loop) : 0;
        render_json(fig, log_wall_ms());
    }
    answer_waiting(fig);
}

static int is_fresh(struct figures *fig)
{
    return fig->read_at != 0 && h2o_now(fig->loop) - fig->read_at < FIGURES_FRESH_MS;
}

void figures_refresh(struct figures *fig)
{
    size_t i;

    if (fig->outstanding != 0 || is_fresh(fig))
        return;
    fig->failed = 0;
    /* counted whole first, so that a reply arriving at once cannot finish the read early */
    fig->outstanding = fig->conf->num_clusters + 1;
    for (i = 0; i != fig->conf->num_clusters; ++i) {
        struct read *r = h2o_mem_alloc(sizeof(*r));
        *r = (struct read){fig, i};
        if (store_figures(fig->store, i, on_cluster, r) != 0) {
            free(r);
            fig->failed = 1;
            --fig->outstanding;
        }
    }
    if (--fig->outstanding == 0) { /* nothing was sent: Redis is down */
        log_warn("reading the shards' figures: redis is unavailable");
        answer_waiting(fig);
    }
}

void figures_get(struct app *app, h2o_req_t *req)
{
    struct figures *fig = app->figures;

    if (is_fresh(fig)) {
        respond_send_shared(app, req, "no-store", "application/json", fig->body.body, h2o_iovec_init(NULL, 0));
        return;
    }
    h2o_vector_reserve(NULL, &fig->waiting, fig->waiting.size + 1);
    fig->waiting.entries[fig->waiting.size++] = pending_new(app, req, 0, 0);
    figures_refresh(fig);
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
    }
}
