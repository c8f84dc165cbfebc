/* alert_sender.c -- the alerts stream to webhooks, by one replica at a time, each webhook at its own pace.
 *
 * The replica that holds the lock (alert_lock.lua, renewed every LOCK_RENEW_MS, held for LOCK_MS) delivers the
 * alerts of glance:alerts. Each webhook is a lane: it reads the stream as a consumer group of its own
 * ("glance-alerts:<webhook id>", made by alert_group.lua) and delivers its alerts one at a time, in order, so a
 * cluster's incident is created before it is edited; a dead or slow webhook holds back only its own lane. An alert
 * a webhook still fails (no answer, 5xx, 429) GLANCE_ALERT_GIVE_UP after it was recorded is given up on there:
 * recorded as not sent to it, with why. Per cluster, <prefix>:{<cluster>}:incident remembers for each webhook its
 * message id, when its incident started and the last alert it delivered (msg:, started:, last:<webhook id>), so a
 * Redis restart (with its data) or a new sender edits the same message. A lane acknowledges (XACK) an alert once
 * its webhook answered it or was given up on. What a sender that died left pending is claimed (XAUTOCLAIM) once idle
 * for LOCK_MS + GLANCE_ALERT_TIMEOUT_MS; the sender renews each lane's pending alert with each renewal of the lock,
 * so it is not taken from it. The lock's time is its own, not the HTTP timeout's: a new sender takes over new alerts
 * within LOCK_MS of the last one's death, and only an alert that was in flight waits until its request surely ended.
 *
 * What can still go twice: a sender that dies after Discord created a message but before the message id is
 * written to Redis (one Redis round trip) leaves an alert that the next sender creates again; a create answered
 * late or with a 5xx after Discord stored it is made again. An id Redis refuses is written again before anything
 * else in its lane (unsaved_message). What can be lost: nothing acknowledged; an alert a webhook refused (4xx) or
 * failed past GLANCE_ALERT_GIVE_UP is acknowledged there as not sent. */
#include "alerts/alert_sender.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts/http_client.h"
#include "base/condition.h"
#include "base/log.h"
#include "base/parse.h"

#define TICK_MS 250
#define READ_EVERY_MS 1000
#define BACKOFF_MAX_MS 60000
/* The longest wait any one answer can impose (a 429's retry_after or Retry-After, X-RateLimit-Reset-After): a
 * value past it, or one that is not a number at all, is a webhook's mistake, and obeying it would stop the alerts
 * it holds up (1e9 s: until a restart; 1e300 s overflowed into no wait at all). */
#define RATE_WAIT_MAX_MS 60000
#define GROUP_PREFIX "glance-alerts:"
/* The sender's lock: renewed this often, held this long. A sender stops sending when it has not renewed for LOCK_MS
 * (it counts from when it asked, so it stops before the lock can have run out in Redis); the next takes over within
 * LOCK_MS of its last renewal. */
#define LOCK_RENEW_MS 1000
#define LOCK_MS 3000

static const unsigned colours[] = {0xc4c9d0, 0x36a852, 0xf2c12e, 0xef8a2a, 0xd0262e}; /* the page's, by condition */

struct alert {
    char id[48];
    size_t cluster;
    int condition, previous;
    int64_t since_ms, at_ms;
    uint32_t down, busy, total;
    int flapping;     /* the cluster keeps changing: one message for the episode, edited, pinging no one */
    unsigned changes; /* alerts within the flapping window */
    /* a gateway mark (gateway_alert.lua) rather than a condition: a message of its own, never the incident's */
    int gateway;
    char mark[16];
    int active;
    char text[400];
};

/* A lane's incident for the cluster of the alert it delivers, as read from Redis before sending it. */
struct incident {
    int64_t started_ms;
    char last[48];     /* the last alert this webhook delivered for the cluster */
    char message[32];  /* its Discord message id; "" when none */
};

/* A message id Discord gave that Redis has not taken yet. Kept apart from the lane's alert, so that it is written even when
 * the lock is lost meanwhile (the next sender must find it, or it makes a second message and never resolves the
 * first), and retried before anything else in its lane. */
struct unsaved_message {
    int active;
    size_t cluster;
    char alert_id[48]; /* the alert whose create it was: its delivery goes on once the id is saved */
    char id[32];
    char started[24];
    int warned;
};

enum step { STEP_LOAD, STEP_SEND, STEP_FINISH, STEP_ACK };

/* One webhook's delivery: its consumer group, the alert it delivers and how far it is with it. A lane reads one
 * alert at a time (and the next at once after it), so everything it holds pending is the alert the sender renews
 * with the lock: nothing it read waits unrenewed, to be claimed by another replica while this one still has it. */
struct lane {
    struct alert_sender *s;
    const struct conf_webhook *w;
    char group[40];              /* GROUP_PREFIX + the webhook's id */
    char msg_field[32], started_field[32], last_field[32]; /* its fields in a cluster's incident hash */
    int busy;                    /* a Redis call or an HTTP request of this lane is in flight */
    int claiming;                /* the read in flight is the XAUTOCLAIM that goes before reading what is new */
    int disabled;                /* it answered 401, 403 or 404: not called again until this replica restarts */
    uint64_t next_read;
    uint64_t not_before;         /* the loop's clock: a 429, an exhausted bucket, a backoff or a Redis error says wait */
    unsigned attempts;           /* 5xx and no answers to the alert, for the backoff */
    int tried;                   /* a request for the alert was started */
    struct alert alert;
    int has_alert;
    enum step step;
    struct incident incident;
    struct unsaved_message unsaved;
    char why[200];               /* why the alert was not sent; "" so far */
};

struct alert_sender {
    h2o_loop_t *loop;
    const struct conf *conf;
    struct store *store;
    struct http_client *http;
    h2o_timeout_t interval;
    h2o_timeout_entry_t tick;
    char consumer[96];
    char replica_header[96];
    int holding;   /* the lock, as last renewed */
    uint64_t held_until; /* the loop's clock: when the lock, as last renewed, may run out (counted from the ask) */
    uint64_t lock_asked; /* when the renewal in flight was sent */
    int lock_inflight;
    uint64_t next_lock;
    int groups_ready;    /* every lane's consumer group exists, as far as this replica knows */
    int groups_inflight;
    struct lane lanes[CONF_MAX_LANES];
    struct alert_sender_stats stats;
};

static uint64_t now_ms(struct alert_sender *s)
{
    return h2o_now(s->loop);
}

/* Whether this replica holds the lock now: as last renewed, and not for longer than LOCK_MS since (renewals that
 * went unanswered that long mean another replica may hold it). */
static int holding(struct alert_sender *s)
{
    if (s->holding && now_ms(s) >= s->held_until) {
        log_info("alerts: this replica stopped sending alerts (its lock was not renewed in %d ms)", LOCK_MS);
        s->holding = 0;
    }
    return s->holding;
}

/* The lane's next step, at once: a delivery is a chain of Redis calls and HTTP requests, each started by the answer
 * to the one before rather than by the next tick. */
static void run_lane(struct lane *l);

/* ------------------------------------------------------------------------------------------------ Redis */

static int command(struct alert_sender *s, store_reply_cb cb, void *data, int argc, const char **argv)
{
    size_t lens[12];

    for (int i = 0; i < argc; ++i)
        lens[i] = strlen(argv[i]);
    return store_command(s->store, argc, argv, lens, cb, data);
}

/* For the commands whose outcome the next step does not wait for: a failure shows again later (an alert still
 * pending is read again, an unrenewed claim only lets another replica take over). */
static void ignore(void *data, const redisReply *reply, const char *err)
{
}

static const char *str_of(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? r->str : "";
}

/* Takes the entry of an XREADGROUP/XAUTOCLAIM entry list (read with COUNT 1) as the lane's alert. */
static void take_entry(struct lane *l, const redisReply *list)
{
    const struct conf *conf = l->s->conf;

    for (size_t i = 0; list != NULL && list->type == REDIS_REPLY_ARRAY && i < list->elements && !l->has_alert; ++i) {
        const redisReply *e = list->element[i], *f;
        struct alert a = {0};
        ssize_t cluster = -1;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || (f = e->element[1])->type != REDIS_REPLY_ARRAY)
            continue; /* an entry trimmed away while pending comes back without fields */
        snprintf(a.id, sizeof(a.id), "%s", str_of(e->element[0]));
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const char *name = str_of(f->element[k]), *v = str_of(f->element[k + 1]);
            if (strcmp(name, "cluster") == 0) {
                for (size_t c = 0; c < conf->num_clusters; ++c)
                    if (strcmp(conf->clusters[c].name, v) == 0)
                        cluster = (ssize_t)c;
            } else if (strcmp(name, "condition") == 0) {
                a.condition = atoi(v);
            } else if (strcmp(name, "previous") == 0) {
                a.previous = atoi(v);
            } else if (strcmp(name, "since") == 0) {
                a.since_ms = atoll(v);
            } else if (strcmp(name, "down") == 0) {
                a.down = (uint32_t)strtoul(v, NULL, 10);
            } else if (strcmp(name, "busy") == 0) {
                a.busy = (uint32_t)strtoul(v, NULL, 10);
            } else if (strcmp(name, "total") == 0) {
                a.total = (uint32_t)strtoul(v, NULL, 10);
            } else if (strcmp(name, "flapping") == 0) {
                a.flapping = strcmp(v, "1") == 0;
            } else if (strcmp(name, "changes") == 0) {
                a.changes = (unsigned)strtoul(v, NULL, 10);
            } else if (strcmp(name, "kind") == 0) {
                a.gateway = strcmp(v, "gateway") == 0;
            } else if (strcmp(name, "mark") == 0) {
                snprintf(a.mark, sizeof(a.mark), "%s", v);
            } else if (strcmp(name, "active") == 0) {
                a.active = strcmp(v, "1") == 0;
            } else if (strcmp(name, "text") == 0) {
                snprintf(a.text, sizeof(a.text), "%s", v);
            }
        }
        if (cluster < 0) {
            log_warn("alerts: %s is about a cluster this replica does not know; acknowledged unsent", a.id);
            store_alert_outcome(l->s->store, a.id, l->w->id, "about a cluster this replica does not know", ignore, l);
            command(l->s, ignore, l, 4, (const char *[]){"XACK", store_alerts_key(l->s->store), l->group, a.id});
            continue;
        }
        if (!conf_webhook_takes(conf, l->w, (size_t)cluster)) {
            /* another webhook's cluster (GLANCE_ALERT_ROUTES): not this one's to send, nor to account for; and the
             * next may be its own, so read again at once */
            command(l->s, ignore, l, 4, (const char *[]){"XACK", store_alerts_key(l->s->store), l->group, a.id});
            l->next_read = 0;
            continue;
        }
        a.cluster = (size_t)cluster;
        a.at_ms = atoll(a.id);
        l->alert = a;
        l->has_alert = 1;
    }
}

/* Forgets the lane's alert and how far it got with it: done with (acknowledged), or left pending for whoever holds
 * the lock to claim. The wait a webhook asked for stays. */
static void lane_reset(struct lane *l)
{
    l->has_alert = 0;
    l->step = STEP_LOAD;
    l->attempts = 0;
    l->tried = 0;
    l->why[0] = '\0';
}

/* The webhook did not take the alert, and will not be asked again: `why`, for GET /api/alerts. */
static void not_sent(struct lane *l, const char *why)
{
    snprintf(l->why, sizeof(l->why), "%s", why);
    l->step = STEP_FINISH;
}

static void on_done(void *data, const redisReply *reply, const char *err)
{
    struct lane *l = data;

    l->busy = 0;
    if (err != NULL) {
        log_warn("alerts: redis: %s", err);
        l->not_before = now_ms(l->s) + 1000;
        return;
    }
    if (l->step == STEP_FINISH)
        l->step = STEP_ACK;
    else if (l->step == STEP_ACK) {
        lane_reset(l);
        l->next_read = 0; /* there may be more: read again at once */
    }
    run_lane(l);
}

static void on_read(void *data, const redisReply *reply, const char *err)
{
    struct lane *l = data;

    l->busy = 0;
    if (err != NULL) {
        if (strncmp(err, "NOGROUP", 7) == 0)
            l->s->groups_ready = 0; /* the stream was deleted (a flushed Redis): make the groups again */
        l->claiming = 0;
        return;
    }
    /* XREADGROUP: [[stream, entries]]; XAUTOCLAIM: [next, entries, deleted] */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_ARRAY &&
        reply->element[0]->elements == 2)
        take_entry(l, reply->element[0]->element[1]);
    else if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2)
        take_entry(l, reply->element[1]);
    if (l->claiming && !l->has_alert && holding(l->s)) {
        l->claiming = 0;
        l->busy = 1;
        if (command(l->s, on_read, l, 9, (const char *[]){"XREADGROUP", "GROUP", l->group, l->s->consumer, "COUNT", "1",
                                                          "STREAMS", store_alerts_key(l->s->store), ">"}) != 0)
            l->busy = 0;
        return;
    }
    l->claiming = 0;
    run_lane(l);
}

static void on_groups(void *data, h2o_iovec_t made_at, const char *err)
{
    struct alert_sender *s = data;

    s->groups_inflight = 0;
    if (err != NULL) {
        log_warn("alerts: cannot make the webhooks' consumer groups: %s", err);
        return;
    }
    if (made_at.len != 0)
        log_info("alerts: consumer groups made for the webhooks at %.*s of the alerts stream", (int)made_at.len,
                 made_at.base);
    s->groups_ready = 1;
}

static void on_lock(void *data, long long held, const char *err)
{
    struct alert_sender *s = data;

    s->lock_inflight = 0;
    if (err != NULL)
        held = 0;
    if (held != s->holding)
        log_info("alerts: %s sending alerts", held ? "this replica is now" : "this replica stopped");
    s->holding = (int)held;
    if (held)
        s->held_until = s->lock_asked + LOCK_MS;
}

static void on_incident(void *data, const redisReply *reply, const char *err)
{
    struct lane *l = data;
    struct incident *in = &l->incident;

    l->busy = 0;
    if (err != NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 5) {
        l->not_before = now_ms(l->s) + 1000;
        return;
    }
    /* msg:<id>, started:<id>, last:<id>, then the fields the builds before per-webhook delivery shared between all
     * webhooks: started (of a message they made) and last */
    memset(in, 0, sizeof(*in));
    snprintf(in->message, sizeof(in->message), "%s", str_of(reply->element[0]));
    if (reply->element[1]->type == REDIS_REPLY_STRING)
        in->started_ms = atoll(reply->element[1]->str);
    else if (in->message[0] != '\0')
        in->started_ms = atoll(str_of(reply->element[3]));
    snprintf(in->last, sizeof(in->last), "%s",
             str_of(reply->element[reply->element[2]->type == REDIS_REPLY_STRING ? 2 : 4]));
    l->step = STEP_SEND;
    run_lane(l);
}

/* ------------------------------------------------------------------------------------------------ messages */

static void duration(int64_t ms, char *out, size_t len)
{
    int64_t min = (ms + 30000) / 60000;

    if (min < 1)
        snprintf(out, len, "less than a minute");
    else if (min < 120)
        snprintf(out, len, "%lld min", (long long)min);
    else
        snprintf(out, len, "%lld h %lld min", (long long)(min / 60), (long long)(min % 60));
}

static void iso_time(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The Discord message for alert `a` of the incident that began at `started_ms` (0: with this alert), an edit when
 * `edit`; a JSON string to free. */
/* A Discord message of one embed, its time `at_ms`, mentioning the role (GLANCE_ALERT_ROLE) only when `ping`. */
static char *embed_body(const struct conf *conf, const char *title, const char *text, unsigned colour, int64_t at_ms,
                        int ping)
{
    char when[32];
    json_t *mentions, *body;
    char *out;

    iso_time(at_ms, when, sizeof(when));
    mentions = json_pack("{s:[]}", "parse");
    if (conf->alert_role[0] != '\0')
        json_object_set_new(mentions, "roles", json_pack("[s]", conf->alert_role));
    body = json_pack("{s:[{s:s,s:s,s:I,s:s}],s:o}", "embeds", "title", title, "description", text, "color",
                     (json_int_t)colour, "timestamp", when, "allowed_mentions", mentions);
    if (ping && conf->alert_role[0] != '\0') {
        char content[40];
        snprintf(content, sizeof(content), "<@&%s>", conf->alert_role);
        json_object_set_new(body, "content", json_string(content));
    }
    out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return out;
}

static char *discord_body(const struct conf *conf, const struct alert *a, int64_t started_ms, int edit)
{
    const char *name = conf->clusters[a->cluster].name;
    char title[160], text[512], took[48];
    int64_t started = started_ms != 0 ? started_ms : a->since_ms;

    if (a->flapping) {
        snprintf(title, sizeof(title), "%s: flapping", name);
        snprintf(text, sizeof(text), "%u changes of condition within %d min; now %s since <t:%lld:R> (%u of %u shards "
                 "down, %u on their way).\nFurther changes are edited into this message, pinging no one, until it settles.",
                 a->changes, STORE_FLAP_WINDOW_MS / 60000, condition_name(a->condition), (long long)(a->since_ms / 1000),
                 a->down, a->total, a->busy);
    } else if (a->condition == CONDITION_OPERATIONAL) {
        duration(a->since_ms - started, took, sizeof(took));
        snprintf(title, sizeof(title), "%s: resolved", name);
        snprintf(text, sizeof(text), "Operational again after %s: all %u shards are reporting, since <t:%lld:R>.\n"
                 "The incident began <t:%lld:f>.", took, a->total, (long long)(a->since_ms / 1000),
                 (long long)(started / 1000));
    } else {
        snprintf(title, sizeof(title), "%s: %s", name, condition_name(a->condition));
        if (a->condition == CONDITION_DEGRADED)
            snprintf(text, sizeof(text), "%u of %u shards starting, stopping or resuming, since <t:%lld:R>.", a->busy,
                     a->total, (long long)(a->since_ms / 1000));
        else
            snprintf(text, sizeof(text), "%u of %u shards unhealthy or offline, since <t:%lld:R>.", a->down, a->total,
                     (long long)(a->since_ms / 1000));
        if (started != a->since_ms) {
            size_t n = strlen(text);
            snprintf(text + n, sizeof(text) - n, "\nThe incident began <t:%lld:f>.", (long long)(started / 1000));
        }
    }
    return embed_body(conf, title, text, colours[a->condition >= 0 && a->condition <= CONDITION_MAX ? a->condition : 0],
                      a->since_ms, !edit && !a->flapping);
}

/* The title of a gateway mark's alert, on or off. */
static void gateway_title(const struct conf *conf, const struct alert *a, char *out, size_t len)
{
    static const struct {
        const char *mark, *on, *off;
    } titles[] = {
        {"silent", "silent shards", "silent shards recovered"},
        {"storm", "reconnect storm", "reconnect storm over"},
        {"budget", "identify budget short", "identify budget enough again"},
        {"guild_cap", "shards near the guild cap", "no shard near the guild cap"},
    };
    const char *what = a->mark;

    for (size_t i = 0; i != sizeof(titles) / sizeof(titles[0]); ++i)
        if (strcmp(titles[i].mark, a->mark) == 0)
            what = a->active ? titles[i].on : titles[i].off;
    snprintf(out, len, "%s: %s", conf->clusters[a->cluster].name, what);
}

/* A gateway mark's alert for a Discord webhook: a message of its own, in the mark's words (they are the replica's
 * that recorded it), orange while on and green once off; it pings the role when it comes on. */
static char *discord_gateway_body(const struct conf *conf, const struct alert *a)
{
    char title[160];

    gateway_title(conf, a, title, sizeof(title));
    return embed_body(conf, title, a->text, colours[a->active ? CONDITION_PARTIAL : CONDITION_OPERATIONAL], a->since_ms,
                      a->active);
}

static char *json_body(const struct conf *conf, const struct alert *a)
{
    if (a->gateway) {
        json_t *g = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:s}", "cluster", conf->clusters[a->cluster].name, "kind",
                              "gateway", "mark", a->mark, "active", a->active, "since_ms", (json_int_t)a->since_ms,
                              "at_ms", (json_int_t)a->at_ms, "text", a->text);
        char *gout = json_dumps(g, JSON_COMPACT);
        json_decref(g);
        return gout;
    }
    char text[256];
    json_t *body;
    char *out;

    snprintf(text, sizeof(text), "%s: %s (%u down, %u busy of %u shards)", conf->clusters[a->cluster].name,
             a->condition == CONDITION_OPERATIONAL ? "resolved" : condition_name(a->condition), a->down, a->busy, a->total);
    body = json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:i,s:i,s:b,s:i,s:s}", "cluster", conf->clusters[a->cluster].name,
                     "condition", condition_name(a->condition), "previous", condition_name(a->previous), "since_ms",
                     (json_int_t)a->since_ms, "at_ms", (json_int_t)a->at_ms, "down", (int)a->down, "busy",
                     (int)a->busy, "total", (int)a->total, "flapping", a->flapping, "changes", (int)a->changes, "text",
                     text);
    out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return out;
}

/* The URL with `path` inserted before its query (Discord webhook URLs may carry ?thread_id=...) and `query`
 * added to it. */
static void webhook_url(const char *base, const char *path, const char *query, char *out, size_t len)
{
    size_t at = strcspn(base, "?");

    if (base[at] == '?')
        snprintf(out, len, "%.*s%s%s%s%s", (int)at, base, path, base + at, query[0] != '\0' ? "&" : "", query);
    else
        snprintf(out, len, "%s%s%s%s", base, path, query[0] != '\0' ? "?" : "", query);
}

/* ------------------------------------------------------------------------------------------------ delivery */

static void on_saved(void *data, const redisReply *reply, const char *err)
{
    struct lane *l = data;
    struct unsaved_message *u = &l->unsaved;

    (void)reply;
    l->busy = 0;
    if (err != NULL) {
        /* the message exists but Redis did not take its id (a failover, OOM, an ACL): nothing else happens in this
         * lane until it does */
        if (!u->warned++)
            log_warn("alerts: cannot save message %s of %s's incident on %s (%s); trying again every second", u->id,
                     l->s->conf->clusters[u->cluster].name, l->w->shown, err);
        l->not_before = now_ms(l->s) + 1000;
        return;
    }
    u->active = 0;
    if (l->has_alert && l->step == STEP_SEND && strcmp(l->alert.id, u->alert_id) == 0)
        l->step = STEP_FINISH;
    run_lane(l);
}

static void write_unsaved(struct lane *l)
{
    const struct unsaved_message *u = &l->unsaved;

    l->busy = 1;
    if (command(l->s, on_saved, l, 6, (const char *[]){"HSET", store_incident_key(l->s->store, u->cluster), l->msg_field,
                                                       u->id, l->started_field, u->started}) != 0) {
        l->busy = 0;
        l->not_before = now_ms(l->s) + 1000;
    }
}

/* Discord created a message for the lane's webhook: remember its id (and the incident's start) before going on. */
static void save_message(struct lane *l, const char *id)
{
    const struct alert *a = &l->alert;
    struct unsaved_message *u = &l->unsaved;

    snprintf(l->incident.message, sizeof(l->incident.message), "%s", id);
    if (l->incident.started_ms == 0)
        l->incident.started_ms = a->since_ms;
    u->active = 1;
    u->warned = 0;
    u->cluster = a->cluster;
    snprintf(u->alert_id, sizeof(u->alert_id), "%s", a->id);
    snprintf(u->id, sizeof(u->id), "%s", id);
    snprintf(u->started, sizeof(u->started), "%lld", (long long)l->incident.started_ms);
    write_unsaved(l);
}

static double json_number(const char *body, size_t len, const char *key)
{
    json_t *doc = json_loadb(body, len, 0, NULL), *v;
    double d = -1;

    if (doc != NULL && (v = json_object_get(doc, key)) != NULL && json_is_number(v))
        d = json_number_value(v);
    json_decref(doc);
    return d;
}

/* A wait an answer asked for, `wait_s` seconds, as ms: within 1 ms .. RATE_WAIT_MAX_MS (said in the log when capped);
 * a negative or absent value (-1) is `fallback_ms`. */
static uint64_t rate_wait_ms(double wait_s, uint64_t fallback_ms, const struct conf_webhook *w, const char *what)
{
    if (isnan(wait_s) || wait_s < 0)
        return fallback_ms;
    if (wait_s * 1000 > RATE_WAIT_MAX_MS) {
        log_warn("alerts: %s asked to wait %g s (%s); waiting %d s, the most any answer can ask", w->shown, wait_s, what,
                 RATE_WAIT_MAX_MS / 1000);
        return RATE_WAIT_MAX_MS;
    }
    return wait_s * 1000 < 1 ? 1 : (uint64_t)ceil(wait_s * 1000);
}

/* The webhook failed the alert at the front in a way that may pass (no answer, 5xx, 429): try again after
 * `wait_ms`, unless the alert is older than GLANCE_ALERT_GIVE_UP by now. */
static void retry_or_give_up(struct lane *l, uint64_t now, uint64_t wait_ms, const char *what)
{
    const struct alert *a = &l->alert;
    uint64_t give_up_ms = (uint64_t)l->s->conf->alert_give_up_s * 1000;

    if (now >= (uint64_t)a->at_ms + give_up_ms) {
        char why[sizeof(l->why)];
        ++l->s->stats.given_up;
        snprintf(why, sizeof(why), "gave up %u s after the alert: %s", l->s->conf->alert_give_up_s, what);
        log_warn("alerts: %s: %s of %s not sent: %s", l->w->shown, a->id, l->s->conf->clusters[a->cluster].name, why);
        not_sent(l, why);
        return;
    }
    l->not_before = now + wait_ms;
    log_warn("alerts: %s: %s; retrying in %.3f s", l->w->shown, what, (double)wait_ms / 1000);
}

static void handle_http(struct lane *l, const struct http_response *res)
{
    struct alert_sender *s = l->s;
    const struct conf_webhook *w = l->w;
    const struct alert *a = &l->alert;
    uint64_t now = now_ms(s);
    int creating = !w->json && !a->gateway && l->incident.message[0] == '\0';
    char what[200];

    l->busy = 0;
    if (res->ratelimit_remaining == 0 && res->ratelimit_reset_after_s > 0)
        l->not_before = now + rate_wait_ms(res->ratelimit_reset_after_s, 0, w, "X-RateLimit-Reset-After");
    if (res->status >= 200 && res->status < 300) {
        json_t *doc, *id;
        if (w->json || !creating) {
            w->json || a->gateway ? ++s->stats.sent : ++s->stats.edited;
            l->step = STEP_FINISH;
            return;
        }
        doc = json_loadb(res->body, res->body_len, 0, NULL);
        id = json_object_get(doc, "id");
        if (json_is_string(id)) {
            ++s->stats.sent;
            log_info("alerts: %s: %s, message %s created on %s", s->conf->clusters[a->cluster].name,
                     condition_name(a->condition), json_string_value(id), w->shown);
            save_message(l, json_string_value(id));
        } else {
            ++s->stats.failed;
            log_warn("alerts: %s answered a create without a message id; not retried", w->shown);
            not_sent(l, "no message id in its answer");
        }
        json_decref(doc);
        return;
    }
    if (res->status == 429) {
        /* seconds in both: the body's as API v10 defines it (every Discord URL names v10, conf.c), the header's as
         * HTTP does */
        double wait = json_number(res->body, res->body_len, "retry_after");
        if (isnan(wait) || res->retry_after_s > wait)
            wait = res->retry_after_s;
        ++s->stats.rate_limited;
        retry_or_give_up(l, now, rate_wait_ms(wait, 1000, w, "a 429"), "rate limited (429)");
        return;
    }
    if (res->status == 404 && !creating && json_number(res->body, res->body_len, "code") == 10008) {
        /* the message was deleted in Discord: the incident goes on in a new one */
        log_warn("alerts: the message of %s's incident on %s is gone; creating a new one",
                 s->conf->clusters[a->cluster].name, w->shown);
        l->incident.message[0] = '\0';
        return;
    }
    ++s->stats.failed;
    if (res->status == 401 || res->status == 403 || res->status == 404) {
        l->disabled = 1;
        log_warn("alerts: %s answered %ld: that webhook is not used again until this replica restarts; check "
                 "GLANCE_ALERT_WEBHOOKS", w->shown, res->status);
        snprintf(what, sizeof(what), "it answered %ld", res->status);
        not_sent(l, what);
    } else if (res->status >= 400 && res->status < 500) {
        log_warn("alerts: %s refused an alert (%ld: %.*s); not retried", w->shown, res->status,
                 (int)(res->body_len > 200 ? 200 : res->body_len), res->body);
        snprintf(what, sizeof(what), "it answered %ld", res->status);
        not_sent(l, what);
    } else {
        uint64_t backoff = 1000ull << (l->attempts < 6 ? l->attempts : 6);
        ++l->attempts;
        if (res->error != NULL)
            snprintf(what, sizeof(what), "%s", res->error);
        else
            snprintf(what, sizeof(what), "it answered %ld", res->status);
        retry_or_give_up(l, now, backoff > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff, what);
    }
}

static void on_http(void *data, const struct http_response *res)
{
    handle_http(data, res);
    run_lane(data);
}

/* Sends the alert at the front to the lane's webhook, or settles it when there is nothing to send there. */
static void send_alert(struct lane *l)
{
    struct alert_sender *s = l->s;
    const struct alert *a = &l->alert;
    const struct conf_webhook *w = l->w;
    const char *message = l->incident.message;
    char url[1200], path[64];
    const char *method = "POST";
    char *body;

    if (l->disabled) {
        not_sent(l, "given up on after a 401, 403 or 404");
        return;
    }
    if (!l->tried && now_ms(s) >= (uint64_t)a->at_ms + (uint64_t)s->conf->alert_give_up_s * 1000) {
        /* its webhook's turn came too late (a webhook added back with its old group, a lock handed over after the
         * dead sender's retries): as stale as one retried that long */
        char why[96];
        snprintf(why, sizeof(why), "older than GLANCE_ALERT_GIVE_UP (%u s) when this webhook's turn came",
                 s->conf->alert_give_up_s);
        ++s->stats.given_up;
        not_sent(l, why);
        return;
    }
    if (!w->json && !a->gateway && a->condition == CONDITION_OPERATIONAL && !a->flapping && message[0] == '\0') {
        not_sent(l, "nothing to resolve: the outage was not posted there");
        return;
    }
    if (w->json) {
        snprintf(url, sizeof(url), "%s", w->url);
        body = json_body(s->conf, a);
    } else if (a->gateway) {
        webhook_url(w->url, "", "", url, sizeof(url));
        body = discord_gateway_body(s->conf, a);
    } else if (message[0] != '\0') {
        method = "PATCH";
        snprintf(path, sizeof(path), "/messages/%s", message);
        webhook_url(w->url, path, "", url, sizeof(url));
        body = discord_body(s->conf, a, l->incident.started_ms, 1);
    } else {
        webhook_url(w->url, "", "wait=true", url, sizeof(url));
        body = discord_body(s->conf, a, l->incident.started_ms, 0);
    }
    l->busy = 1;
    l->tried = 1;
    if (http_client_request(s->http, method, url, body, strlen(body), s->replica_header, s->conf->alert_timeout_ms,
                            on_http, l) != 0) {
        l->busy = 0;
        l->not_before = now_ms(s) + 1000;
    }
    free(body);
}

/* The webhook answered (or was given up on): record what became of the alert there, and that this webhook is done
 * with it (ending its incident on a recovery), then ack. */
static void finish(struct lane *l)
{
    struct alert_sender *s = l->s;
    const struct alert *a = &l->alert;
    const char *key = store_incident_key(s->store, a->cluster);

    /* what GET /api/alerts says of it (a capped stream, as the alerts are) */
    store_alert_outcome(s->store, a->id, l->w->id, l->why[0] != '\0' ? l->why : NULL, ignore, l);
    l->busy = 1;
    if (a->condition == CONDITION_OPERATIONAL && !a->flapping) {
        /* a new incident starts from nothing; `last` keeps an older alert claimed late from reopening this one */
        if (command(s, ignore, l, 4, (const char *[]){"HDEL", key, l->msg_field, l->started_field}) != 0 ||
            command(s, on_done, l, 4, (const char *[]){"HSET", key, l->last_field, a->id}) != 0)
            l->busy = 0;
    } else if (command(s, on_done, l, 4, (const char *[]){"HSET", key, l->last_field, a->id}) != 0) {
        l->busy = 0;
    }
}

static void deliver(struct lane *l, uint64_t now)
{
    const struct alert *a = &l->alert;
    const char *key = store_incident_key(l->s->store, a->cluster);

    switch (l->step) {
    case STEP_LOAD:
        l->busy = 1;
        if (command(l->s, on_incident, l, 7, (const char *[]){"HMGET", key, l->msg_field, l->started_field,
                                                              l->last_field, "started", "last"}) != 0)
            l->busy = 0;
        break;
    case STEP_SEND:
        if (l->incident.last[0] != '\0' && !parse_stream_id_after(a->id, l->incident.last))
            l->step = STEP_ACK; /* delivered already (a claimed copy, or one older than the last) */
        else if (now >= l->not_before)
            send_alert(l);
        break;
    case STEP_FINISH:
        finish(l);
        break;
    case STEP_ACK:
        l->busy = 1;
        if (command(l->s, on_done, l, 4, (const char *[]){"XACK", store_alerts_key(l->s->store), l->group, a->id}) != 0)
            l->busy = 0;
        break;
    }
}

static void run_lane(struct lane *l)
{
    struct alert_sender *s = l->s;
    uint64_t now = now_ms(s);
    char idle[24];

    if (l->busy)
        return;
    /* without the lock: what this lane was answered is still recorded and acknowledged (sending it again would make
     * a duplicate); anything else stays pending for whoever holds the lock now, to claim */
    if (!holding(s) && l->has_alert && l->step != STEP_FINISH && l->step != STEP_ACK)
        lane_reset(l);
    if (now < l->not_before)
        return;
    if (l->unsaved.active) {
        write_unsaved(l); /* holding the lock or not */
        return;
    }
    if (!l->has_alert) {
        if (!holding(s) || !s->groups_ready || now < l->next_read)
            return;
        l->next_read = now + READ_EVERY_MS;
        /* idle for longer than a sender that lost its lock can still be sending it: it starts no request once its
         * lock may have run out (LOCK_MS after its last renewal, which also renewed this claim), and a request
         * started before then ends within the timeout */
        snprintf(idle, sizeof(idle), "%u", LOCK_MS + s->conf->alert_timeout_ms);
        /* first what a sender that died left pending (on_read then asks for what is new) */
        l->busy = l->claiming = 1;
        if (command(s, on_read, l, 8, (const char *[]){"XAUTOCLAIM", store_alerts_key(s->store), l->group, s->consumer,
                                                       idle, "0-0", "COUNT", "1"}) != 0)
            l->busy = l->claiming = 0;
        return;
    }
    /* steps that finish without a call (nothing to send there) go on at once */
    for (int steps = 0; steps < 8 && !l->busy && l->has_alert && now >= l->not_before; ++steps) {
        enum step step = l->step;
        deliver(l, now);
        if (l->step == step && l->has_alert)
            break;
    }
}

static void run(struct alert_sender *s)
{
    uint64_t now = now_ms(s);

    holding(s);
    if (!store_ready(s->store))
        return;
    if (!s->lock_inflight && now >= s->next_lock) {
        s->next_lock = now + LOCK_RENEW_MS;
        s->lock_inflight = 1;
        s->lock_asked = now;
        if (store_alert_lock(s->store, s->consumer, LOCK_MS, on_lock, s) != 0)
            s->lock_inflight = 0;
        /* the alerts being delivered stay ours: renew them, so that no one claims them while they wait */
        for (size_t w = 0; s->holding && w < s->conf->num_webhooks; ++w)
            if (s->lanes[w].has_alert)
                command(s, ignore, s, 7, (const char *[]){"XCLAIM", store_alerts_key(s->store), s->lanes[w].group,
                                                         s->consumer, "0", s->lanes[w].alert.id, "JUSTID"});
    }
    if (holding(s) && !s->groups_ready && !s->groups_inflight) {
        const char *groups[CONF_MAX_LANES];
        for (size_t w = 0; w < s->conf->num_webhooks; ++w)
            groups[w] = s->lanes[w].group;
        s->groups_inflight = 1;
        if (store_alert_groups(s->store, groups, s->conf->num_webhooks, on_groups, s) != 0)
            s->groups_inflight = 0;
    }
    for (size_t w = 0; w < s->conf->num_webhooks; ++w)
        run_lane(&s->lanes[w]);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct alert_sender *s = H2O_STRUCT_FROM_MEMBER(struct alert_sender, tick, entry);

    h2o_timeout_link(s->loop, &s->interval, &s->tick);
    run(s);
}

struct alert_sender *alert_sender_new(h2o_loop_t *loop, const struct conf *conf, struct store *store)
{
    struct alert_sender *s = calloc(1, sizeof(*s));

    if (s == NULL)
        h2o_fatal("out of memory");
    s->loop = loop;
    s->conf = conf;
    s->store = store;
    snprintf(s->consumer, sizeof(s->consumer), "%s-%d", conf->replica, (int)getpid());
    snprintf(s->replica_header, sizeof(s->replica_header), "x-glance-replica: %s", conf->replica);
    for (size_t w = 0; w < conf->num_webhooks; ++w) {
        struct lane *l = &s->lanes[w];
        l->s = s;
        l->w = &conf->webhooks[w];
        snprintf(l->group, sizeof(l->group), GROUP_PREFIX "%s", l->w->id);
        snprintf(l->msg_field, sizeof(l->msg_field), "msg:%s", l->w->id);
        snprintf(l->started_field, sizeof(l->started_field), "started:%s", l->w->id);
        snprintf(l->last_field, sizeof(l->last_field), "last:%s", l->w->id);
    }
    h2o_timeout_init(loop, &s->interval, TICK_MS);
    s->tick.cb = on_tick;
    if (conf->num_webhooks != 0) {
        s->http = http_client_new(loop);
        h2o_timeout_link(loop, &s->interval, &s->tick);
    }
    return s;
}

void alert_sender_free(struct alert_sender *s)
{
    if (s->http != NULL)
        http_client_free(s->http);
    if (h2o_timeout_is_linked(&s->tick))
        h2o_timeout_unlink(&s->tick);
    h2o_timeout_dispose(s->loop, &s->interval);
    free(s);
}

void alert_sender_stats(struct alert_sender *s, struct alert_sender_stats *out)
{
    *out = s->stats;
    out->disabled = 0;
    for (size_t w = 0; w < s->conf->num_webhooks; ++w)
        out->disabled += (uint64_t)s->lanes[w].disabled;
}
