/* routes.h -- the route table and one small handler per endpoint. */
#ifndef GLANCE_ROUTES_H
#define GLANCE_ROUTES_H

#include "h2o.h"
#include "app.h"

#define ROUTES_MAX_PATH 1024
#define ROUTES_MAX_BODY 4096

/* Registers the API, health, metrics and /plain handler on `pathconf`; requests it does not know fall
 * through to the handlers registered after it (the dashboard files). */
void routes_register(struct app *app, h2o_pathconf_t *pathconf);

/* Answers with `status` and a JSON body {"error": message}. */
void routes_send_error(h2o_req_t *req, int status, const char *reason, const char *message);

/* Answers with `status` and a body of `type` copied into the request's pool. */
void routes_send(h2o_req_t *req, int status, const char *reason, const char *type, const char *body, size_t len);

#endif
