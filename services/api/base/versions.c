/* versions.c -- per-cluster versions: where an event stands against a mirror, and whether something encoded
 * at some versions is still current. */
#include "base/versions.h"

enum version_order version_order(uint64_t held, uint64_t event)
{
    if (event <= held)
        return VERSION_SEEN;
    return event == held + 1 ? VERSION_NEXT : VERSION_GAP;
}

int versions_current(const uint64_t *encoded_at, const uint64_t *current, size_t n)
{
    size_t i;

    for (i = 0; i != n; ++i)
        if (encoded_at[i] != current[i])
            return 0;
    return 1;
}
