/* respond.c -- what every API handler shares: JSON answers and errors, method and passphrase checks, and the
 * bookkeeping of a request that waits on Redis. */
#include "http/respond.h"

#include <string.h>
#include <sys/socket.h>
#include "base/codec.h"
#include "base/shard.h"

void respond_send(h2o_req_t *req, int status, const char *reason, const char *type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    req->res.content_length = len;
    h2o_send_inline(req, body, len); /* copies into the request's pool */
}


void respond_error(h2o_req_t *req, int status, const char *reason, const char *message)
{
    h2o_buffer_t *buf;

    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    codec_put_lit(&buf, "{\"error\":");
    codec_put_json_string(&buf, message, strlen(message));
    codec_put_lit(&buf, "}");
    respond_send(req, status, reason, "application/json", buf->bytes, buf->size);
    h2o_buffer_dispose(&buf);
}


void respond_bad_request(h2o_req_t *req, const char *message)
{
    respond_error(req, 400, "Bad Request", message);
}


void respond_wrong_method(h2o_req_t *req, const char *allow)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    respond_error(req, 405, "Method Not Allowed", "method not allowed here");
}


void respond_unavailable(h2o_req_t *req, const char *why)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    respond_error(req, 503, "Service Unavailable", why);
}


int respond_is_get(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
           h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}


int respond_is_post(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
}


/* The Authorization header's value, without "Bearer "; 0 when there is none. */
static int presented(h2o_req_t *req, h2o_iovec_t *v)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);

    if (i == -1)
        return 0;
    *v = req->headers.entries[i].value;
    if (v->len > 7 && h2o_lcstris(v->base, 7, H2O_STRLIT("bearer ")))
        *v = h2o_iovec_init(v->base + 7, v->len - 7);
    return 1;
}

int respond_check_passphrase(struct app *app, h2o_req_t *req)
{
    const struct conf *conf = app->conf;
    h2o_iovec_t v;

    if (conf->passphrase_len == 0)
        return 0;
    if (!presented(req, &v)) {
        respond_error(req, 401, "Unauthorized", "the Authorization header is missing");
        return -1;
    }
    if (!secret_equal(v.base, v.len, conf->passphrase, conf->passphrase_len)) {
        respond_error(req, 401, "Unauthorized", "the Authorization header does not hold the passphrase");
        return -1;
    }
    return 0;
}

int respond_is_operator(struct app *app, h2o_req_t *req)
{
    h2o_iovec_t v;

    return app->conf->passphrase_len != 0 && presented(req, &v) &&
           secret_equal(v.base, v.len, app->conf->passphrase, app->conf->passphrase_len);
}

static void on_guard_dispose(void *p)
{
    struct pending **guard = p;

    if (*guard != NULL)
        (*guard)->req = NULL;
}


struct pending *pending_new(struct app *app, h2o_req_t *req, size_t cluster, uint32_t shard)
{
    struct pending *p = h2o_mem_alloc(sizeof(*p));

    p->app = app;
    p->req = req;
    p->cluster = cluster;
    p->shard = shard;
    p->data = NULL;
    p->drop = NULL;
    p->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*p->guard), on_guard_dispose);
    *p->guard = p;
    ++app->inflight;
    return p;
}


h2o_req_t *pending_finish(struct pending *p)
{
    h2o_req_t *req = p->req;

    --p->app->inflight;
    if (req != NULL)
        *p->guard = NULL;
    free(p);
    return req;
}


void pending_unsent(struct pending *p)
{
    h2o_req_t *req = pending_finish(p);

    respond_unavailable(req, "redis is unavailable; nothing was written, retry");
}


int respond_has_type(h2o_req_t *req, const char *type)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    size_t len = strlen(type);
    h2o_iovec_t v;

    if (i < 0)
        return 0;
    v = req->headers.entries[i].value;
    while (v.len != 0 && (v.base[v.len - 1] == ' ' || v.base[v.len - 1] == '\t'))
        --v.len;
    return v.len >= len && h2o_lcstris(v.base, len, type, len) && (v.len == len || v.base[len] == ';' ||
                                                                   v.base[len] == ' ');
}

/* Readers close_slowest looks at per response sent. */
#define CLOSE_SCAN 256

/* A response sending a shared body, in app->readers until its request's pool goes. */
struct reader {
    h2o_linklist_t link;
    struct app *app;
    h2o_req_t *req;
    struct shared_body *body;
    int counted; /* in body->readers and app->reader_bytes; not once it is being closed */
};

static void uncount(struct reader *r)
{
    if (r->counted && --r->body->readers == 0)
        r->app->reader_bytes -= r->body->len;
    r->counted = 0;
}

static void on_reader_dispose(void *p)
{
    struct reader *r = p;

    if (h2o_linklist_is_linked(&r->link))
        h2o_linklist_unlink(&r->link);
    uncount(r);
    h2o_mem_release_shared(r->body);
}

/* Past the bound, the responses that have been sending longest (readers that do not read, or read slowest) are
 * closed: shutdown() makes their pending write fail, and h2o closes the connection and frees the request. Readers
 * of a body a cache still holds are spared (closing them would free nothing), and so a body larger than the bound
 * is still served. At most CLOSE_SCAN readers are looked at per response sent, so that a crowd of readers of
 * current bodies costs little. */
static void close_slowest(struct app *app, const struct shared_body *newest)
{
    size_t max = (size_t)app->conf->reader_bytes_max_mib * 1024 * 1024, scanned = 0;
    h2o_linklist_t *node = app->readers.next;

    while (app->reader_bytes > max && node != &app->readers) {
        struct reader *r = H2O_STRUCT_FROM_MEMBER(struct reader, link, node);
        h2o_socket_t *sock;
        node = node->next;
        if (++scanned > CLOSE_SCAN)
            break;
        if (r->body == newest || r->body->cached)
            continue;
        h2o_linklist_unlink(&r->link);
        uncount(r);
        ++app->readers_closed;
        if (r->req->conn->callbacks->get_socket != NULL && (sock = r->req->conn->callbacks->get_socket(r->req->conn)) != NULL)
            (void)shutdown(h2o_socket_get_fd(sock), SHUT_RDWR); /* the write fails; h2o does the rest */
    }
}

/* Sends bufs (total bytes, pointing into `body` or into the pool), the request holding a reference to `body` and
 * counted among the replica's readers until its pool goes. */
static void send_holding(struct app *app, h2o_req_t *req, const char *cache_control, const char *type,
                         struct shared_body *body, h2o_iovec_t *bufs, size_t n, size_t total)
{
    static h2o_generator_t generator = {NULL, NULL};
    int head = h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));

    if (!head) { /* a HEAD sends none of the body: nothing to hold */
        struct reader *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_reader_dispose);
        h2o_mem_addref_shared(body);
        *r = (struct reader){{NULL, NULL}, app, req, body, 1};
        if (body->readers++ == 0)
            app->reader_bytes += body->len;
        h2o_linklist_insert(&app->readers, &r->link);
    }
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, cache_control, strlen(cache_control));
    req->res.content_length = total;
    h2o_start_response(req, &generator);
    h2o_send(req, bufs, head ? 0 : n, H2O_SEND_STATE_FINAL);
    if (!head)
        close_slowest(app, body);
}

void respond_send_shared(struct app *app, h2o_req_t *req, const char *cache_control, const char *type,
                         struct shared_body *body, h2o_iovec_t insert)
{
    h2o_iovec_t bufs[3];
    size_t n = 0;

    bufs[n++] = h2o_iovec_init(body->bytes, body->split);
    if (insert.len != 0)
        bufs[n++] = h2o_strdup(&req->pool, insert.base, insert.len);
    bufs[n++] = h2o_iovec_init(body->bytes + body->split, body->len - body->split);
    send_holding(app, req, cache_control, type, body, bufs, n, body->len + insert.len);
}

void respond_send_shared_head(struct app *app, h2o_req_t *req, const char *cache_control, const char *type,
                              struct shared_body *body, size_t len, h2o_iovec_t tail)
{
    h2o_iovec_t bufs[2] = {h2o_iovec_init(body->bytes, len), tail};

    send_holding(app, req, cache_control, type, body, bufs, tail.len != 0 ? 2 : 1, len + tail.len);
}
