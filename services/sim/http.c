/* http.c -- a small keep-alive HTTP/1.1 client for POSTs (bodiless, or with a body) over a few connections, on
 * h2o's evloop.
 *
 * One request at a time per connection (no pipelining): with a handful of connections on loopback that
 * is tens of thousands of requests a second, and a response always belongs to the request in flight. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "stats.h"

#define RECONNECT_MS 200

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };

struct http_conn {
    struct http_pool *pool;
    h2o_socket_t *sock;
    enum conn_state state;
    int used;                      /* a response came on it: a failure may be an idle-close race */
    int writing;                   /* h2o allows one write at a time; its completion may come after the response */
    struct http_request *inflight;
    h2o_timeout_entry_t reconnect;
    /* the request line and headers; the body is written from the caller's memory */
    char wbuf[HTTP_MAX_PATH + HTTP_MAX_CONTENT_TYPE + 1500];
};

struct http_pool {
    h2o_loop_t *loop;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *head_tail; /* the headers every request carries: Host, Authorization */
    size_t head_tail_len;
    h2o_linklist_t queue;
    size_t queued, inflight;
    struct http_conn *conns;
    size_t num_conns;
    h2o_timeout_t reconnect_timeout;
};

static void conn_connect(struct http_conn *c);
static void dispatch(struct http_pool *p);

int http_parse_response(const char *buf, size_t len, int *status, size_t *head_len, size_t *content_length,
                        int *close)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4), *line;
    int have_length = 0;

    if (end == NULL)
        return len > 64 * 1024 ? -1 : 0;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' ||
        buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9')
        return -1;
    *status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    *close = buf[7] == '0'; /* HTTP/1.0 closes unless told otherwise; we never ask */
    *content_length = 0;
    line = memchr(buf, '\n', (size_t)(end - buf));
    while (line != NULL && line < end) {
        const char *next = memchr(line + 1, '\n', (size_t)(end + 2 - line - 1));
        size_t n = (size_t)((next != NULL ? next : end) - (line + 1));
        const char *h = line + 1;
        if (n >= 15 && strncasecmp(h, "content-length:", 15) == 0) {
            const char *v = h + 15;
            size_t cl = 0;
            while (*v == ' ' || *v == '\t')
                ++v;
            if (*v < '0' || *v > '9')
                return -1;
            while (*v >= '0' && *v <= '9' && cl < ((size_t)1 << 40))
                cl = cl * 10 + (size_t)(*v++ - '0');
            *content_length = cl;
            have_length = 1;
        } else if (n >= 18 && strncasecmp(h, "transfer-encoding:", 18) == 0) {
            return -1;
        } else if (n >= 11 && strncasecmp(h, "connection:", 11) == 0) {
            if (memmem(h, n, "close", 5) != NULL)
                *close = 1;
        }
        line = next;
    }
    /* a 204 or 304 has no body; anything else without a length would need the close to end it */
    if (!have_length && *status != 204 && *status != 304 && *status >= 200)
        *close = 1;
    *head_len = (size_t)(end - buf) + 4;
    return 1;
}

static void request_done(struct http_pool *p, struct http_request *req, int status)
{
    req->on_done(req, status);
    (void)p;
}

static void conn_fail(struct http_conn *c)
{
    struct http_pool *p = c->pool;
    struct http_request *req = c->inflight;

    if (c->sock != NULL) {
        h2o_socket_close(c->sock);
        c->sock = NULL;
    }
    c->inflight = NULL;
    c->writing = 0;
    if (req != NULL) {
        --p->inflight;
        /* the server may close an idle keep-alive connection just as we reuse it: try such a request once more */
        if (c->used && !req->retried) {
            req->retried = 1;
            h2o_linklist_insert(p->queue.next, &req->link);
            ++p->queued;
        } else {
            request_done(p, req, 0);
        }
    }
    c->used = 0;
    c->state = CONN_DOWN;
    if (!h2o_timeout_is_linked(&c->reconnect))
        h2o_timeout_link(p->loop, &p->reconnect_timeout, &c->reconnect);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    struct http_conn *c = sock->data;
    struct http_pool *p = c->pool;

    if (err != NULL) {
        conn_fail(c);
        dispatch(p);
        return;
    }
    while (sock->input->size != 0) {
        int status, close, rc;
        size_t head_len, content_length;
        struct http_request *req;

        rc = http_parse_response(sock->input->bytes, sock->input->size, &status, &head_len, &content_length, &close);
        if (rc == 0)
            return;
        if (rc < 0 || c->inflight == NULL) {
            conn_fail(c);
            dispatch(p);
            return;
        }
        if (sock->input->size < head_len + content_length)
            return;
        h2o_buffer_consume(&sock->input, head_len + content_length);
        req = c->inflight;
        c->inflight = NULL;
        --p->inflight;
        c->used = 1;
        /* a connection the server is closing must not take the request the callback may post */
        c->state = close ? CONN_CONNECTING : CONN_IDLE;
        request_done(p, req, status);
        if (close) {
            c->used = 0; /* nothing in flight: no retry is involved */
            conn_fail(c);
            break;
        }
    }
    dispatch(p);
}

static void on_write_done(h2o_socket_t *sock, const char *err)
{
    struct http_conn *c = sock->data;

    c->writing = 0;
    if (err != NULL)
        conn_fail(c);
    dispatch(c->pool);
}

static void on_connect(h2o_socket_t *sock, const char *err)
{
    struct http_conn *c = sock->data;

    if (err != NULL) {
        conn_fail(c);
        return;
    }
    c->state = CONN_IDLE;
    h2o_socket_read_start(sock, on_read);
    dispatch(c->pool);
}

static void on_reconnect(h2o_timeout_entry_t *entry)
{
    struct http_conn *c = H2O_STRUCT_FROM_MEMBER(struct http_conn, reconnect, entry);

    conn_connect(c);
}

static void conn_connect(struct http_conn *c)
{
    struct http_pool *p = c->pool;

    c->sock = h2o_socket_connect(p->loop, (struct sockaddr *)&p->addr, p->addrlen, on_connect);
    if (c->sock == NULL) {
        c->state = CONN_DOWN;
        h2o_timeout_link(p->loop, &p->reconnect_timeout, &c->reconnect);
        return;
    }
    c->sock->data = c;
    c->state = CONN_CONNECTING;
}

static void conn_send(struct http_conn *c, struct http_request *req)
{
    struct http_pool *p = c->pool;
    h2o_iovec_t bufs[2];
    const char *ct = req->content_type;
    int n;

    n = snprintf(c->wbuf, sizeof(c->wbuf), "POST %.*s HTTP/1.1\r\n%.*s%s%.*s%sContent-Length: %zu\r\n\r\n",
                 (int)req->path_len, req->path, (int)p->head_tail_len, p->head_tail, ct != NULL ? "Content-Type: " : "",
                 ct != NULL ? HTTP_MAX_CONTENT_TYPE : 0, ct != NULL ? ct : "", ct != NULL ? "\r\n" : "", req->body.len);
    bufs[0] = h2o_iovec_init(c->wbuf, (size_t)n < sizeof(c->wbuf) ? (size_t)n : sizeof(c->wbuf) - 1);
    bufs[1] = req->body;
    c->inflight = req;
    c->state = CONN_BUSY;
    c->writing = 1;
    ++p->inflight;
    req->sent_ns = stats_now_ns();
    /* the body is written from the caller's memory: it stays put until on_done, and on_done comes after the
     * server has read the whole request, so after h2o has written it */
    h2o_socket_write(c->sock, bufs, req->body.len != 0 ? 2 : 1, on_write_done);
    if (req->on_sent != NULL)
        req->on_sent(req);
}

static void dispatch(struct http_pool *p)
{
    size_t i;

    for (i = 0; i != p->num_conns && p->queued != 0; ++i) {
        struct http_conn *c = &p->conns[i];
        if (c->state == CONN_IDLE && !c->writing) {
            struct http_request *req = H2O_STRUCT_FROM_MEMBER(struct http_request, link, p->queue.next);
            h2o_linklist_unlink(&req->link);
            --p->queued;
            conn_send(c, req);
        }
    }
}

struct http_pool *http_pool_new(h2o_loop_t *loop, const struct sockaddr *addr, socklen_t addrlen,
                                const char *host_header, const char *authorization, size_t conns)
{
    struct http_pool *p = h2o_mem_alloc(sizeof(*p));
    size_t i, cap;

    memset(p, 0, sizeof(*p));
    p->loop = loop;
    memcpy(&p->addr, addr, addrlen);
    p->addrlen = addrlen;
    cap = strlen(host_header) + (authorization != NULL ? strlen(authorization) : 0) + 128;
    p->head_tail = h2o_mem_alloc(cap);
    if (authorization != NULL && authorization[0] != '\0')
        p->head_tail_len = (size_t)snprintf(p->head_tail, cap, "Host: %s\r\nAuthorization: %s\r\n", host_header,
                                            authorization);
    else
        p->head_tail_len = (size_t)snprintf(p->head_tail, cap, "Host: %s\r\n", host_header);
    h2o_linklist_init_anchor(&p->queue);
    h2o_timeout_init(loop, &p->reconnect_timeout, RECONNECT_MS);
    p->num_conns = conns;
    p->conns = h2o_mem_alloc(sizeof(*p->conns) * conns);
    memset(p->conns, 0, sizeof(*p->conns) * conns);
    for (i = 0; i != conns; ++i) {
        p->conns[i].pool = p;
        p->conns[i].reconnect.cb = on_reconnect;
        conn_connect(&p->conns[i]);
    }
    return p;
}

void http_pool_free(struct http_pool *p)
{
    size_t i;

    for (i = 0; i != p->num_conns; ++i) {
        struct http_conn *c = &p->conns[i];
        if (h2o_timeout_is_linked(&c->reconnect))
            h2o_timeout_unlink(&c->reconnect);
        if (c->sock != NULL)
            h2o_socket_close(c->sock);
        if (c->inflight != NULL)
            request_done(p, c->inflight, 0);
    }
    while (!h2o_linklist_is_empty(&p->queue)) {
        struct http_request *req = H2O_STRUCT_FROM_MEMBER(struct http_request, link, p->queue.next);
        h2o_linklist_unlink(&req->link);
        request_done(p, req, 0);
    }
    h2o_timeout_dispose(p->loop, &p->reconnect_timeout);
    free(p->conns);
    free(p->head_tail);
    free(p);
}

void http_pool_post(struct http_pool *p, struct http_request *req)
{
    req->retried = 0;
    h2o_linklist_insert(&p->queue, &req->link);
    ++p->queued;
    dispatch(p);
}

size_t http_pool_queued(const struct http_pool *p)
{
    return p->queued;
}

size_t http_pool_inflight(const struct http_pool *p)
{
    return p->inflight;
}
