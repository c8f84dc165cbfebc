/* frames.h -- the client side of the feed's wire format: server frames in, masked frames out, and just
 * enough JSON reading to find the changes an update frame carries. Pure functions, no I/O. */
#ifndef GLANCE_SIM_FRAMES_H
#define GLANCE_SIM_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FRAMES_MAX_PAYLOAD (64u * 1024 * 1024)

struct frames_frame {
    int opcode; /* 1 text, 2 binary, 8 close, 9 ping, 10 pong, 0 continuation */
    int fin;
    const char *payload;
    size_t len;
};

/* Parses one server frame at the start of buf. Returns the bytes it spans, 0 when more bytes are needed,
 * or -1 when it cannot be a server frame: masked, reserved bits set, or a payload over FRAMES_MAX_PAYLOAD. */
ssize_t frames_parse(const char *buf, size_t len, struct frames_frame *out);

/* Writes a final, masked client frame into dst (at most cap bytes). Returns its length, or 0 when it does
 * not fit. */
size_t frames_client(char *dst, size_t cap, int opcode, const char *payload, size_t len, const uint8_t mask[4]);

enum frames_type { FRAMES_OTHER, FRAMES_HELLO, FRAMES_UPDATE, FRAMES_STALE };

/* The "type" of a feed message, read from its first bytes. */
enum frames_type frames_type_of(const char *json, size_t len);

/* Called once per [shard, state] pair of an update, with the cluster name it belongs to. */
typedef void (*frames_change_cb)(void *ctx, const char *name, size_t name_len, uint32_t shard, int state);

/* Finds every change in an update message ({"clusters":[{"name":..,"changes":[[s,st],..]},..]}) and
 * calls cb for each. Returns the number of changes, or -1 when the message is not shaped like an update
 * (cb may have been called for the changes before the fault). */
long frames_scan_update(const char *json, size_t len, frames_change_cb cb, void *ctx);

/* Reads the response to the upgrade request at the start of buf. Returns the length of its header block
 * (through the blank line) once complete, 0 when more bytes are needed; *status gets the status code
 * (0 when the status line is malformed). */
size_t frames_handshake_response(const char *buf, size_t len, int *status);

#endif
