/* versions.h -- per-cluster versions: where an event stands against a mirror, and whether something encoded
 * at some versions is still current. Pure functions, tested in tests/unit/test_versions.c. */
#ifndef GLANCE_VERSIONS_H
#define GLANCE_VERSIONS_H

#include <stddef.h>
#include <stdint.h>

enum version_order {
    VERSION_SEEN, /* at or below what the mirror holds: already part of it */
    VERSION_NEXT, /* exactly one above: apply it */
    VERSION_GAP,  /* further ahead: something was missed, take a snapshot */
};

/* Where an event of version `event` stands against a cluster held at version `held`. */
enum version_order version_order(uint64_t held, uint64_t event);

/* 1 when every one of `n` versions something was encoded at equals the current one, so it may be served as
 * it is. A version that moved without any visible change (a state set to what it already showed, a snapshot
 * that found nothing new) still makes it old: a reader must never see a later update start above it. */
int versions_current(const uint64_t *encoded_at, const uint64_t *current, size_t n);

#endif
