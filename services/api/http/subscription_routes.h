/* subscription_routes.h -- the visitors' subscriptions: POST /api/subscriptions makes one (a confirmation message
 * proves the webhook first), GET, POST and DELETE /api/subscriptions/<token> see, change and remove it; POST
 * /subscribe and /subscription/<token> are the same for browsers, as forms and pages. */
#ifndef GLANCE_SUBSCRIPTION_ROUTES_H
#define GLANCE_SUBSCRIPTION_ROUTES_H

#include "h2o.h"
#include "http/app.h"

/* Webhooks that refused a confirmation (401, 403, 404), across the replicas, past which none is sent for the rest
 * of the 10 minutes: Discord's edge blocks an address after 10,000 invalid requests in 10 minutes, and the sender's
 * own deliveries must keep the rest of that room. */
#define SUBSCRIPTION_REFUSED_MAX 1000
/* A client address (an IPv6 /64) whose confirmations were refused this often in the last hour may not try again
 * before the hour is over: it spends the room above. */
#define SUBSCRIPTION_REFUSED_PER_ADDRESS 3
/* Confirmations sent in a minute across the replicas, at most: however many addresses ask, Glance's own address never
 * sends Discord more than 2 a second on their behalf. */
#define SUBSCRIPTION_CONFIRMS_PER_MINUTE 120

void subscription_routes_new(struct app *app, h2o_req_t *req);
/* POST /subscribe: the same from /plain's form, answered with a page. */
void subscription_routes_new_form(struct app *app, h2o_req_t *req);
/* GET (and HEAD), POST (a new scope) and DELETE of /api/subscriptions/<token>. */
void subscription_routes_manage(struct app *app, h2o_req_t *req, h2o_iovec_t token);
/* GET and POST (its forms) of /subscription/<token>, the management link: the same, as a page. */
void subscription_routes_page(struct app *app, h2o_req_t *req, h2o_iovec_t token);

#endif
