/* fuzz_ws.c -- libFuzzer target: WebSocket frames from clients, parsed the way feed.c reads a socket (with and
 * without permessage-deflate, compressed messages inflated as feed.c does), and the extension offers of the
 * handshake. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "feed/websocket.h"
#include "feed/ws_deflate.h"

/* The first byte picks the mode (bit 0: the client took permessage-deflate); the rest is parsed frame after
 * frame, as feed.c's read loop does, until more bytes are needed or the client broke the protocol. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, inflated[WS_MAX_INCOMING_PAYLOAD];
    size_t off = 0, len;
    int deflate;

    if (size == 0)
        return 0;
    deflate = data[0] & 1;
    ++data, --size;
    (void)ws_deflate_accepts((const char *)data, size);
    buf = malloc(size != 0 ? size : 1);
    memcpy(buf, data, size);
    for (;;) {
        struct ws_incoming in;
        uint16_t code = 0;
        ssize_t n = deflate ? ws_parse_deflate(buf + off, size - off, &in, &code) : ws_parse(buf + off, size - off, &in, &code);
        if (n == 0)
            break;
        if (n < 0) {
            if (code != 1002 && code != 1009)
                abort();
            break;
        }
        if ((size_t)n > size - off || in.len > WS_MAX_INCOMING_PAYLOAD || in.payload < buf + off ||
            in.payload + in.len > buf + off + n || (in.compressed && !deflate))
            abort();
        if (in.compressed) {
            int r = ws_inflate(in.payload, in.len, inflated, sizeof(inflated), &len);
            if (r < -2 || r > 0 || (r == 0 && len > sizeof(inflated)))
                abort();
        }
        off += (size_t)n;
    }
    free(buf);
    return 0;
}
