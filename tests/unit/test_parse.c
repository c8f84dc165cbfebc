/* test_parse.c -- unit tests of parse.c: numbers, paths, names, guild shards, secrets, states, health keys, the
 * framing and control-byte checks of raw requests. */
#include <string.h>
#include "check.h"
#include "base/conf.h"
#include "base/parse.h"
#include "base/shard.h"

#define S(lit) (lit), sizeof(lit) - 1

/* ---- parse_u64 ---- */

TEST(test_parse_u64_accepts_zero_one_and_the_largest_64_bit_value)
{
    uint64_t v = 42;

    CHECK(parse_u64(S("0"), &v) == 0);
    CHECK_EQ_U64(v, 0);
    CHECK(parse_u64(S("1"), &v) == 0);
    CHECK_EQ_U64(v, 1);
    CHECK(parse_u64(S("18446744073709551615"), &v) == 0);
    CHECK_EQ_U64(v, UINT64_MAX);
}

TEST(test_parse_u64_rejects_values_past_64_bits)
{
    uint64_t v = 42;

    CHECK(parse_u64(S("18446744073709551616"), &v) == -1);
    CHECK(parse_u64(S("18446744073709551620"), &v) == -1);
    CHECK(parse_u64(S("99999999999999999999"), &v) == -1);
    CHECK_EQ_U64(v, 42); /* untouched on failure */
}

TEST(test_parse_u64_rejects_21_digit_strings_even_with_leading_zeros)
{
    uint64_t v;

    CHECK(parse_u64(S("000000000000000000001"), &v) == -1);
    CHECK(parse_u64(S("100000000000000000000"), &v) == -1);
}

TEST(test_parse_u64_rejects_empty_signs_spaces_and_letters)
{
    uint64_t v;

    CHECK(parse_u64("", 0, &v) == -1);
    CHECK(parse_u64(S("-1"), &v) == -1);
    CHECK(parse_u64(S("+1"), &v) == -1);
    CHECK(parse_u64(S(" 1"), &v) == -1);
    CHECK(parse_u64(S("1 "), &v) == -1);
    CHECK(parse_u64(S("1a"), &v) == -1);
    CHECK(parse_u64(S("0x10"), &v) == -1);
}

TEST(test_parse_u64_accepts_leading_zeros)
{
    uint64_t v = 42;

    CHECK(parse_u64(S("007"), &v) == 0);
    CHECK_EQ_U64(v, 7);
    CHECK(parse_u64(S("00000000000000000000"), &v) == 0);
    CHECK_EQ_U64(v, 0);
}

TEST(test_parse_u64_reads_only_len_bytes)
{
    uint64_t v;

    CHECK(parse_u64("123abc", 3, &v) == 0);
    CHECK_EQ_U64(v, 123);
}

/* ---- parse_path ---- */

TEST(test_parse_path_root_has_no_segments)
{
    struct path_segments segs;
    const char *why = NULL;

    CHECK(parse_path(S("/"), &segs, &why) == 0);
    CHECK_EQ_U64(segs.n, 0);
}

TEST(test_parse_path_splits_segments_pointing_into_the_path)
{
    static const char path[] = "/api/status/main/5/3";
    static const char *want[] = {"api", "status", "main", "5", "3"};
    struct path_segments segs;
    const char *why = NULL;
    size_t i;

    if (!CHECK(parse_path(S(path), &segs, &why) == 0) || !CHECK_EQ_U64(segs.n, 5))
        return;
    for (i = 0; i != 5; ++i) {
        CHECK_MEM_STR(segs.seg[i].base, segs.seg[i].len, want[i]);
        CHECK(segs.seg[i].base >= path && segs.seg[i].base < path + sizeof(path));
    }
}

TEST(test_parse_path_accepts_eight_segments)
{
    struct path_segments segs;
    const char *why = NULL;

    CHECK(parse_path(S("/a/b/c/d/e/f/g/h"), &segs, &why) == 0);
    CHECK_EQ_U64(segs.n, 8);
}

static int rejected_with_reason(const char *path, size_t len)
{
    struct path_segments segs;
    const char *why = NULL;

    return parse_path(path, len, &segs, &why) == -1 && why != NULL && why[0] != '\0';
}

TEST(test_parse_path_rejects_empty_segments_with_a_reason)
{
    CHECK(rejected_with_reason(S("//")));
    CHECK(rejected_with_reason(S("/api//status")));
    CHECK(rejected_with_reason(S("/api/status/")));
}

TEST(test_parse_path_rejects_percent_encoding_with_a_reason)
{
    CHECK(rejected_with_reason(S("/%41")));
    CHECK(rejected_with_reason(S("/api/%2e%2e")));
}

TEST(test_parse_path_rejects_characters_outside_the_name_set_with_a_reason)
{
    CHECK(rejected_with_reason(S("/a b")));
    CHECK(rejected_with_reason(S("/api?x")));
    CHECK(rejected_with_reason(S("/\xc3\xa4")));
}

TEST(test_parse_path_rejects_nine_segments_with_a_reason)
{
    CHECK(rejected_with_reason(S("/a/b/c/d/e/f/g/h/i")));
}

TEST(test_parse_path_rejects_a_path_not_starting_with_slash_with_a_reason)
{
    CHECK(rejected_with_reason(S("api/status")));
    CHECK(rejected_with_reason("", 0));
}

/* ---- parse_cluster_name ---- */

TEST(test_parse_cluster_name_accepts_letters_digits_underscore_dot_dash)
{
    CHECK(parse_cluster_name(S("main")) == 1);
    CHECK(parse_cluster_name(S("Az09_.-")) == 1);
    CHECK(parse_cluster_name(S("a")) == 1);
    CHECK(parse_cluster_name(S("...")) == 1);
}

TEST(test_parse_cluster_name_accepts_64_bytes_and_rejects_65)
{
    char name[65];

    memset(name, 'x', sizeof(name));
    CHECK(parse_cluster_name(name, 64) == 1);
    CHECK(parse_cluster_name(name, 65) == 0);
}

TEST(test_parse_cluster_name_rejects_dot_dotdot_empty_space_and_non_ascii)
{
    CHECK(parse_cluster_name(S(".")) == 0);
    CHECK(parse_cluster_name(S("..")) == 0);
    CHECK(parse_cluster_name("", 0) == 0);
    CHECK(parse_cluster_name(S("a b")) == 0);
    CHECK(parse_cluster_name(S("\xc3\xa4")) == 0); /* "ä" in UTF-8 */
    CHECK(parse_cluster_name(S("a/b")) == 0);
    CHECK(parse_cluster_name(S("{a}")) == 0);
}

/* ---- guild_shard ---- */

/* Expected shards computed outside C with Python's unbounded integers: (id >> 22) % shards. */
static const struct {
    uint64_t id;
    uint32_t shard[4]; /* for 1, 2, 360 and 1000000 shards */
} guild_table[] = {
    {0u, {0, 0, 0, 0}},
    {4194303u, {0, 0, 0, 0}},
    {4194304u, {0, 1, 1, 1}},
    {9007199254740993u, {0, 0, 128, 483648}},         /* 2^53 + 1 */
    {9223372036854775808u, {0, 0, 32, 255552}},       /* 2^63 */
    {9223372036858970111u, {0, 0, 32, 255552}},       /* 2^63 + 4194303 */
    {18446744073709551615u, {0, 1, 63, 511103}},      /* 2^64 - 1 */
    {51782877183u, {0, 1, 105, 12345}},               /* (12345 << 22) | 0x3fffff */
    {4611686018431582207u, {0, 0, 16, 627776}},       /* (2^40 << 22) | 0x3fffff */
};
static const uint32_t guild_shard_counts[4] = {1, 2, 360, 1000000};

TEST(test_guild_shard_matches_values_computed_with_exact_integers)
{
    size_t i, j;

    for (i = 0; i != sizeof(guild_table) / sizeof(guild_table[0]); ++i)
        for (j = 0; j != 4; ++j)
            CHECK_EQ_U64(guild_shard(guild_table[i].id, guild_shard_counts[j]), guild_table[i].shard[j]);
}

TEST(test_guild_shard_matches_a_uint64_shift_and_modulo)
{
    size_t i, j;

    for (i = 0; i != sizeof(guild_table) / sizeof(guild_table[0]); ++i) {
        for (j = 0; j != 4; ++j) {
            uint64_t id = guild_table[i].id;
            CHECK_EQ_U64(guild_shard(id, guild_shard_counts[j]), (id / 4194304u) % guild_shard_counts[j]);
        }
    }
}

TEST(test_guild_shard_ignores_the_low_22_bits)
{
    uint64_t base = (uint64_t)987654321 << 22;

    CHECK_EQ_U64(guild_shard(base, 360), guild_shard(base | 0x3fffff, 360));
    CHECK_EQ_U64(guild_shard(base, 1000000), guild_shard(base | 0x3fffff, 1000000));
}

TEST(test_guild_shard_of_a_known_guild_with_360_shards_is_298)
{
    CHECK_EQ_U64(guild_shard(81384788765712384u, 360), 298);
}

/* ---- secret_equal ---- */

TEST(test_secret_equal_accepts_an_equal_secret)
{
    CHECK(secret_equal(S("hunter2"), S("hunter2")) == 1);
}

TEST(test_secret_equal_rejects_a_different_length)
{
    CHECK(secret_equal(S("hunter"), S("hunter2")) == 0);
    CHECK(secret_equal(S("hunter22"), S("hunter2")) == 0);
    CHECK(secret_equal("", 0, S("hunter2")) == 0);
    CHECK(secret_equal(S("x"), "", 0) == 0);
}

TEST(test_secret_equal_rejects_a_difference_in_the_last_byte)
{
    CHECK(secret_equal(S("hunter3"), S("hunter2")) == 0);
}

TEST(test_secret_equal_accepts_empty_when_empty_is_expected)
{
    CHECK(secret_equal("", 0, "", 0) == 1);
}

/* ---- state_name ---- */

TEST(test_state_name_names_every_state)
{
    CHECK_STR(state_name(STATE_UNKNOWN), "unknown");
    CHECK_STR(state_name(STATE_UNHEALTHY), "unhealthy");
    CHECK_STR(state_name(STATE_OFFLINE), "offline");
    CHECK_STR(state_name(STATE_ONLINE), "online");
    CHECK_STR(state_name(STATE_STARTING), "starting");
    CHECK_STR(state_name(STATE_STOPPING), "stopping");
    CHECK_STR(state_name(STATE_RESUMING), "resuming");
}

TEST(test_state_name_calls_out_of_range_states_invalid)
{
    CHECK_STR(state_name(7), "invalid");
    CHECK_STR(state_name(-1), "invalid");
    CHECK_STR(state_name(255), "invalid");
}

/* ---- parse_health_key ---- */

struct env_pair {
    const char *name, *value;
};

static const char *lookup_table(void *ctx, const char *name)
{
    const struct env_pair *p;

    for (p = ctx; p->name != NULL; ++p)
        if (strcmp(p->name, name) == 0)
            return p->value;
    return NULL;
}

static const struct env_pair two_clusters[] = {{"GLANCE_BOTS", "main:360;demo:1"}, {NULL, NULL}};

/* Loads the conf of main:360;demo:1; returns 0, or -1 after recording a failed check. */
static int load_two_clusters(struct check *chk, struct conf *conf)
{
    char err[256] = "";

    return CHECK(conf_load(conf, lookup_table, (void *)two_clusters, err, sizeof(err)) == 0) ? 0 : -1;
}

static int health_key(const struct conf *conf, const char *key, size_t *cluster, uint32_t *shard)
{
    return parse_health_key(conf, key, strlen(key), cluster, shard);
}

TEST(test_parse_health_key_finds_cluster_and_shard)
{
    struct conf conf;
    size_t cluster = 99;
    uint32_t shard = 99;

    if (load_two_clusters(chk, &conf) != 0)
        return;
    CHECK(health_key(&conf, "glance:{main}:hb:5", &cluster, &shard) == 0);
    CHECK_EQ_U64(cluster, 0);
    CHECK_EQ_U64(shard, 5);
    CHECK(health_key(&conf, "glance:{demo}:hb:0", &cluster, &shard) == 0);
    CHECK_EQ_U64(cluster, 1);
    CHECK_EQ_U64(shard, 0);
    CHECK(health_key(&conf, "glance:{main}:hb:359", &cluster, &shard) == 0);
    CHECK_EQ_U64(cluster, 0);
    CHECK_EQ_U64(shard, 359);
}

TEST(test_parse_health_key_rejects_a_shard_past_the_cluster_count)
{
    struct conf conf;
    size_t cluster;
    uint32_t shard;

    if (load_two_clusters(chk, &conf) != 0)
        return;
    CHECK(health_key(&conf, "glance:{main}:hb:360", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{demo}:hb:1", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{main}:hb:18446744073709551616", &cluster, &shard) == -1);
}

TEST(test_parse_health_key_rejects_an_unknown_cluster)
{
    struct conf conf;
    size_t cluster;
    uint32_t shard;

    if (load_two_clusters(chk, &conf) != 0)
        return;
    CHECK(health_key(&conf, "glance:{other}:hb:0", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{mai}:hb:0", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{mainx}:hb:0", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{}:hb:0", &cluster, &shard) == -1);
}

TEST(test_parse_health_key_rejects_another_prefix)
{
    struct conf conf;
    size_t cluster;
    uint32_t shard;

    if (load_two_clusters(chk, &conf) != 0)
        return;
    CHECK(health_key(&conf, "other:{main}:hb:5", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glancex:{main}:hb:5", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glanc:{main}:hb:5", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "", &cluster, &shard) == -1);
}

TEST(test_parse_health_key_rejects_a_missing_or_bad_shard_id)
{
    struct conf conf;
    size_t cluster;
    uint32_t shard;

    if (load_two_clusters(chk, &conf) != 0)
        return;
    CHECK(health_key(&conf, "glance:{main}:hb", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{main}:hb:", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{main}:hb:-1", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{main}:hb:5x", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{main}", &cluster, &shard) == -1);
}

TEST(test_parse_health_key_rejects_other_keys_of_the_cluster)
{
    struct conf conf;
    size_t cluster;
    uint32_t shard;

    if (load_two_clusters(chk, &conf) != 0)
        return;
    CHECK(health_key(&conf, "glance:{main}:state", &cluster, &shard) == -1);
    CHECK(health_key(&conf, "glance:{main}:hbx5", &cluster, &shard) == -1);
}

/* ---- parse_ambiguous_framing ---- */

#define HEAD(lines) S("POST /api/status/main/1/3 HTTP/1.1\r\nHost: x\r\n" lines "\r\n")

TEST(test_parse_ambiguous_framing_finds_content_length_with_transfer_encoding_in_either_order)
{
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")) == 1);
    CHECK(parse_ambiguous_framing(HEAD("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")) == 1);
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 5\r\nX-Other: y\r\nTransfer-Encoding: chunked\r\n")) == 1);
}

TEST(test_parse_ambiguous_framing_finds_two_content_lengths_that_differ)
{
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 0\r\nContent-Length: 50\r\n")) == 1);
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 50\r\nContent-Length: 0\r\n")) == 1);
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 5\r\nContent-Length: 5\r\nContent-Length: 6\r\n")) == 1);
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 5\r\nContent-Length: 05\r\n")) == 1); /* compared as text */
}

TEST(test_parse_ambiguous_framing_accepts_two_identical_content_lengths)
{
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 0\r\nContent-Length: 0\r\n")) == 0);
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 12\r\ncontent-length: 12\r\n")) == 0);
}

TEST(test_parse_ambiguous_framing_accepts_one_content_length_or_one_transfer_encoding_or_neither)
{
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 5\r\n")) == 0);
    CHECK(parse_ambiguous_framing(HEAD("Transfer-Encoding: chunked\r\n")) == 0);
    CHECK(parse_ambiguous_framing(HEAD("")) == 0);
    CHECK(parse_ambiguous_framing(HEAD("X-Content-Length: 5\r\nX-Transfer-Encoding: chunked\r\n")) == 0);
}

TEST(test_parse_ambiguous_framing_compares_header_names_without_case)
{
    CHECK(parse_ambiguous_framing(HEAD("content-length: 5\r\nTRANSFER-ENCODING: chunked\r\n")) == 1);
    CHECK(parse_ambiguous_framing(HEAD("CoNtEnT-LeNgTh: 5\r\ntransfer-encoding: chunked\r\n")) == 1);
    CHECK(parse_ambiguous_framing(HEAD("CONTENT-LENGTH: 1\r\ncontent-length: 2\r\n")) == 1);
}

TEST(test_parse_ambiguous_framing_trims_spaces_and_tabs_around_values)
{
    CHECK(parse_ambiguous_framing(HEAD("Content-Length:5\r\nContent-Length:   5  \r\n")) == 0);
    CHECK(parse_ambiguous_framing(HEAD("Content-Length:\t7\r\nContent-Length: 7\t\r\n")) == 0);
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 5\r\nContent-Length: 5 6\r\n")) == 1);
    CHECK(parse_ambiguous_framing(HEAD("Content-Length: 5\r\nTransfer-Encoding:  chunked \r\n")) == 1);
}

TEST(test_parse_ambiguous_framing_stops_at_the_blank_line)
{
    /* what follows the head is a body (or the next request): its lines are not headers of this one */
    CHECK(parse_ambiguous_framing(S("POST /x HTTP/1.1\r\nContent-Length: 30\r\n\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n")) == 0);
    CHECK(parse_ambiguous_framing(S("POST /x HTTP/1.1\r\nContent-Length: 30\r\n\r\nContent-Length: 31\r\n\r\n")) == 0);
    /* a blank line of a bare LF ends the head too */
    CHECK(parse_ambiguous_framing(S("POST /x HTTP/1.1\nContent-Length: 30\n\nTransfer-Encoding: chunked\n\n")) == 0);
    CHECK(parse_ambiguous_framing(S("POST /x HTTP/1.1\nContent-Length: 30\nTransfer-Encoding: chunked\n\n")) == 1);
}

TEST(test_parse_ambiguous_framing_of_a_request_line_alone_finds_nothing)
{
    CHECK(parse_ambiguous_framing(S("GET / HTTP/1.1\r\n\r\n")) == 0);
    CHECK(parse_ambiguous_framing(S("GET / HTTP/1.1\r\n")) == 0);
    CHECK(parse_ambiguous_framing(S("GET / HTTP/1.1")) == 0);
    CHECK(parse_ambiguous_framing("", 0) == 0);
}

TEST(test_parse_ambiguous_framing_does_not_take_the_request_line_for_a_header)
{
    CHECK(parse_ambiguous_framing(S("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")) == 0);
}

/* ---- parse_has_control_bytes ---- */

TEST(test_parse_has_control_bytes_finds_nul_c0_controls_and_del)
{
    CHECK(parse_has_control_bytes(S("/\x00index.html")) == 1);
    CHECK(parse_has_control_bytes(S("/assets/app.js\x00.html")) == 1);
    CHECK(parse_has_control_bytes(S("/\x01x")) == 1);
    CHECK(parse_has_control_bytes(S("/a\tb")) == 1);
    CHECK(parse_has_control_bytes(S("/a\r\nb")) == 1);
    CHECK(parse_has_control_bytes(S("/\x1f")) == 1);
    CHECK(parse_has_control_bytes(S("/\x7f")) == 1);
}

TEST(test_parse_has_control_bytes_accepts_printable_ascii_and_bytes_above_del)
{
    CHECK(parse_has_control_bytes(S("/assets/app.js?v=1&x=%00")) == 0); /* still encoded: not a control byte */
    CHECK(parse_has_control_bytes(S("/ ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}")) == 0);
    CHECK(parse_has_control_bytes(S("/caf\xc3\xa9")) == 0);
    CHECK(parse_has_control_bytes(S("/\x80\xff")) == 0);
    CHECK(parse_has_control_bytes("", 0) == 0);
}

TEST(test_parse_has_control_bytes_reads_only_len_bytes)
{
    CHECK(parse_has_control_bytes("/ok\x01", 3) == 0);
    CHECK(parse_has_control_bytes("/ok\x01", 4) == 1);
}

static uint64_t guild_of(const char *s, int *rc)
{
    uint64_t g = 0;

    *rc = parse_guild_input(s, strlen(s), &g);
    return g;
}

TEST(test_parse_guild_input_takes_ids_and_links_as_pasted)
{
    static const char *const same[] = {
        "81384788765712384",
        "+81384788765712384+",
        "%2081384788765712384%0A",
        "https%3A%2F%2Fdiscord.com%2Fchannels%2F81384788765712384%2F381870553235193857%2F1183123456789012345",
        "https://discord.com/channels/81384788765712384/381870553235193857",
        "https://ptb.discord.com/channels/81384788765712384/1",
        "canary.discord.com/channels/81384788765712384/1/2",
        "HTTPS://Discord.com/channels/81384788765712384",
        "http://discordapp.com/channels/81384788765712384/1?x=1",
        "+https://+discord.com/channels/+81384788765712384/1+",
        "https://www.discord.com/channels/81384788765712384#top",
    };
    int rc;

    for (size_t i = 0; i != sizeof(same) / sizeof(same[0]); ++i)
        if (!CHECK(guild_of(same[i], &rc) == 81384788765712384ull && rc == 0))
            fprintf(stderr, "  input %s: rc %d\n", same[i], rc);
    CHECK(guild_of("18446744073709551615", &rc) == UINT64_MAX && rc == 0);
    guild_of("https://discord.com/channels/@me/381870553235193857", &rc);
    CHECK(rc == 1);
}

TEST(test_parse_guild_input_refuses_what_is_not_a_guild)
{
    static const char *const bad[] = {
        "", "+", "abc", "18446744073709551616", "-5", "%zz12", "12%2", "https://evil.com/channels/1/2",
        "https://discord.com.evil.com/channels/1/2", "https://discord.com/guilds/1", "https://discord.com/channels/",
        "https://discord.com/channels/x/1", "discord.com/channels/18446744073709551616/1", "https://discord.gg/abc",
    };
    int rc;

    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i)
        if (!CHECK((guild_of(bad[i], &rc), rc) == -1))
            fprintf(stderr, "  input %s: rc %d\n", bad[i], rc);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_parse_u64_accepts_zero_one_and_the_largest_64_bit_value),
        CHECK_CASE(test_parse_u64_rejects_values_past_64_bits),
        CHECK_CASE(test_parse_u64_rejects_21_digit_strings_even_with_leading_zeros),
        CHECK_CASE(test_parse_u64_rejects_empty_signs_spaces_and_letters),
        CHECK_CASE(test_parse_u64_accepts_leading_zeros),
        CHECK_CASE(test_parse_u64_reads_only_len_bytes),
        CHECK_CASE(test_parse_path_root_has_no_segments),
        CHECK_CASE(test_parse_path_splits_segments_pointing_into_the_path),
        CHECK_CASE(test_parse_path_accepts_eight_segments),
        CHECK_CASE(test_parse_path_rejects_empty_segments_with_a_reason),
        CHECK_CASE(test_parse_path_rejects_percent_encoding_with_a_reason),
        CHECK_CASE(test_parse_path_rejects_characters_outside_the_name_set_with_a_reason),
        CHECK_CASE(test_parse_path_rejects_nine_segments_with_a_reason),
        CHECK_CASE(test_parse_path_rejects_a_path_not_starting_with_slash_with_a_reason),
        CHECK_CASE(test_parse_cluster_name_accepts_letters_digits_underscore_dot_dash),
        CHECK_CASE(test_parse_cluster_name_accepts_64_bytes_and_rejects_65),
        CHECK_CASE(test_parse_cluster_name_rejects_dot_dotdot_empty_space_and_non_ascii),
        CHECK_CASE(test_guild_shard_matches_values_computed_with_exact_integers),
        CHECK_CASE(test_guild_shard_matches_a_uint64_shift_and_modulo),
        CHECK_CASE(test_guild_shard_ignores_the_low_22_bits),
        CHECK_CASE(test_guild_shard_of_a_known_guild_with_360_shards_is_298),
        CHECK_CASE(test_secret_equal_accepts_an_equal_secret),
        CHECK_CASE(test_secret_equal_rejects_a_different_length),
        CHECK_CASE(test_secret_equal_rejects_a_difference_in_the_last_byte),
        CHECK_CASE(test_secret_equal_accepts_empty_when_empty_is_expected),
        CHECK_CASE(test_state_name_names_every_state),
        CHECK_CASE(test_state_name_calls_out_of_range_states_invalid),
        CHECK_CASE(test_parse_health_key_finds_cluster_and_shard),
        CHECK_CASE(test_parse_health_key_rejects_a_shard_past_the_cluster_count),
        CHECK_CASE(test_parse_health_key_rejects_an_unknown_cluster),
        CHECK_CASE(test_parse_health_key_rejects_another_prefix),
        CHECK_CASE(test_parse_health_key_rejects_a_missing_or_bad_shard_id),
        CHECK_CASE(test_parse_health_key_rejects_other_keys_of_the_cluster),
        CHECK_CASE(test_parse_ambiguous_framing_finds_content_length_with_transfer_encoding_in_either_order),
        CHECK_CASE(test_parse_ambiguous_framing_finds_two_content_lengths_that_differ),
        CHECK_CASE(test_parse_ambiguous_framing_accepts_two_identical_content_lengths),
        CHECK_CASE(test_parse_ambiguous_framing_accepts_one_content_length_or_one_transfer_encoding_or_neither),
        CHECK_CASE(test_parse_ambiguous_framing_compares_header_names_without_case),
        CHECK_CASE(test_parse_ambiguous_framing_trims_spaces_and_tabs_around_values),
        CHECK_CASE(test_parse_ambiguous_framing_stops_at_the_blank_line),
        CHECK_CASE(test_parse_ambiguous_framing_of_a_request_line_alone_finds_nothing),
        CHECK_CASE(test_parse_ambiguous_framing_does_not_take_the_request_line_for_a_header),
        CHECK_CASE(test_parse_has_control_bytes_finds_nul_c0_controls_and_del),
        CHECK_CASE(test_parse_has_control_bytes_accepts_printable_ascii_and_bytes_above_del),
        CHECK_CASE(test_parse_has_control_bytes_reads_only_len_bytes),
        CHECK_CASE(test_parse_guild_input_takes_ids_and_links_as_pasted),
        CHECK_CASE(test_parse_guild_input_refuses_what_is_not_a_guild),
    };

    return CHECK_RUN(cases);
}
