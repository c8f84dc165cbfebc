/* alertmanager_input.h -- a notification of Alertmanager's webhook (payload version 4), checked and turned into the
 * JSON that alertmanager.lua writes as one incident per Alertmanager group. Pure: no I/O, so the unit tests and the
 * fuzzer drive it directly. */
#ifndef GLANCE_ALERTMANAGER_INPUT_H
#define GLANCE_ALERTMANAGER_INPUT_H

#include <stddef.h>

struct conf;

/* A request body at most: Alertmanager sends every alert of a group in one notification (unless max_alerts caps
 * them), and a few hundred alerts with their labels and annotations fit in this. */
#define ALERTMANAGER_BODY_MAX (256 * 1024)
#define ALERTMANAGER_GROUP_KEY_MAX 4096 /* bytes of a groupKey: it names the route's matchers and group labels */
/* groups with an open incident at once, across the deployment: a flood of groups is refused (409), not stored */
#define ALERTMANAGER_GROUPS_MAX 50

/* Checks a notification: {"version":"4", "groupKey", "status":"firing"|"resolved", "alerts":[{"status", "labels",
 * "annotations"?, ...}], "receiver"?, "groupLabels"?, "commonLabels"?, "commonAnnotations"?, "externalURL"?,
 * "truncatedAlerts"?}. Fields a later Alertmanager adds are ignored; the ones named must have their types. Each
 * alert's cluster is its conf->alertmanager_label label (else conf->alertmanager_cluster), a configured cluster.
 * Returns a malloc'd JSON text for alertmanager.lua, {group, status, digest, title, impact, clusters, text} (the
 * caller frees it), or NULL with one line in `err`. */
char *alertmanager_input(const struct conf *conf, const char *body, size_t len, char *err, size_t errlen);

#endif
