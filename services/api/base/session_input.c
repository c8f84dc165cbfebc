/* session_input.c -- a bot's gateway session budget: the ranges, and reading it from a JSON body. */
#include "base/session_input.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const session_names[NUM_SESSION_FIELDS] = {"session_start_total", "session_start_remaining",
                                                        "session_start_reset_after_ms", "max_concurrency"};

static const uint32_t session_min[NUM_SESSION_FIELDS] = {1, 0, 0, 1};
static const uint32_t session_max[NUM_SESSION_FIELDS] = {SESSION_TOTAL_MAX, SESSION_TOTAL_MAX,
                                                          SESSION_RESET_AFTER_MAX, SESSION_CONCURRENCY_MAX};

void session_clear(struct gateway_session *s)
{
    memset(s, 0, sizeof(*s));
}

int session_find(const char *name, size_t len)
{
    int i;

    for (i = 0; i != NUM_SESSION_FIELDS; ++i)
        if (strlen(session_names[i]) == len && memcmp(session_names[i], name, len) == 0)
            return i;
    return -1;
}

int session_set(struct gateway_session *s, int which, double value, int is_integer, char *err, size_t errlen)
{
    if (is_integer && isfinite(value) && value >= session_min[which] && value <= session_max[which] &&
        value == floor(value)) {
        s->v[which] = (uint64_t)value;
        s->given |= 1u << which;
        return 0;
    }
    snprintf(err, errlen, "%s must be a whole number from %u to %u", session_names[which], session_min[which],
             session_max[which]);
    return -1;
}

int session_check(const struct gateway_session *s, int optional, char *err, size_t errlen, const char **field)
{
    int i;

    if (optional && s->given == 0)
        return 0;
    for (i = 0; i != NUM_SESSION_FIELDS; ++i)
        if (!(s->given & (1u << i))) {
            snprintf(err, errlen, "%s is missing (the session budget is given whole: session_start_total, "
                                  "session_start_remaining, session_start_reset_after_ms, max_concurrency)",
                     session_names[i]);
            *field = session_names[i];
            return -1;
        }
    if (s->v[SESSION_REMAINING] > s->v[SESSION_TOTAL]) {
        snprintf(err, errlen, "session_start_remaining must not be more than session_start_total (%llu)",
                 (unsigned long long)s->v[SESSION_TOTAL]);
        *field = session_names[SESSION_REMAINING];
        return -1;
    }
    return 0;
}

int session_from_json(const char *body, size_t len, struct gateway_session *s, char *err, size_t errlen,
                      const char **field)
{
    json_error_t jerr;
    json_t *in, *value;
    const char *name;
    int rc = -1;

    session_clear(s);
    *field = "";
    if ((in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        snprintf(err, errlen, "the body is not valid JSON: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(in)) {
        snprintf(err, errlen, "the body must be a JSON object: {\"session_start_total\":..,\"session_start_remaining\":"
                              "..,\"session_start_reset_after_ms\":..,\"max_concurrency\":..}");
        goto out;
    }
    json_object_foreach(in, name, value) {
        int which = session_find(name, strlen(name));
        if (which < 0) {
            snprintf(err, errlen, "unknown field \"%.40s\" (known: session_start_total, session_start_remaining, "
                                  "session_start_reset_after_ms, max_concurrency)", name);
            goto out;
        }
        *field = session_names[which];
        if (session_set(s, which, json_is_number(value) ? json_number_value(value) : NAN, json_is_integer(value), err,
                        errlen) != 0)
            goto out;
    }
    *field = "";
    rc = session_check(s, 0, err, errlen, field);
out:
    json_decref(in);
    return rc;
}
