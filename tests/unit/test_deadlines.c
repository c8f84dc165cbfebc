/* test_deadlines.c -- unit tests of deadlines.c: due ids come out in deadline order, exactly once, and a
 * refreshed or forgotten deadline never comes out early. */
#include <stdlib.h>
#include "check.h"
#include "state/deadlines.h"

TEST(test_deadlines_pop_nothing_before_the_first_is_due)
{
    struct deadlines *d = deadlines_new(4);
    uint32_t id;

    deadlines_set(d, 2, 100);
    CHECK(deadlines_pop_due(d, 99, &id) == 0);
    CHECK(deadlines_pop_due(d, 100, &id) == 1);
    CHECK_EQ_U64(id, 2);
    CHECK(deadlines_pop_due(d, 1000, &id) == 0);
    CHECK_EQ_U64(deadlines_count(d), 0);
    deadlines_free(d);
}

TEST(test_deadlines_come_out_in_order_whatever_order_they_went_in)
{
    enum { N = 1000 };
    struct deadlines *d = deadlines_new(N);
    uint64_t last = 0;
    uint32_t id, i, seen = 0;

    for (i = 0; i != N; ++i)
        deadlines_set(d, i, 1 + (i * 7919u) % N); /* a permutation of 1 .. N */
    CHECK_EQ_U64(deadlines_count(d), N);
    while (deadlines_pop_due(d, N, &id)) {
        uint64_t at = 1 + ((uint64_t)id * 7919u) % N;
        if (!CHECK(at >= last))
            break;
        last = at;
        ++seen;
    }
    CHECK_EQ_U64(seen, N);
    deadlines_free(d);
}

TEST(test_deadlines_a_refreshed_deadline_is_not_due_at_the_old_time)
{
    struct deadlines *d = deadlines_new(3);
    uint32_t id;

    deadlines_set(d, 0, 100);
    deadlines_set(d, 1, 150);
    deadlines_set(d, 0, 200); /* a ping */
    CHECK(deadlines_pop_due(d, 120, &id) == 0);
    CHECK(deadlines_pop_due(d, 160, &id) == 1);
    CHECK_EQ_U64(id, 1);
    CHECK(deadlines_pop_due(d, 199, &id) == 0);
    CHECK(deadlines_pop_due(d, 200, &id) == 1);
    CHECK_EQ_U64(id, 0);
    deadlines_free(d);
}

TEST(test_deadlines_a_forgotten_deadline_never_comes_out)
{
    struct deadlines *d = deadlines_new(2);
    uint32_t id;

    deadlines_set(d, 1, 50);
    deadlines_set(d, 1, 0); /* turned unhealthy some other way */
    CHECK_EQ_U64(deadlines_count(d), 0);
    CHECK(deadlines_pop_due(d, 1000, &id) == 0);
    /* and it can be set again afterwards */
    deadlines_set(d, 1, 2000);
    CHECK(deadlines_pop_due(d, 2000, &id) == 1);
    CHECK_EQ_U64(id, 1);
    deadlines_free(d);
}

TEST(test_deadlines_each_id_comes_out_once_however_often_it_was_set)
{
    struct deadlines *d = deadlines_new(2);
    uint32_t id, n = 0, t;

    for (t = 1; t <= 100; ++t)
        deadlines_set(d, 0, t * 10);
    while (deadlines_pop_due(d, 10000, &id))
        ++n;
    CHECK_EQ_U64(n, 1);
    deadlines_free(d);
}

TEST(test_deadlines_ignore_ids_out_of_range)
{
    struct deadlines *d = deadlines_new(2);
    uint32_t id;

    deadlines_set(d, 2, 10);
    deadlines_set(d, UINT32_MAX, 10);
    CHECK(deadlines_pop_due(d, 100, &id) == 0);
    deadlines_free(d);
}

/* The timer is armed for deadlines_next: the earliest deadline, never later than any id's; a refreshed one may still
 * show its old time (a wake-up that finds nothing due), and none at all shows 0. */
TEST(test_deadlines_next_is_the_earliest_time_any_may_come_due)
{
    struct deadlines *d = deadlines_new(4);
    uint32_t id;

    CHECK_EQ_U64(deadlines_next(d), 0);
    deadlines_set(d, 1, 300);
    deadlines_set(d, 2, 200);
    deadlines_set(d, 3, 400);
    CHECK_EQ_U64(deadlines_next(d), 200);
    deadlines_set(d, 2, 500); /* refreshed: still at 200 in the heap until it comes up */
    CHECK(deadlines_next(d) <= 200);
    CHECK(deadlines_pop_due(d, 250, &id) == 0);
    CHECK_EQ_U64(deadlines_next(d), 300);
    CHECK(deadlines_pop_due(d, 300, &id) == 1);
    CHECK_EQ_U64(id, 1);
    CHECK_EQ_U64(deadlines_next(d), 400);
    CHECK(deadlines_pop_due(d, 1000, &id) == 1 && deadlines_pop_due(d, 1000, &id) == 1);
    CHECK_EQ_U64(deadlines_next(d), 0);
    deadlines_free(d);
}

/* The sweep leaves out the ids that have a deadline: deadlines_of is the latest one set, until it comes out or is
 * forgotten, and 0 for an id out of range. */
TEST(test_deadlines_of_is_the_pending_deadline)
{
    struct deadlines *d = deadlines_new(4);
    uint32_t id;

    CHECK_EQ_U64(deadlines_of(d, 1), 0);
    deadlines_set(d, 1, 300);
    deadlines_set(d, 1, 500);
    deadlines_set(d, 2, 200);
    CHECK_EQ_U64(deadlines_of(d, 1), 500);
    CHECK(deadlines_pop_due(d, 250, &id) == 1);
    CHECK_EQ_U64(id, 2);
    CHECK_EQ_U64(deadlines_of(d, 2), 0);
    CHECK(deadlines_pop_due(d, 400, &id) == 0);
    CHECK_EQ_U64(deadlines_of(d, 1), 500);
    deadlines_set(d, 1, 0);
    CHECK_EQ_U64(deadlines_of(d, 1), 0);
    CHECK_EQ_U64(deadlines_of(d, 9), 0);
    deadlines_free(d);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_deadlines_pop_nothing_before_the_first_is_due),
        CHECK_CASE(test_deadlines_come_out_in_order_whatever_order_they_went_in),
        CHECK_CASE(test_deadlines_a_refreshed_deadline_is_not_due_at_the_old_time),
        CHECK_CASE(test_deadlines_a_forgotten_deadline_never_comes_out),
        CHECK_CASE(test_deadlines_each_id_comes_out_once_however_often_it_was_set),
        CHECK_CASE(test_deadlines_ignore_ids_out_of_range),
        CHECK_CASE(test_deadlines_next_is_the_earliest_time_any_may_come_due),
        CHECK_CASE(test_deadlines_of_is_the_pending_deadline),
    };

    return CHECK_RUN(cases);
}
