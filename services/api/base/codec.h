/* codec.h -- msgpack events from Redis in, JSON for HTTP and the feed out: pure functions, no I/O. */
#ifndef GLANCE_CODEC_H
#define GLANCE_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "h2o.h"

enum codec_event_kind { EVENT_STATE = 1, EVENT_PING = 2, EVENT_PINGS = 3 };

/* One event as the Lua scripts publish it. For EVENT_PING only cluster and shard are set; EVENT_PINGS (a batch
 * report's pings, one message for all) has cluster and shards. */
struct codec_event {
    enum codec_event_kind kind;
    h2o_iovec_t cluster; /* points into the decoded message */
    uint32_t shard;
    uint8_t state;
    uint64_t version;
    int64_t since_ms;
    h2o_iovec_t shards; /* EVENT_PINGS: the shard ids, 4 bytes each, big-endian; points into the message */
};

/* Decodes one published event. Returns 0, or -1 when the message is not a well-formed event (any
 * malformed, truncated or out-of-range input is rejected, never trusted). */
int codec_decode_event(const char *data, size_t len, struct codec_event *ev);

/* Encodes an event the way the Lua scripts do (used by tests and the simulator). */
void codec_encode_event(const struct codec_event *ev, msgpack_sbuffer *out);

/* What the JSON encoders need to know of a cluster. */
struct codec_cluster {
    h2o_iovec_t name;
    uint32_t shards;
    uint64_t version;
    const uint8_t *states; /* `shards` entries, each 0..6 */
};

/* Appending to a growable h2o buffer (allocation failure aborts, as everywhere in h2o). */
void codec_put(h2o_buffer_t **buf, const char *s, size_t len);
void codec_put_u64(h2o_buffer_t **buf, uint64_t v);
#define codec_put_lit(buf, lit) codec_put((buf), (lit), sizeof(lit) - 1)
/* A string known only at run time (codec_put_lit takes a literal: sizeof of a pointer would be its size). */
void codec_put_text(h2o_buffer_t **buf, const char *s);

/* Appends `s` as a JSON string literal, quotes included. */
void codec_put_json_string(h2o_buffer_t **buf, const char *s, size_t len);

/* {"type":"hello",...}: the feed's snapshot frame, states as one digit per shard. */
void codec_hello(h2o_buffer_t **buf, const struct codec_cluster *clusters, size_t n, uint32_t health_timeout_s,
                 uint32_t interval_ms);

/* {"clusters":[{"name","shards","version","states":[...]}]}: the body of GET /api/status. */
void codec_status(h2o_buffer_t **buf, const struct codec_cluster *clusters, size_t n);

/* An update frame is built as begin, one cluster entry per cluster with news, end. `changed` lists shard
 * ids whose latest state is read from c->states; `pings` lists shards that pinged. */
void codec_update_begin(h2o_buffer_t **buf);
void codec_update_cluster(h2o_buffer_t **buf, int first, const struct codec_cluster *c, uint64_t from,
                          const uint32_t *changed, size_t num_changed, const uint32_t *pings, size_t num_pings);
void codec_update_end(h2o_buffer_t **buf);

#endif
