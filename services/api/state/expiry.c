/* expiry.c -- turns silent shards unhealthy: at the deadline this replica saw coming, on Redis expiry
 * notifications, and by a bounded periodic sweep.
 *
 * Every replica hears every status and ping, so it knows when each health key runs out: a shard whose
 * deadline passes unrefreshed is checked at once, DEADLINE_GRACE_MS after it. Redis finds expired keys only
 * by sampling, up to a few hundred milliseconds late when many run out together, so notifications are the
 * second path (and the first for deadlines this replica did not see, such as those set before it started).
 * Redis expires keys in bursts and every replica hears every expiry, so the expiries heard in one turn of
 * the loop are checked with one script call per cluster rather than one per shard. Pub/sub is fire-and-forget,
 * so a sweep walks every shard, at most SWEEP_PER_TICK a tick, and checks in Redis those this replica has no
 * deadline for and does not know to be unhealthy or unknown: those it missed (set before it started, or heard of in
 * a gap) and those whose check failed. A shard with a deadline is checked when it passes, so checking it in the
 * sweep as well would only cost Redis: every replica's sweep did so, 20,000 shards a second each, about 8 % of
 * Redis's time with three replicas however healthy the fleet. The checks go SWEEP_BATCH to a script call (about a
 * millisecond of Redis time), one call after another, never in parallel. */
#include "state/expiry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "base/log.h"
#include "state/deadlines.h"

#define SWEEP_BATCH STORE_MAX_BATCH
#define SWEEP_PER_TICK 20000
#define SWEEP_INTERVAL_MS 1000
/* How long after a deadline its check runs. A deadline is never before the key runs out: a status's key is set
 * before Redis takes the change's time, a batch report's keys run out at its time exactly (PXAT), a ping's deadline
 * is counted from when it was heard, and the clocks' offset is measured (heard_late); this covers the rest, such
 * as a clock that moved a little within a window. */
#define DEADLINE_GRACE_MS 2
/* A timer (timerfd) wakes the replica at the next deadline, not a tick: an idle replica with no deadline is not
 * woken at all. In a wave of deadlines it wakes at most this often, so that the due shards go in batches (each
 * batch is one script call) rather than one call a shard. */
#define DEADLINE_BATCH_MS 2
/* Due deadlines wait while Redis is away; they are looked at again this often (and when it is back). */
#define DEADLINE_RETRY_MS 100
/* How long one lowest (this clock - Redis's clock) seen counts: two such windows are kept (see heard_late). */
#define OFFSET_WINDOW_MS 10000

typedef H2O_VECTOR(uint32_t) shard_list;

struct expiry {
    h2o_loop_t *loop;
    const struct conf *conf;
    struct store *store;
    h2o_timeout_t interval;
    h2o_timeout_entry_t tick;
    shard_list *heard;           /* per cluster: expiries heard in this turn of the loop */
    shard_list *due;             /* per cluster: deadlines that passed, being sent */
    struct deadlines *deadlines; /* by shard id across clusters: cluster c's shards start at first_id[c] */
    uint32_t *first_id;
    h2o_socket_t *deadline_timer; /* a timerfd, armed for the next deadline */
    uint64_t timer_at;            /* when it is armed for (this clock, ms); 0 when it is not */
    h2o_timeout_t next_turn;
    h2o_timeout_entry_t flush;
    expiry_may_expire_cb may_expire;
    void *may_expire_data;
    int running;              /* a sweep batch is in flight */
    size_t cursor_cluster;    /* where the walk goes on */
    uint32_t cursor_shard;
    uint32_t budget;          /* shards still to walk in this tick */
    uint32_t *sweep_batch;    /* the shards of the batch being sent (SWEEP_BATCH) */
    uint64_t by_notification, by_sweep, by_deadline, skipped;
    /* the least (arrival by this clock - Redis's time of the change) in this window and the last: the clocks' offset
     * plus the quickest delivery, against which a later arrival's lateness is measured */
    int64_t offset_min[2];
    int offset_seen[2];
    uint64_t offset_window_at;
};

static void next_batch(struct expiry *e);

static void on_expire(void *data, long long turned, const char *err)
{
    struct expiry *e = data;

    if (err == NULL && turned > 0)
        e->by_notification += (uint64_t)turned;
    /* a failure is left to the sweep */
}

static void on_deadline_expire(void *data, long long turned, const char *err)
{
    struct expiry *e = data;

    if (err == NULL && turned > 0)
        e->by_deadline += (uint64_t)turned;
    /* a failure is left to the notifications and the sweep */
}

/* Runs the expire script over each cluster's collected shards, a batch at a time, and empties them. Shards the
 * mirror holds as not expirable are left out: every replica sees each deadline pass and hears each expiry, and by
 * the time a check is sent the one that turned the shard has often been heard (a notification fired by that
 * replica's own check comes just before its change, in the same read). Each such check would cost Redis a script
 * call's share of work for nothing, three replicas times two paths for every shard in a mass expiry. */
static void send_checks(struct expiry *e, shard_list *sets, store_count_cb cb)
{
    size_t cluster, off, i, kept;

    for (cluster = 0; cluster != e->conf->num_clusters; ++cluster) {
        for (i = kept = 0; i != sets[cluster].size; ++i) {
            if (e->may_expire(e->may_expire_data, cluster, sets[cluster].entries[i]))
                sets[cluster].entries[kept++] = sets[cluster].entries[i];
        }
        e->skipped += sets[cluster].size - kept;
        sets[cluster].size = kept;
        for (off = 0; off < sets[cluster].size; off += STORE_MAX_BATCH) {
            size_t n = sets[cluster].size - off < STORE_MAX_BATCH ? sets[cluster].size - off : STORE_MAX_BATCH;
            /* one that cannot be sent (Redis just went) is left to the sweep after the reconnect */
            (void)store_expire(e->store, cluster, sets[cluster].entries + off, n, cb, e);
        }
        sets[cluster].size = 0;
    }
}

static void on_flush(h2o_timeout_entry_t *entry)
{
    struct expiry *e = H2O_STRUCT_FROM_MEMBER(struct expiry, flush, entry);

    send_checks(e, e->heard, on_expire);
}

static size_t cluster_of(const struct expiry *e, uint32_t id)
{
    size_t lo = 0, hi = e->conf->num_clusters; /* the last cluster whose first id is <= id */

    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (e->first_id[mid] <= id)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Arms the timer for `at` (0: disarms it). */
static void arm_timer(struct expiry *e, uint64_t at)
{
    struct itimerspec when = {{0, 0}, {0, 0}};
    uint64_t now = h2o_now(e->loop);

    if (at != 0) {
        uint64_t wait = at > now ? at - now : 0;
        when.it_value.tv_sec = (time_t)(wait / 1000);
        when.it_value.tv_nsec = wait != 0 ? (long)(wait % 1000) * 1000000 : 1; /* zero would disarm it */
    }
    if (timerfd_settime(h2o_socket_get_fd(e->deadline_timer), 0, &when, NULL) != 0)
        h2o_fatal("timerfd_settime failed");
    e->timer_at = at;
}

static void on_deadline_timer(h2o_socket_t *sock, const char *err)
{
    struct expiry *e = sock->data;
    uint64_t now = h2o_now(e->loop), next, expirations;
    uint32_t id;
    int any = 0;

    (void)err;
    if (read(h2o_socket_get_fd(sock), &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        h2o_fatal("cannot read the deadline timer");
    e->timer_at = 0;
    if (!store_ready(e->store)) {
        arm_timer(e, now + DEADLINE_RETRY_MS); /* they stay due until Redis is back */
        return;
    }
    while (deadlines_pop_due(e->deadlines, now, &id)) {
        size_t cluster = cluster_of(e, id);
        h2o_vector_reserve(NULL, &e->due[cluster], e->due[cluster].size + 1);
        e->due[cluster].entries[e->due[cluster].size++] = id - e->first_id[cluster];
        any = 1;
    }
    if (any)
        send_checks(e, e->due, on_deadline_expire);
    if ((next = deadlines_next(e->deadlines)) != 0)
        arm_timer(e, next > now + DEADLINE_BATCH_MS ? next : now + DEADLINE_BATCH_MS);
}

static void on_sweep(void *data, long long turned, const char *err)
{
    struct expiry *e = data;

    e->running = 0;
    if (err != NULL) {
        log_warn("expiry: sweep failed: %s", err);
        return;
    }
    if (turned > 0)
        e->by_sweep += (uint64_t)turned;
    next_batch(e);
}

/* Walks on from the cursor, within the tick's budget and one cluster at a time, and sends the shards that need a
 * check as one batch. */
static void next_batch(struct expiry *e)
{
    while (e->budget != 0 && store_ready(e->store)) {
        const struct conf_cluster *c = &e->conf->clusters[e->cursor_cluster];
        size_t cluster = e->cursor_cluster, n = 0;
        uint32_t shard = e->cursor_shard;

        for (; shard != c->shards && e->budget != 0 && n != SWEEP_BATCH; ++shard, --e->budget) {
            if (deadlines_of(e->deadlines, e->first_id[cluster] + shard) == 0 &&
                e->may_expire(e->may_expire_data, cluster, shard))
                e->sweep_batch[n++] = shard;
        }
        if (shard == c->shards) {
            e->cursor_shard = 0;
            e->cursor_cluster = (e->cursor_cluster + 1) % e->conf->num_clusters;
        } else {
            e->cursor_shard = shard;
        }
        if (n != 0) {
            if (store_expire(e->store, cluster, e->sweep_batch, n, on_sweep, e) == 0)
                e->running = 1;
            return;
        }
    }
}

static void start_pass(struct expiry *e)
{
    size_t total = 0, i;

    for (i = 0; i != e->conf->num_clusters; ++i)
        total += e->conf->clusters[i].shards;
    e->budget = total < SWEEP_PER_TICK ? (uint32_t)total : SWEEP_PER_TICK;
    if (!e->running)
        next_batch(e);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct expiry *e = H2O_STRUCT_FROM_MEMBER(struct expiry, tick, entry);

    start_pass(e);
    h2o_timeout_link(e->loop, &e->interval, &e->tick);
}

struct expiry *expiry_new(h2o_loop_t *loop, const struct conf *conf, struct store *store, expiry_may_expire_cb may_expire,
                          void *may_expire_data)
{
    struct expiry *e = h2o_mem_alloc(sizeof(*e));
    size_t i, total = 0;

    *e = (struct expiry){loop, conf, store};
    e->may_expire = may_expire;
    e->may_expire_data = may_expire_data;
    e->heard = h2o_mem_alloc(sizeof(*e->heard) * conf->num_clusters);
    memset(e->heard, 0, sizeof(*e->heard) * conf->num_clusters);
    e->due = h2o_mem_alloc(sizeof(*e->due) * conf->num_clusters);
    memset(e->due, 0, sizeof(*e->due) * conf->num_clusters);
    e->first_id = h2o_mem_alloc(sizeof(*e->first_id) * conf->num_clusters);
    for (i = 0; i != conf->num_clusters; ++i) {
        e->first_id[i] = (uint32_t)total;
        total += conf->clusters[i].shards;
    }
    e->deadlines = deadlines_new(total);
    e->sweep_batch = h2o_mem_alloc(sizeof(*e->sweep_batch) * SWEEP_BATCH);
    h2o_timeout_init(loop, &e->next_turn, 0);
    e->flush.cb = on_flush;
    h2o_timeout_init(loop, &e->interval, SWEEP_INTERVAL_MS);
    e->tick.cb = on_tick;
    h2o_timeout_link(loop, &e->interval, &e->tick);
    {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd == -1 || (e->deadline_timer = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ)) == NULL)
            h2o_fatal("cannot make the deadline timer");
        e->deadline_timer->data = e;
        h2o_socket_read_start(e->deadline_timer, on_deadline_timer);
    }
    return e;
}

void expiry_free(struct expiry *e)
{
    size_t i;

    h2o_timeout_unlink(&e->tick);
    h2o_timeout_unlink(&e->flush);
    h2o_timeout_dispose(e->loop, &e->interval);
    h2o_timeout_dispose(e->loop, &e->next_turn);
    h2o_socket_close(e->deadline_timer); /* closes the timerfd */
    for (i = 0; i != e->conf->num_clusters; ++i) {
        free(e->heard[i].entries);
        free(e->due[i].entries);
    }
    free(e->heard);
    free(e->due);
    free(e->first_id);
    free(e->sweep_batch);
    deadlines_free(e->deadlines);
    free(e);
}

/* How much later than usual a change set at `set_ms` (Redis's clock) arrived at `now` (this clock). A replica busy
 * with a burst of writes hears their changes hundreds of milliseconds after Redis made them; a deadline counted from
 * hearing would be that much late, while the key runs out on Redis's clock. The usual delay is the least
 * (arrival - set) seen lately, which also holds the two clocks' offset, so clocks a little apart cost nothing; two
 * windows are kept so that the least never comes from a single sample, and an offset that moves (a clock stepped)
 * is forgotten within two windows. */
static uint64_t heard_late(struct expiry *e, uint64_t now, int64_t set_ms)
{
    int64_t seen = (int64_t)now - set_ms, least;

    if (now - e->offset_window_at >= OFFSET_WINDOW_MS) {
        e->offset_min[1] = e->offset_min[0];
        e->offset_seen[1] = e->offset_seen[0];
        e->offset_seen[0] = 0;
        e->offset_window_at = now;
    }
    if (!e->offset_seen[0] || seen < e->offset_min[0]) {
        e->offset_min[0] = seen;
        e->offset_seen[0] = 1;
    }
    least = e->offset_min[0];
    if (e->offset_seen[1] && e->offset_min[1] < least)
        least = e->offset_min[1];
    return (uint64_t)(seen - least);
}

/* The wall clock now, in ms, as h2o_now counts. h2o_now is read once a turn of the loop, and a turn that reads a
 * burst of events can run for tens of milliseconds: the events read late in it were heard later than it says, and
 * a deadline counted from it would come before the key runs out. */
static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void expiry_on_heard(struct expiry *e, size_t cluster, uint32_t shard, int healthy, int64_t set_ms)
{
    uint64_t now = wall_ms(), at = 0, late = set_ms > 0 ? heard_late(e, now, set_ms) : 0;

    if (healthy)
        at = now - late + (uint64_t)e->conf->health_timeout_s * 1000 + DEADLINE_GRACE_MS;
    deadlines_set(e->deadlines, e->first_id[cluster] + shard, at);
    /* deadlines mostly come in order (now + the timeout): the timer is moved only for an earlier one */
    if (at != 0 && (e->timer_at == 0 || at < e->timer_at))
        arm_timer(e, at);
}

void expiry_on_expired(struct expiry *e, size_t cluster, uint32_t shard)
{
    h2o_vector_reserve(NULL, &e->heard[cluster], e->heard[cluster].size + 1);
    e->heard[cluster].entries[e->heard[cluster].size++] = shard;
    if (!h2o_timeout_is_linked(&e->flush))
        h2o_timeout_link(e->loop, &e->next_turn, &e->flush);
}

void expiry_on_store_ready(struct expiry *e)
{
    e->running = 0; /* a batch in flight on the old connection has been answered with an error */
    start_pass(e);
    if (deadlines_next(e->deadlines) != 0)
        arm_timer(e, h2o_now(e->loop)); /* what came due while Redis was away */
}

uint64_t expiry_by_notification(struct expiry *e)
{
    return e->by_notification;
}

uint64_t expiry_by_sweep(struct expiry *e)
{
    return e->by_sweep;
}

uint64_t expiry_by_deadline(struct expiry *e)
{
    return e->by_deadline;
}

uint64_t expiry_checks_skipped(struct expiry *e)
{
    return e->skipped;
}
