/* codec.c -- msgpack events from Redis in, JSON for HTTP and the feed out: pure functions, no I/O. */
#include "base/codec.h"

#include <string.h>
#include "base/parse.h"
#include "base/shard.h"

static int get_int(const msgpack_object *o, int64_t min, int64_t max, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)max)
            return -1;
        *out = (int64_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
    } else {
        return -1;
    }
    return *out >= min ? 0 : -1;
}

int codec_decode_event(const char *data, size_t len, struct codec_event *ev)
{
    msgpack_unpacked msg;
    const msgpack_object *a;
    size_t off = 0;
    int64_t kind, shard, state = 0, version = 0, since = 0;
    int ret = -1;

    msgpack_unpacked_init(&msg);
    if (msgpack_unpack_next(&msg, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
        goto Exit;
    if (msg.data.type != MSGPACK_OBJECT_ARRAY || msg.data.via.array.size < 3)
        goto Exit;
    a = msg.data.via.array.ptr;
    if (get_int(&a[0], EVENT_STATE, EVENT_PINGS, &kind) != 0 || a[1].type != MSGPACK_OBJECT_STR)
        goto Exit;
    ev->shards = h2o_iovec_init(NULL, 0);
    if (kind == EVENT_PINGS) {
        /* {3, cluster, ids}: the ids as one string of 4-byte big-endian numbers (cmsgpack packs a Lua string
         * as str; bin is taken too) */
        const msgpack_object *ids = &a[2];
        if (msg.data.via.array.size != 3 ||
            (ids->type != MSGPACK_OBJECT_STR && ids->type != MSGPACK_OBJECT_BIN) || ids->via.str.size == 0 ||
            ids->via.str.size % 4 != 0)
            goto Exit;
        ev->shards = h2o_iovec_init(ids->via.str.ptr, ids->via.str.size);
        shard = 0;
    } else if (get_int(&a[2], 0, UINT32_MAX, &shard) != 0) {
        goto Exit;
    }
    if (kind == EVENT_STATE) {
        if (msg.data.via.array.size != 6 || get_int(&a[3], 0, SHARD_STATE_MAX, &state) != 0 ||
            get_int(&a[4], 1, INT64_MAX, &version) != 0 || get_int(&a[5], 0, INT64_MAX, &since) != 0)
            goto Exit;
    } else if (kind == EVENT_PING && msg.data.via.array.size != 3) {
        goto Exit;
    }
    /* the string points into `data` (msgpack-c references, it does not copy, the unpacked buffer) */
    ev->kind = (enum codec_event_kind)kind;
    ev->cluster = h2o_iovec_init(a[1].via.str.ptr, a[1].via.str.size);
    ev->shard = (uint32_t)shard;
    ev->state = (uint8_t)state;
    ev->version = (uint64_t)version;
    ev->since_ms = since;
    ret = 0;
Exit:
    msgpack_unpacked_destroy(&msg);
    return ret;
}

void codec_encode_event(const struct codec_event *ev, msgpack_sbuffer *out)
{
    msgpack_packer pk;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, ev->kind == EVENT_STATE ? 6 : 3);
    msgpack_pack_int(&pk, ev->kind);
    msgpack_pack_str(&pk, ev->cluster.len);
    msgpack_pack_str_body(&pk, ev->cluster.base, ev->cluster.len);
    if (ev->kind == EVENT_PINGS) {
        msgpack_pack_str(&pk, ev->shards.len);
        msgpack_pack_str_body(&pk, ev->shards.base, ev->shards.len);
        return;
    }
    msgpack_pack_uint32(&pk, ev->shard);
    if (ev->kind == EVENT_STATE) {
        msgpack_pack_uint8(&pk, ev->state);
        msgpack_pack_uint64(&pk, ev->version);
        msgpack_pack_int64(&pk, ev->since_ms);
    }
}

void codec_put_text(h2o_buffer_t **buf, const char *s)
{
    codec_put(buf, s, strlen(s));
}

void codec_put(h2o_buffer_t **buf, const char *s, size_t len)
{
    h2o_iovec_t room;

    if (len == 0)
        return; /* `s` may then be NULL (an empty iovec), which memcpy must not be given */
    room = h2o_buffer_reserve(buf, len);
    memcpy(room.base, s, len);
    (*buf)->size += len;
}

void codec_put_u64(h2o_buffer_t **buf, uint64_t v)
{
    char tmp[20], *p = tmp + sizeof(tmp);

    do {
        *--p = '0' + v % 10;
        v /= 10;
    } while (v != 0);
    codec_put(buf, p, tmp + sizeof(tmp) - p);
}

void codec_put_json_string(h2o_buffer_t **buf, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    codec_put_lit(buf, "\"");
    for (i = 0; i != len; ++i) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            codec_put(buf, esc, 2);
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            codec_put(buf, esc, 6);
        } else {
            codec_put(buf, (const char *)&c, 1);
        }
    }
    codec_put_lit(buf, "\"");
}

/* "name":..,"shards":..,"version":.. -- the fields every cluster entry starts with */
static void put_cluster_head(h2o_buffer_t **buf, const struct codec_cluster *c)
{
    codec_put_lit(buf, "{\"name\":");
    codec_put_json_string(buf, c->name.base, c->name.len);
    codec_put_lit(buf, ",\"shards\":");
    codec_put_u64(buf, c->shards);
    codec_put_lit(buf, ",\"version\":");
    codec_put_u64(buf, c->version);
}

/* [{head..., "states": ...}, ...]: states as one digit per shard in a string (the feed), or as a
 * JSON array of numbers (the HTTP snapshot) */
static void put_clusters(h2o_buffer_t **buf, const struct codec_cluster *clusters, size_t n, int as_string)
{
    size_t i, j, width = as_string ? 1 : 2;

    codec_put_lit(buf, "[");
    for (i = 0; i != n; ++i) {
        const struct codec_cluster *c = &clusters[i];
        h2o_iovec_t room;
        if (i != 0)
            codec_put_lit(buf, ",");
        put_cluster_head(buf, c);
        codec_put(buf, as_string ? ",\"states\":\"" : ",\"states\":[", 11);
        room = h2o_buffer_reserve(buf, width * (size_t)c->shards);
        for (j = 0; j != c->shards; ++j) {
            room.base[width * j] = '0' + c->states[j];
            if (!as_string)
                room.base[width * j + 1] = ',';
        }
        /* the array form drops its last comma */
        (*buf)->size += width * (size_t)c->shards - (!as_string && c->shards != 0);
        codec_put(buf, as_string ? "\"}" : "]}", 2);
    }
    codec_put_lit(buf, "]");
}

void codec_hello(h2o_buffer_t **buf, const struct codec_cluster *clusters, size_t n, uint32_t health_timeout_s,
                 uint32_t interval_ms)
{
    codec_put_lit(buf, "{\"type\":\"hello\",\"health_timeout\":");
    codec_put_u64(buf, health_timeout_s);
    codec_put_lit(buf, ",\"interval_ms\":");
    codec_put_u64(buf, interval_ms);
    codec_put_lit(buf, ",\"clusters\":");
    put_clusters(buf, clusters, n, 1);
    codec_put_lit(buf, "}");
}

void codec_status(h2o_buffer_t **buf, const struct codec_cluster *clusters, size_t n)
{
    codec_put_lit(buf, "{\"clusters\":");
    put_clusters(buf, clusters, n, 0);
    codec_put_lit(buf, "}");
}

void codec_update_begin(h2o_buffer_t **buf)
{
    codec_put_lit(buf, "{\"type\":\"update\",\"clusters\":[");
}

static void put_id_list(h2o_buffer_t **buf, const uint32_t *ids, size_t n, const uint8_t *states)
{
    size_t i;

    for (i = 0; i != n; ++i) {
        if (i != 0)
            codec_put_lit(buf, ",");
        if (states != NULL) {
            codec_put_lit(buf, "[");
            codec_put_u64(buf, ids[i]);
            codec_put_lit(buf, ",");
            codec_put_u64(buf, states[ids[i]]);
            codec_put_lit(buf, "]");
        } else {
            codec_put_u64(buf, ids[i]);
        }
    }
}

void codec_update_cluster(h2o_buffer_t **buf, int first, const struct codec_cluster *c, uint64_t from,
                          const uint32_t *changed, size_t num_changed, const uint32_t *pings, size_t num_pings)
{
    if (!first)
        codec_put_lit(buf, ",");
    codec_put_lit(buf, "{\"name\":");
    codec_put_json_string(buf, c->name.base, c->name.len);
    codec_put_lit(buf, ",\"from\":");
    codec_put_u64(buf, from);
    codec_put_lit(buf, ",\"to\":");
    codec_put_u64(buf, c->version);
    codec_put_lit(buf, ",\"changes\":[");
    put_id_list(buf, changed, num_changed, c->states);
    codec_put_lit(buf, "],\"pings\":[");
    put_id_list(buf, pings, num_pings, NULL);
    codec_put_lit(buf, "]}");
}

void codec_update_end(h2o_buffer_t **buf)
{
    codec_put_lit(buf, "]}");
}
