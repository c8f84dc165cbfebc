/* gateway_alerts.h -- the gateway marks as alerts: every few seconds each replica reads each cluster's marks from
 * its figures' copy (silent shards, a reconnect storm, a short identify budget, shards near the guild cap; those
 * GLANCE_ALERT_GATEWAY names) and tells Redis when one differs from what it last settled; gateway_alert.lua records
 * the alert once the mark has held for GLANCE_ALERT_DELAY, once across every replica, and the alert sender delivers
 * it with the conditions' alerts. */
#ifndef GLANCE_GATEWAY_ALERTS_H
#define GLANCE_GATEWAY_ALERTS_H

#include <stddef.h>
#include <stdint.h>
#include "base/conf.h"
#include "redis/store.h"
#include "state/figures.h"

struct gateway_alerts;

struct gateway_alerts *gateway_alerts_new(const struct conf *conf, struct store *store, struct figures *figures);
void gateway_alerts_free(struct gateway_alerts *ga);
/* Called on the alerts' tick: checks the marks when their interval has passed. */
void gateway_alerts_tick(struct gateway_alerts *ga, int64_t now);
/* Alerts this replica recorded (each counted by one replica only). */
uint64_t gateway_alerts_recorded(struct gateway_alerts *ga);

/* Whether mark `which` (an index of conf_gateway_alert_names) is on for cluster `name` of `shards` given its marks
 * `m`, and the words of its alert in `text`. */
int gateway_alert_words(int which, const char *name, uint32_t shards, const struct figures_marks *m, char *text,
                        size_t len);

#endif
