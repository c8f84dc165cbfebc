/* subscriber_sender.c -- the notify stream to the subscribers' webhooks, by one replica at a time (see the header).
 *
 * The replica that holds <prefix>:notify:sender (renewed every LOCK_RENEW_MS, held LOCK_MS) reads the stream as the
 * consumer group "glance-notify", a few entries at once. For each it asks notify.lua to plan the entry's queue once,
 * then claims the subscribers due, a lease ahead (so that a dead sender's come due again for the next), posts each
 * its message, and tells notify.lua how each went: done, again at a time (429: when Discord says; 5xx or no answer:
 * a backoff), or gone. An entry whose queue is empty is acknowledged. Entries a dead sender held are claimed
 * (XAUTOCLAIM) once idle longer than a lease. A shard entry tells each server of its own shard: the episode's first
 * notice is posted and its message id kept in the subscription's record, the later ones edit that message. */
#include "alerts/subscriber_sender.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/log.h"
#include "base/parse.h"

#define TICK_MS 100
#define IDLE_READ_MS 1000   /* how often the sender looks for a new entry when it has none */
#define LOCK_RENEW_MS 1000
#define LOCK_MS 3000
#define SLOTS 64            /* entries held at once: most only waiting for a few retries */
#define UNSETTLED_MAX 4     /* entries in their first round at once: a new one is read only below this */
#define IN_FLIGHT_MAX 32    /* posts in flight at once */
#define SUBSCRIBER_TRIES 8  /* failed tries (5xx, no answer) after which a delivery is given up */
#define GROUP "glance-notify"
#define AUTOCLAIM_EVERY_MS 5000
/* Asleep, a replica asks Redis whether there is anything to send this often (one small script): the one cost of
 * subscriptions while nothing happens, and the longest an incident waits before its first message goes out. */
#define POLL_MS 2000
/* A sender with nothing to do for this long stops renewing its lock and goes back to asking. */
#define IDLE_LOCK_MS 10000
#define REMIND_EVERY_MS 30000

struct entry {
    struct subscriber_sender *s;
    int used;
    char id[48];
    char kind[16], event[16], title[256], status[32], text[4096], impact[16];
    char *clusters;          /* comma-separated; as long as the entry has it */
    struct subscriber_shard_notice *shards; /* a "shard" entry's notices, by shard id (its cluster in `clusters`) */
    size_t num_shards;
    int64_t starts_ms, ends_ms;
    int planned, busy;       /* planned: its queue exists; busy: a plan, claim or finish of it in flight */
    int settled;             /* once told to every subscriber that answered at once: the next entry may start */
    size_t claimed;          /* how many the claim in flight asked for */
    size_t in_flight;        /* its posts in flight */
    uint64_t next_claim;     /* the loop's clock */
};

struct delivery {
    h2o_linklist_t link; /* a shard notice's, while in flight: in the sender's shard_posts */
    struct subscriber_sender *s;
    struct entry *e;
    char sub[24];
    int shard_notice;          /* a shard episode's notice */
    char episode[24], at[24];  /* the episode's first fall and this notice's since (ms) */
    char message[24];          /* the episode's message this notice edits; "" to post one */
};

struct subscriber_sender {
    h2o_loop_t *loop;
    const struct conf *conf;
    struct store *store;
    struct subscriber_messages *messages;
    h2o_timeout_t interval;
    h2o_timeout_entry_t tick;
    char consumer[96];
    char lease_ms[16];
    int holding, lock_inflight;
    uint64_t held_until, lock_asked, next_lock;
    int awake, polling;       /* awake: there is work, so this replica asks for the lock; else it polls */
    uint64_t next_remind;     /* when to look for maintenance windows to remind of */
    char remind_json[48];
    uint64_t next_poll, busy_at; /* busy_at: when it last had an entry to deliver */
    int group_ready, group_inflight, reading;
    uint64_t next_read, next_autoclaim;
    struct entry entries[SLOTS];
    h2o_linklist_t shard_posts; /* the shard notices in flight: one at a time per subscription and cluster */
    size_t in_flight, claiming; /* posts in flight; deliveries asked for by claims not answered yet */
    double tokens;     /* the pace: deliveries it may start now */
    uint64_t paced_at; /* when tokens were last added */
    struct subscriber_sender_stats stats;
};

static uint64_t now_ms(struct subscriber_sender *s)
{
    return h2o_now(s->loop);
}

static void ignore(void *data, const redisReply *reply, const char *err)
{
    (void)data, (void)reply, (void)err;
}

static const char *str_of(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? r->str : "";
}

static int command(struct subscriber_sender *s, store_reply_cb cb, void *data, int argc, const char **argv)
{
    size_t lens[12];

    for (int i = 0; i < argc; ++i)
        lens[i] = strlen(argv[i]);
    return store_command(s->store, argc, argv, lens, cb, data);
}

static void pump(struct subscriber_sender *s);

/* ------------------------------------------------------------------------------------------------ entries */

static int by_shard(const void *a, const void *b)
{
    uint32_t x = ((const struct subscriber_shard_notice *)a)->shard, y = ((const struct subscriber_shard_notice *)b)->shard;

    return x < y ? -1 : x > y;
}

/* A "shard" entry's list (shard_notice.lua: "<id> <d|b> <first fall ms> <since ms> <falls>", comma-separated), parsed
 * once and sorted, so that each of its subscribers finds its shard's notice by a binary search. */
static void parse_shards(struct entry *e, const char *list)
{
    size_t cap = 1;

    for (const char *p = list; *p != '\0'; ++p)
        cap += *p == ',';
    free(e->shards);
    e->shards = h2o_mem_alloc(sizeof(*e->shards) * cap);
    e->num_shards = 0;
    for (const char *p = list; p != NULL && *p != '\0' && e->num_shards != cap;) {
        unsigned long id;
        long long first, at;
        unsigned falls;
        char ev;
        if (sscanf(p, "%lu %c %lld %lld %u", &id, &ev, &first, &at, &falls) == 5 && id <= UINT32_MAX)
            e->shards[e->num_shards++] = (struct subscriber_shard_notice){NULL, (uint32_t)id, ev == 'b', first, at, falls};
        p = strchr(p, ',');
        p = p != NULL ? p + 1 : NULL;
    }
    qsort(e->shards, e->num_shards, sizeof(*e->shards), by_shard);
}

/* Takes an XREADGROUP/XAUTOCLAIM entry list as entries to deliver. */
static void take_entries(struct subscriber_sender *s, const redisReply *list)
{
    for (size_t i = 0; list != NULL && list->type == REDIS_REPLY_ARRAY && i < list->elements; ++i) {
        const redisReply *e = list->element[i], *f;
        struct entry *slot = NULL;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || (f = e->element[1])->type != REDIS_REPLY_ARRAY)
            continue; /* trimmed away while pending */
        for (size_t k = 0; k != SLOTS; ++k) {
            if (s->entries[k].used && strcmp(s->entries[k].id, str_of(e->element[0])) == 0)
                slot = NULL, k = SLOTS - 1; /* had it already */
            else if (!s->entries[k].used && slot == NULL)
                slot = &s->entries[k];
        }
        if (slot == NULL)
            continue; /* no room: it stays pending, and comes again once idle */
        if ((long long)log_wall_ms() - atoll(str_of(e->element[0])) > (long long)s->conf->alert_give_up_s * 1000) {
            /* older than GLANCE_ALERT_GIVE_UP (written while subscriptions were off, or a backlog): news no more */
            command(s, ignore, NULL, 4, (const char *[]){"XACK", store_notify_key(s->store), GROUP, str_of(e->element[0])});
            continue;
        }
        memset(slot, 0, sizeof(*slot));
        slot->s = s;
        slot->used = 1;
        slot->clusters = strdup("");
        snprintf(slot->id, sizeof(slot->id), "%s", str_of(e->element[0]));
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const char *name = str_of(f->element[k]), *v = str_of(f->element[k + 1]);
            if (strcmp(name, "kind") == 0)
                snprintf(slot->kind, sizeof(slot->kind), "%s", v);
            else if (strcmp(name, "event") == 0)
                snprintf(slot->event, sizeof(slot->event), "%s", v);
            else if (strcmp(name, "title") == 0)
                snprintf(slot->title, sizeof(slot->title), "%s", v);
            else if (strcmp(name, "status") == 0)
                snprintf(slot->status, sizeof(slot->status), "%s", v);
            else if (strcmp(name, "text") == 0)
                snprintf(slot->text, sizeof(slot->text), "%s", v);
            else if (strcmp(name, "impact") == 0)
                snprintf(slot->impact, sizeof(slot->impact), "%s", v);
            else if (strcmp(name, "clusters") == 0) {
                free(slot->clusters);
                slot->clusters = strdup(v);
            } else if (strcmp(name, "shards") == 0) {
                parse_shards(slot, v);
            }
            else if (strcmp(name, "starts") == 0)
                slot->starts_ms = atoll(v);
            else if (strcmp(name, "ends") == 0)
                slot->ends_ms = atoll(v);
        }
    }
}

static void on_read(void *data, const redisReply *reply, const char *err)
{
    struct subscriber_sender *s = data;
    int took = 0;

    s->reading = 0;
    if (err != NULL) {
        if (strncmp(err, "NOGROUP", 7) == 0)
            s->group_ready = 0; /* the stream went (a flushed Redis): make the group again */
        s->next_read = now_ms(s) + IDLE_READ_MS;
        return;
    }
    /* XREADGROUP: [[stream, entries]] or nil; XAUTOCLAIM: [next, entries, deleted] */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_ARRAY &&
        reply->element[0]->elements == 2) {
        take_entries(s, reply->element[0]->element[1]);
        took = reply->element[0]->element[1]->elements != 0;
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2) {
        take_entries(s, reply->element[1]);
        took = reply->element[1]->type == REDIS_REPLY_ARRAY && reply->element[1]->elements != 0;
    }
    s->next_read = took ? 0 : now_ms(s) + IDLE_READ_MS;
    pump(s);
}

static void on_group(void *data, const redisReply *reply, const char *err)
{
    struct subscriber_sender *s = data;

    (void)reply;
    s->group_inflight = 0;
    /* made now, or there already (BUSYGROUP): from the stream's start, since only this sender reads it */
    if (err == NULL || strncmp(err, "BUSYGROUP", 9) == 0)
        s->group_ready = 1;
    else
        log_warn("subscriptions: cannot make the notify stream's consumer group: %s", err);
}

/* The slot of an entry done with. */
static void release(struct entry *e)
{
    free(e->clusters);
    free(e->shards);
    e->clusters = NULL;
    e->shards = NULL;
    e->num_shards = 0;
    e->used = 0;
}

static void on_finish(void *data, const redisReply *reply, const char *err)
{
    struct entry *e = data;

    e->busy = 0;
    if (err == NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        release(e); /* acknowledged: every subscriber it concerns was told, or given up on */
        ++e->s->stats.entries_done;
    } else {
        e->next_claim = now_ms(e->s) + 250; /* some are still due later (a retry): look again then */
    }
    pump(e->s);
}

static void on_planned(void *data, const redisReply *reply, const char *err)
{
    struct entry *e = data;

    e->busy = 0;
    if (err != NULL) {
        log_warn("subscriptions: the delivery of %s could not be planned: %s", e->id, err);
        e->next_claim = now_ms(e->s) + 1000;
        return;
    }
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer < 0) {
        release(e); /* acknowledged already (by a sender that lost the lock meanwhile): nothing to send */
        pump(e->s);
        return;
    }
    e->planned = 1;
    e->next_claim = 0;
    pump(e->s);
}

/* --------------------------------------------------------------------------------------------- deliveries */

static void outcome(struct delivery *d, const char *mode, const char *due)
{
    const char *args[] = {d->sub, due};

    if (store_notify(d->s->store, mode, d->e->id, "", args, due != NULL ? 2 : 1, ignore, NULL) != 0)
        log_warn("subscriptions: redis did not take %s of subscription %s for %s", mode, d->sub, d->e->id);
}

static void on_retried(void *data, const redisReply *reply, const char *err)
{
    struct delivery *d = data;

    /* past its tries: given up, out of the queue (its webhook keeps its subscription) */
    if (err == NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer > SUBSCRIBER_TRIES) {
        outcome(d, "done", NULL);
        ++d->s->stats.given_up;
    }
    free(d);
}

/* Whether the entry was written longer than GLANCE_ALERT_GIVE_UP ago: a delivery that still fails then is given up,
 * whatever it failed with (a webhook rate-limited for ever must not hold an entry for ever). */
static int too_old(const struct entry *e)
{
    return (long long)log_wall_ms() - atoll(e->id) > (long long)e->s->conf->alert_give_up_s * 1000;
}

static void on_answer(void *data, const struct subscriber_answer *a)
{
    struct delivery *d = data;
    struct subscriber_sender *s;
    char due[24];

    if (h2o_linklist_is_linked(&d->link))
        h2o_linklist_unlink(&d->link);
    if (a->status == SUBSCRIBER_DROPPED) {
        free(d); /* the replica stops: its lease brings the delivery back for the next sender */
        return;
    }
    s = d->s;
    --s->in_flight;
    --d->e->in_flight;
    if (a->status >= 200 && a->status < 300) {
        const char *message = d->message[0] != '\0' ? d->message : a->message_id;
        if (d->shard_notice && message[0] != '\0') {
            /* the episode's message, and how far it has told: the next notice edits it, an older one is not sent */
            const char *args[] = {d->sub, d->e->clusters, d->episode, message, d->at};
            if (store_notify(s->store, "done", d->e->id, "", args, 5, ignore, NULL) != 0)
                log_warn("subscriptions: redis did not take done of subscription %s for %s", d->sub, d->e->id);
        } else {
            outcome(d, "done", NULL);
        }
        ++s->stats.sent;
        s->stats.edited += d->message[0] != '\0';
    } else if (d->message[0] != '\0' && a->status == 404 && a->code == 10008) {
        /* the episode's message was deleted in Discord: forgotten, and the notice posted anew at once */
        const char *args[] = {d->sub, "0", d->e->clusters, d->message};
        if (store_notify(s->store, "retry", d->e->id, "", args, 4, ignore, NULL) != 0)
            log_warn("subscriptions: redis did not take retry of subscription %s for %s", d->sub, d->e->id);
    } else if (a->status == 401 || a->status == 403 || a->status == 404) {
        /* the webhook is gone (deleted in Discord, or its token reset): so is its subscription */
        const char *args[] = {d->sub};
        outcome(d, "done", NULL);
        store_subscription(s->store, "drop", NULL, NULL, args, 1, ignore, NULL);
        ++s->stats.gone;
    } else if (too_old(d->e)) {
        outcome(d, "done", NULL);
        ++s->stats.given_up;
    } else {
        /* 429: when Discord says (the messages' answer is clamped to an hour), not a failed try; else a backoff
         * notify.lua doubles with each failed try, and past SUBSCRIBER_TRIES given up (read back below) */
        const char *args[2];
        if (a->status == 429)
            snprintf(due, sizeof(due), "%llu", (unsigned long long)(a->retry_after_s * 1000) + 100);
        else
            snprintf(due, sizeof(due), "fail");
        args[0] = d->sub;
        args[1] = due;
        ++s->stats.retried;
        if (store_notify(s->store, "retry", d->e->id, "", args, 2, on_retried, d) == 0) {
            pump(s);
            return;
        }
    }
    free(d);
    pump(s);
}

/* Sends a "shard" entry's notice to subscription `rec`: the notice of the shard serving its server in the entry's
 * cluster, as an edit of the episode's message when it has one (`msgs`: cluster -> [episode, message id, the since
 * of the notice it shows]). Returns 0 when sent; 1 when there is nothing to send it (its scope changed since the
 * queue was made, or its message shows a later notice already: this one was retried past it); 2 when another notice
 * of the same subscription and cluster is in flight (two at once would both post, or race their edits); -1 when it
 * could not be started. */
static int send_shard(struct delivery *d, json_t *rec, const char *url, const char *link)
{
    struct entry *e = d->e;
    json_t *shard = json_object_get(json_object_get(rec, "shards"), e->clusters);
    json_t *msg = json_object_get(json_object_get(rec, "msgs"), e->clusters);
    int json = json_is_true(json_object_get(rec, "json"));
    struct subscriber_shard_notice key, *found, n;

    if (!json_is_integer(shard) || json_integer_value(shard) < 0 || json_integer_value(shard) > UINT32_MAX)
        return 1;
    key.shard = (uint32_t)json_integer_value(shard);
    found = e->num_shards != 0 ? bsearch(&key, e->shards, e->num_shards, sizeof(*e->shards), by_shard) : NULL;
    if (found == NULL)
        return 1;
    for (h2o_linklist_t *l = d->s->shard_posts.next; l != &d->s->shard_posts; l = l->next) {
        struct delivery *o = H2O_STRUCT_FROM_MEMBER(struct delivery, link, l);
        if (strcmp(o->sub, d->sub) == 0 && strcmp(o->e->clusters, e->clusters) == 0)
            return 2;
    }
    n = *found;
    n.cluster = e->clusters;
    d->shard_notice = !json; /* an operator's json: URL is posted each notice: no message to keep */
    snprintf(d->episode, sizeof(d->episode), "%lld", (long long)n.first_ms);
    snprintf(d->at, sizeof(d->at), "%lld", (long long)n.at_ms);
    if (!json && json_array_size(msg) == 3 && json_is_string(json_array_get(msg, 1))) {
        long long episode = atoll(json_string_value(json_array_get(msg, 0)) ?: "0");
        long long since = atoll(json_string_value(json_array_get(msg, 2)) ?: "0");
        if (episode > n.first_ms || (episode == n.first_ms && since > n.at_ms))
            return 1;
        if (episode == n.first_ms)
            snprintf(d->message, sizeof(d->message), "%s", json_string_value(json_array_get(msg, 1)));
    }
    if (subscriber_shard(d->s->messages, url, json, &n, d->message[0] != '\0' ? d->message : NULL, link, on_answer, d) != 0)
        return -1;
    h2o_linklist_insert(&d->s->shard_posts, &d->link);
    return 0;
}

/* The management link of a subscription record. */
static void manage_url(json_t *rec, char *out, size_t len)
{
    snprintf(out, len, "%s/subscription/%lld-%s", json_string_value(json_object_get(rec, "base")) ?: "",
             (long long)json_integer_value(json_object_get(rec, "id")),
             json_string_value(json_object_get(rec, "secret")) ?: "");
}

static void on_claimed(void *data, const redisReply *reply, const char *err)
{
    struct entry *e = data;
    struct subscriber_sender *s = e->s;
    struct subscriber_notice n = {e->kind, e->event, e->title, e->status, e->text, e->impact, e->clusters,
                                  e->starts_ms, e->ends_ms};

    e->busy = 0;
    s->claiming -= e->claimed;
    if (err != NULL || reply->type != REDIS_REPLY_ARRAY) {
        s->tokens += (double)e->claimed;
        e->next_claim = now_ms(s) + 1000;
        return;
    }
    /* the pace is charged for what came: what was asked for and not due goes back */
    s->tokens += (double)e->claimed - (double)(reply->elements / 2);
    if (reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_INTEGER) {
        /* none due now: all told (-1; then the entry is done once its posts are answered) or the next due in so long */
        long long wait = reply->element[0]->integer;
        if (e->in_flight == 0)
            e->settled = 1;
        if (wait < 0 && e->in_flight == 0) {
            const char *args[] = {GROUP};
            e->busy = 1;
            if (store_notify(s->store, "finish", e->id, "", args, 1, on_finish, e) != 0)
                e->busy = 0;
        } else {
            /* with posts in flight, look again soon (one may come back to be tried again sooner); else when it is due */
            uint64_t after = wait < 0 || (wait > 250 && e->in_flight != 0) ? 250 : wait < 50 ? 50 : (uint64_t)wait;
            e->next_claim = now_ms(s) + after;
        }
        return;
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        json_t *rec = json_loadb(str_of(reply->element[i + 1]), reply->element[i + 1]->len, 0, NULL);
        struct delivery *d = h2o_mem_alloc(sizeof(*d));
        memset(d, 0, sizeof(*d));
        char link[700];
        const char *url = json_string_value(json_object_get(rec, "url"));
        d->s = s;
        d->e = e;
        snprintf(d->sub, sizeof(d->sub), "%s", str_of(reply->element[i]));
        manage_url(rec, link, sizeof(link));
        int sent = url == NULL ? -1
                   : strcmp(e->kind, "shard") == 0 ? send_shard(d, rec, url, link)
                   : subscriber_notify(s->messages, url, json_is_true(json_object_get(rec, "json")), &n, link, on_answer, d);
        if (sent == 1 || sent == 2) {
            /* nothing to tell it of any more; or, another of its notices in flight, again in a second (not a try) */
            outcome(d, sent == 1 ? "done" : "retry", sent == 1 ? NULL : "1000");
            free(d);
        } else if (sent != 0) {
            /* a record this replica cannot send to: left to its lease, tried again later, given up in the end */
            struct subscriber_answer none = {0, 0, "the request could not be started"};
            ++s->in_flight;
            ++e->in_flight;
            on_answer(d, &none);
        } else {
            ++s->in_flight;
            ++e->in_flight;
        }
        json_decref(rec);
    }
    pump(s);
}

/* ---------------------------------------------------------------------------------------------- the loop */

static void on_lock(void *data, long long held, const char *err)
{
    struct subscriber_sender *s = data;

    s->lock_inflight = 0;
    if (err != NULL)
        held = 0;
    if (held != s->holding) {
        log_info("subscriptions: %s the subscribers' notifications", held ? "this replica now sends" : "this replica stopped sending");
        s->next_autoclaim = 0;
    }
    s->holding = (int)held;
    if (held)
        s->held_until = s->lock_asked + LOCK_MS;
}

static int holding(struct subscriber_sender *s)
{
    if (s->holding && now_ms(s) >= s->held_until)
        s->holding = 0;
    return s->holding;
}

/* Whether entry `e` may be claimed from: every entry before it has been told to every subscriber that answered at
 * once, so that a webhook that works hears of an incident's opening before its update; one that failed hears again
 * when its retry comes, without holding anyone else back. */
static int in_turn(struct subscriber_sender *s, const struct entry *e)
{
    for (size_t k = 0; k != SLOTS; ++k) {
        const struct entry *o = &s->entries[k];
        if (o != e && o->used && !o->settled && parse_stream_id_after(e->id, o->id))
            return 0;
    }
    return 1;
}

/* Starts whatever may start now: a read of new entries, plans, claims within the pace and the posts' bound. */
static void pump(struct subscriber_sender *s)
{
    uint64_t now = now_ms(s);
    size_t active = 0, unsettled = 0;

    if (!holding(s) || !s->group_ready)
        return;
    /* the pace: GLANCE_SUBSCRIBER_RATE a second, a second's worth at most saved up */
    s->tokens += (double)(now - s->paced_at) * s->conf->subscriber_rate / 1000.0;
    if (s->tokens > s->conf->subscriber_rate)
        s->tokens = s->conf->subscriber_rate;
    s->paced_at = now;
    for (size_t k = 0; k != SLOTS; ++k) {
        struct entry *e = &s->entries[k];
        size_t room;
        if (!e->used)
            continue;
        ++active;
        unsettled += !e->settled;
        if (e->busy || now < e->next_claim)
            continue;
        if (!e->planned) {
            e->busy = 1;
            const char *args[] = {GROUP};
            if (store_notify(s->store, "plan", e->id, e->clusters, args, 1, on_planned, e) != 0)
                e->busy = 0;
            continue;
        }
        if (!in_turn(s, e))
            continue;
        if (s->in_flight + s->claiming >= IN_FLIGHT_MAX || s->tokens < 1)
            continue;
        room = IN_FLIGHT_MAX - s->in_flight - s->claiming;
        if ((double)room > s->tokens)
            room = (size_t)s->tokens;
        char count[24];
        snprintf(count, sizeof(count), "%zu", room);
        const char *args[] = {s->lease_ms, count};
        e->busy = 1;
        e->claimed = room;
        s->tokens -= (double)room;
        s->claiming += room;
        if (store_notify(s->store, "claim", e->id, "", args, 2, on_claimed, e) != 0) {
            e->busy = 0;
            s->tokens += (double)room;
            s->claiming -= room;
        }
    }
    if (active < SLOTS && unsettled < UNSETTLED_MAX && !s->reading && now >= s->next_read) {
        char count[8];
        snprintf(count, sizeof(count), "%zu", UNSETTLED_MAX - unsettled);
        s->reading = 1;
        if (now >= s->next_autoclaim) {
            /* what another sender (one that died, or lost the lock) held: all of it, at once, before anything newer is
             * read, so that an entry's opening still goes before its update; its deliveries in flight are leased in
             * their queues, and come due when their leases end */
            s->next_autoclaim = now + AUTOCLAIM_EVERY_MS;
            if (command(s, on_read, s, 8, (const char *[]){"XAUTOCLAIM", store_notify_key(s->store), GROUP, s->consumer,
                                                          "0", "0-0", "COUNT", count}) != 0)
                s->reading = 0;
        } else if (command(s, on_read, s, 9, (const char *[]){"XREADGROUP", "GROUP", GROUP, s->consumer, "COUNT", count,
                                                              "STREAMS", store_notify_key(s->store), ">"}) != 0) {
            s->reading = 0;
        }
    }
}

static void on_poll(void *data, const redisReply *reply, const char *err)
{
    struct subscriber_sender *s = data;

    s->polling = 0;
    if (err == NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        s->awake = 1;
        s->busy_at = now_ms(s);
        s->next_lock = 0;
    }
}

/* Whether this replica has had nothing to send for IDLE_LOCK_MS (or, not holding the lock, could not get it that
 * long): then it goes back to polling, and lets the lock go by not renewing it. */
static int idle(struct subscriber_sender *s, uint64_t now)
{
    if (s->holding) {
        for (size_t k = 0; k != SLOTS; ++k)
            if (s->entries[k].used)
                s->busy_at = now;
        if (s->in_flight != 0 || s->next_read == 0) /* next_read 0: the last read took an entry */
            s->busy_at = now;
    }
    return now - s->busy_at >= IDLE_LOCK_MS;
}

static void ignore_count(void *data, long long value, const char *err)
{
    (void)data, (void)value, (void)err;
}

/* How often any replica looks for maintenance windows to remind of (incident.lua's "remind" says each once, however
 * many look): a thirtieth of a second a replica, and a reminder at most this late. */
static uint64_t remind_every_ms(const struct conf *conf)
{
    uint64_t quarter = (uint64_t)conf->maintenance_remind_s * 250;

    return quarter < REMIND_EVERY_MS ? (quarter < 250 ? 250 : quarter) : REMIND_EVERY_MS;
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct subscriber_sender *s = H2O_STRUCT_FROM_MEMBER(struct subscriber_sender, tick, entry);
    uint64_t now = now_ms(s);

    if (s->conf->maintenance_remind_s != 0 && now >= s->next_remind && store_ready(s->store)) {
        /* the reminder goes into the notify stream, and the poll below finds it */
        s->next_remind = now + remind_every_ms(s->conf);
        store_incident_write(s->store, STORE_INCIDENT_REMIND, s->remind_json, strlen(s->remind_json), ignore_count, NULL);
    }

    if (s->awake && !s->lock_inflight && !s->reading && idle(s, now)) {
        if (s->holding)
            log_info("subscriptions: nothing to send for %d s: this replica lets the lock go", IDLE_LOCK_MS / 1000);
        s->awake = 0;
        s->holding = 0;
        s->next_poll = now + POLL_MS;
    }
    if (store_ready(s->store) && !s->awake) {
        if (!s->polling && now >= s->next_poll) {
            const char *args[] = {GROUP};
            s->polling = 1;
            s->next_poll = now + POLL_MS;
            if (store_notify(s->store, "poll", "-", "", args, 1, on_poll, s) != 0)
                s->polling = 0;
        }
    } else if (store_ready(s->store)) {
        if (!s->lock_inflight && now >= s->next_lock) {
            s->lock_inflight = 1;
            s->lock_asked = now;
            s->next_lock = now + LOCK_RENEW_MS;
            if (store_notify_lock(s->store, s->consumer, LOCK_MS, on_lock, s) != 0)
                s->lock_inflight = 0;
        }
        if (holding(s) && !s->group_ready && !s->group_inflight) {
            s->group_inflight = 1;
            if (command(s, on_group, s, 6, (const char *[]){"XGROUP", "CREATE", store_notify_key(s->store), GROUP, "0",
                                                           "MKSTREAM"}) != 0)
                s->group_inflight = 0;
        }
        pump(s);
    }
    h2o_timeout_link(s->loop, &s->interval, &s->tick);
}

struct subscriber_sender *subscriber_sender_new(h2o_loop_t *loop, const struct conf *conf, struct store *store,
                                                struct subscriber_messages *messages)
{
    struct subscriber_sender *s = h2o_mem_alloc(sizeof(*s));
    char host[64];

    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->conf = conf;
    s->store = store;
    s->messages = messages;
    if (gethostname(host, sizeof(host)) != 0)
        strcpy(host, "glance");
    host[sizeof(host) - 1] = '\0';
    snprintf(s->consumer, sizeof(s->consumer), "%s:%s:%ld", conf->replica, host, (long)getpid());
    /* a claimed delivery's lease: its longest request, and the lock's time for a new sender to take over */
    snprintf(s->lease_ms, sizeof(s->lease_ms), "%u", conf->alert_timeout_ms + LOCK_MS + 2000);
    s->paced_at = now_ms(s);
    h2o_linklist_init_anchor(&s->shard_posts);
    snprintf(s->remind_json, sizeof(s->remind_json), "{\"remind_ms\":%llu}",
             (unsigned long long)conf->maintenance_remind_s * 1000);
    h2o_timeout_init(loop, &s->interval, TICK_MS);
    s->tick.cb = on_tick;
    if (conf->subscriptions_max != 0)
        h2o_timeout_link(loop, &s->interval, &s->tick);
    return s;
}

void subscriber_sender_free(struct subscriber_sender *s)
{
    if (s == NULL)
        return;
    for (size_t k = 0; k != SLOTS; ++k) {
        free(s->entries[k].clusters);
        free(s->entries[k].shards);
    }
    /* the posts still in flight are told SUBSCRIBER_DROPPED later (subscriber_messages_free): off this list first */
    while (!h2o_linklist_is_empty(&s->shard_posts))
        h2o_linklist_unlink(s->shard_posts.next);
    if (h2o_timeout_is_linked(&s->tick))
        h2o_timeout_unlink(&s->tick);
    h2o_timeout_dispose(s->loop, &s->interval);
    free(s);
}

void subscriber_sender_stats(struct subscriber_sender *s, struct subscriber_sender_stats *out)
{
    *out = s->stats;
}
