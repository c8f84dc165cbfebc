/* report_routes.c -- POST /api/clusters/<cluster>/report: many shards' states, pings and figures in one request,
 * checked whole (report_input.c) before one script call writes them all (report.lua); and POST
 * /api/clusters/<cluster>/gateway, the cluster's session budget alone, written as a report of no shards. */
#include "http/report_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/codec.h"
#include "base/log.h"
#include "http/respond.h"

struct report {
    struct pending *pending;
    size_t items;
};

/* {"error": .., "index": .., "field": ..} */
static void refuse(h2o_req_t *req, int status, const char *reason, const struct report_error *e)
{
    h2o_buffer_t *buf;

    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    codec_put_lit(&buf, "{\"error\":");
    codec_put_json_string(&buf, e->message, strlen(e->message));
    if (e->index >= 0) {
        codec_put_lit(&buf, ",\"index\":");
        codec_put_u64(&buf, (uint64_t)e->index);
    }
    if (e->field[0] != '\0') {
        codec_put_lit(&buf, ",\"field\":");
        codec_put_json_string(&buf, e->field, strlen(e->field));
    }
    codec_put_lit(&buf, "}");
    respond_send(req, status, reason, "application/json", buf->bytes, buf->size);
    h2o_buffer_dispose(&buf);
}

static void on_reply(void *data, long long result, const char *err)
{
    struct report *r = data;
    h2o_req_t *req = pending_finish(r->pending);
    size_t items = r->items;
    char body[96];
    int n;

    free(r);
    if (req == NULL)
        return;
    if (err != NULL) {
        if (!STORE_WAIT_FAILED_WRITE(err))
            log_warn("report failed: %s", err);
        respond_unavailable(req, "redis did not confirm the report; retry");
        return;
    }
    if (result < 0) {
        struct report_error e = {-result - 1, "state", ""};
        snprintf(e.message, sizeof(e.message), "shards[%lld] is a health ping for a shard that has never reported a "
                                               "status (give it a state first); nothing was written", -result - 1);
        refuse(req, 409, "Conflict", &e);
        return;
    }
    n = snprintf(body, sizeof(body), "{\"reported\":%zu,\"changed\":%lld}", items, result);
    respond_send(req, 200, "OK", "application/json", body, (size_t)n);
}

/* The cluster a report is for, after the passphrase; or -1 with the answer sent. */
static ssize_t report_cluster(struct app *app, h2o_req_t *req, h2o_iovec_t name)
{
    struct report_error e = {-1, "", ""};
    ssize_t cluster;

    if (respond_check_passphrase(app, req) != 0)
        return -1;
    if ((cluster = mirror_find(app->mirror, name.base, name.len)) < 0) {
        snprintf(e.message, sizeof(e.message), "unknown cluster \"%.*s\"", (int)(name.len < 64 ? name.len : 64),
                 name.base);
        refuse(req, 400, "Bad Request", &e);
    }
    return cluster;
}

/* Writes a checked report (report.lua) and answers when Redis has. */
static void send_report(struct app *app, h2o_req_t *req, size_t cluster, const struct report_item *items, size_t n,
                        const struct gateway_session *session)
{
    struct report *r = h2o_mem_alloc(sizeof(*r));

    r->pending = pending_new(app, req, cluster, 0);
    r->items = n;
    if (store_report(app->store, cluster, items, n, session, on_reply, r) != 0) {
        pending_unsent(r->pending);
        free(r);
    }
}

void report_routes_gateway(struct app *app, h2o_req_t *req, h2o_iovec_t name)
{
    struct report_error e = {-1, "", ""};
    struct gateway_session session;
    const char *field = "";
    ssize_t cluster;

    if ((cluster = report_cluster(app, req, name)) < 0)
        return;
    if (!respond_has_type(req, "application/json")) {
        respond_error(req, 415, "Unsupported Media Type", "send the session budget as application/json");
        return;
    }
    if (session_from_json(req->entity.base, req->entity.len, &session, e.message, sizeof(e.message), &field) != 0) {
        snprintf(e.field, sizeof(e.field), "%s", field);
        refuse(req, 400, "Bad Request", &e);
        return;
    }
    send_report(app, req, (size_t)cluster, NULL, 0, &session);
}

void report_routes_post(struct app *app, h2o_req_t *req, h2o_iovec_t name)
{
    static struct report_item items[REPORT_ITEMS_MAX]; /* one loop, one request checked at a time */
    struct report_error e = {-1, "", ""};
    struct gateway_session session;
    enum report_encoding enc;
    ssize_t cluster;
    long n;

    if ((cluster = report_cluster(app, req, name)) < 0)
        return;
    if (respond_has_type(req, "application/json")) {
        enc = REPORT_JSON;
    } else if (respond_has_type(req, "application/msgpack") || respond_has_type(req, "application/x-msgpack")) {
        enc = REPORT_MSGPACK;
    } else {
        respond_error(req, 415, "Unsupported Media Type", "send the report as application/json or application/msgpack");
        return;
    }
    n = report_input(enc, req->entity.base, req->entity.len, app->conf->clusters[cluster].shards, items, &session, &e);
    if (n < 0) {
        refuse(req, 400, "Bad Request", &e);
        return;
    }
    if (n == 0 && session.given == 0) {
        respond_send(req, 200, "OK", "application/json", H2O_STRLIT("{\"reported\":0,\"changed\":0}"));
        return;
    }
    send_report(app, req, (size_t)cluster, items, (size_t)n, &session);
}
