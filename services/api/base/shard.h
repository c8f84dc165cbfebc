/* shard.h -- the domain: shard states and their names, which shard serves a guild, comparing secrets. */
#ifndef GLANCE_SHARD_H
#define GLANCE_SHARD_H

#include <stddef.h>
#include <stdint.h>

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

/* 1 for a state that only a live shard reports (so its report has just set the shard's health key):
 * offline, online, starting, stopping, resuming. Unknown and unhealthy set no health. */
int shard_state_is_reported_alive(int state);

/* The state a byte of a cluster's states string stands for: '0'..'6' are states; anything else (the zero
 * byte of a shard that never reported) is unknown. */
int shard_state_from_byte(unsigned char b);

/* The lowercase name of a state ("online"), or "invalid" outside 0..SHARD_STATE_MAX. */
const char *state_name(int state);

/* The shard that serves a guild under Discord's rule: (guild_id >> 22) % shards. shards must be > 0. */
uint32_t guild_shard(uint64_t guild_id, uint32_t shards);

/* Compares a presented secret with the expected one in time that depends only on their lengths.
 * Returns 1 when they are equal. */
int secret_equal(const char *given, size_t given_len, const char *expected, size_t expected_len);

#endif
