/* store_transitions.c -- the writes that move shards: a status, a health ping, a batch report, the expire check. The
 * parts of their commands that never change (a cluster's keys and fixed arguments) are encoded once at start-up, so
 * that a status POST formats only its shard id, state and figures. */
#include "redis/store.h"

#include <string.h>
#include "redis/store_call.h"

/* The runs of a cluster's transition commands that are the same for every shard (cluster_keys). */
void store_encode_cluster(struct store *s, size_t i)
{
    struct cluster_keys *k = &s->keys[i];
    const struct conf_cluster *c = &s->conf->clusters[i];

    memset(&k->transition_keys, 0, sizeof(k->transition_keys));
    memset(&k->history_keys, 0, sizeof(k->history_keys));
    memset(&k->transition_args, 0, sizeof(k->transition_args));
    memset(&k->gateway_keys, 0, sizeof(k->gateway_keys));
    resp_arg(&k->gateway_keys, k->gw, strlen(k->gw));
    resp_arg(&k->gateway_keys, k->gwc, strlen(k->gwc));
    resp_arg(&k->transition_keys, k->states, strlen(k->states));
    resp_arg(&k->transition_keys, k->since, strlen(k->since));
    resp_arg(&k->transition_keys, k->ver, strlen(k->ver));
    resp_arg(&k->transition_keys, k->figs, strlen(k->figs));
    for (size_t h = 0; h != STORE_HISTORY_KEYS; ++h)
        resp_arg(&k->history_keys, k->history[h], strlen(k->history[h]));
    resp_arg(&k->transition_args, s->ttl, strlen(s->ttl));
    resp_arg(&k->transition_args, s->channel, strlen(s->channel));
    resp_arg(&k->transition_args, c->name, c->name_len);
    resp_arg(&k->transition_args, s->log_max, strlen(s->log_max));
}

/* `v` in `bytes` big-endian bytes at `p`, as lib.lua's struct.unpack reads it. */
static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; --i, v >>= 8)
        p[i] = (unsigned char)v;
}

/* A report's four figures as one argument, as lib.lua's merge_figures reads them ('>I4I4I4I4'): FIGURE_ABSENT for
 * one not reported, FIGURE_CLEAR for one reported as null; '' when it reports none. One binary argument, not four
 * decimal ones: each argument costs Redis a Lua string and each decimal a strtod (tests/bench/report_instructions.sh). */
static void push_figures(struct call *c, const struct shard_figures *f)
{
    unsigned char b[4 * NUM_FIGURES];
    int any = 0;

    for (int i = 0; i != NUM_FIGURES; ++i) {
        put_be(b + 4 * i, f->v[i], 4);
        any |= f->v[i] != FIGURE_ABSENT;
    }
    push(c, any ? (const char *)b : "", any ? sizeof b : 0);
}

/* A report's four gateway counters as one argument, as merge_gateway reads them ('>I6I4I4I4': events in 48 bits,
 * then resumes, identifies, disconnects), each all ones when not reported; '' when it reports none. */
static void push_counters(struct call *c, const struct shard_figures *f)
{
    unsigned char b[6 + 4 * (NUM_COUNTERS - 1)];

    if (!figures_any_counter(f)) {
        push(c, "", 0);
        return;
    }
    put_be(b, f->c[COUNTER_EVENTS] == COUNTER_ABSENT ? 0xFFFFFFFFFFFFull : f->c[COUNTER_EVENTS], 6);
    for (int i = 1; i != NUM_COUNTERS; ++i)
        put_be(b + 2 + 4 * i, f->c[i] == COUNTER_ABSENT ? 0xFFFFFFFFull : f->c[i], 4);
    push(c, (const char *)b, sizeof b);
}

/* Where shard `shard`'s record of `size` bytes starts and ends in its cluster's string (GETRANGE's two offsets):
 * formatted here, where it is cheap, not by the script, where each number made a string costs Lua more than the
 * GETRANGE it is for. */
static void push_record_range(struct call *c, uint32_t shard, uint64_t size)
{
    push_u64(c, shard * size);
    push_u64(c, shard * size + size - 1);
}

/* A one-shard transition: status.lua (`state` >= 0) or health.lua (`state` < 0).
 * KEYS: states, since, version, figs, health key, then gw and gwc when the report has counters, then the history
 * keys unless `short_form`; ARGV: the health timeout, the channel, the cluster, the log's length, the id, the state
 * (status only), then when the report has any figure or counter its figures (push_figures) and the range of the
 * shard's figs record, then when it has counters the counters (push_counters) and the range of its gw record. What
 * does not depend on the shard comes first, so that it is copied as encoded at start-up (cluster_keys).
 * The short form is for what is most likely a ping (the mirror says the shard is in that state already): the
 * script then never needs the history, and five keys fewer make the most common call about a fifth cheaper for
 * Redis; should it be a change after all, the script answers NEEDS_HISTORY, writes nothing but the health key,
 * and on_reply sends the call again in full. */
struct call *store_transition_call(struct store *s, size_t cluster, uint32_t shard, int state,
                                   const struct shard_figures *figures, int short_form, store_count_cb cb,
                                   void *data)
{
    const struct cluster_keys *k = &s->keys[cluster];
    int counted = figures != NULL && figures_any_counter(figures);
    struct call *c = store_script_call(s, state >= 0 ? SCRIPT_STATUS : SCRIPT_HEALTH, RESULT_COUNT,
                                       5 + (counted ? 2 : 0) + (short_form ? 0 : STORE_HISTORY_KEYS), 2, data);

    c->cb.count = cb;
    c->short_form = short_form;
    c->cluster = cluster;
    c->shard = shard;
    c->state = state;
    if (figures != NULL)
        c->figures = *figures;
    else
        figures_clear(&c->figures);
    resp_copy(&c->cmd, &k->transition_keys);
    push_hb_key(c, k, shard);
    if (counted)
        resp_copy(&c->cmd, &k->gateway_keys);
    if (!short_form)
        push_history_keys(c, k);
    resp_copy(&c->cmd, &k->transition_args);
    push_u64(c, shard);
    if (state >= 0)
        push_u64(c, (uint64_t)state);
    if (figures_any(&c->figures)) {
        push_figures(c, &c->figures);
        push_record_range(c, shard, STORE_FIGURES_SIZE);
    }
    if (counted) {
        push_counters(c, &c->figures);
        push_record_range(c, shard, STORE_GATEWAY_SIZE);
    }
    return c;
}

int store_status(struct store *s, size_t cluster, uint32_t shard, int state, const struct shard_figures *figures,
                 int likely_unchanged, store_count_cb cb, void *data)
{
    struct call *c = store_transition_call(s, cluster, shard, state, figures, likely_unchanged, cb, data);

    c->status_seq = ++s->keys[cluster].status_sent[shard];
    store_wait_latest(s, cluster, shard, c);
    return store_run(c);
}

int store_health(struct store *s, size_t cluster, uint32_t shard, const struct shard_figures *figures,
                 int likely_unchanged, store_count_cb cb, void *data)
{
    return store_run(store_transition_call(s, cluster, shard, -1, figures, likely_unchanged, cb, data));
}

/* report.lua over `n` items. KEYS: states, since, version, figs, gw, gwc, the history keys, a health key per item;
 * ARGV: channel, cluster, the log's length, the health timeout, the session budget's four fields ('' when none),
 * the arguments per item, then per item its id, state or '', its figures (push_figures), and its counters
 * (push_counters) when any item has some. */
int store_report(struct store *s, size_t cluster, const struct report_item *items, size_t n,
                 const struct gateway_session *session, store_count_cb cb, void *data)
{
    const struct cluster_keys *k = &s->keys[cluster];
    int has_session = session != NULL && session->given != 0, counted = 0;
    struct call *c;
    size_t i;

    if ((n == 0 && !has_session) || n > REPORT_ITEMS_MAX)
        return -1;
    /* room for twice a health key and 64 bytes an item (call_alloc): its key, then its id, state, 16 bytes of figures
     * and 18 of counters with their lengths */
    c = store_script_call(s, SCRIPT_REPORT, RESULT_COUNT, (int)(6 + STORE_HISTORY_KEYS + n), 2 * n, data);
    c->cb.count = cb;
    push_str(c, k->states);
    push_str(c, k->since);
    push_str(c, k->ver);
    push_str(c, k->figs);
    resp_copy(&c->cmd, &k->gateway_keys);
    push_history_keys(c, k);
    for (i = 0; i != n; ++i)
        push_hb_key(c, k, items[i].shard);
    push_event_target(s, c, cluster);
    push_str(c, s->log_max);
    push_str(c, s->ttl);
    for (i = 0; i != NUM_SESSION_FIELDS; ++i) {
        if (has_session)
            push_u64(c, session->v[i]);
        else
            push(c, "", 0);
    }
    for (i = 0; i != n && !counted; ++i)
        counted = figures_any_counter(&items[i].figures);
    push_u64(c, counted ? 4 : 3);
    for (i = 0; i != n; ++i) {
        push_u64(c, items[i].shard);
        if (items[i].state >= 0) {
            push_u64(c, (uint64_t)items[i].state);
            ++k->status_sent[items[i].shard];
            store_wait_latest(s, cluster, items[i].shard, c);
        } else {
            push(c, "", 0);
        }
        push_figures(c, &items[i].figures);
        if (counted)
            push_counters(c, &items[i].figures);
    }
    return store_run(c);
}

/* The expire script over shards[0..n).
 * KEYS: states, since, version, the history keys, a health key per shard; ARGV: channel, cluster, the log's length,
 * the shard ids. */
int store_expire(struct store *s, size_t cluster, const uint32_t *shards, size_t n, store_count_cb cb, void *data)
{
    const struct cluster_keys *k = &s->keys[cluster];
    struct call *c;
    size_t i;

    if (n > STORE_MAX_BATCH)
        return -1;
    c = store_script_call(s, SCRIPT_EXPIRE, RESULT_COUNT, (int)(3 + STORE_HISTORY_KEYS + n), n, data);
    c->cb.count = cb;
    push_str(c, k->states);
    push_str(c, k->since);
    push_str(c, k->ver);
    push_history_keys(c, k);
    for (i = 0; i != n; ++i)
        push_hb_key(c, k, shards[i]);
    push_event_target(s, c, cluster);
    push_str(c, s->log_max);
    for (i = 0; i != n; ++i)
        push_u64(c, shards[i]);
    return store_run(c);
}
