/* sim_main.c -- glance-sim: flags, wiring, the phases of a run (boot, measure, drain) and the report. */
#include <netdb.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "h2o.h"
#include "flags.h"
#include "fleet.h"
#include "http.h"
#include "stats.h"
#include "viewers.h"

#define DRAIN_LIMIT_MS 10000  /* event steps still pending after this are abandoned */
#define GRACE_MS 1000         /* after the last POST, for the frames that carry it */

static volatile sig_atomic_t stop_requested;

static void on_signal(int signo)
{
    stop_requested = 1;
}

enum phase { PHASE_BOOT, PHASE_STEADY, PHASE_DRAIN, PHASE_GRACE, PHASE_END };

struct sim {
    struct sim_flags flags;
    h2o_loop_t *loop;
    struct http_pool *pool;
    struct fleet *fleet;
    struct viewers *viewers;
    enum phase phase;
    uint64_t start_ms, steady_ms, drain_ms, grace_ms, end_ms;
    int boot_timed_out;
};

static uint32_t on_viewer_resolve(void *ctx, const char *name, size_t name_len, uint32_t shard)
{
    struct sim *sim = ctx;

    return sim->fleet != NULL ? fleet_key(sim->fleet, name, name_len, shard) : UINT32_MAX;
}

static void on_viewer_changes(void *ctx, const struct viewers_change *changes, size_t n, uint64_t now_ns)
{
    struct sim *sim = ctx;
    size_t i;

    for (i = 0; i != n; ++i)
        fleet_observe(sim->fleet, changes[i].key, changes[i].state, now_ns);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    fputs("glance-sim: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static void print_hist_json(const char *name, const struct stats_hist *h)
{
    printf("\"%s\":{\"samples\":%llu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,\"mean\":%.3f}", name,
           (unsigned long long)h->total, ms(stats_percentile(h, 50)), ms(stats_percentile(h, 90)),
           ms(stats_percentile(h, 99)), ms(stats_percentile(h, 99.9)), ms(h->total ? h->max : 0), stats_mean(h) / 1000.0);
}

static void report(struct sim *sim)
{
    const struct sim_flags *f = &sim->flags;
    static const struct fleet_stats none;
    const struct fleet_stats *fs = sim->fleet != NULL ? fleet_stats(sim->fleet) : &none;
    struct viewers_stats vnone;
    const struct viewers_stats *vst;
    uint64_t steady_end = sim->drain_ms != 0 ? sim->drain_ms : sim->end_ms;
    double steady_s = sim->steady_ms != 0 && steady_end > sim->steady_ms ? (double)(steady_end - sim->steady_ms) / 1000 : 0;
    uint64_t missing = fs->expected > fs->delivered ? fs->expected - fs->delivered : 0;
    size_t i, shards = 0;

    memset(&vnone, 0, sizeof(vnone));
    stats_init(&vnone.hello_us);
    vst = sim->viewers != NULL ? viewers_stats(sim->viewers) : &vnone;
    for (i = 0; i != f->num_clusters; ++i)
        shards += f->clusters[i].shards;

    if (f->report_json) {
        printf("{\"url\":\"http://%s\",\"shards\":%zu,\"clusters\":[", f->host_header, f->fleet ? shards : 0);
        for (i = 0; f->fleet && i != f->num_clusters; ++i)
            printf("%s{\"name\":\"%s\",\"shards\":%u}", i ? "," : "", f->clusters[i].name, f->clusters[i].shards);
        printf("],\"rate_target\":%g,\"boot_s\":%.3f,\"steady_s\":%.3f,\"boot_timed_out\":%s,", f->fleet ? f->rate : 0,
               sim->steady_ms ? (double)(sim->steady_ms - sim->start_ms) / 1000 : 0, steady_s,
               sim->boot_timed_out ? "true" : "false");
        printf("\"posts\":{\"status\":%llu,\"health\":%llu,\"batch\":%llu,\"batch_items\":%llu,\"errors\":%llu,"
               "\"status_no_answer\":%llu,\"status_2xx\":%llu,\"status_4xx\":%llu,\"status_5xx\":%llu,",
               (unsigned long long)fs->status_posts, (unsigned long long)fs->health_posts,
               (unsigned long long)fs->batch_posts, (unsigned long long)fs->batch_items, (unsigned long long)fs->errors,
               (unsigned long long)fs->status_by_code[0], (unsigned long long)fs->status_by_code[1],
               (unsigned long long)fs->status_by_code[3], (unsigned long long)fs->status_by_code[4]);
        print_hist_json("rtt_ms", &fs->post_us);
        printf(",\"gateway\":%llu},\"events\":{\"resume\":%llu,\"disconnect\":%llu,\"silent\":%llu,\"restart\":%llu,"
               "\"skipped\":%llu,\"loop_restarts\":%llu},",
               (unsigned long long)fs->session_posts, (unsigned long long)fs->events[FLAGS_RESUME],
               (unsigned long long)fs->events[FLAGS_DISCONNECT], (unsigned long long)fs->events[FLAGS_SILENT],
               (unsigned long long)fs->events[FLAGS_RESTART], (unsigned long long)fs->events_skipped,
               (unsigned long long)fs->loop_restarts);
        printf("\"changes\":{\"tracked\":%llu,\"per_s\":%.1f},", (unsigned long long)fs->tracked,
               steady_s > 0 ? (double)fs->tracked / steady_s : 0);
        printf("\"viewers\":{\"requested\":%u,\"started\":%u,\"upgraded\":%u,\"ready\":%u,\"failed\":%u,\"closed\":%u,"
               "\"last_close_code\":%d,\"hellos\":%llu,\"updates\":%llu,\"updates_parsed\":%llu,\"stales\":%llu,\"frames\":%llu,\"bytes\":%llu,"
               "\"hello_bytes_min\":%llu,\"hello_bytes_max\":%llu,",
               vst->requested, vst->started, vst->upgraded, vst->ready, vst->failed, vst->closed, vst->last_close_code,
               (unsigned long long)vst->hellos, (unsigned long long)vst->updates, (unsigned long long)vst->updates_parsed, (unsigned long long)vst->stales,
               (unsigned long long)vst->frames, (unsigned long long)vst->bytes,
               (unsigned long long)vst->hello_bytes_min, (unsigned long long)vst->hello_bytes_max);
        print_hist_json("hello_ms", &vst->hello_us);
        printf("},\"deliveries\":{\"expected\":%llu,\"delivered\":%llu,\"missing\":%llu,\"superseded\":%llu,"
               "\"unmatched\":%llu},",
               (unsigned long long)fs->expected, (unsigned long long)fs->delivered, (unsigned long long)missing,
               (unsigned long long)fs->superseded, (unsigned long long)fs->unmatched);
        print_hist_json("latency_ms", &fs->latency_us);
        printf("}\n");
    } else {
        printf("glance-sim report for http://%s\n", f->host_header);
        if (f->fleet)
            printf("  fleet: %zu shards; %llu status + %llu health POSTs, %llu errors; POST p50 %.2f ms, p99 %.2f ms\n",
                   shards, (unsigned long long)fs->status_posts, (unsigned long long)fs->health_posts,
                   (unsigned long long)fs->errors, ms(stats_percentile(&fs->post_us, 50)),
                   ms(stats_percentile(&fs->post_us, 99)));
        if (f->fleet && f->batch != 0)
            printf("  batches: %llu reports carrying %llu shard pings (%.1f a report)\n",
                   (unsigned long long)fs->batch_posts, (unsigned long long)fs->batch_items,
                   fs->batch_posts != 0 ? (double)fs->batch_items / (double)fs->batch_posts : 0);
        if (f->fleet && (f->gateway || f->loop_cluster >= 0))
            printf("  gateway: %llu identify budgets posted, %llu restarts of the looping cluster\n",
                   (unsigned long long)fs->session_posts, (unsigned long long)fs->loop_restarts);
        if (fs->status_by_code[3] != 0)
            printf("  %llu status POSTs were refused with 4xx: is the passphrase right, does the server know these "
                   "clusters and shard counts?\n",
                   (unsigned long long)fs->status_by_code[3]);
        printf("  measured for %.1f s: %llu changes (%.1f/s; target %g/s)\n", steady_s, (unsigned long long)fs->tracked,
               steady_s > 0 ? (double)fs->tracked / steady_s : 0, f->fleet ? f->rate : 0);
        if (f->viewers != 0) {
            printf("  viewers: %u of %u ready, %u failed, %u closed; hello %llu bytes, p99 %.1f ms after connecting\n",
                   vst->ready, vst->requested, vst->failed, vst->closed, (unsigned long long)vst->hello_bytes_max,
                   ms(stats_percentile(&vst->hello_us, 99)));
            printf("  deliveries: %llu of %llu (%llu missing); POST -> frame p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                   (unsigned long long)fs->delivered, (unsigned long long)fs->expected, (unsigned long long)missing,
                   ms(stats_percentile(&fs->latency_us, 50)), ms(stats_percentile(&fs->latency_us, 99)),
                   ms(fs->latency_us.max));
        }
    }
    fflush(stdout);
}

/* Moves the run along its phases; returns the ms until it needs looking at again. */
static uint64_t step(struct sim *sim, uint64_t now)
{
    const struct sim_flags *f = &sim->flags;
    uint64_t wait = 100, w;

    if (sim->fleet != NULL && (w = fleet_tick(sim->fleet, now)) < wait)
        wait = w;
    /* viewers connect once the fleet has booted: they measure the steady state, and a slow server's boot
     * is not slowed further by broadcasting it to every viewer */
    if (sim->viewers != NULL && (sim->fleet == NULL || fleet_booted(sim->fleet))) {
        if ((w = viewers_tick(sim->viewers, now)) < wait)
            wait = w;
        if (sim->fleet != NULL)
            fleet_set_audience(sim->fleet, viewers_stats(sim->viewers)->ready);
    }
    switch (sim->phase) {
    case PHASE_BOOT:
        if ((sim->fleet == NULL || fleet_booted(sim->fleet)) && (sim->viewers == NULL || viewers_settled(sim->viewers))) {
            sim->phase = PHASE_STEADY;
            sim->steady_ms = now;
            if (sim->fleet != NULL)
                fleet_start_events(sim->fleet, now);
            say("steady after %.1f s: %u viewers ready; measuring%s", (double)(now - sim->start_ms) / 1000,
                sim->viewers != NULL ? viewers_stats(sim->viewers)->ready : 0, f->duration_s > 0 ? "" : " until SIGTERM");
        } else if (f->duration_s > 0 && now - sim->start_ms > (uint64_t)(f->boot_limit_s * 1000)) {
            say("the boot did not finish within %g s", f->boot_limit_s);
            sim->boot_timed_out = 1;
            sim->phase = PHASE_END;
        }
        break;
    case PHASE_STEADY:
        if (f->duration_s > 0 && now - sim->steady_ms >= (uint64_t)(f->duration_s * 1000)) {
            sim->phase = PHASE_DRAIN;
            sim->drain_ms = now;
            if (sim->fleet != NULL)
                fleet_stop_events(sim->fleet);
        }
        break;
    case PHASE_DRAIN:
        if (sim->fleet == NULL || fleet_idle(sim->fleet) || now - sim->drain_ms >= DRAIN_LIMIT_MS) {
            sim->phase = PHASE_GRACE;
            sim->grace_ms = now;
        }
        break;
    case PHASE_GRACE:
        if (now - sim->grace_ms >= GRACE_MS ||
            (sim->fleet != NULL && sim->viewers != NULL && fleet_outstanding(sim->fleet) == 0))
            sim->phase = PHASE_END;
        break;
    case PHASE_END:
        break;
    }
    return wait;
}

int main(int argc, char **argv)
{
    static struct sim sim;
    struct sim_flags *f = &sim.flags;
    struct addrinfo hints = {0}, *res;
    struct sigaction sa = {0};
    char err[512], port[8], auth[1100] = "";
    const char *env;
    uint64_t seed;
    int i, rc;

    for (i = 1; i < argc; ++i)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(flags_usage, stdout);
            return 0;
        }
    flags_defaults(f);
    if ((env = getenv("GLANCE_BOTS")) != NULL && env[0] != '\0' && flags_set_clusters(f, env, err, sizeof(err)) != 0) {
        fprintf(stderr, "glance-sim: GLANCE_BOTS: %s\n", err);
        return 2;
    }
    if ((env = getenv("GLANCE_PASSPHRASE")) != NULL && strlen(env) < sizeof(f->passphrase))
        strcpy(f->passphrase, env);
    if (flags_parse(f, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "glance-sim: %s\n", err);
        return 2;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%u", f->port);
    if ((rc = getaddrinfo(f->host, port, &hints, &res)) != 0) {
        fprintf(stderr, "glance-sim: --url host \"%s\": %s\n", f->host, gai_strerror(rc));
        return 2;
    }
    seed = f->seed != 0 ? f->seed : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();

    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    sim.loop = h2o_evloop_create();
    if (f->fleet) {
        if (f->passphrase[0] != '\0')
            snprintf(auth, sizeof(auth), "%s", f->passphrase);
        sim.pool = http_pool_new(sim.loop, res->ai_addr, res->ai_addrlen, f->host_header, auth, f->connections);
        sim.fleet = fleet_new(f, sim.pool, seed);
        fleet_describe(sim.fleet, stderr); /* which shards the trouble flags picked: the demo's log and the tests read it */
    }
    if (f->viewers != 0)
        sim.viewers = viewers_new(sim.loop, res->ai_addr, res->ai_addrlen, f->host_header, f->viewers, f->viewer_rate,
                                  &(struct viewers_listener){on_viewer_resolve, on_viewer_changes, &sim}, seed * 31 + 7);
    freeaddrinfo(res);

    sim.start_ms = h2o_now(sim.loop);
    while (!stop_requested && sim.phase != PHASE_END) {
        uint64_t wait = step(&sim, h2o_now(sim.loop));
        h2o_evloop_run(sim.loop, (int32_t)wait);
    }
    sim.end_ms = h2o_now(sim.loop);
    if (sim.phase == PHASE_STEADY)
        sim.drain_ms = sim.end_ms;
    report(&sim);

    /* the pool first: its callbacks reach into the fleet */
    if (sim.pool != NULL)
        http_pool_free(sim.pool);
    if (sim.fleet != NULL)
        fleet_free(sim.fleet);
    if (sim.viewers != NULL)
        viewers_free(sim.viewers);
    h2o_evloop_run(sim.loop, 0); /* closed sockets are disposed of on the next turn */
    h2o_evloop_destroy(sim.loop);
    return sim.boot_timed_out ? 1 : 0;
}
