/* deadlines.h -- when each shard's health runs out, by this replica's clock: a min-heap of shard ids.
 *
 * Setting a deadline is O(1) (a shard that pings keeps one heap entry; a later deadline is noted and the
 * entry moves when it comes up), so the pings of a large fleet cost an array store each. */
#ifndef GLANCE_DEADLINES_H
#define GLANCE_DEADLINES_H

#include <stddef.h>
#include <stdint.h>

struct deadlines;

/* Room for ids 0 .. num_ids - 1. Never returns NULL (aborts on OOM). */
struct deadlines *deadlines_new(size_t num_ids);
void deadlines_free(struct deadlines *d);

/* `id` runs out at `at` (ms), replacing any earlier deadline; `at` 0 forgets it. */
void deadlines_set(struct deadlines *d, uint32_t id, uint64_t at);

/* Takes one id whose deadline is at or before `now` and forgets its deadline. Returns 1 with *id set, or 0
 * when none is due. */
int deadlines_pop_due(struct deadlines *d, uint64_t now, uint32_t *id);

/* `id`'s deadline (ms), or 0 when it has none. */
uint64_t deadlines_of(const struct deadlines *d, uint32_t id);

/* The earliest time an id may come due (ms), or 0 when none has a deadline. An id whose deadline moved later since
 * may still sit at this time: deadlines_pop_due then finds nothing due yet. */
uint64_t deadlines_next(struct deadlines *d);

/* Ids with a deadline (for tests and metrics). */
size_t deadlines_count(struct deadlines *d);

#endif
