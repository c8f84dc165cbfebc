/* pages.h -- /plain: the dashboard as server-rendered HTML, for browsers without script. */
#ifndef GLANCE_PAGES_H
#define GLANCE_PAGES_H

#include "h2o.h"

struct conf;
struct mirror;
struct store;

/* Renders /plain from the mirror into `buf`, the same for every reader of one version (cache it); *split is
 * the offset where a reader's guild block goes. With `subscribe` (the configuration, when subscriptions are on),
 * the form that makes one ends the page. */
void pages_plain(struct mirror *mirror, struct store *store, const struct conf *subscribe, h2o_buffer_t **buf,
                 size_t *split);

/* Renders the block that answers a ?guild=<id> query (`query` without the '?'): the serving shard of every
 * cluster, said in words, and a style that marks it in the grids. Nothing when the query names no guild. */
void pages_plain_guild(struct mirror *mirror, h2o_iovec_t query, h2o_buffer_t **buf);

/* Finds guild=<id or link> in `query` (without the '?'); returns 1 and sets *out when present and valid; sets
 * *invalid to 1 for what is not a guild, 2 for a direct-message link. */
int pages_query_guild(h2o_iovec_t query, uint64_t *out, int *invalid);

#endif
