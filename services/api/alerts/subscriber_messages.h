/* subscriber_messages.h -- what Glance posts to a subscriber's webhook, and the posting: a Discord message (or, for
 * an operator's json: URL, one JSON document), always with the subscription's management link, never mentioning
 * anyone: the confirmation a new subscription is proven with, and the incidents and maintenance it is told of. */
#ifndef GLANCE_SUBSCRIBER_MESSAGES_H
#define GLANCE_SUBSCRIBER_MESSAGES_H

#include "h2o.h"
#include "base/conf.h"

struct subscriber_messages;

/* How a post went: the HTTP status (0 when no answer came, with `error` set), and for a 429 how long Discord asks
 * to wait (seconds; 0 when it did not say). */
struct subscriber_answer {
    long status;
    double retry_after_s;
    const char *error;
};

/* The status of a post dropped because the replica stops: its callback frees what it holds, and does nothing else
 * (the store may be gone). */
#define SUBSCRIBER_DROPPED (-1)

typedef void (*subscriber_answer_cb)(void *data, const struct subscriber_answer *answer);

struct subscriber_messages *subscriber_messages_new(h2o_loop_t *loop, const struct conf *conf);
/* Posts still in flight are dropped without their callback. */
void subscriber_messages_free(struct subscriber_messages *m);

/* Posts the confirmation of a new subscription to `url` (a json: URL's target when `json`): what it will be told
 * of (`scope_words`) and `manage_url`. Returns 0 and calls `cb` once, or -1 (never calling it) when the request could
 * not be started. */
int subscriber_confirm(struct subscriber_messages *m, const char *url, int json, const char *scope_words, int guild,
                       const char *manage_url, subscriber_answer_cb cb, void *data);

/* What a subscriber is told of: an incident or maintenance opened, updated or resolved (the notify stream's entry). */
struct subscriber_notice {
    const char *kind;     /* "incident" or "maintenance" */
    const char *event;    /* "opened", "updated", "resolved", or "reminder" (a maintenance window soon) */
    const char *title, *status, *text, *impact;
    const char *clusters; /* comma-separated */
    int64_t starts_ms, ends_ms; /* a maintenance window's; 0 otherwise */
};

/* Posts `n` to a subscriber's webhook, with its `manage_url`. As subscriber_confirm. */
int subscriber_notify(struct subscriber_messages *m, const char *url, int json, const struct subscriber_notice *n,
                      const char *manage_url, subscriber_answer_cb cb, void *data);

#endif
