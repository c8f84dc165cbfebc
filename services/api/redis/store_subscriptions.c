/* store_subscriptions.c -- the visitors' subscriptions (subscription.lua): the check before a confirmation is sent,
 * the record written once it was, and reading, changing and removing one by its management link's secret; and their
 * delivery (notify.lua): each notify stream entry's queue of subscribers, and the sender's lock. */
#include "redis/store.h"

#include <stdio.h>
#include <string.h>
#include "redis/store_call.h"

int store_subscription(struct store *s, const char *mode, const char *address, const char *hook,
                       const char *const *args, size_t nargs, store_reply_cb cb, void *data)
{
    const struct conf *conf = s->conf;
    size_t i, n = conf->num_clusters;
    struct call *c = store_script_call(s, SCRIPT_SUBSCRIPTION, RESULT_REPLY, (int)(9 + 2 * n), 2 * n, data);
    char key[256];

    c->cb.reply = cb;
    /* a subscription made, changed or removed is told to its visitor: with WAIT, once a replica has it */
    c->acknowledges = strcmp(mode, "add") == 0 || strcmp(mode, "change") == 0 || strcmp(mode, "remove") == 0;
    snprintf(key, sizeof(key), "%s:subs", conf->prefix);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:subs:hooks", conf->prefix);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:subs:next", conf->prefix);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:subs:all", conf->prefix);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:subs:refused", conf->prefix);
    push_str(c, key);
    /* the address's and the webhook's keys; where a mode has none, another key of ours, which it does not touch */
    snprintf(key, sizeof(key), "%s:subs:rate:%s", conf->prefix, address != NULL ? address : "-");
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:subs:refusedby:%s", conf->prefix, address != NULL ? address : "-");
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:subs:confirming:%s", conf->prefix, hook != NULL ? hook : "-");
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:subs:confirms", conf->prefix);
    push_str(c, key);
    for (i = 0; i != n; ++i) {
        snprintf(key, sizeof(key), "%s:{%s}:subs", conf->prefix, conf->clusters[i].name);
        push_str(c, key);
        snprintf(key, sizeof(key), "%s:{%s}:subs:guild", conf->prefix, conf->clusters[i].name);
        push_str(c, key);
    }
    push_str(c, mode);
    push_str(c, s->cluster_names);
    for (i = 0; i != nargs; ++i)
        push_str(c, args[i]);
    return store_run(c);
}

int store_notify(struct store *s, const char *mode, const char *entry, const char *clusters, const char *const *args,
                 size_t nargs, store_reply_cb cb, void *data)
{
    const struct conf *conf = s->conf;
    size_t named = 0, i;
    const char *p;
    char key[256];
    struct call *c;

    /* the entry's clusters (comma-separated names), for "plan": those configured, each with its two keys */
    size_t which[CONF_MAX_CLUSTERS];
    for (p = clusters; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, ",");
        for (i = 0; i != conf->num_clusters && named != CONF_MAX_CLUSTERS; ++i)
            if (conf->clusters[i].name_len == len && memcmp(conf->clusters[i].name, p, len) == 0)
                which[named++] = i;
        p += len + (p[len] == ',');
    }
    c = store_script_call(s, SCRIPT_NOTIFY, RESULT_REPLY, (int)(6 + 2 * named), 2 * named, data);
    c->cb.reply = cb;
    push_str(c, s->notify);
    snprintf(key, sizeof(key), "%s:notify:planned", conf->prefix);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:notify:q:%s", conf->prefix, entry);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:notify:tries:%s", conf->prefix, entry);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:subs", conf->prefix);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:subs:all", conf->prefix);
    push_str(c, key);
    for (i = 0; i != named; ++i) {
        snprintf(key, sizeof(key), "%s:{%s}:subs", conf->prefix, conf->clusters[which[i]].name);
        push_str(c, key);
        snprintf(key, sizeof(key), "%s:{%s}:subs:guild", conf->prefix, conf->clusters[which[i]].name);
        push_str(c, key);
    }
    push_str(c, mode);
    push_str(c, entry);
    for (i = 0; i != nargs; ++i)
        push_str(c, args[i]);
    return store_run(c);
}

int store_notify_lock(struct store *s, const char *holder, uint32_t hold_ms, store_count_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_ALERT_LOCK, RESULT_COUNT, 1, 0, data);
    char key[128];

    c->cb.count = cb;
    snprintf(key, sizeof(key), "%s:notify:sender", s->conf->prefix);
    push_str(c, key);
    push_str(c, holder);
    push_u64(c, hold_ms);
    return store_run(c);
}

const char *store_notify_key(struct store *s)
{
    return s->notify;
}

int store_shard_notice(struct store *s, size_t cluster, const uint32_t *shards, size_t n, uint32_t delay_ms,
                       store_reply_cb cb, void *data)
{
    const struct conf *conf = s->conf;
    struct call *c = store_script_call(s, SCRIPT_SHARD_NOTICE, RESULT_REPLY, 6, 2 + n, data);
    char key[256];

    c->cb.reply = cb;
    push_str(c, s->keys[cluster].states);
    push_str(c, s->keys[cluster].since);
    snprintf(key, sizeof(key), "%s:{%s}:subs:guild", conf->prefix, conf->clusters[cluster].name);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:{%s}:episodes", conf->prefix, conf->clusters[cluster].name);
    push_str(c, key);
    push_str(c, s->keys[cluster].history[STORE_HISTORY_MAINT]);
    push_str(c, s->notify);
    push(c, conf->clusters[cluster].name, conf->clusters[cluster].name_len);
    push_u64(c, delay_ms);
    for (size_t i = 0; i != n; ++i)
        push_u64(c, shards[i]);
    return store_run(c);
}
