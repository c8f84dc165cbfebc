/* statuspage.c -- Statuspage's public API v2 documents, built with jansson (see the header; the field mapping is in
 * docs/API.md, "Statuspage's API").
 *
 * Statuspage's shapes, as its public API and real pages serve them: ids are strings, times ISO 8601 with
 * milliseconds (UTC here: "Z"), a component's status one of operational, degraded_performance, partial_outage,
 * major_outage, under_maintenance; the page's indicator none, minor, major, critical or maintenance. Glance's
 * records carry no more than it keeps: what Statuspage has and Glance has not (tweets, postmortems, component groups)
 * is there with Statuspage's own empty values, so a reader written for Statuspage finds every field it expects. */
#include "render/statuspage.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include "base/condition.h"
#include "render/badge.h"

/* by enum statuspage_doc */
static const char *const paths[STATUSPAGE_NUM_DOCS] = {
    "summary.json", "status.json", "components.json", "incidents.json", "incidents/unresolved.json",
    "scheduled-maintenances.json", "scheduled-maintenances/upcoming.json", "scheduled-maintenances/active.json"};

int statuspage_doc_of(const char *path, size_t len)
{
    for (size_t i = 0; i != STATUSPAGE_NUM_DOCS; ++i)
        if (strlen(paths[i]) == len && memcmp(paths[i], path, len) == 0)
            return (int)i;
    return -1;
}

const char *statuspage_doc_path(enum statuspage_doc doc)
{
    return paths[doc];
}

/* ms since the epoch as Statuspage writes a time ("2026-12-08T03:12:00.000Z"); JSON null for 0. */
static json_t *time_of(int64_t ms)
{
    char out[64];
    struct tm tm;
    time_t s;

    if (ms <= 0 || ms > 253402300799999) /* after 9999-12-31: not a time RFC 3339 can say */
        return json_null();
    s = (time_t)(ms / 1000);
    gmtime_r(&s, &tm);
    snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(out);
}

int64_t statuspage_ms(json_t *rec, const char *field)
{
    double v = json_number_value(json_object_get(rec, field));

    /* a time within 285,000 years of the epoch, else none: a record written by hand may hold anything */
    return v > -9e15 && v < 9e15 ? (int64_t)v : 0;
}


static const char *component_status(int level)
{
    switch (level) {
    case BADGE_MAINTENANCE:
        return "under_maintenance";
    case CONDITION_DEGRADED:
        return "degraded_performance";
    case CONDITION_PARTIAL:
        return "partial_outage";
    case CONDITION_MAJOR:
        return "major_outage";
    default:
        return "operational"; /* operational, or no shard has reported yet: Statuspage has no "unknown" */
    }
}

static json_t *component(const struct statuspage_input *in, size_t i)
{
    const struct statuspage_component *c = &in->components[i];
    /* Glance keeps no creation time for a cluster: both times are when its present level began (now, in the moment
     * after a replica starts and before Redis has told it) */
    int64_t since = c->since_ms > 0 ? c->since_ms : in->now_ms;

    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:n, s:b, s:n, s:n, s:s, s:b, s:b}", "id", c->name, "name", c->name,
                     "status", component_status(c->level), "created_at", time_of(since), "updated_at", time_of(since),
                     "position", (json_int_t)(i + 1), "description", "showcase", 1, "start_date", "group_id", "page_id",
                     in->page_id, "group", 0, "only_show_if_degraded", 0);
}

static json_t *page(const struct statuspage_input *in, int64_t updated_ms)
{
    /* the site, as Statuspage gives it (no trailing slash); "/" when GLANCE_PUBLIC_URL is not set */
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", in->page_id, "name", in->page_name, "url",
                     in->base[0] != '\0' ? in->base : "/", "time_zone", "Etc/UTC", "updated_at", time_of(updated_ms));
}

static int is_maintenance(json_t *rec)
{
    const char *kind = json_string_value(json_object_get(rec, "kind"));

    return kind != NULL && strcmp(kind, "maintenance") == 0;
}

static int is_resolved(json_t *rec)
{
    return statuspage_ms(rec, "resolved_ms") > 0;
}

/* A maintenance window's status as Statuspage's, by the clock: completed once resolved or over, in_progress once it
 * began, else scheduled. */
static const char *window_status(json_t *rec, int64_t now)
{
    if (is_resolved(rec) || (statuspage_ms(rec, "ends_ms") > 0 && now >= statuspage_ms(rec, "ends_ms")))
        return "completed";
    return now >= statuspage_ms(rec, "starts_ms") ? "in_progress" : "scheduled";
}

/* An update's status in Statuspage's words ("in progress" is "in_progress"). */
static const char *update_status(json_t *u)
{
    const char *status = json_string_value(json_object_get(u, "status"));

    if (status == NULL)
        return "investigating";
    return strcmp(status, "in progress") == 0 ? "in_progress" : status;
}

/* The newest update's time, or the record's creation. */
static int64_t updated_of(json_t *rec)
{
    int64_t at = statuspage_ms(json_array_get(json_object_get(rec, "updates"), 0), "at_ms");

    return at > 0 ? at : statuspage_ms(rec, "created_ms");
}

static json_t *incident(const struct statuspage_input *in, json_t *rec)
{
    json_t *updates = json_object_get(rec, "updates"), *u, *c, *out, *list = json_array(), *comps = json_array();
    size_t i, k;
    int64_t monitoring = 0;
    char id[24], uid[48], link[320];
    int maintenance = is_maintenance(rec);

    snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(rec, "id")));
    /* newest first, as Glance keeps them; an update's id is its incident's and its time, which stay the same when
     * the oldest updates of a long incident are dropped (lib.lua keeps 50, and 32 KiB) */
    json_array_foreach(updates, i, u) {
        snprintf(uid, sizeof(uid), "%s-%lld", id, (long long)statuspage_ms(u, "at_ms"));
        if (strcmp(update_status(u), "monitoring") == 0)
            monitoring = statuspage_ms(u, "at_ms"); /* the first time it was said: the oldest such, seen last */
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:n, s:b, s:n, s:n}", "id", uid,
                                              "status", update_status(u), "body",
                                              json_string_value(json_object_get(u, "text")) ?: "", "incident_id", id,
                                              "created_at", time_of(statuspage_ms(u, "at_ms")), "updated_at",
                                              time_of(statuspage_ms(u, "at_ms")), "display_at", time_of(statuspage_ms(u, "at_ms")),
                                              "affected_components", "deliver_notifications", 1, "custom_tweet",
                                              "tweet_id"));
    }
    json_array_foreach(json_object_get(rec, "clusters"), i, c) {
        for (k = 0; k != in->num_components; ++k)
            if (json_is_string(c) && strcmp(in->components[k].name, json_string_value(c)) == 0)
                json_array_append_new(comps, component(in, k));
    }
    snprintf(link, sizeof(link), "%s/#incident-%s", in->base, id);
    out = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:s, s:o, s:o}", "id", id, "name",
                    json_string_value(json_object_get(rec, "title")) ?: "", "status",
                    maintenance ? window_status(rec, in->now_ms) : (json_string_value(json_object_get(rec, "status")) ?: "investigating"),
                    "created_at", time_of(statuspage_ms(rec, "created_ms")), "updated_at", time_of(updated_of(rec)),
                    "monitoring_at", time_of(monitoring), "resolved_at", time_of(statuspage_ms(rec, "resolved_ms")), "impact",
                    maintenance ? "maintenance" : (json_string_value(json_object_get(rec, "impact")) ?: "none"),
                    "shortlink", link, "started_at", time_of(statuspage_ms(rec, "created_ms")), "page_id", in->page_id,
                    "incident_updates", list, "components", comps);
    if (maintenance) {
        json_object_set_new(out, "scheduled_for", time_of(statuspage_ms(rec, "starts_ms")));
        json_object_set_new(out, "scheduled_until", time_of(statuspage_ms(rec, "ends_ms")));
    }
    return out;
}

/* Which records a document lists. */
static int listed(enum statuspage_doc doc, json_t *rec, int64_t now)
{
    int maintenance = is_maintenance(rec);

    switch (doc) {
    case STATUSPAGE_INCIDENTS:
        return !maintenance;
    case STATUSPAGE_UNRESOLVED:
        return !maintenance && !is_resolved(rec);
    case STATUSPAGE_MAINTENANCES:
        return maintenance;
    case STATUSPAGE_UPCOMING:
        return maintenance && strcmp(window_status(rec, now), "scheduled") == 0;
    case STATUSPAGE_ACTIVE:
        return maintenance && strcmp(window_status(rec, now), "in_progress") == 0;
    default:
        return 0;
    }
}

static json_t *records(const struct statuspage_input *in, enum statuspage_doc doc, enum statuspage_doc also)
{
    json_t *out = json_array(), *rec;
    size_t i;

    json_array_foreach(json_object_get(in->incidents, "incidents"), i, rec) {
        if (listed(doc, rec, in->now_ms) || listed(also, rec, in->now_ms))
            json_array_append_new(out, incident(in, rec));
    }
    return out;
}

/* The page's indicator: the worst of the bot's level and its unresolved incidents' impact; maintenance only when
 * nothing is wrong and a window is on. */
static json_t *status(const struct statuspage_input *in)
{
    static const char *const words[] = {"All Systems Operational", "Minor Service Outage", "Partial System Outage",
                                        "Major Service Outage"};
    static const char *const indicators[] = {"none", "minor", "major", "critical"};
    int worst = in->whole == CONDITION_MAJOR ? 3 : in->whole == CONDITION_PARTIAL ? 2 : in->whole == CONDITION_DEGRADED;
    int by_incident = 0;
    json_t *rec;
    size_t i;

    json_array_foreach(json_object_get(in->incidents, "incidents"), i, rec) {
        const char *impact = json_string_value(json_object_get(rec, "impact"));
        if (is_maintenance(rec) || is_resolved(rec) || impact == NULL)
            continue;
        for (int k = 3; k > worst; --k) {
            if (strcmp(impact, indicators[k]) == 0) {
                worst = k;
                by_incident = 1;
            }
        }
    }
    if (worst == 0 && in->whole == BADGE_MAINTENANCE)
        return json_pack("{s:s, s:s}", "indicator", "maintenance", "description", "Service Under Maintenance");
    /* shards starting, stopping or resuming, nothing down: Statuspage's words for degraded performance */
    return json_pack("{s:s, s:s}", "indicator", indicators[worst], "description",
                     worst == 1 && !by_incident ? "Partially Degraded Service" : words[worst]);
}

char *statuspage_render(enum statuspage_doc doc, const struct statuspage_input *in)
{
    json_t *out, *rec;
    int64_t updated = 0;
    size_t i;
    char *text;

    /* the page changed last when a cluster's level or a record did */
    for (i = 0; i != in->num_components; ++i) {
        int64_t since = in->components[i].since_ms > 0 ? in->components[i].since_ms : in->now_ms;
        if (since > updated)
            updated = since;
    }
    json_array_foreach(json_object_get(in->incidents, "incidents"), i, rec) {
        if (updated_of(rec) > updated)
            updated = updated_of(rec);
    }
    out = json_pack("{s:o}", "page", page(in, updated));
    if (doc == STATUSPAGE_SUMMARY || doc == STATUSPAGE_COMPONENTS) {
        json_t *list = json_array();
        for (i = 0; i != in->num_components; ++i)
            json_array_append_new(list, component(in, i));
        json_object_set_new(out, "components", list);
    }
    switch (doc) {
    case STATUSPAGE_SUMMARY:
        json_object_set_new(out, "incidents", records(in, STATUSPAGE_UNRESOLVED, STATUSPAGE_NUM_DOCS));
        json_object_set_new(out, "scheduled_maintenances", records(in, STATUSPAGE_UPCOMING, STATUSPAGE_ACTIVE));
        json_object_set_new(out, "status", status(in));
        break;
    case STATUSPAGE_STATUS:
        json_object_set_new(out, "status", status(in));
        break;
    case STATUSPAGE_INCIDENTS:
    case STATUSPAGE_UNRESOLVED:
        json_object_set_new(out, "incidents", records(in, doc, STATUSPAGE_NUM_DOCS));
        break;
    case STATUSPAGE_MAINTENANCES:
    case STATUSPAGE_UPCOMING:
    case STATUSPAGE_ACTIVE:
        json_object_set_new(out, "scheduled_maintenances", records(in, doc, STATUSPAGE_NUM_DOCS));
        break;
    default:
        break;
    }
    text = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    return text;
}
