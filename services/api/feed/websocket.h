/* websocket.h -- the server side of RFC 6455 framing: shared outgoing frames, incoming frame parsing. */
#ifndef GLANCE_WEBSOCKET_H
#define GLANCE_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ws_opcode { WS_CONTINUATION = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

#define WS_MAX_INCOMING_PAYLOAD 4096

/* An outgoing frame, header included. Server frames are not masked, so the same bytes go to every client:
 * a frame is built once and shared by reference counting (h2o_mem_addref_shared / h2o_mem_release_shared). */
struct ws_frame {
    size_t len;
    /* the same message compressed for clients that took permessage-deflate (ws_deflate.h): made once, on first
     * use, and released with this frame; NULL until then, and always for control frames */
    struct ws_frame *deflated;
    char bytes[];
};

/* Builds a final frame carrying `payload`. The returned frame holds one reference. Never returns NULL. */
struct ws_frame *ws_frame_new(enum ws_opcode opcode, const char *payload, size_t len);

/* Builds a close frame with a status code and a short reason. */
struct ws_frame *ws_frame_close(uint16_t code, const char *reason);

/* Writes the Sec-WebSocket-Accept value (28 characters and a NUL) for a client's 24-character key. */
void ws_accept_key(char *dst, const char *client_key);

/* One frame from a client, its payload unmasked in place. */
struct ws_incoming {
    enum ws_opcode opcode;
    int fin;
    int compressed; /* RSV1 on a message's first frame: permessage-deflate */
    char *payload;
    size_t len;
};

/* Parses one frame at the start of `buf`. Returns the bytes it spans (0 when more bytes are needed), or -1
 * when the client broke the protocol: an unmasked frame, reserved bits, a control frame that is fragmented
 * or too long, or a payload over WS_MAX_INCOMING_PAYLOAD; *close_code then says which code to close with. */
ssize_t ws_parse(char *buf, size_t len, struct ws_incoming *out, uint16_t *close_code);
/* The same, for a client that took permessage-deflate: RSV1 is then allowed on the first frame of a data message
 * (and nowhere else), and sets out->compressed. */
ssize_t ws_parse_deflate(char *buf, size_t len, struct ws_incoming *out, uint16_t *close_code);

/* Where a frame's payload starts (after its 2, 4 or 10 header bytes). */
size_t ws_frame_header_len(const struct ws_frame *frame);

/* Returns 1 when the `len` bytes at `s` are well-formed UTF-8 (no overlong forms, no surrogates, nothing above
 * U+10FFFF), as RFC 6455 requires of text frames; a client that sends anything else is closed with 1007. */
int ws_valid_utf8(const char *s, size_t len);

#endif
