/* pages.h -- /plain: the dashboard as server-rendered HTML, for browsers without script. */
#ifndef GLANCE_PAGES_H
#define GLANCE_PAGES_H

#include "h2o.h"
#include "app.h"

/* Renders /plain from the mirror into `buf`; `query` is the request's query string without the '?' (the
 * guild=<id> in it marks that guild's shards). */
void pages_plain(struct app *app, h2o_iovec_t query, h2o_buffer_t **buf);

#endif
