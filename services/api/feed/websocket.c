/* websocket.c -- the server side of RFC 6455 framing: shared outgoing frames, incoming frame parsing.
 *
 * h2o 2.2.5's websocket helper queues a private copy of every message in each client's wslay context.
 * The feed sends the same frames to thousands of clients, so it builds each frame once and writes the
 * shared bytes straight to every socket; only the few frames clients send us are parsed here. */
#include "feed/websocket.h"

#include <openssl/evp.h>
#include <string.h>
#include <sys/types.h>
#include "h2o.h"

/* Debian's libh2o-evloop declares h2o_websocket_create_accept_key but does not export it. */
void ws_accept_key(char *dst, const char *client_key)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char src[24 + sizeof(guid) - 1];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;

    memcpy(src, client_key, 24);
    memcpy(src + 24, guid, sizeof(guid) - 1);
    EVP_Digest(src, sizeof(src), md, &len, EVP_sha1(), NULL);
    h2o_base64_encode(dst, md, len, 0);
    dst[28] = '\0';
}

static void on_frame_dispose(void *p)
{
    struct ws_frame *f = p;

    if (f->deflated != NULL && f->deflated != f) /* a frame that compression did not shrink is its own twin */
        h2o_mem_release_shared(f->deflated);
}

struct ws_frame *ws_frame_new(enum ws_opcode opcode, const char *payload, size_t len)
{
    size_t head = len < 126 ? 2 : len <= 0xffff ? 4 : 10, i;
    struct ws_frame *f = h2o_mem_alloc_shared(NULL, sizeof(*f) + head + len, on_frame_dispose);

    f->len = head + len;
    f->deflated = NULL;
    f->bytes[0] = (char)(0x80 | opcode);
    if (head == 2) {
        f->bytes[1] = (char)len;
    } else if (head == 4) {
        f->bytes[1] = 126;
        f->bytes[2] = (char)(len >> 8);
        f->bytes[3] = (char)len;
    } else {
        f->bytes[1] = 127;
        for (i = 0; i != 8; ++i)
            f->bytes[2 + i] = (char)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(f->bytes + head, payload, len);
    return f;
}

struct ws_frame *ws_frame_close(uint16_t code, const char *reason)
{
    char payload[125];
    size_t len = strlen(reason);

    if (len > sizeof(payload) - 2)
        len = sizeof(payload) - 2;
    payload[0] = (char)(code >> 8);
    payload[1] = (char)code;
    memcpy(payload + 2, reason, len);
    return ws_frame_new(WS_CLOSE, payload, len + 2);
}

size_t ws_frame_header_len(const struct ws_frame *frame)
{
    unsigned char n = (unsigned char)frame->bytes[1] & 0x7f;

    return n < 126 ? 2 : n == 126 ? 4 : 10;
}

static ssize_t parse(char *buf, size_t len, struct ws_incoming *out, uint16_t *close_code, int deflate)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t head = 2, payload_len, i;
    const unsigned char *mask;

    if (len < 2)
        return 0;
    *close_code = 1002; /* protocol error, unless said otherwise */
    if ((p[0] & (deflate ? 0x30 : 0x70)) != 0 || (p[1] & 0x80) == 0)
        return -1; /* reserved bits without an extension, or a client frame without a mask */
    out->fin = (p[0] & 0x80) != 0;
    out->opcode = (enum ws_opcode)(p[0] & 0x0f);
    out->compressed = (p[0] & 0x40) != 0;
    if (out->compressed && out->opcode != WS_TEXT && out->opcode != WS_BINARY)
        return -1; /* RFC 7692: only a message's first frame says it is compressed, never a control frame */
    payload_len = p[1] & 0x7f;
    if (payload_len == 126) {
        if (len < 4)
            return 0;
        payload_len = ((size_t)p[2] << 8) | p[3];
        head = 4;
    } else if (payload_len == 127) {
        if (len < 10)
            return 0;
        payload_len = 0;
        for (i = 0; i != 8; ++i) {
            if (payload_len > (SIZE_MAX >> 8))
                break;
            payload_len = (payload_len << 8) | p[2 + i];
        }
        if (i != 8) {
            *close_code = 1009;
            return -1;
        }
        head = 10;
    }
    if ((out->opcode & 0x8) != 0 && (!out->fin || payload_len > 125))
        return -1;
    if ((out->opcode & 0x7) > WS_BINARY && (out->opcode & 0x8) == 0)
        return -1; /* reserved data opcode */
    if (out->opcode > WS_PONG)
        return -1;
    if (payload_len > WS_MAX_INCOMING_PAYLOAD) {
        *close_code = 1009; /* message too big */
        return -1;
    }
    if (len < head + 4 + payload_len)
        return 0;
    mask = p + head;
    out->payload = buf + head + 4;
    out->len = payload_len;
    for (i = 0; i != payload_len; ++i)
        out->payload[i] ^= mask[i & 3];
    return (ssize_t)(head + 4 + payload_len);
}

ssize_t ws_parse(char *buf, size_t len, struct ws_incoming *out, uint16_t *close_code)
{
    return parse(buf, len, out, close_code, 0);
}

ssize_t ws_parse_deflate(char *buf, size_t len, struct ws_incoming *out, uint16_t *close_code)
{
    return parse(buf, len, out, close_code, 1);
}

int ws_valid_utf8(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;

    while (s < end) {
        unsigned c = *s, need, min;
        uint32_t cp;
        if (c < 0x80) {
            ++s;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, min = 0x10000, cp = c & 0x07;
        else
            return 0;
        if ((size_t)(end - s) <= need)
            return 0;
        for (++s; need != 0; --need, ++s) {
            if ((*s & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (*s & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    return 1;
}
