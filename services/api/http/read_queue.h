/* read_queue.h -- at most a few Redis reads of one kind in flight per replica, the rest waiting in line: a flood of
 * distinct reads (one shard's story each, the alerts) then puts at most that many scripts in front of the bots'
 * writes on the shared command connection, however many clients ask. Past READ_QUEUE_WAITING in line, a read is
 * refused with a 503 and Retry-After: 1 rather than queued without bound. */
#ifndef GLANCE_READ_QUEUE_H
#define GLANCE_READ_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include "h2o.h"

#define READ_QUEUE_WAITING 4096

struct app;
struct pending;

/* Starts one read for `p` (a pending call, respond.h). It must end, one way or another, in read_queue_done. */
typedef void (*read_queue_start)(struct app *app, struct pending *p);

struct read_queue {
    size_t in_flight, max;
    h2o_linklist_t waiting;
    size_t num_waiting;
    uint64_t queued, refused; /* reads that waited in line; reads refused because the line was full */
};

void read_queue_init(struct read_queue *q, size_t max);
/* Frees what still waits (at shutdown, when every request is answered or gone). */
void read_queue_dispose(struct read_queue *q);

/* Runs start(app, p) now when fewer than `max` are in flight, or once one ends; answers 503 (and finishes p) when
 * the line is full. */
void read_queue_run(struct read_queue *q, struct app *app, struct pending *p, read_queue_start start);

/* One read ended (its reply came, or it could not be sent): the next in line whose client is still there starts. */
void read_queue_done(struct read_queue *q);

#endif
