/* parse.h -- strict parsing of what arrives from outside: numbers, path segments, names, secrets. */
#ifndef GLANCE_PARSE_H
#define GLANCE_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "h2o.h"

#define PARSE_MAX_SEGMENTS 8
#define SHARD_STATE_MAX 6

enum shard_state {
    STATE_UNKNOWN = 0,
    STATE_UNHEALTHY = 1,
    STATE_OFFLINE = 2,
    STATE_ONLINE = 3,
    STATE_STARTING = 4,
    STATE_STOPPING = 5,
    STATE_RESUMING = 6,
};

struct path_segments {
    h2o_iovec_t seg[PARSE_MAX_SEGMENTS];
    size_t n;
};

/* Parses a plain decimal number (digits only, no sign, no spaces) that fits in 64 bits.
 * Returns 0 and sets *out, or -1 for anything else, including the empty string. */
int parse_u64(const char *s, size_t len, uint64_t *out);

/* Splits an absolute path (without its query) into segments. "/" has none. Returns 0, or -1 and points
 * *why at a static explanation: a segment is empty, holds '%' or a character outside [A-Za-z0-9_.-],
 * or there are more than PARSE_MAX_SEGMENTS. Segments point into `path`. */
int parse_path(const char *path, size_t len, struct path_segments *out, const char **why);

/* Returns 1 when `name` is a valid cluster name: 1 to 64 of [A-Za-z0-9_.-], and not "." or "..". */
int parse_cluster_name(const char *name, size_t len);

/* The shard that serves a guild under Discord's rule: (guild_id >> 22) % shards. shards must be > 0. */
uint32_t guild_shard(uint64_t guild_id, uint32_t shards);

/* Compares a presented secret with the expected one in time that depends only on their lengths.
 * Returns 1 when they are equal. */
int secret_equal(const char *given, size_t given_len, const char *expected, size_t expected_len);

/* The lowercase name of a state ("online"), or "invalid" outside 0..SHARD_STATE_MAX. */
const char *state_name(int state);

struct conf;

/* Finds the cluster and shard of a health key name "<prefix>:{<cluster>}:hb:<shard>". Returns 0, or -1
 * when the key is not one of ours (another prefix, an unknown cluster, a shard out of range). */
int parse_health_key(const struct conf *conf, const char *key, size_t len, size_t *cluster, uint32_t *shard);

#endif
