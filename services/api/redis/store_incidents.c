/* store_incidents.c -- incidents and maintenance windows: the list, and a new one or an update written with the
 * maintenance and history keys of every cluster it names; and Alertmanager's notifications, one incident per group. */
#include "redis/store.h"

#include <stdio.h>
#include "base/alertmanager_input.h"
#include "redis/store_call.h"

int store_incidents(struct store *s, uint32_t count, store_text_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_INCIDENTS, RESULT_TEXT, 3, 0, data);

    c->cb.text = cb;
    push_incident_keys(s, c);
    push_u64(c, count);
    return store_run(c);
}

int store_incident_write(struct store *s, enum store_incident_op op, const char *json, size_t len, store_count_cb cb,
                         void *data)
{
    size_t i, n = s->conf->num_clusters;
    struct call *c = store_script_call(s, SCRIPT_INCIDENT, RESULT_COUNT, (int)(4 + 2 * n), 2 * n, data);

    c->cb.count = cb;
    c->acknowledges = op == STORE_INCIDENT_NEW || op == STORE_INCIDENT_UPDATE;
    push_incident_keys(s, c);
    for (i = 0; i != n; ++i)
        push_str(c, s->keys[i].history[STORE_HISTORY_MAINT]);
    for (i = 0; i != n; ++i)
        push_str(c, s->keys[i].history[STORE_HISTORY_HIST]);
    push_str(c, s->notify);
    push_str(c, op == STORE_INCIDENT_NEW      ? "new"
                : op == STORE_INCIDENT_UPDATE ? "update"
                : op == STORE_INCIDENT_REMIND ? "remind"
                                              : "close");
    push(c, json, len);
    push_str(c, s->cluster_names);
    push_u64(c, STORE_INCIDENTS_KEPT);
    push_u64(c, STORE_INCIDENTS_OPEN_MAX);
    return store_run(c);
}

int store_alertmanager(struct store *s, const char *json, size_t len, store_reply_cb cb, void *data)
{
    struct call *c = store_script_call(s, SCRIPT_ALERTMANAGER, RESULT_REPLY, 6, 0, data);
    char key[128];

    c->cb.reply = cb;
    push_incident_keys(s, c);
    push_str(c, s->notify);
    snprintf(key, sizeof(key), "%s:alertmanager", s->conf->prefix);
    push_str(c, key);
    snprintf(key, sizeof(key), "%s:alertmanager:seen", s->conf->prefix);
    push_str(c, key);
    push(c, json, len);
    push_u64(c, STORE_INCIDENTS_KEPT);
    push_u64(c, ALERTMANAGER_GROUPS_MAX);
    return store_run(c);
}
