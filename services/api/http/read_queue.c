/* read_queue.c -- a bounded number of reads of one kind in flight, the rest in line (see read_queue.h). A request
 * whose client hung up while it waited is dropped from the line without asking Redis anything. */
#include "http/read_queue.h"

#include <stdlib.h>
#include "http/respond.h"

struct waiter {
    h2o_linklist_t link;
    struct app *app;
    struct pending *p;
    read_queue_start start;
};

void read_queue_init(struct read_queue *q, size_t max)
{
    *q = (struct read_queue){0, max};
    h2o_linklist_init_anchor(&q->waiting);
}

/* Ends a read that will never start. */
static void drop(struct pending *p)
{
    if (p->drop != NULL)
        p->drop(p->data);
    pending_finish(p);
}

void read_queue_dispose(struct read_queue *q)
{
    while (!h2o_linklist_is_empty(&q->waiting)) {
        struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, q->waiting.next);
        h2o_linklist_unlink(&w->link);
        drop(w->p);
        free(w);
    }
    q->num_waiting = 0;
}

void read_queue_run(struct read_queue *q, struct app *app, struct pending *p, read_queue_start start)
{
    struct waiter *w;
    h2o_req_t *req;

    if (q->in_flight < q->max) {
        ++q->in_flight;
        start(app, p);
        return;
    }
    if (q->num_waiting >= READ_QUEUE_WAITING) {
        ++q->refused;
        if (p->drop != NULL)
            p->drop(p->data);
        if ((req = pending_finish(p)) != NULL)
            respond_unavailable(req, "too many reads of this kind are waiting; retry");
        return;
    }
    w = h2o_mem_alloc(sizeof(*w));
    *w = (struct waiter){{NULL, NULL}, app, p, start};
    h2o_linklist_insert(&q->waiting, &w->link);
    ++q->num_waiting;
    ++q->queued;
}

void read_queue_done(struct read_queue *q)
{
    --q->in_flight;
    while (q->in_flight < q->max && !h2o_linklist_is_empty(&q->waiting)) {
        struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, q->waiting.next);
        h2o_linklist_unlink(&w->link);
        --q->num_waiting;
        if (w->p->req == NULL) {
            drop(w->p); /* the client is gone: nothing to read for it */
        } else {
            ++q->in_flight;
            w->start(w->app, w->p);
        }
        free(w);
    }
}
