/* badge.h -- status badges: a two-part SVG (label, then the condition in the page's colours) and the JSON that
 * shields.io's endpoint badge reads. Pure: no I/O, so the unit tests drive it directly. */
#ifndef GLANCE_BADGE_H
#define GLANCE_BADGE_H

#include "h2o.h"

/* What a badge says: a condition (condition.h's values) or, for a cluster, a maintenance window. */
#define BADGE_MAINTENANCE (-2)

/* The words of `level` ("operational", ..., "no data", "maintenance"). */
const char *badge_message(int level);
/* The colour of `level` ("#36a852"), as on the badge and the page. */
const char *badge_colour(int level);

/* The SVG badge: `label` on grey, then badge_message(level) on its colour, with a <title> saying both. */
void badge_svg(h2o_buffer_t **buf, const char *label, int level);

/* {"schemaVersion":1,"label":..,"message":..,"color":..} for https://shields.io/badges/endpoint-badge */
void badge_shields_json(h2o_buffer_t **buf, const char *label, int level);

#endif
