/* incident_render.h -- incidents and maintenance (the JSON of GET /api/incidents, parsed) as /plain's banner and
 * as the Atom feed /history.atom. Pure: no I/O. Every operator's word is escaped for where it lands. */
#ifndef GLANCE_INCIDENT_RENDER_H
#define GLANCE_INCIDENT_RENDER_H

#include <jansson.h>
#include <stdint.h>
#include "h2o.h"

/* 1 when a maintenance window of `list` that concerns cluster `name` is on at `now_ms` (begun, not ended, not
 * called off). */
int incident_maintenance_on(json_t *list, const char *name, int64_t now_ms);

/* Open incidents, and maintenance in progress or starting within a day, as HTML (nothing when there are none). */
void incident_render_banner(json_t *list, int64_t now_ms, h2o_buffer_t **buf);

/* Every incident and maintenance of `list` with its updates, newest first, as a collapsed HTML list (nothing when
 * there are none). */
void incident_render_list(json_t *list, h2o_buffer_t **buf);

/* The Atom feed of every incident and maintenance in `list`, newest first; `feed_id` names the feed (a URN). */
void incident_render_atom(json_t *list, const char *feed_id, int64_t now_ms, h2o_buffer_t **buf);

/* Appends `s` escaped for HTML and XML text and attributes; bytes XML cannot hold (U+FFFE, U+FFFF) become U+FFFD. */
void incident_put_escaped(h2o_buffer_t **buf, const char *s, size_t len);

#endif
