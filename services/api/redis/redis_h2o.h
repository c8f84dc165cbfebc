/* redis_h2o.h -- an hiredis async context living on the h2o event loop. */
#ifndef GLANCE_REDIS_H2O_H
#define GLANCE_REDIS_H2O_H

#include <hiredis/async.h>
#include "h2o.h"

/* Hooks `ac` into `loop`: hiredis is told when its socket can be read or written, and the loop's socket
 * is released when hiredis frees the context (hiredis alone closes the fd). Returns 0, or -1 when the
 * context already has an event library or the socket cannot be wrapped; `ac` is then left as it was. */
int redis_h2o_attach(redisAsyncContext *ac, h2o_loop_t *loop);

#endif
