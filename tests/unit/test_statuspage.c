/* test_statuspage.c -- Statuspage's documents from hand-made inputs: the paths, the times at the epoch's edges, the
 * indicator from conditions and open impacts, a window's phase by the clock, and records of the wrong types (a
 * Redis written by another build, a hand edit) rendered as valid JSON rather than crashing or leaking. */
#include <jansson.h>
#include <stdlib.h>
#include "base/condition.h"
#include "check.h"
#include "render/badge.h"
#include "render/statuspage.h"

static const struct statuspage_component two[] = {{"main", CONDITION_OPERATIONAL, 1765152000123}, {"eu", CONDITION_MAJOR, 0}};

/* Renders `doc` over `incidents` (JSON text, or NULL) and parses it back; NULL when it is not JSON. */
static json_t *render(enum statuspage_doc doc, int whole, const char *incidents, int64_t now)
{
    json_t *list = incidents != NULL ? json_loads(incidents, 0, NULL) : NULL;
    struct statuspage_input in = {"glance", "Glance", "", two, 2, whole, list, now};
    char *text = statuspage_render(doc, &in);
    json_t *out = text != NULL ? json_loads(text, 0, NULL) : NULL;

    free(text);
    json_decref(list);
    return out;
}

static const char *str(json_t *doc, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(doc, a), b));
}

TEST(test_statuspage_knows_its_eight_paths_and_no_other)
{
    static const char *const good[] = {"summary.json", "status.json", "components.json", "incidents.json",
                                       "incidents/unresolved.json", "scheduled-maintenances.json",
                                       "scheduled-maintenances/upcoming.json", "scheduled-maintenances/active.json"};
    for (int i = 0; i != STATUSPAGE_NUM_DOCS; ++i) {
        CHECK(statuspage_doc_of(good[i], strlen(good[i])) == i);
        CHECK_STR(statuspage_doc_path((enum statuspage_doc)i), good[i]);
    }
    CHECK(statuspage_doc_of("summary", 7) == -1);
    CHECK(statuspage_doc_of("summary.json/", 13) == -1);
    CHECK(statuspage_doc_of("incidents/", 10) == -1);
    CHECK(statuspage_doc_of("", 0) == -1);
}

TEST(test_statuspage_components_times_and_indicator)
{
    json_t *doc = render(STATUSPAGE_SUMMARY, CONDITION_MAJOR, NULL, 1765152000123);
    json_t *eu;

    if (!CHECK(doc != NULL))
        return;
    eu = json_array_get(json_object_get(doc, "components"), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(doc, "components"), 0), "updated_at")),
              "2025-12-08T00:00:00.123Z");
    CHECK_STR(json_string_value(json_object_get(eu, "status")), "major_outage");
    CHECK_STR(json_string_value(json_object_get(eu, "created_at")), "2025-12-08T00:00:00.123Z"); /* no since yet: now */
    CHECK_STR(str(doc, "status", "indicator"), "critical");
    CHECK_STR(str(doc, "page", "url"), "/");
    CHECK_STR(str(doc, "page", "updated_at"), "2025-12-08T00:00:00.123Z");
    json_decref(doc);
    /* every cluster in a window and nothing open: maintenance; an open critical incident wins over operational */
    doc = render(STATUSPAGE_STATUS, BADGE_MAINTENANCE, "{\"incidents\":[]}", 0);
    CHECK_STR(str(doc, "status", "indicator"), "maintenance");
    json_decref(doc);
    doc = render(STATUSPAGE_STATUS, CONDITION_OPERATIONAL,
                 "{\"incidents\":[{\"id\":1,\"kind\":\"incident\",\"impact\":\"critical\",\"resolved_ms\":null}]}", 0);
    CHECK_STR(str(doc, "status", "indicator"), "critical");
    CHECK_STR(str(doc, "status", "description"), "Major Service Outage");
    json_decref(doc);
}

TEST(test_statuspage_window_phase_follows_the_clock)
{
    static const char *const list = "{\"incidents\":[{\"id\":4,\"kind\":\"maintenance\",\"title\":\"w\",\"status\":"
                                    "\"scheduled\",\"clusters\":[\"eu\",\"gone\"],\"created_ms\":1000,\"resolved_ms\":null,"
                                    "\"starts_ms\":5000,\"ends_ms\":9000,\"updates\":[{\"at_ms\":1000,\"status\":"
                                    "\"scheduled\",\"text\":\"t\"}]}]}";
    static const struct {
        int64_t now;
        const char *status;
        size_t upcoming, active;
    } at[] = {{4999, "scheduled", 1, 0}, {5000, "in_progress", 0, 1}, {9000, "completed", 0, 0}};

    for (size_t i = 0; i != sizeof(at) / sizeof(at[0]); ++i) {
        json_t *all = render(STATUSPAGE_MAINTENANCES, CONDITION_OPERATIONAL, list, at[i].now);
        json_t *up = render(STATUSPAGE_UPCOMING, CONDITION_OPERATIONAL, list, at[i].now);
        json_t *on = render(STATUSPAGE_ACTIVE, CONDITION_OPERATIONAL, list, at[i].now);
        json_t *m = json_array_get(json_object_get(all, "scheduled_maintenances"), 0);
        CHECK_STR(json_string_value(json_object_get(m, "status")), at[i].status);
        CHECK_STR(json_string_value(json_object_get(m, "impact")), "maintenance");
        /* a cluster no longer configured is left out of its components */
        CHECK_EQ_U64(json_array_size(json_object_get(m, "components")), 1);
        CHECK_EQ_U64(json_array_size(json_object_get(up, "scheduled_maintenances")), at[i].upcoming);
        CHECK_EQ_U64(json_array_size(json_object_get(on, "scheduled_maintenances")), at[i].active);
        json_decref(all);
        json_decref(up);
        json_decref(on);
    }
}

TEST(test_statuspage_survives_records_of_the_wrong_types)
{
    static const char *const lists[] = {
        "{\"incidents\":{}}", "{\"incidents\":[1,\"x\",null,[]]}", "[]", "{}",
        "{\"incidents\":[{\"id\":\"7\",\"title\":3,\"status\":[],\"updates\":{},\"clusters\":\"main\",\"impact\":5}]}",
        "{\"incidents\":[{\"kind\":\"maintenance\",\"updates\":[{\"at_ms\":\"x\",\"status\":1,\"text\":null},7],"
        "\"starts_ms\":-5,\"ends_ms\":1e300,\"created_ms\":-1e300}]}",
    };

    for (size_t i = 0; i != sizeof(lists) / sizeof(lists[0]); ++i)
        for (int d = 0; d != STATUSPAGE_NUM_DOCS; ++d) {
            json_t *doc = render((enum statuspage_doc)d, CONDITION_PARTIAL, lists[i], 1765152000000);
            if (!CHECK(doc != NULL && json_object_get(doc, "page") != NULL))
                fprintf(stderr, "  list %zu, document %d\n", i, d);
            json_decref(doc);
        }
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_statuspage_knows_its_eight_paths_and_no_other),
        CHECK_CASE(test_statuspage_components_times_and_indicator),
        CHECK_CASE(test_statuspage_window_phase_follows_the_clock),
        CHECK_CASE(test_statuspage_survives_records_of_the_wrong_types),
    };

    return CHECK_RUN(cases);
}
