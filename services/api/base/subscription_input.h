/* subscription_input.h -- what a visitor's subscription request says, checked whole: the webhook to tell (only a
 * Discord webhook's URL, or for operators with the passphrase a json: URL), made into the one URL Glance will ever
 * post to; and the scope: the whole bot, some clusters, or a server (a guild id or a message link) with the shard
 * that serves it in each cluster. Pure: no I/O, so the unit tests and the fuzzer drive it directly. */
#ifndef GLANCE_SUBSCRIPTION_INPUT_H
#define GLANCE_SUBSCRIPTION_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "base/conf.h"

/* A webhook holds at most this many subscriptions (a channel told of two clusters and a server, say): more is
 * someone filling the store, not someone being told. */
#define SUBSCRIPTIONS_PER_WEBHOOK 3
/* A management link's secret: 16 random bytes, in hex. */
#define SUBSCRIPTION_SECRET_HEX 32

enum subscription_scope { SCOPE_NONE, SCOPE_ALL, SCOPE_CLUSTERS, SCOPE_GUILD };

struct subscription_input {
    int has_webhook;
    char url[640];    /* the URL posted to: <origin>/api/v10/webhooks/<id>/<token>[?thread_id=<id>] (API v10, whatever
                       * version was given: an unversioned path is v6, whose 429s count in milliseconds), or a json: URL's */
    int json;         /* a json: URL (one JSON POST per notification), for operators */
    char hook[24];    /* the webhook's id (Discord's snowflake; for a json: URL, a hash of it) */
    char shown[160];  /* what a person may see of it: no token ("discord.com webhook 1234567890") */
    enum subscription_scope scope;
    unsigned char clusters[CONF_MAX_CLUSTERS]; /* SCOPE_CLUSTERS: 1 for each configured cluster named */
    uint64_t guild;                            /* SCOPE_GUILD */
};

/* Reads {"webhook_url": "...", "scope": "all" | {"clusters": [names]} | {"guild": "<id or message link>"}}; for a
 * change, `need_webhook` 0: only "scope" (a webhook_url there is refused: a new webhook is a new subscription).
 * `operator`: the request carried the passphrase, so a json: URL is allowed. Returns 0, or -1 with one line in
 * `err` and the member it is about in `field`. */
int subscription_from_json(const struct conf *conf, const char *body, size_t len, int need_webhook, int operator,
                           struct subscription_input *in, char *err, size_t errlen, const char **field);

/* The same from a form (application/x-www-form-urlencoded: webhook_url, scope = all | clusters | guild, cluster
 * repeated, guild), as /plain and the management page send it; a json: URL is never taken from a form. `action`
 * receives the form's action field ("change", "remove"; "" when none). */
int subscription_from_form(const struct conf *conf, const char *body, size_t len, int need_webhook,
                           struct subscription_input *in, char *action, size_t action_len, char *err, size_t errlen,
                           const char **field);

/* Checks a webhook URL as a visitor pasted it against GLANCE_SUBSCRIBE_ORIGINS (Discord's by default) and fills
 * url, json, hook and shown. Returns 0, or -1 with `err`. */
int subscription_webhook(const struct conf *conf, const char *url, size_t len, int operator,
                         struct subscription_input *in, char *err, size_t errlen);

/* The scope in words, for messages and pages: "the whole bot", "clusters main and eu", "server 8138... (shard 298
 * of main, shard 12 of eu)". */
void subscription_scope_words(const struct conf *conf, const struct subscription_input *in, char *out, size_t outlen);

/* A management link's token "<id>-<secret>" split; returns 0, or -1 when it is not one. */
int subscription_token(const char *token, size_t len, uint64_t *id, char secret[SUBSCRIPTION_SECRET_HEX + 1]);

#endif
