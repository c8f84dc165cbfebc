/* history.c -- GET /api/history's body, from one history.lua call per cluster (each cluster's keys share a hash
 * slot, so a script reads one cluster), put together once and shared until it is HISTORY_FRESH_MS old. */
#include "base/log.h"
#include "state/history.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/codec.h"

struct waiter {
    history_cb cb;
    void *data;
    struct waiter *next;
};

struct history {
    h2o_loop_t *loop;
    struct store *store;
    const struct conf *conf;
    h2o_buffer_t *body;
    uint64_t read_at; /* h2o_now of the body; 0: none */
    struct waiter *waiting;
    /* the read in flight: each cluster's JSON as it arrives */
    char **parts;
    size_t *part_lens;
    size_t outstanding;
    const char *failed;
};

struct history *history_new(h2o_loop_t *loop, struct store *store, const struct conf *conf)
{
    struct history *h = h2o_mem_alloc(sizeof(*h));
    size_t n = conf->num_clusters != 0 ? conf->num_clusters : 1;

    memset(h, 0, sizeof(*h));
    h->loop = loop;
    h->store = store;
    h->conf = conf;
    h2o_buffer_init(&h->body, &h2o_socket_buffer_prototype);
    h->parts = h2o_mem_alloc(sizeof(*h->parts) * n);
    h->part_lens = h2o_mem_alloc(sizeof(*h->part_lens) * n);
    memset(h->parts, 0, sizeof(*h->parts) * n);
    return h;
}

static void finish(struct history *h)
{
    struct waiter *w = h->waiting, *next;
    const char *err = h->failed;
    size_t i;

    h->waiting = NULL;
    if (err == NULL) {
        h2o_buffer_consume(&h->body, h->body->size);
        codec_put_lit(&h->body, "{\"now_ms\":");
        codec_put_u64(&h->body, (uint64_t)log_wall_ms());
        codec_put_lit(&h->body, ",\"days\":90,\"clusters\":[");
        for (i = 0; i != h->conf->num_clusters; ++i) {
            if (i != 0)
                codec_put_lit(&h->body, ",");
            codec_put(&h->body, h->parts[i], h->part_lens[i]);
        }
        codec_put_lit(&h->body, "]}");
        h->read_at = h2o_now(h->loop);
    }
    for (i = 0; i != h->conf->num_clusters; ++i) {
        free(h->parts[i]);
        h->parts[i] = NULL;
    }
    for (; w != NULL; w = next) {
        next = w->next;
        w->cb(w->data, err == NULL ? h2o_iovec_init(h->body->bytes, h->body->size) : h2o_iovec_init(NULL, 0), err);
        free(w);
    }
}

struct part {
    struct history *h;
    size_t cluster;
};

static void on_part(void *data, h2o_iovec_t text, const char *err)
{
    struct part *p = data;
    struct history *h = p->h;

    if (err != NULL && h->failed == NULL)
        h->failed = "redis did not answer for every cluster; retry";
    if (err == NULL) {
        h->parts[p->cluster] = h2o_mem_alloc(text.len + 1);
        memcpy(h->parts[p->cluster], text.base, text.len);
        h->part_lens[p->cluster] = text.len;
    }
    free(p);
    if (--h->outstanding == 0)
        finish(h);
}

void history_get(struct history *h, history_cb cb, void *data)
{
    struct waiter *w;
    size_t i;

    if (h->read_at != 0 && h2o_now(h->loop) - h->read_at < HISTORY_FRESH_MS) {
        cb(data, h2o_iovec_init(h->body->bytes, h->body->size), NULL);
        return;
    }
    w = h2o_mem_alloc(sizeof(*w));
    *w = (struct waiter){cb, data, h->waiting};
    h->waiting = w;
    if (h->outstanding != 0)
        return; /* a read is on its way */
    h->failed = NULL;
    h->outstanding = 1; /* held until every call is sent, so that a failure to send cannot finish early */
    for (i = 0; i != h->conf->num_clusters; ++i) {
        struct part *p = h2o_mem_alloc(sizeof(*p));
        *p = (struct part){h, i};
        ++h->outstanding;
        if (store_history(h->store, i, on_part, p) != 0) {
            h->failed = "redis is unavailable; retry";
            free(p);
            --h->outstanding;
        }
    }
    if (--h->outstanding == 0)
        finish(h);
}

void history_free(struct history *h)
{
    struct waiter *w, *next;

    for (w = h->waiting; w != NULL; w = next) {
        next = w->next;
        free(w);
    }
    for (size_t i = 0; i != h->conf->num_clusters; ++i)
        free(h->parts[i]);
    free(h->parts);
    free(h->part_lens);
    h2o_buffer_dispose(&h->body);
    free(h);
}
