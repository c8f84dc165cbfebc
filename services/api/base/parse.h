/* parse.h -- strict parsing of what arrives from outside: numbers, path segments, names, health keys. */
#ifndef GLANCE_PARSE_H
#define GLANCE_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "h2o.h"

#define PARSE_MAX_SEGMENTS 8
struct path_segments {
    h2o_iovec_t seg[PARSE_MAX_SEGMENTS];
    size_t n;
};

/* Parses a plain decimal number (digits only, no sign, no spaces) that fits in 64 bits.
 * Returns 0 and sets *out, or -1 for anything else, including the empty string. */
int parse_u64(const char *s, size_t len, uint64_t *out);

/* What people paste into a guild box, as a form sends it (percent-encoded, '+' for a space): a guild id, or a
 * Discord link to a message or channel ("https://discord.com/channels/<guild>/<channel>/<message>", also the
 * ptb., canary. and www. hosts and discordapp.com, with or without the scheme), spaces anywhere. Returns 0 and the
 * guild id, 1 for a direct-message link (channels/@me: no server), or -1. */
int parse_guild_input(const char *s, size_t len, uint64_t *out);

/* Percent-decodes a form value `s` into `out` (room for `len` bytes), dropping spaces (raw, '+' and encoded) and
 * other ASCII whitespace, which no id, link or URL a form takes holds. Returns the length, or -1 for a bad escape. */
ssize_t parse_form_value(const char *s, size_t len, char *out);

/* Splits an absolute path (without its query) into segments. "/" has none. Returns 0, or -1 and points
 * *why at a static explanation: a segment is empty, holds '%' or a character outside [A-Za-z0-9_.-],
 * or there are more than PARSE_MAX_SEGMENTS. Segments point into `path`. */
int parse_path(const char *path, size_t len, struct path_segments *out, const char **why);

/* Returns 1 when `name` is a valid cluster name: 1 to 64 of [A-Za-z0-9_.-], and not "." or "..". */
int parse_cluster_name(const char *name, size_t len);

/* Looks through a raw HTTP/1 request head (the request line, the header lines, up to the blank line; `len`
 * bytes) for framing two parsers could read differently: Transfer-Encoding together with Content-Length, or
 * Content-Length values that differ. Header names compare without case. Returns 1 when it finds either, so the
 * request can be refused and its connection closed before anything behind it runs as a request of its own. */
int parse_ambiguous_framing(const char *head, size_t len);

/* Returns 1 when `s` holds a control byte (below 0x20, or 0x7f), which no path we serve contains. */
int parse_has_control_bytes(const char *s, size_t len);

/* Redis stream ids "<ms>-<seq>": 1 when `a` comes after `b`. */
int parse_stream_id_after(const char *a, const char *b);

struct conf;

/* Finds the cluster and shard of a health key name "<prefix>:{<cluster>}:hb:<shard>". Returns 0, or -1
 * when the key is not one of ours (another prefix, an unknown cluster, a shard out of range). */
int parse_health_key(const struct conf *conf, const char *key, size_t len, size_t *cluster, uint32_t *shard);

#endif
