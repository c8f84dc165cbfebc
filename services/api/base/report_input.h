/* report_input.h -- a cluster's batch report (POST /api/clusters/<cluster>/report): many shards' states, pings and
 * figures in one JSON or msgpack body, checked item by item before anything is written. Pure: no I/O, so the unit
 * tests and the fuzzers drive it directly. */
#ifndef GLANCE_REPORT_INPUT_H
#define GLANCE_REPORT_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "base/figures_input.h"
#include "base/session_input.h"

#define REPORT_ITEMS_MAX 1000           /* shards in one report: one script call, never a long one */
#define REPORT_BODY_MAX (256 * 1024)    /* bytes: 1000 items with every figure fit in a third of it */

struct report_item {
    uint32_t shard;
    int state; /* 0..6, or -1: a health ping */
    struct shard_figures figures;
};

/* Why a report was refused: `index` is the item (-1 for the body as a whole) and `field` the member named in
 * `message` ("" when none). */
struct report_error {
    long index;
    char field[24];
    char message[200];
};

enum report_encoding { REPORT_JSON, REPORT_MSGPACK };

/* Reads {"shards": [{"id", "state"?, figures...}, ...], session budget?} for a cluster of `shards` shards into
 * `items` (room for REPORT_ITEMS_MAX) and `session` (the four session_input fields beside "shards", all or none:
 * session->given is 0 when none). Returns how many items, or -1 with `e` filled. */
long report_input(enum report_encoding enc, const char *body, size_t len, uint32_t shards, struct report_item *items,
                  struct gateway_session *session, struct report_error *e);

#endif
