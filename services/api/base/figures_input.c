/* figures_input.c -- a shard's optional figures: the ranges, and reading them from a query string or a JSON body. */
#include "base/figures_input.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const figure_names[NUM_FIGURE_FIELDS] = {"latency_ms", "guilds",  "unavailable_guilds", "members",
                                                     "events",     "resumes", "identifies",         "disconnects"};
#define KNOWN_FIELDS "latency_ms, guilds, unavailable_guilds, members, events, resumes, identifies, disconnects"

static const uint32_t figure_max[NUM_FIGURES] = {FIGURES_LATENCY_MAX, FIGURES_GUILDS_MAX, FIGURES_GUILDS_MAX,
                                                 FIGURES_MEMBERS_MAX};

void figures_clear(struct shard_figures *f)
{
    int i;

    for (i = 0; i != NUM_FIGURES; ++i)
        f->v[i] = FIGURE_ABSENT;
    for (i = 0; i != NUM_COUNTERS; ++i)
        f->c[i] = COUNTER_ABSENT;
}

int figures_any(const struct shard_figures *f)
{
    int i;

    for (i = 0; i != NUM_FIGURES; ++i)
        if (f->v[i] != FIGURE_ABSENT)
            return 1;
    return figures_any_counter(f);
}

int figures_any_counter(const struct shard_figures *f)
{
    int i;

    for (i = 0; i != NUM_COUNTERS; ++i)
        if (f->c[i] != COUNTER_ABSENT)
            return 1;
    return 0;
}

void figures_merge(struct shard_figures *to, const struct shard_figures *from)
{
    int i;

    for (i = 0; i != NUM_FIGURES; ++i)
        if (from->v[i] != FIGURE_ABSENT)
            to->v[i] = from->v[i];
    for (i = 0; i != NUM_COUNTERS; ++i)
        if (from->c[i] != COUNTER_ABSENT)
            to->c[i] = from->c[i];
}

int figures_find(const char *name, size_t len)
{
    int i;

    for (i = 0; i != NUM_FIGURE_FIELDS; ++i)
        if (strlen(figure_names[i]) == len && memcmp(figure_names[i], name, len) == 0)
            return i;
    return -1;
}

/* A counter: whole, from 0 to its bound (doubles hold every integer up to 2^53, past either bound). */
static int counter_set(struct shard_figures *f, int which, double value, int is_integer, const char *where, char *err,
                       size_t errlen)
{
    uint64_t max = which == NUM_FIGURES + COUNTER_EVENTS ? COUNTER_EVENTS_MAX : COUNTER_SESSIONS_MAX;

    if (is_integer && isfinite(value) && value >= 0 && value <= (double)max && value == floor(value)) {
        f->c[which - NUM_FIGURES] = (uint64_t)value;
        return 0;
    }
    snprintf(err, errlen, "%s%s must be a whole number from 0 to %llu (a counter since the process started)", where,
             figure_names[which], (unsigned long long)max);
    return -1;
}

int figures_set_null(struct shard_figures *f, int which, const char *where, char *err, size_t errlen)
{
    if (which < NUM_FIGURES) {
        f->v[which] = FIGURE_CLEAR;
        return 0;
    }
    snprintf(err, errlen, "%s%s cannot be null: a counter is a whole number since the process started (leave it out "
                          "when unknown)", where, figure_names[which]);
    return -1;
}

int figures_set(struct shard_figures *f, int which, double value, int is_integer, const char *where, char *err,
                size_t errlen)
{
    double max;

    if (which >= NUM_FIGURES)
        return counter_set(f, which, value, is_integer, where, err, errlen);
    max = figure_max[which];

    if (which == FIGURE_LATENCY) {
        if (isfinite(value) && value >= 0 && value <= max) {
            f->v[which] = (uint32_t)lround(value);
            return 0;
        }
        snprintf(err, errlen, "%s%s must be a number from 0 to %u", where, figure_names[which], figure_max[which]);
        return -1;
    }
    if (is_integer && isfinite(value) && value >= 0 && value <= max && value == floor(value)) {
        f->v[which] = (uint32_t)value;
        return 0;
    }
    snprintf(err, errlen, "%s%s must be a whole number from 0 to %u", where, figure_names[which], figure_max[which]);
    return -1;
}

int figures_check(const struct shard_figures *f, const char *where, char *err, size_t errlen)
{
    if (f->v[FIGURE_UNAVAILABLE] < FIGURE_CLEAR && f->v[FIGURE_GUILDS] < FIGURE_CLEAR &&
        f->v[FIGURE_UNAVAILABLE] > f->v[FIGURE_GUILDS]) {
        snprintf(err, errlen, "%sunavailable_guilds must not be more than guilds (%u)", where, f->v[FIGURE_GUILDS]);
        return -1;
    }
    return 0;
}

/* A query value: digits with at most one '.', as a number. Returns 0, or -1 when it is anything else. */
static int query_number(const char *s, size_t len, double *out, int *is_integer)
{
    char text[24];
    size_t i, dots = 0, digits = 0;

    if (len == 0 || len >= sizeof(text))
        return -1;
    for (i = 0; i != len; ++i) {
        if (s[i] == '.')
            ++dots;
        else if (s[i] >= '0' && s[i] <= '9')
            ++digits;
        else
            return -1;
    }
    if (dots > 1 || digits == 0)
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    *out = strtod(text, NULL);
    *is_integer = dots == 0;
    return 0;
}

int figures_from_query(const char *query, size_t len, struct shard_figures *f, char *err, size_t errlen)
{
    const char *p = query, *end = query + len;

    figures_clear(f);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        int which = figures_find(p, (size_t)((eq != NULL ? eq : stop) - p));
        if (which >= 0) {
            double v = 0;
            int is_integer = 0;
            if (eq == NULL || query_number(eq + 1, (size_t)(stop - eq - 1), &v, &is_integer) != 0)
                v = NAN; /* figures_set names the field and its range */
            if (figures_set(f, which, v, is_integer, "", err, errlen) != 0)
                return -1;
        }
        p = stop + 1;
    }
    return figures_check(f, "", err, errlen);
}

int figures_from_json(const char *body, size_t len, struct shard_figures *f, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *in, *value;
    const char *name;
    int rc = -1;

    figures_clear(f);
    if ((in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        snprintf(err, errlen, "the body is not valid JSON: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(in)) {
        snprintf(err, errlen, "the body must be a JSON object of figures (" KNOWN_FIELDS ")");
        goto out;
    }
    json_object_foreach(in, name, value) {
        int which = figures_find(name, strlen(name));
        if (which < 0) {
            snprintf(err, errlen, "unknown field \"%.40s\" (known: " KNOWN_FIELDS ")", name);
            goto out;
        }
        if (json_is_null(value)) {
            if (figures_set_null(f, which, "", err, errlen) != 0)
                goto out;
            continue;
        }
        if (figures_set(f, which, json_is_number(value) ? json_number_value(value) : NAN,
                        json_is_integer(value), "", err, errlen) != 0)
            goto out;
    }
    rc = figures_check(f, "", err, errlen);
out:
    json_decref(in);
    return rc;
}
