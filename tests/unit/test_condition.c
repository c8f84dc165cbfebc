/* test_condition.c -- a cluster's condition from its counts: the page's rules (web/assets/states.js). */
#include <string.h>

#include "check.h"
#include "condition.h"

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

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_condition_no_data_until_a_shard_reports),
        CHECK_CASE(test_condition_operational_when_every_reporting_shard_is_online),
        CHECK_CASE(test_condition_degraded_while_shards_are_on_their_way_and_none_is_down),
        CHECK_CASE(test_condition_partial_while_some_shards_are_down),
        CHECK_CASE(test_condition_major_when_every_shard_that_reported_is_down),
        CHECK_CASE(test_condition_names_and_back),
    };

    return CHECK_RUN(cases);
}
