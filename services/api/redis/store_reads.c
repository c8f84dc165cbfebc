/* store_reads.c -- what the replica reads: a cluster's snapshot, one shard's story, the figures, the history and the
 * change log. */
#include "redis/store.h"

#include "redis/store_call.h"

/* The keys every one-shard script starts with: states, since, the shard's health key. */
static void push_shard_keys(struct call *c, const struct cluster_keys *k, uint32_t shard)
{
    push_str(c, k->states);
    push_str(c, k->since);
    push_hb_key(c, k, shard);
}

int store_snapshot(struct store *s, size_t cluster, store_snapshot_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_SNAPSHOT, RESULT_SNAPSHOT, 2, 0, data);

    c->cb.snapshot = cb;
    push_str(c, s->keys[cluster].states);
    push_str(c, s->keys[cluster].ver);
    return store_run(c);
}

int store_shard(struct store *s, size_t cluster, uint32_t shard, store_shard_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_SHARD, RESULT_SHARD, 7, 1, data);

    c->cb.shard = cb;
    push_shard_keys(c, &s->keys[cluster], shard);
    push_str(c, s->keys[cluster].history[STORE_HISTORY_RECENT]);
    push_str(c, s->keys[cluster].history[STORE_HISTORY_FLAPPING]);
    push_str(c, s->keys[cluster].figs);
    push_str(c, s->keys[cluster].gw);
    push_u64(c, shard);
    return store_run(c);
}

/* `len` bytes of string `key` from `offset` (GETRANGE). */
static int read_range(struct store *s, const char *key, uint64_t offset, size_t len, store_text_cb cb, void *data)
{
    struct call *c;

    if (len == 0)
        return -1; /* GETRANGE's end is inclusive: there is no empty range to ask for */
    c = store_call_alloc(s, NUM_SCRIPTS, RESULT_TEXT, 0, data);
    c->cb.text = cb;
    push(c, "GETRANGE", 8);
    push_str(c, key);
    push_u64(c, offset);
    push_u64(c, offset + len - 1);
    return store_run(c);
}

int store_figures_read(struct store *s, size_t cluster, uint64_t offset, size_t len, store_text_cb cb, void *data)
{
    return read_range(s, s->keys[cluster].figs, offset, len, cb, data);
}

int store_gateway_read(struct store *s, size_t cluster, uint64_t offset, size_t len, store_text_cb cb, void *data)
{
    return read_range(s, s->keys[cluster].gw, offset, len, cb, data);
}

int store_read_hash(struct store *s, const char *key, store_reply_cb cb, void *data)
{
    struct call *c = store_call_alloc(s, NUM_SCRIPTS, RESULT_REPLY, 0, data);

    c->cb.reply = cb;
    push(c, "HGETALL", 7);
    push_str(c, key);
    return store_run(c);
}

int store_sessions_read(struct store *s, size_t cluster, store_reply_cb cb, void *data)
{
    return store_read_hash(s, s->keys[cluster].gwc, cb, data);
}

/* A big-endian unsigned integer of `bytes` bytes. */
static uint64_t be_uint(const unsigned char *p, int bytes)
{
    uint64_t v = 0;

    while (bytes-- > 0)
        v = v << 8 | *p++;
    return v;
}

int store_gateway_decode(const char *bytes, size_t len, struct store_gateway *g)
{
    const unsigned char *p = (const unsigned char *)bytes;
    uint64_t events;
    int i;

    if (len != STORE_GATEWAY_SIZE)
        return -1;
    g->at_ms = (int64_t)be_uint(p, 6);
    events = be_uint(p + 6, 6);
    g->c[COUNTER_EVENTS] = events == 0xffffffffffffull ? COUNTER_ABSENT : events;
    for (i = 1; i != NUM_COUNTERS; ++i) {
        uint64_t v = be_uint(p + 12 + 4 * (i - 1), 4);
        g->c[i] = v == FIGURE_ABSENT ? COUNTER_ABSENT : v;
    }
    g->rate_milli = (uint32_t)be_uint(p + 24, 4);
    g->last_event_ms = (int64_t)be_uint(p + 28, 6);
    g->latency_at_event = (uint32_t)be_uint(p + 34, 4);
    return 0;
}

int store_figures_decode(const char *bytes, size_t len, int64_t *at_ms, struct shard_figures *f)
{
    const unsigned char *p = (const unsigned char *)bytes;
    uint64_t at = 0;
    int i, b;

    if (len != STORE_FIGURES_SIZE)
        return -1;
    for (b = 0; b != 6; ++b)
        at = at << 8 | *p++;
    *at_ms = (int64_t)at;
    for (i = 0; i != NUM_FIGURES; ++i, p += 4)
        f->v[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return 0;
}

int store_history(struct store *s, size_t cluster, store_text_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_HISTORY, RESULT_TEXT, STORE_HISTORY_KEYS + 1, 0, data);

    c->cb.text = cb;
    push_history_keys(c, &s->keys[cluster]);
    push_str(c, s->keys[cluster].states);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
    push_u64(c, s->conf->clusters[cluster].shards);
    return store_run(c);
}

int store_log(struct store *s, size_t cluster, uint32_t count, store_text_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_LOG, RESULT_TEXT, 1, 0, data);

    c->cb.text = cb;
    push_str(c, s->keys[cluster].history[STORE_HISTORY_LOG]);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
    push_u64(c, count);
    return store_run(c);
}
