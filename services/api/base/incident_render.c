/* incident_render.c -- incidents and maintenance as /plain's banner and as the Atom feed /history.atom. */
#include "base/incident_render.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include "base/codec.h"

#define BANNER_AHEAD_MS 86400000LL /* maintenance this close shows in the banner */

void incident_put_escaped(h2o_buffer_t **buf, const char *s, size_t len)
{
    size_t i, from = 0;

    for (i = 0; i != len; ++i) {
        const char *rep = NULL;
        size_t skip = 1;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\xef':
            if (i + 2 < len && s[i + 1] == '\xbf' && (s[i + 2] == '\xbe' || s[i + 2] == '\xbf')) {
                rep = "\xef\xbf\xbd";
                skip = 3;
            }
            break;
        default:
            /* control characters other than tab and line breaks are not XML 1.0 characters */
            if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
                rep = "\xef\xbf\xbd";
            break;
        }
        if (rep == NULL)
            continue;
        codec_put(buf, s + from, i - from);
        codec_put(buf, rep, strlen(rep));
        i += skip - 1;
        from = i + 1;
    }
    codec_put(buf, s + from, len - from);
}

static void put(h2o_buffer_t **buf, const char *s)
{
    codec_put(buf, s, strlen(s));
}

static void put_field(h2o_buffer_t **buf, json_t *rec, const char *name)
{
    json_t *v = json_object_get(rec, name);

    if (json_is_string(v))
        incident_put_escaped(buf, json_string_value(v), json_string_length(v));
}

/* A time field in ms; 0 when it is missing or not a time between 1970 and 9999. */
static int64_t ms_of(json_t *rec, const char *name)
{
    json_t *v = json_object_get(rec, name);
    double ms = json_is_number(v) ? json_number_value(v) : 0;

    return ms >= 0 && ms < 253402300800000.0 ? (int64_t)ms : 0;
}

/* "2026-11-30T12:00:00.000Z" (rfc3339) or "2026-11-30 12:00 UTC" */
static void put_time(h2o_buffer_t **buf, int64_t ms, int rfc3339)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[40];

    gmtime_r(&t, &tm);
    if (rfc3339) {
        size_t n = strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(s + n, sizeof(s) - n, ".%03dZ", (int)(ms % 1000));
    } else {
        strftime(s, sizeof(s), "%Y-%m-%d %H:%M UTC", &tm);
    }
    put(buf, s);
}

static void put_clusters(h2o_buffer_t **buf, json_t *rec)
{
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(rec, "clusters"), i, c) {
        if (i != 0)
            put(buf, ", ");
        if (json_is_string(c))
            incident_put_escaped(buf, json_string_value(c), json_string_length(c));
    }
}

static int is_resolved(json_t *rec)
{
    return json_is_number(json_object_get(rec, "resolved_ms"));
}

/* An incident Alertmanager's webhook opened (alertmanager.lua): automatic, but not Glance's own. */
static int from_alertmanager(json_t *rec)
{
    const char *source = json_string_value(json_object_get(rec, "source"));

    return source != NULL && strcmp(source, "alertmanager") == 0;
}

static int is_maintenance(json_t *rec)
{
    json_t *k = json_object_get(rec, "kind");

    return json_is_string(k) && strcmp(json_string_value(k), "maintenance") == 0;
}

int incident_maintenance_on(json_t *list, const char *name, int64_t now_ms)
{
    json_t *rec, *c;
    size_t i, k;

    json_array_foreach(json_object_get(list, "incidents"), i, rec) {
        if (!is_maintenance(rec) || is_resolved(rec) || ms_of(rec, "starts_ms") > now_ms ||
            ms_of(rec, "ends_ms") <= now_ms)
            continue;
        json_array_foreach(json_object_get(rec, "clusters"), k, c) {
            if (json_is_string(c) && strcmp(json_string_value(c), name) == 0)
                return 1;
        }
    }
    return 0;
}

/* Each update of `rec`, newest first: `open`, its time, `mid`, its status, `before` its text `after`. */
static void put_updates(h2o_buffer_t **buf, json_t *rec, const char *open, const char *mid, const char *before,
                        const char *after)
{
    json_t *u;
    size_t i;

    json_array_foreach(json_object_get(rec, "updates"), i, u) {
        put(buf, open);
        put_time(buf, ms_of(u, "at_ms"), 0);
        put(buf, mid);
        put_field(buf, u, "status");
        put(buf, before);
        put_field(buf, u, "text");
        put(buf, after);
    }
}

void incident_render_banner(json_t *list, int64_t now_ms, h2o_buffer_t **buf)
{
    json_t *rec, *latest;
    size_t i, shown = 0;
    char id[32];

    json_array_foreach(json_object_get(list, "incidents"), i, rec) {
        if (is_resolved(rec) || (is_maintenance(rec) && ms_of(rec, "starts_ms") > now_ms + BANNER_AHEAD_MS))
            continue;
        if (shown++ == 0)
            put(buf, "<section class=\"banner\" aria-label=\"Incidents and maintenance\">");
        snprintf(id, sizeof(id), "%lld", (long long)ms_of(rec, "id"));
        put(buf, "<p id=\"incident-");
        put(buf, id);
        put(buf, "\"><strong>");
        if (is_maintenance(rec)) {
            put(buf, ms_of(rec, "starts_ms") > now_ms ? "Scheduled maintenance" : "Maintenance in progress");
        } else {
            put(buf, "Incident (");
            put_field(buf, rec, "impact");
            put(buf, " impact)");
        }
        put(buf, ": <bdi>");
        put_field(buf, rec, "title");
        put(buf, "</bdi></strong> — ");
        put_clusters(buf, rec);
        if (is_maintenance(rec)) {
            put(buf, "; from ");
            put_time(buf, ms_of(rec, "starts_ms"), 0);
            put(buf, " to ");
            put_time(buf, ms_of(rec, "ends_ms"), 0);
        }
        if ((latest = json_array_get(json_object_get(rec, "updates"), 0)) != NULL) {
            put(buf, ". ");
            put_field(buf, latest, "status");
            put(buf, " at ");
            put_time(buf, ms_of(latest, "at_ms"), 0);
            put(buf, ": <bdi>");
            put_field(buf, latest, "text");
            put(buf, "</bdi>");
        }
        put(buf, "</p>");
    }
    if (shown != 0)
        put(buf, "</section>");
}

void incident_render_list(json_t *list, h2o_buffer_t **buf)
{
    json_t *rec;
    size_t i, n = json_array_size(json_object_get(list, "incidents"));
    char line[128];

    if (n == 0)
        return;
    /* the feed's link stays out of the summary: a link inside the control that opens the list would be two
     * controls in one, which keyboards and screen readers cannot tell apart */
    snprintf(line, sizeof(line), "<details><summary>Incident history (%zu, newest first; also as an Atom feed)", n);
    put(buf, line);
    put(buf, "</summary><p><a href=\"/history.atom\">Follow (Atom feed)</a></p><ul>");
    json_array_foreach(json_object_get(list, "incidents"), i, rec) {
        put(buf, "<li><strong>");
        put(buf, is_maintenance(rec) ? "Maintenance" : "Incident");
        put(buf, from_alertmanager(rec) ? " (from Alertmanager)" : json_is_true(json_object_get(rec, "automatic")) ? " (automatic)" : "");
        put(buf, ": <bdi>");
        put_field(buf, rec, "title");
        put(buf, "</bdi></strong> — ");
        put_clusters(buf, rec);
        put(buf, "; ");
        put_field(buf, rec, "status");
        put(buf, "<ul>");
        put_updates(buf, rec, "<li>", ", ", ": <bdi>", "</bdi></li>");
        put(buf, "</ul></li>");
    }
    put(buf, "</ul></details>");
}

void incident_render_atom(json_t *list, const char *feed_id, int64_t now_ms, h2o_buffer_t **buf)
{
    json_t *rec, *first;
    size_t i;
    int64_t newest = 0;
    char id[32];

    json_array_foreach(json_object_get(list, "incidents"), i, rec) {
        first = json_array_get(json_object_get(rec, "updates"), 0);
        if (first != NULL && ms_of(first, "at_ms") > newest)
            newest = ms_of(first, "at_ms");
    }
    put(buf, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"
             "<title>Incidents and maintenance</title><id>");
    incident_put_escaped(buf, feed_id, strlen(feed_id));
    put(buf, "</id><link rel=\"alternate\" href=\"/\"/><link rel=\"self\" href=\"/history.atom\"/><updated>");
    put_time(buf, newest != 0 ? newest : now_ms, 1);
    put(buf, "</updated><author><name>Glance</name></author>\n");
    json_array_foreach(json_object_get(list, "incidents"), i, rec) {
        snprintf(id, sizeof(id), "%lld", (long long)ms_of(rec, "id"));
        first = json_array_get(json_object_get(rec, "updates"), 0);
        put(buf, "<entry><id>");
        incident_put_escaped(buf, feed_id, strlen(feed_id));
        put(buf, ":");
        put(buf, id);
        put(buf, "</id><title>");
        put(buf, is_maintenance(rec) ? "Maintenance" : "Incident");
        put(buf, " (");
        put_field(buf, rec, "status");
        put(buf, "): ");
        put_field(buf, rec, "title");
        put(buf, "</title><link rel=\"alternate\" href=\"/#incident-");
        put(buf, id);
        put(buf, "\"/><published>");
        put_time(buf, ms_of(rec, "created_ms"), 1);
        put(buf, "</published><updated>");
        put_time(buf, first != NULL ? ms_of(first, "at_ms") : ms_of(rec, "created_ms"), 1);
        put(buf, "</updated><content type=\"text\">");
        put(buf, from_alertmanager(rec)                                 ? "Opened by Alertmanager. "
                 : json_is_true(json_object_get(rec, "automatic")) ? "Opened automatically by Glance. "
                                                                   : "");
        put(buf, "Clusters: ");
        put_clusters(buf, rec);
        put(buf, ". Impact: ");
        put_field(buf, rec, "impact");
        put(buf, ".");
        if (is_maintenance(rec)) {
            put(buf, " Window: ");
            put_time(buf, ms_of(rec, "starts_ms"), 0);
            put(buf, " to ");
            put_time(buf, ms_of(rec, "ends_ms"), 0);
            put(buf, ".");
        }
        put_updates(buf, rec, "\n\n", " — ", ": ", "");
        put(buf, "</content></entry>\n");
    }
    put(buf, "</feed>\n");
}
