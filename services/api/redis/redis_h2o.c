/* redis_h2o.c -- an hiredis async context living on the h2o event loop.
 *
 * h2o 2.2.5 has no Redis client of its own. The fd is wrapped with H2O_SOCKET_FLAG_DONT_READ, so the
 * loop only reports readiness and hiredis does the reading and writing itself. */
#include "redis/redis_h2o.h"

#include <stdlib.h>

struct redis_h2o {
    redisAsyncContext *ac;
    h2o_socket_t *sock;
    int reading;
    int write_wanted;
    int write_armed; /* h2o allows one notify_write at a time; a stale one is harmless to hiredis */
};

static void on_readable(h2o_socket_t *sock, const char *err)
{
    struct redis_h2o *r = sock->data;
    /* on an error hiredis' own read notices it and tears the context down through cleanup() */
    redisAsyncHandleRead(r->ac);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    struct redis_h2o *r = sock->data;

    r->write_armed = 0;
    if (!r->write_wanted)
        return;
    redisAsyncHandleWrite(r->ac);
}

static void add_read(void *data)
{
    struct redis_h2o *r = data;

    if (!r->reading) {
        r->reading = 1;
        h2o_socket_read_start(r->sock, on_readable);
    }
}

static void del_read(void *data)
{
    struct redis_h2o *r = data;

    if (r->reading) {
        r->reading = 0;
        h2o_socket_read_stop(r->sock);
    }
}

static void add_write(void *data)
{
    struct redis_h2o *r = data;

    r->write_wanted = 1;
    if (!r->write_armed) {
        r->write_armed = 1;
        h2o_socket_notify_write(r->sock, on_writable);
    }
}

static void del_write(void *data)
{
    struct redis_h2o *r = data;
    r->write_wanted = 0;
}

static void cleanup(void *data)
{
    struct redis_h2o *r = data;

    /* h2o closes the fd when it disposes of the socket; keep redisFree() from closing it a second time,
     * when the number may already belong to someone else */
    r->ac->c.fd = -1;
    h2o_socket_close(r->sock);
    r->ac->ev.data = NULL;
    free(r);
}

int redis_h2o_attach(redisAsyncContext *ac, h2o_loop_t *loop)
{
    struct redis_h2o *r;

    if (ac->ev.data != NULL)
        return -1;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return -1;
    r->ac = ac;
    if ((r->sock = h2o_evloop_socket_create(loop, ac->c.fd, H2O_SOCKET_FLAG_DONT_READ)) == NULL) {
        free(r);
        return -1;
    }
    r->sock->data = r;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = r;
    return 0;
}
