/* pages.h -- /plain: the dashboard as server-rendered HTML, for browsers without script. */
#ifndef GLANCE_PAGES_H
#define GLANCE_PAGES_H

#include "h2o.h"
#include "app.h"

/* Answers GET /plain[?guild=<id>] from the mirror. */
void pages_plain(struct app *app, h2o_req_t *req);

#endif
