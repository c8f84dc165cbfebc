/* respond.h -- what every API handler shares: JSON answers and errors, method and passphrase checks, and the
 * bookkeeping of a request that waits on Redis. */
#ifndef GLANCE_RESPOND_H
#define GLANCE_RESPOND_H

#include "h2o.h"
#include "http/app.h"

/* A request waiting on Redis. The request may be gone when the reply comes (the client hung up):
 * a guard in the request's pool clears `req` when the pool is freed, and the late reply is dropped. */
struct pending {
    struct app *app;
    h2o_req_t *req;
    struct pending **guard;
    size_t cluster;
    uint32_t shard;
    void *data; /* what a handler keeps beside it (a read waiting in a read_queue); NULL from pending_new */
    void (*drop)(void *data); /* frees `data` when a read_queue drops the read without starting it; NULL: nothing */
};

/* Sends `body` as it is, never cached by anyone on the way. */
void respond_send(h2o_req_t *req, int status, const char *reason, const char *type, const char *body, size_t len);
/* Sends a shared body by reference (the request holds it until its pool goes), with `insert` (copied into the
 * pool; may be empty) placed at the body's split. Every large body goes out this way, so that what the replica
 * holds for readers is counted in one place: past GLANCE_READER_BYTES_MAX_MB of distinct bodies held, the
 * responses that have been sending longest are closed (glance_slow_readers_closed_total). */
void respond_send_shared(struct app *app, h2o_req_t *req, const char *cache_control, const char *type,
                         struct shared_body *body, h2o_iovec_t insert);
/* Sends the first `len` bytes of a shared body by reference, then `tail` (which must outlive the request: a
 * literal), counted as respond_send_shared's are. */
void respond_send_shared_head(struct app *app, h2o_req_t *req, const char *cache_control, const char *type,
                              struct shared_body *body, size_t len, h2o_iovec_t tail);
/* Sends {"error": message}. */
void respond_error(h2o_req_t *req, int status, const char *reason, const char *message);
void respond_bad_request(h2o_req_t *req, const char *message);
/* 405 with Allow: `allow`. */
void respond_wrong_method(h2o_req_t *req, const char *allow);
/* 503 with Retry-After: 1. */
void respond_unavailable(h2o_req_t *req, const char *why);
int respond_is_get(h2o_req_t *req);  /* GET or HEAD */
int respond_is_post(h2o_req_t *req);
/* 1 when the request's Content-Type is the media type `type` (any case; parameters such as charset ignored). */
int respond_has_type(h2o_req_t *req, const char *type);
/* Sends 401 and returns -1 unless the request carries the passphrase (or none is configured). */
int respond_check_passphrase(struct app *app, h2o_req_t *req);
/* 1 when a passphrase is configured and the request carries it: an operator, who may do more than a visitor. */
int respond_is_operator(struct app *app, h2o_req_t *req);

/* A pending call for `req`; counted in app->inflight until pending_finish. */
struct pending *pending_new(struct app *app, h2o_req_t *req, size_t cluster, uint32_t shard);
/* Detaches the pending call from its request and frees it; returns the request, or NULL if it is gone. */
h2o_req_t *pending_finish(struct pending *p);
/* A store call that could not even be sent: the store never calls back, so undo and answer 503. */
void pending_unsent(struct pending *p);

#endif
