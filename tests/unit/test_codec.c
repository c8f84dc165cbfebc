/* test_codec.c -- unit tests of codec.c: msgpack events round-trip and reject bad input; JSON comes out exact. */
#include <stdlib.h>
#include <string.h>
#include "h2o.h"
#include "check.h"
#include "base/codec.h"
#include "base/parse.h"
#include "base/shard.h"

/* ---- msgpack events ---- */

static struct codec_event state_event(const char *cluster, uint32_t shard, uint8_t state, uint64_t version,
                                      int64_t since_ms)
{
    struct codec_event ev = {EVENT_STATE, h2o_iovec_init(cluster, strlen(cluster)), shard, state, version, since_ms};
    return ev;
}

/* Packs a state event field by field, so tests can put any value in any field. */
static void pack_state(msgpack_sbuffer *sb, uint64_t kind, const char *cluster, uint64_t shard, uint64_t state,
                       uint64_t version, int64_t since_ms)
{
    msgpack_packer pk;

    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint64(&pk, kind);
    msgpack_pack_str(&pk, strlen(cluster));
    msgpack_pack_str_body(&pk, cluster, strlen(cluster));
    msgpack_pack_uint64(&pk, shard);
    msgpack_pack_uint64(&pk, state);
    msgpack_pack_uint64(&pk, version);
    msgpack_pack_int64(&pk, since_ms);
}

static int decode(const msgpack_sbuffer *sb, struct codec_event *ev)
{
    return codec_decode_event(sb->data, sb->size, ev);
}

TEST(test_codec_round_trips_a_state_event)
{
    struct codec_event in = state_event("main", 5, STATE_ONLINE, 7, 1764300000000), out;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    codec_encode_event(&in, &sb);
    if (CHECK(decode(&sb, &out) == 0)) {
        CHECK_EQ_U64(out.kind, EVENT_STATE);
        CHECK_MEM_STR(out.cluster.base, out.cluster.len, "main");
        CHECK(out.cluster.base >= sb.data && out.cluster.base < sb.data + sb.size); /* points into the message */
        CHECK_EQ_U64(out.shard, 5);
        CHECK_EQ_U64(out.state, STATE_ONLINE);
        CHECK_EQ_U64(out.version, 7);
        CHECK_EQ_U64(out.since_ms, 1764300000000);
    }
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_round_trips_a_state_event_at_the_field_limits)
{
    struct codec_event in = state_event("a-cluster-name-longer-than-31-bytes_x", UINT32_MAX, SHARD_STATE_MAX,
                                        INT64_MAX, INT64_MAX),
                       out;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    codec_encode_event(&in, &sb);
    if (CHECK(decode(&sb, &out) == 0)) {
        CHECK_MEM_STR(out.cluster.base, out.cluster.len, "a-cluster-name-longer-than-31-bytes_x");
        CHECK_EQ_U64(out.shard, UINT32_MAX);
        CHECK_EQ_U64(out.state, SHARD_STATE_MAX);
        CHECK_EQ_U64(out.version, INT64_MAX);
        CHECK_EQ_U64(out.since_ms, INT64_MAX);
    }
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_round_trips_a_ping_event)
{
    struct codec_event in = {EVENT_PING, h2o_iovec_init(H2O_STRLIT("demo")), 42}, out;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    codec_encode_event(&in, &sb);
    if (CHECK(decode(&sb, &out) == 0)) {
        CHECK_EQ_U64(out.kind, EVENT_PING);
        CHECK_MEM_STR(out.cluster.base, out.cluster.len, "demo");
        CHECK_EQ_U64(out.shard, 42);
    }
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_round_trips_a_batch_of_pings_and_refuses_ragged_ids)
{
    struct codec_event in = {EVENT_PINGS, h2o_iovec_init(H2O_STRLIT("main"))}, out;
    msgpack_sbuffer sb;

    in.shards = h2o_iovec_init(H2O_STRLIT("\x00\x00\x00\x07\x00\x01\x00\x00"));
    msgpack_sbuffer_init(&sb);
    codec_encode_event(&in, &sb);
    if (CHECK(decode(&sb, &out) == 0)) {
        CHECK_EQ_U64(out.kind, EVENT_PINGS);
        CHECK_MEM_STR(out.cluster.base, out.cluster.len, "main");
        CHECK_EQ_U64(out.shards.len, 8);
        CHECK(memcmp(out.shards.base, "\x00\x00\x00\x07\x00\x01\x00\x00", 8) == 0);
    }
    msgpack_sbuffer_destroy(&sb);
    /* ids that are not whole 4-byte numbers, and none at all, are refused */
    in.shards = h2o_iovec_init(H2O_STRLIT("\x00\x00\x07"));
    msgpack_sbuffer_init(&sb);
    codec_encode_event(&in, &sb);
    CHECK(decode(&sb, &out) == -1);
    msgpack_sbuffer_destroy(&sb);
    in.shards = h2o_iovec_init("", 0);
    msgpack_sbuffer_init(&sb);
    codec_encode_event(&in, &sb);
    CHECK(decode(&sb, &out) == -1);
    msgpack_sbuffer_destroy(&sb);
}

/* {1,"main",5,3,7,1764300000000} as Redis' Lua cmsgpack packs it: fixarray, positive fixints, fixstr, and
 * uint64 (0xcf) for the timestamp, the smallest form that holds it. */
static const unsigned char cmsgpack_event[] = {0x96, 0x01, 0xa4, 'm',  'a',  'i',  'n',  0x05, 0x03, 0x07,
                                               0xcf, 0x00, 0x00, 0x01, 0x9a, 0xc8, 0x79, 0x8b, 0x00};

TEST(test_codec_decodes_an_event_packed_like_lua_cmsgpack)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct codec_event ev;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "main", 4);
    msgpack_pack_int(&pk, 5);
    msgpack_pack_int(&pk, 3);
    msgpack_pack_int(&pk, 7);
    msgpack_pack_int64(&pk, 1764300000000);
    /* msgpack-c's non-fix packers pick the smallest encoding, as cmsgpack does; prove it byte for byte */
    CHECK_EQ_U64(sb.size, sizeof(cmsgpack_event));
    CHECK(sb.size == sizeof(cmsgpack_event) && memcmp(sb.data, cmsgpack_event, sb.size) == 0);
    if (CHECK(decode(&sb, &ev) == 0)) {
        CHECK_EQ_U64(ev.kind, EVENT_STATE);
        CHECK_MEM_STR(ev.cluster.base, ev.cluster.len, "main");
        CHECK_EQ_U64(ev.shard, 5);
        CHECK_EQ_U64(ev.state, 3);
        CHECK_EQ_U64(ev.version, 7);
        CHECK_EQ_U64(ev.since_ms, 1764300000000);
    }
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decodes_a_cmsgpack_str8_cluster_name)
{
    /* cmsgpack packs strings of 32 to 255 bytes as str8 (0xd9) */
    unsigned char msg[3 + 2 + 40 + 1];
    struct codec_event ev;

    msg[0] = 0x93;
    msg[1] = 0x02;
    msg[2] = 0xd9;
    msg[3] = 40;
    memset(msg + 4, 'c', 40);
    msg[44] = 0xcc; /* uint8 */
    msg[45] = 200;
    if (CHECK(codec_decode_event((const char *)msg, 46, &ev) == 0)) {
        CHECK_EQ_U64(ev.kind, EVENT_PING);
        CHECK_EQ_U64(ev.cluster.len, 40);
        CHECK_EQ_U64(ev.shard, 200);
    }
}

TEST(test_codec_decode_rejects_empty_input)
{
    struct codec_event ev;

    CHECK(codec_decode_event("", 0, &ev) == -1);
}

TEST(test_codec_decode_rejects_every_truncation_of_a_valid_event)
{
    struct codec_event in = state_event("main", 300, STATE_ONLINE, 70000, 1764300000000), out;
    msgpack_sbuffer sb;
    size_t n;

    msgpack_sbuffer_init(&sb);
    codec_encode_event(&in, &sb);
    CHECK(decode(&sb, &out) == 0);
    for (n = 0; n != sb.size; ++n) {
        /* a heap copy of exactly n bytes, so the sanitizer sees any read past the end */
        char *copy = malloc(n != 0 ? n : 1);
        memcpy(copy, sb.data, n);
        if (!CHECK(codec_decode_event(copy, n, &out) == -1))
            fprintf(stderr, "  accepted a prefix of %zu of %zu bytes\n", n, sb.size);
        free(copy);
    }
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_trailing_bytes)
{
    struct codec_event in = state_event("main", 5, 3, 7, 1), out;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    codec_encode_event(&in, &sb);
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    CHECK(decode(&sb, &out) == -1);
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_a_map)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct codec_event ev;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_int(&pk, 0);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "main", 4);
    msgpack_pack_int(&pk, 2);
    msgpack_pack_int(&pk, 5);
    CHECK(decode(&sb, &ev) == -1);
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_unknown_kinds)
{
    msgpack_sbuffer sb;
    struct codec_event ev;
    static const uint64_t kinds[] = {0, 3, 255, UINT64_MAX};
    size_t i;

    for (i = 0; i != sizeof(kinds) / sizeof(kinds[0]); ++i) {
        msgpack_sbuffer_init(&sb);
        pack_state(&sb, kinds[i], "main", 5, 3, 7, 1);
        CHECK(decode(&sb, &ev) == -1);
        msgpack_sbuffer_destroy(&sb);
    }
}

TEST(test_codec_decode_rejects_state_7)
{
    msgpack_sbuffer sb;
    struct codec_event ev;

    msgpack_sbuffer_init(&sb);
    pack_state(&sb, EVENT_STATE, "main", 5, 7, 7, 1);
    CHECK(decode(&sb, &ev) == -1);
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_a_shard_past_32_bits)
{
    msgpack_sbuffer sb;
    struct codec_event ev;

    msgpack_sbuffer_init(&sb);
    pack_state(&sb, EVENT_STATE, "main", (uint64_t)UINT32_MAX + 1, 3, 7, 1);
    CHECK(decode(&sb, &ev) == -1);
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_version_0)
{
    msgpack_sbuffer sb;
    struct codec_event ev;

    msgpack_sbuffer_init(&sb);
    pack_state(&sb, EVENT_STATE, "main", 5, 3, 0, 1);
    CHECK(decode(&sb, &ev) == -1);
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_a_negative_since)
{
    msgpack_sbuffer sb;
    struct codec_event ev;

    msgpack_sbuffer_init(&sb);
    pack_state(&sb, EVENT_STATE, "main", 5, 3, 7, -1);
    CHECK(decode(&sb, &ev) == -1);
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_a_ping_with_6_elements)
{
    msgpack_sbuffer sb;
    struct codec_event ev;

    msgpack_sbuffer_init(&sb);
    pack_state(&sb, EVENT_PING, "main", 5, 3, 7, 1);
    CHECK(decode(&sb, &ev) == -1);
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_a_state_event_with_3_elements)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct codec_event ev;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, EVENT_STATE);
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "main", 4);
    msgpack_pack_int(&pk, 5);
    CHECK(decode(&sb, &ev) == -1);
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_an_array_of_fewer_than_3)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct codec_event ev;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, EVENT_PING);
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "main", 4);
    CHECK(decode(&sb, &ev) == -1);
    msgpack_sbuffer_destroy(&sb);
}

TEST(test_codec_decode_rejects_a_cluster_that_is_not_a_string)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct codec_event ev;
    int form;

    for (form = 0; form != 3; ++form) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 3);
        msgpack_pack_int(&pk, EVENT_PING);
        if (form == 0) {
            msgpack_pack_int(&pk, 1);
        } else if (form == 1) {
            msgpack_pack_bin(&pk, 4);
            msgpack_pack_bin_body(&pk, "main", 4);
        } else {
            msgpack_pack_nil(&pk);
        }
        msgpack_pack_int(&pk, 5);
        CHECK(decode(&sb, &ev) == -1);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* ---- JSON ---- */

static h2o_buffer_t *buffer_new(void)
{
    h2o_buffer_t *buf;

    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    return buf;
}

static const uint8_t main_states[] = {STATE_ONLINE, STATE_UNKNOWN, STATE_UNHEALTHY};
static const uint8_t demo_states[] = {STATE_STARTING};
static const struct codec_cluster two_clusters[] = {
    {{(char *)"main", 4}, 3, 2, main_states},
    {{(char *)"demo", 4}, 1, 8, demo_states},
};

TEST(test_codec_hello_of_two_clusters_is_exact)
{
    h2o_buffer_t *buf = buffer_new();

    codec_hello(&buf, two_clusters, 2, 30, 100);
    CHECK_MEM_STR(buf->bytes, buf->size,
                  "{\"type\":\"hello\",\"health_timeout\":30,\"interval_ms\":100,\"clusters\":["
                  "{\"name\":\"main\",\"shards\":3,\"version\":2,\"states\":\"301\"},"
                  "{\"name\":\"demo\",\"shards\":1,\"version\":8,\"states\":\"4\"}]}");
    h2o_buffer_dispose(&buf);
}

TEST(test_codec_status_of_one_cluster_is_exact)
{
    h2o_buffer_t *buf = buffer_new();

    codec_status(&buf, two_clusters, 1);
    CHECK_MEM_STR(buf->bytes, buf->size,
                  "{\"clusters\":[{\"name\":\"main\",\"shards\":3,\"version\":2,\"states\":[3,0,1]}]}");
    h2o_buffer_dispose(&buf);
}

TEST(test_codec_status_of_two_clusters_is_exact)
{
    h2o_buffer_t *buf = buffer_new();

    codec_status(&buf, two_clusters, 2);
    CHECK_MEM_STR(buf->bytes, buf->size,
                  "{\"clusters\":[{\"name\":\"main\",\"shards\":3,\"version\":2,\"states\":[3,0,1]},"
                  "{\"name\":\"demo\",\"shards\":1,\"version\":8,\"states\":[4]}]}");
    h2o_buffer_dispose(&buf);
}

TEST(test_codec_status_of_no_clusters_is_an_empty_list)
{
    h2o_buffer_t *buf = buffer_new();

    codec_status(&buf, NULL, 0);
    CHECK_MEM_STR(buf->bytes, buf->size, "{\"clusters\":[]}");
    h2o_buffer_dispose(&buf);
}

TEST(test_codec_status_of_a_large_cluster_lists_every_shard_in_order)
{
    enum { SHARDS = 100000 };
    static const char head[] = "{\"clusters\":[{\"name\":\"big\",\"shards\":100000,\"version\":1,\"states\":[";
    const size_t hlen = sizeof(head) - 1;
    uint8_t states[SHARDS];
    struct codec_cluster c = {{(char *)"big", 3}, SHARDS, 1, states};
    h2o_buffer_t *buf = buffer_new();
    size_t i, wrong = 0;

    for (i = 0; i != SHARDS; ++i)
        states[i] = (uint8_t)(i % 7);
    codec_status(&buf, &c, 1);
    /* the head, then "d," per shard but the last, which has no comma, then the closing "]}]}" */
    if (CHECK_EQ_U64(buf->size, hlen + 2 * SHARDS - 1 + 4) && CHECK(memcmp(buf->bytes, head, hlen) == 0)) {
        for (i = 0; i != SHARDS; ++i) {
            wrong += buf->bytes[hlen + 2 * i] != '0' + states[i];
            if (i + 1 != SHARDS)
                wrong += buf->bytes[hlen + 2 * i + 1] != ',';
        }
        CHECK_EQ_U64(wrong, 0);
        CHECK(memcmp(buf->bytes + buf->size - 4, "]}]}", 4) == 0);
    }
    h2o_buffer_dispose(&buf);
}

TEST(test_codec_update_of_two_clusters_is_exact)
{
    static const uint32_t main_changed[] = {0, 2}, main_pings[] = {1}, demo_pings[] = {0};
    h2o_buffer_t *buf = buffer_new();

    codec_update_begin(&buf);
    codec_update_cluster(&buf, 1, &two_clusters[0], 1, main_changed, 2, main_pings, 1);
    codec_update_cluster(&buf, 0, &two_clusters[1], 7, NULL, 0, demo_pings, 1);
    codec_update_end(&buf);
    CHECK_MEM_STR(buf->bytes, buf->size,
                  "{\"type\":\"update\",\"clusters\":["
                  "{\"name\":\"main\",\"from\":1,\"to\":2,\"changes\":[[0,3],[2,1]],\"pings\":[1]},"
                  "{\"name\":\"demo\",\"from\":7,\"to\":8,\"changes\":[],\"pings\":[0]}]}");
    h2o_buffer_dispose(&buf);
}

TEST(test_codec_put_json_string_escapes_quote_backslash_and_control_characters)
{
    static const char raw[] = "a\"b\\c\x01"
                              "d\n\x1f\x7f\xc3\xa4";
    h2o_buffer_t *buf = buffer_new();

    codec_put_json_string(&buf, raw, sizeof(raw) - 1);
    CHECK_MEM_STR(buf->bytes, buf->size, "\"a\\\"b\\\\c\\u0001d\\u000a\\u001f\x7f\xc3\xa4\"");
    h2o_buffer_dispose(&buf);
}

TEST(test_codec_put_json_string_keeps_a_nul_byte_escaped)
{
    h2o_buffer_t *buf = buffer_new();

    codec_put_json_string(&buf, "a\0b", 3);
    CHECK_MEM_STR(buf->bytes, buf->size, "\"a\\u0000b\"");
    h2o_buffer_dispose(&buf);
}

TEST(test_codec_put_u64_writes_0_and_the_largest_value)
{
    h2o_buffer_t *buf = buffer_new();

    codec_put_u64(&buf, 0);
    codec_put_lit(&buf, " ");
    codec_put_u64(&buf, UINT64_MAX);
    CHECK_MEM_STR(buf->bytes, buf->size, "0 18446744073709551615");
    h2o_buffer_dispose(&buf);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_codec_round_trips_a_state_event),
        CHECK_CASE(test_codec_round_trips_a_state_event_at_the_field_limits),
        CHECK_CASE(test_codec_round_trips_a_ping_event),
        CHECK_CASE(test_codec_round_trips_a_batch_of_pings_and_refuses_ragged_ids),
        CHECK_CASE(test_codec_decodes_an_event_packed_like_lua_cmsgpack),
        CHECK_CASE(test_codec_decodes_a_cmsgpack_str8_cluster_name),
        CHECK_CASE(test_codec_decode_rejects_empty_input),
        CHECK_CASE(test_codec_decode_rejects_every_truncation_of_a_valid_event),
        CHECK_CASE(test_codec_decode_rejects_trailing_bytes),
        CHECK_CASE(test_codec_decode_rejects_a_map),
        CHECK_CASE(test_codec_decode_rejects_unknown_kinds),
        CHECK_CASE(test_codec_decode_rejects_state_7),
        CHECK_CASE(test_codec_decode_rejects_a_shard_past_32_bits),
        CHECK_CASE(test_codec_decode_rejects_version_0),
        CHECK_CASE(test_codec_decode_rejects_a_negative_since),
        CHECK_CASE(test_codec_decode_rejects_a_ping_with_6_elements),
        CHECK_CASE(test_codec_decode_rejects_a_state_event_with_3_elements),
        CHECK_CASE(test_codec_decode_rejects_an_array_of_fewer_than_3),
        CHECK_CASE(test_codec_decode_rejects_a_cluster_that_is_not_a_string),
        CHECK_CASE(test_codec_hello_of_two_clusters_is_exact),
        CHECK_CASE(test_codec_status_of_one_cluster_is_exact),
        CHECK_CASE(test_codec_status_of_two_clusters_is_exact),
        CHECK_CASE(test_codec_status_of_no_clusters_is_an_empty_list),
        CHECK_CASE(test_codec_status_of_a_large_cluster_lists_every_shard_in_order),
        CHECK_CASE(test_codec_update_of_two_clusters_is_exact),
        CHECK_CASE(test_codec_put_json_string_escapes_quote_backslash_and_control_characters),
        CHECK_CASE(test_codec_put_json_string_keeps_a_nul_byte_escaped),
        CHECK_CASE(test_codec_put_u64_writes_0_and_the_largest_value),
    };

    return CHECK_RUN(cases);
}
