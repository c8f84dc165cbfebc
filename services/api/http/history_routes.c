/* history_routes.c -- GET /api/history, GET and POST of incidents and maintenance, and /history.atom.
 * Writes are checked whole (incident_input.c) before Redis is asked, and are one incident.lua call each. */
#include "http/history_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/incident_input.h"
#include "base/incident_render.h"
#include "base/log.h"
#include "base/parse.h"
#include "http/respond.h"
#include "state/history.h"
#include "state/incidents.h"
#include "state/log_cache.h"

#define LOG_DEFAULT 100
#define LOG_MAX LOG_CACHE_MAX

static void on_text(void *data, h2o_iovec_t text, const char *err)
{
    h2o_req_t *req = pending_finish(data);

    if (req == NULL)
        return;
    if (err != NULL)
        respond_unavailable(req, "redis is unavailable; retry");
    else
        respond_send(req, 200, "OK", "application/json", text.base, text.len);
}

void history_routes_get_history(struct app *app, h2o_req_t *req)
{
    history_get(app->history, on_text, pending_new(app, req, 0, 0));
}

/* The value of `count=` in the query: LOG_DEFAULT without one; 0 when it is not a number from 1 to LOG_MAX. */
static uint32_t query_count(h2o_req_t *req)
{
    const char *q, *end, *p;
    uint64_t n;

    if (req->query_at == SIZE_MAX)
        return LOG_DEFAULT;
    q = req->path.base + req->query_at + 1;
    end = req->path.base + req->path.len;
    for (p = q; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp != NULL ? amp : end;
        if (stop - p > 6 && memcmp(p, "count=", 6) == 0)
            return parse_u64(p + 6, (size_t)(stop - p - 6), &n) == 0 && n >= 1 && n <= LOG_MAX ? (uint32_t)n : 0;
        p = stop + 1;
    }
    return LOG_DEFAULT;
}

/* The newest `count` changes (the pending call's `shard`) out of the cluster's shared page. */
static void on_log_page(void *data, const struct log_page *page, const char *err)
{
    struct pending *p = data;
    struct app *app = p->app;
    uint32_t count = p->shard;
    h2o_req_t *req = pending_finish(p);

    if (req == NULL)
        return;
    if (err != NULL)
        respond_unavailable(req, "redis is unavailable; retry");
    else if (count >= page->count)
        respond_send_shared_head(app, req, "no-store", "application/json", page->body, page->body->len, h2o_iovec_init(NULL, 0));
    else
        respond_send_shared_head(app, req, "no-store", "application/json", page->body, page->ends[count - 1],
                                 h2o_iovec_init(H2O_STRLIT("]}")));
}

void history_routes_get_log(struct app *app, h2o_req_t *req, h2o_iovec_t name)
{
    ssize_t cluster = mirror_find(app->mirror, name.base, name.len);
    uint32_t count = query_count(req);
    struct pending *pending;
    char msg[160];

    if (cluster < 0) {
        snprintf(msg, sizeof(msg), "unknown cluster \"%.*s\"", (int)name.len, name.base);
        respond_bad_request(req, msg);
        return;
    }
    if (count == 0) {
        respond_bad_request(req, "count must be a whole number from 1 to 1000");
        return;
    }
    pending = pending_new(app, req, (size_t)cluster, count);
    log_cache_get(app->log_cache, (size_t)cluster, on_log_page, pending);
}

static void on_incidents(void *data, const struct incidents_view *view, const char *err)
{
    struct pending *p = data;
    struct app *app = p->app;
    h2o_req_t *req = pending_finish(p);

    if (req == NULL)
        return;
    if (err != NULL || view->json == NULL)
        respond_unavailable(req, "redis is unavailable; retry");
    else
        respond_send_shared(app, req, "no-store", "application/json", view->json, h2o_iovec_init(NULL, 0));
}

void history_routes_get_incidents(struct app *app, h2o_req_t *req)
{
    incidents_get(app->incidents, on_incidents, pending_new(app, req, 0, 0));
}

/* The feed as rendered when the list was read (incidents.c), sent by reference: a flood of readers costs no
 * rendering and no copies. */
static void on_atom(void *data, const struct incidents_view *view, const char *err)
{
    struct pending *p = data;
    struct app *app = p->app;
    h2o_req_t *req = pending_finish(p);

    if (req == NULL)
        return;
    if (err != NULL || view->atom == NULL) {
        respond_unavailable(req, "redis is unavailable; retry");
        return;
    }
    respond_send_shared(app, req, "no-store", "application/atom+xml; charset=utf-8", view->atom, h2o_iovec_init(NULL, 0));
}

void history_routes_get_atom(struct app *app, h2o_req_t *req)
{
    incidents_get(app->incidents, on_atom, pending_new(app, req, 0, 0));
}

struct write {
    struct pending *pending;
    struct app *app;
    enum incident_request kind;
    uint64_t id;
    char *json; /* the call's argument: it must live until the reply */
};

static void on_written(void *data, long long result, const char *err)
{
    struct write *w = data;
    h2o_req_t *req = pending_finish(w->pending);
    char body[96];
    int n;

    if (err == NULL && result > 0)
        incidents_invalidate(w->app->incidents);
    free(w->json);
    if (req == NULL) {
        free(w);
        return;
    }
    if (err != NULL) {
        log_warn("incident write failed: %s", err);
        respond_unavailable(req, "redis did not confirm the write; retry");
    } else if (result == -1) {
        snprintf(body, sizeof(body), "no incident or maintenance %llu", (unsigned long long)w->id);
        respond_error(req, 404, "Not Found", body);
    } else if (result == -2) {
        snprintf(body, sizeof(body), "incident %llu is resolved already", (unsigned long long)w->id);
        respond_error(req, 409, "Conflict", body);
    } else if (result == -3) {
        respond_bad_request(req, "that status is for the other kind: an incident is investigating, identified, "
                                 "monitoring or resolved; a maintenance scheduled, in progress or completed");
    } else if (result == -4) {
        respond_error(req, 409, "Conflict",
                      "at most " H2O_TO_STR(STORE_INCIDENTS_OPEN_MAX) " incidents and maintenance windows are open at once "
                      "(automatic incidents aside): resolve or complete one first");
    } else if (result > 0) {
        n = snprintf(body, sizeof(body), "{\"id\":%lld}", result);
        respond_send(req, w->kind == INCIDENT_UPDATE ? 200 : 201, w->kind == INCIDENT_UPDATE ? "OK" : "Created",
                     "application/json", body, (size_t)n);
    } else {
        respond_unavailable(req, "unexpected reply from redis; retry");
    }
    free(w);
}

void history_routes_post(struct app *app, h2o_req_t *req, enum incident_request kind, h2o_iovec_t id)
{
    uint64_t n = 0;
    struct write *w;
    char err[256], *json;

    if (respond_check_passphrase(app, req) != 0)
        return;
    if (kind == INCIDENT_UPDATE && (parse_u64(id.base, id.len, &n) != 0 || n == 0 || n > INT64_MAX)) {
        respond_bad_request(req, "an incident id is a whole number from 1");
        return;
    }
    json = incident_input(app->conf, kind, n, req->entity.base, req->entity.len, log_wall_ms(), err, sizeof(err));
    if (json == NULL) {
        respond_bad_request(req, err);
        return;
    }
    w = h2o_mem_alloc(sizeof(*w));
    *w = (struct write){pending_new(app, req, 0, 0), app, kind, n, json};
    if (store_incident_write(app->store, kind != INCIDENT_UPDATE ? STORE_INCIDENT_NEW : STORE_INCIDENT_UPDATE, json,
                             strlen(json), on_written, w) != 0) {
        pending_unsent(w->pending);
        free(json);
        free(w);
    }
}
