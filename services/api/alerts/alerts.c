/* alerts.c -- each cluster's condition, from the mirror to Redis, and to the alerts stream once it held.
 *
 * Every replica computes every cluster's condition from its own mirror and tells Redis when it differs from
 * what Redis holds; condition.lua accepts it only from a mirror at the cluster's version now, so the first
 * replica to see a change records it and a replica that is behind never records the past. Each replica then
 * asks alert_due.lua, once the delay has passed, to record the condition as an alert; the script says yes to
 * exactly one of them. Nothing here is sent until something differs or falls due, so an idle replica makes no
 * calls. */
#include "alerts/alerts.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/gateway_alerts.h"
#include "alerts/shard_notices.h"
#include "base/condition.h"
#include "base/log.h"

#define ALERTS_TICK_MS 250

struct alert_cluster {
    struct alerts *alerts;
    size_t index;
    int recorded;            /* the condition Redis holds (-1: none, or not asked yet) */
    int64_t since_ms;        /* when it began */
    int64_t settled_since;   /* alert_due.lua has answered for the condition that began then */
    int64_t due_since;       /* the condition the due call in flight is about: `since_ms` may move on meanwhile */
    int64_t retry_at;        /* alert_due.lua said to wait (the delay by Redis's clock, or maintenance) until then */
    int condition_inflight;
    int due_inflight;
};

struct alerts {
    h2o_loop_t *loop;
    const struct conf *conf;
    struct store *store;
    struct mirror *mirror;
    struct alert_cluster *clusters;
    struct gateway_alerts *gateway;
    struct shard_notices *notices;
    h2o_timeout_t interval;
    h2o_timeout_entry_t tick;
    uint64_t condition_changes, recorded;
};

static void on_condition(void *data, const struct store_condition *cond, const char *err)
{
    struct alert_cluster *ac = data;

    ac->condition_inflight = 0;
    if (err != NULL)
        return; /* asked again on a later tick: the store says why on its own */
    if (cond->recorded) {
        ++ac->alerts->condition_changes;
        log_info("cluster %s is now %s", ac->alerts->conf->clusters[ac->index].name, condition_name(cond->condition));
    }
    ac->recorded = cond->condition;
    ac->since_ms = cond->since_ms;
}

static void on_due(void *data, long long result, const char *err)
{
    struct alert_cluster *ac = data;
    struct alerts *a = ac->alerts;
    const struct mirror_cluster *mc = mirror_cluster(a->mirror, ac->index);

    ac->due_inflight = 0;
    /* not yet by Redis's clock, or in maintenance until then: ask again then, or in 5 s at the latest, as a window
     * may be cut short */
    if (result < 0)
        ac->retry_at = log_wall_ms() + (-result < 5000 ? -result : 5000);
    if (err != NULL || result < 0)
        return; /* asked again on a later tick */
    ac->settled_since = ac->due_since;
    if (result == 1) {
        ++a->recorded;
        log_info("alert: %s: %s, %u down and %u busy of %u shards", mc->conf->name, condition_name(ac->recorded),
                 condition_down(mc->counts), condition_busy(mc->counts), mc->conf->shards);
    }
}

static void check_cluster(struct alerts *a, struct alert_cluster *ac, int64_t now)
{
    const struct mirror_cluster *mc = mirror_cluster(a->mirror, ac->index);
    int condition;

    if (!mc->synced)
        return;
    condition = condition_of(mc->counts);
    if (!ac->condition_inflight && condition != ac->recorded) {
        ac->condition_inflight = 1;
        if (store_condition(a->store, ac->index, mc->version, condition, condition_down(mc->counts),
                            condition_busy(mc->counts), mc->conf->shards, on_condition, ac) != 0)
            ac->condition_inflight = 0;
    }
    if (!ac->due_inflight && ac->recorded >= 0 && ac->since_ms != 0 && ac->settled_since != ac->since_ms &&
        now >= ac->since_ms + (int64_t)a->conf->alert_delay_s * 1000 && (ac->due_since != ac->since_ms || now >= ac->retry_at)) {
        ac->due_inflight = 1;
        ac->due_since = ac->since_ms;
        if (store_alert_due(a->store, ac->index, ac->since_ms, a->conf->alert_delay_s * 1000, on_due, ac) != 0)
            ac->due_inflight = 0;
    }
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct alerts *a = H2O_STRUCT_FROM_MEMBER(struct alerts, tick, entry);

    if (store_ready(a->store)) {
        int64_t now = log_wall_ms();
        for (size_t i = 0; i != a->conf->num_clusters; ++i)
            check_cluster(a, &a->clusters[i], now);
        if (mirror_synced(a->mirror))
            gateway_alerts_tick(a->gateway, now);
        shard_notices_tick(a->notices, now);
    }
    h2o_timeout_link(a->loop, &a->interval, &a->tick);
}

struct alerts *alerts_new(h2o_loop_t *loop, const struct conf *conf, struct store *store, struct mirror *mirror,
                          struct figures *figures)
{
    struct alerts *a = h2o_mem_alloc(sizeof(*a));

    memset(a, 0, sizeof(*a));
    a->loop = loop;
    a->conf = conf;
    a->store = store;
    a->mirror = mirror;
    a->gateway = gateway_alerts_new(conf, store, figures);
    a->notices = shard_notices_new(conf, store, mirror);
    a->clusters = h2o_mem_alloc(sizeof(*a->clusters) * conf->num_clusters);
    memset(a->clusters, 0, sizeof(*a->clusters) * conf->num_clusters);
    for (size_t i = 0; i != conf->num_clusters; ++i) {
        a->clusters[i].alerts = a;
        a->clusters[i].index = i;
        a->clusters[i].recorded = -1;
    }
    h2o_timeout_init(loop, &a->interval, ALERTS_TICK_MS);
    a->tick.cb = on_tick;
    h2o_timeout_link(loop, &a->interval, &a->tick);
    return a;
}

void alerts_free(struct alerts *a)
{
    if (h2o_timeout_is_linked(&a->tick))
        h2o_timeout_unlink(&a->tick);
    h2o_timeout_dispose(a->loop, &a->interval);
    gateway_alerts_free(a->gateway);
    shard_notices_free(a->notices);
    free(a->clusters);
    free(a);
}

uint64_t alerts_condition_changes(struct alerts *a)
{
    return a->condition_changes;
}

uint64_t alerts_recorded(struct alerts *a)
{
    return a->recorded + gateway_alerts_recorded(a->gateway);
}

void alerts_shard_changed(struct alerts *a, size_t cluster, uint32_t shard)
{
    shard_notices_changed(a->notices, cluster, shard);
}

uint64_t alerts_shard_notices(struct alerts *a)
{
    return shard_notices_said(a->notices);
}

int64_t alerts_condition_since(struct alerts *a, size_t cluster)
{
    return cluster < a->conf->num_clusters ? a->clusters[cluster].since_ms : 0;
}
