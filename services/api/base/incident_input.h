/* incident_input.h -- what operators post about incidents and maintenance, checked field by field and turned into
 * the JSON that incident.lua stores. Pure: no I/O, so the unit tests and the fuzzer drive it directly. */
#ifndef GLANCE_INCIDENT_INPUT_H
#define GLANCE_INCIDENT_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct conf;

#define INCIDENT_TITLE_MAX 200  /* bytes of UTF-8 */
#define INCIDENT_TEXT_MAX 4000
#define INCIDENT_BODY_MAX 16384 /* a request body */
#define INCIDENT_MAINTENANCE_MAX_MS (30LL * 86400000) /* a window's length */
#define INCIDENT_MAINTENANCE_AHEAD_MS (90LL * 86400000) /* how far ahead one may start */
/* How long ago one may have started: a few minutes, for clocks a little apart. Further back, a window would turn
 * downtime that the page already showed into maintenance (history rewritten quietly); an operator who forgot to
 * announce one says so in an incident instead. */
#define INCIDENT_MAINTENANCE_BEHIND_MS (300000LL)

enum incident_request { INCIDENT_NEW, MAINTENANCE_NEW, INCIDENT_UPDATE };

/* Checks a request body: INCIDENT_NEW {"title", "impact" (none, minor, major, critical), "clusters" (names),
 * "text", "status"? (investigating, identified, monitoring)}; MAINTENANCE_NEW {"title", "clusters", "text",
 * "starts", "ends"} (each time an RFC 3339 string or milliseconds since the epoch); INCIDENT_UPDATE {"text",
 * "status"} for incident `id`. Unknown fields are refused, so that a typo is not silently dropped.
 * Returns a malloc'd JSON text for incident.lua (the caller frees it), or NULL with one line in `err`. */
char *incident_input(const struct conf *conf, enum incident_request kind, uint64_t id, const char *body, size_t len,
                     int64_t now_ms, char *err, size_t errlen);

/* What the request parsers of incidents (this one, alertmanager_input.c) share: one line into `err`, returning -1;
 * and a body of at most `max` bytes parsed as JSON (duplicate keys refused), or NULL with the reason in `err`. */
int incident_input_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
struct json_t;
struct json_t *incident_input_load(const char *body, size_t len, size_t max, char *err, size_t errlen);

/* Parses "2026-12-01T02:00:00Z" (seconds and fraction optional, "Z" or "+hh:mm"/"-hh:mm"), into ms since the
 * epoch. Returns 0, or -1. */
int incident_parse_time(const char *s, size_t len, int64_t *out_ms);

#endif
