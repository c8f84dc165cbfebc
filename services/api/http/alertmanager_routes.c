/* alertmanager_routes.c -- POST /api/alertmanager: a notification of Alertmanager's webhook, checked whole
 * (alertmanager_input.c) before Redis is asked, then one alertmanager.lua call that opens, updates or resolves the
 * group's incident. Alertmanager retries what it did not see acknowledged: the script makes a retry of a notification
 * written already a no-op, so an acknowledgement lost on the way costs nothing. */
#include "http/alertmanager_routes.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/alertmanager_input.h"
#include "base/log.h"
#include "http/respond.h"
#include "state/incidents.h"

const char *const alertmanager_outcome_names[ALERTMANAGER_OUTCOMES] = {"opened", "updated", "unchanged", "resolved",
                                                                      "none", "refused"};

struct notification {
    struct pending *pending;
    struct app *app;
    char *json; /* the call's argument: it must live until the reply */
};

static void on_written(void *data, const struct redisReply *reply, const char *err)
{
    struct notification *n = data;
    struct app *app = n->app;
    h2o_req_t *req = pending_finish(n->pending);
    long long id = 0, event = 0;
    char body[96];
    int len;

    free(n->json);
    free(n);
    if (err == NULL && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
                        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[1]->type != REDIS_REPLY_INTEGER))
        err = "unexpected reply from redis";
    if (err == NULL) {
        id = reply->element[0]->integer;
        event = reply->element[1]->integer;
    }
    if (err == NULL && (event == ALERTMANAGER_OPENED + 1 || event == ALERTMANAGER_UPDATED + 1 ||
                        event == ALERTMANAGER_RESOLVED + 1))
        incidents_invalidate(app->incidents);
    if (err == NULL && event >= 1 && event <= ALERTMANAGER_NONE + 1)
        ++app->alertmanager[event - 1];
    else if (err == NULL && event == -4)
        ++app->alertmanager[ALERTMANAGER_REFUSED];
    if (req == NULL)
        return;
    if (err != NULL) {
        log_warn("an Alertmanager notification was not written: %s", err);
        respond_unavailable(req, "redis did not confirm the write; retry");
    } else if (event == -4) {
        respond_error(req, 409, "Conflict",
                      "at most " H2O_TO_STR(ALERTMANAGER_GROUPS_MAX) " Alertmanager groups have an open incident at "
                      "once: resolve one first");
    } else if (event >= 1 && event <= ALERTMANAGER_NONE + 1) {
        len = id > 0 ? snprintf(body, sizeof(body), "{\"incident\":%lld,\"event\":\"%s\"}", id,
                                alertmanager_outcome_names[event - 1])
                     : snprintf(body, sizeof(body), "{\"incident\":null,\"event\":\"%s\"}",
                                alertmanager_outcome_names[event - 1]);
        respond_send(req, 200, "OK", "application/json", body, (size_t)len);
    } else {
        respond_unavailable(req, "unexpected reply from redis; retry");
    }
}

void alertmanager_routes_post(struct app *app, h2o_req_t *req)
{
    struct notification *n;
    char err[256], *json;

    if (respond_check_passphrase(app, req) != 0)
        return;
    json = alertmanager_input(app->conf, req->entity.base, req->entity.len, err, sizeof(err));
    if (json == NULL) {
        ++app->alertmanager[ALERTMANAGER_REFUSED];
        respond_bad_request(req, err);
        return;
    }
    n = h2o_mem_alloc(sizeof(*n));
    *n = (struct notification){pending_new(app, req, 0, 0), app, json};
    if (store_alertmanager(app->store, json, strlen(json), on_written, n) != 0) {
        pending_unsent(n->pending);
        free(json);
        free(n);
    }
}
