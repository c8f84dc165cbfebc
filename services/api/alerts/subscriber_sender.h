/* subscriber_sender.h -- tells the subscribers: each entry of the notify stream (an incident or maintenance opened,
 * updated or resolved, written by the scripts that change them; shards gone down or back, for the servers they serve)
 * posted to every subscription it concerns; a shard episode's later notices edit its first message in place.
 *
 * One replica sends at a time (its own lock, as the alerts' sender has). An entry's subscribers are a queue in Redis
 * (notify.lua), each due at its own time: a slow or dead webhook, or one Discord asks to wait, holds back only its
 * own delivery, and a few entries go at once. Deliveries are paced (GLANCE_SUBSCRIBER_RATE a second) and at most a
 * few dozen are in flight. A webhook Discord says is gone (401, 403, 404) loses its subscription. What a sender that
 * died was delivering comes due again for the next one: nothing is skipped; a delivery Discord took in the moment
 * before the sender died, before Redis heard of it, is sent again. Nothing runs when subscriptions are off. */
#ifndef GLANCE_SUBSCRIBER_SENDER_H
#define GLANCE_SUBSCRIBER_SENDER_H

#include <stdint.h>
#include "h2o.h"
#include "alerts/subscriber_messages.h"
#include "base/conf.h"
#include "redis/store.h"

struct subscriber_sender;

struct subscriber_sender_stats {
    uint64_t sent;         /* deliveries a webhook took */
    uint64_t edited;       /* of which, edits of a shard episode's message */
    uint64_t retried;      /* deliveries to try again (429, 5xx, no answer) */
    uint64_t gone;         /* subscriptions removed: their webhook answered 401, 403 or 404 */
    uint64_t given_up;     /* deliveries still failing after SUBSCRIBER_TRIES tries */
    uint64_t entries_done; /* notify stream entries delivered to all they concern */
};

/* `conf`, `store` and `messages` must outlive it; free it after the store. */
struct subscriber_sender *subscriber_sender_new(h2o_loop_t *loop, const struct conf *conf, struct store *store,
                                                struct subscriber_messages *messages);
void subscriber_sender_free(struct subscriber_sender *s);
void subscriber_sender_stats(struct subscriber_sender *s, struct subscriber_sender_stats *out);

#endif
