/* incidents.c -- the replica's copy of the incidents and maintenance list, read from Redis at most every few
 * seconds however many read it, and rendered once per read. */
#include "state/incidents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/incident_render.h"
#include "base/log.h"

struct waiter {
    incidents_cb cb;
    void *data;
    struct waiter *next;
};

struct incidents {
    h2o_loop_t *loop;
    struct store *store;
    struct body_cache json, atom; /* rendered once per read, keyed by the read's number */
    uint64_t reads;
    char feed_id[128];
    json_t *parsed;
    h2o_buffer_t *banner;
    int64_t now_ms;
    uint64_t read_at; /* h2o_now when the copy was read; 0: none, or invalidated */
    int reading;
    int closing; /* a call closing the maintenance windows that are over is in flight */
    struct waiter *waiting;
};

struct incidents *incidents_new(h2o_loop_t *loop, struct store *store, const char *feed_id)
{
    struct incidents *in = h2o_mem_alloc(sizeof(*in));

    memset(in, 0, sizeof(*in));
    in->loop = loop;
    in->store = store;
    snprintf(in->feed_id, sizeof(in->feed_id), "%s", feed_id);
    body_cache_init(&in->json, 1);
    body_cache_init(&in->atom, 1);
    h2o_buffer_init(&in->banner, &h2o_socket_buffer_prototype);
    return in;
}

static void view_of(struct incidents *in, struct incidents_view *v)
{
    v->json = in->json.body;
    v->atom = in->atom.body;
    v->parsed = in->parsed;
    v->banner = h2o_iovec_init(in->banner->bytes, in->banner->size);
    v->now_ms = in->now_ms;
}

static void on_closed(void *data, long long result, const char *err)
{
    struct incidents *in = data;

    in->closing = 0;
    if (err != NULL)
        log_warn("closing the maintenance windows that are over: %s", err);
    else
        in->read_at = 0; /* read again when next asked: they are completed now */
    (void)result;
}

/* Windows that are over but still open are closed in Redis by the first replica that reads them (the read itself
 * writes nothing, so that it works under maxmemory); the close is idempotent, so replicas that race do it once. */
static void close_ended_windows(struct incidents *in, json_t *parsed)
{
    if (in->closing || json_integer_value(json_object_get(parsed, "windows_to_close")) <= 0)
        return;
    in->closing = 1;
    if (store_incident_write(in->store, STORE_INCIDENT_CLOSE_ENDED, "{}", 2, on_closed, in) != 0)
        in->closing = 0;
}

static void on_read(void *data, h2o_iovec_t text, const char *err)
{
    struct incidents *in = data;
    struct waiter *w = in->waiting, *next;
    struct incidents_view view;
    json_error_t jerr;
    json_t *parsed = NULL;

    in->reading = 0;
    in->waiting = NULL;
    if (err == NULL && (parsed = json_loadb(text.base, text.len, 0, &jerr)) == NULL)
        err = "the incidents list from redis is not JSON";
    if (err == NULL) {
        h2o_buffer_t *atom;
        ++in->reads;
        body_cache_store(&in->json, &in->reads, 0, text.base, text.len, 0);
        h2o_buffer_init(&atom, &h2o_socket_buffer_prototype);
        incident_render_atom(parsed, in->feed_id, (int64_t)json_number_value(json_object_get(parsed, "now_ms")), &atom);
        body_cache_store(&in->atom, &in->reads, 0, atom->bytes, atom->size, 0);
        h2o_buffer_dispose(&atom);
        if (in->parsed != NULL)
            json_decref(in->parsed);
        in->parsed = parsed;
        in->now_ms = (int64_t)json_number_value(json_object_get(parsed, "now_ms"));
        in->read_at = h2o_now(in->loop);
        h2o_buffer_consume(&in->banner, in->banner->size);
        incident_render_banner(parsed, in->now_ms, &in->banner);
        incident_render_list(parsed, &in->banner);
        close_ended_windows(in, parsed);
    } else {
        log_warn("reading the incidents list: %s", err);
    }
    view_of(in, &view);
    for (; w != NULL; w = next) {
        next = w->next;
        w->cb(w->data, err == NULL ? &view : NULL, err);
        free(w);
    }
}

static int is_fresh(struct incidents *in)
{
    return in->read_at != 0 && h2o_now(in->loop) - in->read_at < INCIDENTS_FRESH_MS;
}

static void start_read(struct incidents *in)
{
    if (in->reading)
        return;
    in->reading = 1;
    if (store_incidents(in->store, INCIDENTS_LISTED, on_read, in) != 0)
        on_read(in, h2o_iovec_init(NULL, 0), "redis is unavailable");
}

void incidents_get(struct incidents *in, incidents_cb cb, void *data)
{
    struct incidents_view view;
    struct waiter *w;

    if (is_fresh(in)) {
        view_of(in, &view);
        cb(data, &view, NULL);
        return;
    }
    w = h2o_mem_alloc(sizeof(*w));
    *w = (struct waiter){cb, data, in->waiting};
    in->waiting = w;
    start_read(in);
}

h2o_iovec_t incidents_banner(struct incidents *in)
{
    if (!is_fresh(in))
        start_read(in);
    return h2o_iovec_init(in->banner->bytes, in->banner->size);
}

json_t *incidents_list(struct incidents *in)
{
    if (!is_fresh(in))
        start_read(in);
    return in->parsed;
}

void incidents_invalidate(struct incidents *in)
{
    in->read_at = 0;
}

void incidents_free(struct incidents *in)
{
    struct waiter *w, *next;

    for (w = in->waiting; w != NULL; w = next) {
        next = w->next;
        free(w);
    }
    body_cache_dispose(&in->json);
    body_cache_dispose(&in->atom);
    if (in->parsed != NULL)
        json_decref(in->parsed);
    h2o_buffer_dispose(&in->banner);
    free(in);
}
