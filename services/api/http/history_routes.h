/* history_routes.h -- the handlers of what happened: GET /api/history, the incidents and maintenance API and the
 * Atom feed /history.atom. routes.c dispatches to them. */
#ifndef GLANCE_HISTORY_ROUTES_H
#define GLANCE_HISTORY_ROUTES_H

#include "h2o.h"
#include "base/incident_input.h"
#include "http/app.h"

void history_routes_get_history(struct app *app, h2o_req_t *req);
/* GET /api/history/<cluster>[?count=N]: its latest changes from the log */
void history_routes_get_log(struct app *app, h2o_req_t *req, h2o_iovec_t cluster);
void history_routes_get_incidents(struct app *app, h2o_req_t *req);
void history_routes_get_atom(struct app *app, h2o_req_t *req);
/* POST /api/incidents, POST /api/maintenance, POST /api/incidents/<id>/updates (`id` NULL for the first two) */
void history_routes_post(struct app *app, h2o_req_t *req, enum incident_request kind, h2o_iovec_t id);

#endif
