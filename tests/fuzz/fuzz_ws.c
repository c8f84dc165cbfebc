/* fuzz_ws.c -- libFuzzer target: WebSocket frames from clients, parsed the way feed.c reads a socket. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "websocket.h"

/* Parses frame after frame from the input, as feed.c's read loop does, until more bytes are needed or
 * the client broke the protocol. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size != 0 ? size : 1);
    size_t off = 0;

    memcpy(buf, data, size);
    for (;;) {
        struct ws_incoming in;
        uint16_t code = 0;
        ssize_t n = ws_parse(buf + off, size - off, &in, &code);
        if (n == 0)
            break;
        if (n < 0) {
            if (code != 1002 && code != 1009)
                abort();
            break;
        }
        if ((size_t)n > size - off || in.len > WS_MAX_INCOMING_PAYLOAD || in.payload < buf + off ||
            in.payload + in.len > buf + off + n)
            abort();
        off += (size_t)n;
    }
    free(buf);
    return 0;
}
