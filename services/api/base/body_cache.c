/* body_cache.c -- a response body rendered once per version and shared, by reference, by every request that
 * reads it. */
#include "base/body_cache.h"

#include <string.h>
#include "h2o.h"
#include "base/versions.h"

uint64_t body_hash(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;

    while (len-- > 0)
        h = (h ^ *b++) * 0x100000001b3ULL;
    return h;
}

void body_cache_init(struct body_cache *cache, size_t num_versions)
{
    cache->body = NULL;
    cache->versions = h2o_mem_alloc(sizeof(*cache->versions) * (num_versions != 0 ? num_versions : 1));
    cache->num_versions = num_versions;
    cache->variant = 0;
}

void body_cache_dispose(struct body_cache *cache)
{
    if (cache->body != NULL) {
        cache->body->cached = 0;
        h2o_mem_release_shared(cache->body);
    }
    free(cache->versions);
    cache->body = NULL;
    cache->versions = NULL;
}

struct shared_body *body_cache_find(struct body_cache *cache, const uint64_t *versions, int variant)
{
    if (cache->body == NULL || cache->variant != variant || !versions_current(cache->versions, versions, cache->num_versions))
        return NULL;
    return cache->body;
}

struct shared_body *body_cache_store(struct body_cache *cache, const uint64_t *versions, int variant, const char *bytes,
                                     size_t len, size_t split)
{
    struct shared_body *body = h2o_mem_alloc_shared(NULL, sizeof(*body) + len, NULL);

    body->len = len;
    body->split = split <= len ? split : len;
    body->readers = 0;
    body->cached = 1;
    memcpy(body->bytes, bytes, len);
    if (cache->body != NULL) {
        cache->body->cached = 0;
        h2o_mem_release_shared(cache->body);
    }
    cache->body = body;
    memcpy(cache->versions, versions, sizeof(*versions) * cache->num_versions);
    cache->variant = variant;
    return body;
}
