/* summary.c -- what the bot and each cluster are now, for scripts and for badges: computed from the mirror's counts
 * and the maintenance windows in the replica's copy of the incidents (read again when older than a few seconds,
 * so a request may wait for that once in a while), rendered only when what it says changed, and sent with an ETag
 * made from the bytes, so an unchanged badge costs a 304. */
#include "http/summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/codec.h"
#include "base/condition.h"
#include "base/incident_render.h"
#include "base/log.h"
#include "http/app.h"
#include "http/respond.h"
#include "render/badge.h"


struct summary {
    size_t num_clusters;
    struct rendered *svg, *json; /* per cluster, then the whole bot at [num_clusters] */
    struct rendered api;         /* GET /api/summary */
    uint8_t *maintenance;        /* scratch: per cluster, a window is on */
};

struct summary *summary_new(size_t num_clusters)
{
    struct summary *s = h2o_mem_alloc(sizeof(*s));
    size_t i;

    s->num_clusters = num_clusters;
    s->svg = calloc(num_clusters + 1, sizeof(*s->svg));
    s->json = calloc(num_clusters + 1, sizeof(*s->json));
    s->maintenance = calloc(num_clusters + 1, 1);
    if (s->svg == NULL || s->json == NULL || s->maintenance == NULL)
        h2o_fatal("out of memory");
    for (i = 0; i <= num_clusters; ++i) {
        h2o_buffer_init(&s->svg[i].body, &h2o_socket_buffer_prototype);
        h2o_buffer_init(&s->json[i].body, &h2o_socket_buffer_prototype);
    }
    memset(&s->api, 0, sizeof(s->api));
    h2o_buffer_init(&s->api.body, &h2o_socket_buffer_prototype);
    return s;
}

void summary_free(struct summary *s)
{
    size_t i;

    for (i = 0; i <= s->num_clusters; ++i) {
        h2o_buffer_dispose(&s->svg[i].body);
        h2o_buffer_dispose(&s->json[i].body);
    }
    h2o_buffer_dispose(&s->api.body);
    free(s->svg);
    free(s->json);
    free(s->maintenance);
    free(s);
}

int summary_look(struct app *app, json_t *list, uint32_t totals[SHARD_STATE_MAX + 1])
{
    struct summary *s = app->summary;
    int64_t now = log_wall_ms();
    size_t i, counted = 0;

    memset(totals, 0, sizeof(uint32_t) * (SHARD_STATE_MAX + 1));
    for (i = 0; i != s->num_clusters; ++i) {
        const struct mirror_cluster *c = mirror_cluster(app->mirror, i);
        s->maintenance[i] = list != NULL && incident_maintenance_on(list, c->conf->name, now);
        if (s->maintenance[i])
            continue;
        ++counted;
        for (int st = 0; st <= SHARD_STATE_MAX; ++st)
            totals[st] += c->counts[st];
    }
    return counted == 0 && s->num_clusters != 0 ? BADGE_MAINTENANCE : (int)condition_of(totals);
}

int summary_cluster_level(struct app *app, size_t i)
{
    return app->summary->maintenance[i] ? BADGE_MAINTENANCE : (int)condition_of(mirror_cluster(app->mirror, i)->counts);
}

void rendered_seal(struct rendered *r, uint64_t key)
{
    r->key = key;
    snprintf(r->etag, sizeof(r->etag), "\"%016llx\"",
             (unsigned long long)body_hash(BODY_HASH_START, r->body->bytes, r->body->size));
}

int rendered_client_has(h2o_req_t *req, const char *etag)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    h2o_iovec_t v;
    size_t n = strlen(etag);

    if (i < 0)
        return 0;
    v = req->headers.entries[i].value;
    if (v.len == 1 && v.base[0] == '*')
        return 1;
    for (size_t k = 0; k + n <= v.len; ++k)
        if (memcmp(v.base + k, etag, n) == 0)
            return 1;
    return 0;
}

void rendered_send(h2o_req_t *req, const char *type, const struct rendered *r)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, r->etag, strlen(r->etag));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT(SUMMARY_MAX_AGE));
    /* public and read-only: other sites' dashboards and badge services may read it from a browser */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, H2O_STRLIT("*"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    if (rendered_client_has(req, r->etag)) {
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_send_inline(req, "", 0);
        return;
    }
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = r->body->size;
    h2o_send_inline(req, r->body->bytes, r->body->size);
}

/* What a waiting request asked for, in its pending call: `cluster` the badge's cluster (num_clusters for the
 * whole bot), `shard` the kind. */
enum { KIND_SVG, KIND_JSON, KIND_SUMMARY };

static void send_badge(struct app *app, h2o_req_t *req, json_t *list, size_t i, int json)
{
    struct summary *s = app->summary;
    uint32_t totals[SHARD_STATE_MAX + 1];
    int whole = summary_look(app, list, totals);
    int level = i == s->num_clusters ? whole : summary_cluster_level(app, i);
    struct rendered *r = json ? &s->json[i] : &s->svg[i];

    /* the key is what the badge says; +3 keeps it from being 0 (nothing rendered) for any level */
    if (r->key != (uint64_t)(level + 3)) {
        const char *label = i == s->num_clusters ? "status" : app->conf->clusters[i].name;
        h2o_buffer_consume(&r->body, r->body->size);
        if (json)
            badge_shields_json(&r->body, label, level);
        else
            badge_svg(&r->body, label, level);
        rendered_seal(r, (uint64_t)(level + 3));
        ++app->badge_renders;
    }
    rendered_send(req, json ? "application/json" : "image/svg+xml", r);
}

static void send_summary(struct app *app, h2o_req_t *req, json_t *list);

static void on_incidents(void *data, const struct incidents_view *view, const char *err)
{
    struct pending *p = data;
    struct app *app = p->app;
    size_t cluster = p->cluster;
    uint32_t kind = p->shard;
    h2o_req_t *req = pending_finish(p);
    /* without a fresh copy, the last one (a maintenance window may be missed while Redis is away) */
    json_t *list = view != NULL ? view->parsed : incidents_list(app->incidents);

    if (req == NULL)
        return;
    if (kind == KIND_SUMMARY)
        send_summary(app, req, list);
    else
        send_badge(app, req, list, cluster, kind == KIND_JSON);
}

/* Answers once the incidents copy is fresh (at once, mostly). */
static void when_fresh(struct app *app, h2o_req_t *req, size_t cluster, uint32_t kind)
{
    incidents_get(app->incidents, on_incidents, pending_new(app, req, cluster, kind));
}

void summary_badge(struct app *app, h2o_req_t *req, h2o_iovec_t name, int json)
{
    size_t i = app->summary->num_clusters;

    if (name.len != 0) {
        ssize_t c = mirror_find(app->mirror, name.base, name.len);
        if (c < 0) {
            respond_error(req, 404, "Not Found", "no such cluster");
            return;
        }
        i = (size_t)c;
    }
    when_fresh(app, req, i, json ? KIND_JSON : KIND_SVG);
}

static void put_counts(h2o_buffer_t **buf, const uint32_t counts[SHARD_STATE_MAX + 1])
{
    char s[160];
    uint32_t total = 0;
    int n;

    for (int st = 0; st <= SHARD_STATE_MAX; ++st)
        total += counts[st];
    n = snprintf(s, sizeof(s), "\"shards\":%u,\"down\":%u,\"busy\":%u,\"online\":%u,\"unknown\":%u", total,
                 condition_down(counts), condition_busy(counts), counts[STATE_ONLINE], counts[STATE_UNKNOWN]);
    codec_put(buf, s, (size_t)n);
}

static void render_api(struct app *app, int whole, const uint32_t totals[SHARD_STATE_MAX + 1])
{
    struct summary *s = app->summary;
    h2o_buffer_t **buf = &s->api.body;
    size_t i, listed = 0;

    h2o_buffer_consume(buf, (*buf)->size);
    codec_put_lit(buf, "{\"condition\":\"");
    codec_put(buf, badge_message(whole), strlen(badge_message(whole)));
    codec_put_lit(buf, "\",");
    put_counts(buf, totals);
    codec_put_lit(buf, ",\"maintenance\":[");
    for (i = 0; i != s->num_clusters; ++i) {
        if (!s->maintenance[i])
            continue;
        if (listed++ != 0)
            codec_put_lit(buf, ",");
        codec_put_json_string(buf, app->conf->clusters[i].name, strlen(app->conf->clusters[i].name));
    }
    codec_put_lit(buf, "],\"clusters\":[");
    for (i = 0; i != s->num_clusters; ++i) {
        const char *words = badge_message(summary_cluster_level(app, i));
        codec_put(buf, i == 0 ? "{\"name\":" : ",{\"name\":", i == 0 ? 8 : 9);
        codec_put_json_string(buf, app->conf->clusters[i].name, strlen(app->conf->clusters[i].name));
        codec_put_lit(buf, ",\"condition\":\"");
        codec_put(buf, words, strlen(words));
        codec_put_lit(buf, "\",");
        put_counts(buf, mirror_cluster(app->mirror, i)->counts);
        codec_put_lit(buf, "}");
    }
    codec_put_lit(buf, "]}");
}

void summary_get(struct app *app, h2o_req_t *req)
{
    when_fresh(app, req, app->summary->num_clusters, KIND_SUMMARY);
}

static void send_summary(struct app *app, h2o_req_t *req, json_t *list)
{
    struct summary *s = app->summary;
    uint32_t totals[SHARD_STATE_MAX + 1];
    int whole = summary_look(app, list, totals);
    uint64_t key = BODY_HASH_START;
    size_t i;

    /* what the body is made of: every cluster's counts and whether it is under maintenance */
    for (i = 0; i != s->num_clusters; ++i) {
        key = body_hash(key, mirror_cluster(app->mirror, i)->counts, sizeof(uint32_t) * (SHARD_STATE_MAX + 1));
        key = body_hash(key, &s->maintenance[i], 1);
    }
    key |= 1; /* never 0, which means nothing rendered */
    if (s->api.key != key) {
        render_api(app, whole, totals);
        rendered_seal(&s->api, key);
        ++app->summary_renders;
    }
    rendered_send(req, "application/json", &s->api);
}
