/* http_client.c -- libcurl's multi-socket interface driven by the h2o loop.
 *
 * libcurl opens and closes its own sockets (and, for its resolver, descriptors of its own), so they are not
 * handed to h2o, which would take ownership and close them. They go into an epoll set of ours instead; the
 * loop watches that set's descriptor and, when it is readable, tells libcurl which of its sockets are ready.
 * libcurl's timer is checked on a short tick of the loop while it asks for one. */
#include "alerts/http_client.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"

#define TIMER_TICK_MS 10
#define MAX_BODY (64 * 1024)

struct http_client {
    h2o_loop_t *loop;
    CURLM *multi;
    int epfd;
    h2o_socket_t *watch; /* the epoll set's descriptor, on the loop */
    h2o_timeout_t tick;
    h2o_timeout_entry_t tick_entry;
    uint64_t timer_due; /* the loop's clock; 0: libcurl wants no timer */
    h2o_linklist_t requests; /* in flight, so that freeing the client can drop them */
};

struct request {
    h2o_linklist_t link;
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* what we send: libcurl does not copy it */
    h2o_buffer_t *answer;
    http_done_cb cb;
    void *data;
    char error[CURL_ERROR_SIZE];
    double retry_after_s, reset_after_s;
    long remaining;
};

static void request_free(struct request *r)
{
    h2o_linklist_unlink(&r->link);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    h2o_buffer_dispose(&r->answer);
    free(r->body);
    free(r);
}

static void finish_done(struct http_client *c)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        struct request *r;
        struct http_response res = {0};
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (msg->data.result == CURLE_OK) {
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
        } else {
            res.error = r->error[0] != '\0' ? r->error : curl_easy_strerror(msg->data.result);
        }
        res.body = r->answer->bytes != NULL ? r->answer->bytes : "";
        res.body_len = r->answer->size;
        res.retry_after_s = r->retry_after_s;
        res.ratelimit_remaining = r->remaining;
        res.ratelimit_reset_after_s = r->reset_after_s;
        curl_multi_remove_handle(c->multi, r->easy);
        r->cb(r->data, &res);
        request_free(r);
    }
}

static void on_ready(h2o_socket_t *sock, const char *err)
{
    struct http_client *c = sock->data;
    struct epoll_event events[32];
    int n, running;

    do {
        n = epoll_wait(c->epfd, events, 32, 0);
        for (int i = 0; i < n; ++i) {
            int mask = 0;
            if (events[i].events & EPOLLIN)
                mask |= CURL_CSELECT_IN;
            if (events[i].events & EPOLLOUT)
                mask |= CURL_CSELECT_OUT;
            if (events[i].events & (EPOLLERR | EPOLLHUP))
                mask |= CURL_CSELECT_ERR;
            curl_multi_socket_action(c->multi, events[i].data.fd, mask, &running);
        }
    } while (n == 32);
    finish_done(c);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct http_client *c = H2O_STRUCT_FROM_MEMBER(struct http_client, tick_entry, entry);
    int running;

    if (c->timer_due != 0 && h2o_now(c->loop) >= c->timer_due) {
        c->timer_due = 0;
        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        finish_done(c);
    }
    if (c->timer_due != 0 && !h2o_timeout_is_linked(&c->tick_entry))
        h2o_timeout_link(c->loop, &c->tick, &c->tick_entry);
}

/* libcurl: "call me back in timeout_ms" (-1: no timer). Never act from inside libcurl: the tick does. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_client *c = userp;

    c->timer_due = timeout_ms < 0 ? 0 : h2o_now(c->loop) + (uint64_t)timeout_ms;
    if (c->timer_due != 0 && !h2o_timeout_is_linked(&c->tick_entry))
        h2o_timeout_link(c->loop, &c->tick, &c->tick_entry);
    return 0;
}

/* libcurl: watch `s` for `what`. `socketp` is non-NULL once the socket is in our epoll set. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct http_client *c = userp;
    struct epoll_event ev = {0};

    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
        curl_multi_assign(c->multi, s, NULL);
        return 0;
    }
    ev.data.fd = s;
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (socketp == NULL) {
        if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev) != 0)
            return -1;
        curl_multi_assign(c->multi, s, c);
    } else if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev) != 0) {
        return -1;
    }
    return 0;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *userdata)
{
    struct request *r = userdata;
    size_t len = size * n, room = r->answer->size < MAX_BODY ? MAX_BODY - r->answer->size : 0;

    if (len > room)
        len = room; /* the rest is not needed: webhooks answer small bodies */
    if (len != 0) {
        h2o_buffer_reserve(&r->answer, len);
        memcpy(r->answer->bytes + r->answer->size, ptr, len);
        r->answer->size += len;
    }
    return size * n;
}

/* The value of header line `line` when its name is `name` (case-insensitive), else NULL. */
static const char *header_value(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);

    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return NULL;
    return line + n + 1;
}

/* Copies the value of header line `line` into `out` when the header is called `name` (case-insensitive). */
static int header_is(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    const char *v = header_value(line, len, name);

    if (v == NULL)
        return 0;
    snprintf(out, outlen, "%.*s", (int)(len - (size_t)(v - line)), v);
    return 1;
}

static size_t on_header(char *line, size_t size, size_t n, void *userdata)
{
    struct request *r = userdata;
    size_t len = size * n;
    char value[64];

    if (strncmp(line, "HTTP/", 5) == 0) { /* a new response (after a 100 Continue): start over */
        r->retry_after_s = r->reset_after_s = -1;
        r->remaining = -1;
    } else if (header_is(line, len, "retry-after", value, sizeof(value))) {
        r->retry_after_s = strtod(value, NULL);
    } else if (header_is(line, len, "x-ratelimit-remaining", value, sizeof(value))) {
        r->remaining = strtol(value, NULL, 10);
    } else if (header_is(line, len, "x-ratelimit-reset-after", value, sizeof(value))) {
        r->reset_after_s = strtod(value, NULL);
    }
    return len;
}

int http_client_request(struct http_client *c, const char *method, const char *url, const char *body, size_t body_len,
                        const char *header, uint32_t timeout_ms, http_done_cb cb, void *data)
{
    struct request *r = calloc(1, sizeof(*r));

    if (r == NULL || (r->easy = curl_easy_init()) == NULL || (r->body = malloc(body_len + 1)) == NULL) {
        if (r != NULL && r->easy != NULL)
            curl_easy_cleanup(r->easy);
        free(r);
        return -1;
    }
    memcpy(r->body, body, body_len);
    r->cb = cb;
    r->data = data;
    r->retry_after_s = r->reset_after_s = -1;
    r->remaining = -1;
    h2o_buffer_init(&r->answer, &h2o_socket_buffer_prototype);
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    r->headers = curl_slist_append(r->headers, "Expect:"); /* no 100-continue round trip */
    if (header != NULL)
        r->headers = curl_slist_append(r->headers, header);
    curl_easy_setopt(r->easy, CURLOPT_URL, url);
    curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)body_len);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "glance");
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    h2o_linklist_insert(&c->requests, &r->link);
    if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
        request_free(r);
        return -1;
    }
    return 0;
}

struct http_client *http_client_new(h2o_loop_t *loop)
{
    struct http_client *c = calloc(1, sizeof(*c));

    if (c == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        h2o_fatal("cannot start libcurl");
    c->loop = loop;
    h2o_linklist_init_anchor(&c->requests);
    if ((c->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 || (c->multi = curl_multi_init()) == NULL)
        h2o_fatal("cannot start libcurl's multi interface");
    c->watch = h2o_evloop_socket_create(loop, c->epfd, H2O_SOCKET_FLAG_DONT_READ);
    c->watch->data = c;
    h2o_socket_read_start(c->watch, on_ready);
    h2o_timeout_init(loop, &c->tick, TIMER_TICK_MS);
    c->tick_entry.cb = on_tick;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void http_client_free(struct http_client *c)
{
    while (!h2o_linklist_is_empty(&c->requests)) {
        struct request *r = H2O_STRUCT_FROM_MEMBER(struct request, link, c->requests.next);
        curl_multi_remove_handle(c->multi, r->easy);
        request_free(r);
    }
    curl_multi_cleanup(c->multi);
    if (h2o_timeout_is_linked(&c->tick_entry))
        h2o_timeout_unlink(&c->tick_entry);
    h2o_timeout_dispose(c->loop, &c->tick);
    h2o_socket_close(c->watch); /* closes the epoll descriptor */
    curl_global_cleanup();
    free(c);
}
