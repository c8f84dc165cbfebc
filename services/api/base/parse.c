/* parse.c -- strict parsing of what arrives from outside: numbers, path segments, names, health keys. */
#include "base/parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include "base/conf.h"

int parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0 || len > 20)
        return -1;
    for (i = 0; i != len; ++i) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

int parse_path(const char *path, size_t len, struct path_segments *out, const char **why)
{
    size_t i = 0;

    out->n = 0;
    if (len == 0 || path[0] != '/') {
        *why = "the path must start with /";
        return -1;
    }
    if (len == 1)
        return 0;
    while (i < len) {
        size_t start = ++i; /* skip the slash */
        while (i < len && path[i] != '/') {
            if (path[i] == '%') {
                *why = "percent-encoded characters are not accepted in the path";
                return -1;
            }
            if (!is_name_char(path[i])) {
                *why = "the path holds a character outside A-Z a-z 0-9 _ . -";
                return -1;
            }
            ++i;
        }
        if (i == start) {
            *why = "the path has an empty segment";
            return -1;
        }
        if (out->n == PARSE_MAX_SEGMENTS) {
            *why = "the path has too many segments";
            return -1;
        }
        out->seg[out->n++] = h2o_iovec_init(path + start, i - start);
    }
    return 0;
}

int parse_cluster_name(const char *name, size_t len)
{
    size_t i;

    if (len == 0 || len > 64)
        return 0;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    for (i = 0; i != len; ++i)
        if (!is_name_char(name[i]))
            return 0;
    return 1;
}

int parse_health_key(const struct conf *conf, const char *key, size_t len, size_t *cluster, uint32_t *shard)
{
    size_t plen = strlen(conf->prefix), i;
    const char *p = key, *end = key + len, *close;
    uint64_t id;

    if (len < plen + 2 || memcmp(p, conf->prefix, plen) != 0 || p[plen] != ':' || p[plen + 1] != '{')
        return -1;
    p += plen + 2;
    if ((close = memchr(p, '}', end - p)) == NULL || end - close < 5 || memcmp(close, "}:hb:", 5) != 0)
        return -1;
    if (parse_u64(close + 5, end - close - 5, &id) != 0)
        return -1;
    for (i = 0; i != conf->num_clusters; ++i) {
        const struct conf_cluster *c = &conf->clusters[i];
        if (c->name_len == (size_t)(close - p) && memcmp(c->name, p, c->name_len) == 0) {
            if (id >= c->shards)
                return -1;
            *cluster = i;
            *shard = (uint32_t)id;
            return 0;
        }
    }
    return -1;
}

static const char *trim_value(const char *p, const char *end, size_t *len)
{
    while (p != end && (*p == ' ' || *p == '\t'))
        ++p;
    while (end != p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        --end;
    *len = (size_t)(end - p);
    return p;
}

int parse_ambiguous_framing(const char *head, size_t len)
{
    const char *p = head, *end = head + len, *cl = NULL;
    size_t cl_len = 0;
    int te = 0;

    /* skip the request line */
    if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
        return 0;
    for (++p; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon;
        const char *line_end = eol != NULL ? eol : end;
        if (line_end == p || (line_end - p == 1 && *p == '\r'))
            break; /* the blank line */
        if ((colon = memchr(p, ':', (size_t)(line_end - p))) != NULL) {
            size_t name_len = (size_t)(colon - p), vlen;
            const char *v = trim_value(colon + 1, line_end, &vlen);
            if (h2o_lcstris(p, name_len, H2O_STRLIT("transfer-encoding"))) {
                te = 1;
            } else if (h2o_lcstris(p, name_len, H2O_STRLIT("content-length"))) {
                if (cl != NULL && !(cl_len == vlen && memcmp(cl, v, vlen) == 0))
                    return 1;
                cl = v;
                cl_len = vlen;
            }
        }
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return te && cl != NULL;
}

int parse_has_control_bytes(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i != len; ++i)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

ssize_t parse_form_value(const char *s, size_t len, char *out)
{
    size_t i, n = 0;

    for (i = 0; i < len; ++i) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return -1;
            hi = hex_digit(s[i + 1]);
            lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
            continue;
        out[n++] = (char)c;
    }
    return (ssize_t)n;
}

static int starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);

    return len >= n && strncasecmp(s, prefix, n) == 0;
}

int parse_guild_input(const char *s, size_t len, uint64_t *out)
{
    static const char *const schemes[] = {"https://", "http://", ""};
    static const char *const hosts[] = {"discord.com/", "ptb.discord.com/", "canary.discord.com/", "www.discord.com/",
                                        "discordapp.com/", "ptb.discordapp.com/", "canary.discordapp.com/",
                                        "www.discordapp.com/"};
    char text[512];
    const char *p = text, *end;
    ssize_t n;
    size_t i;

    if (len > sizeof(text) || (n = parse_form_value(s, len, text)) <= 0)
        return -1;
    end = text + n;
    if (parse_u64(text, (size_t)n, out) == 0)
        return 0;
    for (i = 0; i != sizeof(schemes) / sizeof(schemes[0]); ++i)
        if (starts_with(p, (size_t)(end - p), schemes[i])) {
            p += strlen(schemes[i]);
            break;
        }
    for (i = 0; i != sizeof(hosts) / sizeof(hosts[0]); ++i)
        if (starts_with(p, (size_t)(end - p), hosts[i]))
            break;
    if (i == sizeof(hosts) / sizeof(hosts[0]))
        return -1;
    p += strlen(hosts[i]);
    if (!starts_with(p, (size_t)(end - p), "channels/"))
        return -1;
    p += 9;
    if (starts_with(p, (size_t)(end - p), "@me"))
        return 1;
    /* what follows the guild (channel and message ids, a query, a fragment) is not read */
    for (end = p; end < text + n && *end != '/' && *end != '?' && *end != '#'; ++end)
        ;
    return parse_u64(p, (size_t)(end - p), out) == 0 ? 0 : -1;
}


int parse_stream_id_after(const char *a, const char *b)
{
    unsigned long long am = strtoull(a, NULL, 10), bm = strtoull(b, NULL, 10);
    const char *ad = strchr(a, '-'), *bd = strchr(b, '-');

    if (am != bm)
        return am > bm;
    return (ad != NULL ? strtoull(ad + 1, NULL, 10) : 0) > (bd != NULL ? strtoull(bd + 1, NULL, 10) : 0);
}
