/* conn.h -- one Redis connection that keeps itself connected: connect, AUTH, SELECT, reconnect with backoff. */
#ifndef GLANCE_CONN_H
#define GLANCE_CONN_H

#include <hiredis/async.h>
#include "h2o.h"
#include "conf.h"

struct conn;

/* Called once the connection is authenticated, on the right database and answering; commands may be sent. */
typedef void (*conn_ready_cb)(struct conn *conn, void *data);
/* Called when a ready connection is lost; pending command callbacks have already had NULL replies. */
typedef void (*conn_lost_cb)(struct conn *conn, void *data, const char *why);

/* Creates a connection named `role` (for logs) and starts connecting. Never returns NULL (aborts on OOM).
 * `conf` must outlive the connection. */
struct conn *conn_new(h2o_loop_t *loop, const struct conf *conf, const char *role, conn_ready_cb on_ready,
                      conn_lost_cb on_lost, void *data);

/* Closes the connection and stops reconnecting; pending callbacks get NULL replies. */
void conn_free(struct conn *conn);

/* The hiredis context while the connection is ready, else NULL. */
redisAsyncContext *conn_context(struct conn *conn);

/* Drops a connection that is believed dead (a command went unanswered); it reconnects after a backoff. */
void conn_drop(struct conn *conn, const char *why);

/* How many times the connection was re-established after a loss. */
uint64_t conn_reconnects(struct conn *conn);

#endif
