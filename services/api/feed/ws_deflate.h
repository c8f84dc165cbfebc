/* ws_deflate.h -- permessage-deflate (RFC 7692) for the feed: which offers a replica takes, each outgoing message
 * compressed once for every client that took it, and the few messages clients send compressed inflated again.
 *
 * Every message is compressed on its own (server_no_context_takeover), so one compressed frame is good for every
 * client and a client costs no compression state; clients are asked to do the same
 * (client_no_context_takeover), so what they send inflates without state too. */
#ifndef GLANCE_WS_DEFLATE_H
#define GLANCE_WS_DEFLATE_H

#include <stddef.h>
#include "feed/websocket.h"

/* The Sec-WebSocket-Extensions value a replica answers an acceptable offer with. */
#define WS_DEFLATE_RESPONSE "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

/* 1 when one of the offers in a Sec-WebSocket-Extensions value is a permessage-deflate this side can honour: no
 * parameter it does not know, none twice, and a server window (server_max_window_bits) of 15 if one is named. */
int ws_deflate_accepts(const char *offers, size_t len);

struct ws_deflater;

struct ws_deflater *ws_deflater_new(void);
void ws_deflater_free(struct ws_deflater *d);

/* The frame to send a client that took permessage-deflate: `frame` compressed (RSV1 set), made on the first call
 * and kept with the frame; `frame` itself for control frames and for messages that do not get smaller. Borrowed:
 * take a reference to keep it. */
struct ws_frame *ws_deflated(struct ws_deflater *d, struct ws_frame *frame);

/* Inflates one compressed message (its payload as sent, without the 0x00 0x00 0xff 0xff RFC 7692 takes off) into
 * `out`. Returns 0 and sets *out_len, -1 when it is not valid deflate data, -2 when it is longer than `cap`. */
int ws_inflate(const char *in, size_t len, char *out, size_t cap, size_t *out_len);

#endif
