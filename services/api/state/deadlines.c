/* deadlines.c -- when each shard's health runs out, by this replica's clock: a min-heap of shard ids.
 *
 * Each id is in the heap at most once, keyed by the deadline it had when it went in. A later deadline is
 * only written to `latest`; when the stale entry reaches the top it is pushed back with the newer one. So a
 * ping costs a store, and the heap does O(log n) work at most once per deadline that actually comes up. */
#include "state/deadlines.h"

#include <stdlib.h>
#include <string.h>
#include "h2o.h"

struct entry {
    uint64_t at;
    uint32_t id;
};

struct deadlines {
    uint64_t *latest; /* per id: its current deadline, 0 for none */
    uint8_t *in_heap;
    struct entry *heap;
    size_t size, num_ids, with_deadline;
};

struct deadlines *deadlines_new(size_t num_ids)
{
    struct deadlines *d = h2o_mem_alloc(sizeof(*d));

    d->latest = h2o_mem_alloc(sizeof(*d->latest) * (num_ids ? num_ids : 1));
    d->in_heap = h2o_mem_alloc(num_ids ? num_ids : 1);
    d->heap = h2o_mem_alloc(sizeof(*d->heap) * (num_ids ? num_ids : 1));
    memset(d->latest, 0, sizeof(*d->latest) * num_ids);
    memset(d->in_heap, 0, num_ids);
    d->size = 0;
    d->num_ids = num_ids;
    d->with_deadline = 0;
    return d;
}

void deadlines_free(struct deadlines *d)
{
    if (d == NULL)
        return;
    free(d->latest);
    free(d->in_heap);
    free(d->heap);
    free(d);
}

static void sift_up(struct deadlines *d, size_t i)
{
    struct entry e = d->heap[i];

    while (i != 0 && d->heap[(i - 1) / 2].at > e.at) {
        d->heap[i] = d->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    d->heap[i] = e;
}

static void sift_down(struct deadlines *d, size_t i)
{
    struct entry e = d->heap[i];

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= d->size)
            break;
        if (child + 1 < d->size && d->heap[child + 1].at < d->heap[child].at)
            ++child;
        if (d->heap[child].at >= e.at)
            break;
        d->heap[i] = d->heap[child];
        i = child;
    }
    d->heap[i] = e;
}

static void push(struct deadlines *d, uint32_t id, uint64_t at)
{
    d->heap[d->size] = (struct entry){at, id};
    sift_up(d, d->size++);
    d->in_heap[id] = 1;
}

static void pop_top(struct deadlines *d)
{
    d->in_heap[d->heap[0].id] = 0;
    d->heap[0] = d->heap[--d->size];
    if (d->size != 0)
        sift_down(d, 0);
}

void deadlines_set(struct deadlines *d, uint32_t id, uint64_t at)
{
    if (id >= d->num_ids)
        return;
    if (d->latest[id] == 0 && at != 0)
        ++d->with_deadline;
    else if (d->latest[id] != 0 && at == 0)
        --d->with_deadline;
    d->latest[id] = at;
    if (at != 0 && !d->in_heap[id])
        push(d, id, at);
    /* otherwise the entry in the heap is put right when it comes up (deadlines move later: a ping's is now + the
     * health timeout) */
}

uint64_t deadlines_of(const struct deadlines *d, uint32_t id)
{
    return id < d->num_ids ? d->latest[id] : 0;
}

uint64_t deadlines_next(struct deadlines *d)
{
    return d->size != 0 ? d->heap[0].at : 0;
}

int deadlines_pop_due(struct deadlines *d, uint64_t now, uint32_t *id)
{
    while (d->size != 0 && d->heap[0].at <= now) {
        struct entry top = d->heap[0];
        uint64_t latest = d->latest[top.id];
        pop_top(d);
        if (latest == 0)
            continue; /* forgotten */
        if (latest > top.at) {
            push(d, top.id, latest); /* moved on since it went in */
            continue;
        }
        d->latest[top.id] = 0;
        --d->with_deadline;
        *id = top.id;
        return 1;
    }
    return 0;
}

size_t deadlines_count(struct deadlines *d)
{
    return d->with_deadline;
}
