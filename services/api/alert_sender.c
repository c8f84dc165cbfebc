/* alert_sender.c -- the alerts stream to webhooks, by one replica at a time.
 *
 * The replica that holds the lock (alert_lock.lua, renewed every LOCK_RENEW_MS, held for LOCK_MS) reads
 * glance:alerts as the consumer group "glance-alerts" and delivers the alerts one at a time, in order, so a
 * cluster's incident is created before it is edited. Per cluster, <prefix>:{<cluster>}:incident remembers each
 * webhook's message id, when the incident started and the last alert delivered, so a Redis restart (with its
 * data) or a new sender edits the same message. An alert is acknowledged (XACK) only once every webhook answered
 * it or was given up on. What a sender that died left pending is claimed (XAUTOCLAIM) once idle for LOCK_MS +
 * GLANCE_ALERT_TIMEOUT_MS; the sender renews its own pending alert with each renewal of the lock, so it is not taken
 * from it. The lock's time is its own, not the HTTP timeout's: a new sender takes over new alerts within LOCK_MS of
 * the last one's death, and only the alert that was in flight waits until its request surely ended.
 *
 * What can still go twice: a sender that dies after Discord created a message but before the message id is
 * written to Redis (one Redis round trip) leaves an alert that the next sender creates again; a create answered
 * late or with a 5xx after Discord stored it is made again. An id Redis refuses is written again before anything
 * else (unsaved_message). What can be lost:
 * nothing acknowledged; an alert whose webhooks are all given up on (401, 403, 404) is acknowledged as failed. */
#include "alert_sender.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "condition.h"
#include "http_client.h"
#include "log.h"

#define TICK_MS 250
#define READ_EVERY_MS 1000
#define QUEUE_MAX 16
#define BACKOFF_MAX_MS 60000
/* The longest wait any one answer can impose (a 429's retry_after or Retry-After, X-RateLimit-Reset-After): a
 * value past it, or one that is not a number at all, is a webhook's mistake, and obeying it would stop the alerts
 * it holds up (1e9 s: until a restart; 1e300 s overflowed into no wait at all). */
#define RATE_WAIT_MAX_MS 60000
#define GROUP "glance-alerts"
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
};

/* The incident of the alert being delivered, as read from Redis before its first webhook. */
struct incident {
    int64_t started_ms;
    char last[48];
    char message[CONF_MAX_WEBHOOKS][32]; /* Discord message id per webhook; "" when none */
};

/* A message id Discord gave that Redis has not taken yet. Kept apart from the queue, so that it is written even when
 * the lock is lost meanwhile (the next sender must find it, or it makes a second message and never resolves the
 * first), and retried before anything else. */
struct unsaved_message {
    int active;
    size_t cluster;
    size_t webhook;
    char alert_id[48]; /* the alert whose create it was: its delivery goes on once the id is saved */
    char field[32];    /* msg:<webhook id> */
    char id[32];
    char started[24];
    int warned;
};

struct webhook_state {
    int disabled;
    uint64_t not_before; /* the loop's clock: a 429 or an exhausted bucket says wait */
};

enum step { STEP_LOAD, STEP_SEND, STEP_FINISH, STEP_ACK };

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
    int group_ready;
    int busy;      /* a Redis call or an HTTP request of the delivery is in flight */
    int claiming;  /* the read in flight is the XAUTOCLAIM that goes before reading what is new */
    int lock_inflight;
    uint64_t next_lock, next_read;
    struct alert queue[QUEUE_MAX];
    size_t queued;
    enum step step;
    size_t webhook;    /* the one being sent to */
    unsigned attempts; /* of the current webhook, for the backoff */
    uint64_t not_before;
    struct incident incident;
    struct unsaved_message unsaved;
    char outcome[256]; /* what went wrong with the alert being delivered, for GET /api/alerts; "" so far */
    struct webhook_state webhooks[CONF_MAX_WEBHOOKS];
    struct alert_sender_stats stats;
};

static uint64_t now_ms(struct alert_sender *s)
{
    return h2o_now(s->loop);
}

/* The next step, at once: a delivery is a chain of Redis calls and HTTP requests, each started by the answer
 * to the one before rather than by the next tick. */
static void run(struct alert_sender *s);

/* ------------------------------------------------------------------------------------------------ Redis */

static int command(struct alert_sender *s, store_reply_cb cb, int argc, const char **argv)
{
    size_t lens[12];

    for (int i = 0; i < argc; ++i)
        lens[i] = strlen(argv[i]);
    return store_command(s->store, argc, argv, lens, cb, s);
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

/* Adds the entries of an XREADGROUP/XAUTOCLAIM entry list to the queue. */
static void queue_entries(struct alert_sender *s, const redisReply *list)
{
    for (size_t i = 0; list != NULL && list->type == REDIS_REPLY_ARRAY && i < list->elements && s->queued < QUEUE_MAX; ++i) {
        const redisReply *e = list->element[i], *f;
        struct alert a = {0};
        ssize_t cluster = -1;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || (f = e->element[1])->type != REDIS_REPLY_ARRAY)
            continue; /* an entry trimmed away while pending comes back without fields */
        snprintf(a.id, sizeof(a.id), "%s", str_of(e->element[0]));
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const char *name = str_of(f->element[k]), *v = str_of(f->element[k + 1]);
            if (strcmp(name, "cluster") == 0) {
                for (size_t c = 0; c < s->conf->num_clusters; ++c)
                    if (strcmp(s->conf->clusters[c].name, v) == 0)
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
            }
        }
        if (cluster < 0) {
            log_warn("alerts: %s is about a cluster this replica does not know; acknowledged unsent", a.id);
            command(s, ignore, 4, (const char *[]){"XACK", store_alerts_key(s->store), GROUP, a.id});
            continue;
        }
        a.cluster = (size_t)cluster;
        a.at_ms = atoll(a.id);
        s->queue[s->queued++] = a;
    }
}

static void pop_alert(struct alert_sender *s)
{
    memmove(&s->queue[0], &s->queue[1], sizeof(s->queue[0]) * (s->queued - 1));
    --s->queued;
    s->step = STEP_LOAD;
    s->webhook = 0;
    s->attempts = 0;
    s->outcome[0] = '\0';
}

/* Notes for GET /api/alerts that the current webhook did not take the alert. */
static void note_failure(struct alert_sender *s, const char *what)
{
    size_t n = strlen(s->outcome);

    snprintf(s->outcome + n, sizeof(s->outcome) - n, "%s%s %s", n == 0 ? "not sent to " : "; ",
             s->conf->webhooks[s->webhook].shown, what);
}

static void on_done(void *data, const redisReply *reply, const char *err)
{
    struct alert_sender *s = data;

    s->busy = 0;
    if (err != NULL) {
        log_warn("alerts: redis: %s", err);
        s->not_before = now_ms(s) + 1000;
        return;
    }
    if (s->step == STEP_FINISH) {
        s->step = STEP_ACK;
    } else if (s->step == STEP_ACK) {
        pop_alert(s);
    }
    run(s);
}

static void on_read(void *data, const redisReply *reply, const char *err)
{
    struct alert_sender *s = data;

    s->busy = 0;
    if (err != NULL) {
        if (strncmp(err, "NOGROUP", 7) == 0)
            s->group_ready = 0; /* the stream was deleted (a flushed Redis): create the group again */
        return;
    }
    /* XREADGROUP: [[stream, entries]]; XAUTOCLAIM: [next, entries, deleted] */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_ARRAY &&
        reply->element[0]->elements == 2)
        queue_entries(s, reply->element[0]->element[1]);
    else if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2)
        queue_entries(s, reply->element[1]);
    if (s->claiming && s->queued == 0) {
        s->claiming = 0;
        s->busy = 1;
        if (command(s, on_read, 9, (const char *[]){"XREADGROUP", "GROUP", GROUP, s->consumer, "COUNT", "16", "STREAMS",
                                                    store_alerts_key(s->store), ">"}) != 0)
            s->busy = 0;
        return;
    }
    run(s);
}

static void on_group(void *data, const redisReply *reply, const char *err)
{
    struct alert_sender *s = data;

    s->busy = 0;
    if (err == NULL || strncmp(err, "BUSYGROUP", 9) == 0)
        s->group_ready = 1;
    else
        log_warn("alerts: cannot create the consumer group: %s", err);
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
    struct alert_sender *s = data;
    struct incident *in = &s->incident;

    s->busy = 0;
    if (err != NULL || reply->type != REDIS_REPLY_ARRAY) {
        s->not_before = now_ms(s) + 1000;
        return;
    }
    memset(in, 0, sizeof(*in));
    for (size_t k = 0; k + 1 < reply->elements; k += 2) {
        const char *name = str_of(reply->element[k]), *v = str_of(reply->element[k + 1]);
        if (strcmp(name, "started") == 0)
            in->started_ms = atoll(v);
        else if (strcmp(name, "last") == 0)
            snprintf(in->last, sizeof(in->last), "%s", v);
        for (size_t w = 0; w < s->conf->num_webhooks; ++w)
            if (strncmp(name, "msg:", 4) == 0 && strcmp(name + 4, s->conf->webhooks[w].id) == 0)
                snprintf(in->message[w], sizeof(in->message[w]), "%s", v);
    }
    s->step = STEP_SEND;
    run(s);
}

/* Stream ids "ms-seq": 1 when a is after b. */
static int id_after(const char *a, const char *b)
{
    unsigned long long am = strtoull(a, NULL, 10), bm = strtoull(b, NULL, 10);
    const char *ad = strchr(a, '-'), *bd = strchr(b, '-');

    if (am != bm)
        return am > bm;
    return (ad != NULL ? strtoull(ad + 1, NULL, 10) : 0) > (bd != NULL ? strtoull(bd + 1, NULL, 10) : 0);
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

/* The Discord message for alert `a` (an edit when `edit`); a JSON string to free. */
static char *discord_body(struct alert_sender *s, const struct alert *a, int edit)
{
    const char *name = s->conf->clusters[a->cluster].name;
    char title[160], text[512], when[32], took[48];
    int64_t started = s->incident.started_ms != 0 ? s->incident.started_ms : a->since_ms;
    json_t *mentions, *body;
    char *out;

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
    iso_time(a->since_ms, when, sizeof(when));
    mentions = json_pack("{s:[]}", "parse");
    if (s->conf->alert_role[0] != '\0')
        json_object_set_new(mentions, "roles", json_pack("[s]", s->conf->alert_role));
    body = json_pack("{s:[{s:s,s:s,s:I,s:s}],s:o}", "embeds", "title", title, "description", text, "color",
                     (json_int_t)colours[a->condition >= 0 && a->condition <= CONDITION_MAX ? a->condition : 0],
                     "timestamp", when, "allowed_mentions", mentions);
    if (!edit && !a->flapping && s->conf->alert_role[0] != '\0') {
        char content[40];
        snprintf(content, sizeof(content), "<@&%s>", s->conf->alert_role);
        json_object_set_new(body, "content", json_string(content));
    }
    out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return out;
}

static char *json_body(struct alert_sender *s, const struct alert *a)
{
    char text[256];
    json_t *body;
    char *out;

    snprintf(text, sizeof(text), "%s: %s (%u down, %u busy of %u shards)", s->conf->clusters[a->cluster].name,
             a->condition == CONDITION_OPERATIONAL ? "resolved" : condition_name(a->condition), a->down, a->busy, a->total);
    body = json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:i,s:i,s:b,s:i,s:s}", "cluster", s->conf->clusters[a->cluster].name,
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

static void next_webhook(struct alert_sender *s)
{
    ++s->webhook;
    s->attempts = 0;
}

static void write_unsaved(struct alert_sender *s);

static void on_saved(void *data, const redisReply *reply, const char *err)
{
    struct alert_sender *s = data;
    struct unsaved_message *u = &s->unsaved;

    (void)reply;
    s->busy = 0;
    if (err != NULL) {
        /* the message exists but Redis did not take its id (a failover, OOM, an ACL): nothing else happens until
         * it does */
        if (!u->warned++)
            log_warn("alerts: cannot save message %s of %s's incident (%s); trying again every second", u->id,
                     s->conf->clusters[u->cluster].name, err);
        s->not_before = now_ms(s) + 1000;
        return;
    }
    u->active = 0;
    if (s->queued != 0 && s->step == STEP_SEND && s->webhook == u->webhook && strcmp(s->queue[0].id, u->alert_id) == 0)
        next_webhook(s);
    run(s);
}

static void write_unsaved(struct alert_sender *s)
{
    const struct unsaved_message *u = &s->unsaved;

    s->busy = 1;
    if (command(s, on_saved, 6, (const char *[]){"HSET", store_incident_key(s->store, u->cluster), u->field, u->id,
                                                 "started", u->started}) != 0) {
        s->busy = 0;
        s->not_before = now_ms(s) + 1000;
    }
}

/* Discord created a message for the current webhook: remember its id (and the incident's start) before going on. */
static void save_message(struct alert_sender *s, const char *id)
{
    const struct alert *a = &s->queue[0];
    struct unsaved_message *u = &s->unsaved;

    snprintf(s->incident.message[s->webhook], sizeof(s->incident.message[0]), "%s", id);
    if (s->incident.started_ms == 0)
        s->incident.started_ms = a->since_ms;
    u->active = 1;
    u->warned = 0;
    u->cluster = a->cluster;
    u->webhook = s->webhook;
    snprintf(u->alert_id, sizeof(u->alert_id), "%s", a->id);
    snprintf(u->field, sizeof(u->field), "msg:%s", s->conf->webhooks[s->webhook].id);
    snprintf(u->id, sizeof(u->id), "%s", id);
    snprintf(u->started, sizeof(u->started), "%lld", (long long)s->incident.started_ms);
    write_unsaved(s);
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

static void handle_http(void *data, const struct http_response *res)
{
    struct alert_sender *s = data;
    const struct conf_webhook *w = &s->conf->webhooks[s->webhook];
    struct webhook_state *ws = &s->webhooks[s->webhook];
    const struct alert *a = &s->queue[0];
    uint64_t now = now_ms(s);
    int creating = !w->json && s->incident.message[s->webhook][0] == '\0';

    s->busy = 0;
    if (res->ratelimit_remaining == 0 && res->ratelimit_reset_after_s > 0)
        ws->not_before = now + rate_wait_ms(res->ratelimit_reset_after_s, 0, w, "X-RateLimit-Reset-After");
    if (res->status >= 200 && res->status < 300) {
        json_t *doc, *id;
        if (w->json || !creating) {
            w->json ? ++s->stats.sent : ++s->stats.edited;
            next_webhook(s);
            return;
        }
        doc = json_loadb(res->body, res->body_len, 0, NULL);
        id = json_object_get(doc, "id");
        if (json_is_string(id)) {
            ++s->stats.sent;
            log_info("alerts: %s: %s, message %s created on %s", s->conf->clusters[a->cluster].name,
                     condition_name(a->condition), json_string_value(id), w->shown);
            save_message(s, json_string_value(id));
        } else {
            ++s->stats.failed;
            log_warn("alerts: %s answered a create without a message id; not retried", w->shown);
            note_failure(s, "(no message id in its answer)");
            next_webhook(s);
        }
        json_decref(doc);
        return;
    }
    if (res->status == 429) {
        /* seconds in both: the body's as API v10 defines it (every Discord URL names v10, conf.c), the header's as
         * HTTP does */
        double wait = json_number(res->body, res->body_len, "retry_after");
        uint64_t wait_ms;
        if (isnan(wait) || res->retry_after_s > wait)
            wait = res->retry_after_s;
        wait_ms = rate_wait_ms(wait, 1000, w, "a 429");
        ++s->stats.rate_limited;
        ws->not_before = now + wait_ms;
        log_warn("alerts: %s is rate limited; retrying in %.3f s", w->shown, (double)wait_ms / 1000);
        return;
    }
    if (res->status == 404 && !creating && json_number(res->body, res->body_len, "code") == 10008) {
        /* the message was deleted in Discord: the incident goes on in a new one */
        log_warn("alerts: the message of %s's incident on %s is gone; creating a new one",
                 s->conf->clusters[a->cluster].name, w->shown);
        s->incident.message[s->webhook][0] = '\0';
        return;
    }
    ++s->stats.failed;
    if (res->status >= 400 && res->status < 500) {
        char what[48];
        snprintf(what, sizeof(what), "(it answered %ld)", res->status);
        note_failure(s, what);
    }
    if (res->status == 401 || res->status == 403 || res->status == 404) {
        ws->disabled = 1;
        ++s->stats.disabled;
        log_warn("alerts: %s answered %ld: that webhook is not used again until this replica restarts; check "
                 "GLANCE_ALERT_WEBHOOKS", w->shown, res->status);
        next_webhook(s);
    } else if (res->status >= 400 && res->status < 500) {
        log_warn("alerts: %s refused an alert (%ld: %.*s); not retried", w->shown, res->status,
                 (int)(res->body_len > 200 ? 200 : res->body_len), res->body);
        next_webhook(s);
    } else {
        uint64_t backoff = 1000ull << (s->attempts < 6 ? s->attempts : 6);
        ++s->attempts;
        ws->not_before = now + (backoff > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff);
        log_warn("alerts: %s: %s; retrying in %llu ms", w->shown, res->error != NULL ? res->error : "a server error",
                 (unsigned long long)(ws->not_before - now));
    }
}

static void on_http(void *data, const struct http_response *res)
{
    handle_http(data, res);
    run(data);
}

/* Sends the current alert to the current webhook, or moves on when there is nothing to send there. */
static void send_to_webhook(struct alert_sender *s)
{
    const struct alert *a = &s->queue[0];
    const struct conf_webhook *w = &s->conf->webhooks[s->webhook];
    const char *message = s->incident.message[s->webhook];
    char url[1200], path[64];
    const char *method = "POST";
    char *body;

    if (s->webhooks[s->webhook].disabled) {
        note_failure(s, "(given up on after a 401, 403 or 404)");
        next_webhook(s);
        return;
    }
    if (!w->json && a->condition == CONDITION_OPERATIONAL && !a->flapping && message[0] == '\0') {
        next_webhook(s); /* nothing to resolve there: the outage was never posted to it */
        return;
    }
    if (w->json) {
        snprintf(url, sizeof(url), "%s", w->url);
        body = json_body(s, a);
    } else if (message[0] != '\0') {
        method = "PATCH";
        snprintf(path, sizeof(path), "/messages/%s", message);
        webhook_url(w->url, path, "", url, sizeof(url));
        body = discord_body(s, a, 1);
    } else {
        webhook_url(w->url, "", "wait=true", url, sizeof(url));
        body = discord_body(s, a, 0);
    }
    s->busy = 1;
    if (http_client_request(s->http, method, url, body, strlen(body), s->replica_header, s->conf->alert_timeout_ms,
                            on_http, s) != 0) {
        s->busy = 0;
        s->not_before = now_ms(s) + 1000;
    }
    free(body);
}

/* Every webhook answered: remember the alert as delivered (and end the incident on a recovery), then ack. */
static void finish(struct alert_sender *s)
{
    const struct alert *a = &s->queue[0];
    const char *key = store_incident_key(s->store, a->cluster);

    /* what GET /api/alerts says of it (a capped stream, as the alerts are) */
    store_alert_outcome(s->store, a->id, s->outcome[0] != '\0' ? s->outcome : "sent", ignore, s);
    s->busy = 1;
    if (a->condition == CONDITION_OPERATIONAL && !a->flapping) {
        /* a new incident starts from nothing; `last` keeps an older alert claimed late from reopening this one */
        if (command(s, ignore, 2, (const char *[]){"DEL", key}) != 0 ||
            command(s, on_done, 4, (const char *[]){"HSET", key, "last", a->id}) != 0)
            s->busy = 0;
    } else if (command(s, on_done, 4, (const char *[]){"HSET", key, "last", a->id}) != 0) {
        s->busy = 0;
    }
}

static void deliver(struct alert_sender *s, uint64_t now)
{
    const struct alert *a = &s->queue[0];

    switch (s->step) {
    case STEP_LOAD:
        s->busy = 1;
        if (command(s, on_incident, 2, (const char *[]){"HGETALL", store_incident_key(s->store, a->cluster)}) != 0)
            s->busy = 0;
        break;
    case STEP_SEND:
        if (s->incident.last[0] != '\0' && !id_after(a->id, s->incident.last)) {
            s->step = STEP_ACK; /* delivered already (a claimed copy, or one older than the last) */
        } else if (s->webhook >= s->conf->num_webhooks) {
            s->step = STEP_FINISH;
        } else if (now >= s->webhooks[s->webhook].not_before) {
            send_to_webhook(s);
        }
        break;
    case STEP_FINISH:
        finish(s);
        break;
    case STEP_ACK:
        s->busy = 1;
        if (command(s, on_done, 4, (const char *[]){"XACK", store_alerts_key(s->store), GROUP, a->id}) != 0)
            s->busy = 0;
        break;
    }
}

static void run(struct alert_sender *s)
{
    uint64_t now = now_ms(s);
    char idle[24];

    if (s->holding && now >= s->held_until) {
        /* renewals went unanswered for the lock's whole time: another replica may hold it now */
        log_info("alerts: this replica stopped sending alerts (its lock was not renewed in %d ms)", LOCK_MS);
        s->holding = 0;
    }
    if (!store_ready(s->store))
        return;
    if (!s->lock_inflight && now >= s->next_lock) {
        s->next_lock = now + LOCK_RENEW_MS;
        s->lock_inflight = 1;
        s->lock_asked = now;
        if (store_alert_lock(s->store, s->consumer, LOCK_MS, on_lock, s) != 0)
            s->lock_inflight = 0;
        /* the alert being delivered stays ours: renew it, so that no one claims it while it waits */
        if (s->holding && s->queued != 0)
            command(s, ignore, 7, (const char *[]){"XCLAIM", store_alerts_key(s->store), GROUP, s->consumer, "0",
                                                 s->queue[0].id, "JUSTID"});
    }
    if (s->busy || now < s->not_before)
        return;
    if (s->unsaved.active) {
        write_unsaved(s); /* holding the lock or not */
        return;
    }
    if (!s->holding) {
        s->queued = 0; /* another replica sends: what we read stays pending and is claimed by it */
        s->step = STEP_LOAD;
        return;
    }
    if (!s->group_ready) {
        /* from the stream's start, not its end ($): when Redis lost its data, the alerts written since (by any
         * replica, before this one noticed) are already in the new stream, and each must still be delivered */
        s->busy = 1;
        if (command(s, on_group, 6, (const char *[]){"XGROUP", "CREATE", store_alerts_key(s->store), GROUP, "0", "MKSTREAM"}) != 0)
            s->busy = 0;
        return;
    }
    if (s->queued == 0) {
        if (now < s->next_read)
            return;
        s->next_read = now + READ_EVERY_MS;
        /* idle for longer than a sender that lost its lock can still be sending it: it starts no request once its
         * lock may have run out (LOCK_MS after its last renewal, which also renewed this claim), and a request
         * started before then ends within the timeout */
        snprintf(idle, sizeof(idle), "%u", LOCK_MS + s->conf->alert_timeout_ms);
        /* first what a sender that died left pending (on_read then asks for what is new) */
        s->busy = s->claiming = 1;
        if (command(s, on_read, 8, (const char *[]){"XAUTOCLAIM", store_alerts_key(s->store), GROUP, s->consumer, idle,
                                                    "0-0", "COUNT", "16"}) != 0)
            s->busy = s->claiming = 0;
        return;
    }
    /* steps that finish without a call (a webhook with nothing to send) go on at once */
    for (int steps = 0; steps < 2 * CONF_MAX_WEBHOOKS + 4 && !s->busy && s->queued != 0 && now >= s->not_before; ++steps) {
        enum step step = s->step;
        size_t webhook = s->webhook, queued = s->queued;
        deliver(s, now);
        if (s->step == step && s->webhook == webhook && s->queued == queued)
            break;
    }
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
}
