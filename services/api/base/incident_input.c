/* incident_input.c -- operators' incident and maintenance requests, checked and turned into incident.lua's JSON.
 * Every check runs before Redis is asked anything, so a refused request changes nothing. */
#include "base/incident_input.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/conf.h"

int incident_input_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

#define fail incident_input_fail

json_t *incident_input_load(const char *body, size_t len, size_t max, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *in;

    if (len > max) {
        fail(err, errlen, "the body is over %zu bytes", max);
        return NULL;
    }
    if ((in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
        fail(err, errlen, "the body is not JSON: %s", jerr.text);
    return in;
}

static int one_of(const char *s, const char *const *set)
{
    for (; *set != NULL; ++set)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

/* A string field of 1..max bytes; control characters are refused, but a text may hold line breaks and tabs. */
static int get_text(json_t *obj, const char *name, size_t max, int multiline, const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, name);
    size_t len, i;

    if (v == NULL)
        return fail(err, errlen, "\"%s\" is missing", name);
    if (!json_is_string(v))
        return fail(err, errlen, "\"%s\" must be a string", name);
    len = json_string_length(v);
    if (len == 0 || len > max)
        return fail(err, errlen, "\"%s\" must be 1 to %zu bytes long", name, max);
    *out = json_string_value(v);
    for (i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)(*out)[i];
        if ((c < 0x20 || c == 0x7f) && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
            return fail(err, errlen, "\"%s\" holds a control character", name);
    }
    return 0;
}

/* "clusters": a list of distinct names of configured clusters, at least one. Fills `out` with them. */
static int get_clusters(const struct conf *conf, json_t *obj, json_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, "clusters"), *item;
    size_t i, j, k;

    if (v == NULL)
        return fail(err, errlen, "\"clusters\" is missing");
    if (!json_is_array(v) || json_array_size(v) == 0)
        return fail(err, errlen, "\"clusters\" must be a list of at least one cluster name");
    json_array_foreach(v, i, item) {
        const char *name = json_string_value(item);
        if (name == NULL)
            return fail(err, errlen, "\"clusters\" must hold cluster names (strings)");
        for (k = 0; k != conf->num_clusters && strcmp(conf->clusters[k].name, name) != 0; ++k)
            ;
        if (k == conf->num_clusters)
            return fail(err, errlen, "unknown cluster \"%.64s\"", name);
        for (j = 0; j != i; ++j)
            if (strcmp(json_string_value(json_array_get(v, j)), name) == 0)
                return fail(err, errlen, "cluster \"%s\" is listed twice", name);
        json_array_append_new(out, json_string(name));
    }
    return 0;
}

/* The `n` ASCII digits at `p` as a number, or -1 when any is not a digit (sscanf's %d would also take a sign or
 * spaces: "2027-+1- 7T..." is not a time). */
static int fixed_digits(const char *p, int n)
{
    int v = 0;

    for (int i = 0; i != n; ++i) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* RFC 3339: YYYY-MM-DDThh:mm[:ss[.fraction]] then Z or +hh:mm / -hh:mm; T and Z in either case (section 5.6). */
int incident_parse_time(const char *s, size_t len, int64_t *out_ms)
{
    char buf[40];
    struct tm tm;
    int y, mo, d, h, mi, sec = 0, oh = 0, om = 0;
    long frac_ms = 0;
    const char *p;
    time_t t;

    if (len < 17 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[4] != '-' || buf[7] != '-' || (buf[10] != 'T' && buf[10] != 't') || buf[13] != ':' ||
        (y = fixed_digits(buf, 4)) < 0 || (mo = fixed_digits(buf + 5, 2)) < 0 || (d = fixed_digits(buf + 8, 2)) < 0 ||
        (h = fixed_digits(buf + 11, 2)) < 0 || (mi = fixed_digits(buf + 14, 2)) < 0)
        return -1;
    p = buf + 16;
    if (*p == ':') {
        if ((sec = fixed_digits(p + 1, 2)) < 0)
            return -1;
        p += 3;
        if (*p == '.') {
            int digits = 0;
            for (++p; *p >= '0' && *p <= '9'; ++p, ++digits)
                if (digits < 3)
                    frac_ms = frac_ms * 10 + (*p - '0');
            if (digits == 0)
                return -1;
            for (; digits < 3; ++digits)
                frac_ms *= 10;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        ++p;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        if (strlen(p) != 6 || p[3] != ':' || (oh = fixed_digits(p + 1, 2)) < 0 || (om = fixed_digits(p + 4, 2)) < 0 ||
            oh > 23 || om > 59)
            return -1;
        oh *= sign;
        om *= sign;
        p += 6;
    } else {
        return -1; /* a time without a zone is ambiguous */
    }
    if (*p != '\0' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (tm.tm_mday != d) /* February 30th and the like roll over */
        return -1;
    *out_ms = ((int64_t)t - oh * 3600 - om * 60) * 1000 + frac_ms;
    return 0;
}

static int get_time(json_t *obj, const char *name, int64_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, name);

    if (v == NULL)
        return fail(err, errlen, "\"%s\" is missing", name);
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 253402300800000LL) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && incident_parse_time(json_string_value(v), json_string_length(v), out) == 0)
        return 0;
    return fail(err, errlen, "\"%s\" must be a time like \"2026-12-01T02:00:00Z\" or milliseconds since 1970", name);
}

/* Refuses any field not in `allowed`. */
static int only(json_t *obj, const char *const *allowed, char *err, size_t errlen)
{
    const char *name;
    json_t *v;

    json_object_foreach(obj, name, v) {
        if (!one_of(name, allowed))
            return fail(err, errlen, "unknown field \"%.40s\"", name);
    }
    return 0;
}

static const char *const incident_statuses[] = {"investigating", "identified", "monitoring", "resolved", NULL};
static const char *const maintenance_statuses[] = {"scheduled", "in progress", "completed", NULL};

static int check(const struct conf *conf, enum incident_request kind, uint64_t id, json_t *in, json_t *out,
                 int64_t now, char *err, size_t errlen)
{
    static const char *const new_fields[] = {"title", "impact", "clusters", "text", "status", NULL};
    static const char *const maintenance_fields[] = {"title", "clusters", "text", "starts", "ends", NULL};
    static const char *const update_fields[] = {"text", "status", NULL};
    static const char *const impacts[] = {"none", "minor", "major", "critical", NULL};
    const char *title, *text, *impact, *status;
    int64_t starts, ends;
    json_t *clusters, *v;

    if (!json_is_object(in))
        return fail(err, errlen, "the body must be a JSON object");
    if (kind == INCIDENT_UPDATE) {
        if (only(in, update_fields, err, errlen) != 0 || get_text(in, "text", INCIDENT_TEXT_MAX, 1, &text, err, errlen) != 0 ||
            get_text(in, "status", 32, 0, &status, err, errlen) != 0)
            return -1;
        if (!one_of(status, incident_statuses) && !one_of(status, maintenance_statuses))
            return fail(err, errlen, "\"status\" must be investigating, identified, monitoring or resolved for an "
                                     "incident; scheduled, in progress or completed for a maintenance");
        json_object_set_new(out, "id", json_integer((json_int_t)id));
        json_object_set_new(out, "text", json_string(text));
        json_object_set_new(out, "status", json_string(status));
        return 0;
    }
    if (only(in, kind == INCIDENT_NEW ? new_fields : maintenance_fields, err, errlen) != 0 ||
        get_text(in, "title", INCIDENT_TITLE_MAX, 0, &title, err, errlen) != 0 ||
        get_text(in, "text", INCIDENT_TEXT_MAX, 1, &text, err, errlen) != 0)
        return -1;
    clusters = json_array();
    json_object_set_new(out, "clusters", clusters);
    if (get_clusters(conf, in, clusters, err, errlen) != 0)
        return -1;
    json_object_set_new(out, "title", json_string(title));
    json_object_set_new(out, "text", json_string(text));
    if (kind == INCIDENT_NEW) {
        if (get_text(in, "impact", 16, 0, &impact, err, errlen) != 0)
            return -1;
        if (!one_of(impact, impacts))
            return fail(err, errlen, "\"impact\" must be none, minor, major or critical");
        status = "investigating";
        if ((v = json_object_get(in, "status")) != NULL &&
            (!json_is_string(v) || !one_of(status = json_string_value(v), incident_statuses) ||
             strcmp(status, "resolved") == 0))
            return fail(err, errlen, "\"status\" of a new incident must be investigating, identified or monitoring");
        json_object_set_new(out, "kind", json_string("incident"));
        json_object_set_new(out, "impact", json_string(impact));
        json_object_set_new(out, "status", json_string(status));
        return 0;
    }
    if (get_time(in, "starts", &starts, err, errlen) != 0 || get_time(in, "ends", &ends, err, errlen) != 0)
        return -1;
    if (ends <= starts)
        return fail(err, errlen, "\"ends\" must be after \"starts\"");
    if (ends <= now)
        return fail(err, errlen, "\"ends\" is in the past");
    if (ends - starts > INCIDENT_MAINTENANCE_MAX_MS)
        return fail(err, errlen, "a maintenance window may last at most 30 days");
    if (starts > now + INCIDENT_MAINTENANCE_AHEAD_MS)
        return fail(err, errlen, "\"starts\" is more than 90 days ahead");
    if (starts < now - INCIDENT_MAINTENANCE_BEHIND_MS)
        return fail(err, errlen, "\"starts\" is more than 5 minutes ago: a window cannot turn past downtime into "
                                 "maintenance");
    json_object_set_new(out, "kind", json_string("maintenance"));
    json_object_set_new(out, "impact", json_string("maintenance"));
    json_object_set_new(out, "status", json_string("scheduled"));
    json_object_set_new(out, "starts_ms", json_integer(starts));
    json_object_set_new(out, "ends_ms", json_integer(ends));
    return 0;
}

char *incident_input(const struct conf *conf, enum incident_request kind, uint64_t id, const char *body, size_t len,
                     int64_t now_ms, char *err, size_t errlen)
{
    json_t *in, *out;
    char *text = NULL;

    if ((in = incident_input_load(body, len, INCIDENT_BODY_MAX, err, errlen)) == NULL)
        return NULL;
    out = json_object();
    if (check(conf, kind, id, in, out, now_ms, err, errlen) == 0)
        text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    json_decref(in);
    return text;
}
