/* subscription_routes.c -- /api/subscriptions: a visitor subscribes a Discord webhook (checked against the limits,
 * proven by a confirmation message it must take, then written), and sees, changes or removes it with the token of
 * its management link. The token is shown once, in the answer that made it, and in the messages to that webhook;
 * it is never logged. */
#include "http/subscription_routes.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "alerts/subscriber_messages.h"
#include "base/client_address.h"
#include "base/codec.h"
#include "base/log.h"
#include "base/shard.h"
#include "base/subscription_input.h"
#include "http/read_queue.h"
#include "http/respond.h"
#include "render/subscription_page.h"

/* A subscription being made: checked, confirmed, written. */
struct making {
    struct pending *pending;
    int html; /* asked by a form (POST /subscribe): answered with a page */
    struct subscription_input in;
    char secret[SUBSCRIPTION_SECRET_HEX + 1];
    char base[256];
    char words[600];
    char manage[512];
    char address[64]; /* the client's, as the per-address limits key it */
    uint64_t id;
};

/* A read, change or removal of one subscription: its token, and for a change the new scope. */
struct managing {
    struct pending *pending;
    int html; /* the management page (/subscription/<token>): answered with a page */
    const char *mode;
    char id[24];
    char secret[SUBSCRIPTION_SECRET_HEX + 1];
    char *scope_json; /* a change's {scope, clusters, guild, shards}; NULL otherwise */
    h2o_linklist_t link;
};

static void ignore(void *data, const struct redisReply *reply, const char *err)
{
    (void)data, (void)reply, (void)err;
}

static int subscriptions_on(struct app *app, h2o_req_t *req)
{
    if (app->conf->subscriptions_max != 0)
        return 1;
    respond_error(req, 404, "Not Found", "subscriptions are off on this dashboard (GLANCE_SUBSCRIPTIONS_MAX=0)");
    return 0;
}

/* The request's peer as a client_address. */
static void peer_of(h2o_req_t *req, struct client_address *out)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);

    client_address_from_sockaddr((struct sockaddr *)&ss, len, out);
}

/* The client behind trusted proxies: every X-Forwarded-For line, in order, joined (a proxy may add a line rather than
 * append to the last); past the buffer only the end of the last line, the hops nearest to us, is kept. */
static void client_of(struct app *app, h2o_req_t *req, struct client_address *client, struct client_address *peer)
{
    char xff[2048];
    size_t len = 0, total = 0;
    ssize_t i = -1, last = -1;

    peer_of(req, peer);
    while ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-forwarded-for"), i)) != -1) {
        total += req->headers.entries[i].value.len + 1;
        last = i;
    }
    if (last == -1) {
        client_address_of(app->conf, peer, NULL, 0, client);
        return;
    }
    if (total <= sizeof(xff)) {
        while ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-forwarded-for"), i)) != -1) {
            h2o_iovec_t v = req->headers.entries[i].value;
            if (len != 0)
                xff[len++] = ',';
            memcpy(xff + len, v.base, v.len);
            len += v.len;
        }
    } else {
        h2o_iovec_t v = req->headers.entries[last].value;
        len = v.len < sizeof(xff) ? v.len : sizeof(xff);
        memcpy(xff, v.base + v.len - len, len);
    }
    client_address_of(app->conf, peer, xff, len, client);
}

/* Where the management link points: GLANCE_PUBLIC_URL, or the site this request came to. Returns -1 when neither is
 * known (a Host header that is not a host). */
static int link_base(struct app *app, h2o_req_t *req, const struct client_address *peer, char *out, size_t outlen)
{
    const char *scheme = req->scheme == &H2O_URL_SCHEME_HTTPS ? "https" : "http";
    h2o_iovec_t host = req->authority;
    ssize_t i;

    if (app->conf->public_url[0] != '\0') {
        snprintf(out, outlen, "%s", app->conf->public_url);
        return 0;
    }
    if (client_address_trusted(app->conf, peer) &&
        (i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-forwarded-proto"), -1)) != -1 &&
        h2o_lcstris(req->headers.entries[i].value.base, req->headers.entries[i].value.len, H2O_STRLIT("https")))
        scheme = "https";
    if (host.len == 0 || host.len > 200)
        return -1;
    for (size_t k = 0; k != host.len; ++k) {
        char c = host.base[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']'))
            return -1;
    }
    snprintf(out, outlen, "%s://%.*s", scheme, (int)host.len, host.base);
    return 0;
}

/* The scope as the API shows it: "all", {"clusters": [...]} or {"guild": "...", "shards": {cluster: shard}}. */
static json_t *scope_json(const struct conf *conf, const struct subscription_input *in)
{
    json_t *o, *list;
    char guild[24];

    if (in->scope == SCOPE_ALL)
        return json_string("all");
    o = json_object();
    if (in->scope == SCOPE_CLUSTERS) {
        list = json_array();
        for (size_t c = 0; c != conf->num_clusters; ++c)
            if (in->clusters[c])
                json_array_append_new(list, json_string(conf->clusters[c].name));
        json_object_set_new(o, "clusters", list);
        return o;
    }
    snprintf(guild, sizeof(guild), "%llu", (unsigned long long)in->guild);
    json_object_set_new(o, "guild", json_string(guild));
    list = json_object();
    for (size_t c = 0; c != conf->num_clusters; ++c)
        json_object_set_new(list, conf->clusters[c].name, json_integer(guild_shard(in->guild, conf->clusters[c].shards)));
    json_object_set_new(o, "shards", list);
    return o;
}

/* What subscription.lua keeps of a scope, and indexes by: {scope, clusters, guild, shards}, merged into `rec`. */
static void put_scope_fields(const struct conf *conf, const struct subscription_input *in, json_t *rec)
{
    static const char *const names[] = {"", "all", "clusters", "guild"};
    json_t *shown = scope_json(conf, in);

    json_object_set_new(rec, "scope", json_string(names[in->scope]));
    if (json_is_object(shown))
        json_object_update(rec, shown);
    json_decref(shown);
}

static void send_json(h2o_req_t *req, int status, const char *reason, json_t *doc)
{
    char *body = json_dumps(doc, JSON_COMPACT);

    json_decref(doc);
    if (body == NULL) {
        respond_error(req, 500, "Internal Server Error", "the answer could not be encoded");
        return;
    }
    respond_send(req, status, reason, "application/json", body, strlen(body));
    free(body);
}

/* The view of a subscription (never its webhook's URL or its token, but for the answer that made it). */
static json_t *view(const struct conf *conf, uint64_t id, const struct subscription_input *in, int64_t created_ms,
                    const char *manage)
{
    char words[600];

    subscription_scope_words(conf, in, words, sizeof(words));
    return json_pack("{s:I, s:s, s:o, s:s, s:I, s:s}", "id", (json_int_t)id, "webhook", in->shown, "scope",
                     scope_json(conf, in), "scope_words", words, "created_ms", (json_int_t)created_ms, "manage_url",
                     manage);
}


/* How a request about a subscription ends, whichever way it was asked: the API answers JSON, the pages HTML. */
struct outcome {
    int status;
    const char *reason;
    const char *title;   /* the page's */
    const char *message; /* why it failed, or what was done; NULL: nothing to say */
    const char *field;   /* the member an error is about (JSON only) */
    long long retry_after;
    const struct subscription_input *in; /* the subscription, when one is shown */
    uint64_t id;
    int64_t created_ms;
    const char *manage_url;
    const char *token; /* only in the answer that made it */
    const char *path;  /* /subscription/<token>, where a page's forms post */
};

static void answer(struct app *app, h2o_req_t *req, int html, const struct outcome *o)
{
    int failed = o->status >= 400;

    if (o->retry_after > 0) {
        char *value = h2o_mem_alloc_pool(&req->pool, 24);
        int n = snprintf(value, 24, "%lld", o->retry_after);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, value, (size_t)n);
    }
    if (html) {
        struct subscription_page page = {o->title, o->message, failed, failed ? NULL : o->in, o->in == NULL && !failed,
                                         o->token != NULL ? o->manage_url : NULL, o->path};
        h2o_buffer_t *buf;
        h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
        subscription_page_render(app->conf, &page, &buf);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                              H2O_STRLIT("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"));
        respond_send(req, o->status, o->reason, "text/html; charset=utf-8", buf->bytes, buf->size);
        h2o_buffer_dispose(&buf);
    } else if (failed) {
        json_t *doc = json_pack("{s:s}", "error", o->message);
        if (o->field != NULL && o->field[0] != '\0')
            json_object_set_new(doc, "field", json_string(o->field));
        send_json(req, o->status, o->reason, doc);
    } else if (o->in != NULL) {
        json_t *doc = view(app->conf, o->id, o->in, o->created_ms, o->manage_url);
        if (o->token != NULL)
            json_object_set_new(doc, "token", json_string(o->token));
        send_json(req, o->status, o->reason, doc);
    } else {
        respond_send(req, 204, "No Content", "application/json", "", 0);
    }
}

static void fail(struct app *app, h2o_req_t *req, int html, int status, const char *reason, const char *title,
                 const char *message, const char *field, long long retry_after)
{
    struct outcome o = {status, reason, title, message, field, retry_after};

    answer(app, req, html, &o);
}

#define NOT_SUBSCRIBED "Not subscribed"
#define FULL "this dashboard keeps no more subscriptions (GLANCE_SUBSCRIPTIONS_MAX)"
#define HOOK_FULL "this webhook has as many subscriptions as one may have (3): change one at its link"

/* ------------------------------------------------------------------------------------------- making one */

static void on_added(void *data, const struct redisReply *reply, const char *err)
{
    struct making *m = data;
    struct app *app = m->pending->app;
    h2o_req_t *req = pending_finish(m->pending);
    char token[64], path[80];

    if (err != NULL || reply->type != REDIS_REPLY_INTEGER)
        log_warn("subscriptions: subscription %llu, confirmed to %s, was not saved: %s", (unsigned long long)m->id,
                 m->in.shown, err != NULL ? err : "a reply not understood");
    if (req == NULL) {
        free(m);
        return;
    }
    if (err != NULL || reply->type != REDIS_REPLY_INTEGER) {
        fail(app, req, m->html, 503, "Service Unavailable", NOT_SUBSCRIBED,
             "the confirmation was sent, but Redis did not save the subscription; subscribe again", NULL, 1);
    } else if (reply->integer == -2) {
        fail(app, req, m->html, 503, "Service Unavailable", NOT_SUBSCRIBED, FULL, NULL, 0);
    } else if (reply->integer == -3) {
        fail(app, req, m->html, 409, "Conflict", NOT_SUBSCRIBED, HOOK_FULL, NULL, 0);
    } else {
        snprintf(token, sizeof(token), "%llu-%s", (unsigned long long)m->id, m->secret);
        snprintf(path, sizeof(path), "/subscription/%s", token);
        struct outcome o = {201, "Created", "Subscribed", "Subscribed: the channel was sent a confirmation.", NULL, 0,
                            &m->in, m->id, log_wall_ms(), m->manage, token, path};
        answer(app, req, m->html, &o);
    }
    free(m);
}

static void on_confirmed(void *data, const struct subscriber_answer *a)
{
    struct making *m = data;
    struct app *app = m->pending->app;
    char id[24], most[16], per_hook[8], message[400], *record;
    h2o_req_t *req;
    json_t *rec;

    if (a->status == SUBSCRIBER_DROPPED) {
        /* the replica stops: nothing kept; the webhook's lock in Redis runs out by itself */
        pending_finish(m->pending);
        free(m);
        return;
    }
    if (a->status >= 200 && a->status < 300) {
        /* saved even when the visitor has gone: the channel has the link */
        rec = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:b}", "id", (json_int_t)m->id, "url", m->in.url, "hook",
                        m->in.hook, "shown", m->in.shown, "secret", m->secret, "created_ms", (json_int_t)log_wall_ms(),
                        "base", m->base, "json", m->in.json);
        put_scope_fields(app->conf, &m->in, rec);
        record = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        snprintf(id, sizeof(id), "%llu", (unsigned long long)m->id);
        snprintf(most, sizeof(most), "%u", app->conf->subscriptions_max);
        snprintf(per_hook, sizeof(per_hook), "%d", SUBSCRIPTIONS_PER_WEBHOOK);
        const char *args[] = {id, record != NULL ? record : "{}", most, per_hook};
        int sent = record != NULL && store_subscription(app->store, "add", m->address, m->in.hook, args, 4, on_added, m) == 0;
        free(record);
        if (sent)
            return;
        if ((req = pending_finish(m->pending)) != NULL)
            fail(app, req, m->html, 503, "Service Unavailable", NOT_SUBSCRIBED,
                 "the confirmation was sent, but Redis did not save the subscription; subscribe again", NULL, 1);
        free(m);
        return;
    }
    /* what Discord's edge counts against an address (401, 403, 429) and what a deleted webhook answers (404): counted
     * for the bounds, per address and across replicas; either way the webhook's lock is let go */
    if (a->status == 401 || a->status == 403 || a->status == 404 || a->status == 429)
        store_subscription(app->store, "refused", m->address, m->in.hook, NULL, 0, ignore, NULL);
    else
        store_subscription(app->store, "release", m->address, m->in.hook, NULL, 0, ignore, NULL);
    if ((req = pending_finish(m->pending)) != NULL) {
        if (a->status == 401 || a->status == 403 || a->status == 404) {
            snprintf(message, sizeof(message), "the webhook answered %ld to the confirmation: it was deleted, or its "
                     "URL is not whole; copy it again (nothing was saved)", a->status);
            fail(app, req, m->html, 400, "Bad Request", NOT_SUBSCRIBED, message, "webhook_url", 0);
        } else if (a->status == 429) {
            fail(app, req, m->html, 503, "Service Unavailable", NOT_SUBSCRIBED,
                 "Discord asks to wait before this webhook is sent more; try again shortly (nothing was saved)", NULL,
                 a->retry_after_s < 1 ? 1 : (long long)(a->retry_after_s + 0.999));
        } else {
            if (a->status == 0)
                snprintf(message, sizeof(message), "the webhook did not answer the confirmation (%.200s); nothing was "
                         "saved, try again", a->error != NULL ? a->error : "no answer");
            else
                snprintf(message, sizeof(message), "the webhook answered %ld to the confirmation; nothing was saved, "
                         "try again", a->status);
            fail(app, req, m->html, 502, "Bad Gateway", NOT_SUBSCRIBED, message, NULL, 0);
        }
    }
    free(m);
}

static void on_checked(void *data, const struct redisReply *reply, const char *err)
{
    struct making *m = data;
    struct app *app = m->pending->app;
    long long code = 1;
    h2o_req_t *req;

    if (err == NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER) {
        code = reply->element[0]->integer;
        if (code == 0 && reply->elements == 2 && reply->element[1]->type == REDIS_REPLY_INTEGER) {
            m->id = (uint64_t)reply->element[1]->integer;
            snprintf(m->manage, sizeof(m->manage), "%s/subscription/%llu-%s", m->base, (unsigned long long)m->id,
                     m->secret);
            subscription_scope_words(app->conf, &m->in, m->words, sizeof(m->words));
            if (subscriber_confirm(app->subscriber_messages, m->in.url, m->in.json, m->words, m->in.scope == SCOPE_GUILD,
                                   m->manage, on_confirmed, m) == 0)
                return;
            store_subscription(app->store, "release", m->address, m->in.hook, NULL, 0, ignore, NULL);
            err = "the confirmation could not be sent";
        }
    }
    if ((req = pending_finish(m->pending)) != NULL) {
        if (err != NULL || code > 0)
            fail(app, req, m->html, 503, "Service Unavailable", NOT_SUBSCRIBED,
                 err != NULL ? err : "redis answered something not understood; retry", NULL, 1);
        else if (code == -1)
            fail(app, req, m->html, 429, "Too Many Requests", NOT_SUBSCRIBED,
                 "too many subscriptions were asked for from this address in the last hour; try again later", NULL,
                 reply->elements == 2 && reply->element[1]->type == REDIS_REPLY_INTEGER ? reply->element[1]->integer : 3600);
        else if (code == -2)
            fail(app, req, m->html, 503, "Service Unavailable", NOT_SUBSCRIBED, FULL, NULL, 0);
        else if (code == -3)
            fail(app, req, m->html, 409, "Conflict", NOT_SUBSCRIBED, HOOK_FULL, NULL, 0);
        else if (code == -5)
            fail(app, req, m->html, 503, "Service Unavailable", NOT_SUBSCRIBED, "as many confirmations as this dashboard "
                 "sends in a minute are on their way; try again shortly", NULL,
                 reply->elements == 2 && reply->element[1]->type == REDIS_REPLY_INTEGER ? reply->element[1]->integer : 60);
        else if (code == -6)
            fail(app, req, m->html, 409, "Conflict", NOT_SUBSCRIBED, "a confirmation to this webhook is on its way; "
                 "try again in a few seconds", NULL, 0);
        else
            fail(app, req, m->html, 503, "Service Unavailable", NOT_SUBSCRIBED, "too many webhooks refused their "
                 "confirmation in the last 10 minutes, so none is sent for now; try again later", NULL, 600);
    }
    free(m);
}

/* Starts making `m` (its input read): the checks, then the confirmation, then the record. */
static void make(struct app *app, h2o_req_t *req, struct making *m)
{
    struct client_address client, peer;
    unsigned char raw[SUBSCRIPTION_SECRET_HEX / 2];
    char per_hour[16], most[16], per_hook[8], refused[16], lock_ms[16], confirms[16], refused_each[8];

    client_of(app, req, &client, &peer);
    if (link_base(app, req, &peer, m->base, sizeof(m->base)) != 0) {
        fail(app, req, m->html, 400, "Bad Request", NOT_SUBSCRIBED,
             "the Host header names no site to link back to (the operator can set GLANCE_PUBLIC_URL)", NULL, 0);
        free(m);
        return;
    }
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        fail(app, req, m->html, 503, "Service Unavailable", NOT_SUBSCRIBED,
             "no random bytes for the management link's secret; retry", NULL, 1);
        free(m);
        return;
    }
    for (size_t i = 0; i != sizeof(raw); ++i)
        snprintf(m->secret + 2 * i, 3, "%02x", raw[i]);
    client_address_key(&client, m->address, sizeof(m->address));
    snprintf(per_hour, sizeof(per_hour), "%u", app->conf->subscribe_per_hour);
    snprintf(most, sizeof(most), "%u", app->conf->subscriptions_max);
    snprintf(per_hook, sizeof(per_hook), "%d", SUBSCRIPTIONS_PER_WEBHOOK);
    snprintf(refused, sizeof(refused), "%d", SUBSCRIPTION_REFUSED_MAX);
    /* the webhook's lock outlives its confirmation's longest try, and goes by itself if this replica dies */
    snprintf(lock_ms, sizeof(lock_ms), "%u", app->conf->alert_timeout_ms + 5000);
    snprintf(confirms, sizeof(confirms), "%d", SUBSCRIPTION_CONFIRMS_PER_MINUTE);
    snprintf(refused_each, sizeof(refused_each), "%d", SUBSCRIPTION_REFUSED_PER_ADDRESS);
    const char *args[] = {m->in.hook, per_hour, most, per_hook, refused, lock_ms, confirms, refused_each};
    m->pending = pending_new(app, req, 0, 0);
    if (store_subscription(app->store, "check", m->address, m->in.hook, args, 8, on_checked, m) != 0) {
        pending_unsent(m->pending);
        free(m);
    }
}

void subscription_routes_new(struct app *app, h2o_req_t *req)
{
    char err[400];
    const char *field;
    struct making *m;

    if (!subscriptions_on(app, req))
        return;
    if (!respond_has_type(req, "application/json")) {
        respond_error(req, 415, "Unsupported Media Type", "send the subscription as application/json");
        return;
    }
    m = h2o_mem_alloc(sizeof(*m));
    memset(m, 0, sizeof(*m));
    if (subscription_from_json(app->conf, req->entity.base, req->entity.len, 1, respond_is_operator(app, req), &m->in,
                               err, sizeof(err), &field) != 0) {
        fail(app, req, 0, 400, "Bad Request", NULL, err, field, 0);
        free(m);
        return;
    }
    make(app, req, m);
}

/* Whether a form post comes from a page of this site: a browser says where it comes from (Sec-Fetch-Site, Origin),
 * and a form on another site must not spend a visitor's attempts or act on a subscription. A client that says
 * nothing (curl, an old browser) is let through: the limits still hold it. */
static int same_site(struct app *app, h2o_req_t *req)
{
    ssize_t i;

    if ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-fetch-site"), -1)) != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (!h2o_memis(v.base, v.len, H2O_STRLIT("same-origin")) && !h2o_memis(v.base, v.len, H2O_STRLIT("none")))
            return 0;
    }
    if ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1)) != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        const char *host = v.len > 3 && memmem(v.base, v.len, "://", 3) != NULL ? (const char *)memmem(v.base, v.len, "://", 3) + 3 : NULL;
        size_t host_len = host != NULL ? (size_t)(v.base + v.len - host) : 0;
        const char *pub = strstr(app->conf->public_url, "://");
        if (host == NULL)
            return 0;
        if (h2o_memis(host, host_len, req->authority.base, req->authority.len))
            return 1;
        /* behind a proxy that rewrites Host: the configured site */
        return pub != NULL && strncmp(pub + 3, host, host_len) == 0 && (pub[3 + host_len] == '\0' || pub[3 + host_len] == '/');
    }
    return 1;
}

#define CROSS_SITE "a form on another site cannot make or change a subscription here: use this site's own page"

void subscription_routes_new_form(struct app *app, h2o_req_t *req)
{
    char err[400], action[16];
    const char *field;
    struct making *m;

    if (!subscriptions_on(app, req))
        return;
    if (!same_site(app, req)) {
        fail(app, req, 1, 403, "Forbidden", NOT_SUBSCRIBED, CROSS_SITE, NULL, 0);
        return;
    }
    m = h2o_mem_alloc(sizeof(*m));
    memset(m, 0, sizeof(*m));
    m->html = 1;
    if (!respond_has_type(req, "application/x-www-form-urlencoded")) {
        fail(app, req, 1, 415, "Unsupported Media Type", NOT_SUBSCRIBED, "send the form as a browser does", NULL, 0);
        free(m);
        return;
    }
    if (subscription_from_form(app->conf, req->entity.base, req->entity.len, 1, &m->in, action, sizeof(action), err,
                               sizeof(err), &field) != 0) {
        fail(app, req, 1, 400, "Bad Request", NOT_SUBSCRIBED, err, field, 0);
        free(m);
        return;
    }
    make(app, req, m);
}

/* ---------------------------------------------------------------------------------------- managing one */

/* A subscription record (subscription.lua) as the input it was made from, for its view. */
static int record_input(const struct conf *conf, json_t *rec, struct subscription_input *in, uint64_t *id,
                        int64_t *created_ms, const char **base)
{
    const char *scope = json_string_value(json_object_get(rec, "scope"));
    const char *guild = json_string_value(json_object_get(rec, "guild"));
    json_t *clusters = json_object_get(rec, "clusters"), *v;
    size_t i;

    memset(in, 0, sizeof(*in));
    *id = (uint64_t)json_integer_value(json_object_get(rec, "id"));
    *created_ms = (int64_t)json_number_value(json_object_get(rec, "created_ms"));
    *base = json_string_value(json_object_get(rec, "base"));
    snprintf(in->shown, sizeof(in->shown), "%s", json_string_value(json_object_get(rec, "shown")) ?: "");
    if (scope == NULL || *base == NULL)
        return -1;
    if (strcmp(scope, "all") == 0) {
        in->scope = SCOPE_ALL;
    } else if (strcmp(scope, "guild") == 0 && guild != NULL) {
        in->scope = SCOPE_GUILD;
        in->guild = strtoull(guild, NULL, 10);
    } else if (strcmp(scope, "clusters") == 0 && json_is_array(clusters)) {
        in->scope = SCOPE_CLUSTERS;
        json_array_foreach (clusters, i, v)
            for (size_t c = 0; c != conf->num_clusters; ++c)
                if (json_is_string(v) && strcmp(conf->clusters[c].name, json_string_value(v)) == 0)
                    in->clusters[c] = 1;
    } else {
        return -1;
    }
    return 0;
}

static void managing_free(struct managing *g)
{
    free(g->scope_json);
    free(g);
}

/* A read the queue dropped before it started (the line full, the client gone, shutdown). */
static void drop_managing(void *data)
{
    managing_free(data);
}

#define NO_SUCH "no such subscription (removed already, or the link is not whole)"

static void on_managed(void *data, const struct redisReply *reply, const char *err)
{
    struct managing *g = data;
    struct app *app = g->pending->app;
    h2o_req_t *req = pending_finish(g->pending);
    struct subscription_input in;
    const char *base;
    char manage[512], path[80];
    int64_t created_ms;
    uint64_t id;
    json_t *rec = NULL;

    read_queue_done(app->subscription_reads);
    if (req == NULL) {
        managing_free(g);
        return;
    }
    snprintf(path, sizeof(path), "/subscription/%s-%s", g->id, g->secret);
    if (err != NULL) {
        fail(app, req, g->html, 503, "Service Unavailable", "Your subscription", "redis is unavailable; retry", NULL, 1);
    } else if (strcmp(g->mode, "remove") == 0) {
        if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
            struct outcome o = {g->html ? 200 : 204, g->html ? "OK" : "No Content", "Subscription removed",
                                "Removed: nothing more will be sent to that channel."};
            answer(app, req, g->html, &o);
        } else {
            fail(app, req, g->html, 404, "Not Found", "No such subscription", NO_SUCH, NULL, 0);
        }
    } else if (reply->type != REDIS_REPLY_STRING) {
        fail(app, req, g->html, 404, "Not Found", "No such subscription", NO_SUCH, NULL, 0);
    } else if ((rec = json_loadb(reply->str, reply->len, 0, NULL)) == NULL ||
               record_input(app->conf, rec, &in, &id, &created_ms, &base) != 0) {
        fail(app, req, g->html, 500, "Internal Server Error", "Your subscription",
             "the subscription's record is not one this replica reads", NULL, 0);
    } else {
        snprintf(manage, sizeof(manage), "%s%s", base, path);
        struct outcome o = {200, "OK", "Your subscription", strcmp(g->mode, "change") == 0 ? "Saved." : NULL, NULL, 0,
                            &in, id, created_ms, manage, NULL, path};
        answer(app, req, g->html, &o);
    }
    json_decref(rec);
    managing_free(g);
}

static void start_managing(struct app *app, struct pending *p)
{
    struct managing *g = p->data;
    const char *args[] = {g->id, g->secret, g->scope_json};

    if (store_subscription(app->store, g->mode, NULL, NULL, args, g->scope_json != NULL ? 3 : 2, on_managed, g) != 0) {
        pending_unsent(p);
        read_queue_done(app->subscription_reads);
        managing_free(g);
    }
}

/* A change's new scope, from JSON or a form; 0, or -1 with the answer sent. */
static int read_change(struct app *app, h2o_req_t *req, struct managing *g, const char *action)
{
    struct subscription_input in;
    char err[400];
    const char *field;
    json_t *fields;
    int rc;

    if (g->html)
        rc = subscription_from_form(app->conf, req->entity.base, req->entity.len, 0, &in, NULL, 0, err, sizeof(err),
                                    &field);
    else
        rc = subscription_from_json(app->conf, req->entity.base, req->entity.len, 0, 0, &in, err, sizeof(err), &field);
    (void)action;
    if (rc != 0) {
        fail(app, req, g->html, 400, "Bad Request", "Your subscription", err, field, 0);
        return -1;
    }
    fields = json_object();
    put_scope_fields(app->conf, &in, fields);
    g->scope_json = json_dumps(fields, JSON_COMPACT);
    json_decref(fields);
    return 0;
}

static void manage(struct app *app, h2o_req_t *req, h2o_iovec_t token, int html)
{
    struct managing *g;
    uint64_t id;
    char action[16] = "";

    if (!subscriptions_on(app, req))
        return;
    g = h2o_mem_alloc(sizeof(*g));
    memset(g, 0, sizeof(*g));
    g->html = html;
    if (subscription_token(token.base, token.len, &id, g->secret) != 0) {
        free(g);
        fail(app, req, html, 404, "Not Found", "No such subscription", "no such subscription (the link is not whole)",
             NULL, 0);
        return;
    }
    snprintf(g->id, sizeof(g->id), "%llu", (unsigned long long)id);
    if (respond_is_get(req)) {
        g->mode = "get";
    } else if (!html && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE"))) {
        g->mode = "remove";
    } else if (html) {
        /* the page's two forms: action=remove, or action=change with the new scope */
        struct subscription_input ignored;
        char err[400];
        const char *field;
        if (!same_site(app, req)) {
            free(g);
            fail(app, req, 1, 403, "Forbidden", "Your subscription", CROSS_SITE, NULL, 0);
            return;
        }
        if (!respond_has_type(req, "application/x-www-form-urlencoded")) {
            free(g);
            fail(app, req, 1, 415, "Unsupported Media Type", "Your subscription", "send the form as a browser does", NULL, 0);
            return;
        }
        subscription_from_form(app->conf, req->entity.base, req->entity.len, 0, &ignored, action, sizeof(action), err,
                               sizeof(err), &field);
        if (strcmp(action, "remove") == 0) {
            g->mode = "remove";
        } else if (read_change(app, req, g, action) != 0) {
            managing_free(g);
            return;
        } else {
            g->mode = "change";
        }
    } else {
        if (!respond_has_type(req, "application/json")) {
            free(g);
            respond_error(req, 415, "Unsupported Media Type", "send the new scope as application/json");
            return;
        }
        if (read_change(app, req, g, NULL) != 0) {
            managing_free(g);
            return;
        }
        g->mode = "change";
    }
    g->pending = pending_new(app, req, 0, 0);
    g->pending->data = g;
    g->pending->drop = drop_managing;
    read_queue_run(app->subscription_reads, app, g->pending, start_managing);
}

void subscription_routes_manage(struct app *app, h2o_req_t *req, h2o_iovec_t token)
{
    manage(app, req, token, 0);
}

void subscription_routes_page(struct app *app, h2o_req_t *req, h2o_iovec_t token)
{
    manage(app, req, token, 1);
}
