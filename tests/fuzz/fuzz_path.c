/* fuzz_path.c -- libFuzzer target: request paths and the numbers in them (parse_path, parse_u64, guild_shard), and
 * the same bytes as a pasted guild id or link (parse_guild_input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/parse.h"
#include "base/shard.h"

/* What routes.c does with a path: split it, then read every segment as a number and, when it is one, as a
 * guild id and a shard id; a segment must never point outside the input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly `size` bytes, so ASan sees any read past the end */
    char *path = malloc(size != 0 ? size : 1);
    struct path_segments segs;
    const char *why = NULL;
    size_t i;

    memcpy(path, data, size);
    if (parse_path(path, size, &segs, &why) == 0) {
        if (segs.n > PARSE_MAX_SEGMENTS)
            abort();
        for (i = 0; i != segs.n; ++i) {
            uint64_t v;
            if (segs.seg[i].len == 0 || segs.seg[i].base < path || segs.seg[i].base + segs.seg[i].len > path + size)
                abort();
            if (parse_u64(segs.seg[i].base, segs.seg[i].len, &v) == 0) {
                uint32_t shards = (uint32_t)(v % 1000000u) + 1;
                if (guild_shard(v, shards) >= shards)
                    abort();
            }
            (void)parse_cluster_name(segs.seg[i].base, segs.seg[i].len);
        }
    } else if (why == NULL) {
        abort(); /* a rejection always says why */
    }
    /* the whole input as one number, too */
    {
        uint64_t v;
        if (parse_u64(path, size, &v) == 0 && (size == 0 || size > 20))
            abort();
    }
    /* and as what someone pasted into the guild box: an id or a link, or refused */
    {
        uint64_t v;
        int rc = parse_guild_input(path, size, &v);
        if (rc < -1 || rc > 1)
            abort();
    }
    free(path);
    return 0;
}
