/* log_cache.h -- GET /api/history/<cluster>'s change log, read from Redis once per cluster for every reader: at
 * most one read in flight per cluster, its answer (the latest LOG_CACHE_MAX changes) shared by reference, read
 * again only when the cluster's version moved, and then at most once every LOG_CACHE_FRESH_MS. */
#ifndef GLANCE_LOG_CACHE_H
#define GLANCE_LOG_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "h2o.h"
#include "base/body_cache.h"
#include "redis/store.h"
#include "state/mirror.h"

#define LOG_CACHE_MAX 1000
#define LOG_CACHE_FRESH_MS 1000

struct log_cache;

/* One cluster's latest changes as log.lua renders them, newest first: `body` is
 * {"cluster":...,"transitions":[{...},{...}]} and ends[i] is the offset just past the (i+1)-th transition, so
 * the newest n of them are bytes [0, ends[n-1]) followed by "]}". Borrowed: take a reference to keep the body. */
struct log_page {
    struct shared_body *body;
    const uint32_t *ends;
    size_t count;
};

/* Called once per log_cache_get, with the page or (page NULL) an error. */
typedef void (*log_cache_cb)(void *data, const struct log_page *page, const char *err);

struct log_cache *log_cache_new(h2o_loop_t *loop, struct store *store, struct mirror *mirror);
/* Frees the cache; callers still waiting are not called. */
void log_cache_free(struct log_cache *lc);

/* Calls cb with the cluster's page: at once when the cached one is current (or fresh enough), else when the read
 * in flight (started now if there is none) is answered. */
void log_cache_get(struct log_cache *lc, size_t cluster, log_cache_cb cb, void *data);

/* Script calls made so far (for /metrics: however many read, this grows by at most one per cluster a second). */
uint64_t log_cache_reads(const struct log_cache *lc);

#endif
