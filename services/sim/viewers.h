/* viewers.h -- K WebSocket clients of the feed that time every change they see and count what they get. */
#ifndef GLANCE_SIM_VIEWERS_H
#define GLANCE_SIM_VIEWERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "h2o.h"
#include "stats.h"

struct viewers_stats {
    uint32_t requested;    /* viewers asked for */
    uint32_t started;      /* connections begun */
    uint32_t upgraded;     /* answered 101 */
    uint32_t ready;        /* open and holding a hello now */
    uint32_t failed;       /* never opened: connect or handshake failed */
    uint32_t closed;       /* opened, then closed by the server or the network */
    int last_close_code;   /* of the latest close frame received, 0 if none */
    uint64_t hellos, updates, stales, frames, bytes;
    uint64_t updates_parsed;    /* distinct update frames parsed; the rest were replayed from the cache */
    uint64_t hello_bytes_min, hello_bytes_max; /* the first hello of each viewer, on the wire */
    struct stats_hist hello_us; /* connection begun -> first hello fully received */
};

/* One change of an update frame, resolved once per distinct frame: `key` is what the resolver returned. */
struct viewers_change {
    uint32_t key;
    int state;
};

/* The callbacks a viewer reports to. Every viewer receives the same frames (the server encodes each once),
 * so a frame is parsed and its changes resolved once, then replayed for every viewer that receives it. */
struct viewers_listener {
    /* maps a cluster name and shard to a key; UINT32_MAX for a change nobody tracks (it is then skipped) */
    uint32_t (*resolve)(void *ctx, const char *name, size_t name_len, uint32_t shard);
    /* one viewer received these changes (those that resolved) at now_ns */
    void (*on_changes)(void *ctx, const struct viewers_change *changes, size_t n, uint64_t now_ns);
    void *ctx;
};

struct viewers;

/* Prepares `count` viewers of ws://<host_header>/api/feed at addr, started at `rate` per second (0: all at
 * once) from the first viewers_tick (glance-sim calls it once the fleet has booted). Never returns NULL. */
struct viewers *viewers_new(h2o_loop_t *loop, const struct sockaddr *addr, socklen_t addrlen, const char *host_header,
                            uint32_t count, double rate, const struct viewers_listener *listener, uint64_t seed);

/* Closes every connection and frees. */
void viewers_free(struct viewers *vs);

/* Starts the connections that are due. Returns the ms until more are due (at most 100). */
uint64_t viewers_tick(struct viewers *vs, uint64_t now_ms);

/* 1 once every viewer was started and has either its hello or failed. */
int viewers_settled(const struct viewers *vs);

const struct viewers_stats *viewers_stats(const struct viewers *vs);

#endif
