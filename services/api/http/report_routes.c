/* report_routes.c -- POST /api/clusters/<cluster>/report: many shards' states, pings and figures in one request,
 * checked whole (report_input.c) before one script call writes them all (report.lua). */
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

void report_routes_post(struct app *app, h2o_req_t *req, h2o_iovec_t name)
{
    static struct report_item items[REPORT_ITEMS_MAX]; /* one loop, one request checked at a time */
    struct report_error e = {-1, "", ""};
    enum report_encoding enc;
    ssize_t cluster;
    struct report *r;
    long n;

    if (respond_check_passphrase(app, req) != 0)
        return;
    if ((cluster = mirror_find(app->mirror, name.base, name.len)) < 0) {
        snprintf(e.message, sizeof(e.message), "unknown cluster \"%.*s\"", (int)(name.len < 64 ? name.len : 64),
                 name.base);
        refuse(req, 400, "Bad Request", &e);
        return;
    }
    if (respond_has_type(req, "application/json")) {
        enc = REPORT_JSON;
    } else if (respond_has_type(req, "application/msgpack") || respond_has_type(req, "application/x-msgpack")) {
        enc = REPORT_MSGPACK;
    } else {
        respond_error(req, 415, "Unsupported Media Type", "send the report as application/json or application/msgpack");
        return;
    }
    n = report_input(enc, req->entity.base, req->entity.len, app->conf->clusters[cluster].shards, items, &e);
    if (n < 0) {
        refuse(req, 400, "Bad Request", &e);
        return;
    }
    if (n == 0) {
        respond_send(req, 200, "OK", "application/json", H2O_STRLIT("{\"reported\":0,\"changed\":0}"));
        return;
    }
    r = h2o_mem_alloc(sizeof(*r));
    r->pending = pending_new(app, req, (size_t)cluster, 0);
    r->items = (size_t)n;
    if (store_report(app->store, (size_t)cluster, items, (size_t)n, on_reply, r) != 0) {
        pending_unsent(r->pending);
        free(r);
    }
}
