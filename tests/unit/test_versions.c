/* test_versions.c -- how events are ordered against a mirror's version, and when a cached hello is old. */
#include "check.h"
#include "base/shard.h"
#include "base/versions.h"

TEST(test_version_order_an_event_at_or_below_the_mirror_is_already_seen)
{
    CHECK(version_order(10, 10) == VERSION_SEEN);
    CHECK(version_order(10, 3) == VERSION_SEEN);
    CHECK(version_order(0, 0) == VERSION_SEEN);
}

TEST(test_version_order_the_next_version_applies)
{
    CHECK(version_order(0, 1) == VERSION_NEXT);
    CHECK(version_order(41, 42) == VERSION_NEXT);
    CHECK(version_order(UINT64_MAX - 1, UINT64_MAX) == VERSION_NEXT);
}

TEST(test_version_order_a_skipped_version_is_a_gap)
{
    CHECK(version_order(0, 2) == VERSION_GAP);
    CHECK(version_order(41, 43) == VERSION_GAP);
    CHECK(version_order(0, UINT64_MAX) == VERSION_GAP);
}

TEST(test_versions_current_when_every_cluster_is_where_it_was)
{
    uint64_t at[3] = {5, 0, 9}, now[3] = {5, 0, 9};

    CHECK(versions_current(at, now, 3));
    CHECK(versions_current(at, now, 0));
}

TEST(test_versions_a_hello_is_old_once_any_version_moved_even_without_a_visible_change)
{
    /* a status 0 for a shard that never reported, or a gap snapshot that found the same states, moves the
     * version and nothing else: a hello encoded before must not be served, or the next update starts above it */
    uint64_t at[3] = {5, 0, 9}, now[3] = {5, 1, 9};

    CHECK(!versions_current(at, now, 3));
    now[1] = 0;
    now[2] = 8; /* a snapshot after Redis lost data: lower is different too */
    CHECK(!versions_current(at, now, 3));
}

TEST(test_shard_state_from_byte_reads_digits_and_treats_the_rest_as_unknown)
{
    CHECK(shard_state_from_byte('0') == STATE_UNKNOWN);
    CHECK(shard_state_from_byte('3') == STATE_ONLINE);
    CHECK(shard_state_from_byte('6') == STATE_RESUMING);
    CHECK(shard_state_from_byte('\0') == STATE_UNKNOWN); /* SETRANGE's padding: never reported */
    CHECK(shard_state_from_byte('7') == STATE_UNKNOWN);
    CHECK(shard_state_from_byte(0xff) == STATE_UNKNOWN);
}

TEST(test_shard_only_states_a_live_shard_reports_set_a_deadline)
{
    CHECK(!shard_state_is_reported_alive(STATE_UNKNOWN));
    CHECK(!shard_state_is_reported_alive(STATE_UNHEALTHY));
    CHECK(shard_state_is_reported_alive(STATE_OFFLINE));
    CHECK(shard_state_is_reported_alive(STATE_RESUMING));
    CHECK(!shard_state_is_reported_alive(SHARD_STATE_MAX + 1));
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_version_order_an_event_at_or_below_the_mirror_is_already_seen),
        CHECK_CASE(test_version_order_the_next_version_applies),
        CHECK_CASE(test_version_order_a_skipped_version_is_a_gap),
        CHECK_CASE(test_versions_current_when_every_cluster_is_where_it_was),
        CHECK_CASE(test_versions_a_hello_is_old_once_any_version_moved_even_without_a_visible_change),
        CHECK_CASE(test_shard_state_from_byte_reads_digits_and_treats_the_rest_as_unknown),
        CHECK_CASE(test_shard_only_states_a_live_shard_reports_set_a_deadline),
    };

    return CHECK_RUN(cases);
}
