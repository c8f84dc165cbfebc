/* test_alertmanager.c -- Alertmanager's notifications shaped into an incident (alertmanager_input.c): the digest that
 * tells a repeat from a change, the title and impact a page shows, and a text held to an incident's bound however
 * many alerts a group has and whatever bytes their annotations hold. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/alertmanager_input.h"
#include "base/conf.h"
#include "base/incident_input.h"

static const char *lookup(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "GLANCE_BOTS") == 0 ? "alpha:360;beta:16" : NULL;
}

static struct conf conf;
static char err[256];

/* The shaped JSON of a notification, parsed; NULL when refused (the reason in err). */
static json_t *shape(json_t *notification)
{
    char *body = json_dumps(notification, JSON_COMPACT), *out;
    json_t *j = NULL;

    err[0] = '\0';
    out = alertmanager_input(&conf, body, strlen(body), err, sizeof(err));
    if (out != NULL)
        j = json_loads(out, 0, NULL);
    free(out);
    free(body);
    json_decref(notification);
    return j;
}

static json_t *alert(const char *status, const char *name, const char *cluster, const char *severity, const char *fp,
                     const char *summary)
{
    json_t *labels = json_pack("{s:s, s:s}", "alertname", name, "glance_cluster", cluster);

    if (severity != NULL)
        json_object_set_new(labels, "severity", json_string(severity));
    return json_pack("{s:s, s:o, s:o, s:s}", "status", status, "labels", labels, "annotations",
                     summary != NULL ? json_pack("{s:s}", "summary", summary) : json_object(), "fingerprint", fp);
}

static json_t *notification(const char *status, json_t *alerts)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "version", "4", "groupKey", "{}:{alertname=\"X\"}", "status", status,
                     "alerts", alerts);
}

static const char *str(json_t *j, const char *name)
{
    return json_string_value(json_object_get(j, name));
}

TEST(test_alertmanager_digest_names_the_firing_set_in_any_order)
{
    json_t *a = shape(notification("firing", json_pack("[o, o]", alert("firing", "X", "alpha", NULL, "f1", NULL),
                                                       alert("firing", "X", "beta", NULL, "f2", NULL))));
    json_t *b = shape(notification("firing", json_pack("[o, o]", alert("firing", "X", "beta", NULL, "f2", NULL),
                                                       alert("firing", "X", "alpha", NULL, "f1", NULL))));
    /* f2 resolved: another set */
    json_t *c = shape(notification("firing", json_pack("[o, o]", alert("firing", "X", "alpha", NULL, "f1", NULL),
                                                       alert("resolved", "X", "beta", NULL, "f2", NULL))));

    if (!CHECK(a != NULL && b != NULL && c != NULL))
        return;
    CHECK_STR(str(a, "digest"), str(b, "digest"));
    CHECK(strcmp(str(a, "digest"), str(c, "digest")) != 0);
    CHECK_EQ_U64(strlen(str(a, "digest")), 16);
    /* the clusters of what fires, in the configured order */
    CHECK_EQ_U64(json_array_size(json_object_get(b, "clusters")), 2);
    CHECK_STR(json_string_value(json_array_get(json_object_get(b, "clusters"), 0)), "alpha");
    CHECK_EQ_U64(json_array_size(json_object_get(c, "clusters")), 1);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

TEST(test_alertmanager_impact_is_the_worst_severity_that_fires)
{
    static const struct {
        const char *a, *b, *impact;
    } cases[] = {
        {"warning", "critical", "critical"}, {"info", "warning", "minor"}, {"info", "none", "none"},
        {"error", "low", "major"},           {NULL, "info", "major"},      {"CRITICAL", "info", "critical"},
        {"page", NULL, "critical"},          {"whatever", "info", "major"},
    };
    size_t i;

    for (i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        json_t *j = shape(notification("firing", json_pack("[o, o]", alert("firing", "X", "alpha", cases[i].a, "f1", NULL),
                                                           alert("firing", "X", "alpha", cases[i].b, "f2", NULL))));
        if (!CHECK(j != NULL))
            return;
        CHECK_STR(str(j, "impact"), cases[i].impact);
        json_decref(j);
    }
    /* a resolved alert's severity does not count while another fires */
    json_t *j = shape(notification("firing", json_pack("[o, o]", alert("resolved", "X", "alpha", "critical", "f1", NULL),
                                                       alert("firing", "X", "alpha", "warning", "f2", NULL))));
    CHECK_STR(str(j, "impact"), "minor");
    json_decref(j);
}

TEST(test_alertmanager_title_is_the_common_summary_then_the_alert_name)
{
    json_t *n = notification("firing", json_pack("[o]", alert("firing", "GatewayErrors", "alpha", NULL, "f1", "one")));
    json_t *j;

    json_object_set_new(n, "commonAnnotations", json_pack("{s:s}", "summary", "Gateway errors\non alpha"));
    j = shape(n);
    CHECK_STR(str(j, "title"), "Gateway errors on alpha"); /* a title is one line */
    json_decref(j);
    j = shape(notification("firing", json_pack("[o]", alert("firing", "GatewayErrors", "alpha", NULL, "f1", "one"))));
    CHECK_STR(str(j, "title"), "GatewayErrors");
    CHECK_STR(str(j, "text"), "Alertmanager: 1 alert firing.\n- GatewayErrors (alpha): one");
    json_decref(j);
}

TEST(test_alertmanager_text_stays_within_an_incidents_bound)
{
    json_t *alerts = json_array(), *j;
    char fp[16], summary[600];
    const char *text, *more;
    size_t i;

    /* 300 alerts with 3-byte characters in long summaries: the text is cut on whole lines, says how many are left,
     * and stays valid UTF-8 (jansson refuses anything else) */
    memset(summary, 0, sizeof(summary));
    for (i = 0; i + 3 < sizeof(summary) - 1; i += 3)
        memcpy(summary + i, "\xe2\x82\xac", 3);
    for (i = 0; i != 300; ++i) {
        snprintf(fp, sizeof(fp), "f%zu", i);
        json_array_append_new(alerts, alert(i % 7 == 0 ? "resolved" : "firing", "X", "alpha", NULL, fp, summary));
    }
    j = shape(notification("firing", alerts));
    if (!CHECK(j != NULL))
        return;
    text = str(j, "text");
    CHECK(strlen(text) <= INCIDENT_TEXT_MAX);
    static const char head[] = "Alertmanager: 257 alerts firing, 43 resolved.\n- X (alpha): \xe2\x82\xac";
    if (!CHECK(strncmp(text, head, sizeof(head) - 1) == 0))
        fprintf(stderr, "  text: %.120s\n", text);
    more = strstr(text, "\n(and ");
    CHECK(more != NULL && strstr(more, " more)") != NULL);
    json_decref(j);
}

TEST(test_alertmanager_refuses_what_it_cannot_place)
{
    CHECK(shape(json_pack("{s:s}", "version", "4")) == NULL && strstr(err, "\"groupKey\" is missing") != NULL);
    CHECK(shape(notification("firing", json_pack("[o]", alert("firing", "X", "gamma", NULL, "f", NULL)))) == NULL &&
          strstr(err, "label glance_cluster=\"gamma\" names no configured cluster") != NULL);
    CHECK(shape(notification("firing", json_pack("[{s:s, s:{s:s}}]", "status", "firing", "labels", "alertname", "X"))) ==
              NULL &&
          strstr(err, "has no \"glance_cluster\" label") != NULL);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_alertmanager_digest_names_the_firing_set_in_any_order),
        CHECK_CASE(test_alertmanager_impact_is_the_worst_severity_that_fires),
        CHECK_CASE(test_alertmanager_title_is_the_common_summary_then_the_alert_name),
        CHECK_CASE(test_alertmanager_text_stays_within_an_incidents_bound),
        CHECK_CASE(test_alertmanager_refuses_what_it_cannot_place),
    };

    if (conf_load(&conf, lookup, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "conf: %s\n", err);
        return 1;
    }
    return CHECK_RUN(cases);
}
