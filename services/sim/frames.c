/* frames.c -- the client side of the feed's wire format: server frames in, masked frames out, and just
 * enough JSON reading to find the changes an update frame carries. */
#include "frames.h"

#include <string.h>

ssize_t frames_parse(const char *buf, size_t len, struct frames_frame *out)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t head = 2, plen;

    if (len < 2)
        return 0;
    if ((b[0] & 0x70) != 0 || (b[1] & 0x80) != 0)
        return -1;
    plen = b[1] & 0x7f;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = (size_t)b[2] << 8 | b[3];
        head = 4;
    } else if (plen == 127) {
        uint64_t v = 0;
        int i;
        if (len < 10)
            return 0;
        for (i = 0; i != 8; ++i)
            v = v << 8 | b[2 + i];
        if (v > FRAMES_MAX_PAYLOAD)
            return -1;
        plen = (size_t)v;
        head = 10;
    }
    if (plen > FRAMES_MAX_PAYLOAD)
        return -1;
    if (len - head < plen)
        return 0;
    out->opcode = b[0] & 0x0f;
    out->fin = (b[0] & 0x80) != 0;
    out->payload = buf + head;
    out->len = plen;
    return (ssize_t)(head + plen);
}

size_t frames_client(char *dst, size_t cap, int opcode, const char *payload, size_t len, const uint8_t mask[4])
{
    unsigned char *d = (unsigned char *)dst;
    size_t head = len < 126 ? 6 : len <= 0xffff ? 8 : 14, i;

    if (cap < head + len)
        return 0;
    d[0] = (unsigned char)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        d[1] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        d[1] = 0x80 | 126;
        d[2] = (unsigned char)(len >> 8);
        d[3] = (unsigned char)len;
    } else {
        d[1] = 0x80 | 127;
        for (i = 0; i != 8; ++i)
            d[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(d + head - 4, mask, 4);
    for (i = 0; i != len; ++i)
        d[head + i] = (unsigned char)payload[i] ^ mask[i % 4];
    return head + len;
}

enum frames_type frames_type_of(const char *json, size_t len)
{
    static const char key[] = "\"type\":\"";
    const char *p = memmem(json, len < 64 ? len : 64, key, sizeof(key) - 1), *v;
    size_t rest;

    if (p == NULL)
        return FRAMES_OTHER;
    v = p + sizeof(key) - 1;
    rest = len - (size_t)(v - json);
#define IS_TYPE(lit) (rest > sizeof(lit) - 1 && memcmp(v, lit "\"", sizeof(lit)) == 0)
    if (IS_TYPE("update"))
        return FRAMES_UPDATE;
    if (IS_TYPE("hello"))
        return FRAMES_HELLO;
    if (IS_TYPE("stale"))
        return FRAMES_STALE;
#undef IS_TYPE
    return FRAMES_OTHER;
}

static const char *skip_space(const char *p, const char *end)
{
    while (p != end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        ++p;
    return p;
}

/* Reads a non-negative decimal number; returns the position after it, or NULL. */
static const char *read_uint(const char *p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = p;

    while (p != end && *p >= '0' && *p <= '9' && v < (1ull << 40))
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p == start)
        return NULL;
    *out = v;
    return p;
}

/* Parses "[[s,st],[s,st]]" starting at p (at the first '['); returns the position after it, or NULL. */
static const char *read_changes(const char *p, const char *end, const char *name, size_t name_len,
                                frames_change_cb cb, void *ctx, long *count)
{
    p = skip_space(p, end);
    if (p == end || *p++ != '[')
        return NULL;
    p = skip_space(p, end);
    if (p != end && *p == ']')
        return p + 1;
    for (;;) {
        uint64_t shard, state;
        p = skip_space(p, end);
        if (p == end || *p++ != '[')
            return NULL;
        p = skip_space(p, end);
        if ((p = read_uint(p, end, &shard)) == NULL)
            return NULL;
        p = skip_space(p, end);
        if (p == end || *p++ != ',')
            return NULL;
        p = skip_space(p, end);
        if ((p = read_uint(p, end, &state)) == NULL || shard > UINT32_MAX || state > 255)
            return NULL;
        p = skip_space(p, end);
        if (p == end || *p++ != ']')
            return NULL;
        cb(ctx, name, name_len, (uint32_t)shard, (int)state);
        ++*count;
        p = skip_space(p, end);
        if (p == end)
            return NULL;
        if (*p == ']')
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

long frames_scan_update(const char *json, size_t len, frames_change_cb cb, void *ctx)
{
    static const char name_key[] = "\"name\":", changes_key[] = "\"changes\":";
    const char *p = json, *end = json + len;
    long count = 0;

    if (memmem(json, len, "\"clusters\"", 10) == NULL)
        return -1;
    /* the codec writes each cluster's name before its changes; names need no escapes */
    while ((p = memmem(p, (size_t)(end - p), name_key, sizeof(name_key) - 1)) != NULL) {
        const char *name, *name_end, *next, *c;
        p = skip_space(p + sizeof(name_key) - 1, end);
        if (p == end || *p != '"')
            return -1;
        name = p + 1;
        if ((name_end = memchr(name, '"', (size_t)(end - name))) == NULL)
            return -1;
        p = name_end + 1;
        next = memmem(p, (size_t)(end - p), name_key, sizeof(name_key) - 1);
        if (next == NULL)
            next = end;
        c = memmem(p, (size_t)(next - p), changes_key, sizeof(changes_key) - 1);
        if (c != NULL) {
            c += sizeof(changes_key) - 1;
            if (read_changes(c, next, name, (size_t)(name_end - name), cb, ctx, &count) == NULL)
                return -1;
        }
        p = next;
    }
    return count;
}

size_t frames_handshake_response(const char *buf, size_t len, int *status)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    int code = 0;

    if (end == NULL)
        return 0;
    if (len >= 12 && memcmp(buf, "HTTP/1.", 7) == 0 && buf[8] == ' ' && buf[9] >= '1' && buf[9] <= '5' &&
        buf[10] >= '0' && buf[10] <= '9' && buf[11] >= '0' && buf[11] <= '9')
        code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    *status = code;
    return (size_t)(end - buf) + 4;
}
