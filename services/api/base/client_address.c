/* client_address.c -- the client's address behind trusted proxies, and its key for the per-address limits. */
#include "base/client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* An IPv4-mapped IPv6 address (::ffff:1.2.3.4, as a dual-stack socket reports IPv4 peers) as the IPv4 one. */
static void unmap(struct client_address *a)
{
    if (a->len == 16 && memcmp(a->addr, v4_mapped, 12) == 0) {
        memmove(a->addr, a->addr + 12, 4);
        a->len = 4;
    }
}

void client_address_from_sockaddr(const struct sockaddr *sa, size_t sa_len, struct client_address *out)
{
    out->len = 0;
    if (sa_len != 0 && sa->sa_family == AF_INET) {
        memcpy(out->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        out->len = 4;
    } else if (sa_len != 0 && sa->sa_family == AF_INET6) {
        memcpy(out->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        out->len = 16;
    }
}

int client_address_trusted(const struct conf *conf, const struct client_address *a)
{
    for (size_t i = 0; i != conf->num_trusted_proxies; ++i) {
        const struct conf_net *n = &conf->trusted_proxies[i];
        unsigned whole = n->prefix / 8u, rest = n->prefix % 8u;
        if (n->len != a->len || memcmp(n->addr, a->addr, whole) != 0)
            continue;
        if (rest == 0 || ((n->addr[whole] ^ a->addr[whole]) & (0xffu << (8u - rest)) & 0xffu) == 0)
            return 1;
    }
    return 0;
}

/* One X-Forwarded-For entry (spaces around it allowed; an IPv6 one may come in brackets; a port after either, as
 * some load balancers add, is dropped). Returns 0, or -1 when it is not an address. */
static int parse_entry(const char *p, size_t len, struct client_address *out)
{
    char text[64];

    while (len != 0 && isspace((unsigned char)*p))
        ++p, --len;
    while (len != 0 && isspace((unsigned char)p[len - 1]))
        --len;
    if (len >= 2 && p[0] == '[') {
        /* [v6] or [v6]:port */
        const char *close = memchr(p, ']', len);
        if (close == NULL || (close + 1 != p + len && close[1] != ':'))
            return -1;
        len = (size_t)(close - p - 1);
        ++p;
    } else {
        const char *colon = memchr(p, ':', len);
        if (colon != NULL && memchr(colon + 1, ':', (size_t)(p + len - colon - 1)) == NULL)
            len = (size_t)(colon - p); /* a.b.c.d:port: one colon, where IPv6 has at least two */
    }
    if (len == 0 || len >= sizeof(text))
        return -1;
    memcpy(text, p, len);
    text[len] = '\0';
    if (inet_pton(AF_INET, text, out->addr) == 1)
        out->len = 4;
    else if (inet_pton(AF_INET6, text, out->addr) == 1)
        out->len = 16;
    else
        return -1;
    unmap(out);
    return 0;
}

void client_address_of(const struct conf *conf, const struct client_address *peer, const char *xff, size_t xff_len,
                       struct client_address *out)
{
    size_t end = xff_len;

    *out = *peer;
    unmap(out);
    if (xff == NULL || !client_address_trusted(conf, out))
        return;
    while (end != 0) {
        size_t start = end;
        struct client_address hop;
        while (start != 0 && xff[start - 1] != ',')
            --start;
        if (parse_entry(xff + start, end - start, &hop) != 0)
            return; /* what the client wrote, or garbage: the last hop we believe stays the answer */
        *out = hop;
        if (!client_address_trusted(conf, &hop))
            return;
        end = start != 0 ? start - 1 : 0;
    }
}

void client_address_key(const struct client_address *a, char *out, size_t outlen)
{
    if (a->len == 4) {
        snprintf(out, outlen, "%u.%u.%u.%u", a->addr[0], a->addr[1], a->addr[2], a->addr[3]);
    } else if (a->len == 16) {
        snprintf(out, outlen, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", a->addr[0], a->addr[1], a->addr[2],
                 a->addr[3], a->addr[4], a->addr[5], a->addr[6], a->addr[7]);
    } else {
        snprintf(out, outlen, "unknown");
    }
}
