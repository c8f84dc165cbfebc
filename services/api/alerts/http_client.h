/* http_client.h -- outbound HTTP(S) requests from the event loop, made by libcurl's multi interface.
 *
 * Nothing blocks the loop: libcurl's sockets are watched through an epoll set of their own whose descriptor the
 * h2o loop watches, and its timers run on the loop's clock. TLS certificates are verified (libcurl's default). */
#ifndef GLANCE_HTTP_CLIENT_H
#define GLANCE_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "h2o.h"

struct http_client;

/* What came back. `error` is set (and `status` 0) when no HTTP answer came: a connection that failed, a
 * timeout, a TLS error. The rate-limit fields are -1 when the header was absent. Borrowed for the callback. */
struct http_response {
    long status;
    const char *body;
    size_t body_len;
    const char *error;
    double retry_after_s;          /* Retry-After */
    long ratelimit_remaining;      /* X-RateLimit-Remaining */
    double ratelimit_reset_after_s; /* X-RateLimit-Reset-After */
};

typedef void (*http_done_cb)(void *data, const struct http_response *res);

struct http_client *http_client_new(h2o_loop_t *loop);
/* Requests still in flight are dropped without a callback. */
void http_client_free(struct http_client *client);

/* Sends `body` (JSON) with `method` to `url`; `header` is one more header line ("name: value") or NULL. The
 * answer is kept up to 64 KiB. Returns 0 and calls `cb` exactly once, or -1 (and never calls it) when libcurl
 * refuses the request. */
int http_client_request(struct http_client *client, const char *method, const char *url, const char *body,
                        size_t body_len, const char *header, uint32_t timeout_ms, http_done_cb cb, void *data);

#endif
