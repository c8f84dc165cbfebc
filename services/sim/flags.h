/* flags.h -- glance-sim's command line into a read-only struct sim_flags; every error names the flag. */
#ifndef GLANCE_SIM_FLAGS_H
#define GLANCE_SIM_FLAGS_H

#include <stddef.h>
#include <stdint.h>

#define FLAGS_MAX_CLUSTERS 64
#define FLAGS_MAX_SHARDS 1000000u
/* identifies a day, as GET /gateway/bot gives most bots */
#define FLAGS_SESSION_TOTAL 1000u

struct flags_cluster {
    char name[65];
    size_t name_len;
    uint32_t shards;
};

/* What a fleet event does to a shard (or, for a restart, to a whole cluster). */
enum flags_event { FLAGS_RESUME, FLAGS_DISCONNECT, FLAGS_SILENT, FLAGS_RESTART, FLAGS_NUM_EVENTS };

struct sim_flags {
    char host[256];           /* from --url */
    uint16_t port;
    char host_header[300];    /* host[:port], as the Host header carries it */
    struct flags_cluster clusters[FLAGS_MAX_CLUSTERS];
    size_t num_clusters;
    int fleet;                /* 0 with --no-fleet: viewers only */
    double ping_interval_s;   /* --ping-interval */
    double jitter;            /* --jitter: each ping interval is scaled by 1 +- jitter */
    int figures;              /* --figures: latency and guilds ride on every POST (and batch item) */
    uint32_t batch;           /* --batch: pings go this many shards to a request; 0: a POST per ping */
    double rate;              /* --rate: state changes per second, on average, after the boot */
    double mix[FLAGS_NUM_EVENTS]; /* --mix: weights, normalised to sum to 1 */
    double troubled;          /* --troubled: the share of each cluster's shards that resumes, disconnects and
                                 silences fall on (1: any shard); restarts still take whole clusters */
    double boot_spread_s;     /* --boot-spread: shards start within this many seconds */
    uint32_t health_timeout_s; /* --health-timeout: a silent shard stays silent longer than this */
    uint32_t connections;     /* --connections: keep-alive HTTP connections for the POSTs */
    uint32_t viewers;         /* --viewers */
    double viewer_rate;       /* --viewer-rate: viewer connections started per second; 0: all at once */
    double duration_s;        /* --duration: the measured phase; 0 runs until SIGTERM */
    double boot_limit_s;      /* --boot-limit: with --duration, a boot (and viewers' hellos) taking longer ends the run */
    char passphrase[1024];    /* --passphrase; empty: no Authorization header */
    int report_json;          /* --report json */
    uint64_t seed;            /* --seed; 0: from the clock */
    /* issue 28's gateway trouble, each off by default */
    int gateway;              /* --gateway: the gateway counters ride with the figures (which it turns on), and each
                                 cluster posts its identify budget */
    uint32_t max_concurrency; /* --max-concurrency: what the budget posts say (default 1) */
    uint32_t zombies;         /* --zombies: shards whose connection goes quiet while they stay online */
    double zombie_after_s;    /* --zombie-after: that long after each time a zombie comes online */
    uint32_t near_cap;        /* --near-cap: shards whose guilds sit at 2,300-2,499 */
    int loop_cluster;         /* --restart-loop NAME: the index of the cluster in a restart loop; -1: none */
    char loop_name[65];       /* as given, resolved once the clusters are known */
    double loop_every_s;      /* --loop-every: the looping cluster restarts this often (+- 20 %) */
    uint32_t loop_budget;     /* --loop-budget: its identify budget when the run starts; 0: twice its shards */
};

/* Sets every default: nothing about the target, ping every 10 s +- 20 %, 2 changes/s, the default mix, and
 * the original API only (no figures, no batches), which the benchmarks' baseline understands. */
void flags_defaults(struct sim_flags *f);

/* Parses "name:shards;name:shards" into f->clusters (replacing what was there). Returns 0, or -1 with the
 * problem in err. */
int flags_set_clusters(struct sim_flags *f, const char *spec, char *err, size_t errlen);

/* Parses "http://host[:port][/]" into host, port and host_header. Returns 0, or -1 with the problem in err. */
int flags_set_url(struct sim_flags *f, const char *url, char *err, size_t errlen);

/* Parses "resume=0.6,silent=0.2,..." (kinds: resume, disconnect, silent, restart; missing ones weigh 0)
 * into f->mix, normalised. Returns 0, or -1 with the problem in err. */
int flags_set_mix(struct sim_flags *f, const char *spec, char *err, size_t errlen);

/* Parses argv[1..argc-1] ("--name value" or "--name=value") over what f holds, then checks the whole:
 * a --url is required, a fleet needs clusters, --restart-loop names one of them, --zombies needs --gateway (a
 * zombie is told by its events), --near-cap needs --figures, and the zombies and near-cap shards fit the fleet.
 * Returns 0, or -1 with one line in err naming the flag,
 * the value and what is expected. Does not handle --help. */
int flags_parse(struct sim_flags *f, int argc, char **argv, char *err, size_t errlen);

/* The usage text. */
extern const char flags_usage[];

#endif
