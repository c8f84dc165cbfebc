/* parse.c -- strict parsing of what arrives from outside: numbers, path segments, names, health keys. */
#include "parse.h"

#include <string.h>
#include "conf.h"

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
