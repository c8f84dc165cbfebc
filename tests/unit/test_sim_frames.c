/* test_sim_frames.c -- unit tests of services/sim/frames.c: the viewer's side of the feed's wire format. */
#include <stdlib.h>
#include "check.h"
#include "frames.h"

struct seen {
    char names[8][16];
    uint32_t shards[8];
    int states[8];
    int n;
};

static void collect(void *ctx, const char *name, size_t name_len, uint32_t shard, int state)
{
    struct seen *s = ctx;
    if (s->n == 8)
        return;
    snprintf(s->names[s->n], sizeof(s->names[0]), "%.*s", (int)name_len, name);
    s->shards[s->n] = shard;
    s->states[s->n] = state;
    ++s->n;
}

TEST(test_frames_parse_a_short_text_frame)
{
    static const char buf[] = "\x81\x05hello";
    struct frames_frame fr;
    CHECK(frames_parse(buf, 7, &fr) == 7);
    CHECK_EQ_U64(fr.opcode, 1);
    CHECK(fr.fin);
    CHECK_MEM_STR(fr.payload, fr.len, "hello");
}

TEST(test_frames_parse_waits_for_the_whole_frame)
{
    static const char buf[] = "\x81\x05hel";
    struct frames_frame fr;
    CHECK(frames_parse(buf, 1, &fr) == 0);
    CHECK(frames_parse(buf, 5, &fr) == 0);
}

TEST(test_frames_parse_16_and_64_bit_lengths)
{
    char *buf = calloc(1, 70000 + 10);
    struct frames_frame fr;
    buf[0] = (char)0x81;
    buf[1] = 126;
    buf[2] = 0x01;
    buf[3] = 0x00; /* 256 */
    CHECK(frames_parse(buf, 4 + 255, &fr) == 0);
    CHECK(frames_parse(buf, 4 + 256, &fr) == 4 + 256);
    CHECK_EQ_U64(fr.len, 256);
    buf[1] = 127;
    memset(buf + 2, 0, 8);
    buf[7] = 0x01;
    buf[8] = 0x11;
    buf[9] = 0x70; /* 70000 */
    CHECK(frames_parse(buf, 10 + 70000, &fr) == 10 + 70000);
    CHECK_EQ_U64(fr.len, 70000);
    free(buf);
}

TEST(test_frames_parse_rejects_masked_and_reserved_bits)
{
    static const char masked[] = "\x81\x81\x00\x00\x00\x00x", rsv[] = "\xc1\x00";
    struct frames_frame fr;
    CHECK(frames_parse(masked, 7, &fr) == -1);
    CHECK(frames_parse(rsv, 2, &fr) == -1);
}

TEST(test_frames_client_masks_the_payload)
{
    static const uint8_t mask[4] = {1, 2, 3, 4};
    char out[32];
    size_t n = frames_client(out, sizeof(out), 10, "abcde", 5, mask);
    if (!CHECK_EQ_U64(n, 11))
        return;
    CHECK_EQ_U64((unsigned char)out[0], 0x8a);
    CHECK_EQ_U64((unsigned char)out[1], 0x85);
    CHECK(memcmp(out + 2, mask, 4) == 0);
    CHECK_EQ_U64((unsigned char)out[6], 'a' ^ 1);
    CHECK_EQ_U64((unsigned char)out[10], 'e' ^ 1);
    CHECK_EQ_U64(frames_client(out, 8, 10, "abcde", 5, mask), 0);
}

TEST(test_frames_type_of_feed_messages)
{
    static const char hello[] = "{\"type\":\"hello\",\"clusters\":[]}", update[] = "{\"type\":\"update\",\"clusters\":[]}",
                      stale[] = "{\"type\":\"stale\",\"since_ms\":1}", other[] = "{\"type\":\"hellooo\"}";
    CHECK(frames_type_of(hello, sizeof(hello) - 1) == FRAMES_HELLO);
    CHECK(frames_type_of(update, sizeof(update) - 1) == FRAMES_UPDATE);
    CHECK(frames_type_of(stale, sizeof(stale) - 1) == FRAMES_STALE);
    CHECK(frames_type_of(other, sizeof(other) - 1) == FRAMES_OTHER);
    CHECK(frames_type_of("{}", 2) == FRAMES_OTHER);
}

TEST(test_frames_scan_update_finds_every_change_with_its_cluster)
{
    static const char msg[] = "{\"type\":\"update\",\"clusters\":[{\"name\":\"main\",\"from\":42,\"to\":45,"
                              "\"changes\":[[7,1],[12,3]],\"pings\":[3,4,5]},{\"name\":\"demo\",\"from\":1,\"to\":2,"
                              "\"changes\":[[0,6]]}]}";
    struct seen s = {0};
    CHECK(frames_scan_update(msg, sizeof(msg) - 1, collect, &s) == 3);
    if (!CHECK(s.n == 3))
        return;
    CHECK_STR(s.names[0], "main");
    CHECK_EQ_U64(s.shards[0], 7);
    CHECK_EQ_U64(s.states[0], 1);
    CHECK_EQ_U64(s.shards[1], 12);
    CHECK_EQ_U64(s.states[1], 3);
    CHECK_STR(s.names[2], "demo");
    CHECK_EQ_U64(s.shards[2], 0);
    CHECK_EQ_U64(s.states[2], 6);
}

TEST(test_frames_scan_update_skips_clusters_with_only_pings)
{
    static const char msg[] = "{\"type\":\"update\",\"clusters\":[{\"name\":\"main\",\"from\":4,\"to\":4,"
                              "\"changes\":[],\"pings\":[1]},{\"name\":\"x\",\"from\":1,\"to\":1,\"pings\":[2]}]}";
    struct seen s = {0};
    CHECK(frames_scan_update(msg, sizeof(msg) - 1, collect, &s) == 0);
    CHECK(s.n == 0);
}

TEST(test_frames_scan_update_tolerates_spaces)
{
    static const char msg[] = "{\"type\": \"update\", \"clusters\": [{\"name\": \"main\", \"changes\": [ [7, 1] , [8,2] ]}]}";
    struct seen s = {0};
    CHECK(frames_scan_update(msg, sizeof(msg) - 1, collect, &s) == 2);
}

TEST(test_frames_scan_update_rejects_broken_changes)
{
    static const char msg[] = "{\"type\":\"update\",\"clusters\":[{\"name\":\"main\",\"changes\":[[7,]]}]}";
    struct seen s = {0};
    CHECK(frames_scan_update(msg, sizeof(msg) - 1, collect, &s) == -1);
    CHECK(frames_scan_update("{}", 2, collect, &s) == -1);
}

TEST(test_frames_handshake_response_reads_the_status)
{
    static const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00";
    int status = 0;
    CHECK_EQ_U64(frames_handshake_response(ok, sizeof(ok) - 1, &status), sizeof(ok) - 1 - 2);
    CHECK_EQ_U64(status, 101);
    CHECK_EQ_U64(frames_handshake_response(ok, 20, &status), 0);
    CHECK(frames_handshake_response("nonsense\r\n\r\n", 12, &status) == 12);
    CHECK_EQ_U64(status, 0);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_frames_parse_a_short_text_frame),
        CHECK_CASE(test_frames_parse_waits_for_the_whole_frame),
        CHECK_CASE(test_frames_parse_16_and_64_bit_lengths),
        CHECK_CASE(test_frames_parse_rejects_masked_and_reserved_bits),
        CHECK_CASE(test_frames_client_masks_the_payload),
        CHECK_CASE(test_frames_type_of_feed_messages),
        CHECK_CASE(test_frames_scan_update_finds_every_change_with_its_cluster),
        CHECK_CASE(test_frames_scan_update_skips_clusters_with_only_pings),
        CHECK_CASE(test_frames_scan_update_tolerates_spaces),
        CHECK_CASE(test_frames_scan_update_rejects_broken_changes),
        CHECK_CASE(test_frames_handshake_response_reads_the_status),
    };
    return CHECK_RUN(cases);
}
