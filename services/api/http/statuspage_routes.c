/* statuspage_routes.c -- Statuspage's public API v2 documents, served as the badges are (see the header).
 *
 * A request waits only for the incidents copy to be fresh (at once, mostly: it is read at most every few seconds,
 * for every reader together), then looks at what its document says: the clusters' levels and since when, and per
 * record its id, last update, whether resolved and its window's phase. Only when that differs from what the document
 * was rendered from is it rendered again; every other request is sent the same bytes (or a 304). */
#include "http/statuspage_routes.h"

#include <stdlib.h>
#include <string.h>
#include "alerts/alerts.h"
#include "base/body_cache.h"
#include "base/log.h"
#include "http/app.h"
#include "http/respond.h"
#include "http/summary.h"
#include "render/statuspage.h"
#include "state/incidents.h"

/* A document as last rendered: shared by reference with every response sending it (a reader that never reads holds
 * the one body, not a copy), and its ETag. */
struct doc {
    struct body_cache cache; /* keyed by what it says (hashed), as a one-cluster version would be */
    char etag[20];
};

struct statuspage_routes {
    struct doc docs[STATUSPAGE_NUM_DOCS];
    struct statuspage_component *components; /* scratch, a cluster each */
    /* what the records of the list last looked at contribute to the key, until the clock moves a window's phase:
     * looking at every record is most of a request's work, and the list changes every few seconds at most. The list
     * is held (a reference), so that a new one cannot take its address and pass for it. */
    json_t *keyed;
    uint64_t records_key;
    int64_t key_until;
};

struct statuspage_routes *statuspage_routes_new(size_t num_clusters)
{
    struct statuspage_routes *s = h2o_mem_alloc(sizeof(*s));

    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i != STATUSPAGE_NUM_DOCS; ++i)
        body_cache_init(&s->docs[i].cache, 1);
    s->components = calloc(num_clusters + 1, sizeof(*s->components));
    if (s->components == NULL)
        h2o_fatal("out of memory");
    return s;
}

void statuspage_routes_free(struct statuspage_routes *s)
{
    json_decref(s->keyed);
    for (size_t i = 0; i != STATUSPAGE_NUM_DOCS; ++i)
        body_cache_dispose(&s->docs[i].cache);
    free(s->components);
    free(s);
}

void statuspage_routes_print(FILE *out)
{
    for (size_t i = 0; i != STATUSPAGE_NUM_DOCS; ++i)
        fprintf(out, "GET /api/v2/%s\n", statuspage_doc_path((enum statuspage_doc)i));
}

/* What the records contribute to the documents: each one whole (its JSON, once per list read) and a window's phase
 * (which moves with the clock); looked at again only for a new list or once a phase has moved. */
static uint64_t records_key(struct statuspage_routes *s, json_t *list, int64_t now)
{
    json_t *rec;
    size_t i;

    if (list == s->keyed && now < s->key_until)
        return s->records_key;
    json_incref(list);
    json_decref(s->keyed);
    s->keyed = list;
    s->records_key = BODY_HASH_START;
    s->key_until = INT64_MAX;
    json_array_foreach(json_object_get(list, "incidents"), i, rec) {
        int64_t starts = statuspage_ms(rec, "starts_ms"), ends = statuspage_ms(rec, "ends_ms");
        int64_t phase[2] = {now >= starts, now >= ends};
        char *text = json_dumps(rec, JSON_COMPACT);
        if (text != NULL)
            s->records_key = body_hash(s->records_key, text, strlen(text));
        free(text);
        s->records_key = body_hash(s->records_key, phase, sizeof(phase));
        if (starts > now && starts < s->key_until)
            s->key_until = starts;
        if (ends > now && ends < s->key_until)
            s->key_until = ends;
    }
    return s->records_key;
}

static void send_doc(struct app *app, h2o_req_t *req, enum statuspage_doc doc, json_t *list)
{
    struct statuspage_routes *s = app->statuspage;
    struct doc *d = &s->docs[doc];
    struct shared_body *body;
    uint32_t totals[SHARD_STATE_MAX + 1];
    int whole = summary_look(app, list, totals);
    int64_t now = log_wall_ms();
    size_t n = app->conf->num_clusters;
    uint64_t key = BODY_HASH_START, records;

    for (size_t i = 0; i != n; ++i) {
        s->components[i] = (struct statuspage_component){app->conf->clusters[i].name, summary_cluster_level(app, i),
                                                         alerts_condition_since(app->alerts, i)};
        key = body_hash(key, &s->components[i].level, sizeof(int));
        key = body_hash(key, &s->components[i].since_ms, sizeof(int64_t));
    }
    records = records_key(s, list, now);
    key = body_hash(key, &records, sizeof(records));
    body = body_cache_find(&d->cache, &key, 0);
    if (body == NULL) {
        struct statuspage_input in = {app->conf->prefix, "Glance", app->conf->public_url, s->components, n, whole, list, now};
        char *text = statuspage_render(doc, &in);
        if (text == NULL) {
            respond_error(req, 503, "Service Unavailable", "the document could not be rendered");
            return;
        }
        body = body_cache_store(&d->cache, &key, 0, text, strlen(text), 0);
        free(text);
        snprintf(d->etag, sizeof(d->etag), "\"%016llx\"", (unsigned long long)body_hash(BODY_HASH_START, body->bytes, body->len));
        ++app->statuspage_renders;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, d->etag, strlen(d->etag));
    /* public and read-only: aggregators and widgets on other sites read it from a browser */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, H2O_STRLIT("*"));
    if (rendered_client_has(req, d->etag)) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT(SUMMARY_MAX_AGE));
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_send_inline(req, "", 0);
        return;
    }
    respond_send_shared(app, req, SUMMARY_MAX_AGE, "application/json", body, h2o_iovec_init("", 0));
}

static void on_incidents(void *data, const struct incidents_view *view, const char *err)
{
    struct pending *p = data;
    struct app *app = p->app;
    enum statuspage_doc doc = (enum statuspage_doc)p->shard;
    h2o_req_t *req = pending_finish(p);

    (void)err;
    if (req == NULL)
        return;
    /* without a fresh copy, the last one (what changed while Redis was away is said once it is back) */
    send_doc(app, req, doc, view != NULL ? view->parsed : incidents_list(app->incidents));
}

void statuspage_routes_get(struct app *app, h2o_req_t *req, h2o_iovec_t path)
{
    int doc = statuspage_doc_of(path.base, path.len);

    if (doc < 0) {
        respond_error(req, 404, "Not Found", "no such Statuspage document");
        return;
    }
    incidents_get(app->incidents, on_incidents, pending_new(app, req, 0, (uint32_t)doc));
}
