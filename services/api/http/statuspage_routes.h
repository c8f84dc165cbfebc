/* statuspage_routes.h -- GET /api/v2/<document>.json: Statuspage's public API v2 (render/statuspage.h), from the
 * replica's own copies (the mirror, the incidents list), each document rendered when what it says changes and sent
 * with an ETag, Cache-Control and CORS *, as the badges are. */
#ifndef GLANCE_STATUSPAGE_ROUTES_H
#define GLANCE_STATUSPAGE_ROUTES_H

#include <stdio.h>
#include "h2o.h"

struct app;
struct statuspage_routes;

struct statuspage_routes *statuspage_routes_new(size_t num_clusters);
void statuspage_routes_free(struct statuspage_routes *s);

/* Answers GET /api/v2/<doc>: `doc` is what follows "/api/v2/" ("summary.json", "incidents/unresolved.json"). */
void statuspage_routes_get(struct app *app, h2o_req_t *req, h2o_iovec_t doc);

/* Prints "GET /api/v2/<doc>" for every document, as routes_print lists routes. */
void statuspage_routes_print(FILE *out);

#endif
