/* subscriber_messages.h -- what Glance posts to a subscriber's webhook, and the posting: a Discord message (or, for
 * an operator's json: URL, one JSON document), always with the subscription's management link, never mentioning
 * anyone: the confirmation a new subscription is proven with, and the incidents and maintenance it is told of. */
#ifndef GLANCE_SUBSCRIBER_MESSAGES_H
#define GLANCE_SUBSCRIBER_MESSAGES_H

#include "h2o.h"
#include "base/conf.h"

struct subscriber_messages;

/* How a post went: the HTTP status (0 when no answer came, with `error` set), and for a 429 how long Discord asks
 * to wait (seconds; 0 when it did not say); the message Discord made (its id, "" when none), and the JSON error code
 * of a 4xx (0 when none: 10008 is a message deleted, 10015 a webhook). */
struct subscriber_answer {
    long status;
    double retry_after_s;
    const char *error;
    char message_id[24];
    long code;
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

/* What a server's subscriber is told of the shard serving it (shard_notice.lua): down (for the `falls`-th time in
 * the episode: more than one is flapping) or back. Times are ms. */
struct subscriber_shard_notice {
    const char *cluster;
    uint32_t shard;
    int back;
    int64_t first_ms; /* when the episode began: its first fall */
    int64_t at_ms;    /* since when it is down (again) or back */
    unsigned falls;
};

/* Posts `n` to a subscriber's webhook, or with `message_id` edits that message of the same episode instead (a
 * Discord webhook's; a json: URL is posted each notice). As subscriber_confirm. */
int subscriber_shard(struct subscriber_messages *m, const char *url, int json, const struct subscriber_shard_notice *n,
                     const char *message_id, const char *manage_url, subscriber_answer_cb cb, void *data);

#endif
