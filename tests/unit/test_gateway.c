/* test_gateway.c -- unit tests of gateway_sessions_read: a cluster's identifies and resumes a minute are those of the
 * last 60 to 70 seconds whatever the clock's minutes (a burst that straddles one is counted whole), a slice gone by
 * counts nothing, and the storm and budget judgements on them. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "state/gateway.h"

#define SLICE 10000LL
#define HOUR 3600000LL

/* An HGETALL reply built by hand: up to 16 field/value pairs. */
struct hash {
    redisReply reply, items[32];
    redisReply *ptrs[32];
    char text[32][48];
};

static void hash_init(struct hash *h)
{
    memset(h, 0, sizeof(*h));
    h->reply.type = REDIS_REPLY_ARRAY;
    h->reply.element = h->ptrs;
}

static void hash_put(struct hash *h, const char *field, const char *value)
{
    const char *both[2] = {field, value};

    for (int k = 0; k != 2; ++k) {
        size_t n = h->reply.elements++;
        snprintf(h->text[n], sizeof(h->text[n]), "%s", both[k]);
        h->items[n].type = REDIS_REPLY_STRING;
        h->items[n].str = h->text[n];
        h->items[n].len = strlen(h->text[n]);
        h->ptrs[n] = &h->items[n];
    }
}

/* The slot lib.lua's count_sessions writes for `at` (a slice or an hour). */
static void hash_slot(struct hash *h, char kind, int ring, long long at, unsigned identifies, unsigned resumes)
{
    char field[8], value[48];

    snprintf(field, sizeof(field), "%c%lld", kind, at % ring);
    snprintf(value, sizeof(value), "%lld %u %u", at, identifies, resumes);
    hash_put(h, field, value);
}

TEST(test_gateway_a_burst_across_a_clock_minute_is_counted_whole)
{
    /* 4 identifies two seconds before a minute's end, 4 more three seconds after it: 8 in the last minute */
    long long minute_end = 30000000LL * 60000LL; /* a minute boundary in 2027 */
    struct hash h;
    struct gateway_sessions s;

    hash_init(&h);
    hash_slot(&h, 's', 7, (minute_end - 2000) / SLICE, 4, 0);
    hash_slot(&h, 's', 7, (minute_end + 3000) / SLICE, 4, 1);
    hash_slot(&h, 'h', 25, (minute_end + 3000) / HOUR, 8, 1);
    CHECK(gateway_sessions_read(&h.reply, 4, minute_end + 4000, 0, &s) == 0);
    CHECK_EQ_U64(s.identifies, 8);
    CHECK_EQ_U64(s.resumes, 1);
    CHECK_EQ_U64(s.day_total, 9);
    CHECK(s.storm); /* 8 identifies in two hours for 4 shards: every shard restarted twice */
}

TEST(test_gateway_a_minute_holds_this_slice_and_the_six_before_it)
{
    long long now = 1800000000000LL + 5000, slice = now / SLICE;
    struct hash h;
    struct gateway_sessions s;

    hash_init(&h);
    hash_slot(&h, 's', 7, slice - 6, 3, 0); /* 60 to 65 s ago: still the last minute */
    CHECK(gateway_sessions_read(&h.reply, 16, now, 0, &s) == 0);
    CHECK_EQ_U64(s.identifies, 3);
    /* the same slot a slice later has gone by, although its field is still there */
    CHECK(gateway_sessions_read(&h.reply, 16, now + SLICE, 0, &s) == 0);
    CHECK_EQ_U64(s.identifies, 0);
    /* a slot from the future (another replica's clock ahead) or garbage counts nothing */
    hash_init(&h);
    hash_slot(&h, 's', 7, slice + 1, 5, 5);
    hash_put(&h, "s3", "nonsense");
    CHECK(gateway_sessions_read(&h.reply, 16, now, 0, &s) == 0);
    CHECK_EQ_U64(s.identifies + s.resumes, 0);
}

TEST(test_gateway_a_deploy_is_no_storm_and_the_threshold_counts_both)
{
    long long now = 1800000000000LL + 5000, slice = now / SLICE;
    struct hash h;
    struct gateway_sessions s;

    hash_init(&h);
    hash_slot(&h, 's', 7, slice - 1, 4, 0);
    hash_slot(&h, 's', 7, slice, 0, 3);
    hash_slot(&h, 'h', 25, now / HOUR, 4, 3);
    hash_put(&h, "since", "1790000000000");
    CHECK(gateway_sessions_read(&h.reply, 4, now, 0, &s) == 0);
    CHECK(!s.storm); /* every shard identified once, and 3 resumes is weather */
    CHECK(gateway_sessions_read(&h.reply, 4, now, 7, &s) == 0);
    CHECK(s.storm); /* GLANCE_STORM_PER_MINUTE=7: 4 identifies and 3 resumes */
    CHECK(gateway_sessions_read(&h.reply, 4, now, 8, &s) == 0);
    CHECK(!s.storm);
}

TEST(test_gateway_resumes_far_above_the_day_are_a_storm)
{
    long long now = 1800000000000LL + 5000, slice = now / SLICE;
    struct hash h;
    struct gateway_sessions s;
    char since[32];

    hash_init(&h);
    hash_slot(&h, 's', 7, slice, 0, 12);
    hash_slot(&h, 'h', 25, now / HOUR, 0, 12);
    snprintf(since, sizeof(since), "%lld", now - 30000); /* known for half a minute: its usual rate, not a storm */
    hash_put(&h, "since", since);
    CHECK(gateway_sessions_read(&h.reply, 4, now, 0, &s) == 0);
    CHECK_EQ_U64(s.resumes, 12);
    CHECK(!s.storm);
    snprintf(h.text[h.reply.elements - 1], sizeof(h.text[0]), "%lld", now - HOUR); /* known for an hour */
    h.items[h.reply.elements - 1].len = strlen(h.text[h.reply.elements - 1]);
    CHECK(gateway_sessions_read(&h.reply, 4, now, 0, &s) == 0);
    CHECK(s.storm);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_gateway_a_burst_across_a_clock_minute_is_counted_whole),
        CHECK_CASE(test_gateway_a_minute_holds_this_slice_and_the_six_before_it),
        CHECK_CASE(test_gateway_a_deploy_is_no_storm_and_the_threshold_counts_both),
        CHECK_CASE(test_gateway_resumes_far_above_the_day_are_a_storm),
    };

    return CHECK_RUN(cases);
}
