/* test_websocket.c -- unit tests of websocket.c: outgoing frame headers, the accept key, client frame parsing,
 * the UTF-8 check of text frames. */
#include <stdlib.h>
#include <string.h>
#include "h2o.h"
#include "check.h"
#include "feed/websocket.h"

#define BYTE(f, i) ((unsigned char)(f)->bytes[(i)])

/* ---- outgoing frames ---- */

/* Builds a text frame of `len` bytes of 'x' and checks its header is `want` (`head` bytes) and the payload follows. */
static void check_frame_header(struct check *chk, size_t len, const unsigned char *want, size_t head)
{
    char *payload = malloc(len + 1);
    struct ws_frame *f;

    memset(payload, 'x', len);
    f = ws_frame_new(WS_TEXT, payload, len);
    if (CHECK_EQ_U64(f->len, head + len)) {
        size_t i;
        for (i = 0; i != head; ++i)
            if (!CHECK_EQ_U64(BYTE(f, i), want[i]))
                fprintf(stderr, "  header byte %zu of a %zu-byte payload\n", i, len);
        CHECK(memcmp(f->bytes + head, payload, len) == 0);
    }
    h2o_mem_release_shared(f);
    free(payload);
}

TEST(test_ws_frame_new_of_0_bytes_has_a_2_byte_header)
{
    static const unsigned char want[] = {0x81, 0};
    check_frame_header(chk, 0, want, sizeof(want));
}

TEST(test_ws_frame_new_of_125_bytes_has_a_2_byte_header)
{
    static const unsigned char want[] = {0x81, 125};
    check_frame_header(chk, 125, want, sizeof(want));
}

TEST(test_ws_frame_new_of_126_bytes_has_a_16_bit_length)
{
    static const unsigned char want[] = {0x81, 126, 0x00, 126};
    check_frame_header(chk, 126, want, sizeof(want));
}

TEST(test_ws_frame_new_of_65535_bytes_has_a_16_bit_length)
{
    static const unsigned char want[] = {0x81, 126, 0xff, 0xff};
    check_frame_header(chk, 65535, want, sizeof(want));
}

TEST(test_ws_frame_new_of_65536_bytes_has_a_64_bit_length)
{
    static const unsigned char want[] = {0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    check_frame_header(chk, 65536, want, sizeof(want));
}

TEST(test_ws_frame_new_sets_fin_and_the_opcode)
{
    struct ws_frame *f = ws_frame_new(WS_PONG, "p", 1);

    CHECK_EQ_U64(BYTE(f, 0), 0x8a);
    h2o_mem_release_shared(f);
}

TEST(test_ws_frame_close_carries_the_code_big_endian_and_the_reason)
{
    struct ws_frame *f = ws_frame_close(1009, "too big");

    if (CHECK_EQ_U64(f->len, 2 + 2 + 7)) {
        CHECK_EQ_U64(BYTE(f, 0), 0x88);
        CHECK_EQ_U64(BYTE(f, 1), 9);
        CHECK_EQ_U64(BYTE(f, 2), 0x03); /* 1009 = 0x03f1 */
        CHECK_EQ_U64(BYTE(f, 3), 0xf1);
        CHECK(memcmp(f->bytes + 4, "too big", 7) == 0);
    }
    h2o_mem_release_shared(f);
}

TEST(test_ws_frame_close_cuts_a_long_reason_to_fit_a_control_frame)
{
    char reason[201];
    struct ws_frame *f;

    memset(reason, 'r', 200);
    reason[200] = '\0';
    f = ws_frame_close(1000, reason);
    CHECK_EQ_U64(f->len, 2 + 125);
    CHECK_EQ_U64(BYTE(f, 1), 125);
    h2o_mem_release_shared(f);
}

/* ---- accept key ---- */

TEST(test_ws_accept_key_matches_the_rfc_6455_example)
{
    char accept[29];

    memset(accept, '#', sizeof(accept));
    ws_accept_key(accept, "dGhlIHNhbXBsZSBub25jZQ==");
    CHECK_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* ---- incoming frames ---- */

enum length_form { LEN_7, LEN_16, LEN_64 };

static const unsigned char mask_key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Writes a masked client frame into `out` (first byte `b0`: FIN, RSV and opcode) and returns its size. */
static size_t client_frame(char *out, unsigned char b0, const char *payload, size_t len, enum length_form form)
{
    unsigned char *p = (unsigned char *)out;
    size_t head, i;

    p[0] = b0;
    if (form == LEN_7) {
        p[1] = 0x80 | (unsigned char)len;
        head = 2;
    } else if (form == LEN_16) {
        p[1] = 0x80 | 126;
        p[2] = (unsigned char)(len >> 8);
        p[3] = (unsigned char)len;
        head = 4;
    } else {
        p[1] = 0x80 | 127;
        for (i = 0; i != 8; ++i)
            p[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        head = 10;
    }
    memcpy(p + head, mask_key, 4);
    for (i = 0; i != len; ++i)
        p[head + 4 + i] = (unsigned char)payload[i] ^ mask_key[i & 3];
    return head + 4 + len;
}

TEST(test_ws_parse_reads_and_unmasks_a_masked_text_frame)
{
    char buf[64];
    size_t n = client_frame(buf, 0x81, "hello", 5, LEN_7);
    struct ws_incoming in;
    uint16_t code = 0;

    if (!CHECK(ws_parse(buf, n, &in, &code) == (ssize_t)n))
        return;
    CHECK_EQ_U64(in.opcode, WS_TEXT);
    CHECK(in.fin);
    CHECK(in.payload == buf + 6);
    CHECK_MEM_STR(in.payload, in.len, "hello");
}

TEST(test_ws_parse_reads_the_rfc_6455_masked_hello)
{
    static const unsigned char rfc[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    char buf[sizeof(rfc)];
    struct ws_incoming in;
    uint16_t code = 0;

    memcpy(buf, rfc, sizeof(rfc));
    if (CHECK(ws_parse(buf, sizeof(buf), &in, &code) == (ssize_t)sizeof(buf)))
        CHECK_MEM_STR(in.payload, in.len, "Hello");
}

/* Checks that every strict prefix of the frame at `frame` asks for more bytes, on an exact-size heap copy. */
static void check_every_prefix_incomplete(struct check *chk, const char *frame, size_t n)
{
    size_t k;

    for (k = 0; k != n; ++k) {
        char *copy = malloc(k != 0 ? k : 1);
        struct ws_incoming in;
        uint16_t code = 0;
        memcpy(copy, frame, k);
        if (!CHECK(ws_parse(copy, k, &in, &code) == 0))
            fprintf(stderr, "  a prefix of %zu of %zu bytes\n", k, n);
        free(copy);
    }
}

TEST(test_ws_parse_asks_for_more_on_every_prefix_of_a_short_frame)
{
    char buf[64];
    size_t n = client_frame(buf, 0x81, "hello", 5, LEN_7);

    check_every_prefix_incomplete(chk, buf, n);
}

TEST(test_ws_parse_asks_for_more_on_every_prefix_of_a_16_bit_length_frame)
{
    char payload[300], buf[400];
    size_t n;

    memset(payload, 'y', sizeof(payload));
    n = client_frame(buf, 0x82, payload, sizeof(payload), LEN_16);
    check_every_prefix_incomplete(chk, buf, n);
}

TEST(test_ws_parse_asks_for_more_on_every_prefix_of_a_64_bit_length_frame)
{
    char buf[64];
    size_t n = client_frame(buf, 0x81, "hello", 5, LEN_64);

    check_every_prefix_incomplete(chk, buf, n);
}

TEST(test_ws_parse_rejects_an_unmasked_frame_with_1002)
{
    char buf[] = {(char)0x81, 0x05, 'h', 'e', 'l', 'l', 'o'};
    struct ws_incoming in;
    uint16_t code = 0;

    CHECK(ws_parse(buf, sizeof(buf), &in, &code) == -1);
    CHECK_EQ_U64(code, 1002);
}

TEST(test_ws_parse_rejects_reserved_bits_with_1002)
{
    static const unsigned char rsv[] = {0x40, 0x20, 0x10};
    size_t i;

    for (i = 0; i != sizeof(rsv); ++i) {
        char buf[64];
        size_t n = client_frame(buf, 0x81 | rsv[i], "hello", 5, LEN_7);
        struct ws_incoming in;
        uint16_t code = 0;
        CHECK(ws_parse(buf, n, &in, &code) == -1);
        CHECK_EQ_U64(code, 1002);
    }
}

TEST(test_ws_parse_deflate_takes_rsv1_on_a_messages_first_frame_only)
{
    char buf[64];
    struct ws_incoming in;
    uint16_t code = 0;
    size_t n = client_frame(buf, 0xc1, "hello", 5, LEN_7);

    if (CHECK(ws_parse_deflate(buf, n, &in, &code) == (ssize_t)n))
        CHECK(in.compressed);
    n = client_frame(buf, 0x42, "part", 4, LEN_7); /* the first frame of a fragmented binary message */
    if (CHECK(ws_parse_deflate(buf, n, &in, &code) == (ssize_t)n))
        CHECK(in.compressed && !in.fin);
    n = client_frame(buf, 0x81, "hello", 5, LEN_7);
    if (CHECK(ws_parse_deflate(buf, n, &in, &code) == (ssize_t)n))
        CHECK(!in.compressed); /* a client may send any message as it is */
    /* never on a continuation or a control frame, and RSV2 and RSV3 stay reserved */
    static const unsigned char refused[] = {0xc0, 0xc9, 0xc8, 0xa1, 0x91};
    for (size_t i = 0; i != sizeof(refused); ++i) {
        n = client_frame(buf, refused[i], "x", 1, LEN_7);
        CHECK(ws_parse_deflate(buf, n, &in, &code) == -1);
        CHECK_EQ_U64(code, 1002);
    }
}

TEST(test_ws_parse_rejects_a_ping_of_126_bytes)
{
    char payload[126], buf[256];
    size_t n;
    struct ws_incoming in;
    uint16_t code = 0;

    memset(payload, 'p', sizeof(payload));
    n = client_frame(buf, 0x89, payload, sizeof(payload), LEN_16);
    CHECK(ws_parse(buf, n, &in, &code) == -1);
    CHECK_EQ_U64(code, 1002);
}

TEST(test_ws_parse_accepts_a_ping_of_125_bytes)
{
    char payload[125], buf[256];
    size_t n;
    struct ws_incoming in;
    uint16_t code = 0;

    memset(payload, 'p', sizeof(payload));
    n = client_frame(buf, 0x89, payload, sizeof(payload), LEN_7);
    CHECK(ws_parse(buf, n, &in, &code) == (ssize_t)n);
    CHECK_EQ_U64(in.opcode, WS_PING);
    CHECK_EQ_U64(in.len, 125);
}

TEST(test_ws_parse_rejects_a_fragmented_close)
{
    char buf[64];
    size_t n = client_frame(buf, 0x08, "\x03\xe8", 2, LEN_7);
    struct ws_incoming in;
    uint16_t code = 0;

    CHECK(ws_parse(buf, n, &in, &code) == -1);
    CHECK_EQ_U64(code, 1002);
}

TEST(test_ws_parse_rejects_reserved_opcodes)
{
    static const unsigned char opcodes[] = {3, 7, 11, 15};
    size_t i;

    for (i = 0; i != sizeof(opcodes); ++i) {
        char buf[64];
        size_t n = client_frame(buf, 0x80 | opcodes[i], "x", 1, LEN_7);
        struct ws_incoming in;
        uint16_t code = 0;
        if (!CHECK(ws_parse(buf, n, &in, &code) == -1))
            fprintf(stderr, "  opcode %u\n", opcodes[i]);
    }
}

TEST(test_ws_parse_rejects_a_payload_of_4097_bytes_with_1009)
{
    char payload[WS_MAX_INCOMING_PAYLOAD + 1], buf[WS_MAX_INCOMING_PAYLOAD + 32];
    size_t n;
    struct ws_incoming in;
    uint16_t code = 0;

    memset(payload, 'z', sizeof(payload));
    n = client_frame(buf, 0x81, payload, sizeof(payload), LEN_16);
    CHECK(ws_parse(buf, n, &in, &code) == -1);
    CHECK_EQ_U64(code, 1009);
}

TEST(test_ws_parse_accepts_a_payload_of_4096_bytes)
{
    char payload[WS_MAX_INCOMING_PAYLOAD], buf[WS_MAX_INCOMING_PAYLOAD + 32];
    size_t n;
    struct ws_incoming in;
    uint16_t code = 0;

    memset(payload, 'z', sizeof(payload));
    n = client_frame(buf, 0x82, payload, sizeof(payload), LEN_16);
    CHECK(ws_parse(buf, n, &in, &code) == (ssize_t)n);
    CHECK_EQ_U64(in.len, WS_MAX_INCOMING_PAYLOAD);
}

TEST(test_ws_parse_rejects_a_huge_64_bit_length_with_1009)
{
    static const unsigned char lens[][8] = {
        {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00},
    };
    size_t i;

    for (i = 0; i != sizeof(lens) / sizeof(lens[0]); ++i) {
        char buf[32] = {(char)0x81, (char)(0x80 | 127)};
        struct ws_incoming in;
        uint16_t code = 0;
        memcpy(buf + 2, lens[i], 8);
        CHECK(ws_parse(buf, sizeof(buf), &in, &code) == -1);
        CHECK_EQ_U64(code, 1009);
    }
}

TEST(test_ws_parse_reads_the_64_bit_length_form)
{
    char payload[300], buf[400];
    size_t n, i;
    struct ws_incoming in;
    uint16_t code = 0;

    for (i = 0; i != sizeof(payload); ++i)
        payload[i] = (char)('a' + i % 26);
    n = client_frame(buf, 0x82, payload, sizeof(payload), LEN_64);
    if (!CHECK(ws_parse(buf, n, &in, &code) == (ssize_t)n))
        return;
    CHECK_EQ_U64(in.opcode, WS_BINARY);
    CHECK_EQ_U64(in.len, sizeof(payload));
    CHECK(in.payload == buf + 14);
    CHECK(memcmp(in.payload, payload, sizeof(payload)) == 0);
}

TEST(test_ws_parse_reads_two_back_to_back_frames_one_after_the_other)
{
    char buf[64];
    size_t n1 = client_frame(buf, 0x01, "hel", 3, LEN_7); /* a first fragment: FIN clear */
    size_t n2 = client_frame(buf + n1, 0x80, "lo", 2, LEN_7);
    struct ws_incoming in;
    uint16_t code = 0;

    if (!CHECK(ws_parse(buf, n1 + n2, &in, &code) == (ssize_t)n1))
        return;
    CHECK_EQ_U64(in.opcode, WS_TEXT);
    CHECK(!in.fin);
    CHECK_MEM_STR(in.payload, in.len, "hel");
    if (!CHECK(ws_parse(buf + n1, n2, &in, &code) == (ssize_t)n2))
        return;
    CHECK_EQ_U64(in.opcode, WS_CONTINUATION);
    CHECK(in.fin);
    CHECK_MEM_STR(in.payload, in.len, "lo");
}

/* ---- ws_valid_utf8 ---- */

#define U(lit) (lit), sizeof(lit) - 1

TEST(test_ws_valid_utf8_accepts_ascii_and_the_empty_string)
{
    CHECK(ws_valid_utf8("", 0) == 1);
    CHECK(ws_valid_utf8(U("{\"type\":\"resync\"}")) == 1);
    CHECK(ws_valid_utf8(U("\x00\x7f")) == 1); /* NUL and DEL are valid UTF-8 */
}

TEST(test_ws_valid_utf8_accepts_two_three_and_four_byte_sequences_at_their_bounds)
{
    CHECK(ws_valid_utf8(U("\xc2\x80")) == 1);         /* U+0080, the first two-byte form */
    CHECK(ws_valid_utf8(U("\xc3\xa9t\xc3\xa9")) == 1); /* "été" */
    CHECK(ws_valid_utf8(U("\xdf\xbf")) == 1);         /* U+07FF */
    CHECK(ws_valid_utf8(U("\xe0\xa0\x80")) == 1);     /* U+0800, the first three-byte form */
    CHECK(ws_valid_utf8(U("\xe2\x82\xac")) == 1);     /* U+20AC, the euro sign */
    CHECK(ws_valid_utf8(U("\xed\x9f\xbf")) == 1);     /* U+D7FF, just below the surrogates */
    CHECK(ws_valid_utf8(U("\xee\x80\x80")) == 1);     /* U+E000, just above them */
    CHECK(ws_valid_utf8(U("\xef\xbf\xbf")) == 1);     /* U+FFFF */
    CHECK(ws_valid_utf8(U("\xf0\x90\x80\x80")) == 1); /* U+10000, the first four-byte form */
    CHECK(ws_valid_utf8(U("\xf0\x9f\x98\x80")) == 1); /* U+1F600, an emoji */
    CHECK(ws_valid_utf8(U("\xf4\x8f\xbf\xbf")) == 1); /* U+10FFFF, the last code point */
}

TEST(test_ws_valid_utf8_rejects_overlong_forms)
{
    CHECK(ws_valid_utf8(U("\xc0\x80")) == 0);         /* NUL in two bytes */
    CHECK(ws_valid_utf8(U("\xc1\xbf")) == 0);         /* U+007F in two bytes */
    CHECK(ws_valid_utf8(U("\xe0\x80\x80")) == 0);     /* NUL in three bytes */
    CHECK(ws_valid_utf8(U("\xe0\x9f\xbf")) == 0);     /* U+07FF in three bytes */
    CHECK(ws_valid_utf8(U("\xf0\x80\x80\x80")) == 0); /* NUL in four bytes */
    CHECK(ws_valid_utf8(U("\xf0\x8f\xbf\xbf")) == 0); /* U+FFFF in four bytes */
}

TEST(test_ws_valid_utf8_rejects_surrogates)
{
    CHECK(ws_valid_utf8(U("\xed\xa0\x80")) == 0); /* U+D800 */
    CHECK(ws_valid_utf8(U("\xed\xbf\xbf")) == 0); /* U+DFFF */
    CHECK(ws_valid_utf8(U("\xed\xa0\xbd\xed\xb8\x80")) == 0); /* a surrogate pair as CESU-8 */
}

TEST(test_ws_valid_utf8_rejects_code_points_above_u10ffff_and_bytes_never_used)
{
    CHECK(ws_valid_utf8(U("\xf4\x90\x80\x80")) == 0); /* U+110000 */
    CHECK(ws_valid_utf8(U("\xf5\x80\x80\x80")) == 0);
    CHECK(ws_valid_utf8(U("\xf7\xbf\xbf\xbf")) == 0);
    CHECK(ws_valid_utf8(U("\xf8\x88\x80\x80\x80")) == 0); /* the old five-byte form */
    CHECK(ws_valid_utf8(U("\xfe")) == 0);
    CHECK(ws_valid_utf8(U("\xff")) == 0);
}

TEST(test_ws_valid_utf8_rejects_truncated_sequences)
{
    CHECK(ws_valid_utf8(U("\xc3")) == 0);
    CHECK(ws_valid_utf8(U("\xe2\x82")) == 0);
    CHECK(ws_valid_utf8(U("\xf0\x9f\x98")) == 0);
    CHECK(ws_valid_utf8(U("abc\xf0")) == 0);
    CHECK(ws_valid_utf8(U("\xe2\x82x")) == 0); /* cut short by an ASCII byte */
    CHECK(ws_valid_utf8(U("\xc3\xc3\xa9")) == 0); /* cut short by the next lead byte */
}

TEST(test_ws_valid_utf8_rejects_stray_continuation_bytes)
{
    CHECK(ws_valid_utf8(U("\x80")) == 0);
    CHECK(ws_valid_utf8(U("\xbf")) == 0);
    CHECK(ws_valid_utf8(U("a\x80z")) == 0);
    CHECK(ws_valid_utf8(U("\xc3\xa9\xa9")) == 0); /* one continuation too many */
}

TEST(test_ws_valid_utf8_reads_only_len_bytes)
{
    const char s[] = "ok\xff";

    CHECK(ws_valid_utf8(s, 2) == 1);
    CHECK(ws_valid_utf8(s, 3) == 0);
    CHECK(ws_valid_utf8("\xe2\x82\xac", 2) == 0); /* a valid sequence cut by len is truncated */
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_ws_frame_new_of_0_bytes_has_a_2_byte_header),
        CHECK_CASE(test_ws_frame_new_of_125_bytes_has_a_2_byte_header),
        CHECK_CASE(test_ws_frame_new_of_126_bytes_has_a_16_bit_length),
        CHECK_CASE(test_ws_frame_new_of_65535_bytes_has_a_16_bit_length),
        CHECK_CASE(test_ws_frame_new_of_65536_bytes_has_a_64_bit_length),
        CHECK_CASE(test_ws_frame_new_sets_fin_and_the_opcode),
        CHECK_CASE(test_ws_frame_close_carries_the_code_big_endian_and_the_reason),
        CHECK_CASE(test_ws_frame_close_cuts_a_long_reason_to_fit_a_control_frame),
        CHECK_CASE(test_ws_accept_key_matches_the_rfc_6455_example),
        CHECK_CASE(test_ws_parse_reads_and_unmasks_a_masked_text_frame),
        CHECK_CASE(test_ws_parse_reads_the_rfc_6455_masked_hello),
        CHECK_CASE(test_ws_parse_asks_for_more_on_every_prefix_of_a_short_frame),
        CHECK_CASE(test_ws_parse_asks_for_more_on_every_prefix_of_a_16_bit_length_frame),
        CHECK_CASE(test_ws_parse_asks_for_more_on_every_prefix_of_a_64_bit_length_frame),
        CHECK_CASE(test_ws_parse_rejects_an_unmasked_frame_with_1002),
        CHECK_CASE(test_ws_parse_rejects_reserved_bits_with_1002),
        CHECK_CASE(test_ws_parse_deflate_takes_rsv1_on_a_messages_first_frame_only),
        CHECK_CASE(test_ws_parse_rejects_a_ping_of_126_bytes),
        CHECK_CASE(test_ws_parse_accepts_a_ping_of_125_bytes),
        CHECK_CASE(test_ws_parse_rejects_a_fragmented_close),
        CHECK_CASE(test_ws_parse_rejects_reserved_opcodes),
        CHECK_CASE(test_ws_parse_rejects_a_payload_of_4097_bytes_with_1009),
        CHECK_CASE(test_ws_parse_accepts_a_payload_of_4096_bytes),
        CHECK_CASE(test_ws_parse_rejects_a_huge_64_bit_length_with_1009),
        CHECK_CASE(test_ws_parse_reads_the_64_bit_length_form),
        CHECK_CASE(test_ws_parse_reads_two_back_to_back_frames_one_after_the_other),
        CHECK_CASE(test_ws_valid_utf8_accepts_ascii_and_the_empty_string),
        CHECK_CASE(test_ws_valid_utf8_accepts_two_three_and_four_byte_sequences_at_their_bounds),
        CHECK_CASE(test_ws_valid_utf8_rejects_overlong_forms),
        CHECK_CASE(test_ws_valid_utf8_rejects_surrogates),
        CHECK_CASE(test_ws_valid_utf8_rejects_code_points_above_u10ffff_and_bytes_never_used),
        CHECK_CASE(test_ws_valid_utf8_rejects_truncated_sequences),
        CHECK_CASE(test_ws_valid_utf8_rejects_stray_continuation_bytes),
        CHECK_CASE(test_ws_valid_utf8_reads_only_len_bytes),
    };

    return CHECK_RUN(cases);
}
