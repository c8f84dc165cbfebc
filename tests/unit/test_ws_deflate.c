/* test_ws_deflate.c -- unit tests of ws_deflate.c: which permessage-deflate offers are taken, the compressed
 * frame (RSV1, no context carried from one message to the next, the sync flush's last four bytes gone, made once),
 * and inflating what a client sends. zlib itself, with a fresh inflater each time, is the judge. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "h2o.h"
#include "check.h"
#include "feed/ws_deflate.h"

#define ACCEPTS(s) ws_deflate_accepts((s), strlen(s))

/* ---- the offer ---- */

TEST(test_ws_deflate_accepts_what_browsers_offer)
{
    CHECK(ACCEPTS("permessage-deflate; client_max_window_bits"));                       /* Chromium, Firefox */
    CHECK(ACCEPTS("permessage-deflate"));                                                /* Safari */
    CHECK(ACCEPTS("permessage-deflate; client_max_window_bits=10; server_no_context_takeover")); /* Node's ws */
    CHECK(ACCEPTS("Permessage-Deflate ;  Client_No_Context_Takeover"));
    CHECK(ACCEPTS("permessage-deflate; server_max_window_bits=15"));
    CHECK(ACCEPTS("permessage-deflate; server_max_window_bits=\"15\""));
}

TEST(test_ws_deflate_takes_the_first_offer_it_can_honour)
{
    CHECK(ACCEPTS("permessage-deflate; server_max_window_bits=10, permessage-deflate"));
    CHECK(ACCEPTS("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"));
}

TEST(test_ws_deflate_refuses_what_it_cannot_honour)
{
    CHECK(!ACCEPTS(""));
    CHECK(!ACCEPTS("x-webkit-deflate-frame"));
    CHECK(!ACCEPTS("permessage-deflate-x"));
    /* a smaller window than the one every shared frame is compressed with */
    CHECK(!ACCEPTS("permessage-deflate; server_max_window_bits=10"));
    CHECK(!ACCEPTS("permessage-deflate; server_max_window_bits"));
    CHECK(!ACCEPTS("permessage-deflate; client_max_window_bits=16"));
    CHECK(!ACCEPTS("permessage-deflate; client_max_window_bits=7"));
    CHECK(!ACCEPTS("permessage-deflate; server_no_context_takeover; server_no_context_takeover"));
    CHECK(!ACCEPTS("permessage-deflate; server_no_context_takeover=1"));
    CHECK(!ACCEPTS("permessage-deflate; mystery"));
}

/* ---- outgoing ---- */

/* What a client with a fresh raw inflater reads from a compressed frame's payload, once the four bytes are back. */
static size_t client_inflates(const struct ws_frame *f, char *out, size_t cap)
{
    size_t head = ws_frame_header_len(f), len = f->len - head;
    unsigned char *in = malloc(len + 4);
    z_stream z;

    memcpy(in, f->bytes + head, len);
    memcpy(in + len, "\x00\x00\xff\xff", 4);
    memset(&z, 0, sizeof(z));
    inflateInit2(&z, -15);
    z.next_in = in;
    z.avail_in = (uInt)(len + 4);
    z.next_out = (unsigned char *)out;
    z.avail_out = (uInt)cap;
    inflate(&z, Z_SYNC_FLUSH);
    inflateEnd(&z);
    free(in);
    return cap - z.avail_out;
}

/* A hello-like text: a digit per shard, mostly online. */
static char *digits(size_t n)
{
    char *s = malloc(n);

    for (size_t i = 0; i != n; ++i)
        s[i] = i % 97 == 0 ? '1' : '3';
    return s;
}

TEST(test_ws_deflated_sets_rsv1_and_inflates_alone)
{
    struct ws_deflater *d = ws_deflater_new();
    char *text = digits(100000), *back = malloc(100001);
    struct ws_frame *plain = ws_frame_new(WS_TEXT, text, 100000), *z = ws_deflated(d, plain);

    CHECK(z != plain);
    CHECK_EQ_U64((unsigned char)z->bytes[0], 0xc1); /* FIN, RSV1, text */
    CHECK(z->len * 10 < plain->len);                /* an order of magnitude, at least */
    if (CHECK_EQ_U64(client_inflates(z, back, 100001), 100000))
        CHECK(memcmp(back, text, 100000) == 0);
    /* RFC 7692 takes the sync flush's 00 00 ff ff off: the payload does not end with it */
    CHECK(memcmp(z->bytes + z->len - 4, "\x00\x00\xff\xff", 4) != 0);
    CHECK(ws_deflated(d, plain) == z); /* made once, kept with the frame */
    CHECK(ws_deflated(d, z) == z);     /* already compressed */
    h2o_mem_release_shared(plain);     /* releases the twin too (ASan: no leak) */
    ws_deflater_free(d);
    free(text);
    free(back);
}

TEST(test_ws_deflated_carries_no_context_from_one_message_to_the_next)
{
    struct ws_deflater *d = ws_deflater_new();
    char *text = digits(5000), back[6000];
    struct ws_frame *a = ws_frame_new(WS_TEXT, text, 5000), *b = ws_frame_new(WS_TEXT, text, 5000);
    struct ws_frame *za = ws_deflated(d, a), *zb = ws_deflated(d, b);

    /* the same text twice: with context takeover the second would be a few bytes of back-reference */
    CHECK_EQ_U64(za->len, zb->len);
    CHECK(memcmp(za->bytes, zb->bytes, za->len) == 0);
    CHECK_EQ_U64(client_inflates(zb, back, sizeof(back)), 5000);
    h2o_mem_release_shared(a);
    h2o_mem_release_shared(b);
    ws_deflater_free(d);
    free(text);
}

TEST(test_ws_deflated_leaves_control_frames_and_what_does_not_shrink)
{
    struct ws_deflater *d = ws_deflater_new();
    struct ws_frame *ping = ws_frame_new(WS_PING, "", 0), *close = ws_frame_close(1001, "going away");
    struct ws_frame *small = ws_frame_new(WS_TEXT, "{\"t\":1}", 7);

    CHECK(ws_deflated(d, ping) == ping);
    CHECK(ws_deflated(d, close) == close);
    CHECK(ws_deflated(d, small) == small);
    CHECK(ws_deflated(d, small) == small);
    CHECK_EQ_U64((unsigned char)small->bytes[0], 0x81); /* no RSV1 on a message sent as it is */
    h2o_mem_release_shared(ping);
    h2o_mem_release_shared(close);
    h2o_mem_release_shared(small); /* its own twin: released once, not twice (ASan) */
    ws_deflater_free(d);
}

/* ---- incoming ---- */

/* `text` as a client sends it compressed: raw deflate, sync flush, the last four bytes off. */
static size_t client_deflates(const char *text, size_t len, unsigned char *out, size_t cap)
{
    z_stream z;
    size_t n;

    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (unsigned char *)text;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_SYNC_FLUSH);
    n = cap - z.avail_out - 4;
    deflateEnd(&z);
    return n;
}

TEST(test_ws_inflate_reads_what_a_client_compressed)
{
    static const char resync[] = "{\"type\":\"resync\"}";
    unsigned char z[64];
    char out[64];
    size_t n = client_deflates(resync, sizeof(resync) - 1, z, sizeof(z)), len = 0;

    if (CHECK(ws_inflate((const char *)z, n, out, sizeof(out), &len) == 0))
        CHECK_MEM_STR(out, len, resync);
    /* exactly as long as the room */
    CHECK(ws_inflate((const char *)z, n, out, sizeof(resync) - 1, &len) == 0);
    CHECK_EQ_U64(len, sizeof(resync) - 1);
}

TEST(test_ws_inflate_refuses_too_much_and_what_is_not_deflate)
{
    char *text = digits(20000), out[4096];
    unsigned char *z = malloc(30000);
    size_t n = client_deflates(text, 20000, z, 30000), len;

    CHECK(n < 4096);                                                   /* small on the wire ... */
    CHECK(ws_inflate((const char *)z, n, out, sizeof(out), &len) == -2); /* ... but too big once inflated */
    CHECK(ws_inflate("\xff\xff\xff\xff", 4, out, sizeof(out), &len) == -1);
    /* a final block, then more bytes */
    CHECK(ws_inflate("\x03\x00\x00", 3, out, sizeof(out), &len) == -1);
    free(text);
    free(z);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_ws_deflate_accepts_what_browsers_offer),
        CHECK_CASE(test_ws_deflate_takes_the_first_offer_it_can_honour),
        CHECK_CASE(test_ws_deflate_refuses_what_it_cannot_honour),
        CHECK_CASE(test_ws_deflated_sets_rsv1_and_inflates_alone),
        CHECK_CASE(test_ws_deflated_carries_no_context_from_one_message_to_the_next),
        CHECK_CASE(test_ws_deflated_leaves_control_frames_and_what_does_not_shrink),
        CHECK_CASE(test_ws_inflate_reads_what_a_client_compressed),
        CHECK_CASE(test_ws_inflate_refuses_too_much_and_what_is_not_deflate),
    };

    return CHECK_RUN(cases);
}
