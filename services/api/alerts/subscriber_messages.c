/* subscriber_messages.c -- the messages subscribers' webhooks are sent, built with jansson and posted through the
 * event loop's HTTP client. A Discord message names no one (allowed_mentions: none), whatever an operator's text
 * holds, and is always posted with ?wait=true, so that a webhook Discord did not take answers as an error. */
#include "alerts/subscriber_messages.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alerts/http_client.h"

#define SUBSCRIBER_WAIT_MAX_S 3600.0

struct subscriber_messages {
    const struct conf *conf;
    struct http_client *http;
    h2o_linklist_t posts; /* in flight: told SUBSCRIBER_DROPPED when the replica stops */
};

struct post {
    h2o_linklist_t link;
    subscriber_answer_cb cb;
    void *data;
};

struct subscriber_messages *subscriber_messages_new(h2o_loop_t *loop, const struct conf *conf)
{
    struct subscriber_messages *m = h2o_mem_alloc(sizeof(*m));

    m->conf = conf;
    m->http = http_client_new(loop);
    h2o_linklist_init_anchor(&m->posts);
    return m;
}

void subscriber_messages_free(struct subscriber_messages *m)
{
    static const struct subscriber_answer dropped = {SUBSCRIBER_DROPPED, 0, "the replica stopped"};

    if (m == NULL)
        return;
    http_client_free(m->http); /* drops what is in flight, without a word: said here, so each caller frees its part */
    while (!h2o_linklist_is_empty(&m->posts)) {
        struct post *p = H2O_STRUCT_FROM_MEMBER(struct post, link, m->posts.next);
        h2o_linklist_unlink(&p->link);
        p->cb(p->data, &dropped);
        free(p);
    }
    free(m);
}

static void on_answer(void *data, const struct http_response *res)
{
    struct post *p = data;

    h2o_linklist_unlink(&p->link);
    {
    struct subscriber_answer a = {res->status, res->retry_after_s > 0 ? res->retry_after_s : 0, res->error, "", 0};

    if (res->status >= 200 && res->status < 500 && res->status != 429 && res->body_len != 0) {
        /* the message made (?wait=true answers it), or why not */
        json_t *body = json_loadb(res->body, res->body_len, 0, NULL);
        const char *id = json_string_value(json_object_get(body, "id"));
        if (res->status < 300 && id != NULL && strlen(id) < sizeof(a.message_id) && strspn(id, "0123456789") == strlen(id))
            strcpy(a.message_id, id);
        if (res->status >= 400)
            a.code = (long)json_integer_value(json_object_get(body, "code"));
        json_decref(body);
    }
    if (res->status == 429) {
        /* the longest of what Discord says: Retry-After, X-RateLimit-Reset-After, the body's retry_after (seconds,
         * API v10) */
        json_t *body = json_loadb(res->body != NULL ? res->body : "", res->body_len, 0, NULL);
        double in_body = json_number_value(json_object_get(body, "retry_after"));
        if (res->ratelimit_reset_after_s > a.retry_after_s)
            a.retry_after_s = res->ratelimit_reset_after_s;
        if (in_body > a.retry_after_s)
            a.retry_after_s = in_body;
        json_decref(body);
    }
    /* a webhook's word, passed on to a visitor as Retry-After: a number of seconds within reason (1e300 and NaN are
     * not one) */
    if (!isfinite(a.retry_after_s) || a.retry_after_s < 0)
        a.retry_after_s = 0;
    else if (a.retry_after_s > SUBSCRIBER_WAIT_MAX_S)
        a.retry_after_s = SUBSCRIBER_WAIT_MAX_S;
    p->cb(p->data, &a);
    free(p);
    }
}

/* Sends `doc` (taken) to the webhook: posted, a Discord one with ?wait=true added to its URL; or with `message_id`,
 * an edit of that message of the Discord webhook (its path before the URL's query, which names the thread). */
static int send_message(struct subscriber_messages *m, const char *url, int json, json_t *doc, const char *message_id,
                        subscriber_answer_cb cb, void *data)
{
    char target[800];
    char *body = json_dumps(doc, JSON_COMPACT);
    struct post *p;
    int rc = -1;

    json_decref(doc);
    if (body == NULL)
        return -1;
    if (json) {
        snprintf(target, sizeof(target), "%s", url);
    } else if (message_id != NULL) {
        const char *query = strchr(url, '?');
        int path_len = query != NULL ? (int)(query - url) : (int)strlen(url);
        snprintf(target, sizeof(target), "%.*s/messages/%s%s", path_len, url, message_id, query != NULL ? query : "");
    } else {
        snprintf(target, sizeof(target), "%s%swait=true", url, strchr(url, '?') != NULL ? "&" : "?");
    }
    p = h2o_mem_alloc(sizeof(*p));
    p->cb = cb;
    p->data = data;
    if (http_client_request(m->http, !json && message_id != NULL ? "PATCH" : "POST", target, body, strlen(body), NULL,
                            m->conf->alert_timeout_ms, on_answer, p) == 0) {
        h2o_linklist_insert(&m->posts, &p->link);
        rc = 0;
    } else {
        free(p);
    }
    free(body);
    return rc;
}

int subscriber_confirm(struct subscriber_messages *m, const char *url, int json, const char *scope_words, int guild,
                       const char *manage_url, subscriber_answer_cb cb, void *data)
{
    char text[1500];

    if (json)
        return send_message(m, url, 1, json_pack("{s:s, s:s, s:s}", "kind", "subscribed", "scope", scope_words, "manage_url",
                                         manage_url), NULL, cb, data);
    snprintf(text, sizeof(text),
             "This channel will be told of incidents and planned maintenance for %s%s.\n\n"
             "[See, change or remove this subscription](%s)",
             scope_words, guild ? ", and when the shard that serves the server goes down and comes back" : "",
             manage_url);
    return send_message(m, url, 0,
                json_pack("{s:[{s:s, s:s, s:s, s:i}], s:{s:[]}}", "embeds", "title", "Subscribed to status updates",
                          "description", text, "url", manage_url, "color", 0x36a852, "allowed_mentions", "parse"),
                NULL, cb, data);
}

/* How many bytes of `s` to keep within `max`, not cutting a UTF-8 character in two (a cut one is not JSON). */
static int utf8_within(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return (int)n;
    n = max;
    while (n != 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        --n; /* s[n] continues a character: step back to its first byte */
    return (int)n;
}

/* The page's colours: by an incident's impact, maintenance blue, anything over green. */
static unsigned notice_colour(const struct subscriber_notice *n)
{
    if (strcmp(n->event, "resolved") == 0)
        return 0x36a852;
    if (strcmp(n->kind, "maintenance") == 0)
        return 0x2666d4;
    if (strcmp(n->impact, "critical") == 0)
        return 0xd0262e;
    if (strcmp(n->impact, "major") == 0)
        return 0xef8a2a;
    return 0xf2c12e;
}

int subscriber_notify(struct subscriber_messages *m, const char *url, int json, const struct subscriber_notice *n,
                      const char *manage_url, subscriber_answer_cb cb, void *data)
{
    int maintenance = strcmp(n->kind, "maintenance") == 0, over = strcmp(n->event, "resolved") == 0;
    int reminder = strcmp(n->event, "reminder") == 0;
    const char *head = maintenance ? (over ? "Maintenance over" : reminder ? "Maintenance soon"
                                      : strcmp(n->event, "opened") == 0 ? "Planned maintenance" : "Maintenance update")
                                   : (over ? "Resolved" : strcmp(n->event, "opened") == 0 ? "Incident" : "Incident update");
    char title[300], when[160] = "", text[4096];

    if (json)
        return send_message(m, url, 1,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "kind", n->kind, "event", n->event,
                              "title", n->title, "status", n->status, "text", n->text, "impact", n->impact, "clusters",
                              n->clusters, "starts_ms", (json_int_t)n->starts_ms, "ends_ms", (json_int_t)n->ends_ms,
                              "manage_url", manage_url),
                    NULL, cb, data);
    snprintf(title, sizeof(title), "%s: %.*s", head, utf8_within(n->title, 200), n->title);
    if (maintenance && n->starts_ms > 0 && !over)
        snprintf(when, sizeof(when), "\n%s <t:%lld:f> to <t:%lld:f> (<t:%lld:R>).", reminder ? "It starts" : "From",
                 (long long)(n->starts_ms / 1000), (long long)(n->ends_ms / 1000), (long long)(n->starts_ms / 1000));
    /* Discord timestamps: every reader sees their own time zone */
    /* within Discord's 4096 for a description, the link always whole: the text and the clusters give way */
    snprintf(text, sizeof(text), "**%s**: %.*s%s\nClusters: %.*s\n\n[See, change or remove this subscription](%s)",
             n->status, utf8_within(n->text, 3000), n->text, when, utf8_within(n->clusters, 200), n->clusters, manage_url);
    return send_message(m, url, 0,
                json_pack("{s:[{s:s, s:s, s:i}], s:{s:[]}}", "embeds", "title", title, "description", text, "color",
                          (int)notice_colour(n), "allowed_mentions", "parse"),
                NULL, cb, data);
}

int subscriber_shard(struct subscriber_messages *m, const char *url, int json, const struct subscriber_shard_notice *n,
                     const char *message_id, const char *manage_url, subscriber_answer_cb cb, void *data)
{
    long long first = (long long)(n->first_ms / 1000), at = (long long)(n->at_ms / 1000);
    char who[200], text[1200];
    const char *title;
    unsigned colour;

    if (json)
        return send_message(m, url, 1,
                            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s}", "kind", "shard", "event",
                                      n->back ? "back" : "down", "cluster", n->cluster, "shard", (json_int_t)n->shard,
                                      "episode_ms", (json_int_t)n->first_ms, "since_ms", (json_int_t)n->at_ms, "falls",
                                      (json_int_t)n->falls, "manage_url", manage_url),
                            NULL, cb, data);
    /* Discord timestamps: every reader sees their own time zone */
    snprintf(who, sizeof(who), "The shard serving your server (shard %u of %.100s)", n->shard, n->cluster);
    if (n->back && n->falls > 1) {
        title = "Your server's shard is back";
        snprintf(text, sizeof(text), "%s is back since <t:%lld:t>, after going down %u times since <t:%lld:t>.", who, at,
                 n->falls, first);
        colour = 0x36a852;
    } else if (n->back) {
        title = "Your server's shard is back";
        snprintf(text, sizeof(text), "%s is back since <t:%lld:t>, after being down from <t:%lld:t>.", who, at, first);
        colour = 0x36a852;
    } else if (n->falls > 1) {
        title = "Your server's shard is flapping";
        snprintf(text, sizeof(text), "%s keeps going down: %u times since <t:%lld:t>, down again since <t:%lld:t> (<t:%lld:R>).",
                 who, n->falls, first, at, at);
        colour = 0xef8a2a;
    } else {
        title = "Your server's shard is down";
        snprintf(text, sizeof(text), "%s is down since <t:%lld:t> (<t:%lld:R>). The bot may not answer there until it is back.",
                 who, at, at);
        colour = 0xd0262e;
    }
    {
        size_t used = strlen(text);
        snprintf(text + used, sizeof(text) - used, "\n\n[See, change or remove this subscription](%s)", manage_url);
    }
    return send_message(m, url, 0,
                        json_pack("{s:[{s:s, s:s, s:i}], s:{s:[]}}", "embeds", "title", title, "description", text,
                                  "color", (int)colour, "allowed_mentions", "parse"),
                        message_id, cb, data);
}
