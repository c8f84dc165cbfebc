/* alertmanager_input.c -- Alertmanager's webhook notifications, checked and shaped into alertmanager.lua's JSON.
 * Every check runs before Redis is asked anything, so a refused notification changes nothing. What a public page
 * says comes from the alerts' conventional labels and annotations: alertname, severity, summary (or description).
 * The digest names the set of firing alerts (their fingerprints), so that a repeat or a retry of the same set is
 * told apart from a change without comparing texts. */
#include "base/alertmanager_input.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "h2o/memory.h"
#include "base/conf.h"
#include "base/incident_input.h"

#define fail incident_input_fail

/* How many bytes of `s` to quote in an error, at most `max`, ending on a character's boundary (a 400's body is JSON,
 * which must be valid UTF-8). */
static int quoted(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            --n;
    }
    return (int)n;
}

/* An optional field of `obj` of the kind `is` accepts; -1 (with the error) when present and of another kind. */
static int optional(json_t *obj, const char *where, const char *name, int (*is)(const json_t *), const char *kind,
                    char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, name);

    if (v != NULL && !is(v))
        return fail(err, errlen, "%s\"%s\" must be %s", where, name, kind);
    return 0;
}

static int is_string(const json_t *v) { return json_is_string(v); }
static int is_count(const json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 0; }

/* A map of labels or annotations: an object whose values are all strings. */
static int check_map(json_t *obj, const char *where, const char *name, int required, char *err, size_t errlen)
{
    json_t *map = json_object_get(obj, name), *v;
    const char *key;

    if (map == NULL)
        return required ? fail(err, errlen, "%s\"%s\" is missing", where, name) : 0;
    if (!json_is_object(map))
        return fail(err, errlen, "%s\"%s\" must be an object of strings", where, name);
    json_object_foreach(map, key, v) {
        if (!json_is_string(v))
            return fail(err, errlen, "%s\"%s\".\"%.*s\" must be a string", where, name, quoted(key, 64), key);
    }
    return 0;
}

/* A string of a map (labels, annotations), or NULL when absent or empty. */
static const char *entry(json_t *obj, const char *map, const char *name)
{
    const char *s = json_string_value(json_object_get(json_object_get(obj, map), name));

    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* An Alertmanager severity label as an incident's impact (0 none .. 3 critical); unknown or absent: major. */
static int impact_of(const char *severity)
{
    static const char *const words[][5] = {
        {"info", "informational", "none", "low", NULL},
        {"warning", "warn", "minor", "medium", NULL},
        {"error", "major", "high", NULL},
        {"critical", "page", "fatal", "emergency", "disaster"},
    };
    size_t i, j;

    for (i = 0; severity != NULL && i != 4; ++i)
        for (j = 0; j != 5 && words[i][j] != NULL; ++j)
            if (strcasecmp(severity, words[i][j]) == 0)
                return (int)i;
    return 2;
}

/* Text being built within `max` bytes: pieces that would pass it are counted instead, and said at the end. */
struct text {
    char buf[INCIDENT_TEXT_MAX + 1];
    size_t len, max;
};

/* Appends `s` (at most `limit` bytes of it, cut on a character's boundary), control characters made spaces (line
 * breaks too unless `lines`): alerts' texts are free-form, and a page shows them as text. */
static void put(struct text *t, const char *s, size_t limit, int lines)
{
    size_t n = strlen(s), i;

    if (n > limit) {
        n = limit;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            --n;
    }
    if (n > t->max - t->len) {
        n = t->max - t->len;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            --n;
    }
    for (i = 0; i != n; ++i) {
        unsigned char c = (unsigned char)s[i];
        t->buf[t->len++] = (c < 0x20 || c == 0x7f) && !(lines && c == '\n') ? ' ' : (char)c;
    }
    t->buf[t->len] = '\0';
}

/* One line per alert: "- name (cluster): summary". */
#define LINE_SUMMARY_MAX 300

struct alert {
    json_t *obj;
    const char *name, *cluster, *summary;
    size_t cluster_index;
    int firing;
};

static void put_line(struct text *t, const struct alert *a, int with_summary)
{
    put(t, "\n- ", 3, 1);
    put(t, a->name != NULL ? a->name : "alert", 128, 0);
    put(t, " (", 2, 0);
    put(t, a->cluster, 64, 0);
    put(t, ")", 1, 0);
    if (with_summary && a->summary != NULL) {
        put(t, ": ", 2, 0);
        put(t, a->summary, LINE_SUMMARY_MAX, 0);
    }
}

/* The lines of the alerts that are (or are not) firing, as many as fit before the room kept for the end. */
static size_t put_lines(struct text *t, const struct alert *alerts, size_t n, int firing, size_t keep)
{
    size_t i, left = 0, room = INCIDENT_TEXT_MAX - keep;

    for (i = 0; i != n; ++i) {
        if (alerts[i].firing != firing)
            continue;
        struct text line = {.len = 0, .max = INCIDENT_TEXT_MAX};
        put_line(&line, &alerts[i], firing);
        if (t->len + line.len <= room)
            put(t, line.buf, line.len, 1);
        else
            ++left;
    }
    return left;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FNV-1a over the sorted fingerprints of the firing alerts, each ended by a NUL (which no JSON string here holds), and
 * how many alerts Alertmanager left out: the same set in any order gives the same digest. */
static void digest_of(const struct alert *alerts, size_t n, size_t truncated, char out[17])
{
    const char **keys = h2o_mem_alloc(sizeof(*keys) * (n + 1));
    char **owned = h2o_mem_alloc(sizeof(*owned) * (n + 1));
    size_t i, m = 0, o = 0;
    uint64_t h = 14695981039346656037ULL;

    for (i = 0; i != n; ++i) {
        const char *fp;
        if (!alerts[i].firing)
            continue;
        fp = json_string_value(json_object_get(alerts[i].obj, "fingerprint"));
        if (fp == NULL || fp[0] == '\0') /* no fingerprint: the labels, which are what Alertmanager hashes */
            fp = owned[o++] = json_dumps(json_object_get(alerts[i].obj, "labels"), JSON_COMPACT | JSON_SORT_KEYS);
        keys[m++] = fp;
    }
    qsort(keys, m, sizeof(*keys), by_string);
    for (i = 0; i != m; ++i) {
        const unsigned char *p;
        for (p = (const unsigned char *)keys[i]; *p != '\0'; ++p)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0) * 1099511628211ULL;
    }
    for (i = 0; i != 8; ++i)
        h = (h ^ ((truncated >> (8 * i)) & 0xff)) * 1099511628211ULL;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    for (i = 0; i != o; ++i)
        free(owned[i]);
    free(owned);
    free(keys);
}

/* The fields of the notification itself, then each alert's, into `alerts` (room for every element). */
static int check(const struct conf *conf, json_t *in, struct alert *alerts, size_t *count, char *err, size_t errlen)
{
    const char *label = conf->alertmanager_label;
    json_t *v, *list;
    size_t i, k;
    char where[40];

    if (!json_is_object(in))
        return fail(err, errlen, "the body must be a JSON object (Alertmanager's webhook payload)");
    v = json_object_get(in, "version");
    if (v == NULL)
        return fail(err, errlen, "\"version\" is missing: this takes Alertmanager's webhook payload, version \"4\"");
    if (!json_is_string(v) || strcmp(json_string_value(v), "4") != 0)
        return fail(err, errlen, "\"version\" must be \"4\": the version of Alertmanager's webhook payload this takes");
    v = json_object_get(in, "groupKey");
    if (v == NULL)
        return fail(err, errlen, "\"groupKey\" is missing");
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > ALERTMANAGER_GROUP_KEY_MAX)
        return fail(err, errlen, "\"groupKey\" must be a string of 1 to %d bytes", ALERTMANAGER_GROUP_KEY_MAX);
    v = json_object_get(in, "status");
    if (v == NULL)
        return fail(err, errlen, "\"status\" is missing");
    if (!json_is_string(v) || (strcmp(json_string_value(v), "firing") != 0 && strcmp(json_string_value(v), "resolved") != 0))
        return fail(err, errlen, "\"status\" must be \"firing\" or \"resolved\"");
    if (optional(in, "", "receiver", is_string, "a string", err, errlen) != 0 ||
        optional(in, "", "externalURL", is_string, "a string", err, errlen) != 0 ||
        optional(in, "", "truncatedAlerts", is_count, "a whole number from 0", err, errlen) != 0 ||
        check_map(in, "", "groupLabels", 0, err, errlen) != 0 || check_map(in, "", "commonLabels", 0, err, errlen) != 0 ||
        check_map(in, "", "commonAnnotations", 0, err, errlen) != 0)
        return -1;
    list = json_object_get(in, "alerts");
    if (list == NULL)
        return fail(err, errlen, "\"alerts\" is missing");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return fail(err, errlen, "\"alerts\" must be a list of at least one alert");
    json_array_foreach(list, i, v) {
        struct alert *a = &alerts[i];
        const char *status;
        snprintf(where, sizeof(where), "alerts[%zu]: ", i);
        if (!json_is_object(v))
            return fail(err, errlen, "%smust be an object", where);
        status = json_string_value(json_object_get(v, "status"));
        if (status == NULL)
            return fail(err, errlen, "%s\"status\" is missing or not a string", where);
        if (strcmp(status, "firing") != 0 && strcmp(status, "resolved") != 0)
            return fail(err, errlen, "%s\"status\" must be \"firing\" or \"resolved\"", where);
        if (check_map(v, where, "labels", 1, err, errlen) != 0 || check_map(v, where, "annotations", 0, err, errlen) != 0 ||
            optional(v, where, "startsAt", is_string, "a string", err, errlen) != 0 ||
            optional(v, where, "endsAt", is_string, "a string", err, errlen) != 0 ||
            optional(v, where, "generatorURL", is_string, "a string", err, errlen) != 0 ||
            optional(v, where, "fingerprint", is_string, "a string", err, errlen) != 0)
            return -1;
        a->obj = v;
        a->firing = status[0] == 'f';
        a->name = entry(v, "labels", "alertname");
        a->summary = entry(v, "annotations", "summary");
        if (a->summary == NULL)
            a->summary = entry(v, "annotations", "description");
        a->cluster = json_string_value(json_object_get(json_object_get(v, "labels"), label));
        if (a->cluster == NULL) {
            if (conf->alertmanager_cluster[0] == '\0')
                return fail(err, errlen, "%shas no \"%s\" label naming its cluster, and GLANCE_ALERTMANAGER_CLUSTER "
                                         "names none for such alerts", where, label);
            a->cluster = conf->alertmanager_cluster;
        }
        for (k = 0; k != conf->num_clusters && strcmp(conf->clusters[k].name, a->cluster) != 0; ++k)
            ;
        if (k == conf->num_clusters)
            return fail(err, errlen, "%slabel %s=\"%.*s\" names no configured cluster", where, label,
                        quoted(a->cluster, 64), a->cluster);
        a->cluster_index = k;
    }
    *count = json_array_size(list);
    return 0;
}

/* The incident's title: the group's common summary, else its alert name. */
static void put_title(json_t *in, const struct alert *alerts, size_t n, json_t *out)
{
    struct text t = {.len = 0, .max = INCIDENT_TITLE_MAX};
    const char *s = entry(in, "commonAnnotations", "summary");
    size_t i;

    if (s == NULL)
        s = entry(in, "commonLabels", "alertname");
    if (s == NULL)
        s = entry(in, "groupLabels", "alertname");
    for (i = 0; s == NULL && i != n; ++i)
        s = alerts[i].name;
    put(&t, s != NULL ? s : "Alertmanager alert", INCIDENT_TITLE_MAX, 0);
    json_object_set_new(out, "title", json_string(t.buf));
}

static void shape(const struct conf *conf, json_t *in, const struct alert *alerts, size_t n, json_t *out)
{
    static const char *const impacts[] = {"none", "minor", "major", "critical"};
    size_t i, firing = 0, left, truncated = (size_t)json_integer_value(json_object_get(in, "truncatedAlerts"));
    /* Alertmanager cuts a notification to max_alerts before it sums up its status: "resolved" with alerts left out
     * says only that the alerts shown are, and those left out may still fire. Glance resolves on a whole group. */
    int resolved = strcmp(json_string_value(json_object_get(in, "status")), "resolved") == 0 && truncated == 0;
    int named[CONF_MAX_CLUSTERS] = {0}, impact = -1;
    struct text t = {.len = 0, .max = INCIDENT_TEXT_MAX};
    json_t *clusters = json_array();
    char line[160], digest[17];

    for (i = 0; i != n; ++i)
        firing += alerts[i].firing != 0;
    for (i = 0; i != n; ++i) {
        /* the clusters and the impact of what fires; of every alert when nothing does */
        int sev;
        if (firing != 0 && !alerts[i].firing)
            continue;
        named[alerts[i].cluster_index] = 1;
        sev = impact_of(entry(alerts[i].obj, "labels", "severity"));
        if (sev > impact)
            impact = sev;
    }
    for (i = 0; i != conf->num_clusters; ++i)
        if (named[i])
            json_array_append_new(clusters, json_string(conf->clusters[i].name));
    if (resolved) {
        snprintf(line, sizeof(line), "Resolved: %s of this Alertmanager group is resolved.",
                 n == 1 ? "the alert" : "every alert");
        put(&t, line, sizeof(line), 1);
        left = put_lines(&t, alerts, n, 0, 64);
    } else {
        snprintf(line, sizeof(line), "Alertmanager: %zu alert%s firing", firing, firing == 1 ? "" : "s");
        put(&t, line, sizeof(line), 1);
        if (n - firing != 0) {
            snprintf(line, sizeof(line), ", %zu resolved", n - firing);
            put(&t, line, sizeof(line), 1);
        }
        put(&t, ".", 1, 1);
        if (truncated != 0) {
            snprintf(line, sizeof(line), " %zu more left out by Alertmanager (max_alerts), which may be firing.",
                     truncated);
            put(&t, line, sizeof(line), 1);
        }
        left = put_lines(&t, alerts, n, 1, 64);
        left += put_lines(&t, alerts, n, 0, 64);
    }
    if (left != 0) {
        snprintf(line, sizeof(line), "\n(and %zu more)", left);
        put(&t, line, sizeof(line), 1);
    }
    digest_of(alerts, n, truncated, digest);
    json_object_set_new(out, "group", json_deep_copy(json_object_get(in, "groupKey")));
    json_object_set_new(out, "status", json_string(resolved ? "resolved" : "firing"));
    json_object_set_new(out, "digest", json_string(digest));
    put_title(in, alerts, n, out);
    json_object_set_new(out, "impact", json_string(impacts[impact < 0 ? 2 : impact]));
    json_object_set_new(out, "clusters", clusters);
    json_object_set_new(out, "text", json_string(t.buf));
}

char *alertmanager_input(const struct conf *conf, const char *body, size_t len, char *err, size_t errlen)
{
    json_t *in, *out;
    struct alert *alerts;
    size_t n = 0;
    char *text = NULL;

    if ((in = incident_input_load(body, len, ALERTMANAGER_BODY_MAX, err, errlen)) == NULL)
        return NULL;
    n = json_is_object(in) ? json_array_size(json_object_get(in, "alerts")) + 1 : 1;
    alerts = h2o_mem_alloc(n * sizeof(*alerts));
    memset(alerts, 0, n * sizeof(*alerts));
    n = 0;
    if (check(conf, in, alerts, &n, err, errlen) == 0) {
        out = json_object();
        shape(conf, in, alerts, n, out);
        if ((text = json_dumps(out, JSON_COMPACT)) == NULL)
            fail(err, errlen, "out of memory");
        json_decref(out);
    }
    free(alerts);
    json_decref(in);
    return text;
}
