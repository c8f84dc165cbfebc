/* http.h -- a small keep-alive HTTP/1.1 client for POSTs (bodiless, or with a body) over a few connections, on
 * h2o's evloop. */
#ifndef GLANCE_SIM_HTTP_H
#define GLANCE_SIM_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "h2o.h"

#define HTTP_MAX_PATH 320 /* the longest status path with every figure and gateway counter is 260 bytes */
#define HTTP_MAX_CONTENT_TYPE 64

/* One POST. The caller owns its memory and keeps it alive until on_done. */
struct http_request {
    h2o_linklist_t link;
    char path[HTTP_MAX_PATH];
    size_t path_len;
    h2o_iovec_t body;         /* sent as is; len 0: none (Content-Length: 0) */
    const char *content_type; /* NULL: no Content-Type; else at most HTTP_MAX_CONTENT_TYPE characters */
    uint64_t sent_ns;  /* stats_now_ns() when the request was written to a connection */
    int retried;
    /* called when the request is written (it may be written twice if a reused connection failed); may be NULL */
    void (*on_sent)(struct http_request *req);
    /* called exactly once: the response status, or 0 when no response came (the connection failed) */
    void (*on_done)(struct http_request *req, int status);
};

struct http_pool;

/* Opens `conns` keep-alive connections to addr, reconnecting after failures. host_header and
 * authorization (NULL or empty: none) are copied. Never returns NULL. */
struct http_pool *http_pool_new(h2o_loop_t *loop, const struct sockaddr *addr, socklen_t addrlen,
                                const char *host_header, const char *authorization, size_t conns);

/* Closes every connection; queued and in-flight requests get on_done(req, 0). */
void http_pool_free(struct http_pool *p);

/* Queues a POST of req->path (with req->body, which must stay as it is until on_done); it goes out on the
 * first free connection, in order. */
void http_pool_post(struct http_pool *p, struct http_request *req);

/* Requests queued but not yet written, and requests written and not yet answered. */
size_t http_pool_queued(const struct http_pool *p);
size_t http_pool_inflight(const struct http_pool *p);

/* Reads a response head at the start of buf. Returns 1 once the head is complete (then *status,
 * *head_len, *content_length and *close are set), 0 when more bytes are needed, -1 when it is not an
 * HTTP/1.x response or has no usable length (chunked bodies are not supported). */
int http_parse_response(const char *buf, size_t len, int *status, size_t *head_len, size_t *content_length,
                        int *close);

#endif
