/* fuzz_event.c -- libFuzzer target: msgpack events as they arrive on the glance:events channel. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/codec.h"

/* Decodes arbitrary bytes; an accepted event must be in range (a batch's pings: whole 4-byte ids inside the input)
 * and, encoded again, decode to the same. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size != 0 ? size : 1);
    struct codec_event ev, again;
    msgpack_sbuffer sb;

    memcpy(copy, data, size);
    if (codec_decode_event(copy, size, &ev) == 0) {
        if (ev.kind != EVENT_STATE && ev.kind != EVENT_PING && ev.kind != EVENT_PINGS)
            abort();
        if (ev.kind == EVENT_PINGS && (ev.shards.len == 0 || ev.shards.len % 4 != 0 || ev.shards.base < copy ||
                                       ev.shards.base + ev.shards.len > copy + size))
            abort();
        if (ev.cluster.len != 0 && (ev.cluster.base < copy || ev.cluster.base + ev.cluster.len > copy + size))
            abort();
        if (ev.kind == EVENT_STATE && (ev.state > 6 || ev.version == 0 || ev.since_ms < 0))
            abort();
        msgpack_sbuffer_init(&sb);
        codec_encode_event(&ev, &sb);
        if (codec_decode_event(sb.data, sb.size, &again) != 0 || again.kind != ev.kind || again.shard != ev.shard ||
            again.cluster.len != ev.cluster.len ||
            (ev.cluster.len != 0 && memcmp(again.cluster.base, ev.cluster.base, ev.cluster.len) != 0) ||
            (ev.kind == EVENT_STATE &&
             (again.state != ev.state || again.version != ev.version || again.since_ms != ev.since_ms)) ||
            (ev.kind == EVENT_PINGS &&
             (again.shards.len != ev.shards.len || memcmp(again.shards.base, ev.shards.base, ev.shards.len) != 0)))
            abort();
        msgpack_sbuffer_destroy(&sb);
    }
    free(copy);
    return 0;
}
