/* report_routes.h -- POST /api/clusters/<cluster>/report, a cluster's batch report, and POST
 * /api/clusters/<cluster>/gateway, its gateway session budget. routes.c dispatches to them. */
#ifndef GLANCE_REPORT_ROUTES_H
#define GLANCE_REPORT_ROUTES_H

#include "h2o.h"
#include "http/app.h"

void report_routes_post(struct app *app, h2o_req_t *req, h2o_iovec_t cluster);
void report_routes_gateway(struct app *app, h2o_req_t *req, h2o_iovec_t cluster);

#endif
