/* conf.h -- environment and .env file into a read-only struct conf; every error names the variable. */
#ifndef GLANCE_CONF_H
#define GLANCE_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_CLUSTERS 256
#define CONF_MAX_SHARDS 1000000u
/* All clusters together. Measured: a replica holds about 75 bytes per shard with every per-version view cached
 * (the mirror, the feed's sets, the hello, /api/status and /plain), and about 130 at the peak of rendering
 * /plain; 8,000,000 shards are then about 0.6 GiB, 1 GiB at the peak (docs/RELIABILITY.md). */
#define CONF_MAX_TOTAL_SHARDS 8000000u
#define CONF_MAX_SENTINELS 8
#define CONF_MAX_ORIGINS 16
#define CONF_MAX_WEBHOOKS 4         /* GLANCE_ALERT_WEBHOOKS: every cluster's that has no route */
#define CONF_MAX_ROUTED_WEBHOOKS 12 /* GLANCE_ALERT_ROUTES: a cluster's own */
#define CONF_MAX_LANES (CONF_MAX_WEBHOOKS + CONF_MAX_ROUTED_WEBHOOKS)
#define CONF_MAX_PROXIES 16
#define CONF_MAX_SUBSCRIBE_ORIGINS 8

struct conf_cluster {
    char name[65];
    size_t name_len;
    uint32_t shards;
    int alert_level; /* the least condition (condition.h) that is an alert for this cluster */
    int routed;      /* GLANCE_ALERT_ROUTES names it: its alerts go to its route's webhooks, not the global ones */
};

/* Where alerts go. The URL holds the webhook's secret token: logs show `shown` instead. */
struct conf_webhook {
    char url[1024];
    int json;        /* a generic JSON webhook (json:<url>): one POST per alert; else Discord's webhook API */
    char shown[128]; /* scheme and host */
    char id[17];     /* a hash of the URL, naming its messages in Redis */
    char given[1024]; /* the URL as configured (json: and all): a webhook named twice is one */
    int global;       /* from GLANCE_ALERT_WEBHOOKS: takes the alerts of every cluster without a route */
    unsigned char routes[CONF_MAX_CLUSTERS / 8]; /* a bit per cluster whose route names it */
};

/* A trusted proxy (GLANCE_TRUSTED_PROXIES): an address and how many of its leading bits a peer must share. IPv4 is
 * kept as 4 bytes, IPv6 as 16. */
struct conf_net {
    unsigned char addr[16];
    unsigned char len; /* 4 or 16 */
    unsigned char prefix;
};

/* The gateway marks an alert can be raised for (GLANCE_ALERT_GATEWAY), as bits. */
enum conf_gateway_alert {
    CONF_ALERT_SILENT = 1 << 0,    /* shards online but receiving no events */
    CONF_ALERT_STORM = 1 << 1,     /* a reconnect storm */
    CONF_ALERT_BUDGET = 1 << 2,    /* an identify budget a full restart would exhaust */
    CONF_ALERT_GUILD_CAP = 1 << 3, /* shards near the 2,500-guild cap */
};
#define CONF_GATEWAY_ALERTS 4
/* Their names as GLANCE_ALERT_GATEWAY and the alerts spell them, in bit order. */
extern const char *const conf_gateway_alert_names[CONF_GATEWAY_ALERTS];

struct conf {
    char host[256];
    uint16_t port;
    struct conf_cluster clusters[CONF_MAX_CLUSTERS];
    size_t num_clusters;
    char passphrase[1024]; /* empty: writes need no passphrase */
    size_t passphrase_len;
    uint32_t health_timeout_s;
    struct {
        char host[256];
        uint16_t port;
        uint32_t db;
        char user[128];
        char password[512];
        uint32_t timeout_ms;
        /* with Sentinel: the master is looked up by name instead of host/port */
        struct {
            char host[256];
            uint16_t port;
        } sentinels[CONF_MAX_SENTINELS];
        size_t num_sentinels;
        char master[128];
        /* a write is acknowledged once this many Redis replicas have it (Redis's WAIT, one per loop turn); 0: once
         * the master has it */
        uint32_t wait_replicas;
        uint32_t wait_ms; /* how long a WAIT may take before the writes it covers are answered 503 */
    } redis;
    char prefix[65];
    char web_root[1024];
    char replica[65]; /* names this replica in the x-glance-replica header; the host name by default */
    uint32_t feed_interval_ms;
    /* on SIGTERM, how long /readyz answers 503 while everything else is still served, so that load balancers
     * take the replica out of rotation before it stops accepting */
    uint32_t drain_ms;
    uint32_t history_log; /* transitions each cluster's log keeps (about) */
    /* how often a replica tries to claim the current minute of the latency history: once a minute, at its start, but
     * for tests (a minute is still written once) */
    uint32_t latency_interval_ms;
    /* seconds a cluster's condition must hold before it is recorded as an alert */
    uint32_t alert_delay_s;
    /* seconds an online shard serving guilds may report no new gateway events before it is called silent */
    uint32_t silent_after_s;
    /* identifies plus resumes in a minute that make a cluster's reconnect storm whatever its own rate; 0: only the
     * rule against its own last 24 h */
    uint32_t storm_per_minute;
    /* the gateway marks that raise alerts (enum conf_gateway_alert bits) */
    unsigned alert_gateway;
    struct conf_webhook webhooks[CONF_MAX_LANES]; /* the global ones and the routes', each URL once */
    size_t num_webhooks;
    char alert_role[24];       /* a Discord role id to mention; empty: none */
    uint32_t alert_timeout_ms; /* one webhook call */
    /* seconds after an alert was recorded past which a webhook that still fails it (no answer, 5xx, 429) is given up
     * on for that alert: recorded as not sent to it, with why, so a dead webhook never holds back its own backlog
     * for ever */
    uint32_t alert_give_up_s;
    uint32_t feed_max_clients;      /* per replica */
    uint32_t feed_max_per_address;  /* 0: no limit */
    uint32_t reader_bytes_max_mib;  /* response bodies held for readers still being sent to, the whole replica */
    char feed_origins[CONF_MAX_ORIGINS][256]; /* allowed Origin headers; none: any */
    size_t num_feed_origins;
    /* sites that may show /embed in a frame (CSP frame-ancestors, after 'self'); none: only this one */
    char embed_origins[CONF_MAX_ORIGINS][256];
    size_t num_embed_origins;
    /* the load balancers whose X-Forwarded-For and X-Forwarded-Proto are believed (a client's address for the
     * per-address limits, the scheme of links); none: the peer is the client */
    struct conf_net trusted_proxies[CONF_MAX_PROXIES];
    size_t num_trusted_proxies;
    /* where the public page is ("https://status.example.com"), for links in messages sent later; empty: taken from
     * the request that made the subscription */
    char public_url[256];
    uint32_t subscriptions_max;  /* 0: no subscriptions (the routes answer 404) */
    uint32_t subscribe_per_hour; /* subscription attempts per client address (an IPv6 /64) an hour */
    uint32_t subscriber_rate;    /* deliveries to subscribers a second, across the replicas (one sends) */
    uint32_t maintenance_remind_s; /* subscribers are reminded of a maintenance window this long before it starts */
    /* Alertmanager's webhook (POST /api/alertmanager): the label naming an alert's cluster, and the cluster of
     * alerts without it (empty: such an alert is refused) */
    char alertmanager_label[64];
    char alertmanager_cluster[65];
    /* the origins whose webhook URLs visitors may subscribe (Discord's; a Discord-compatible server's, a test's) */
    char subscribe_origins[CONF_MAX_SUBSCRIBE_ORIGINS][128];
    size_t num_subscribe_origins;
};

/* Whether webhook `w` takes the alerts of cluster `cluster`: its route names it, or it is global and the cluster has
 * no route. */
int conf_webhook_takes(const struct conf *conf, const struct conf_webhook *w, size_t cluster);

/* Looks a variable up; returns NULL when it is not set. */
typedef const char *(*conf_lookup_cb)(void *ctx, const char *name);

/* Fills `conf` from the variables that `lookup` finds, defaults for the rest. Returns 0, or -1 with one
 * line in `err` naming the variable, the value and what is expected. */
int conf_load(struct conf *conf, conf_lookup_cb lookup, void *ctx, char *err, size_t errlen);

/* One KEY=VALUE pair of a .env file; both point into the parsed text, which the parser rewrites in place. */
struct conf_env_entry {
    const char *key;
    const char *value;
};

/* Parses the NUL-terminated text of a .env file in place: KEY=VALUE lines, optional `export `, blank lines,
 * `#` comments, values optionally in single or double quotes. Fills at most `max` entries and sets *count.
 * Returns 0, or -1 with "<file>:<line>: <problem>" in `err`. */
int conf_parse_env(char *text, const char *filename, struct conf_env_entry *entries, size_t max, size_t *count,
                   char *err, size_t errlen);

#endif
