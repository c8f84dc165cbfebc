/* routes.c -- the route table and one small handler per endpoint.
 *
 * Every check that can fail runs before Redis is asked anything, so a rejected request changes nothing. */
#include "http/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/codec.h"
#include "base/incident_input.h"
#include "base/alertmanager_input.h"
#include "http/alertmanager_routes.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/shard.h"
#include "http/history_routes.h"
#include "http/read_queue.h"
#include "http/render_gate.h"
#include "http/report_routes.h"
#include "http/statuspage_routes.h"
#include "http/subscription_routes.h"
#include "http/respond.h"
#include "http/summary.h"
#include "http/web_pages.h"
#include "render/pages.h"
#include "state/figures.h"
#include "state/gateway.h"
#include "state/latency.h"

struct routes_handler {
    h2o_handler_t super;
    struct app *app;
};

/* Reads of one shard's story, or of the alerts, in flight at once per replica (read_queue.h): each is a script of
 * about 50 us, so the bots' writes wait behind at most this many */
#define ROUTES_READS_IN_FLIGHT 4
/* GET /api/alerts lists this many */
#define ROUTES_ALERTS_LISTED 50

#define IS(seg, lit) ((seg).len == sizeof(lit) - 1 && memcmp((seg).base, (lit), sizeof(lit) - 1) == 0)

/* The mirror's versions now, in app->versions. */
static const uint64_t *current_versions(struct app *app)
{
    mirror_versions(app->mirror, app->versions);
    return app->versions;
}

static void send_buffer(h2o_req_t *req, const char *type, h2o_buffer_t *buf)
{
    respond_send(req, 200, "OK", type, buf->bytes, buf->size);
}

static void send_json_buffer(h2o_req_t *req, h2o_buffer_t *buf)
{
    send_buffer(req, "application/json", buf);
}

static void send_no_content(h2o_req_t *req)
{
    req->res.status = 204;
    req->res.reason = "No Content";
    h2o_send_inline(req, "", 0);
}

/* Resolves "<cluster>/<id>" segments. Returns 0, or sends 400 and returns -1. */
static int parse_shard(struct app *app, h2o_req_t *req, h2o_iovec_t name, h2o_iovec_t id, size_t *cluster,
                       uint32_t *shard)
{
    ssize_t c = mirror_find(app->mirror, name.base, name.len);
    uint64_t n;
    char msg[160];

    if (c < 0) {
        snprintf(msg, sizeof(msg), "unknown cluster \"%.*s\"", (int)name.len, name.base);
        respond_bad_request(req, msg);
        return -1;
    }
    if (parse_u64(id.base, id.len, &n) != 0 || n >= app->conf->clusters[c].shards) {
        snprintf(msg, sizeof(msg), "shard id must be a whole number from 0 to %u for cluster \"%s\"",
                 app->conf->clusters[c].shards - 1, app->conf->clusters[c].name);
        respond_bad_request(req, msg);
        return -1;
    }
    *cluster = (size_t)c;
    *shard = (uint32_t)n;
    return 0;
}

static void on_write_reply(void *data, long long result, const char *err)
{
    struct pending *p = data;
    h2o_req_t *req = pending_finish(p);

    if (req == NULL)
        return;
    if (err != NULL) {
        if (!STORE_WAIT_FAILED_WRITE(err))
            log_warn("write failed: %s", err);
        respond_unavailable(req, "redis did not confirm the write; retry");
        return;
    }
    if (result == -1) {
        respond_error(req, 409, "Conflict", "health ping for a shard that has never reported a status");
        return;
    }
    send_no_content(req);
}

/* The optional figures of a status report or ping: the query's, and a JSON body's (Content-Type application/json;
 * other bodies are ignored, as the original ignored them all), the body's winning where both give one. Returns 0,
 * or sends 400 and returns -1. */
static int read_figures(h2o_req_t *req, struct shard_figures *f)
{
    struct shard_figures body;
    char err[200];

    figures_clear(f);
    if (req->query_at != SIZE_MAX && figures_from_query(req->path.base + req->query_at + 1,
                                                        req->path.len - req->query_at - 1, f, err, sizeof(err)) != 0)
        goto bad;
    if (req->entity.len != 0 && respond_has_type(req, "application/json")) {
        if (figures_from_json(req->entity.base, req->entity.len, &body, err, sizeof(err)) != 0)
            goto bad;
        figures_merge(f, &body);
        if (figures_check(f, "", err, sizeof(err)) != 0)
            goto bad;
    }
    return 0;
bad:
    respond_bad_request(req, err);
    return -1;
}

static void post_status(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    size_t cluster;
    uint32_t shard;
    uint64_t state;
    struct shard_figures figures;
    struct pending *pending;

    if (respond_check_passphrase(app, req) != 0 || parse_shard(app, req, p->seg[2], p->seg[3], &cluster, &shard) != 0)
        return;
    if (parse_u64(p->seg[4].base, p->seg[4].len, &state) != 0 || state > SHARD_STATE_MAX) {
        respond_bad_request(req, "state must be a whole number from 0 to 6");
        return;
    }
    if (read_figures(req, &figures) != 0)
        return;
    pending = pending_new(app, req, cluster, shard);
    if (store_status(app->store, cluster, shard, (int)state, &figures,
                     mirror_cluster(app->mirror, cluster)->states[shard] == state, on_write_reply, pending) != 0)
        pending_unsent(pending);
}

static void post_health(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    size_t cluster;
    uint32_t shard;
    struct shard_figures figures;
    struct pending *pending;

    if (respond_check_passphrase(app, req) != 0 || parse_shard(app, req, p->seg[2], p->seg[3], &cluster, &shard) != 0 ||
        read_figures(req, &figures) != 0)
        return;
    pending = pending_new(app, req, cluster, shard);
    if (store_health(app->store, cluster, shard, &figures,
                     mirror_cluster(app->mirror, cluster)->states[shard] != STATE_UNHEALTHY, on_write_reply, pending) != 0)
        pending_unsent(pending);
}

static void on_alerts_reply(void *data, h2o_iovec_t json, const char *err)
{
    struct app *app = ((struct pending *)data)->app;
    h2o_req_t *req = pending_finish(data);

    read_queue_done(app->alert_reads);
    if (req == NULL)
        return;
    if (err != NULL) {
        respond_unavailable(req, "redis is unavailable; retry");
        return;
    }
    respond_send(req, 200, "OK", "application/json", json.base, json.len);
}

static void start_alerts_read(struct app *app, struct pending *pending)
{
    if (store_alerts(app->store, ROUTES_ALERTS_LISTED, on_alerts_reply, pending) != 0) {
        pending_unsent(pending);
        read_queue_done(app->alert_reads);
    }
}

/* The latest alerts (conditions that held for GLANCE_ALERT_DELAY), newest first; behind the passphrase, as the
 * writes are: an outage's history is the operators' to share. */
static void get_alerts(struct app *app, h2o_req_t *req)
{
    struct pending *pending;

    if (respond_check_passphrase(app, req) != 0)
        return;
    pending = pending_new(app, req, 0, 0);
    read_queue_run(app->alert_reads, app, pending, start_alerts_read);
}

static void get_snapshot(struct app *app, h2o_req_t *req)
{
    const uint64_t *versions = current_versions(app);
    struct shared_body *body = body_cache_find(&app->status_body, versions, 0);

    if (body == NULL && !render_gate_pass(app->status_gate, req))
        return; /* get_snapshot again when the gate opens */
    if (body == NULL) {
        size_t n = mirror_num_clusters(app->mirror);
        struct codec_cluster *views = h2o_mem_alloc_pool(&req->pool, sizeof(*views) * n);
        h2o_buffer_t *buf;
        mirror_views(app->mirror, views);
        h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
        codec_status(&buf, views, n);
        body = body_cache_store(&app->status_body, versions, 0, buf->bytes, buf->size, 0);
        ++app->status_renders;
        h2o_buffer_dispose(&buf);
    }
    respond_send_shared(app, req, "no-store", "application/json", body, h2o_iovec_init(NULL, 0));
}

static void on_shard_reply(void *data, const struct store_shard_info *info, const char *err)
{
    struct pending *p = data;
    struct app *app = p->app;
    size_t cluster = p->cluster;
    uint32_t shard = p->shard;
    h2o_req_t *req = pending_finish(p);
    int state;
    char head[512];
    int n;
    h2o_buffer_t *buf;
    struct gateway_marks marks;

    read_queue_done(app->shard_reads);

    if (req == NULL)
        return;
    if (err != NULL) {
        respond_unavailable(req, "redis is unavailable; retry");
        return;
    }
    /* a shard that never reported reads as unknown, as it does everywhere else */
    state = info->state < 0 ? STATE_UNKNOWN : info->state;
    n = snprintf(head, sizeof(head),
                 "{\"cluster\":\"%s\",\"shard\":%u,\"state\":%d,\"state_name\":\"%s\",\"since_ms\":%lld,"
                 "\"healthy_until_ms\":%lld,",
                 app->conf->clusters[cluster].name, shard, state, state_name(state), (long long)info->since_ms,
                 (long long)info->healthy_until_ms);
    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    codec_put(&buf, head, (size_t)n);
    codec_put(&buf, info->story.base, info->story.len); /* shard.lua's members: transitions, availability, ... */
    codec_put_lit(&buf, ",\"figures\":");
    figures_put_json(&buf, info->figures_at_ms, &info->figures);
    codec_put_lit(&buf, ",\"gateway\":");
    gateway_judge(&info->gateway, state, info->figures_at_ms != 0 ? info->figures.v[FIGURE_GUILDS] : FIGURE_ABSENT,
                  info->figures_at_ms != 0 ? info->figures.v[FIGURE_LATENCY] : FIGURE_ABSENT,
                  app->conf->silent_after_s, &marks);
    gateway_put_json(&buf, &info->gateway, &marks);
    codec_put_lit(&buf, "}");
    send_json_buffer(req, buf);
    h2o_buffer_dispose(&buf);
}

static void start_shard_read(struct app *app, struct pending *pending)
{
    if (store_shard(app->store, pending->cluster, pending->shard, on_shard_reply, pending) != 0) {
        pending_unsent(pending);
        read_queue_done(app->shard_reads);
    }
}

static void get_shard(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    size_t cluster;
    uint32_t shard;
    struct pending *pending;

    if (parse_shard(app, req, p->seg[2], p->seg[3], &cluster, &shard) != 0)
        return;
    pending = pending_new(app, req, cluster, shard);
    read_queue_run(app->shard_reads, app, pending, start_shard_read);
}

static void get_guild(struct app *app, h2o_req_t *req, h2o_iovec_t id)
{
    uint64_t guild;
    h2o_buffer_t *buf;
    size_t i;

    if (parse_u64(id.base, id.len, &guild) != 0) {
        respond_bad_request(req, "guild id must be a whole number from 0 to 18446744073709551615");
        return;
    }
    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    codec_put_lit(&buf, "{\"guild\":\"");
    codec_put_u64(&buf, guild);
    codec_put_lit(&buf, "\",\"clusters\":[");
    for (i = 0; i != mirror_num_clusters(app->mirror); ++i) {
        const struct mirror_cluster *c = mirror_cluster(app->mirror, i);
        uint32_t shard = guild_shard(guild, c->conf->shards);
        if (i != 0)
            codec_put_lit(&buf, ",");
        codec_put_lit(&buf, "{\"name\":");
        codec_put_json_string(&buf, c->conf->name, c->conf->name_len);
        codec_put_lit(&buf, ",\"shard\":");
        codec_put_u64(&buf, shard);
        codec_put_lit(&buf, ",\"state\":");
        codec_put_u64(&buf, c->states[shard]);
        codec_put_lit(&buf, ",\"state_name\":\"");
        codec_put(&buf, state_name(c->states[shard]), strlen(state_name(c->states[shard])));
        codec_put_lit(&buf, "\"}");
    }
    codec_put_lit(&buf, "]}");
    send_json_buffer(req, buf);
    h2o_buffer_dispose(&buf);
}

static void get_feed(struct app *app, h2o_req_t *req)
{
    struct feed_refusal no;

    /* the headers filter (routes_register) puts these on every response but the 101, which h2o's upgrade
     * writes past the filters (on a refusal the filter's SET keeps one of each) */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-glance-replica"), 0, NULL, app->conf->replica,
                          strlen(app->conf->replica));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    if (feed_accept(app->feed, req, &no) == 0)
        return; /* upgraded */
    if (no.retry_after_s != 0) {
        char *v = h2o_mem_alloc_pool(&req->pool, 12);
        int n = snprintf(v, 12, "%u", no.retry_after_s);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, v, (size_t)n);
    }
    respond_error(req, no.status, no.reason, no.message);
}

/* Handlers as the route tables call them; the adapters below fit the rest to this shape. */
typedef void (*route_fn)(struct app *app, h2o_req_t *req, const struct path_segments *p);

static void api_snapshot(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    get_snapshot(app, req);
}

static void api_guild(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    get_guild(app, req, p->seg[2]);
}

static void api_feed(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    get_feed(app, req);
}

static void api_history(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    history_routes_get_history(app, req);
}

static void api_log(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    history_routes_get_log(app, req, p->seg[2]);
}

static void api_incidents(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    history_routes_get_incidents(app, req);
}

static void api_incident_new(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    history_routes_post(app, req, INCIDENT_NEW, h2o_iovec_init(NULL, 0));
}

static void api_incident_update(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    history_routes_post(app, req, INCIDENT_UPDATE, p->seg[2]);
}

static void api_maintenance_new(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    history_routes_post(app, req, MAINTENANCE_NEW, h2o_iovec_init(NULL, 0));
}

static void api_report(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    report_routes_post(app, req, p->seg[2]);
}

static void api_gateway(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    report_routes_gateway(app, req, p->seg[2]);
}

static void api_summary(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    summary_get(app, req);
}

/* /api/v2/<document>: what follows "/api/v2/", one or two segments */
static void api_statuspage(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    const char *end = p->seg[p->n - 1].base + p->seg[p->n - 1].len;

    statuspage_routes_get(app, req, h2o_iovec_init(p->seg[2].base, (size_t)(end - p->seg[2].base)));
}

/* A body a part renders once and shares (the figures, the latency history), sent to the request waiting for it. */
static void on_shared_json(void *data, struct shared_body *body, const char *err)
{
    struct app *app = ((struct pending *)data)->app;
    h2o_req_t *req = pending_finish(data);

    if (req == NULL)
        return;
    if (err != NULL)
        respond_unavailable(req, err);
    else
        respond_send_shared(app, req, "no-store", "application/json", body, h2o_iovec_init(NULL, 0));
}

static void api_figures(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    figures_body(app->figures, on_shared_json, pending_new(app, req, 0, 0));
}

static void api_latency(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    latency_body(app->latency, LATENCY_ALL, on_shared_json, pending_new(app, req, 0, 0));
}

static void api_latency_cluster(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    ssize_t cluster = mirror_find(app->mirror, p->seg[2].base, p->seg[2].len);
    char msg[160];

    if (cluster < 0) {
        /* a resource that is not there, as /embed/<cluster> and the badges answer */
        snprintf(msg, sizeof(msg), "unknown cluster \"%.*s\"", (int)(p->seg[2].len < 64 ? p->seg[2].len : 64),
                 p->seg[2].base);
        respond_error(req, 404, "Not Found", msg);
        return;
    }
    latency_body(app->latency, (size_t)cluster, on_shared_json, pending_new(app, req, 0, 0));
}

static void api_alerts(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    get_alerts(app, req);
}

static void api_alertmanager(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    alertmanager_routes_post(app, req);
}

static void api_subscribe(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    (void)p;
    subscription_routes_new(app, req);
}

static void api_subscription(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    subscription_routes_manage(app, req, p->seg[2]);
}

/* An /api route: its second segment, how many segments it has and, for some, a fixed last one; its handler per
 * method (NULL where the method is not allowed: 405 with `allow`); and how routes_print lists it. This table is
 * the dispatch itself, so the listing (and tests/integration/routes.test.mjs, which walks it) cannot miss one. */
struct api_route {
    const char *name;
    size_t segments;
    const char *last;
    route_fn get, post; /* get serves HEAD too */
    const char *allow;
    const char *listed;
    route_fn del;
};

static const struct api_route api_routes[] = {
    {"status", 5, NULL, NULL, post_status, "POST", "/api/status/{cluster}/{shard}/{state}"},
    {"status", 4, NULL, get_shard, NULL, "GET, HEAD", "/api/status/{cluster}/{shard}"},
    {"status", 2, NULL, api_snapshot, NULL, "GET, HEAD", "/api/status"},
    {"health", 4, NULL, NULL, post_health, "POST", "/api/health/{cluster}/{shard}"},
    {"guild", 3, NULL, api_guild, NULL, "GET, HEAD", "/api/guild/{guild}"},
    {"feed", 2, NULL, api_feed, NULL, "GET", "/api/feed"},
    {"history", 2, NULL, api_history, NULL, "GET, HEAD", "/api/history"},
    {"history", 3, NULL, api_log, NULL, "GET, HEAD", "/api/history/{cluster}"},
    {"incidents", 2, NULL, api_incidents, api_incident_new, "GET, HEAD, POST", "/api/incidents"},
    {"incidents", 4, "updates", NULL, api_incident_update, "POST", "/api/incidents/{id}/updates"},
    {"maintenance", 2, NULL, NULL, api_maintenance_new, "POST", "/api/maintenance"},
    {"alertmanager", 2, NULL, NULL, api_alertmanager, "POST", "/api/alertmanager"},
    {"clusters", 4, "report", NULL, api_report, "POST", "/api/clusters/{cluster}/report"},
    {"clusters", 4, "gateway", NULL, api_gateway, "POST", "/api/clusters/{cluster}/gateway"},
    {"summary", 2, NULL, api_summary, NULL, "GET, HEAD", "/api/summary"},
    {"v2", 3, NULL, api_statuspage, NULL, "GET, HEAD", NULL}, /* listed by statuspage_routes_print */
    {"v2", 4, NULL, api_statuspage, NULL, "GET, HEAD", NULL},
    {"figures", 2, NULL, api_figures, NULL, "GET, HEAD", "/api/figures"},
    {"alerts", 2, NULL, api_alerts, NULL, "GET, HEAD", "/api/alerts"},
    {"latency", 2, NULL, api_latency, NULL, "GET, HEAD", "/api/latency"},
    {"latency", 3, NULL, api_latency_cluster, NULL, "GET, HEAD", "/api/latency/{cluster}"},
    {"subscriptions", 2, NULL, NULL, api_subscribe, "POST", "/api/subscriptions"},
    {"subscriptions", 3, NULL, api_subscription, api_subscription, "GET, HEAD, POST, DELETE", "/api/subscriptions/{token}",
     api_subscription},
};

static void route_api(struct app *app, h2o_req_t *req, const struct path_segments *p)
{
    h2o_iovec_t what = p->n >= 2 ? p->seg[1] : h2o_iovec_init("", 0);
    int writes_incidents = (IS(what, "incidents") || IS(what, "maintenance")) && respond_is_post(req);
    int reports = IS(what, "clusters") && respond_is_post(req);
    int alertmanager = IS(what, "alertmanager") && respond_is_post(req);
    size_t max = writes_incidents ? INCIDENT_BODY_MAX : reports ? REPORT_BODY_MAX
                 : alertmanager   ? ALERTMANAGER_BODY_MAX : ROUTES_MAX_BODY;
    char msg[80];
    size_t i;

    if (req->entity.len > max) {
        snprintf(msg, sizeof(msg), "the body is over %zu bytes", max);
        respond_error(req, 413, "Payload Too Large", msg);
        return;
    }
    for (i = 0; i != sizeof(api_routes) / sizeof(api_routes[0]); ++i) {
        const struct api_route *r = &api_routes[i];
        if (!h2o_memis(what.base, what.len, r->name, strlen(r->name)) || p->n != r->segments ||
            (r->last != NULL && !h2o_memis(p->seg[3].base, p->seg[3].len, r->last, strlen(r->last))))
            continue;
        if (r->post != NULL && respond_is_post(req))
            r->post(app, req, p);
        else if (r->del != NULL && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE")))
            r->del(app, req, p);
        else if (r->get != NULL && respond_is_get(req))
            r->get(app, req, p);
        else
            respond_wrong_method(req, r->allow);
        return;
    }
    respond_error(req, 404, "Not Found", "no such endpoint");
}

static void get_ready(struct app *app, h2o_req_t *req)
{
    char why[768];

    if (app->shutting_down) {
        /* 404, not 503: HAProxy's disable-on-404 then stops sending this replica new work but leaves its open
         * feeds alone, so they get the 1001 the replica sends once it stops; any other checker reads not ready */
        respond_error(req, 404, "Not Found", "shutting down: this replica is draining and will stop accepting soon");
        return;
    }
    why[0] = '\0';
    if (!store_ready(app->store))
        snprintf(why, sizeof(why), "redis is unreachable: %s", store_last_error(app->store));
    else if (!bus_subscribed(app->bus))
        snprintf(why, sizeof(why), "the redis subscription is down: %s",
                 bus_last_error(app->bus)[0] != '\0' ? bus_last_error(app->bus) : "subscribing");
    else if (!mirror_synced(app->mirror))
        snprintf(why, sizeof(why), "the mirror is still loading from redis");
    if (why[0] != '\0') {
        respond_error(req, 503, "Service Unavailable", why);
        return;
    }
    respond_send(req, 200, "OK", "application/json", H2O_STRLIT("{\"ready\":true}"));
}

static void get_plain(struct app *app, h2o_req_t *req)
{
    const uint64_t *versions = current_versions(app);
    int stale = !store_ready(app->store) || !mirror_synced(app->mirror);
    struct shared_body *body = body_cache_find(&app->plain_body, versions, stale);
    h2o_buffer_t *buf;
    h2o_iovec_t banner;
    size_t split;

    if (body == NULL && !render_gate_pass(app->plain_gate, req))
        return; /* get_plain again when the gate opens */
    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    if (body == NULL) {
        pages_plain(app->mirror, app->store, app->conf->subscriptions_max != 0 ? app->conf : NULL, &buf, &split);
        body = body_cache_store(&app->plain_body, versions, stale, buf->bytes, buf->size, split);
        ++app->plain_renders;
        h2o_buffer_consume(&buf, buf->size);
    }
    banner = incidents_banner(app->incidents);
    codec_put(&buf, banner.base, banner.len);
    figures_plain(app->figures, &buf);
    if (req->query_at != SIZE_MAX)
        pages_plain_guild(app->mirror, h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1), &buf);
    respond_send_shared(app, req, "no-store", "text/html; charset=utf-8", body, h2o_iovec_init(buf->bytes, buf->size));
    h2o_buffer_dispose(&buf);
}

static void get_metrics(struct app *app, h2o_req_t *req)
{
    h2o_buffer_t *buf;

    struct metrics_parts parts = {app->store,        app->bus,          app->mirror,    app->expiry, app->feed,
                                  app->alerts,       app->alert_sender, app->subscriber_sender,
                                  app->log_cache,    app->figures};
    struct metrics_http counts = {app->plain_renders,         app->status_renders,        app->summary_renders,
                                  app->badge_renders,         app->preview_renders,       app->statuspage_renders,
                                  app->plain_gate->waited,
                                  app->status_gate->waited,   app->shard_reads->queued,   app->alert_reads->queued,
                                  app->shard_reads->refused,  app->alert_reads->refused,  app->reader_bytes,
                                  app->readers_closed,
                                  app->alertmanager,          alertmanager_outcome_names, ALERTMANAGER_OUTCOMES};

    counts.ready = !app->shutting_down && store_ready(app->store) && bus_subscribed(app->bus) && mirror_synced(app->mirror);
    counts.subscribed = bus_subscribed(app->bus) && mirror_synced(app->mirror);
    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    metrics_render(&app->metrics, &parts, &counts, &buf);
    latency_metrics(app->latency, &buf);
    send_buffer(req, "text/plain; version=0.0.4; charset=utf-8", buf);
    h2o_buffer_dispose(&buf);
}

/* HTTP/1 only: h2o 2.2.5 keeps Content-Length and Transfer-Encoding out of req->headers, so the request head
 * is read where h2o parsed it, at the start of the connection's input buffer, which h2o leaves in place (a
 * chunked body is decoded after it) until the request is done. The parser stops at the head's blank line,
 * however the lines end (h2o takes a bare LF too). */
static int framing_is_ambiguous(h2o_req_t *req)
{
    h2o_socket_t *sock;

    if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL ||
        (sock = req->conn->callbacks->get_socket(req->conn)) == NULL || sock->input == NULL || sock->input->size == 0)
        return 0;
    return parse_ambiguous_framing(sock->input->bytes, sock->input->size);
}

/* "/badge.svg" (the whole bot: `cluster` empty), "/badge/<cluster>.svg" or "/badge/<cluster>.json". */
static int is_badge(h2o_iovec_t path, h2o_iovec_t *cluster, int *json)
{
    const char *end = path.base + path.len;

    *cluster = h2o_iovec_init("", 0);
    *json = 0;
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/badge.svg")))
        return 1;
    if (path.len < 8 || memcmp(path.base, "/badge/", 7) != 0)
        return 0;
    if (path.len > 11 && memcmp(end - 4, ".svg", 4) == 0) {
        *cluster = h2o_iovec_init(path.base + 7, path.len - 11);
    } else if (path.len > 12 && memcmp(end - 5, ".json", 5) == 0) {
        *cluster = h2o_iovec_init(path.base + 7, path.len - 12);
        *json = 1;
    } else {
        return 0;
    }
    return memchr(cluster->base, '/', cluster->len) == NULL;
}

static void get_healthz(struct app *app, h2o_req_t *req)
{
    (void)app;
    respond_send(req, 200, "OK", "application/json", H2O_STRLIT("{\"ok\":true}"));
}

/* The paths outside /api that answer GET and HEAD only, matched whole. */
static const struct {
    const char *path;
    void (*get)(struct app *app, h2o_req_t *req);
} page_routes[] = {
    {"/healthz", get_healthz}, {"/readyz", get_ready}, {"/metrics", get_metrics}, {"/history.atom", history_routes_get_atom},
    {"/plain", get_plain},
};

/* The GET routes matched by on_req's own tests (pages with previews, embeds, badges) and the dashboard's files,
 * as routes_print lists them: keep in step with on_req. */
static const char *const other_gets[] = {"/", "/index.html", "/embed", "/embed/{cluster}", "/badge.svg",
                                         "/badge/{cluster}.svg", "/badge/{cluster}.json", "/assets/app.js",
                                         "/subscription/{token}"};

void routes_print(FILE *out)
{
    size_t i;

    for (i = 0; i != sizeof(page_routes) / sizeof(page_routes[0]); ++i)
        fprintf(out, "GET %s\n", page_routes[i].path);
    for (i = 0; i != sizeof(other_gets) / sizeof(other_gets[0]); ++i)
        fprintf(out, "GET %s\n", other_gets[i]);
    fprintf(out, "POST /subscribe\nPOST /subscription/{token}\n");
    statuspage_routes_print(out);
    for (i = 0; i != sizeof(api_routes) / sizeof(api_routes[0]); ++i) {
        if (api_routes[i].listed == NULL)
            continue;
        if (api_routes[i].get != NULL)
            fprintf(out, "GET %s\n", api_routes[i].listed);
        if (api_routes[i].post != NULL)
            fprintf(out, "POST %s\n", api_routes[i].listed);
        if (api_routes[i].del != NULL)
            fprintf(out, "DELETE %s\n", api_routes[i].listed);
    }
}

/* What a request is, for its latency histogram. */
static enum metrics_route route_class(h2o_req_t *req, h2o_iovec_t path)
{
    if (path.len >= 5 && memcmp(path.base, "/api/", 5) == 0) {
        if (h2o_memis(path.base, path.len, H2O_STRLIT("/api/feed")))
            return METRICS_ROUTE_FEED;
        if (!respond_is_post(req))
            return METRICS_ROUTE_READ;
        return path.len > 14 && memcmp(path.base, "/api/clusters/", 14) == 0 ? METRICS_ROUTE_BATCH : METRICS_ROUTE_WRITE;
    }
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/healthz")) || h2o_memis(path.base, path.len, H2O_STRLIT("/readyz")) ||
        h2o_memis(path.base, path.len, H2O_STRLIT("/metrics")))
        return METRICS_ROUTE_OTHER;
    return METRICS_ROUTE_PAGE;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct app *app = ((struct routes_handler *)self)->app;
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    h2o_iovec_t path = h2o_iovec_init(req->path.base, len);
    struct path_segments segs;
    const char *why;
    h2o_iovec_t badge;
    int json;
    size_t i;

    metrics_time_request(&app->metrics, req, route_class(req, path));
    if (framing_is_ambiguous(req)) {
        /* what h2o took for this request's end may not be what a proxy in front took: whatever follows must not
         * run as a request of its own */
        req->http1_is_persistent = 0;
        respond_bad_request(req, "the request has both Content-Length and Transfer-Encoding, or Content-Lengths that differ");
        return 0;
    }
    for (i = 0; i != sizeof(page_routes) / sizeof(page_routes[0]); ++i) {
        if (h2o_memis(path.base, path.len, page_routes[i].path, strlen(page_routes[i].path))) {
            respond_is_get(req) ? page_routes[i].get(app, req) : respond_wrong_method(req, "GET, HEAD");
            return 0;
        }
    }
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/subscribe"))) {
        if (!respond_is_post(req))
            respond_wrong_method(req, "POST");
        else if (req->entity.len > ROUTES_MAX_BODY)
            respond_error(req, 413, "Payload Too Large", "the form is over 4096 bytes");
        else
            subscription_routes_new_form(app, req);
        return 0;
    }
    if (path.len > 14 && memcmp(path.base, "/subscription/", 14) == 0 && memchr(path.base + 14, '/', path.len - 14) == NULL) {
        if (!respond_is_get(req) && !respond_is_post(req))
            respond_wrong_method(req, "GET, HEAD, POST");
        else if (req->entity.len > ROUTES_MAX_BODY)
            respond_error(req, 413, "Payload Too Large", "the form is over 4096 bytes");
        else
            subscription_routes_page(app, req, h2o_iovec_init(path.base + 14, path.len - 14));
        return 0;
    }
    if (path.len >= 10 && memcmp(path.base, "/badge", 6) == 0 && is_badge(path, &badge, &json)) {
        respond_is_get(req) ? summary_badge(app, req, badge, json) : respond_wrong_method(req, "GET, HEAD");
    } else if (h2o_memis(path.base, path.len, H2O_STRLIT("/")) || h2o_memis(path.base, path.len, H2O_STRLIT("/index.html"))) {
        return web_pages_index(app, req);
    } else if (h2o_memis(path.base, path.len, H2O_STRLIT("/embed")) || h2o_memis(path.base, path.len, H2O_STRLIT("/embed/"))) {
        web_pages_embed(app, req, h2o_iovec_init("", 0));
    } else if (path.len > 7 && memcmp(path.base, "/embed/", 7) == 0 && memchr(path.base + 7, '/', path.len - 7) == NULL) {
        web_pages_embed(app, req, h2o_iovec_init(path.base + 7, path.len - 7));
    } else if (path.len >= 4 && memcmp(path.base, "/api", 4) == 0 && (path.len == 4 || path.base[4] == '/')) {
        if (path.len > ROUTES_MAX_PATH)
            respond_error(req, 414, "URI Too Long", "the path is over 1024 bytes");
        else if (parse_path(path.base, path.len, &segs, &why) != 0)
            respond_bad_request(req, why);
        else
            route_api(app, req, &segs);
    } else if (parse_has_control_bytes(req->path.base, req->path.len) ||
               parse_has_control_bytes(req->path_normalized.base, req->path_normalized.len)) {
        /* raw or percent-encoded (%00 would cut the file name short) */
        respond_bad_request(req, "the path holds a control character");
    } else {
        return -1; /* the dashboard's files */
    }
    return 0;
}

void routes_register(struct app *app, h2o_pathconf_t *pathconf)
{
    struct routes_handler *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    /* on every response of this path, h2o's own errors for the dashboard's files included: which replica
     * answered (for operators and the load-balancer tests), and that a browser must not guess a type */
    static h2o_iovec_t replica_name = {H2O_STRLIT("x-glance-replica")}, nosniff_name = {H2O_STRLIT("x-content-type-options")};
    static h2o_headers_command_t headers[3];

    headers[0] = (h2o_headers_command_t){H2O_HEADERS_CMD_SET, &replica_name, h2o_iovec_init(app->conf->replica, strlen(app->conf->replica))};
    headers[1] = (h2o_headers_command_t){H2O_HEADERS_CMD_SET, &nosniff_name, h2o_iovec_init(H2O_STRLIT("nosniff"))};
    headers[2] = (h2o_headers_command_t){H2O_HEADERS_CMD_NULL};
    h2o_headers_register(pathconf, headers);

    body_cache_init(&app->plain_body, app->conf->num_clusters);
    body_cache_init(&app->status_body, app->conf->num_clusters);
    h2o_linklist_init_anchor(&app->readers);
    app->plain_gate = h2o_mem_alloc(sizeof(*app->plain_gate));
    app->status_gate = h2o_mem_alloc(sizeof(*app->status_gate));
    app->shard_reads = h2o_mem_alloc(sizeof(*app->shard_reads));
    app->alert_reads = h2o_mem_alloc(sizeof(*app->alert_reads));
    read_queue_init(app->shard_reads, ROUTES_READS_IN_FLIGHT);
    read_queue_init(app->alert_reads, ROUTES_READS_IN_FLIGHT);
    app->subscription_reads = h2o_mem_alloc(sizeof(*app->subscription_reads));
    read_queue_init(app->subscription_reads, ROUTES_READS_IN_FLIGHT);
    render_gate_init(app->plain_gate, app, get_plain);
    render_gate_init(app->status_gate, app, get_snapshot);
    app->versions = h2o_mem_alloc(sizeof(*app->versions) * (app->conf->num_clusters != 0 ? app->conf->num_clusters : 1));
    h->super.on_req = on_req;
    h->app = app;
}

void routes_dispose(struct app *app)
{
    body_cache_dispose(&app->plain_body);
    body_cache_dispose(&app->status_body);
    render_gate_dispose(app->plain_gate);
    render_gate_dispose(app->status_gate);
    read_queue_dispose(app->shard_reads);
    read_queue_dispose(app->alert_reads);
    read_queue_dispose(app->subscription_reads);
    free(app->plain_gate);
    free(app->status_gate);
    free(app->shard_reads);
    free(app->alert_reads);
    free(app->subscription_reads);
    free(app->versions);
    app->versions = NULL;
}
