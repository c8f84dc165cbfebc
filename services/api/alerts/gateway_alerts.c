/* gateway_alerts.c -- each cluster's gateway marks, from the figures' copy to Redis, and to the alerts stream once
 * they held (gateway_alert.lua decides, once across every replica; the replicas only ask). A replica asks about a
 * mark only when it differs from what it last settled, or when the script said to ask again later: an idle replica
 * makes no calls beyond reading its copy every check. */
#include "alerts/gateway_alerts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/log.h"

/* How often the marks are looked at: often enough for GLANCE_ALERT_DELAY (half of it), never more than every second
 * nor less than every 15 s. Each look refreshes the figures' copy if it is older than FIGURES_FRESH_MS. */
#define CHECK_MIN_MS 1000
#define CHECK_MAX_MS 15000

struct mark_state {
    struct gateway_alerts *ga;
    size_t cluster;
    int which;
    int settled;     /* on (1) or off (0) as gateway_alert.lua last settled it for this replica; -1: not asked yet */
    int asked;       /* what the call in flight says */
    int inflight;
    int64_t retry_at; /* the script said to wait (the delay, or maintenance) until then */
};

struct gateway_alerts {
    const struct conf *conf;
    struct store *store;
    struct figures *figures;
    struct mark_state *marks; /* num_clusters x CONF_GATEWAY_ALERTS */
    int64_t next_check;
    uint32_t check_ms;
    uint64_t recorded;
};

/* 12,345 */
static void grouped(uint64_t v, char *out, size_t len)
{
    char digits[24];
    size_t n = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, v), o = 0;

    for (size_t i = 0; i != n && o + 2 < len; ++i) {
        if (i != 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

int gateway_alert_words(int which, const char *name, uint32_t shards, const struct figures_marks *m, char *text,
                        size_t len)
{
    const struct gateway_sessions *s = &m->sessions;
    char a[32], b[32], c[32], ids[96] = "", when[40];
    int on;

    switch (which) {
    case 0: /* silent */
        on = m->silent != 0;
        for (uint32_t i = 0; i != m->silent_named; ++i) {
            size_t n = strlen(ids);
            snprintf(ids + n, sizeof(ids) - n, "%s%u", i == 0 ? "" : ", ", m->silent_ids[i]);
        }
        if (on)
            snprintf(text, len, "%s: %u shard%s online but receiving no gateway events (silent, %u with a frozen "
                     "latency): %s%s. Their connections are likely zombies: restart them.", name, m->silent,
                     m->silent == 1 ? "" : "s", m->stale_latency, ids, m->silent > m->silent_named ? " and more" : "");
        else
            snprintf(text, len, "%s: no silent shards any more; every online shard receives gateway events.", name);
        return on;
    case 1: /* storm */
        on = s->storm;
        if (on)
            snprintf(text, len, "%s: reconnect storm, %u identifies and %u resumes a minute (%" PRIu64 " in the last "
                     "24 h).", name, s->identifies, s->resumes, s->day_total);
        else
            snprintf(text, len, "%s: the reconnect storm is over (%u identifies and %u resumes in the last minute).",
                     name, s->identifies, s->resumes);
        return on;
    case 2: /* budget */
        on = s->has_budget && s->short_budget;
        grouped(s->remaining, a, sizeof(a));
        grouped(s->total, b, sizeof(b));
        grouped(shards, c, sizeof(c));
        if (on) {
            time_t t = (time_t)(s->reset_at_ms / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
            snprintf(text, len, "%s: a full restart now would exhaust the daily identify budget (%s left of %s, %s "
                     "shards); it resets at %s.", name, a, b, c, when);
        } else {
            snprintf(text, len, "%s: the identify budget covers a full restart again (%s left of %s, %s shards).", name,
                     a, b, c);
        }
        return on;
    default: /* guild_cap */
        on = m->near_cap != 0;
        grouped(m->guilds_max, a, sizeof(a));
        if (on)
            snprintf(text, len, "%s: %u shard%s at 90 %% of Discord's 2,500-guild cap or more (the most: %s guilds): "
                     "reshard soon.", name, m->near_cap, m->near_cap == 1 ? "" : "s", a);
        else
            snprintf(text, len, "%s: no shard near the 2,500-guild cap any more.", name);
        return on;
    }
}

struct gateway_alerts *gateway_alerts_new(const struct conf *conf, struct store *store, struct figures *figures)
{
    struct gateway_alerts *ga = calloc(1, sizeof(*ga));
    size_t n = conf->num_clusters * CONF_GATEWAY_ALERTS;
    uint32_t half = conf->alert_delay_s * 500;

    if (ga == NULL || (ga->marks = calloc(n ? n : 1, sizeof(*ga->marks))) == NULL)
        h2o_fatal("out of memory");
    ga->conf = conf;
    ga->store = store;
    ga->figures = figures;
    ga->check_ms = half < CHECK_MIN_MS ? CHECK_MIN_MS : half > CHECK_MAX_MS ? CHECK_MAX_MS : half;
    for (size_t i = 0; i != n; ++i)
        ga->marks[i] = (struct mark_state){ga, i / CONF_GATEWAY_ALERTS, (int)(i % CONF_GATEWAY_ALERTS), -1, 0, 0, 0};
    return ga;
}

void gateway_alerts_free(struct gateway_alerts *ga)
{
    free(ga->marks);
    free(ga);
}

uint64_t gateway_alerts_recorded(struct gateway_alerts *ga)
{
    return ga->recorded;
}

static void on_recorded(void *data, long long result, const char *err)
{
    struct mark_state *ms = data;
    struct gateway_alerts *ga = ms->ga;

    ms->inflight = 0;
    if (err != NULL)
        return; /* asked again at a later check */
    if (result < 0) {
        ms->retry_at = log_wall_ms() + (-result < ga->check_ms ? -result : ga->check_ms);
        return;
    }
    ms->settled = ms->asked;
    if (result == 1) {
        ++ga->recorded;
        log_info("alert: %s: %s %s", ga->conf->clusters[ms->cluster].name, conf_gateway_alert_names[ms->which],
                 ms->asked ? "on" : "off");
    }
}

void gateway_alerts_tick(struct gateway_alerts *ga, int64_t now)
{
    struct figures_marks m;
    char text[400];

    if (ga->conf->alert_gateway == 0 || now < ga->next_check)
        return;
    ga->next_check = now + ga->check_ms;
    figures_refresh(ga->figures);
    for (size_t ci = 0; ci != ga->conf->num_clusters; ++ci) {
        if (figures_marks(ga->figures, ci, &m) != 0)
            return; /* no copy yet */
        for (int k = 0; k != CONF_GATEWAY_ALERTS; ++k) {
            struct mark_state *ms = &ga->marks[ci * CONF_GATEWAY_ALERTS + (size_t)k];
            int on;
            if (!(ga->conf->alert_gateway & (1u << k)) || ms->inflight)
                continue;
            on = gateway_alert_words(k, ga->conf->clusters[ci].name, ga->conf->clusters[ci].shards, &m, text,
                                     sizeof(text));
            if (on == ms->settled && ms->retry_at == 0)
                continue;
            if (now < ms->retry_at)
                continue;
            ms->retry_at = 0;
            ms->asked = on;
            ms->inflight = 1;
            if (store_gateway_alert(ga->store, ci, conf_gateway_alert_names[k], on, text, ga->conf->alert_delay_s * 1000,
                                    on_recorded, ms) != 0)
                ms->inflight = 0;
        }
    }
}
