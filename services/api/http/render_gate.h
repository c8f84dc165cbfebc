/* render_gate.h -- at most one render of a body that is rendered per version (/plain, GET /api/status) every
 * RENDER_GATE_MS while the versions keep moving: a request that finds the body out of date sooner than that after
 * the last render waits for the gate to open, and every request that waited is then answered from one render.
 * A quiet bot's change is rendered at once; a bot changing every 10 ms costs a few renders a second, not one per
 * request, and readers that do not read hold a few versions of the body, not one each. */
#ifndef GLANCE_RENDER_GATE_H
#define GLANCE_RENDER_GATE_H

#include <stdint.h>
#include "h2o.h"

#define RENDER_GATE_MS 250

struct app;
struct pending;

typedef void (*render_gate_retry)(struct app *app, h2o_req_t *req);

struct render_gate {
    struct app *app;
    uint64_t rendered_at; /* h2o_now of the last render; 0: none */
    h2o_timeout_t timeout;
    int timeout_ready;
    int opening; /* the waiting requests are being retried: they pass */
    h2o_timeout_entry_t entry;
    render_gate_retry retry;
    H2O_VECTOR(struct pending *) waiting;
    uint64_t waited; /* requests that waited, for /metrics */
};

void render_gate_init(struct render_gate *gate, struct app *app, render_gate_retry retry);
/* Drops the waiting requests' bookkeeping (at shutdown, once every request is answered or gone). */
void render_gate_dispose(struct render_gate *gate);

/* Returns 1 when the caller may render now (the gate notes the time), or 0 when `req` was put to wait: the gate
 * calls retry(app, req) when it opens, unless the client has gone by then. */
int render_gate_pass(struct render_gate *gate, h2o_req_t *req);

#endif
