/* test_sim_stats.c -- unit tests of services/sim/stats.c: histogram buckets and percentiles. */
#include "check.h"
#include "stats.h"

TEST(test_stats_small_values_have_their_own_bucket)
{
    uint64_t v;
    for (v = 0; v != STATS_EXACT; ++v)
        CHECK_EQ_U64(stats_bucket_upper(stats_bucket(v)), v);
}

TEST(test_stats_bucket_bound_is_within_one_sixty_fourth_above)
{
    uint64_t v;
    for (v = STATS_EXACT; v < (1ull << 40); v = v * 3 / 2 + 7) {
        uint64_t upper = stats_bucket_upper(stats_bucket(v));
        CHECK(upper >= v);
        CHECK((double)(upper - v) <= (double)v / 64.0);
    }
}

TEST(test_stats_buckets_are_in_value_order)
{
    size_t b;
    for (b = 1; b != STATS_BUCKETS; ++b)
        CHECK(stats_bucket_upper(b) > stats_bucket_upper(b - 1));
}

TEST(test_stats_huge_values_land_in_the_last_bucket)
{
    CHECK_EQ_U64(stats_bucket(UINT64_MAX), STATS_BUCKETS - 1);
}

TEST(test_stats_percentiles_of_one_to_a_hundred)
{
    struct stats_hist h;
    uint64_t v;
    stats_init(&h);
    for (v = 1; v <= 100; ++v)
        stats_add(&h, v);
    CHECK_EQ_U64(stats_percentile(&h, 50), 50);
    CHECK_EQ_U64(stats_percentile(&h, 99), 99);
    CHECK_EQ_U64(stats_percentile(&h, 100), 100);
    CHECK_EQ_U64(stats_percentile(&h, 0), 1);
    CHECK_EQ_U64(h.total, 100);
    CHECK(stats_mean(&h) > 50.49 && stats_mean(&h) < 50.51);
}

TEST(test_stats_percentile_never_passes_the_largest_value)
{
    struct stats_hist h;
    stats_init(&h);
    stats_add(&h, 100001);
    CHECK_EQ_U64(stats_percentile(&h, 99), 100001);
}

TEST(test_stats_percentile_of_large_values_is_close)
{
    struct stats_hist h;
    uint64_t v, p99;
    stats_init(&h);
    for (v = 1; v <= 100000; ++v)
        stats_add(&h, v * 10);
    p99 = stats_percentile(&h, 99);
    CHECK(p99 >= 990000 && p99 <= 990000 + 990000 / 64);
}

TEST(test_stats_empty_histogram_reports_zero)
{
    struct stats_hist h;
    stats_init(&h);
    CHECK_EQ_U64(stats_percentile(&h, 99), 0);
    CHECK(stats_mean(&h) == 0);
}

TEST(test_stats_merge_adds_counts_and_extremes)
{
    struct stats_hist a, b;
    stats_init(&a);
    stats_init(&b);
    stats_add(&a, 5);
    stats_add(&b, 500);
    stats_merge(&a, &b);
    CHECK_EQ_U64(a.total, 2);
    CHECK_EQ_U64(a.min, 5);
    CHECK_EQ_U64(a.max, 500);
    CHECK_EQ_U64(stats_percentile(&a, 100), 500);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_stats_small_values_have_their_own_bucket),
        CHECK_CASE(test_stats_bucket_bound_is_within_one_sixty_fourth_above),
        CHECK_CASE(test_stats_buckets_are_in_value_order),
        CHECK_CASE(test_stats_huge_values_land_in_the_last_bucket),
        CHECK_CASE(test_stats_percentiles_of_one_to_a_hundred),
        CHECK_CASE(test_stats_percentile_never_passes_the_largest_value),
        CHECK_CASE(test_stats_percentile_of_large_values_is_close),
        CHECK_CASE(test_stats_empty_histogram_reports_zero),
        CHECK_CASE(test_stats_merge_adds_counts_and_extremes),
    };
    return CHECK_RUN(cases);
}
