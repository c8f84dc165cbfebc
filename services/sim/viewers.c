/* viewers.c -- K WebSocket clients of the feed that time every change they see and count what they get.
 *
 * The handshake and the few frames a viewer sends (pongs, a close) are written by hand: client frames
 * must be masked, server frames are not, and a viewer only needs to find the changes in update frames. */
#include "viewers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "frames.h"
#include "rng.h"
#include "feed/websocket.h"

enum viewer_state { VIEWER_IDLE, VIEWER_CONNECTING, VIEWER_HANDSHAKE, VIEWER_OPEN, VIEWER_DONE };

struct viewer {
    struct viewers *vs;
    h2o_socket_t *sock;
    uint64_t started_ns;
    uint8_t state, writing, got_hello;
    char key[25];
    char wbuf[320];
};

#define FRAME_CACHE 8

/* A distinct update frame, parsed once, with its resolved changes. */
struct cached_frame {
    char *payload;
    size_t len;
    struct viewers_change *changes;
    size_t n, cap;
    uint64_t used; /* for eviction: the least recently used goes */
};

struct viewers {
    h2o_loop_t *loop;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host_header[300];
    double rate;
    uint64_t start_ms;
    int ticked;
    struct viewer *list;
    struct viewers_listener listener;
    struct cached_frame cache[FRAME_CACHE];
    uint64_t cache_clock;
    struct cached_frame *filling; /* the entry being parsed into */
    uint64_t rng;
    struct viewers_stats stats;
};

static void viewer_end(struct viewer *v)
{
    struct viewers *vs = v->vs;

    if (v->state == VIEWER_OPEN) {
        ++vs->stats.closed;
        if (v->got_hello)
            --vs->stats.ready;
    } else if (v->state != VIEWER_DONE) {
        ++vs->stats.failed;
    }
    v->state = VIEWER_DONE;
    if (v->sock != NULL) {
        h2o_socket_close(v->sock);
        v->sock = NULL;
    }
}

static void on_write_done(h2o_socket_t *sock, const char *err)
{
    struct viewer *v = sock->data;

    v->writing = 0;
    if (err != NULL)
        viewer_end(v);
}

/* Sends a masked control frame unless a write is under way (a missed pong only costs a ping later). */
static void send_control(struct viewer *v, int opcode, const char *payload, size_t len)
{
    uint64_t r = rng_next(&v->vs->rng);
    uint8_t mask[4] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16), (uint8_t)(r >> 24)};
    h2o_iovec_t buf;

    if (v->writing || len > 125)
        return;
    buf.base = v->wbuf;
    buf.len = frames_client(v->wbuf, sizeof(v->wbuf), opcode, payload, len, mask);
    v->writing = 1;
    h2o_socket_write(v->sock, &buf, 1, on_write_done);
}

static void on_change(void *ctx, const char *name, size_t name_len, uint32_t shard, int state)
{
    struct viewers *vs = ctx;
    struct cached_frame *c = vs->filling;
    uint32_t key = vs->listener.resolve(vs->listener.ctx, name, name_len, shard);

    if (key == UINT32_MAX)
        return;
    if (c->n == c->cap) {
        c->cap = c->cap == 0 ? 64 : c->cap * 2;
        c->changes = h2o_mem_realloc(c->changes, sizeof(*c->changes) * c->cap);
    }
    c->changes[c->n++] = (struct viewers_change){key, state};
}

/* The parsed form of an update payload: from the cache, or parsed now into the least recently used entry. */
static struct cached_frame *parse_update(struct viewers *vs, const char *payload, size_t len)
{
    struct cached_frame *c, *victim = &vs->cache[0];
    size_t i;

    for (i = 0; i != FRAME_CACHE; ++i) {
        c = &vs->cache[i];
        if (c->payload != NULL && c->len == len && memcmp(c->payload, payload, len) == 0) {
            c->used = ++vs->cache_clock;
            return c;
        }
        if (c->used < victim->used)
            victim = c;
    }
    ++vs->stats.updates_parsed;
    free(victim->payload);
    victim->payload = h2o_mem_alloc(len != 0 ? len : 1);
    memcpy(victim->payload, payload, len);
    victim->len = len;
    victim->n = 0;
    victim->used = ++vs->cache_clock;
    vs->filling = victim;
    if (frames_scan_update(payload, len, on_change, vs) < 0)
        victim->n = 0; /* not shaped like an update: count it, use none of it */
    return victim;
}

static void on_text(struct viewer *v, const struct frames_frame *fr, size_t wire_len)
{
    struct viewers *vs = v->vs;

    switch (frames_type_of(fr->payload, fr->len)) {
    case FRAMES_HELLO:
        ++vs->stats.hellos;
        if (!v->got_hello) {
            v->got_hello = 1;
            ++vs->stats.ready;
            stats_add(&vs->stats.hello_us, (stats_now_ns() - v->started_ns) / 1000);
            if (vs->stats.hello_bytes_min == 0 || wire_len < vs->stats.hello_bytes_min)
                vs->stats.hello_bytes_min = wire_len;
            if (wire_len > vs->stats.hello_bytes_max)
                vs->stats.hello_bytes_max = wire_len;
        }
        break;
    case FRAMES_UPDATE: {
        struct cached_frame *c = parse_update(vs, fr->payload, fr->len);
        ++vs->stats.updates;
        if (c->n != 0)
            vs->listener.on_changes(vs->listener.ctx, c->changes, c->n, stats_now_ns());
        break;
    }
    case FRAMES_STALE:
        ++vs->stats.stales;
        break;
    default:
        break;
    }
}

/* Returns 0, or -1 when the viewer ended. */
static int read_frames(struct viewer *v)
{
    struct viewers *vs = v->vs;
    h2o_socket_t *sock = v->sock;

    while (sock->input->size != 0) {
        struct frames_frame fr;
        ssize_t n = frames_parse(sock->input->bytes, sock->input->size, &fr);
        if (n == 0)
            return 0;
        if (n < 0) {
            viewer_end(v);
            return -1;
        }
        ++vs->stats.frames;
        vs->stats.bytes += (uint64_t)n;
        switch (fr.opcode) {
        case 1:
            on_text(v, &fr, (size_t)n);
            break;
        case 9:
            send_control(v, 10, fr.payload, fr.len);
            break;
        case 8:
            vs->stats.last_close_code =
                fr.len >= 2 ? ((unsigned char)fr.payload[0] << 8 | (unsigned char)fr.payload[1]) : 1005;
            viewer_end(v);
            return -1;
        default:
            break;
        }
        h2o_buffer_consume(&sock->input, (size_t)n);
    }
    return 0;
}

/* 1 when the 101 response carries the accept value our key asks for. */
static int accept_ok(const struct viewer *v, const char *head, size_t len)
{
    static const char name[] = "\nsec-websocket-accept:";
    char want[29];
    const char *p;

    ws_accept_key(want, v->key);
    for (p = head; (p = memchr(p, '\n', (size_t)(head + len - p))) != NULL; ++p) {
        const char *val;
        if ((size_t)(head + len - p) < sizeof(name) - 1 + 28 || strncasecmp(p, name, sizeof(name) - 1) != 0)
            continue;
        val = p + sizeof(name) - 1;
        while (*val == ' ')
            ++val;
        return (size_t)(head + len - val) >= 28 && memcmp(val, want, 28) == 0;
    }
    return 0;
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    struct viewer *v = sock->data;

    if (err != NULL) {
        viewer_end(v);
        return;
    }
    if (v->state == VIEWER_HANDSHAKE) {
        int status;
        size_t head = frames_handshake_response(sock->input->bytes, sock->input->size, &status);
        if (head == 0) {
            if (sock->input->size > 16384)
                viewer_end(v);
            return;
        }
        if (status != 101 || !accept_ok(v, sock->input->bytes, head)) {
            viewer_end(v);
            return;
        }
        h2o_buffer_consume(&sock->input, head);
        v->state = VIEWER_OPEN;
        ++v->vs->stats.upgraded;
    }
    read_frames(v);
}

static void on_connect(h2o_socket_t *sock, const char *err)
{
    struct viewer *v = sock->data;
    struct viewers *vs = v->vs;
    unsigned char raw[16];
    h2o_iovec_t buf;
    size_t i;
    int n;

    if (err != NULL) {
        viewer_end(v);
        return;
    }
    for (i = 0; i != sizeof(raw); ++i)
        raw[i] = (unsigned char)rng_next(&vs->rng);
    h2o_base64_encode(v->key, raw, sizeof(raw), 0);
    v->key[24] = '\0';
    n = snprintf(v->wbuf, sizeof(v->wbuf),
                 "GET /api/feed HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 vs->host_header, v->key);
    buf = h2o_iovec_init(v->wbuf, (size_t)n < sizeof(v->wbuf) ? (size_t)n : sizeof(v->wbuf) - 1);
    v->state = VIEWER_HANDSHAKE;
    v->writing = 1;
    h2o_socket_write(sock, &buf, 1, on_write_done);
    h2o_socket_read_start(sock, on_read);
}

static void viewer_start(struct viewers *vs, struct viewer *v)
{
    ++vs->stats.started;
    v->vs = vs;
    v->started_ns = stats_now_ns();
    v->state = VIEWER_CONNECTING;
    v->sock = h2o_socket_connect(vs->loop, (struct sockaddr *)&vs->addr, vs->addrlen, on_connect);
    if (v->sock == NULL) {
        viewer_end(v);
        return;
    }
    v->sock->data = v;
}

struct viewers *viewers_new(h2o_loop_t *loop, const struct sockaddr *addr, socklen_t addrlen, const char *host_header,
                            uint32_t count, double rate, const struct viewers_listener *listener, uint64_t seed)
{
    struct viewers *vs = h2o_mem_alloc(sizeof(*vs));

    memset(vs, 0, sizeof(*vs));
    vs->loop = loop;
    memcpy(&vs->addr, addr, addrlen);
    vs->addrlen = addrlen;
    snprintf(vs->host_header, sizeof(vs->host_header), "%s", host_header);
    vs->rate = rate;
    vs->listener = *listener;
    vs->rng = seed != 0 ? seed : 0x853C49E6748FEA9Bull;
    vs->stats.requested = count;
    stats_init(&vs->stats.hello_us);
    vs->list = h2o_mem_alloc(sizeof(*vs->list) * (count != 0 ? count : 1));
    memset(vs->list, 0, sizeof(*vs->list) * (count != 0 ? count : 1));
    return vs;
}

void viewers_free(struct viewers *vs)
{
    uint32_t i;

    for (i = 0; i != vs->stats.started; ++i)
        if (vs->list[i].sock != NULL)
            h2o_socket_close(vs->list[i].sock);
    for (i = 0; i != FRAME_CACHE; ++i) {
        free(vs->cache[i].payload);
        free(vs->cache[i].changes);
    }
    free(vs->list);
    free(vs);
}

uint64_t viewers_tick(struct viewers *vs, uint64_t now_ms)
{
    uint64_t due;

    if (!vs->ticked) {
        vs->ticked = 1;
        vs->start_ms = now_ms;
    }
    if (vs->stats.started == vs->stats.requested)
        return 100;
    due = vs->rate > 0 ? (uint64_t)((double)(now_ms - vs->start_ms) * vs->rate / 1000.0) + 1 : vs->stats.requested;
    if (due > vs->stats.requested)
        due = vs->stats.requested;
    while (vs->stats.started < due)
        viewer_start(vs, &vs->list[vs->stats.started]);
    return vs->stats.started == vs->stats.requested ? 100 : 1;
}

int viewers_settled(const struct viewers *vs)
{
    uint32_t i, pending = 0;

    if (vs->stats.started != vs->stats.requested)
        return 0;
    for (i = 0; i != vs->stats.started; ++i)
        if (vs->list[i].state != VIEWER_DONE && !vs->list[i].got_hello)
            ++pending;
    return pending == 0;
}

const struct viewers_stats *viewers_stats(const struct viewers *vs)
{
    return &vs->stats;
}
