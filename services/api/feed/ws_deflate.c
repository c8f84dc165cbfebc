/* ws_deflate.c -- permessage-deflate (RFC 7692): the offer a replica takes, outgoing messages compressed once and
 * shared, incoming ones inflated without per-client state. */
#include "feed/ws_deflate.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include "h2o.h"

#define WINDOW_BITS 15 /* what every compressed message is made with, and what a client may use */
#define LEVEL 6        /* the hello is made once per version for thousands of clients: worth zlib's default effort */

static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff}; /* what a sync flush ends with; RFC 7692 drops it */

struct ws_deflater {
    z_stream z;
    unsigned char *out;
    size_t cap;
};

/* ---- the offer ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* [p, end) without the spaces around it. */
static void trim(const char **p, const char **end)
{
    while (*p < *end && is_space(**p))
        ++*p;
    while (*end > *p && is_space((*end)[-1]))
        --*end;
}

static int token_is(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) == n && strncasecmp(p, word, n) == 0;
}

/* A window size's value: 8 to 15, quoted or not; -1 for anything else. */
static int window_bits(const char *p, const char *end)
{
    if (end - p >= 2 && *p == '"' && end[-1] == '"')
        ++p, --end;
    if (end - p == 1 && *p >= '8' && *p <= '9')
        return *p - '0';
    if (end - p == 2 && p[0] == '1' && p[1] >= '0' && p[1] <= '5')
        return 10 + p[1] - '0';
    return -1;
}

/* One offer: "permessage-deflate; param; param=value". */
static int offer_ok(const char *p, const char *end)
{
    const char *semi = memchr(p, ';', (size_t)(end - p)), *name_end = semi != NULL ? semi : end;
    unsigned seen = 0;

    trim(&p, &name_end);
    if (!token_is(p, name_end, "permessage-deflate"))
        return 0;
    while (semi != NULL) {
        const char *q = semi + 1, *next = memchr(q, ';', (size_t)(end - q)), *stop = next != NULL ? next : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q)), *name_stop = eq != NULL ? eq : stop, *v = NULL, *v_end = NULL;
        unsigned bit;
        trim(&q, &name_stop);
        if (eq != NULL) {
            v = eq + 1, v_end = stop;
            trim(&v, &v_end);
        }
        if (token_is(q, name_stop, "server_no_context_takeover") && eq == NULL)
            bit = 1;
        else if (token_is(q, name_stop, "client_no_context_takeover") && eq == NULL)
            bit = 2;
        else if (token_is(q, name_stop, "server_max_window_bits") && eq != NULL && window_bits(v, v_end) == WINDOW_BITS)
            bit = 4; /* a smaller window would need a compression of its own for this client */
        else if (token_is(q, name_stop, "client_max_window_bits") && (eq == NULL || window_bits(v, v_end) > 0))
            bit = 8; /* any window the client keeps to inflates with ours */
        else
            return 0;
        if ((seen & bit) != 0)
            return 0;
        seen |= bit;
        semi = next;
    }
    return 1;
}

int ws_deflate_accepts(const char *offers, size_t len)
{
    const char *p = offers, *end = offers + len;

    while (p < end) {
        const char *comma = p;
        int quoted = 0;
        for (; comma < end && (quoted || *comma != ','); ++comma)
            if (*comma == '"')
                quoted = !quoted;
        if (offer_ok(p, comma))
            return 1;
        p = comma + 1;
    }
    return 0;
}

/* ---- outgoing ---- */

struct ws_deflater *ws_deflater_new(void)
{
    struct ws_deflater *d = h2o_mem_alloc(sizeof(*d));

    memset(d, 0, sizeof(*d));
    if (deflateInit2(&d->z, LEVEL, Z_DEFLATED, -WINDOW_BITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        h2o_fatal("deflateInit2 failed");
    return d;
}

void ws_deflater_free(struct ws_deflater *d)
{
    deflateEnd(&d->z);
    free(d->out);
    free(d);
}

struct ws_frame *ws_deflated(struct ws_deflater *d, struct ws_frame *frame)
{
    enum ws_opcode opcode = (enum ws_opcode)(frame->bytes[0] & 0x0f);
    size_t head = ws_frame_header_len(frame), in_len = frame->len - head, need, out_len;

    if (frame->deflated != NULL)
        return frame->deflated;
    if ((opcode != WS_TEXT && opcode != WS_BINARY) || (frame->bytes[0] & 0x40) != 0)
        return frame; /* a control frame, or one compressed already */
    need = deflateBound(&d->z, in_len) + 16;
    if (need > d->cap) {
        free(d->out);
        d->out = h2o_mem_alloc(need);
        d->cap = need;
    }
    /* a fresh start for every message: server_no_context_takeover */
    deflateReset(&d->z);
    d->z.next_in = (unsigned char *)frame->bytes + head;
    d->z.avail_in = (uInt)in_len;
    d->z.next_out = d->out;
    d->z.avail_out = (uInt)d->cap;
    if (deflate(&d->z, Z_SYNC_FLUSH) != Z_OK || d->z.avail_in != 0)
        h2o_fatal("deflate failed");
    out_len = d->cap - d->z.avail_out;
    if (out_len < sizeof(tail) || memcmp(d->out + out_len - sizeof(tail), tail, sizeof(tail)) != 0)
        h2o_fatal("deflate did not end with a sync flush");
    out_len -= sizeof(tail);
    if (out_len >= in_len) {
        /* RFC 7692 lets any message go uncompressed: the frame is its own twin (not a reference, or it would
         * hold itself) */
        frame->deflated = frame;
        return frame;
    }
    frame->deflated = ws_frame_new(opcode, (const char *)d->out, out_len);
    frame->deflated->bytes[0] |= 0x40; /* RSV1: this message is compressed */
    return frame->deflated;
}

/* ---- incoming ---- */

/* Feeds [p, p + n) to the inflater: 1 at the stream's end, 0 when all of it went in, -1 on bad data, -2 when the
 * output is full. */
static int inflate_part(z_stream *z, const unsigned char *p, size_t n)
{
    z->next_in = (unsigned char *)p;
    z->avail_in = (uInt)n;
    while (z->avail_in != 0) {
        int r = inflate(z, Z_SYNC_FLUSH);
        if (r == Z_STREAM_END)
            return z->avail_in == 0 ? 1 : -1; /* nothing may follow the last block */
        if (r == Z_BUF_ERROR)
            return z->avail_out == 0 ? -2 : -1;
        if (r != Z_OK)
            return -1;
    }
    return 0;
}

int ws_inflate(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    z_stream z;
    unsigned char probe;
    int ret;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -WINDOW_BITS) != Z_OK)
        return -1;
    z.next_out = (unsigned char *)out;
    z.avail_out = (uInt)cap;
    /* the message, then the tail its sender took off (unless the message ended the stream) */
    ret = inflate_part(&z, (const unsigned char *)in, len);
    if (ret == 0)
        ret = inflate_part(&z, tail, sizeof(tail));
    *out_len = cap - z.avail_out;
    if (ret >= 0 && z.avail_out == 0) {
        /* exactly full, or more to come? */
        z.next_out = &probe;
        z.avail_out = 1;
        z.avail_in = 0;
        if (inflate(&z, Z_SYNC_FLUSH) == Z_OK && z.avail_out == 0)
            ret = -2;
    }
    inflateEnd(&z);
    return ret < 0 ? ret : 0;
}
