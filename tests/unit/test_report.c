/* test_report.c -- a shard's optional figures (figures_input.c) and the batch report (report_input.c), in JSON and
 * msgpack: what is kept, and that hostile bodies (deep nesting, huge counts, wrong types, duplicate keys, NaN,
 * integers past 64 bits) are refused with a message naming the item and field. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/figures_input.h"
#include "base/report_input.h"

#define SHARDS 16

static struct report_item items[REPORT_ITEMS_MAX];
static struct report_error e;
static struct gateway_session session;
static char err[200];

static long json(const char *body)
{
    return report_input(REPORT_JSON, body, strlen(body), SHARDS, items, &session, &e);
}

static long mp(const char *body, size_t len)
{
    return report_input(REPORT_MSGPACK, body, len, SHARDS, items, &session, &e);
}

/* 1 when a JSON report is refused at item `index` (-1: the body), field `field`, with `words` in the message */
static int json_refused(const char *body, long index, const char *field, const char *words)
{
    long n = json(body);
    int ok = n == -1 && e.index == index && strcmp(e.field, field) == 0 && strstr(e.message, words) != NULL;

    if (!ok)
        fprintf(stderr, "  body %.80s: n %ld, index %ld, field \"%s\": %s\n", body, n, e.index, e.field, e.message);
    return ok;
}

TEST(test_figures_from_query_reads_known_names_and_ignores_the_rest)
{
    struct shard_figures f;
    const char *q = "cache=1&latency_ms=41.6&guilds=1200&unavailable_guilds=3&members=99000&x";

    CHECK(figures_from_query(q, strlen(q), &f, err, sizeof(err)) == 0);
    CHECK_EQ_U64(f.v[FIGURE_LATENCY], 42);
    CHECK_EQ_U64(f.v[FIGURE_GUILDS], 1200);
    CHECK_EQ_U64(f.v[FIGURE_UNAVAILABLE], 3);
    CHECK_EQ_U64(f.v[FIGURE_MEMBERS], 99000);
    CHECK(figures_from_query("", strlen(""), &f, err, sizeof(err)) == 0 && !figures_any(&f));
    CHECK(figures_from_query("guilds=0", strlen("guilds=0"), &f, err, sizeof(err)) == 0 && f.v[FIGURE_GUILDS] == 0 &&
          f.v[FIGURE_LATENCY] == FIGURE_ABSENT);
}

TEST(test_figures_from_query_refuses_bad_values_naming_the_field)
{
    static const struct {
        const char *query, *words;
    } bad[] = {
        {"latency_ms=-1", "latency_ms must be a number from 0 to 600000"},
        {"latency_ms=600001", "latency_ms must be"},
        {"latency_ms=", "latency_ms must be"},
        {"latency_ms", "latency_ms must be"},
        {"latency_ms=1e3", "latency_ms must be"},
        {"latency_ms=nan", "latency_ms must be"},
        {"latency_ms=1.2.3", "latency_ms must be"},
        {"guilds=1.5", "guilds must be a whole number from 0 to 1000000"},
        {"guilds=1000001", "guilds must be"},
        {"guilds=99999999999999999999999", "guilds must be"},
        {"members=4000000001", "members must be a whole number from 0 to 4000000000"},
        {"unavailable_guilds=%31", "unavailable_guilds must be"},
        {"guilds=10&unavailable_guilds=11", "unavailable_guilds must not be more than guilds (10)"},
    };
    struct shard_figures f;

    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        err[0] = '\0';
        if (!CHECK(figures_from_query(bad[i].query, strlen(bad[i].query), &f, err, sizeof(err)) == -1 &&
                   strstr(err, bad[i].words) != NULL))
            fprintf(stderr, "  query %s: %s\n", bad[i].query, err);
    }
}

TEST(test_figures_from_json_refuses_unknown_fields_and_wrong_types)
{
    struct shard_figures f;
    static const struct {
        const char *body, *words;
    } bad[] = {
        {"{\"latency\":5}", "unknown field \"latency\""},
        {"{\"guilds\":\"5\"}", "guilds must be a whole number"},
        {"{\"guilds\":5.5}", "guilds must be a whole number"},
        {"{\"latency_ms\":true}", "latency_ms must be a number"},
        {"{\"latency_ms\":NaN}", "not valid JSON"},
        {"{\"guilds\":1,\"guilds\":2}", "not valid JSON"},
        {"{\"members\":184467440737095516160}", "not valid JSON"},
        {"[1]", "must be a JSON object"},
        {"{", "not valid JSON"},
    };
    const char *good = "{\"latency_ms\":12.5,\"guilds\":null,\"members\":7}";

    CHECK(figures_from_json(good, strlen(good), &f, err, sizeof(err)) == 0);
    CHECK_EQ_U64(f.v[FIGURE_LATENCY], 13);
    CHECK_EQ_U64(f.v[FIGURE_GUILDS], FIGURE_CLEAR);
    CHECK_EQ_U64(f.v[FIGURE_UNAVAILABLE], FIGURE_ABSENT);
    CHECK_EQ_U64(f.v[FIGURE_MEMBERS], 7);
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        err[0] = '\0';
        if (!CHECK(figures_from_json(bad[i].body, strlen(bad[i].body), &f, err, sizeof(err)) == -1 &&
                   strstr(err, bad[i].words) != NULL))
            fprintf(stderr, "  body %s: %s\n", bad[i].body, err);
    }
}

TEST(test_report_json_keeps_states_pings_and_figures)
{
    const char *body = "{\"shards\":[{\"id\":0,\"state\":3,\"latency_ms\":41,\"guilds\":980,\"unavailable_guilds\":2},"
                       "{\"id\":15},{\"id\":7,\"state\":null,\"members\":5}]}";

    if (!CHECK(json(body) == 3))
        return;
    CHECK_EQ_U64(items[0].shard, 0);
    CHECK(items[0].state == 3);
    CHECK_EQ_U64(items[0].figures.v[FIGURE_LATENCY], 41);
    CHECK_EQ_U64(items[0].figures.v[FIGURE_UNAVAILABLE], 2);
    CHECK_EQ_U64(items[1].shard, 15);
    CHECK(items[1].state == -1 && !figures_any(&items[1].figures));
    CHECK(items[2].state == -1 && items[2].figures.v[FIGURE_MEMBERS] == 5);
    if (!CHECK(json("{\"shards\":[{\"id\":1,\"state\":6,\"latency_ms\":null}]}") == 1))
        return;
    CHECK_EQ_U64(items[0].figures.v[FIGURE_LATENCY], FIGURE_CLEAR);
    CHECK(figures_any(&items[0].figures));
    CHECK(json("{\"shards\":[]}") == 0);
}

TEST(test_report_json_names_the_item_and_field_it_refuses)
{
    CHECK(json_refused("{\"shards\":[{\"id\":0},{\"id\":16}]}", 1, "id", "shards[1].id must be a whole number from 0 to 15"));
    CHECK(json_refused("{\"shards\":[{\"id\":-1}]}", 0, "id", "shards[0].id"));
    CHECK(json_refused("{\"shards\":[{\"id\":1.0}]}", 0, "id", "shards[0].id"));
    CHECK(json_refused("{\"shards\":[{\"state\":3}]}", 0, "id", "shards[0].id is missing"));
    CHECK(json_refused("{\"shards\":[{\"id\":0,\"state\":7}]}", 0, "state", "shards[0].state must be a whole number from 0 to 6"));
    CHECK(json_refused("{\"shards\":[{\"id\":0,\"state\":\"3\"}]}", 0, "state", "shards[0].state"));
    CHECK(json_refused("{\"shards\":[{\"id\":0},{\"id\":2,\"latency_ms\":-5}]}", 1, "latency_ms",
                       "shards[1].latency_ms must be a number from 0 to 600000"));
    CHECK(json_refused("{\"shards\":[{\"id\":0,\"guilds\":[]}]}", 0, "guilds", "shards[0].guilds must be a whole number"));
    CHECK(json_refused("{\"shards\":[{\"id\":0,\"guilds\":5,\"unavailable_guilds\":6}]}", 0, "unavailable_guilds",
                       "shards[0].unavailable_guilds must not be more than guilds (5)"));
    CHECK(json_refused("{\"shards\":[{\"id\":0,\"ping\":true}]}", 0, "ping", "shards[0]: unknown field \"ping\""));
    CHECK(json_refused("{\"shards\":[{\"id\":3},{\"id\":4},{\"id\":3}]}", 2, "id", "shard 3 is already in shards[0]"));
    CHECK(json_refused("{\"shards\":[5]}", 0, "", "shards[0] must be an object"));
    CHECK(json_refused("{\"shards\":{}}", -1, "shards", "the body must be an object"));
    CHECK(json_refused("{\"shards\":[],\"more\":1}", -1, "", "unknown field \"more\" beside \"shards\""));
    CHECK(json_refused("[]", -1, "shards", "the body must be an object"));
    CHECK(json_refused("{\"shards\":[{\"id\":0,\"id\":1}]}", -1, "", "not valid JSON"));
    CHECK(json_refused("{\"shards\":[{\"id\":0,\"guilds\":18446744073709551616}]}", -1, "", "not valid JSON"));
    CHECK(json_refused("{\"shards\":[{\"id\":0,\"latency_ms\":NaN}]}", -1, "", "not valid JSON"));
}

TEST(test_report_json_bounds_items_body_and_nesting)
{
    size_t cap = REPORT_BODY_MAX + 64, len = 0;
    char *body = malloc(cap);
    int i;

    if (!CHECK(body != NULL))
        return;
    len += (size_t)sprintf(body, "{\"shards\":[");
    for (i = 0; i <= REPORT_ITEMS_MAX; ++i)
        len += (size_t)sprintf(body + len, "%s{\"id\":%d}", i ? "," : "", i % SHARDS);
    strcpy(body + len, "]}");
    CHECK(json_refused(body, -1, "shards", "shards has 1001 items; a report holds at most 1000"));
    /* nesting far past anything a report needs: jansson's own depth limit */
    len = 0;
    len += (size_t)sprintf(body, "{\"shards\":[{\"id\":0,\"guilds\":");
    for (i = 0; i != 5000; ++i)
        body[len++] = '[';
    body[len] = '\0';
    CHECK(json(body) == -1 && e.index == -1);
    memset(body, ' ', cap - 1);
    body[cap - 1] = '\0';
    CHECK(json_refused(body, -1, "", "the body is over 262144 bytes"));
    free(body);
}

TEST(test_report_msgpack_keeps_the_same_report)
{
    /* {"shards": [{"id": 2, "state": 3, "latency_ms": 12.6 (float64)}, {"id": 9, "guilds": 1000 (uint16)}]} */
    static const char body[] = "\x81\xa6shards\x92"
                               "\x83\xa2id\x02\xa5state\x03\xaalatency_ms\xcb\x40\x29\x33\x33\x33\x33\x33\x33"
                               "\x82\xa2id\x09\xa6guilds\xcd\x03\xe8";

    if (!CHECK(mp(body, sizeof(body) - 1) == 2))
        return;
    CHECK(items[0].shard == 2 && items[0].state == 3 && items[0].figures.v[FIGURE_LATENCY] == 13);
    CHECK(items[1].shard == 9 && items[1].state == -1 && items[1].figures.v[FIGURE_GUILDS] == 1000);
}

TEST(test_report_msgpack_refuses_hostile_bodies)
{
    /* an array header claiming 4 billion items, with nothing behind it */
    static const char huge[] = "\x81\xa6shards\xdd\xff\xff\xff\xff";
    /* a map claiming 2^31 pairs */
    static const char huge_map[] = "\xdf\x80\x00\x00\x00";
    /* a string claiming more bytes than there are */
    static const char long_str[] = "\x81\xdb\x00\x10\x00\x00shards";
    /* the key "id" twice in one item */
    static const char twice[] = "\x81\xa6shards\x91\x82\xa2id\x01\xa2id\x02";
    /* state as a string, a NaN latency, a negative id, a key that is not a string */
    static const char state_str[] = "\x81\xa6shards\x91\x82\xa2id\x01\xa5state\xa1\x33";
    static const char nan_latency[] = "\x81\xa6shards\x91\x82\xa2id\x01\xaalatency_ms\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00";
    static const char negative[] = "\x81\xa6shards\x91\x81\xa2id\xff";
    static const char int_key[] = "\x81\xa6shards\x91\x81\x01\x02";
    /* a uint64 past any range */
    static const char big[] = "\x81\xa6shards\x91\x82\xa2id\x01\xa7members\xcf\xff\xff\xff\xff\xff\xff\xff\xff";
    /* trailing bytes after the object, and the never-used byte 0xc1 */
    static const char trailing[] = "\x81\xa6shards\x90\x00";
    static const char reserved[] = "\x81\xa6shards\x91\xc1";
    char deep[64];

    CHECK(mp(huge, sizeof(huge) - 1) == -1 && e.index == -1 && strstr(e.message, "not one valid msgpack object"));
    CHECK(mp(huge_map, sizeof(huge_map) - 1) == -1);
    CHECK(mp(long_str, sizeof(long_str) - 1) == -1);
    CHECK(mp(twice, sizeof(twice) - 1) == -1 && e.index == 0 && strcmp(e.field, "id") == 0 &&
          strstr(e.message, "shards[0].id appears twice"));
    CHECK(mp(state_str, sizeof(state_str) - 1) == -1 && e.index == 0 && strcmp(e.field, "state") == 0);
    CHECK(mp(nan_latency, sizeof(nan_latency) - 1) == -1 && strcmp(e.field, "latency_ms") == 0);
    CHECK(mp(negative, sizeof(negative) - 1) == -1 && strcmp(e.field, "id") == 0);
    CHECK(mp(int_key, sizeof(int_key) - 1) == -1 && e.index == 0 && strstr(e.message, "not a string"));
    CHECK(mp(big, sizeof(big) - 1) == -1 && strcmp(e.field, "members") == 0);
    CHECK(mp(trailing, sizeof(trailing) - 1) == -1);
    CHECK(mp(reserved, sizeof(reserved) - 1) == -1);
    /* 40 nested one-item arrays: msgpack-c itself would stop at 32; we stop at 8 */
    memset(deep, 0x91, 40);
    deep[40] = 0x00;
    CHECK(mp(deep, 41) == -1 && strstr(e.message, "deeper than 8"));
    CHECK(mp("", 0) == -1);
}

TEST(test_counters_are_whole_bounded_and_never_null)
{
    struct shard_figures f;
    const char *q = "events=123456789012&resumes=2&identifies=1&disconnects=0";
    const char *body = "{\"events\":100000000000000,\"latency_ms\":40}";

    CHECK(figures_from_query(q, strlen(q), &f, err, sizeof(err)) == 0);
    CHECK(f.c[COUNTER_EVENTS] == 123456789012ull && f.c[COUNTER_RESUMES] == 2 && f.c[COUNTER_IDENTIFIES] == 1 &&
          f.c[COUNTER_DISCONNECTS] == 0);
    CHECK(figures_any_counter(&f) && f.v[FIGURE_LATENCY] == FIGURE_ABSENT);
    CHECK(figures_from_json(body, strlen(body), &f, err, sizeof(err)) == 0 && f.c[COUNTER_EVENTS] == COUNTER_EVENTS_MAX &&
          f.c[COUNTER_RESUMES] == COUNTER_ABSENT);
    CHECK(figures_from_json("{\"events\":100000000000001}", strlen("{\"events\":100000000000001}"), &f, err, sizeof(err)) == -1 &&
          strstr(err, "events must be a whole number from 0 to 100000000000000") != NULL);
    CHECK(figures_from_json("{\"resumes\":null}", strlen("{\"resumes\":null}"), &f, err, sizeof(err)) == -1 && strstr(err, "resumes cannot be null"));
    CHECK(figures_from_json("{\"identifies\":1.5}", strlen("{\"identifies\":1.5}"), &f, err, sizeof(err)) == -1 && strstr(err, "identifies must be"));
    CHECK(figures_from_query("disconnects=-1", strlen("disconnects=-1"), &f, err, sizeof(err)) == -1 && strstr(err, "disconnects must be"));
    CHECK(figures_from_query("resumes=1000000001", strlen("resumes=1000000001"), &f, err, sizeof(err)) == -1 && strstr(err, "resumes must be"));
    CHECK(json_refused("{\"shards\":[{\"id\":0,\"events\":-1}]}", 0, "events", "shards[0].events must be a whole number"));
    CHECK(json_refused("{\"shards\":[{\"id\":1,\"identifies\":null}]}", 0, "identifies", "shards[0].identifies cannot be null"));
    if (CHECK(json("{\"shards\":[{\"id\":2,\"events\":5,\"disconnects\":3}]}") == 1))
        CHECK(items[0].figures.c[COUNTER_EVENTS] == 5 && items[0].figures.c[COUNTER_DISCONNECTS] == 3 &&
              items[0].figures.c[COUNTER_RESUMES] == COUNTER_ABSENT);
}

TEST(test_session_budget_is_whole_and_consistent)
{
    struct gateway_session s;
    const char *field = "";
    const char *good = "{\"session_start_total\":1000,\"session_start_remaining\":998,"
                       "\"session_start_reset_after_ms\":86400000,\"max_concurrency\":16}";

    CHECK(session_from_json(good, strlen(good), &s, err, sizeof(err), &field) == 0 && s.v[SESSION_REMAINING] == 998 &&
          s.v[SESSION_MAX_CONCURRENCY] == 16);
    CHECK(session_from_json("{\"session_start_total\":10}", strlen("{\"session_start_total\":10}"), &s, err, sizeof(err), &field) == -1 &&
          strcmp(field, "session_start_remaining") == 0 && strstr(err, "is missing"));
    CHECK(session_from_json("{\"max_concurrency\":0}", strlen("{\"max_concurrency\":0}"), &s, err, sizeof(err), &field) == -1 &&
          strcmp(field, "max_concurrency") == 0);
    CHECK(session_from_json("{\"total\":1}", strlen("{\"total\":1}"), &s, err, sizeof(err), &field) == -1 && strstr(err, "unknown field"));
    /* beside a batch report's shards: all four or none, and remaining at most total */
    if (CHECK(json("{\"shards\":[],\"session_start_total\":5,\"session_start_remaining\":5,"
                   "\"session_start_reset_after_ms\":0,\"max_concurrency\":1}") == 0))
        CHECK(session.given == 15 && session.v[SESSION_TOTAL] == 5);
    CHECK(json("{\"shards\":[]}") == 0 && session.given == 0);
    CHECK(json_refused("{\"shards\":[],\"session_start_total\":5}", -1, "session_start_remaining", "is missing"));
    CHECK(json_refused("{\"shards\":[],\"session_start_total\":5,\"session_start_remaining\":6,"
                       "\"session_start_reset_after_ms\":0,\"max_concurrency\":1}",
                       -1, "session_start_remaining", "must not be more than session_start_total (5)"));
    CHECK(json_refused("{\"shards\":[],\"max_concurrency\":\"1\"}", -1, "max_concurrency", "max_concurrency must be"));
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_figures_from_query_reads_known_names_and_ignores_the_rest),
        CHECK_CASE(test_figures_from_query_refuses_bad_values_naming_the_field),
        CHECK_CASE(test_figures_from_json_refuses_unknown_fields_and_wrong_types),
        CHECK_CASE(test_report_json_keeps_states_pings_and_figures),
        CHECK_CASE(test_report_json_names_the_item_and_field_it_refuses),
        CHECK_CASE(test_report_json_bounds_items_body_and_nesting),
        CHECK_CASE(test_report_msgpack_keeps_the_same_report),
        CHECK_CASE(test_report_msgpack_refuses_hostile_bodies),
        CHECK_CASE(test_counters_are_whole_bounded_and_never_null),
        CHECK_CASE(test_session_budget_is_whole_and_consistent),
    };

    return CHECK_RUN(cases);
}
