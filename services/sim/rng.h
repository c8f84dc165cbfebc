/* rng.h -- the simulator's pseudo-random numbers: xorshift64*, fast and reproducible from a seed (--seed).
 * Not for anything secret: WebSocket masks and keys only need to vary. */
#ifndef GLANCE_SIM_RNG_H
#define GLANCE_SIM_RNG_H

#include <stdint.h>

/* The next number of the sequence kept in *state (which must not be 0). */
static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, 1), from the top 53 bits. */
static inline double rng_uniform(uint64_t *state)
{
    return (double)(rng_next(state) >> 11) / 9007199254740992.0;
}

#endif
