/* client_address.h -- who a request comes from, for the per-address limits: the peer, or behind load balancers that
 * GLANCE_TRUSTED_PROXIES names, the address they say in X-Forwarded-For. Only a hop that is ours is believed: the
 * client can write anything to the left of what our own proxy appended. Pure, for the unit tests. */
#ifndef GLANCE_CLIENT_ADDRESS_H
#define GLANCE_CLIENT_ADDRESS_H

#include <stddef.h>
#include "base/conf.h"

/* An address as 4 (IPv4) or 16 (IPv6) bytes; len 0 when unknown. */
struct client_address {
    unsigned char addr[16];
    size_t len;
};

struct sockaddr;

/* A socket address (IPv4 or IPv6; anything else: len 0) as a client_address, without the port. */
void client_address_from_sockaddr(const struct sockaddr *sa, size_t sa_len, struct client_address *out);

/* Whether `a` is one of the trusted proxies. */
int client_address_trusted(const struct conf *conf, const struct client_address *a);

/* From the peer and the X-Forwarded-For values (`xff`, the header's lines joined by ", " as they came; NULL when
 * none): walking from the right, the first address that is not a trusted proxy; the peer itself when it is not one.
 * An entry that is not an address stops the walk at the hop to its right, the last one known. */
void client_address_of(const struct conf *conf, const struct client_address *peer, const char *xff, size_t xff_len,
                       struct client_address *out);

/* A key for the per-address limits: an IPv4 address in dots, an IPv6 address's /64 (one host is given a /64, and
 * all of it is one client) in hex. */
void client_address_key(const struct client_address *a, char *out, size_t outlen);

#endif
