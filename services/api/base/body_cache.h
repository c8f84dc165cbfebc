/* body_cache.h -- a response body rendered once per version and shared, by reference, by every request that
 * reads it: a thousand readers of one version cost one render and no copies. */
#ifndef GLANCE_BODY_CACHE_H
#define GLANCE_BODY_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a over `len` bytes, continuing from `h` (BODY_HASH_START to begin): the key of what a body was made from,
 * or its ETag. */
#define BODY_HASH_START 0xcbf29ce484222325ULL
uint64_t body_hash(uint64_t h, const void *p, size_t len);

/* A rendered body, reference-counted with h2o_mem_addref_shared / h2o_mem_release_shared. */
struct shared_body {
    size_t len;
    size_t split; /* where a per-request part may be inserted (the renderer's choice; 0 if none) */
    uint32_t readers; /* responses still sending it and not being closed (respond.c keeps the count) */
    int cached;       /* a cache still holds it: closing its readers would free nothing */
    char bytes[];
};

/* One cached body and what it was rendered from: the clusters' versions and a variant (anything else the
 * body depends on, such as whether the replica is in touch with Redis). */
struct body_cache {
    struct shared_body *body; /* NULL until the first store */
    uint64_t *versions;
    size_t num_versions;
    int variant;
};

/* An empty cache for `num_versions` clusters. Aborts on OOM. */
void body_cache_init(struct body_cache *cache, size_t num_versions);
void body_cache_dispose(struct body_cache *cache);

/* The cached body when it was rendered at exactly `versions` and `variant`, else NULL. Borrowed: take a
 * reference to keep it. */
struct shared_body *body_cache_find(struct body_cache *cache, const uint64_t *versions, int variant);

/* Replaces the cached body with a copy of `len` bytes rendered at `versions` and `variant`; returns it
 * (borrowed, as above). The previous body lives on for as long as requests still hold it. */
struct shared_body *body_cache_store(struct body_cache *cache, const uint64_t *versions, int variant, const char *bytes,
                                     size_t len, size_t split);

#endif
