/* log_cache.c -- a cluster's change log read once for every reader (see log_cache.h). The log grows only by the
 * transitions that move the cluster's version, so a page read at the current version is current; under churn the
 * page may be up to LOG_CACHE_FRESH_MS old, which keeps a flood of readers from costing Redis a script per
 * request on the connection the bots' writes use. */
#include "state/log_cache.h"

#include <stdlib.h>
#include <string.h>

struct waiter {
    log_cache_cb cb;
    void *data;
    struct waiter *next;
};

struct cluster_log {
    struct log_cache *lc;
    size_t index;
    struct body_cache page; /* at the mirror's version when its read was started; no body until the first read */
    uint32_t *ends;
    size_t count;
    uint64_t version; /* the mirror's version when the read under way was started */
    uint64_t read_at; /* h2o_now then */
    struct waiter *waiting;
    int reading;
};

struct log_cache {
    h2o_loop_t *loop;
    struct store *store;
    struct mirror *mirror;
    struct cluster_log *clusters;
    size_t num_clusters;
    uint64_t reads;
};

struct log_cache *log_cache_new(h2o_loop_t *loop, struct store *store, struct mirror *mirror)
{
    struct log_cache *lc = h2o_mem_alloc(sizeof(*lc));
    size_t i, n = mirror_num_clusters(mirror);

    *lc = (struct log_cache){loop, store, mirror, h2o_mem_alloc(sizeof(*lc->clusters) * (n != 0 ? n : 1)), n, 0};
    memset(lc->clusters, 0, sizeof(*lc->clusters) * (n != 0 ? n : 1));
    for (i = 0; i != n; ++i) {
        lc->clusters[i].lc = lc;
        lc->clusters[i].index = i;
        lc->clusters[i].ends = h2o_mem_alloc(sizeof(*lc->clusters[i].ends) * LOG_CACHE_MAX);
        body_cache_init(&lc->clusters[i].page, 1);
    }
    return lc;
}

static void free_waiters(struct waiter *w)
{
    while (w != NULL) {
        struct waiter *next = w->next;
        free(w);
        w = next;
    }
}

void log_cache_free(struct log_cache *lc)
{
    size_t i;

    for (i = 0; i != lc->num_clusters; ++i) {
        struct cluster_log *c = &lc->clusters[i];
        free_waiters(c->waiting);
        body_cache_dispose(&c->page); /* requests still sending it hold their own reference */
        free(c->ends);
        /* a read in flight still holds c: the store calls back with an error while it is freed, before this */
    }
    free(lc->clusters);
    free(lc);
}

/* Where each transition object ends: log.lua writes flat objects after "transitions":[ (the cluster name before it
 * is JSON-encoded, so the unescaped quote of that key cannot occur inside it). Returns how many. */
static size_t find_ends(const char *json, size_t len, uint32_t *ends)
{
    static const char key[] = "\"transitions\":[";
    const char *p = memmem(json, len, key, sizeof(key) - 1), *end = json + len;
    size_t n = 0;

    if (p == NULL)
        return 0;
    for (p += sizeof(key) - 1; p < end && n != LOG_CACHE_MAX; ++p)
        if (*p == '}' && p + 1 < end && (p[1] == ',' || p[1] == ']'))
            ends[n++] = (uint32_t)(p + 1 - json);
    return n;
}

static void on_read(void *data, h2o_iovec_t text, const char *err)
{
    struct cluster_log *c = data;
    struct waiter *w = c->waiting;
    struct log_page page;

    c->reading = 0;
    c->waiting = NULL;
    if (err == NULL) {
        struct shared_body *body = body_cache_store(&c->page, &c->version, 0, text.base, text.len, 0);
        c->count = find_ends(body->bytes, body->len, c->ends);
    }
    page = (struct log_page){c->page.body, c->ends, c->count};
    while (w != NULL) {
        struct waiter *next = w->next;
        if (err != NULL)
            w->cb(w->data, NULL, err);
        else
            w->cb(w->data, &page, NULL);
        free(w);
        w = next;
    }
}

void log_cache_get(struct log_cache *lc, size_t cluster, log_cache_cb cb, void *data)
{
    struct cluster_log *c = &lc->clusters[cluster];
    uint64_t version = mirror_cluster(lc->mirror, cluster)->version, now = h2o_now(lc->loop);
    struct waiter *w;

    if (c->page.body != NULL && !c->reading &&
        (body_cache_find(&c->page, &version, 0) != NULL || now - c->read_at < LOG_CACHE_FRESH_MS)) {
        struct log_page page = {c->page.body, c->ends, c->count};
        cb(data, &page, NULL);
        return;
    }
    w = h2o_mem_alloc(sizeof(*w));
    *w = (struct waiter){cb, data, c->waiting};
    c->waiting = w;
    if (c->reading)
        return;
    c->version = version;
    c->read_at = now;
    c->reading = 1;
    ++lc->reads;
    if (store_log(lc->store, cluster, LOG_CACHE_MAX, on_read, c) != 0)
        on_read(c, h2o_iovec_init(NULL, 0), "redis is unavailable; retry");
}

uint64_t log_cache_reads(const struct log_cache *lc)
{
    return lc->reads;
}
