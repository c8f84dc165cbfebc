/* store_subscriptions.c -- the visitors' subscriptions (subscription.lua): the check before a confirmation is sent,
 * the record written once it was, and reading, changing and removing one by its management link's secret. */
#include "redis/store.h"

#include <stdio.h>
#include "redis/store_call.h"

int store_subscription(struct store *s, const char *mode, const char *address, const char *hook,
                       const char *const *args, size_t nargs, store_reply_cb cb, void *data)
{
    const struct conf *conf = s->conf;
    size_t i, n = conf->num_clusters;
    struct call *c = store_script_call(s, SCRIPT_SUBSCRIPTION, RESULT_REPLY, (int)(9 + 2 * n), 2 * n, data);
    char key[256];

    c->cb.reply = cb;
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
