/* test_condition.c -- a cluster's condition from its counts: the page's rules (web/assets/states.js). */
#include <string.h>

#include "check.h"
#include "base/condition.h"

/* counts of unknown, unhealthy, offline, online, starting, stopping, resuming */
#define COUNTS(...) ((const uint32_t[SHARD_STATE_MAX + 1]){__VA_ARGS__})

TEST(test_condition_no_data_until_a_shard_reports)
{
    CHECK(condition_of(COUNTS(0, 0, 0, 0, 0, 0, 0)) == CONDITION_NONE);
    CHECK(condition_of(COUNTS(360, 0, 0, 0, 0, 0, 0)) == CONDITION_NONE);
}

TEST(test_condition_operational_when_every_reporting_shard_is_online)
{
    CHECK(condition_of(COUNTS(0, 0, 0, 360, 0, 0, 0)) == CONDITION_OPERATIONAL);
    CHECK(condition_of(COUNTS(10, 0, 0, 350, 0, 0, 0)) == CONDITION_OPERATIONAL);
}

TEST(test_condition_degraded_while_shards_are_on_their_way_and_none_is_down)
{
    CHECK(condition_of(COUNTS(0, 0, 0, 359, 1, 0, 0)) == CONDITION_DEGRADED);
    CHECK(condition_of(COUNTS(0, 0, 0, 0, 0, 0, 1)) == CONDITION_DEGRADED);
}

TEST(test_condition_partial_while_some_shards_are_down)
{
    CHECK(condition_of(COUNTS(0, 12, 0, 348, 0, 0, 0)) == CONDITION_PARTIAL);
    CHECK(condition_of(COUNTS(0, 0, 1, 0, 5, 0, 0)) == CONDITION_PARTIAL);
    CHECK(condition_down(COUNTS(0, 12, 3, 345, 0, 0, 0)) == 15);
    CHECK(condition_busy(COUNTS(0, 0, 0, 1, 2, 3, 4)) == 9);
}

TEST(test_condition_major_when_every_shard_that_reported_is_down)
{
    CHECK(condition_of(COUNTS(0, 360, 0, 0, 0, 0, 0)) == CONDITION_MAJOR);
    CHECK(condition_of(COUNTS(5, 300, 55, 0, 0, 0, 0)) == CONDITION_MAJOR);
    CHECK(condition_of(COUNTS(0, 0, 1, 0, 0, 0, 0)) == CONDITION_MAJOR);
}

TEST(test_condition_names_and_back)
{
    CHECK(strcmp(condition_name(CONDITION_PARTIAL), "partial outage") == 0);
    CHECK(strcmp(condition_name(CONDITION_MAX + 1), "invalid") == 0);
    CHECK(condition_from_name("major outage", 12) == CONDITION_MAJOR);
    CHECK(condition_from_name("partial", 7) == CONDITION_PARTIAL);
    CHECK(condition_from_name("degraded", 8) == CONDITION_DEGRADED);
    CHECK(condition_from_name("down", 4) == -1);
}

static int said(const uint32_t counts[SHARD_STATE_MAX + 1], const char *title, const char *detail)
{
    char t[64], d[160];

    condition_describe(counts, t, sizeof(t), d, sizeof(d));
    return strcmp(t, title) == 0 && strcmp(d, detail) == 0;
}

TEST(test_condition_described_in_the_pages_words)
{
    CHECK(said(COUNTS(0, 0, 0, 0, 0, 0, 0), "No shards", "No clusters are configured"));
    CHECK(said(COUNTS(20000, 0, 0, 0, 0, 0, 0), "No data yet", "None of the 20,000 shards has reported yet"));
    CHECK(said(COUNTS(1, 0, 0, 0, 0, 0, 0), "No data yet", "The shard has not reported yet"));
    CHECK(said(COUNTS(0, 0, 0, 0, 0, 0, 1), "Degraded", "The shard is resuming"));
    CHECK(said(COUNTS(0, 0, 0, 376, 0, 0, 0), "Operational", "All 376 shards online"));
    CHECK(said(COUNTS(4, 0, 0, 372, 0, 0, 0), "Operational", "372 of 376 shards online; 4 not reporting yet"));
    CHECK(said(COUNTS(0, 12, 0, 364, 0, 0, 0), "Partial outage", "12 of 376 shards unhealthy"));
    CHECK(said(COUNTS(0, 12, 3, 1361, 0, 0, 0), "Partial outage", "15 of 1,376 shards unhealthy or offline"));
    CHECK(said(COUNTS(0, 0, 0, 370, 1, 2, 3), "Degraded", "6 of 376 shards starting, stopping or resuming"));
    CHECK(said(COUNTS(0, 376, 0, 0, 0, 0, 0), "Major outage", "All 376 shards unhealthy"));
    CHECK(said(COUNTS(6, 370, 0, 0, 0, 0, 0), "Major outage", "370 of 376 shards unhealthy"));
}

TEST(test_condition_description_cut_short_when_the_room_is_small)
{
    char t[4], d[8];

    condition_describe(COUNTS(0, 12, 0, 364, 0, 0, 0), t, sizeof(t), d, sizeof(d));
    CHECK(strcmp(t, "Par") == 0);
    CHECK(strcmp(d, "12 of 3") == 0);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_condition_no_data_until_a_shard_reports),
        CHECK_CASE(test_condition_operational_when_every_reporting_shard_is_online),
        CHECK_CASE(test_condition_degraded_while_shards_are_on_their_way_and_none_is_down),
        CHECK_CASE(test_condition_partial_while_some_shards_are_down),
        CHECK_CASE(test_condition_major_when_every_shard_that_reported_is_down),
        CHECK_CASE(test_condition_names_and_back),
        CHECK_CASE(test_condition_described_in_the_pages_words),
        CHECK_CASE(test_condition_description_cut_short_when_the_room_is_small),
    };

    return CHECK_RUN(cases);
}
