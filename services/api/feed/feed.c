/* feed.c -- the live WebSocket feed: clients, coalesced update frames encoded once, backlog bounds.
 *
 * Changes are collected per cluster and flushed at most once per interval as one update frame, encoded once and
 * queued by reference to every client. The first change after a quiet interval goes out at the end of the loop
 * turn that brought it; those that follow wait for the interval, so a busy feed still sends one frame per
 * interval. Queued frames are written a slice of clients per loop turn, so that handing a frame to 10,000
 * clients never holds a bot's POST for the whole broadcast, and no new frame is made while the last one is still
 * being handed out (under load, frames grow rather than pile up). A client's queue is bounded in bytes: one
 * that cannot keep up is disconnected (it reconnects and starts from a hello) rather than growing the replica's
 * memory. */
#include "feed/feed.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "base/client_address.h"
#include "base/codec.h"
#include "h2o/http1.h"
#include "h2o/websocket.h"
#include "base/log.h"
#include "feed/websocket.h"
#include "feed/ws_deflate.h"

#define MAX_WRITE_FRAMES 32
/* Clients handed their queued frames per loop turn: about a millisecond of writev here, after which the loop reads
 * its sockets (bots' POSTs, Redis replies) before the next slice. */
#define WRITE_SLICE_CLIENTS 256
#define MAX_MISSED_PONGS 2
#define ADDRESS_BUCKETS 1024
/* Dropped clients are logged at most once this often, with a count: a thousand slow phones are one line. */
#define DROP_LOG_INTERVAL_MS 1000
/* A feed client only ever sends pongs and the odd resync: a small receive buffer means the kernel holds
 * little of what a flooding client sends, and each wake-up reads at most that much into memory, however far
 * behind a busy replica falls. */
#define CLIENT_RCVBUF 16384
/* Resyncs a client may ask for: a burst of this many, then one per interval. A page asks only when it sees a
 * version gap; one asking faster is closed (1008), since each answer is a whole hello. */
#define RESYNC_BURST 3
#define RESYNC_REFILL_MS 2000

/* Feed clients per peer address, counted only when a per-address limit is configured. */
struct address_count {
    struct address_count *next;
    size_t len;
    unsigned char addr[16];
    uint32_t clients;
};

/* A set of shards of one cluster, in the order they joined: a mark per shard and the list. */
struct shard_set {
    uint8_t *marked;
    H2O_VECTOR(uint32_t) list;
};

struct pending {
    struct shard_set changed, pinged;
    uint64_t from; /* the version clients were last brought to */
};

struct feed_client {
    h2o_linklist_t link;
    h2o_linklist_t write_link; /* in feed.to_write while it has frames waiting for a write slice */
    struct feed *feed;
    struct address_count *address; /* NULL unless GLANCE_FEED_MAX_PER_ADDRESS is set */
    h2o_socket_t *sock;
    struct ws_frame **queue; /* ring of frame references */
    size_t head, size, capacity;
    size_t queued_bytes;
    size_t allowance; /* the backlog bound, fixed when the client's latest hello was queued */
    size_t writing; /* frames at the head that are being written */
    int closing;    /* a close frame is queued: close the socket once it is written */
    int missed_pongs;
    int in_fragments;               /* a fragmented message is arriving: only continuations may follow */
    int deflate;                    /* it took permessage-deflate: gets the compressed twin of every message */
    struct ws_frame *unsent_hello;  /* the latest hello queued and not written yet; a resync then waits for it */
    uint32_t resync_tokens;
    uint64_t resync_refilled_at;
};

struct feed {
    h2o_loop_t *loop;
    const struct conf *conf;
    struct mirror *mirror;
    h2o_linklist_t clients;
    size_t num_clients;
    size_t num_deflate; /* of them, clients that took permessage-deflate */
    struct ws_deflater *deflater;
    size_t upgrading; /* handshakes answered, sockets not handed over yet */
    struct pending *pending;
    int any_pending;
    struct ws_frame *hello; /* cached while no cluster's version moved */
    uint64_t *hello_versions; /* the versions the cached hello was encoded at */
    uint64_t *current_versions;
    struct ws_frame *ping;
    int stale;
    struct ws_frame *stale_frame; /* while stale: told to every client that connects */
    int shutting_down;
    struct codec_cluster *views;
    h2o_buffer_t *scratch;
    h2o_timeout_t flush_timeout, flush_now_timeout, ping_timeout;
    h2o_timeout_entry_t flush_entry, ping_entry;
    uint64_t flushed_at; /* loop time the last update frame was made */
    h2o_linklist_t to_write; /* clients with queued frames and no write under way, in the order they queued */
    size_t to_write_len;
    /* of the first clients in to_write, how many still wait for the last update frame: the line is first in, first
     * out, so the frame is handed out once that many have had their slice, whatever hellos or pings queue behind */
    size_t hand_out_left;
    /* the first slice runs at the end of this loop turn; the next ones after the loop has polled its sockets (a
     * zero timeout linked from its own callback would run again in the same turn) */
    h2o_timeout_t write_now_timeout, write_next_timeout;
    h2o_timeout_entry_t write_entry;
    struct feed_stats stats;
    uint64_t drops_unlogged, drop_logged_at;
    struct address_count *addresses[ADDRESS_BUCKETS];
};

/* The address part of a peer (IPv4 or IPv6), without the port. */
static size_t peer_address(h2o_req_t *req, unsigned char *out)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    struct client_address a;

    client_address_from_sockaddr((struct sockaddr *)&ss, len, &a);
    memcpy(out, a.addr, a.len);
    return a.len;
}

static struct address_count **address_bucket(struct feed *f, const unsigned char *addr, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    size_t i;

    for (i = 0; i != len; ++i)
        h = (h ^ addr[i]) * 16777619u;
    return &f->addresses[h % ADDRESS_BUCKETS];
}

/* Finds (or, with `create`, adds) the count of an address. */
static struct address_count *address_lookup(struct feed *f, const unsigned char *addr, size_t len, int create)
{
    struct address_count **slot = address_bucket(f, addr, len), *a;

    for (a = *slot; a != NULL; a = a->next)
        if (a->len == len && memcmp(a->addr, addr, len) == 0)
            return a;
    if (!create)
        return NULL;
    a = h2o_mem_alloc(sizeof(*a));
    *a = (struct address_count){*slot, len};
    memcpy(a->addr, addr, len);
    *slot = a;
    return a;
}

static void address_release(struct feed *f, struct address_count *a)
{
    struct address_count **slot;

    if (--a->clients != 0)
        return;
    for (slot = address_bucket(f, a->addr, a->len); *slot != a; slot = &(*slot)->next)
        ;
    *slot = a->next;
    free(a);
}

static void client_flush(struct feed_client *cl);

static void client_free(struct feed_client *cl)
{
    struct feed *f = cl->feed;
    size_t i;

    h2o_linklist_unlink(&cl->link);
    if (h2o_linklist_is_linked(&cl->write_link)) {
        h2o_linklist_unlink(&cl->write_link);
        if (f->hand_out_left > --f->to_write_len)
            f->hand_out_left = f->to_write_len; /* it may have been one of them */
    }
    --f->num_clients;
    f->num_deflate -= cl->deflate;
    if (cl->address != NULL)
        address_release(f, cl->address);
    for (i = 0; i != cl->size; ++i)
        h2o_mem_release_shared(cl->queue[(cl->head + i) % cl->capacity]);
    free(cl->queue);
    /* a write in progress is abandoned with the socket; its frames were released above */
    h2o_socket_close(cl->sock);
    free(cl);
}

static void client_drop(struct feed_client *cl, const char *why)
{
    struct feed *f = cl->feed;
    uint64_t now = h2o_now(f->loop);

    ++f->stats.dropped;
    ++f->drops_unlogged;
    if (f->drop_logged_at == 0 || now - f->drop_logged_at >= DROP_LOG_INTERVAL_MS) {
        log_info("feed: dropped %llu client(s) since the last such line; the latest because %s",
                 (unsigned long long)f->drops_unlogged, why);
        f->drops_unlogged = 0;
        f->drop_logged_at = now;
    }
    client_free(cl);
}

/* Queues a frame (taking a reference) and starts writing. Returns 0, or -1 when the client had to be
 * dropped for its backlog and is gone. */
static int client_send(struct feed_client *cl, struct ws_frame *frame)
{
    if (cl->closing)
        return 0;
    if (cl->deflate)
        frame = ws_deflated(cl->feed->deflater, frame); /* compressed once, for every such client */
    if (cl->queued_bytes + frame->len > cl->allowance && cl->size != 0) {
        client_drop(cl, "its unsent backlog passed the bound");
        return -1;
    }
    if (cl->size == cl->capacity) {
        size_t cap = cl->capacity == 0 ? 8 : cl->capacity * 2, i;
        struct ws_frame **q = h2o_mem_alloc(sizeof(*q) * cap);
        for (i = 0; i != cl->size; ++i)
            q[i] = cl->queue[(cl->head + i) % cl->capacity];
        free(cl->queue);
        cl->queue = q;
        cl->head = 0;
        cl->capacity = cap;
    }
    h2o_mem_addref_shared(frame);
    cl->queue[(cl->head + cl->size++) % cl->capacity] = frame;
    cl->queued_bytes += frame->len;
    client_flush(cl);
    return 0;
}

/* Returns like client_send. */
static int client_close_with(struct feed_client *cl, uint16_t code, const char *reason)
{
    struct ws_frame *frame = ws_frame_close(code, reason);
    int ret = client_send(cl, frame);

    h2o_mem_release_shared(frame);
    if (ret == 0)
        cl->closing = 1;
    return ret;
}

static void on_write_complete(h2o_socket_t *sock, const char *err)
{
    struct feed_client *cl = sock->data;
    struct feed *f = cl->feed;
    size_t i;

    for (i = 0; i != cl->writing; ++i) {
        struct ws_frame *frame = cl->queue[cl->head];
        if (frame == cl->unsent_hello)
            cl->unsent_hello = NULL;
        cl->queued_bytes -= frame->len;
        ++f->stats.frames_sent;
        f->stats.bytes_sent += frame->len;
        h2o_mem_release_shared(frame);
        cl->head = (cl->head + 1) % cl->capacity;
        --cl->size;
    }
    cl->writing = 0;
    if (err != NULL || (cl->closing && cl->size == 0)) {
        client_free(cl);
        return;
    }
    client_flush(cl);
}

/* Writes what is queued (up to MAX_WRITE_FRAMES frames in one writev). */
static void client_write(struct feed_client *cl)
{
    h2o_iovec_t bufs[MAX_WRITE_FRAMES];
    size_t n, i;

    n = cl->size < MAX_WRITE_FRAMES ? cl->size : MAX_WRITE_FRAMES;
    for (i = 0; i != n; ++i) {
        struct ws_frame *frame = cl->queue[(cl->head + i) % cl->capacity];
        bufs[i] = h2o_iovec_init(frame->bytes, frame->len);
    }
    cl->writing = n;
    h2o_socket_write(cl->sock, bufs, n, on_write_complete);
}

/* Puts a client with queued frames and no write under way in line for the next write slice. */
static void client_flush(struct feed_client *cl)
{
    struct feed *f = cl->feed;

    if (cl->writing != 0 || cl->size == 0 || h2o_linklist_is_linked(&cl->write_link))
        return;
    h2o_linklist_insert(&f->to_write, &cl->write_link);
    ++f->to_write_len;
    if (!h2o_timeout_is_linked(&f->write_entry))
        h2o_timeout_link(f->loop, &f->write_now_timeout, &f->write_entry);
}

static void arm_flush(struct feed *f);

static void on_write_slice(h2o_timeout_entry_t *entry)
{
    struct feed *f = H2O_STRUCT_FROM_MEMBER(struct feed, write_entry, entry);
    size_t n;

    for (n = 0; n != WRITE_SLICE_CLIENTS && !h2o_linklist_is_empty(&f->to_write); ++n) {
        struct feed_client *cl = H2O_STRUCT_FROM_MEMBER(struct feed_client, write_link, f->to_write.next);
        h2o_linklist_unlink(&cl->write_link);
        --f->to_write_len;
        client_write(cl);
    }
    if (f->hand_out_left != 0) {
        f->hand_out_left -= n < f->hand_out_left ? n : f->hand_out_left;
        /* a replica that takes longer than an interval to hand a frame out sends the next when it is done, with
         * everything that came meanwhile: frames grow rather than pile up */
        if (f->hand_out_left == 0 && f->any_pending)
            arm_flush(f);
    }
    if (!h2o_linklist_is_empty(&f->to_write))
        h2o_timeout_link(f->loop, &f->write_next_timeout, &f->write_entry);
}

/* The encode buffer is reused from frame to frame; a frame copies what it needs once. */
static struct ws_frame *frame_from_scratch(struct feed *f)
{
    struct ws_frame *frame = ws_frame_new(WS_TEXT, f->scratch->bytes, f->scratch->size);

    h2o_buffer_consume(&f->scratch, f->scratch->size);
    return frame;
}

static void forget_hello(struct feed *f);

/* A hello stays good for new clients until a frame goes out after it: the changes since it was encoded are all
 * pending, and the next frame carries them from a version no later than the hello's. So under a stream of changes
 * a hello is encoded at most once per frame, not once per version (at a million shards, 10 ms of CPU each). */
static int hello_usable(struct feed *f, size_t n)
{
    size_t i;

    for (i = 0; i != n; ++i)
        if (f->hello_versions[i] < f->pending[i].from || f->hello_versions[i] > f->current_versions[i])
            return 0;
    return 1;
}

static struct ws_frame *get_hello(struct feed *f)
{
    size_t n = mirror_num_clusters(f->mirror);

    mirror_versions(f->mirror, f->current_versions);
    if (f->hello != NULL && !hello_usable(f, n))
        forget_hello(f);
    if (f->hello == NULL) {
        memcpy(f->hello_versions, f->current_versions, sizeof(*f->hello_versions) * n);
        mirror_views(f->mirror, f->views);
        codec_hello(&f->scratch, f->views, mirror_num_clusters(f->mirror), f->conf->health_timeout_s,
                    f->conf->feed_interval_ms);
        f->hello = frame_from_scratch(f);
        ++f->stats.hellos_encoded;
    }
    return f->hello;
}

/* Queues a hello; the client's backlog bound becomes the usual one plus this hello, so a client still
 * draining a large hello is not dropped by the next update. Returns like client_send. */
static int client_send_hello(struct feed_client *cl)
{
    struct ws_frame *hello = get_hello(cl->feed);
    int ret;

    if (cl->closing)
        return 0;
    if (cl->deflate)
        hello = ws_deflated(cl->feed->deflater, hello); /* what is queued, so that unsent_hello finds it */
    cl->allowance = FEED_MAX_BACKLOG + hello->len;
    if ((ret = client_send(cl, hello)) == 0)
        cl->unsent_hello = hello;
    return ret;
}

/* A client asked for a fresh hello. Returns like client_send. */
static int on_resync(struct feed_client *cl)
{
    struct feed *f = cl->feed;
    uint64_t now = h2o_now(f->loop), refills;

    if (cl->unsent_hello != NULL)
        return 0; /* the hello on its way answers this request too */
    refills = (now - cl->resync_refilled_at) / RESYNC_REFILL_MS;
    if (refills != 0) {
        cl->resync_tokens = cl->resync_tokens + refills > RESYNC_BURST ? RESYNC_BURST : cl->resync_tokens + (uint32_t)refills;
        cl->resync_refilled_at += refills * RESYNC_REFILL_MS;
    }
    if (cl->resync_tokens == 0) {
        ++f->stats.resyncs_refused;
        return client_close_with(cl, 1008, "too many resync requests");
    }
    --cl->resync_tokens;
    return client_send_hello(cl);
}

static void broadcast(struct feed *f, struct ws_frame *frame)
{
    h2o_linklist_t *node = f->clients.next;

    while (node != &f->clients) {
        struct feed_client *cl = H2O_STRUCT_FROM_MEMBER(struct feed_client, link, node);
        node = node->next; /* the client may be dropped by the send */
        client_send(cl, frame);
    }
}

static void forget_hello(struct feed *f)
{
    if (f->hello != NULL) {
        h2o_mem_release_shared(f->hello);
        f->hello = NULL;
    }
}

static void shard_set_init(struct shard_set *set, uint32_t shards)
{
    if ((set->marked = calloc(shards, 1)) == NULL)
        h2o_fatal("out of memory");
}

static void shard_set_dispose(struct shard_set *set)
{
    free(set->marked);
    free(set->list.entries);
}

static void shard_set_add(struct shard_set *set, uint32_t shard)
{
    if (set->marked[shard])
        return;
    set->marked[shard] = 1;
    h2o_vector_reserve(NULL, &set->list, set->list.size + 1);
    set->list.entries[set->list.size++] = shard;
}

static void shard_set_clear(struct shard_set *set)
{
    size_t i;

    for (i = 0; i != set->list.size; ++i)
        set->marked[set->list.entries[i]] = 0;
    set->list.size = 0;
}

static void clear_pending(struct feed *f)
{
    size_t i;

    for (i = 0; i != mirror_num_clusters(f->mirror); ++i) {
        shard_set_clear(&f->pending[i].changed);
        shard_set_clear(&f->pending[i].pinged);
        f->pending[i].from = mirror_cluster(f->mirror, i)->version;
    }
    f->any_pending = 0;
}

static void on_flush(h2o_timeout_entry_t *entry)
{
    struct feed *f = H2O_STRUCT_FROM_MEMBER(struct feed, flush_entry, entry);
    struct ws_frame *frame;
    size_t i;
    int first = 1;

    if (!f->any_pending)
        return;
    if (f->hand_out_left != 0)
        return; /* the last frame is still being handed out: on_write_slice arms this again when it is done */
    mirror_views(f->mirror, f->views);
    codec_update_begin(&f->scratch);
    for (i = 0; i != mirror_num_clusters(f->mirror); ++i) {
        struct pending *p = &f->pending[i];
        if (p->changed.list.size == 0 && p->pinged.list.size == 0)
            continue;
        codec_update_cluster(&f->scratch, first, &f->views[i], p->from, p->changed.list.entries, p->changed.list.size,
                             p->pinged.list.entries, p->pinged.list.size);
        first = 0;
    }
    codec_update_end(&f->scratch);
    frame = frame_from_scratch(f);
    f->flushed_at = h2o_now(f->loop);
    ++f->stats.updates_encoded;
    /* the cached hello stays good until this frame (hello_usable checks) */
    clear_pending(f);
    broadcast(f, frame);
    h2o_mem_release_shared(frame);
    f->hand_out_left = f->to_write_len; /* everyone in line now, this frame's clients among them */
}

static void arm_flush(struct feed *f)
{
    f->any_pending = 1;
    if (h2o_timeout_is_linked(&f->flush_entry) || f->hand_out_left != 0)
        return; /* a frame is due already, or on_write_slice arms one when the last is handed out */
    /* after a quiet interval there is no frame rate to hold to: the change goes out at once (the zero timeout runs
     * after this loop turn's reads, so what arrived with it goes in the same frame) */
    if (h2o_now(f->loop) - f->flushed_at >= f->conf->feed_interval_ms)
        h2o_timeout_link(f->loop, &f->flush_now_timeout, &f->flush_entry);
    else
        h2o_timeout_link(f->loop, &f->flush_timeout, &f->flush_entry);
}

void feed_on_change(struct feed *f, size_t cluster, uint32_t shard)
{
    shard_set_add(&f->pending[cluster].changed, shard);
    arm_flush(f);
}

void feed_on_ping(struct feed *f, size_t cluster, uint32_t shard)
{
    shard_set_add(&f->pending[cluster].pinged, shard);
    arm_flush(f);
}

void feed_on_synced(struct feed *f)
{
    /* the hello carries everything pending, and versions may have moved in any direction */
    clear_pending(f);
    forget_hello(f);
    if (f->stale) {
        f->stale = 0;
        h2o_mem_release_shared(f->stale_frame);
        f->stale_frame = NULL;
    }
    {
        h2o_linklist_t *node = f->clients.next;
        while (node != &f->clients) {
            struct feed_client *cl = H2O_STRUCT_FROM_MEMBER(struct feed_client, link, node);
            node = node->next; /* the client may be dropped by the send */
            client_send_hello(cl);
        }
    }
}

void feed_on_lost(struct feed *f)
{
    char msg[64];
    int len;

    if (f->stale)
        return;
    f->stale = 1;
    len = snprintf(msg, sizeof(msg), "{\"type\":\"stale\",\"since_ms\":%llu}", (unsigned long long)time(NULL) * 1000);
    f->stale_frame = ws_frame_new(WS_TEXT, msg, (size_t)len);
    broadcast(f, f->stale_frame);
}

/* RFC 6455 lets an endpoint answer only the latest ping: while the last queued frame is an unsent pong, the
 * new pong takes its place, so a client that floods pings without reading holds one pong, not thousands. */
static int client_send_pong(struct feed_client *cl, struct ws_frame *pong)
{
    struct ws_frame **tail;

    if (cl->size > cl->writing && !cl->closing) {
        tail = &cl->queue[(cl->head + cl->size - 1) % cl->capacity];
        if (((*tail)->bytes[0] & 0x0f) == WS_PONG) {
            cl->queued_bytes = cl->queued_bytes - (*tail)->len + pong->len;
            h2o_mem_release_shared(*tail);
            h2o_mem_addref_shared(pong);
            *tail = pong;
            return 0;
        }
    }
    return client_send(cl, pong);
}

/* Returns like client_send. */
static int on_message(struct feed_client *cl, const struct ws_incoming *in)
{
    struct ws_incoming plain;
    struct ws_frame *pong;
    int ret;

    /* fragments: a data frame may not start while a fragmented message is arriving, a continuation may not
     * come without one; their content is ignored (the one request a client makes fits in one frame) */
    if (in->opcode == WS_CONTINUATION || in->opcode == WS_TEXT || in->opcode == WS_BINARY) {
        if ((in->opcode == WS_CONTINUATION) != cl->in_fragments)
            return client_close_with(cl, 1002, cl->in_fragments ? "a new message inside a fragmented one"
                                                                 : "a continuation frame with no message started");
        cl->in_fragments = !in->fin;
        if (in->opcode == WS_CONTINUATION || !in->fin)
            return 0;
    }
    if (in->compressed) {
        static char inflated[WS_MAX_INCOMING_PAYLOAD];
        size_t len;
        switch (ws_inflate(in->payload, in->len, inflated, sizeof(inflated), &len)) {
        case 0:
            break;
        case -2:
            return client_close_with(cl, 1009, "message too big");
        default:
            return client_close_with(cl, 1007, "a compressed message that does not inflate");
        }
        plain = (struct ws_incoming){in->opcode, in->fin, 0, inflated, len};
        in = &plain;
    }
    switch (in->opcode) {
    case WS_TEXT:
        if (!ws_valid_utf8(in->payload, in->len))
            return client_close_with(cl, 1007, "text that is not UTF-8");
        /* the one request a client makes; anything else it says is ignored */
        if (memmem(in->payload, in->len, "\"resync\"", 8) != NULL)
            return on_resync(cl);
        return 0;
    case WS_PING:
        pong = ws_frame_new(WS_PONG, in->payload, in->len);
        ret = client_send_pong(cl, pong);
        h2o_mem_release_shared(pong);
        return ret;
    case WS_CLOSE:
        return client_close_with(cl, 1000, "");
    default:
        return 0;
    }
}

/* Feed clients are idle almost always: give their read buffer back instead of keeping a few KiB each. */
static void release_empty_input(h2o_socket_t *sock)
{
    if (sock->input->size == 0 && sock->input->bytes != NULL) { /* not the shared empty prototype */
        h2o_buffer_dispose(&sock->input);
        h2o_buffer_init(&sock->input, &h2o_socket_buffer_prototype);
    }
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    struct feed_client *cl = sock->data;

    if (err != NULL) {
        client_free(cl);
        return;
    }
    cl->missed_pongs = 0;
    for (;;) {
        struct ws_incoming in;
        uint16_t code;
        ssize_t n = cl->deflate ? ws_parse_deflate(sock->input->bytes, sock->input->size, &in, &code)
                                : ws_parse(sock->input->bytes, sock->input->size, &in, &code);
        if (n == 0)
            break;
        if (n < 0) {
            h2o_socket_read_stop(sock);
            client_close_with(cl, code, code == 1009 ? "message too big" : "protocol error");
            return;
        }
        /* the payload points into the input buffer: answer it before letting the buffer move on */
        if (on_message(cl, &in) != 0)
            return;
        h2o_buffer_consume(&sock->input, (size_t)n);
        if (cl->closing) {
            h2o_socket_read_stop(sock);
            return;
        }
    }
    release_empty_input(sock);
}

static void on_ping_tick(h2o_timeout_entry_t *entry)
{
    struct feed *f = H2O_STRUCT_FROM_MEMBER(struct feed, ping_entry, entry);
    h2o_linklist_t *node = f->clients.next;

    while (node != &f->clients) {
        struct feed_client *cl = H2O_STRUCT_FROM_MEMBER(struct feed_client, link, node);
        node = node->next;
        if (cl->closing)
            continue;
        if (cl->missed_pongs >= MAX_MISSED_PONGS) {
            client_drop(cl, "it did not answer pings");
            continue;
        }
        ++cl->missed_pongs;
        client_send(cl, f->ping);
    }
    h2o_timeout_link(f->loop, &f->ping_timeout, &f->ping_entry);
}

static void on_upgraded(void *data, h2o_socket_t *sock, size_t reqsize)
{
    struct feed_client *cl = data;
    struct feed *f = cl->feed;

    if (sock == NULL) {
        --f->upgrading;
        if (cl->address != NULL)
            address_release(f, cl->address);
        free(cl);
        return;
    }
    --f->upgrading;
    cl->sock = sock;
    sock->data = cl;
    h2o_linklist_insert(&f->clients, &cl->link);
    ++f->num_clients;
    f->num_deflate += cl->deflate;
    h2o_buffer_consume(&sock->input, reqsize);
    release_empty_input(sock);
    {
        int rcvbuf = CLIENT_RCVBUF;
        /* only a bound on memory: if the kernel refuses, the client merely keeps the default */
        (void)setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    h2o_socket_read_start(sock, on_read);
    if (client_send_hello(cl) != 0 || (f->stale && client_send(cl, f->stale_frame) != 0))
        return; /* dropped */
    if (f->shutting_down) /* answered just before the replica began to stop: it goes with the others */
        client_close_with(cl, 1001, "going away");
}

/* An Origin header, when a browser sends one, must be on the configured list (if there is one). */
static int origin_allowed(const struct conf *conf, h2o_req_t *req)
{
    ssize_t i;
    size_t j;
    h2o_iovec_t origin;

    if (conf->num_feed_origins == 0 || (i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1)) == -1)
        return 1;
    origin = req->headers.entries[i].value;
    for (j = 0; j != conf->num_feed_origins; ++j)
        if (h2o_memis(origin.base, origin.len, conf->feed_origins[j], strlen(conf->feed_origins[j])))
            return 1;
    return 0;
}

/* Whether the client offered a permessage-deflate this side honours (in any of its extension headers). */
static int deflate_offered(h2o_req_t *req)
{
    ssize_t i = -1;

    while ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-websocket-extensions"), i)) != -1)
        if (ws_deflate_accepts(req->headers.entries[i].value.base, req->headers.entries[i].value.len))
            return 1;
    return 0;
}

static int refuse(struct feed_refusal *no, int status, const char *reason, const char *message, unsigned retry_after_s)
{
    *no = (struct feed_refusal){status, reason, message, retry_after_s};
    return -1;
}

int feed_accept(struct feed *f, h2o_req_t *req, struct feed_refusal *no)
{
    const char *client_key;
    char accept_key[29];
    unsigned char addr[16];
    size_t addrlen;
    struct address_count *address = NULL;
    struct feed_client *cl;

    if (f->shutting_down)
        return refuse(no, 503, "Service Unavailable", "this replica is shutting down; connect again", 1);
    if (h2o_is_websocket_handshake(req, &client_key) != 0 || client_key == NULL || req->version >= 0x200)
        return refuse(no, 400, "Bad Request", "expected a WebSocket handshake", 0);
    if (!origin_allowed(f->conf, req))
        return refuse(no, 403, "Forbidden", "this Origin may not open the feed (GLANCE_FEED_ORIGINS)", 0);
    if (f->num_clients + f->upgrading >= f->conf->feed_max_clients)
        return refuse(no, 503, "Service Unavailable", "this replica has all the feed clients it takes; try again", 5);
    if (f->conf->feed_max_per_address != 0 && (addrlen = peer_address(req, addr)) != 0) {
        address = address_lookup(f, addr, addrlen, 1);
        if (address->clients >= f->conf->feed_max_per_address)
            return refuse(no, 429, "Too Many Requests", "too many feed connections from this address", 0);
        ++address->clients;
    }
    cl = h2o_mem_alloc(sizeof(*cl));
    memset(cl, 0, sizeof(*cl));
    cl->feed = f;
    cl->address = address;
    cl->resync_tokens = RESYNC_BURST;
    cl->resync_refilled_at = h2o_now(f->loop);
    ++f->upgrading;
    ws_accept_key(accept_key, client_key);
    req->res.status = 101;
    req->res.reason = "Switching Protocols";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_UPGRADE, NULL, H2O_STRLIT("websocket"));
    if ((cl->deflate = deflate_offered(req)) != 0)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-extensions"), 0, NULL,
                              H2O_STRLIT(WS_DEFLATE_RESPONSE));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-accept"), 0, NULL, accept_key, 28);
    h2o_http1_upgrade(req, NULL, 0, on_upgraded, cl);
    return 0;
}

struct feed *feed_new(h2o_loop_t *loop, const struct conf *conf, struct mirror *mirror)
{
    struct feed *f = h2o_mem_alloc(sizeof(*f));
    size_t i, n = mirror_num_clusters(mirror);

    memset(f, 0, sizeof(*f));
    f->loop = loop;
    f->conf = conf;
    f->mirror = mirror;
    h2o_linklist_init_anchor(&f->clients);
    f->pending = h2o_mem_alloc(sizeof(*f->pending) * n);
    memset(f->pending, 0, sizeof(*f->pending) * n);
    for (i = 0; i != n; ++i) {
        uint32_t shards = mirror_cluster(mirror, i)->conf->shards;
        shard_set_init(&f->pending[i].changed, shards);
        shard_set_init(&f->pending[i].pinged, shards);
    }
    f->views = h2o_mem_alloc(sizeof(*f->views) * n);
    f->hello_versions = h2o_mem_alloc(sizeof(*f->hello_versions) * n);
    f->current_versions = h2o_mem_alloc(sizeof(*f->current_versions) * n);
    h2o_buffer_init(&f->scratch, &h2o_socket_buffer_prototype);
    f->ping = ws_frame_new(WS_PING, "", 0);
    f->deflater = ws_deflater_new();
    h2o_timeout_init(loop, &f->flush_timeout, conf->feed_interval_ms);
    h2o_timeout_init(loop, &f->flush_now_timeout, 0);
    f->flush_entry.cb = on_flush;
    h2o_timeout_init(loop, &f->ping_timeout, FEED_PING_INTERVAL_MS);
    f->ping_entry.cb = on_ping_tick;
    h2o_linklist_init_anchor(&f->to_write);
    h2o_timeout_init(loop, &f->write_now_timeout, 0);
    h2o_timeout_init(loop, &f->write_next_timeout, 1);
    f->write_entry.cb = on_write_slice;
    h2o_timeout_link(loop, &f->ping_timeout, &f->ping_entry);
    return f;
}

void feed_free(struct feed *f)
{
    size_t i;

    feed_drop_all(f);
    if (h2o_timeout_is_linked(&f->flush_entry))
        h2o_timeout_unlink(&f->flush_entry);
    h2o_timeout_unlink(&f->ping_entry);
    if (h2o_timeout_is_linked(&f->write_entry))
        h2o_timeout_unlink(&f->write_entry);
    h2o_timeout_dispose(f->loop, &f->write_now_timeout);
    h2o_timeout_dispose(f->loop, &f->write_next_timeout);
    h2o_timeout_dispose(f->loop, &f->flush_timeout);
    h2o_timeout_dispose(f->loop, &f->flush_now_timeout);
    h2o_timeout_dispose(f->loop, &f->ping_timeout);
    forget_hello(f);
    if (f->stale_frame != NULL)
        h2o_mem_release_shared(f->stale_frame);
    h2o_mem_release_shared(f->ping);
    ws_deflater_free(f->deflater);
    h2o_buffer_dispose(&f->scratch);
    for (i = 0; i != mirror_num_clusters(f->mirror); ++i) {
        shard_set_dispose(&f->pending[i].changed);
        shard_set_dispose(&f->pending[i].pinged);
    }
    free(f->pending);
    free(f->views);
    free(f->hello_versions);
    free(f->current_versions);
    for (i = 0; i != ADDRESS_BUCKETS; ++i) {
        while (f->addresses[i] != NULL) {
            struct address_count *a = f->addresses[i];
            f->addresses[i] = a->next;
            free(a);
        }
    }
    free(f);
}

void feed_shutdown(struct feed *f)
{
    h2o_linklist_t *node = f->clients.next;

    f->shutting_down = 1;
    while (node != &f->clients) {
        struct feed_client *cl = H2O_STRUCT_FROM_MEMBER(struct feed_client, link, node);
        node = node->next;
        client_close_with(cl, 1001, "going away");
    }
}

void feed_drop_all(struct feed *f)
{
    while (!h2o_linklist_is_empty(&f->clients))
        client_free(H2O_STRUCT_FROM_MEMBER(struct feed_client, link, f->clients.next));
}

void feed_get_stats(struct feed *f, struct feed_stats *out)
{
    *out = f->stats;
    out->clients = f->num_clients;
    out->clients_deflate = f->num_deflate;
}
