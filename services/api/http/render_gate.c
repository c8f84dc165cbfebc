/* render_gate.c -- one render per RENDER_GATE_MS of a per-version body under a stream of changes (see
 * render_gate.h). The waiting requests are pending calls (respond.h), so a client that hangs up while it waits
 * costs nothing later and shutdown waits for them like for any request waiting on Redis. */
#include "http/render_gate.h"

#include <stdlib.h>
#include "http/app.h"
#include "http/respond.h"

static void on_open(h2o_timeout_entry_t *entry)
{
    struct render_gate *gate = H2O_STRUCT_FROM_MEMBER(struct render_gate, entry, entry);
    struct pending **list = gate->waiting.entries;
    size_t i, n = gate->waiting.size;

    /* taken out first; while they are retried the gate stays open, so the first renders and the rest find that
     * body current: none of them waits a second time, whatever changed meanwhile */
    gate->waiting.entries = NULL;
    gate->waiting.size = gate->waiting.capacity = 0;
    gate->opening = 1;
    for (i = 0; i != n; ++i) {
        h2o_req_t *req = pending_finish(list[i]);
        if (req != NULL)
            gate->retry(gate->app, req);
    }
    gate->opening = 0;
    free(list);
}

void render_gate_init(struct render_gate *gate, struct app *app, render_gate_retry retry)
{
    *gate = (struct render_gate){app};
    gate->retry = retry;
    gate->entry.cb = on_open; /* the timeout itself on first use: routes are registered before the loop exists */
}

void render_gate_dispose(struct render_gate *gate)
{
    if (h2o_timeout_is_linked(&gate->entry))
        h2o_timeout_unlink(&gate->entry);
    if (gate->timeout_ready)
        h2o_timeout_dispose(gate->app->loop, &gate->timeout);
    free(gate->waiting.entries);
}

int render_gate_pass(struct render_gate *gate, h2o_req_t *req)
{
    uint64_t now = h2o_now(gate->app->loop);

    /* while requests wait, a newcomer waits with them (it would otherwise render before them, and they would
     * find that render out of date again) */
    if (gate->opening || (!h2o_timeout_is_linked(&gate->entry) &&
                          (gate->rendered_at == 0 || now - gate->rendered_at >= RENDER_GATE_MS))) {
        gate->rendered_at = now;
        return 1;
    }
    h2o_vector_reserve(NULL, &gate->waiting, gate->waiting.size + 1);
    gate->waiting.entries[gate->waiting.size++] = pending_new(gate->app, req, 0, 0);
    ++gate->waited;
    if (!gate->timeout_ready) {
        h2o_timeout_init(gate->app->loop, &gate->timeout, RENDER_GATE_MS);
        gate->timeout_ready = 1;
    }
    if (!h2o_timeout_is_linked(&gate->entry))
        h2o_timeout_link(gate->app->loop, &gate->timeout, &gate->entry);
    return 0;
}
