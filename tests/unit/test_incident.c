/* test_incident.c -- operators' incident and maintenance requests (incident_input.c) and how incidents are shown
 * in /plain's banner and the Atom feed (incident_render.c): what is refused, what is kept, what is escaped. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/conf.h"
#include "base/incident_input.h"
#include "base/incident_render.h"

#define NOW 1796040000000LL /* 2026-11-30T12:00:00Z */

static const char *lookup(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "GLANCE_BOTS") == 0 ? "alpha:360;beta:16" : NULL;
}

static struct conf conf;
static char err[256];

static char *input(enum incident_request kind, uint64_t id, const char *body)
{
    err[0] = '\0';
    return incident_input(&conf, kind, id, body, strlen(body), NOW, err, sizeof(err));
}

/* 1 when `kind`'s request `body` is refused with an error that holds `words` */
static int refused(enum incident_request kind, const char *body, const char *words)
{
    char *out = input(kind, 1, body);
    int ok = out == NULL && strstr(err, words) != NULL;

    if (!ok)
        fprintf(stderr, "  body %s: %s / %s\n", body, out != NULL ? out : "(refused)", err);
    free(out);
    return ok;
}

TEST(test_incident_new_keeps_what_was_posted)
{
    char *out = input(INCIDENT_NEW, 0, "{\"title\":\"Gateway\",\"impact\":\"major\",\"clusters\":[\"beta\",\"alpha\"],"
                                       "\"text\":\"Looking\\ninto it\"}");
    json_t *j;

    if (!CHECK(out != NULL))
        return;
    j = json_loads(out, 0, NULL);
    CHECK(strcmp(json_string_value(json_object_get(j, "kind")), "incident") == 0);
    CHECK(strcmp(json_string_value(json_object_get(j, "status")), "investigating") == 0);
    CHECK(strcmp(json_string_value(json_object_get(j, "text")), "Looking\ninto it") == 0);
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(j, "clusters"), 0)), "beta") == 0);
    json_decref(j);
    free(out);
}

TEST(test_incident_new_refuses_bad_fields_with_a_reason)
{
    CHECK(refused(INCIDENT_NEW, "not json", "not JSON"));
    CHECK(refused(INCIDENT_NEW, "[1]", "JSON object"));
    CHECK(refused(INCIDENT_NEW, "{\"impact\":\"major\",\"clusters\":[\"alpha\"],\"text\":\"t\"}", "\"title\" is missing"));
    CHECK(refused(INCIDENT_NEW, "{\"title\":\"\",\"impact\":\"major\",\"clusters\":[\"alpha\"],\"text\":\"t\"}", "1 to 200"));
    CHECK(refused(INCIDENT_NEW, "{\"title\":\"a\\u0007b\",\"impact\":\"major\",\"clusters\":[\"alpha\"],\"text\":\"t\"}",
                  "control character"));
    CHECK(refused(INCIDENT_NEW, "{\"title\":\"a\",\"impact\":\"huge\",\"clusters\":[\"alpha\"],\"text\":\"t\"}", "\"impact\""));
    CHECK(refused(INCIDENT_NEW, "{\"title\":\"a\",\"impact\":\"minor\",\"clusters\":[],\"text\":\"t\"}", "at least one"));
    CHECK(refused(INCIDENT_NEW, "{\"title\":\"a\",\"impact\":\"minor\",\"clusters\":[\"gamma\"],\"text\":\"t\"}",
                  "unknown cluster \"gamma\""));
    CHECK(refused(INCIDENT_NEW, "{\"title\":\"a\",\"impact\":\"minor\",\"clusters\":[\"alpha\",\"alpha\"],\"text\":\"t\"}",
                  "twice"));
    CHECK(refused(INCIDENT_NEW, "{\"title\":\"a\",\"impact\":\"minor\",\"clusters\":[\"alpha\"],\"text\":\"t\",\"titel\":1}",
                  "unknown field \"titel\""));
    CHECK(refused(INCIDENT_NEW, "{\"title\":\"a\",\"impact\":\"minor\",\"clusters\":[\"alpha\"],\"text\":\"t\","
                                "\"status\":\"resolved\"}", "new incident"));
    CHECK(refused(INCIDENT_NEW, "{\"title\":\"a\",\"title\":\"b\",\"impact\":\"minor\",\"clusters\":[\"alpha\"],\"text\":\"t\"}",
                  "not JSON"));
}

TEST(test_incident_title_length_is_counted_in_bytes)
{
    char body[1024];
    char *out;

    snprintf(body, sizeof(body), "{\"title\":\"%0200d\",\"impact\":\"none\",\"clusters\":[\"alpha\"],\"text\":\"t\"}", 0);
    out = input(INCIDENT_NEW, 0, body);
    CHECK(out != NULL);
    free(out);
    snprintf(body, sizeof(body), "{\"title\":\"%0201d\",\"impact\":\"none\",\"clusters\":[\"alpha\"],\"text\":\"t\"}", 0);
    CHECK(refused(INCIDENT_NEW, body, "1 to 200 bytes"));
}

TEST(test_incident_maintenance_times_are_checked)
{
    char *out = input(MAINTENANCE_NEW, 0, "{\"title\":\"DB\",\"clusters\":[\"alpha\"],\"text\":\"t\","
                                           "\"starts\":\"2026-12-01T02:00:00Z\",\"ends\":\"2026-12-01T04:30:00+02:00\"}");
    json_t *j;

    if (!CHECK(out != NULL))
        return;
    j = json_loads(out, 0, NULL);
    CHECK(json_integer_value(json_object_get(j, "starts_ms")) == 1796090400000LL);
    CHECK(json_integer_value(json_object_get(j, "ends_ms")) == 1796092200000LL);
    CHECK(strcmp(json_string_value(json_object_get(j, "impact")), "maintenance") == 0);
    json_decref(j);
    free(out);
    CHECK(refused(MAINTENANCE_NEW, "{\"title\":\"DB\",\"clusters\":[\"alpha\"],\"text\":\"t\",\"starts\":\"2026-12-01T02:00:00\","
                                   "\"ends\":\"2026-12-01T03:00:00Z\"}", "\"starts\" must be a time"));
    CHECK(refused(MAINTENANCE_NEW, "{\"title\":\"DB\",\"clusters\":[\"alpha\"],\"text\":\"t\",\"starts\":\"2026-12-01T03:00:00Z\","
                                   "\"ends\":\"2026-12-01T02:00:00Z\"}", "after"));
    CHECK(refused(MAINTENANCE_NEW, "{\"title\":\"DB\",\"clusters\":[\"alpha\"],\"text\":\"t\",\"starts\":\"2026-11-30T01:00:00Z\","
                                   "\"ends\":\"2026-11-30T02:00:00Z\"}", "in the past"));
    CHECK(refused(MAINTENANCE_NEW, "{\"title\":\"DB\",\"clusters\":[\"alpha\"],\"text\":\"t\",\"starts\":\"2026-12-01T00:00:00Z\","
                                   "\"ends\":\"2027-01-01T00:00:00Z\"}", "30 days"));
    CHECK(refused(MAINTENANCE_NEW, "{\"title\":\"DB\",\"clusters\":[\"alpha\"],\"text\":\"t\",\"starts\":\"2026-02-30T00:00:00Z\","
                                   "\"ends\":\"2027-01-01T00:00:00Z\"}", "\"starts\" must be a time"));
    /* a window may start a few minutes back (clocks apart), not hours: that would turn shown downtime into
     * maintenance (479eca0 took a day) */
    CHECK(refused(MAINTENANCE_NEW, "{\"title\":\"DB\",\"clusters\":[\"alpha\"],\"text\":\"t\",\"starts\":\"2026-11-30T11:00:00Z\","
                                   "\"ends\":\"2026-11-30T13:00:00Z\"}", "more than 5 minutes ago"));
    out = input(MAINTENANCE_NEW, 0, "{\"title\":\"DB\",\"clusters\":[\"alpha\"],\"text\":\"t\",\"starts\":\"2026-11-30T11:56:00Z\","
                                    "\"ends\":\"2026-11-30T13:00:00Z\"}");
    CHECK(out != NULL);
    free(out);
}

TEST(test_incident_parse_time_forms)
{
    int64_t ms;

    CHECK(incident_parse_time("2026-11-30T12:00:00Z", 20, &ms) == 0 && ms == NOW);
    CHECK(incident_parse_time("2026-11-30T12:00Z", 17, &ms) == 0 && ms == NOW);
    CHECK(incident_parse_time("2026-11-30T12:00:00.5Z", 22, &ms) == 0 && ms == NOW + 500);
    CHECK(incident_parse_time("2026-11-30T13:00:00+01:00", 25, &ms) == 0 && ms == NOW);
    CHECK(incident_parse_time("2026-11-30T07:30:00-04:30", 25, &ms) == 0 && ms == NOW);
    CHECK(incident_parse_time("2026-11-30 11:20:00Z", 20, &ms) == -1);
    CHECK(incident_parse_time("2026-11-30T11:20:00+1:00", 24, &ms) == -1);
    CHECK(incident_parse_time("2026-11-30T11:20:00Zjunk", 24, &ms) == -1);
    /* digits only where digits go: sscanf's %d took a sign or spaces (479eca0 read both of these) */
    CHECK(incident_parse_time("2027-+1-+7T+1:+0Z", 17, &ms) == -1);
    CHECK(incident_parse_time("2027- 1- 7T 1: 0Z", 17, &ms) == -1);
    CHECK(incident_parse_time("2026-11-30T12:00:+0Z", 20, &ms) == -1);
    CHECK(incident_parse_time("2026-11-30T13:00:00+ 1:00", 25, &ms) == -1);
    /* RFC 3339 lets T and Z be lowercase */
    CHECK(incident_parse_time("2026-11-30t12:00:00z", 20, &ms) == 0 && ms == NOW);
}

TEST(test_incident_update_needs_text_and_a_known_status)
{
    char *out = input(INCIDENT_UPDATE, 7, "{\"text\":\"fixed\",\"status\":\"resolved\"}");

    CHECK(out != NULL && strstr(out, "\"id\":7") != NULL);
    free(out);
    CHECK(refused(INCIDENT_UPDATE, "{\"text\":\"fixed\",\"status\":\"done\"}", "\"status\" must be"));
    CHECK(refused(INCIDENT_UPDATE, "{\"status\":\"resolved\"}", "\"text\" is missing"));
}

static char *render(void (*fn)(json_t *, int64_t, h2o_buffer_t **), const char *list_json)
{
    json_t *list = json_loads(list_json, 0, NULL);
    h2o_buffer_t *buf;
    char *out;

    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    fn(list, NOW, &buf);
    out = buf->size != 0 ? strndup(buf->bytes, buf->size) : strdup(""); /* strndup(NULL, 0) would be undefined */
    h2o_buffer_dispose(&buf);
    json_decref(list);
    return out;
}

static void list_of(json_t *list, int64_t now, h2o_buffer_t **buf)
{
    (void)now;
    incident_render_list(list, buf);
}

static void atom(json_t *list, int64_t now, h2o_buffer_t **buf)
{
    incident_render_atom(list, "urn:glance:test:incidents", now, buf);
}

#define HOSTILE "{\"incidents\":[{\"id\":3,\"kind\":\"incident\",\"title\":\"<script>alert(1)</script>\\\"'&\\uFFFE\"," \
                "\"impact\":\"major\",\"clusters\":[\"alpha\"],\"automatic\":true,\"status\":\"investigating\"," \
                "\"created_ms\":1796039000000,\"resolved_ms\":null,\"updates\":[{\"at_ms\":1796039500000," \
                "\"status\":\"investigating\",\"text\":\"a <b>bold</b> claim\"}]}]}"

TEST(test_incident_banner_escapes_every_operator_word)
{
    char *html = render(incident_render_banner, HOSTILE);

    CHECK(strstr(html, "<script>") == NULL);
    CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;\xef\xbf\xbd") != NULL);
    CHECK(strstr(html, "a &lt;b&gt;bold&lt;/b&gt; claim") != NULL);
    CHECK(strstr(html, "id=\"incident-3\"") != NULL);
    free(html);
    html = render(list_of, HOSTILE);
    CHECK(strstr(html, "<script>") == NULL);
    CHECK(strstr(html, "Incident history (1, newest first;") != NULL);
    CHECK(strstr(html, "Incident (automatic): <bdi>&lt;script&gt;") != NULL);
    free(html);
}

TEST(test_incident_banner_shows_only_what_is_open_or_near)
{
    char *html = render(incident_render_banner,
                        "{\"incidents\":[{\"id\":1,\"kind\":\"incident\",\"title\":\"old\",\"resolved_ms\":1,\"updates\":[]},"
                        "{\"id\":2,\"kind\":\"maintenance\",\"title\":\"far\",\"resolved_ms\":null,"
                        "\"starts_ms\":1797040000000,\"ends_ms\":1797050000000,\"updates\":[]},"
                        "{\"id\":4,\"kind\":\"maintenance\",\"title\":\"soon\",\"resolved_ms\":null,"
                        "\"starts_ms\":1796043600000,\"ends_ms\":1796047200000,\"updates\":[]}]}");

    CHECK(strstr(html, "old") == NULL);
    CHECK(strstr(html, "far") == NULL);
    CHECK(strstr(html, "Scheduled maintenance: <bdi>soon</bdi>") != NULL);
    free(html);
    html = render(incident_render_banner, "{\"incidents\":[]}");
    CHECK(html[0] == '\0');
    free(html);
}

TEST(test_incident_atom_escapes_and_dates_entries)
{
    char *xml = render(atom, HOSTILE);

    CHECK(strncmp(xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?>", 38) == 0);
    CHECK(strstr(xml, "<script>") == NULL);
    CHECK(strstr(xml, "\xef\xbf\xbe") == NULL);
    CHECK(strstr(xml, "<id>urn:glance:test:incidents:3</id>") != NULL);
    CHECK(strstr(xml, "<updated>2026-11-30T11:51:40.000Z</updated>") != NULL);
    CHECK(strstr(xml, "Opened automatically by Glance.") != NULL);
    free(xml);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_incident_new_keeps_what_was_posted),
        CHECK_CASE(test_incident_new_refuses_bad_fields_with_a_reason),
        CHECK_CASE(test_incident_title_length_is_counted_in_bytes),
        CHECK_CASE(test_incident_maintenance_times_are_checked),
        CHECK_CASE(test_incident_parse_time_forms),
        CHECK_CASE(test_incident_update_needs_text_and_a_known_status),
        CHECK_CASE(test_incident_banner_escapes_every_operator_word),
        CHECK_CASE(test_incident_banner_shows_only_what_is_open_or_near),
        CHECK_CASE(test_incident_atom_escapes_and_dates_entries),
    };

    if (conf_load(&conf, lookup, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "conf: %s\n", err);
        return 1;
    }
    return CHECK_RUN(cases);
}
