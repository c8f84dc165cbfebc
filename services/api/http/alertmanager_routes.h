/* alertmanager_routes.h -- POST /api/alertmanager: Alertmanager's webhook, one incident per Alertmanager group. */
#ifndef GLANCE_ALERTMANAGER_ROUTES_H
#define GLANCE_ALERTMANAGER_ROUTES_H

#include "h2o.h"
#include "http/app.h"

/* What became of the notifications this replica took (the metric glance_alertmanager_notifications_total). */
enum alertmanager_outcome {
    ALERTMANAGER_OPENED,
    ALERTMANAGER_UPDATED,
    ALERTMANAGER_UNCHANGED,
    ALERTMANAGER_RESOLVED,
    ALERTMANAGER_NONE,
    ALERTMANAGER_REFUSED, /* a 400, 409 or 413: nothing written */
    ALERTMANAGER_OUTCOMES
};
extern const char *const alertmanager_outcome_names[ALERTMANAGER_OUTCOMES];

void alertmanager_routes_post(struct app *app, h2o_req_t *req);

#endif
