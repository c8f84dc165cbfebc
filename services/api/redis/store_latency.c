/* store_latency.c -- the latency history in Redis: the once-a-minute claim, a cluster's minute written into its two
 * rings (latency.lua), and the rings read back whole. */
#include "redis/store.h"

#include <stdlib.h>
#include "base/parse.h"
#include "redis/store_call.h"

int store_latency_claim(struct store *s, int64_t minute, store_count_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_LATENCY_CLAIM, RESULT_COUNT, 1, 0, data);

    c->cb.count = cb;
    push_str(c, s->latency_claim);
    push_u64(c, (uint64_t)minute);
    return store_run(c);
}

int store_latency_write(struct store *s, size_t cluster, int64_t minute, uint32_t shards, uint32_t p50, uint32_t p95,
                        store_count_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_LATENCY, RESULT_COUNT, 1, 0, data);

    c->cb.count = cb;
    push_str(c, s->keys[cluster].latency);
    push_u64(c, (uint64_t)minute);
    push_u64(c, shards);
    push_u64(c, p50);
    push_u64(c, p95);
    return store_run(c);
}

int store_latency_read(struct store *s, size_t cluster, store_reply_cb cb, void *data)
{
    return store_read_hash(s, s->keys[cluster].latency, cb, data);
}

/* The next space-separated number of `*p` (up to `end`) into `*out`. Returns 0, or -1 when there is none. */
static int next_number(const char **p, const char *end, uint64_t *out)
{
    const char *start = *p, *q = start;

    while (q != end && *q != ' ')
        ++q;
    if (parse_u64(start, (size_t)(q - start), out) != 0)
        return -1;
    *p = q != end ? q + 1 : q;
    return 0;
}

int store_latency_slot(h2o_iovec_t field, h2o_iovec_t value, int *hour, int64_t *at, uint32_t *count, uint32_t *p50,
                       uint32_t *p95)
{
    const char *p = value.base, *end = value.base + value.len;
    uint64_t n[4] = {0, 0, 0, 0};
    int i;

    *hour = field.len != 0 && field.base[0] == 'h';
    if (next_number(&p, end, &n[0]) != 0 || n[0] > INT64_MAX)
        return -1;
    if (p != end) { /* a slot with data: three more numbers */
        for (i = 1; i != 4; ++i)
            if (next_number(&p, end, &n[i]) != 0 || n[i] > UINT32_MAX)
                return -1;
        if (p != end)
            return -1;
    }
    *at = (int64_t)n[0];
    *p50 = (uint32_t)n[1];
    *p95 = (uint32_t)n[2];
    *count = (uint32_t)n[3];
    return 0;
}
