/* test_sim_bot_figures.c -- unit tests of services/sim/bot_figures.c: the simulated figures, their query string
 * and the batch body. */
#include <jansson.h>
#include <stdlib.h>
#include "check.h"
#include "bot_figures.h"

TEST(test_bot_figures_query_names_every_figure)
{
    struct bot_figures fig = {42, 1830, 3};
    char buf[128];
    int n = bot_figures_query(buf, sizeof(buf), &fig);
    CHECK_MEM_STR(buf, n > 0 ? (size_t)n : 0, "?latency_ms=42&guilds=1830&unavailable_guilds=3");
}

TEST(test_bot_figures_query_refuses_a_buffer_too_small)
{
    struct bot_figures fig = {42, 1830, 3};
    char buf[20];
    CHECK(bot_figures_query(buf, sizeof(buf), &fig) == -1);
    CHECK(bot_figures_query(buf, 0, &fig) == -1);
}

TEST(test_bot_figures_batch_body_has_the_contracts_shape)
{
    struct bot_figures_item items[] = {{0, 1, {41, 980, 0}}, {7, 0, {0, 0, 0}}, {12, 1, {612, 2100, 4}}};
    char buf[512];
    long n = bot_figures_batch_body(buf, sizeof(buf), items, 3);
    CHECK_MEM_STR(buf, n > 0 ? (size_t)n : 0,
                  "{\"shards\":[{\"id\":0,\"latency_ms\":41,\"guilds\":980,\"unavailable_guilds\":0},{\"id\":7},"
                  "{\"id\":12,\"latency_ms\":612,\"guilds\":2100,\"unavailable_guilds\":4}]}");
}

TEST(test_bot_figures_batch_body_items_carry_no_state_so_they_are_pings)
{
    struct bot_figures_item item = {5, 1, {50, 1500, 0}};
    char buf[256];
    CHECK(bot_figures_batch_body(buf, sizeof(buf), &item, 1) > 0);
    CHECK(strstr(buf, "state") == NULL);
}

TEST(test_bot_figures_batch_body_of_the_largest_batch_fits_its_cap_and_the_servers_limit)
{
    static struct bot_figures_item items[BOT_FIGURES_MAX_BATCH];
    size_t cap = bot_figures_batch_cap(BOT_FIGURES_MAX_BATCH), i;
    char *buf = malloc(cap);
    json_t *doc;
    json_error_t jerr;
    long n;

    if (!CHECK(buf != NULL))
        return;
    for (i = 0; i != BOT_FIGURES_MAX_BATCH; ++i)
        items[i] = (struct bot_figures_item){UINT32_MAX - (uint32_t)i, 1, {UINT32_MAX, UINT32_MAX, UINT32_MAX}, 1,
                                             /* the contract's most events */
                                             {100000000000000ull, UINT32_MAX, UINT32_MAX, UINT32_MAX}};
    n = bot_figures_batch_body(buf, cap, items, BOT_FIGURES_MAX_BATCH);
    CHECK(n > 0);
    CHECK(n < 256 * 1024);
    doc = json_loadb(buf, n > 0 ? (size_t)n : 0, 0, &jerr);
    if (CHECK(doc != NULL)) {
        json_t *shards = json_object_get(doc, "shards");
        CHECK(json_is_array(shards));
        CHECK_EQ_U64(json_array_size(shards), BOT_FIGURES_MAX_BATCH);
        CHECK_EQ_U64(json_object_size(json_array_get(shards, 0)), 8);
        json_decref(doc);
    }
    free(buf);
}

TEST(test_bot_figures_batch_body_refuses_empty_oversized_and_cramped)
{
    struct bot_figures_item items[2] = {{1, 0, {0, 0, 0}}, {2, 0, {0, 0, 0}}};
    char buf[64];
    CHECK(bot_figures_batch_body(buf, sizeof(buf), items, 0) == -1);
    CHECK(bot_figures_batch_body(buf, sizeof(buf), items, BOT_FIGURES_MAX_BATCH + 1) == -1);
    CHECK(bot_figures_batch_body(buf, 20, items, 2) == -1);
    CHECK(bot_figures_batch_body(buf, 0, items, 1) == -1);
}

TEST(test_bot_figures_init_draws_a_usual_latency_and_guilds_in_range)
{
    uint64_t rng = 12345;
    int i;
    for (i = 0; i != 1000; ++i) {
        struct bot_figures_shard s;
        bot_figures_init(&s, 0, &rng);
        CHECK(s.base_latency_ms >= 25 && s.base_latency_ms <= 90);
        CHECK(s.guilds >= BOT_FIGURES_GUILDS_MIN && s.guilds <= BOT_FIGURES_GUILDS_USUAL_MAX);
    }
}

TEST(test_bot_figures_an_ordinary_shard_stays_below_the_guild_cap_mark_and_a_near_cap_one_above_it)
{
    struct bot_figures_shard usual, near;
    uint64_t rng = 5;
    int r;

    bot_figures_init(&usual, 0, &rng);
    bot_figures_init(&near, 1, &rng);
    for (r = 1; r <= 5000; ++r) { /* enough reports for the count to wander to either end of its range */
        struct bot_figures fu, fn;
        bot_figures_next(&usual, &rng, (uint64_t)r * 10000, 0, &fu);
        bot_figures_next(&near, &rng, (uint64_t)r * 10000, 0, &fn);
        CHECK(fu.guilds >= BOT_FIGURES_GUILDS_MIN && fu.guilds < 2250);
        CHECK(fn.guilds >= 2250 && fn.guilds >= BOT_FIGURES_GUILDS_NEAR_MIN && fn.guilds < BOT_FIGURES_GUILDS_MAX);
    }
}

TEST(test_bot_figures_batch_items_carry_their_gateway_counters)
{
    struct bot_figures_item items[] = {{3, 1, {41, 980, 0}, 1, {123456789012345ull, 2, 1, 4}},
                                       {4, 0, {0, 0, 0}, 1, {0, 0, 1, 0}}};
    char buf[512];
    long n = bot_figures_batch_body(buf, sizeof(buf), items, 2);
    CHECK_MEM_STR(buf, n > 0 ? (size_t)n : 0,
                  "{\"shards\":[{\"id\":3,\"latency_ms\":41,\"guilds\":980,\"unavailable_guilds\":0,"
                  "\"events\":123456789012345,\"resumes\":2,\"identifies\":1,\"disconnects\":4},"
                  "{\"id\":4,\"events\":0,\"resumes\":0,\"identifies\":1,\"disconnects\":0}]}");
}

/* 500 shards reporting every 10 s for two hours: 360,000 reports. */
#define SHARDS 500
#define REPORTS 720

TEST(test_bot_figures_a_healthy_shard_is_fast_and_has_every_guild_but_now_and_then_one_is_slow)
{
    static struct bot_figures_shard shards[SHARDS];
    uint64_t rng = 99;
    size_t slow_reports = 0, i, r;

    for (i = 0; i != SHARDS; ++i)
        bot_figures_init(&shards[i], 0, &rng);
    for (r = 1; r <= REPORTS; ++r)
        for (i = 0; i != SHARDS; ++i) {
            struct bot_figures fig;
            bot_figures_next(&shards[i], &rng, r * 10000, 0, &fig);
            CHECK_EQ_U64(fig.unavailable_guilds, 0);
            CHECK(fig.guilds >= BOT_FIGURES_GUILDS_MIN && fig.guilds <= BOT_FIGURES_GUILDS_USUAL_MAX);
            if (fig.latency_ms >= BOT_FIGURES_SLOW_MIN_MS) {
                ++slow_reports;
                CHECK(fig.latency_ms <= 1500);
            } else {
                CHECK(fig.latency_ms >= 20 && fig.latency_ms <= 108); /* 25 to 90 ms, +- 20 % */
            }
        }
    /* a spell per shard per two hours, 30 to 120 s long: about 1 % of the reports, and never most of them */
    CHECK(slow_reports > SHARDS * REPORTS / 1000);
    CHECK(slow_reports < SHARDS * REPORTS / 20);
}

TEST(test_bot_figures_a_shard_in_trouble_has_a_few_unavailable_guilds_and_a_higher_latency)
{
    struct bot_figures_shard s;
    uint64_t rng = 7;
    int r;

    bot_figures_init(&s, 0, &rng);
    for (r = 1; r <= 200; ++r) {
        struct bot_figures fig;
        bot_figures_next(&s, &rng, 1000, 1, &fig); /* no time passes: no slow spell starts */
        CHECK(fig.unavailable_guilds >= 1);
        CHECK(fig.unavailable_guilds <= 1 + fig.guilds / 200);
        CHECK(fig.latency_ms >= s.base_latency_ms * 8 / 5 - 1 && fig.latency_ms <= s.base_latency_ms * 12 / 5 + 1);
    }
}

TEST(test_bot_figures_are_reproducible_from_a_seed)
{
    struct bot_figures_shard a, b;
    uint64_t ra = 42, rb = 42;
    int r;

    bot_figures_init(&a, 0, &ra);
    bot_figures_init(&b, 0, &rb);
    for (r = 1; r <= 100; ++r) {
        struct bot_figures fa, fb;
        bot_figures_next(&a, &ra, (uint64_t)r * 10000, r % 7 == 0, &fa);
        bot_figures_next(&b, &rb, (uint64_t)r * 10000, r % 7 == 0, &fb);
        CHECK(fa.latency_ms == fb.latency_ms && fa.guilds == fb.guilds &&
              fa.unavailable_guilds == fb.unavailable_guilds);
    }
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_bot_figures_query_names_every_figure),
        CHECK_CASE(test_bot_figures_query_refuses_a_buffer_too_small),
        CHECK_CASE(test_bot_figures_batch_body_has_the_contracts_shape),
        CHECK_CASE(test_bot_figures_batch_body_items_carry_no_state_so_they_are_pings),
        CHECK_CASE(test_bot_figures_batch_body_of_the_largest_batch_fits_its_cap_and_the_servers_limit),
        CHECK_CASE(test_bot_figures_batch_body_refuses_empty_oversized_and_cramped),
        CHECK_CASE(test_bot_figures_init_draws_a_usual_latency_and_guilds_in_range),
        CHECK_CASE(test_bot_figures_an_ordinary_shard_stays_below_the_guild_cap_mark_and_a_near_cap_one_above_it),
        CHECK_CASE(test_bot_figures_batch_items_carry_their_gateway_counters),
        CHECK_CASE(test_bot_figures_a_healthy_shard_is_fast_and_has_every_guild_but_now_and_then_one_is_slow),
        CHECK_CASE(test_bot_figures_a_shard_in_trouble_has_a_few_unavailable_guilds_and_a_higher_latency),
        CHECK_CASE(test_bot_figures_are_reproducible_from_a_seed),
    };
    return CHECK_RUN(cases);
}
