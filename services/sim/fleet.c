/* fleet.c -- a simulated bot fleet: per-shard state machines, health pings with jitter (one POST per shard, or
 * batches), events at a rate, figures if asked, every POST over a few keep-alive connections; it also matches
 * the changes viewers see to the POSTs.
 *
 * Every status POST the fleet makes changes the shard's state: consecutive states of a plan differ, and
 * the only state the server sets by itself (unhealthy) is never posted. Steps of a plan are at least
 * 300 ms apart and a shard rests a second between events, so with the default 100 ms feed interval every
 * change is its own entry in an update frame and each viewer must see each one.
 *
 * With --batch N, each run of N shard ids of a cluster pings together, as one process of a sharded bot
 * would: one report on the group's own schedule, carrying those of its shards that have a status on the
 * server (a ping for a shard without one fails the whole batch) and are not silent. State changes stay
 * single POSTs: a bot reports them as they happen, and the viewers' timing needs each one's own moment.
 *
 * With --gateway, each report also carries the shard's gateway counters (gateway.c follows its states), and each
 * cluster posts its identify budget, as a bot's process would after GET /gateway/bot. The trouble flags pick their
 * shards once: zombies and near-cap shards among the calm ones (not troubled, not in the looping cluster, when
 * there are others), and the looping cluster restarts on its own schedule, apart from --rate's events. */
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bot_figures.h"
#include "gateway.h"
#include "rng.h"

#define MAX_WAIT_MS 100
#define REST_MS 1000     /* a shard rests this long after a change before a new event may pick it */
#define PICK_TRIES 32
#define SESSION_EVERY_MS (3600 * 1000) /* a bot asks GET /gateway/bot once an hour */
#define SESSION_SOON_MS 2000           /* and when its shards identify: the budget then posted this soon after */
#define DESCRIBE_MAX 50                /* shards named in the trouble lines */

enum shard_role { ROLE_TROUBLED = 1, ROLE_ZOMBIE = 2, ROLE_NEAR_CAP = 4 };

enum plan_kind { PLAN_NONE, PLAN_BOOT, PLAN_RESUME, PLAN_DISCONNECT, PLAN_SILENT, PLAN_RESTART };

static const uint8_t plan_states[][4] = {
    [PLAN_BOOT] = {4, 3},          /* starting, online */
    [PLAN_RESUME] = {6, 3},        /* resuming, online */
    [PLAN_DISCONNECT] = {2, 6, 3}, /* offline, resuming, online */
    [PLAN_SILENT] = {6, 3},        /* after the silence (the server turned it unhealthy): resuming, online */
    [PLAN_RESTART] = {5, 2, 4, 3}, /* stopping, offline, starting, online */
};
static const uint8_t plan_len[] = {[PLAN_BOOT] = 2, [PLAN_RESUME] = 2, [PLAN_DISCONNECT] = 3, [PLAN_SILENT] = 2,
                                   [PLAN_RESTART] = 4};

struct shard {
    uint32_t cluster, id;
    uint64_t last_change_ms;
    uint64_t tracked_ns;   /* when the latest tracked change was written */
    uint32_t expect, seen; /* viewers owed that change, viewers that saw it */
    uint32_t tracked_seq, step_gen;
    uint8_t tracked, tracked_state;
    uint8_t plan, plan_pos, silent;
    uint8_t has_status; /* a status POST of it was answered 204: the server accepts its pings in a batch */
    uint8_t pinging;    /* with --batch, on a group's first shard: the group's pings are scheduled */
    uint8_t role;       /* enum shard_role bits */
};

enum entry_kind { ENTRY_PING, ENTRY_STEP };

struct entry {
    uint64_t due_ms;
    uint32_t gid;
    uint32_t tag; /* kind in bit 0, the step generation above it: a cancelled step is skipped */
};

struct job {
    struct http_request req;
    struct fleet *fl;
    struct job *next_free;
    uint32_t gid, seq;
    uint8_t health, state, boot, tracked, batch, session;
    uint32_t items;    /* a batch's shards */
    char *body;        /* a batch's JSON, kept with the job for its next batch */
    size_t body_cap;
};

struct fleet {
    const struct sim_flags *flags;
    struct http_pool *pool;
    struct shard *shards;
    size_t num_shards;
    uint32_t offsets[FLAGS_MAX_CLUSTERS];
    uint32_t restarting[FLAGS_MAX_CLUSTERS]; /* shards of the cluster still in a restart */
    struct entry *heap;
    size_t heap_size, heap_cap;
    struct job *free_jobs;
    uint64_t rng;
    uint32_t *troubled;          /* with --troubled under 1, the shards a resume, disconnect or silence may pick */
    size_t num_troubled;
    struct bot_figures_shard *figs;  /* per shard, with --figures; else NULL */
    uint64_t fig_rng;            /* apart from rng: --figures leaves a seed's events as they were */
    struct bot_figures_item *items;  /* a batch being put together, with --batch */
    struct gateway_shard *gw;    /* per shard, with --gateway; else NULL */
    struct bot_figures *last_figs; /* per shard, with --gateway: a quiet zombie reports these again */
    uint64_t gw_rng;             /* apart from rng and fig_rng, for the same reason */
    struct gateway_session sessions[FLAGS_MAX_CLUSTERS];
    uint64_t session_posted_ms[FLAGS_MAX_CLUSTERS];
    uint8_t session_state[FLAGS_MAX_CLUSTERS]; /* bit 0: identifies since the last post; bit 1: a post in flight */
    uint64_t loop_next_ms;       /* the looping cluster's next restart */
    uint64_t now_ms;
    int started;
    size_t boot_left; /* boot POSTs not answered yet */
    size_t busy;      /* shards with a plan under way */
    int tracking, events_on;
    uint64_t events_start_ms, events_issued;
    double event_rate; /* events per second that give f->rate changes per second */
    uint32_t audience;
    struct fleet_stats stats;
};

static uint64_t between(struct fleet *fl, uint64_t lo, uint64_t hi)
{
    return lo + rng_next(&fl->rng) % (hi - lo + 1);
}

/* ---- the schedule: a binary min-heap on due_ms ---- */

static void heap_push(struct fleet *fl, uint64_t due_ms, uint32_t gid, uint32_t tag)
{
    size_t i;

    if (fl->heap_size == fl->heap_cap) {
        fl->heap_cap = fl->heap_cap == 0 ? 1024 : fl->heap_cap * 2;
        fl->heap = h2o_mem_realloc(fl->heap, sizeof(*fl->heap) * fl->heap_cap);
    }
    i = fl->heap_size++;
    while (i != 0) {
        size_t parent = (i - 1) / 2;
        if (fl->heap[parent].due_ms <= due_ms)
            break;
        fl->heap[i] = fl->heap[parent];
        i = parent;
    }
    fl->heap[i] = (struct entry){due_ms, gid, tag};
}

static struct entry heap_pop(struct fleet *fl)
{
    struct entry top = fl->heap[0], last = fl->heap[--fl->heap_size];
    size_t i = 0;

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= fl->heap_size)
            break;
        if (child + 1 < fl->heap_size && fl->heap[child + 1].due_ms < fl->heap[child].due_ms)
            ++child;
        if (last.due_ms <= fl->heap[child].due_ms)
            break;
        fl->heap[i] = fl->heap[child];
        i = child;
    }
    if (fl->heap_size != 0)
        fl->heap[i] = last;
    return top;
}

/* ---- POSTs ---- */

static void on_sent(struct http_request *req)
{
    struct job *job = H2O_STRUCT_FROM_MEMBER(struct job, req, req);
    struct fleet *fl = job->fl;
    struct shard *s = &fl->shards[job->gid];

    if (job->health || job->batch || job->session || job->boot || !fl->tracking)
        return;
    if (job->tracked) { /* written again after a failed connection: only the time moves */
        if (s->tracked_seq == job->seq)
            s->tracked_ns = req->sent_ns;
        return;
    }
    if (s->tracked && s->seen < s->expect)
        fl->stats.superseded += s->expect - s->seen;
    s->tracked = 1;
    s->tracked_state = job->state;
    s->tracked_ns = req->sent_ns;
    s->expect = fl->audience;
    s->seen = 0;
    job->seq = ++s->tracked_seq;
    job->tracked = 1;
    ++fl->stats.tracked;
    fl->stats.expected += fl->audience;
}

static void schedule_ping(struct fleet *fl, uint32_t gid, uint64_t delay_ms)
{
    heap_push(fl, fl->now_ms + delay_ms, gid, ENTRY_PING);
}

static uint64_t ping_period_ms(struct fleet *fl)
{
    double scale = 1 + fl->flags->jitter * (2 * rng_uniform(&fl->rng) - 1);

    return (uint64_t)(fl->flags->ping_interval_s * 1000 * scale) + 1;
}

/* With --batch, the first shard of the group that gid belongs to: its ping entries stand for the group. */
static uint32_t group_first(struct fleet *fl, uint32_t gid)
{
    const struct shard *s = &fl->shards[gid];

    return fl->offsets[s->cluster] + s->id / fl->flags->batch * fl->flags->batch;
}

/* Schedules the first ping of gid (or of its group, unless the group's pings are under way already) at a
 * random point of a ping interval, so that pings spread evenly. */
static void start_pings(struct fleet *fl, uint32_t gid)
{
    if (fl->flags->batch != 0) {
        gid = group_first(fl, gid);
        if (fl->shards[gid].pinging)
            return;
        fl->shards[gid].pinging = 1;
    }
    schedule_ping(fl, gid, (uint64_t)(rng_uniform(&fl->rng) * fl->flags->ping_interval_s * 1000));
}

static void on_done(struct http_request *req, int status)
{
    struct job *job = H2O_STRUCT_FROM_MEMBER(struct job, req, req);
    struct fleet *fl = job->fl;
    struct shard *s = &fl->shards[job->gid];
    int cls = status == 0 ? 0 : status >= 200 && status < 600 ? status / 100 - 1 : 5;

    if (status != 0)
        stats_add(&fl->stats.post_us, (stats_now_ns() - req->sent_ns) / 1000);
    if (job->session) {
        ++fl->stats.session_posts;
        fl->session_state[job->gid] &= (uint8_t)~2;
        if (status != 200)
            ++fl->stats.errors;
        goto Free;
    }
    if (job->batch) {
        ++fl->stats.batch_posts;
        fl->stats.batch_items += job->items;
        if (status != 200)
            ++fl->stats.errors;
        goto Free;
    }
    if (job->health) {
        ++fl->stats.health_posts;
    } else {
        ++fl->stats.status_posts;
        ++fl->stats.status_by_code[cls];
        if (status == 204)
            s->has_status = 1;
    }
    if (status != 204) {
        ++fl->stats.errors;
        /* the change did not happen: nobody owes it */
        if (job->tracked && s->tracked_seq == job->seq && s->tracked) {
            fl->stats.expected -= s->expect - s->seen;
            s->expect = s->seen;
        }
    }
    if (job->boot) {
        --fl->boot_left;
        if (job->state == plan_states[PLAN_BOOT][0]) /* pings start once the first status is in */
            start_pings(fl, job->gid);
    }
Free:
    job->next_free = fl->free_jobs;
    fl->free_jobs = job;
}

/* A job from the free list (its body buffer kept), or a new one; every other field cleared. */
static struct job *job_get(struct fleet *fl)
{
    struct job *job = fl->free_jobs;
    char *body = NULL;
    size_t body_cap = 0;

    if (job != NULL) {
        fl->free_jobs = job->next_free;
        body = job->body;
        body_cap = job->body_cap;
    } else {
        job = h2o_mem_alloc(sizeof(*job));
    }
    memset(job, 0, sizeof(*job));
    job->body = body;
    job->body_cap = body_cap;
    job->fl = fl;
    return job;
}

/* A shard in trouble (a plan other than its boot under way) reports higher latency and unavailable guilds. */
static void next_figures(struct fleet *fl, uint32_t gid, struct bot_figures *out)
{
    const struct shard *s = &fl->shards[gid];
    int trouble = s->plan != PLAN_NONE && s->plan != PLAN_BOOT;

    /* a quiet zombie's library still reports the latency of the last heartbeat acknowledged, and no guild joins
     * or leaves through a connection that receives nothing */
    if (fl->gw != NULL && gateway_quiet(&fl->gw[gid], fl->now_ms) && fl->last_figs[gid].guilds != 0) {
        *out = fl->last_figs[gid];
        return;
    }
    bot_figures_next(&fl->figs[gid], &fl->fig_rng, fl->now_ms, trouble, out);
    if (fl->gw != NULL)
        fl->last_figs[gid] = *out;
}

/* The shard's counters as of now. */
static const struct gateway_counters *next_counters(struct fleet *fl, uint32_t gid)
{
    gateway_advance(&fl->gw[gid], fl->now_ms, &fl->gw_rng);
    return &fl->gw[gid].c;
}

/* The shard reports `state`: its counters follow, and an IDENTIFY costs its cluster's budget. */
static void gateway_state(struct fleet *fl, uint32_t gid, int state)
{
    uint32_t c = fl->shards[gid].cluster;

    if (gateway_on_state(&fl->gw[gid], state, fl->now_ms, &fl->gw_rng)) {
        gateway_session_identify(&fl->sessions[c], fl->now_ms);
        fl->session_state[c] |= 1;
    }
}

static void post(struct fleet *fl, uint32_t gid, int health, int state, int boot)
{
    struct shard *s = &fl->shards[gid];
    const struct flags_cluster *c = &fl->flags->clusters[s->cluster];
    struct job *job = job_get(fl);

    job->gid = gid;
    job->health = (uint8_t)health;
    job->state = (uint8_t)state;
    job->boot = (uint8_t)boot;
    job->req.on_sent = on_sent;
    job->req.on_done = on_done;
    if (health)
        job->req.path_len = (size_t)snprintf(job->req.path, sizeof(job->req.path), "/api/health/%s/%u", c->name, s->id);
    else
        job->req.path_len =
            (size_t)snprintf(job->req.path, sizeof(job->req.path), "/api/status/%s/%u/%d", c->name, s->id, state);
    if (fl->gw != NULL && !health)
        gateway_state(fl, gid, state);
    if (fl->figs != NULL) {
        struct bot_figures fig;
        int n;
        next_figures(fl, gid, &fig);
        /* the longest path (a 64-character name, the longest figures and counters) is 260 bytes: it always fits */
        n = bot_figures_query(job->req.path + job->req.path_len, sizeof(job->req.path) - job->req.path_len, &fig);
        if (n > 0)
            job->req.path_len += (size_t)n;
        if (n > 0 && fl->gw != NULL) {
            n = gateway_query(job->req.path + job->req.path_len, sizeof(job->req.path) - job->req.path_len,
                              next_counters(fl, gid));
            if (n > 0)
                job->req.path_len += (size_t)n;
        }
    }
    if (!health)
        s->last_change_ms = fl->now_ms;
    http_pool_post(fl->pool, &job->req);
}

/* Reports the pings of the group whose first shard is `first`, in one POST of at most --batch shards: those
 * with a status on the server that are not silent. Sends nothing when there are none. */
static void post_batch(struct fleet *fl, uint32_t first)
{
    const struct shard *head = &fl->shards[first];
    const struct flags_cluster *c = &fl->flags->clusters[head->cluster];
    uint32_t count = c->shards - head->id < fl->flags->batch ? c->shards - head->id : fl->flags->batch, i;
    size_t n = 0;
    struct job *job;
    long len;

    for (i = 0; i != count; ++i) {
        const struct shard *s = &fl->shards[first + i];
        struct bot_figures_item *it = &fl->items[n];
        if (!s->has_status || s->silent)
            continue;
        it->id = s->id;
        it->has_figures = fl->figs != NULL;
        if (it->has_figures)
            next_figures(fl, first + i, &it->fig);
        it->has_gateway = fl->gw != NULL;
        if (it->has_gateway)
            it->gw = *next_counters(fl, first + i);
        ++n;
    }
    if (n == 0)
        return;
    job = job_get(fl);
    job->gid = first;
    job->batch = 1;
    job->items = (uint32_t)n;
    if (job->body_cap < bot_figures_batch_cap(n)) {
        job->body_cap = bot_figures_batch_cap(fl->flags->batch); /* once per job: the largest batch fits from then on */
        job->body = h2o_mem_realloc(job->body, job->body_cap);
    }
    len = bot_figures_batch_body(job->body, job->body_cap, fl->items, n);
    job->req.body = h2o_iovec_init(job->body, len > 0 ? (size_t)len : 0);
    job->req.content_type = "application/json";
    job->req.on_sent = on_sent;
    job->req.on_done = on_done;
    job->req.path_len = (size_t)snprintf(job->req.path, sizeof(job->req.path), "/api/clusters/%s/report", c->name);
    http_pool_post(fl->pool, &job->req);
}

/* Posts cluster c's identify budget, as a bot's process does after GET /gateway/bot. */
static void post_session(struct fleet *fl, uint32_t c)
{
    struct job *job = job_get(fl);
    int len;

    job->gid = c;
    job->session = 1;
    if (job->body_cap < 256) {
        job->body_cap = 256;
        job->body = h2o_mem_realloc(job->body, job->body_cap);
    }
    len = gateway_session_body(job->body, job->body_cap, &fl->sessions[c], fl->now_ms);
    job->req.body = h2o_iovec_init(job->body, len > 0 ? (size_t)len : 0);
    job->req.content_type = "application/json";
    job->req.on_sent = on_sent;
    job->req.on_done = on_done;
    job->req.path_len =
        (size_t)snprintf(job->req.path, sizeof(job->req.path), "/api/clusters/%s/gateway", fl->flags->clusters[c].name);
    fl->session_posted_ms[c] = fl->now_ms;
    fl->session_state[c] = 2;
    http_pool_post(fl->pool, &job->req);
}

/* Posts the budgets that are due: a cluster's first, one whose shards identified SESSION_SOON_MS ago or more, and
 * each hourly; one at a time per cluster. */
static void post_sessions(struct fleet *fl)
{
    size_t c;

    for (c = 0; c != fl->flags->num_clusters; ++c) {
        uint64_t since = fl->now_ms - fl->session_posted_ms[c];
        if ((fl->session_state[c] & 2) != 0)
            continue;
        if (fl->session_posted_ms[c] == 0 || ((fl->session_state[c] & 1) != 0 && since >= SESSION_SOON_MS) ||
            since >= SESSION_EVERY_MS)
            post_session(fl, (uint32_t)c);
    }
}

/* ---- plans ---- */

static uint64_t step_delay_ms(struct fleet *fl, int plan, int pos)
{
    switch (plan) {
    case PLAN_BOOT:
        return between(fl, 300, 1000);
    case PLAN_RESTART:
        return pos == 1 ? between(fl, 300, 800) : pos == 2 ? between(fl, 500, 1500) : between(fl, 500, 2000);
    default:
        return between(fl, 500, 1500);
    }
}

static void schedule_step(struct fleet *fl, uint32_t gid, uint64_t delay_ms)
{
    struct shard *s = &fl->shards[gid];

    heap_push(fl, fl->now_ms + delay_ms, gid, (++s->step_gen << 1) | ENTRY_STEP);
}

static void plan_end(struct fleet *fl, struct shard *s)
{
    if (s->plan == PLAN_RESTART)
        --fl->restarting[s->cluster];
    if (s->plan != PLAN_NONE)
        --fl->busy;
    s->plan = PLAN_NONE;
    s->silent = 0;
}

/* Begins a plan on a shard, ending whatever plan it had; the first step runs after first_delay_ms. */
static void plan_begin(struct fleet *fl, uint32_t gid, int plan, uint64_t first_delay_ms)
{
    struct shard *s = &fl->shards[gid];

    plan_end(fl, s);
    s->plan = (uint8_t)plan;
    s->plan_pos = 0;
    s->silent = plan == PLAN_SILENT;
    ++fl->busy;
    if (plan == PLAN_RESTART)
        ++fl->restarting[s->cluster];
    schedule_step(fl, gid, first_delay_ms);
}

static void run_step(struct fleet *fl, uint32_t gid)
{
    struct shard *s = &fl->shards[gid];
    int plan = s->plan;

    s->silent = 0;
    post(fl, gid, 0, plan_states[plan][s->plan_pos], plan == PLAN_BOOT);
    if (++s->plan_pos < plan_len[plan])
        schedule_step(fl, gid, step_delay_ms(fl, plan, s->plan_pos));
    else
        plan_end(fl, s);
}

/* A shard that no plan holds and that has rested, among the troubled ones with --troubled; UINT32_MAX when a few
 * random picks found none. */
static uint32_t pick_shard(struct fleet *fl)
{
    int i;

    for (i = 0; i != PICK_TRIES; ++i) {
        uint32_t gid = fl->troubled != NULL ? fl->troubled[rng_next(&fl->rng) % fl->num_troubled]
                                            : (uint32_t)(rng_next(&fl->rng) % fl->num_shards);
        struct shard *s = &fl->shards[gid];
        /* a zombie stays online: its trouble is the quiet kind */
        if (s->plan == PLAN_NONE && fl->now_ms - s->last_change_ms >= REST_MS && (s->role & ROLE_ZOMBIE) == 0)
            return gid;
    }
    return UINT32_MAX;
}

static int pick_event(struct fleet *fl)
{
    double u = rng_uniform(&fl->rng), acc = 0;
    int k, last = 0;

    for (k = 0; k != FLAGS_NUM_EVENTS; ++k) {
        if (fl->flags->mix[k] <= 0)
            continue;
        acc += fl->flags->mix[k];
        last = k;
        if (u < acc)
            return k;
    }
    return last; /* rounding left u at or above the sum */
}

/* Restarts every shard of cluster c. Returns 0, or -1 when a restart of it is under way. */
static int restart_cluster(struct fleet *fl, size_t c)
{
    size_t i, n = fl->flags->clusters[c].shards;

    if (fl->restarting[c] != 0)
        return -1;
    /* the cluster's processes go down and come back one after another, over about a second */
    for (i = 0; i != n; ++i)
        plan_begin(fl, fl->offsets[c] + (uint32_t)i, PLAN_RESTART, (uint64_t)i * 1000 / n);
    return 0;
}

/* The looping cluster's budget left when the run starts: --loop-budget, else twice its shards, at most the total. */
static uint32_t loop_budget(const struct sim_flags *f)
{
    uint64_t left = f->loop_budget != 0 ? f->loop_budget : 2ull * f->clusters[f->loop_cluster].shards;

    return left < FLAGS_SESSION_TOTAL ? (uint32_t)left : FLAGS_SESSION_TOTAL;
}

/* The looping cluster restarts when its time comes (a second later if its last restart is still under way). */
static void run_loop(struct fleet *fl)
{
    const struct sim_flags *f = fl->flags;

    if (fl->now_ms < fl->loop_next_ms)
        return;
    if (restart_cluster(fl, (size_t)f->loop_cluster) != 0) {
        fl->loop_next_ms = fl->now_ms + 1000;
        return;
    }
    ++fl->stats.loop_restarts;
    fl->loop_next_ms = fl->now_ms + (uint64_t)(f->loop_every_s * 1000 * (0.8 + 0.4 * rng_uniform(&fl->gw_rng)));
}

/* Starts one event from the mix. Returns 0, or -1 when no shard (or cluster) was free for it. */
static int start_event(struct fleet *fl)
{
    int kind = pick_event(fl);
    uint32_t gid;

    if (kind == FLAGS_RESTART) {
        size_t c = (size_t)(rng_next(&fl->rng) % fl->flags->num_clusters);
        if (restart_cluster(fl, c) != 0)
            return -1;
        ++fl->stats.events[kind];
        return 0;
    }
    if ((gid = pick_shard(fl)) == UINT32_MAX)
        return -1;
    ++fl->stats.events[kind];
    switch (kind) {
    case FLAGS_RESUME:
        plan_begin(fl, gid, PLAN_RESUME, 0);
        break;
    case FLAGS_DISCONNECT:
        plan_begin(fl, gid, PLAN_DISCONNECT, 0);
        break;
    default: /* silent: no pings for longer than the health timeout, then it comes back */
        plan_begin(fl, gid, PLAN_SILENT, (uint64_t)fl->flags->health_timeout_s * 1000 + between(fl, 1000, 3000));
        break;
    }
    return 0;
}

/* ---- the fleet ---- */

/* The troubled shards of a cluster of `n` with --troubled: round(share x n), at least one. */
static uint32_t troubled_of(double share, uint32_t n)
{
    uint32_t k = (uint32_t)(share * n + 0.5);
    return k != 0 ? k : 1;
}

/* With --troubled: troubled_of() shards of each cluster, one drawn from each equal stretch of its ids, so that they
 * spread over the grid rather than bunch at one end. (flags.c takes clusters of one shard or more.) */
static void choose_troubled(struct fleet *fl)
{
    const struct sim_flags *f = fl->flags;
    size_t c, total = 0;

    for (c = 0; c != f->num_clusters; ++c)
        total += troubled_of(f->troubled, f->clusters[c].shards);
    fl->troubled = h2o_mem_alloc(sizeof(*fl->troubled) * (total != 0 ? total : 1));
    for (c = 0; c != f->num_clusters; ++c) {
        uint32_t n = f->clusters[c].shards, k = troubled_of(f->troubled, n), i;
        for (i = 0; i != k; ++i) {
            uint32_t lo = (uint32_t)((uint64_t)i * n / k), hi = (uint32_t)((uint64_t)(i + 1) * n / k);
            uint32_t gid = fl->offsets[c] + lo + (uint32_t)(rng_next(&fl->rng) % (hi - lo));
            fl->troubled[fl->num_troubled++] = gid;
            fl->shards[gid].role |= ROLE_TROUBLED;
        }
    }
}

/* Gives `role` to `count` shards drawn from the calm ones: neither troubled nor given a role yet, and out of the
 * looping cluster when another cluster has shards; when too few are calm, from any shard without a role. Draws
 * from gw_rng, so the trouble flags leave a seed's events as they were. */
static void choose_role(struct fleet *fl, uint8_t role, uint32_t count)
{
    int pass;
    size_t i;

    for (pass = 0; pass != 2 && count != 0; ++pass) {
        uint32_t *pool = h2o_mem_alloc(sizeof(*pool) * fl->num_shards), n = 0;
        for (i = 0; i != fl->num_shards; ++i) {
            const struct shard *s = &fl->shards[i];
            int calm = (s->role & ROLE_TROUBLED) == 0 && (int)s->cluster != fl->flags->loop_cluster;
            if ((s->role & (ROLE_ZOMBIE | ROLE_NEAR_CAP)) == 0 && (pass == 1 || calm))
                pool[n++] = (uint32_t)i;
        }
        /* a partial Fisher-Yates shuffle: count distinct shards, each as likely */
        for (i = 0; i != n && count != 0; ++i, --count) {
            size_t j = i + rng_next(&fl->gw_rng) % (n - i);
            uint32_t t = pool[j];
            pool[j] = pool[i];
            pool[i] = t;
            fl->shards[t].role |= role;
        }
        free(pool);
    }
}

struct fleet *fleet_new(const struct sim_flags *f, struct http_pool *pool, uint64_t seed)
{
    struct fleet *fl = h2o_mem_alloc(sizeof(*fl));
    size_t c, n = 0;
    double per_event = 0, avg_cluster = 0;

    memset(fl, 0, sizeof(*fl));
    fl->flags = f;
    fl->pool = pool;
    fl->rng = seed != 0 ? seed : 0x9E3779B97F4A7C15ull;
    fl->fig_rng = fl->rng ^ 0xD1B54A32D192ED03ull;
    if (fl->fig_rng == 0)
        fl->fig_rng = 1;
    fl->gw_rng = fl->rng ^ 0x94D049BB133111EBull;
    if (fl->gw_rng == 0)
        fl->gw_rng = 1;
    for (c = 0; c != f->num_clusters; ++c) {
        fl->offsets[c] = (uint32_t)n;
        n += f->clusters[c].shards;
        avg_cluster += (double)f->clusters[c].shards / (double)f->num_clusters;
    }
    fl->num_shards = n;
    fl->shards = h2o_mem_alloc(sizeof(*fl->shards) * (n != 0 ? n : 1));
    memset(fl->shards, 0, sizeof(*fl->shards) * (n != 0 ? n : 1));
    for (c = 0; c != f->num_clusters; ++c) {
        uint32_t i;
        for (i = 0; i != f->clusters[c].shards; ++i) {
            fl->shards[fl->offsets[c] + i].cluster = (uint32_t)c;
            fl->shards[fl->offsets[c] + i].id = i;
        }
    }
    if (f->troubled < 1)
        choose_troubled(fl);
    choose_role(fl, ROLE_ZOMBIE, f->zombies);
    choose_role(fl, ROLE_NEAR_CAP, f->near_cap);
    if (f->figures) {
        size_t i;
        fl->figs = h2o_mem_alloc(sizeof(*fl->figs) * (n != 0 ? n : 1));
        for (i = 0; i != n; ++i)
            bot_figures_init(&fl->figs[i], (fl->shards[i].role & ROLE_NEAR_CAP) != 0, &fl->fig_rng);
    }
    if (f->gateway) {
        size_t i;
        fl->gw = h2o_mem_alloc(sizeof(*fl->gw) * (n != 0 ? n : 1));
        fl->last_figs = h2o_mem_alloc(sizeof(*fl->last_figs) * (n != 0 ? n : 1));
        memset(fl->last_figs, 0, sizeof(*fl->last_figs) * (n != 0 ? n : 1));
        for (i = 0; i != n; ++i)
            gateway_shard_init(&fl->gw[i], fl->figs[i].guilds,
                               (fl->shards[i].role & ROLE_ZOMBIE) != 0 ? (uint64_t)(f->zombie_after_s * 1000) : 0,
                               &fl->gw_rng);
    }
    if (f->batch != 0)
        fl->items = h2o_mem_alloc(sizeof(*fl->items) * f->batch);
    /* the changes one event makes, on average, so that events at event_rate make f->rate changes a second */
    per_event = f->mix[FLAGS_RESUME] * 2 + f->mix[FLAGS_DISCONNECT] * 3 + f->mix[FLAGS_SILENT] * 2 +
                f->mix[FLAGS_RESTART] * 4 * avg_cluster;
    fl->event_rate = per_event > 0 ? f->rate / per_event : 0;
    stats_init(&fl->stats.post_us);
    stats_init(&fl->stats.latency_us);
    return fl;
}

void fleet_free(struct fleet *fl)
{
    while (fl->free_jobs != NULL) {
        struct job *job = fl->free_jobs;
        fl->free_jobs = job->next_free;
        free(job->body);
        free(job);
    }
    free(fl->troubled);
    free(fl->figs);
    free(fl->gw);
    free(fl->last_figs);
    free(fl->items);
    free(fl->heap);
    free(fl->shards);
    free(fl);
}

uint64_t fleet_tick(struct fleet *fl, uint64_t now_ms)
{
    uint64_t wait = MAX_WAIT_MS;

    fl->now_ms = now_ms;
    if (!fl->started) {
        uint32_t gid;
        size_t c;
        fl->started = 1;
        for (c = 0; fl->gw != NULL && c != fl->flags->num_clusters; ++c) {
            uint32_t left = FLAGS_SESSION_TOTAL;
            if ((int)c == fl->flags->loop_cluster)
                left = loop_budget(fl->flags);
            gateway_session_init(&fl->sessions[c], FLAGS_SESSION_TOTAL, left, fl->flags->max_concurrency, now_ms);
        }
        fl->boot_left = fl->num_shards * 2;
        for (gid = 0; gid != fl->num_shards; ++gid)
            plan_begin(fl, gid, PLAN_BOOT, (uint64_t)(rng_uniform(&fl->rng) * fl->flags->boot_spread_s * 1000));
    }
    while (fl->heap_size != 0 && fl->heap[0].due_ms <= now_ms) {
        struct entry e = heap_pop(fl);
        struct shard *s = &fl->shards[e.gid];
        if ((e.tag & 1) == ENTRY_PING) {
            if (fl->flags->batch != 0)
                post_batch(fl, e.gid);
            else if (!s->silent)
                post(fl, e.gid, 1, 0, 0);
            schedule_ping(fl, e.gid, ping_period_ms(fl));
        } else if ((e.tag >> 1) == s->step_gen && s->plan != PLAN_NONE) {
            run_step(fl, e.gid);
        }
    }
    if (fl->events_on && fl->flags->loop_cluster >= 0)
        run_loop(fl);
    if (fl->gw != NULL)
        post_sessions(fl);
    if (fl->events_on && fl->event_rate > 0) {
        uint64_t due = (uint64_t)((double)(now_ms - fl->events_start_ms) * fl->event_rate / 1000.0);
        /* an event that finds no free shard waits for the next tick; a backlog of over a second is dropped */
        if (due > fl->events_issued + (uint64_t)fl->event_rate + 1) {
            uint64_t drop = due - fl->events_issued - (uint64_t)fl->event_rate - 1;
            fl->stats.events_skipped += drop;
            fl->events_issued += drop;
        }
        while (fl->events_issued < due && start_event(fl) == 0)
            ++fl->events_issued;
        wait = (uint64_t)((double)(fl->events_issued + 1) * 1000.0 / fl->event_rate) + fl->events_start_ms;
        wait = wait > now_ms ? wait - now_ms : fl->events_issued < due ? 10 : 0;
        if (wait > MAX_WAIT_MS)
            wait = MAX_WAIT_MS;
    }
    if (fl->heap_size != 0) {
        uint64_t next = fl->heap[0].due_ms > now_ms ? fl->heap[0].due_ms - now_ms : 0;
        if (next < wait)
            wait = next;
    }
    return wait;
}

int fleet_booted(const struct fleet *fl)
{
    return fl->started && fl->boot_left == 0;
}

void fleet_start_events(struct fleet *fl, uint64_t now_ms)
{
    fl->tracking = 1;
    fl->events_on = 1;
    fl->events_start_ms = now_ms;
    fl->events_issued = 0;
    if (fl->flags->loop_cluster >= 0)
        fl->loop_next_ms = now_ms + (uint64_t)(fl->flags->loop_every_s * 1000 * (0.5 + 0.5 * rng_uniform(&fl->gw_rng)));
}

/* Writes "name/id name/id ..." of the shards with `role` (the first DESCRIBE_MAX) into buf. */
static void role_list(const struct fleet *fl, uint8_t role, char *buf, size_t cap, size_t *count)
{
    size_t i, len = 0, shown = 0;

    buf[0] = '\0';
    *count = 0;
    for (i = 0; i != fl->num_shards; ++i) {
        const struct shard *s = &fl->shards[i];
        int w;
        if ((s->role & role) == 0)
            continue;
        ++*count;
        if (shown++ == DESCRIBE_MAX || len >= cap)
            continue;
        w = snprintf(buf + len, cap - len, "%s%s/%u", len ? " " : "", fl->flags->clusters[s->cluster].name, s->id);
        len += w > 0 ? (size_t)w : 0;
    }
}

void fleet_describe(const struct fleet *fl, FILE *out)
{
    const struct sim_flags *f = fl->flags;
    char list[DESCRIBE_MAX * 80];
    size_t n;

    if (f->zombies != 0) {
        role_list(fl, ROLE_ZOMBIE, list, sizeof(list), &n);
        fprintf(out, "glance-sim: %zu zombies (quiet %g s after coming online): %s\n", n, f->zombie_after_s, list);
    }
    if (f->near_cap != 0) {
        role_list(fl, ROLE_NEAR_CAP, list, sizeof(list), &n);
        fprintf(out, "glance-sim: %zu near the guild cap: %s\n", n, list);
    }
    if (f->loop_cluster >= 0)
        fprintf(out, "glance-sim: restart loop: %s (%u shards) every %g s, identify budget %u of %u left at start%s\n",
                f->clusters[f->loop_cluster].name, f->clusters[f->loop_cluster].shards, f->loop_every_s,
                loop_budget(f), FLAGS_SESSION_TOTAL,
                f->gateway ? "" : " (not posted without --gateway)");
}

void fleet_stop_events(struct fleet *fl)
{
    fl->events_on = 0;
}

int fleet_idle(const struct fleet *fl)
{
    return fl->busy == 0 && http_pool_queued(fl->pool) == 0 && http_pool_inflight(fl->pool) == 0;
}

void fleet_set_audience(struct fleet *fl, uint32_t viewers)
{
    fl->audience = viewers;
}

uint32_t fleet_key(struct fleet *fl, const char *name, size_t name_len, uint32_t shard)
{
    const struct sim_flags *f = fl->flags;
    size_t c;

    for (c = 0; c != f->num_clusters; ++c)
        if (f->clusters[c].name_len == name_len && memcmp(f->clusters[c].name, name, name_len) == 0)
            break;
    if (c == f->num_clusters || shard >= f->clusters[c].shards) {
        ++fl->stats.unmatched;
        return UINT32_MAX;
    }
    return fl->offsets[c] + shard;
}

void fleet_observe(struct fleet *fl, uint32_t key, int state, uint64_t now_ns)
{
    struct shard *s = &fl->shards[key];

    if (!s->tracked || s->tracked_state != state || s->seen >= s->expect) {
        ++fl->stats.unmatched;
        return;
    }
    ++s->seen;
    ++fl->stats.delivered;
    stats_add(&fl->stats.latency_us, now_ns > s->tracked_ns ? (now_ns - s->tracked_ns) / 1000 : 0);
}

const struct fleet_stats *fleet_stats(struct fleet *fl)
{
    return &fl->stats;
}

uint64_t fleet_outstanding(const struct fleet *fl)
{
    uint64_t owed = 0;
    size_t i;

    for (i = 0; i != fl->num_shards; ++i)
        if (fl->shards[i].tracked)
            owed += fl->shards[i].expect - fl->shards[i].seen;
    return owed;
}
