/* store_alerts.c -- a cluster's condition, the alerts stream (recorded, listed, each webhook's outcome), the alert
 * sender's lock and consumer groups. */
#include "redis/store.h"

#include "redis/store_call.h"

int store_condition(struct store *s, size_t cluster, uint64_t version, int condition, uint32_t down, uint32_t busy,
                    uint32_t total, store_condition_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_CONDITION, RESULT_CONDITION, 2, 0, data);

    c->cb.condition = cb;
    push_str(c, s->keys[cluster].condition);
    push_str(c, s->keys[cluster].ver);
    push_u64(c, version);
    push_u64(c, (uint64_t)condition);
    push_u64(c, down);
    push_u64(c, busy);
    push_u64(c, total);
    return store_run(c);
}

int store_alert_due(struct store *s, size_t cluster, int64_t since_ms, uint32_t delay_ms, store_count_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_ALERT_DUE, RESULT_COUNT, 7, 0, data);

    c->cb.count = cb;
    push_str(c, s->keys[cluster].condition);
    push_str(c, s->alerts);
    push_str(c, s->keys[cluster].history[STORE_HISTORY_MAINT]);
    push_incident_keys(s, c);
    push_str(c, s->notify);
    push_u64(c, (uint64_t)since_ms);
    push_u64(c, delay_ms);
    push_u64(c, (uint64_t)s->conf->clusters[cluster].alert_level);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
    push_u64(c, STORE_ALERTS_KEPT);
    push_u64(c, STORE_FLAP_ALERTS);
    push_u64(c, STORE_FLAP_WINDOW_MS);
    push_u64(c, STORE_INCIDENTS_KEPT);
    return store_run(c);
}

int store_gateway_alert(struct store *s, size_t cluster, const char *mark, int on, const char *text, uint32_t delay_ms,
                        store_count_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_GATEWAY_ALERT, RESULT_COUNT, 3, 0, data);

    c->cb.count = cb;
    push_str(c, s->keys[cluster].condition);
    push_str(c, s->alerts);
    push_str(c, s->keys[cluster].history[STORE_HISTORY_MAINT]);
    push_str(c, mark);
    push_u64(c, on ? 1 : 0);
    push_str(c, text);
    push_u64(c, delay_ms);
    push(c, s->conf->clusters[cluster].name, s->conf->clusters[cluster].name_len);
    push_u64(c, STORE_ALERTS_KEPT);
    return store_run(c);
}

int store_alerts(struct store *s, uint32_t count, store_text_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_ALERTS, RESULT_TEXT, 2, 0, data);

    c->cb.text = cb;
    push_str(c, s->alerts);
    push_str(c, s->delivered);
    push_u64(c, count);
    push_str(c, s->cluster_names);
    for (size_t w = 0; w < s->conf->num_webhooks; ++w) {
        const struct conf_webhook *hook = &s->conf->webhooks[w];
        char takes[CONF_MAX_CLUSTERS * 66 + 4];
        size_t n = 1;
        /* the clusters whose alerts it takes, as ",main,eu," ("*" too for a global one) */
        takes[0] = ',';
        if (hook->global)
            n += (size_t)snprintf(takes + n, sizeof(takes) - n, "*,");
        for (size_t k = 0; k < s->conf->num_clusters; ++k)
            if (conf_webhook_takes(s->conf, hook, k))
                n += (size_t)snprintf(takes + n, sizeof(takes) - n, "%s,", s->conf->clusters[k].name);
        push_str(c, hook->id);
        push_str(c, hook->shown);
        push(c, takes, n);
    }
    return store_run(c);
}

int store_alert_lock(struct store *s, const char *holder, uint32_t hold_ms, store_count_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_ALERT_LOCK, RESULT_COUNT, 1, 0, data);

    c->cb.count = cb;
    push_str(c, s->alerts_lock);
    push_str(c, holder);
    push_u64(c, hold_ms);
    return store_run(c);
}

const char *store_alerts_key(struct store *s)
{
    return s->alerts;
}

int store_alert_groups(struct store *s, const char *const *groups, size_t n, store_text_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_ALERT_GROUP, RESULT_TEXT, 1, 0, data);

    c->cb.text = cb;
    push_str(c, s->alerts);
    for (size_t i = 0; i < n; ++i)
        push_str(c, groups[i]);
    return store_run(c);
}

int store_alert_outcome(struct store *s, const char *id, const char *webhook, const char *why, store_reply_cb cb,
                        void *data)
{
    struct call *c = store_call_alloc(s, NUM_SCRIPTS, RESULT_REPLY, 0, data);

    c->cb.reply = cb;
    push(c, "XADD", 4);
    push_str(c, s->delivered);
    push(c, "MAXLEN", 6);
    push(c, "~", 1);
    push_u64(c, STORE_ALERTS_KEPT * CONF_MAX_LANES); /* an entry per webhook of each alert kept */
    push(c, "*", 1);
    push(c, "alert", 5);
    push_str(c, id);
    push(c, "webhook", 7);
    push_str(c, webhook);
    push(c, "outcome", 7);
    if (why == NULL) {
        push(c, "sent", 4);
    } else {
        push(c, "not sent", 8);
        push(c, "why", 3);
        push_str(c, why);
    }
    return store_run(c);
}

const char *store_incident_key(struct store *s, size_t cluster)
{
    return s->keys[cluster].incident;
}
