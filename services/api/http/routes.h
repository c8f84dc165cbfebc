/* routes.h -- the route table and one small handler per endpoint. */
#ifndef GLANCE_ROUTES_H
#define GLANCE_ROUTES_H

#include <stdio.h>
#include "h2o.h"
#include "http/app.h"

#define ROUTES_MAX_PATH 1024
#define ROUTES_MAX_BODY 4096

/* Registers the API, health, metrics and /plain handler on `pathconf`; requests it does not know fall
 * through to the handlers registered after it (the dashboard files). */
void routes_register(struct app *app, h2o_pathconf_t *pathconf);

/* Lists every route, one "<METHOD> <path>" a line, placeholders in braces ({cluster}, {shard}, {state}, {guild},
 * {id}): glance-api --routes. */
void routes_print(FILE *out);

/* Frees what routes_register set up (the cached bodies), once no request can be running. */
void routes_dispose(struct app *app);

#endif
