/* statuspage.h -- the documents of Atlassian Statuspage's public API v2 (/api/v2/summary.json and its seven
 * siblings), made from what Glance knows: the bot is the page, each cluster a component, the bot's condition the
 * status indicator, Glance's incidents and maintenance windows Statuspage's incidents and scheduled maintenances.
 * Pure: the caller hands in the clusters' levels and the incidents list (GET /api/incidents's JSON), so a test or a
 * fuzzer can drive it without a replica. */
#ifndef GLANCE_STATUSPAGE_H
#define GLANCE_STATUSPAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum statuspage_doc {
    STATUSPAGE_SUMMARY,
    STATUSPAGE_STATUS,
    STATUSPAGE_COMPONENTS,
    STATUSPAGE_INCIDENTS,
    STATUSPAGE_UNRESOLVED,
    STATUSPAGE_MAINTENANCES,
    STATUSPAGE_UPCOMING,
    STATUSPAGE_ACTIVE,
    STATUSPAGE_NUM_DOCS
};

/* One cluster as a component: its level (a condition, or BADGE_MAINTENANCE during a window) and since when it has
 * been so (ms; 0 when not known). */
struct statuspage_component {
    const char *name;
    int level;
    int64_t since_ms;
};

struct statuspage_input {
    const char *page_id;   /* a stable id for the page */
    const char *page_name;
    const char *base;      /* GLANCE_PUBLIC_URL ("https://status.example.com"), or "" for links relative to the site */
    const struct statuspage_component *components;
    size_t num_components;
    int whole;             /* the whole bot's level, as the components' */
    json_t *incidents;     /* GET /api/incidents's document ({"incidents":[...]}), or NULL */
    int64_t now_ms;
};

/* The document a path names after "/api/v2/" ("summary.json", "incidents/unresolved.json", ...), or -1; and the
 * path of a document. */
int statuspage_doc_of(const char *path, size_t len);
const char *statuspage_doc_path(enum statuspage_doc doc);

/* A record's time field (ms), 0 when absent or not a time. */
int64_t statuspage_ms(json_t *rec, const char *field);

/* Renders `doc` as compact JSON (malloc'd; the caller frees it), or NULL when out of memory. */
char *statuspage_render(enum statuspage_doc doc, const struct statuspage_input *in);

#endif
