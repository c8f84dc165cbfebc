/* test_sim_gateway.c -- unit tests of services/sim/gateway.c: a simulated shard's gateway counters, a cluster's
 * identify budget, and how they travel. */
#include <jansson.h>
#include "check.h"
#include "gateway.h"

enum { OFFLINE = 2, ONLINE = 3, STARTING = 4, STOPPING = 5, RESUMING = 6 };

/* A shard of 1,000 guilds, booted (starting, then online) at t = 1 s. */
static void boot(struct gateway_shard *g, uint64_t zombie_after_ms, uint64_t *rng)
{
    gateway_shard_init(g, 1000, zombie_after_ms, rng);
    gateway_on_state(g, STARTING, 500, rng);
    gateway_on_state(g, ONLINE, 1000, rng);
}

TEST(test_gateway_a_start_is_one_identify_counted_once_it_is_online)
{
    struct gateway_shard g;
    uint64_t rng = 3;

    gateway_shard_init(&g, 1000, 0, &rng);
    CHECK(gateway_on_state(&g, STARTING, 500, &rng) == 0);
    CHECK_EQ_U64(g.c.identifies, 0);
    CHECK(gateway_on_state(&g, ONLINE, 1000, &rng) == 1);
    CHECK_EQ_U64(g.c.identifies, 1);
    CHECK_EQ_U64(g.c.resumes, 0);
    CHECK_EQ_U64(g.c.disconnects, 0);
    CHECK_EQ_U64(g.c.events, 0);
}

TEST(test_gateway_events_grow_at_half_to_three_a_second_per_hundred_guilds_while_online)
{
    uint64_t rng = 11;
    int i;

    for (i = 0; i != 200; ++i) {
        struct gateway_shard g;
        uint64_t t;
        boot(&g, 0, &rng);
        for (t = 11000; t <= 61000; t += 10000) /* a report every 10 s for 60 s */
            gateway_advance(&g, t, &rng);
        /* 1,000 guilds: 5 to 30 a second, +- 20 % per report, over 60 s */
        CHECK(g.c.events >= 5 * 60 * 8 / 10 && g.c.events <= 30 * 60 * 12 / 10 + 1);
    }
}

TEST(test_gateway_a_slow_shard_still_counts_up_between_frequent_reports)
{
    struct gateway_shard g;
    uint64_t rng = 5, t;

    gateway_shard_init(&g, 10, 0, &rng); /* 0.05 to 0.3 events a second */
    gateway_on_state(&g, STARTING, 0, &rng);
    gateway_on_state(&g, ONLINE, 0, &rng);
    for (t = 100; t <= 100000; t += 100) /* ten reports a second: each is a fraction of an event */
        gateway_advance(&g, t, &rng);
    CHECK(g.c.events >= 4 && g.c.events <= 36);
}

TEST(test_gateway_no_events_while_not_online)
{
    struct gateway_shard g;
    uint64_t rng = 9, before;

    boot(&g, 0, &rng);
    gateway_on_state(&g, RESUMING, 10000, &rng);
    before = g.c.events;
    gateway_advance(&g, 70000, &rng);
    CHECK_EQ_U64(g.c.events, before);
    CHECK(!gateway_flowing(&g, 70000));
}

TEST(test_gateway_a_resume_from_online_is_a_disconnect_then_a_resume)
{
    struct gateway_shard g;
    uint64_t rng = 1;

    boot(&g, 0, &rng);
    CHECK(gateway_on_state(&g, RESUMING, 5000, &rng) == 0);
    CHECK(gateway_on_state(&g, ONLINE, 6000, &rng) == 0); /* a resumed session: no IDENTIFY */
    CHECK_EQ_U64(g.c.disconnects, 1);
    CHECK_EQ_U64(g.c.resumes, 1);
    CHECK_EQ_U64(g.c.identifies, 1);
}

TEST(test_gateway_a_disconnect_through_offline_counts_one_disconnect_and_one_resume)
{
    struct gateway_shard g;
    uint64_t rng = 1;

    boot(&g, 0, &rng);
    gateway_on_state(&g, OFFLINE, 5000, &rng);
    gateway_on_state(&g, RESUMING, 6000, &rng);
    gateway_on_state(&g, ONLINE, 7000, &rng);
    CHECK_EQ_U64(g.c.disconnects, 1);
    CHECK_EQ_U64(g.c.resumes, 1);
}

TEST(test_gateway_a_restart_resets_every_counter_then_identifies)
{
    struct gateway_shard g;
    uint64_t rng = 2;

    boot(&g, 0, &rng);
    gateway_on_state(&g, RESUMING, 5000, &rng);
    gateway_on_state(&g, ONLINE, 6000, &rng);
    gateway_advance(&g, 60000, &rng);
    CHECK(g.c.events > 0);
    gateway_on_state(&g, STOPPING, 61000, &rng);
    gateway_on_state(&g, OFFLINE, 61500, &rng); /* the process closes its own connection: not a lost one */
    CHECK_EQ_U64(g.c.disconnects, 1);
    gateway_on_state(&g, STARTING, 62000, &rng);
    CHECK_EQ_U64(g.c.events, 0);
    CHECK_EQ_U64(g.c.resumes, 0);
    CHECK_EQ_U64(g.c.disconnects, 0);
    CHECK_EQ_U64(g.c.identifies, 0); /* the new process's counters go 0, then 1: a reset anyone comparing sees */
    CHECK(gateway_on_state(&g, ONLINE, 63000, &rng) == 1);
    CHECK_EQ_U64(g.c.identifies, 1);
}

TEST(test_gateway_a_zombie_stays_online_but_its_events_stop_after_a_while)
{
    struct gateway_shard g;
    uint64_t rng = 4, at_quiet;

    boot(&g, 30000, &rng); /* online at 1 s, quiet from 31 s */
    gateway_advance(&g, 20000, &rng);
    CHECK(gateway_flowing(&g, 20000) && !gateway_quiet(&g, 20000));
    CHECK(g.c.events > 0);
    gateway_advance(&g, 40000, &rng);
    at_quiet = g.c.events;
    gateway_advance(&g, 100000, &rng);
    gateway_advance(&g, 400000, &rng);
    CHECK_EQ_U64(g.c.events, at_quiet);
    CHECK(gateway_quiet(&g, 400000) && !gateway_flowing(&g, 400000));
    CHECK_EQ_U64(g.state, ONLINE);
}

TEST(test_gateway_a_zombie_flows_again_after_a_restart_then_goes_quiet_again)
{
    struct gateway_shard g;
    uint64_t rng = 4, quiet;

    boot(&g, 30000, &rng);
    gateway_advance(&g, 100000, &rng);
    gateway_on_state(&g, STOPPING, 100000, &rng);
    gateway_on_state(&g, OFFLINE, 100500, &rng);
    gateway_on_state(&g, STARTING, 101000, &rng);
    gateway_on_state(&g, ONLINE, 102000, &rng);
    CHECK(gateway_flowing(&g, 110000));
    gateway_advance(&g, 131000, &rng);
    CHECK(g.c.events > 0);
    gateway_advance(&g, 140000, &rng);
    quiet = g.c.events;
    gateway_advance(&g, 200000, &rng);
    CHECK_EQ_U64(g.c.events, quiet);
}

TEST(test_gateway_query_and_fields_name_every_counter)
{
    struct gateway_counters c = {123456789012345ull, 2, 3, 4};
    char buf[GATEWAY_TEXT_MAX];
    int n = gateway_query(buf, sizeof(buf), &c);

    CHECK_MEM_STR(buf, n > 0 ? (size_t)n : 0, "&events=123456789012345&resumes=2&identifies=3&disconnects=4");
    n = gateway_fields(buf, sizeof(buf), &c);
    CHECK_MEM_STR(buf, n > 0 ? (size_t)n : 0,
                  ",\"events\":123456789012345,\"resumes\":2,\"identifies\":3,\"disconnects\":4");
    CHECK(gateway_query(buf, 20, &c) == -1);
    CHECK(gateway_fields(buf, 20, &c) == -1);
}

TEST(test_gateway_the_longest_counters_fit_the_documented_room)
{
    struct gateway_counters c = {UINT64_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
    char buf[GATEWAY_TEXT_MAX];

    CHECK(gateway_query(buf, sizeof(buf), &c) > 0);
    CHECK(gateway_fields(buf, sizeof(buf), &c) > 0);
}

TEST(test_gateway_session_loses_one_per_identify_and_never_goes_below_zero)
{
    struct gateway_session s;
    int i;

    gateway_session_init(&s, 1000, 3, 1, 0);
    gateway_session_identify(&s, 1000);
    CHECK_EQ_U64(s.remaining, 2);
    for (i = 0; i != 5; ++i)
        gateway_session_identify(&s, 2000);
    CHECK_EQ_U64(s.remaining, 0);
    gateway_session_init(&s, 1000, 5000, 1, 0);
    CHECK_EQ_U64(s.remaining, 1000);
}

TEST(test_gateway_session_resets_to_the_total_a_day_later)
{
    struct gateway_session s;
    char buf[256];
    int n;

    gateway_session_init(&s, 1000, 10, 1, 5000);
    gateway_session_identify(&s, 6000);
    n = gateway_session_body(buf, sizeof(buf), &s, 5000 + 3600 * 1000);
    CHECK_MEM_STR(buf, n > 0 ? (size_t)n : 0,
                  "{\"session_start_total\":1000,\"session_start_remaining\":9,"
                  "\"session_start_reset_after_ms\":82800000,\"max_concurrency\":1}");
    gateway_session_identify(&s, 5000 + GATEWAY_RESET_MS); /* the first identify of the new day */
    CHECK_EQ_U64(s.remaining, 999);
    CHECK_EQ_U64(s.reset_at_ms, 5000 + 2 * GATEWAY_RESET_MS);
}

TEST(test_gateway_session_body_is_json_with_the_contracts_four_fields)
{
    struct gateway_session s;
    char buf[256];
    json_t *doc;
    json_error_t jerr;
    int n;

    gateway_session_init(&s, 1000, 1000, 16, 0);
    n = gateway_session_body(buf, sizeof(buf), &s, 0);
    doc = json_loadb(buf, n > 0 ? (size_t)n : 0, 0, &jerr);
    if (!CHECK(doc != NULL))
        return;
    CHECK_EQ_U64(json_object_size(doc), 4);
    CHECK_EQ_U64(json_integer_value(json_object_get(doc, "session_start_total")), 1000);
    CHECK_EQ_U64(json_integer_value(json_object_get(doc, "session_start_remaining")), 1000);
    CHECK_EQ_U64(json_integer_value(json_object_get(doc, "session_start_reset_after_ms")), GATEWAY_RESET_MS);
    CHECK_EQ_U64(json_integer_value(json_object_get(doc, "max_concurrency")), 16);
    json_decref(doc);
    CHECK(gateway_session_body(buf, 30, &s, 0) == -1);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_gateway_a_start_is_one_identify_counted_once_it_is_online),
        CHECK_CASE(test_gateway_events_grow_at_half_to_three_a_second_per_hundred_guilds_while_online),
        CHECK_CASE(test_gateway_a_slow_shard_still_counts_up_between_frequent_reports),
        CHECK_CASE(test_gateway_no_events_while_not_online),
        CHECK_CASE(test_gateway_a_resume_from_online_is_a_disconnect_then_a_resume),
        CHECK_CASE(test_gateway_a_disconnect_through_offline_counts_one_disconnect_and_one_resume),
        CHECK_CASE(test_gateway_a_restart_resets_every_counter_then_identifies),
        CHECK_CASE(test_gateway_a_zombie_stays_online_but_its_events_stop_after_a_while),
        CHECK_CASE(test_gateway_a_zombie_flows_again_after_a_restart_then_goes_quiet_again),
        CHECK_CASE(test_gateway_query_and_fields_name_every_counter),
        CHECK_CASE(test_gateway_the_longest_counters_fit_the_documented_room),
        CHECK_CASE(test_gateway_session_loses_one_per_identify_and_never_goes_below_zero),
        CHECK_CASE(test_gateway_session_resets_to_the_total_a_day_later),
        CHECK_CASE(test_gateway_session_body_is_json_with_the_contracts_four_fields),
    };
    return CHECK_RUN(cases);
}
