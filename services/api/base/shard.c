/* shard.c -- the domain: shard states and their names, which shard serves a guild, comparing secrets. */
#include "base/shard.h"

int shard_state_is_reported_alive(int state)
{
    return state >= STATE_OFFLINE && state <= SHARD_STATE_MAX;
}

int shard_state_from_byte(unsigned char b)
{
    return b >= '0' && b <= '0' + SHARD_STATE_MAX ? b - '0' : STATE_UNKNOWN;
}

const char *state_name(int state)
{
    static const char *names[] = {"unknown", "unhealthy", "offline", "online", "starting", "stopping", "resuming"};
    return state >= 0 && state <= SHARD_STATE_MAX ? names[state] : "invalid";
}

uint32_t guild_shard(uint64_t guild_id, uint32_t shards)
{
    return (uint32_t)((guild_id >> 22) % shards);
}

int secret_equal(const char *given, size_t given_len, const char *expected, size_t expected_len)
{
    unsigned char diff = given_len != expected_len;
    size_t i;

    /* walk the expected secret whatever was given, so the time says nothing about where they differ */
    for (i = 0; i != expected_len; ++i)
        diff |= (unsigned char)expected[i] ^ (unsigned char)(i < given_len ? given[i] : 0);
    return diff == 0;
}
