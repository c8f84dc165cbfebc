/* redis_conn.h -- one Redis connection that keeps itself connected: resolve, connect, AUTH, SELECT, reconnect
 * with backoff. */
#ifndef GLANCE_REDIS_CONN_H
#define GLANCE_REDIS_CONN_H

#include <hiredis/async.h>
#include "h2o.h"
#include "base/conf.h"

struct redis_conn;

/* Called once the connection is authenticated, on the right database and answering; commands may be sent. */
typedef void (*redis_conn_ready_cb)(struct redis_conn *conn, void *data);
/* Called when a ready connection is lost; pending command callbacks have already had NULL replies. */
typedef void (*redis_conn_lost_cb)(struct redis_conn *conn, void *data, const char *why);

/* Creates a connection named `role` (for logs) and starts connecting. Host names (of Redis and of the
 * sentinels) are resolved off the event loop through `resolver` (an h2o context's hostinfo receiver); every
 * attempt, from the lookup to the handshake's last answer, is given up after GLANCE_REDIS_TIMEOUT_MS. Never
 * returns NULL (aborts on OOM). `conf` and `resolver` must outlive the connection. */
struct redis_conn *redis_conn_new(h2o_loop_t *loop, h2o_multithread_receiver_t *resolver, const struct conf *conf,
                                  const char *role, redis_conn_ready_cb on_ready, redis_conn_lost_cb on_lost, void *data);

/* Closes the connection and stops reconnecting; pending callbacks get NULL replies. */
void redis_conn_free(struct redis_conn *conn);

/* The hiredis context while the connection is ready, else NULL. */
redisAsyncContext *redis_conn_context(struct redis_conn *conn);

/* Drops a connection that is believed dead (a command went unanswered); it reconnects after a backoff. */
void redis_conn_drop(struct redis_conn *conn, const char *why);

/* 1 when bytes from Redis wait unread in the socket. A command or message that seems overdue may only be
 * waiting for the replica's own loop, stalled by a long piece of work: then it is not Redis's fault. */
int redis_conn_input_waiting(struct redis_conn *conn);

/* How many times the connection was re-established after a loss. */
uint64_t redis_conn_reconnects(struct redis_conn *conn);

/* Why the connection is not ready, in a few words ("connect to redis:6379: connection refused"); "" while
 * it is. The string belongs to the connection and changes with the next failure. */
const char *redis_conn_last_error(struct redis_conn *conn);

#endif
