/* alert_sender.h -- delivers the alerts stream (glance:alerts) to the configured webhooks: one Discord message per
 * cluster incident, created when it starts and edited as it changes and ends; or one JSON POST per alert.
 *
 * One replica sends at a time (it holds a lock in Redis that it renews); it reads the stream as a consumer group
 * per webhook, so each webhook goes at its own pace, acknowledges an alert there once that webhook answered it or
 * was given up on, and takes over what a sender that died left pending. Nothing runs when no webhook is
 * configured. */
#ifndef GLANCE_ALERT_SENDER_H
#define GLANCE_ALERT_SENDER_H

#include <stdint.h>
#include "h2o.h"
#include "base/conf.h"
#include "redis/store.h"

struct alert_sender;

struct alert_sender_stats {
    uint64_t sent;         /* messages created, JSON alerts accepted */
    uint64_t edited;       /* messages edited */
    uint64_t failed;       /* attempts that failed (no answer, 5xx, refused) */
    uint64_t rate_limited; /* 429s */
    uint64_t given_up;     /* alerts a webhook still failed GLANCE_ALERT_GIVE_UP after they were recorded */
    uint64_t disabled;     /* webhooks given up on (401, 403, 404) until restart */
};

/* `conf` and `store` must outlive it; free it after the store. */
struct alert_sender *alert_sender_new(h2o_loop_t *loop, const struct conf *conf, struct store *store);
void alert_sender_free(struct alert_sender *sender);
void alert_sender_stats(struct alert_sender *sender, struct alert_sender_stats *out);

#endif
