/* subscription_input.c -- a subscription request read and checked whole; the webhook URL made into the only URL
 * Glance posts to, so that a subscription can make it send nothing but its own messages to the webhook given. */
#include "base/subscription_input.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "base/parse.h"
#include "base/shard.h"

#define JSON_URL_MAX 500
#define TOKEN_MAX 128 /* a Discord webhook token is 68 characters today */

static int is_token_char(int c)
{
    return isalnum(c) || c == '-' || c == '_';
}

/* Digits at `p` (at most `max` of them, at least one) as a number; returns how many, 0 when none or too many. */
static size_t digits(const char *p, size_t len, size_t max, uint64_t *out)
{
    size_t n = 0;

    while (n != len && isdigit((unsigned char)p[n]))
        ++n;
    if (n == 0 || n > max || parse_u64(p, n, out) != 0)
        return 0;
    return n;
}

static int json_webhook(const char *url, size_t len, struct subscription_input *in, char *err, size_t errlen)
{
    const char *target = url + 5, *host;
    size_t tlen = len - 5, i, hlen;
    uint64_t h = 1469598103934665603ull; /* FNV-1a: a webhook id for the per-webhook bound, not a secret */

    host = tlen > 8 && strncmp(target, "https://", 8) == 0 ? target + 8 :
           tlen > 7 && strncmp(target, "http://", 7) == 0 ? target + 7 : NULL;
    /* what RFC 3986 has no place for, raw, in a URL */
    for (i = 0; i != tlen; ++i)
        if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f || strchr("\"<>\\^`{|}", target[i]) != NULL)
            host = NULL;
    if (host == NULL || tlen > JSON_URL_MAX) {
        snprintf(err, errlen, "webhook_url: a json: URL is json:http(s)://... with no spaces or characters a URL cannot hold, up to %d bytes", JSON_URL_MAX);
        return -1;
    }
    for (hlen = 0; host + hlen != target + tlen && host[hlen] != '/' && host[hlen] != '?'; ++hlen)
        ;
    for (i = 0; i != tlen; ++i)
        h = (h ^ (unsigned char)target[i]) * 1099511628211ull;
    memcpy(in->url, target, tlen);
    in->url[tlen] = '\0';
    in->json = 1;
    snprintf(in->hook, sizeof(in->hook), "j%016llx", (unsigned long long)h);
    snprintf(in->shown, sizeof(in->shown), "JSON webhook at %.*s", (int)(hlen < 100 ? hlen : 100), host);
    return 0;
}

int subscription_webhook(const struct conf *conf, const char *url, size_t len, int operator,
                         struct subscription_input *in, char *err, size_t errlen)
{
    const char *p = NULL, *end, *origin = NULL, *token;
    uint64_t id, thread = 0;
    size_t n, tlen, i;

    while (len != 0 && isspace((unsigned char)url[len - 1]))
        --len;
    while (len != 0 && isspace((unsigned char)*url))
        ++url, --len;
    in->has_webhook = 1;
    if (len > 5 && memcmp(url, "json:", 5) == 0) {
        if (!operator) {
            snprintf(err, errlen, "webhook_url: a json: URL is for operators (send the passphrase); visitors give a "
                                  "Discord webhook URL");
            return -1;
        }
        return json_webhook(url, len, in, err, errlen);
    }
    for (i = 0; i != conf->num_subscribe_origins && p == NULL; ++i) {
        size_t olen = strlen(conf->subscribe_origins[i]);
        if (len > olen && url[olen] == '/' && strncasecmp(url, conf->subscribe_origins[i], olen) == 0)
            origin = conf->subscribe_origins[i], p = url + olen;
    }
    end = url + len;
    if (p == NULL)
        goto refused;
    /* /api/webhooks/<id>/<token>, or /api/v<n>/webhooks/... */
    if (end - p < 5 || memcmp(p, "/api/", 5) != 0)
        goto refused;
    p += 5;
    if (p != end && *p == 'v') {
        uint64_t version;
        if ((n = digits(p + 1, (size_t)(end - p - 1), 3, &version)) == 0 || p + 1 + n == end || p[1 + n] != '/')
            goto refused;
        p += 1 + n + 1;
    }
    if (end - p < 9 || memcmp(p, "webhooks/", 9) != 0)
        goto refused;
    p += 9;
    if ((n = digits(p, (size_t)(end - p), 20, &id)) == 0 || p + n == end || p[n] != '/')
        goto refused;
    p += n + 1;
    token = p;
    while (p != end && is_token_char((unsigned char)*p))
        ++p;
    tlen = (size_t)(p - token);
    if (tlen == 0 || tlen > TOKEN_MAX)
        goto refused;
    if (p != end && *p == '/')
        ++p; /* a trailing slash, as some copy it */
    if (p != end) {
        /* a message to a thread of a forum channel is the only thing a subscription may add to the URL */
        if (end - p < 11 || memcmp(p, "?thread_id=", 11) != 0 || (n = digits(p + 11, (size_t)(end - p - 11), 20, &thread)) == 0 ||
            p + 11 + n != end)
            goto refused;
    }
    if (thread != 0)
        snprintf(in->url, sizeof(in->url), "%s/api/v10/webhooks/%llu/%.*s?thread_id=%llu", origin,
                 (unsigned long long)id, (int)tlen, token, (unsigned long long)thread);
    else
        snprintf(in->url, sizeof(in->url), "%s/api/v10/webhooks/%llu/%.*s", origin, (unsigned long long)id, (int)tlen,
                 token);
    in->json = 0;
    snprintf(in->hook, sizeof(in->hook), "%llu", (unsigned long long)id);
    snprintf(in->shown, sizeof(in->shown), "%s webhook %llu", strstr(origin, "://") + 3, (unsigned long long)id);
    return 0;

refused:
    snprintf(err, errlen, "webhook_url: expected a Discord webhook URL, https://discord.com/api/webhooks/<id>/<token> "
                          "(a channel's Edit Channel > Integrations > Webhooks > Copy Webhook URL)");
    return -1;
}

static int read_scope(const struct conf *conf, json_t *scope, struct subscription_input *in, char *err, size_t errlen)
{
    json_t *clusters, *guild, *v;
    const char *key;
    size_t i;

    if (json_is_string(scope) && strcmp(json_string_value(scope), "all") == 0) {
        in->scope = SCOPE_ALL;
        return 0;
    }
    if (!json_is_object(scope) || json_object_size(scope) != 1) {
        snprintf(err, errlen, "scope: expected \"all\", {\"clusters\": [names]} or {\"guild\": \"<guild id or message "
                              "link>\"}");
        return -1;
    }
    clusters = json_object_get(scope, "clusters");
    guild = json_object_get(scope, "guild");
    if (clusters != NULL) {
        if (!json_is_array(clusters) || json_array_size(clusters) == 0) {
            snprintf(err, errlen, "scope.clusters: expected a list of one or more cluster names");
            return -1;
        }
        json_array_foreach (clusters, i, v) {
            size_t c;
            const char *name = json_is_string(v) ? json_string_value(v) : NULL;
            for (c = 0; name != NULL && c != conf->num_clusters; ++c)
                if (strcmp(conf->clusters[c].name, name) == 0)
                    break;
            if (name == NULL || c == conf->num_clusters) {
                snprintf(err, errlen, "scope.clusters[%zu]: %s%.64s%s", i, name ? "unknown cluster \"" : "expected a cluster name",
                         name ? name : "", name ? "\"" : "");
                return -1;
            }
            in->clusters[c] = 1;
        }
        in->scope = SCOPE_CLUSTERS;
        return 0;
    }
    if (guild != NULL) {
        const char *text = json_string_value(guild);
        int r;
        if (text == NULL) {
            snprintf(err, errlen, "scope.guild: expected a string (a guild id as a JSON number loses digits in "
                                  "JavaScript)");
            return -1;
        }
        r = parse_guild_input(text, strlen(text), &in->guild);
        if (r != 0 || in->guild == 0) {
            snprintf(err, errlen, r == 1 ? "scope.guild: a direct-message link has no server"
                                         : "scope.guild: expected a server (guild) id or a link to a message in it");
            return -1;
        }
        in->scope = SCOPE_GUILD;
        return 0;
    }
    json_object_foreach (scope, key, v)
        snprintf(err, errlen, "scope: unknown member \"%.32s\" (expected clusters or guild)", key);
    return -1;
}

/* The checks of subscription_from_json on a parsed document. */
static int from_object(const struct conf *conf, json_t *root, int need_webhook, int operator,
                       struct subscription_input *in, char *err, size_t errlen, const char **field)
{
    json_t *v;
    const char *key;

    memset(in, 0, sizeof(*in));
    *field = "";
    if (!json_is_object(root)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }
    json_object_foreach (root, key, v) {
        if (strcmp(key, "webhook_url") == 0 && need_webhook) {
            *field = "webhook_url";
            if (!json_is_string(v)) {
                snprintf(err, errlen, "webhook_url: expected a string");
                return -1;
            }
            if (subscription_webhook(conf, json_string_value(v), json_string_length(v), operator, in, err, errlen) != 0)
                return -1;
        } else if (strcmp(key, "scope") == 0) {
            *field = "scope";
            if (read_scope(conf, v, in, err, errlen) != 0)
                return -1;
        } else {
            *field = "";
            snprintf(err, errlen, strcmp(key, "webhook_url") == 0
                                      ? "webhook_url cannot be changed: remove this subscription and make a new one"
                                      : "unknown member \"%.32s\" (expected webhook_url and scope)",
                     key);
            return -1;
        }
    }
    if (need_webhook && !in->has_webhook) {
        *field = "webhook_url";
        snprintf(err, errlen, "webhook_url is missing: the Discord webhook to tell");
        return -1;
    }
    if (in->scope == SCOPE_NONE) {
        *field = "scope";
        snprintf(err, errlen, "scope is missing: \"all\", {\"clusters\": [names]} or {\"guild\": \"<guild id>\"}");
        return -1;
    }
    *field = "";
    return 0;
}

int subscription_from_json(const struct conf *conf, const char *body, size_t len, int need_webhook, int operator,
                           struct subscription_input *in, char *err, size_t errlen, const char **field)
{
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = from_object(conf, root, need_webhook, operator, in, err, errlen, field);

    json_decref(root);
    return rc;
}

int subscription_from_form(const struct conf *conf, const char *body, size_t len, int need_webhook,
                           struct subscription_input *in, char *action, size_t action_len, char *err, size_t errlen,
                           const char **field)
{
    const char *p = body, *end = body + len;
    json_t *root = json_object(), *clusters = json_array();
    char value[700], kind[16] = "";
    int rc = -1;

    if (action_len != 0)
        action[0] = '\0';
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        ssize_t n;
        if (eq != NULL && (size_t)(stop - eq - 1) < sizeof(value) && (n = parse_form_value(eq + 1, (size_t)(stop - eq - 1), value)) >= 0) {
            size_t klen = (size_t)(eq - p);
            value[n] = '\0';
            if (klen == 11 && memcmp(p, "webhook_url", 11) == 0 && need_webhook)
                json_object_set_new(root, "webhook_url", json_string(value));
            else if (klen == 5 && memcmp(p, "scope", 5) == 0 && (size_t)n < sizeof(kind))
                memcpy(kind, value, (size_t)n + 1);
            else if (klen == 7 && memcmp(p, "cluster", 7) == 0)
                json_array_append_new(clusters, json_string(value));
            else if (klen == 5 && memcmp(p, "guild", 5) == 0 && n != 0)
                json_object_set_new(root, "guild", json_string(value));
            else if (klen == 6 && memcmp(p, "action", 6) == 0 && action_len != 0)
                snprintf(action, action_len, "%s", value);
        }
        p = stop + 1;
    }
    /* a form's fields into the JSON the API takes: the scope kind chosen picks which of them counts */
    if (strcmp(kind, "all") == 0) {
        json_object_set_new(root, "scope", json_string("all"));
    } else if (strcmp(kind, "clusters") == 0) {
        json_object_set_new(root, "scope", json_pack("{s:O}", "clusters", clusters));
    } else if (strcmp(kind, "guild") == 0) {
        json_t *guild = json_object_get(root, "guild");
        if (guild == NULL) {
            *field = "scope";
            snprintf(err, errlen, "scope.guild: give the server's ID, or a link to a message in it");
            goto done;
        }
        json_object_set_new(root, "scope", json_pack("{s:O}", "guild", guild));
    }
    json_object_del(root, "guild");
    rc = from_object(conf, root, need_webhook, 0, in, err, errlen, field);
done:
    json_decref(clusters);
    json_decref(root);
    return rc;
}

void subscription_scope_words(const struct conf *conf, const struct subscription_input *in, char *out, size_t outlen)
{
    size_t c, used = 0, named = 0, total = 0;
    int n;

#define PUT(...)                                                                                                       \
    do {                                                                                                               \
        n = snprintf(out + used, outlen - used, __VA_ARGS__);                                                         \
        used = n < 0 || (size_t)n >= outlen - used ? outlen - 1 : used + (size_t)n;                                    \
    } while (0)
    out[0] = '\0';
    if (in->scope == SCOPE_ALL) {
        PUT("the whole bot");
        return;
    }
    if (in->scope == SCOPE_GUILD) {
        PUT("server %llu (", (unsigned long long)in->guild);
        for (c = 0; c != conf->num_clusters; ++c)
            PUT("%sshard %u of %s", c ? ", " : "", guild_shard(in->guild, conf->clusters[c].shards), conf->clusters[c].name);
        PUT(")");
        return;
    }
    for (c = 0; c != conf->num_clusters; ++c)
        total += in->clusters[c];
    PUT("cluster%s ", total > 1 ? "s" : "");
    for (c = 0; c != conf->num_clusters; ++c)
        if (in->clusters[c]) {
            ++named;
            PUT("%s%s", named == 1 ? "" : named == total ? " and " : ", ", conf->clusters[c].name);
        }
#undef PUT
}

int subscription_token(const char *token, size_t len, uint64_t *id, char secret[SUBSCRIPTION_SECRET_HEX + 1])
{
    size_t n = digits(token, len, 19, id), i;

    if (n == 0 || *id == 0 || len != n + 1 + SUBSCRIPTION_SECRET_HEX || token[n] != '-')
        return -1;
    for (i = 0; i != SUBSCRIPTION_SECRET_HEX; ++i) {
        char ch = token[n + 1 + i];
        if (!isdigit((unsigned char)ch) && !(ch >= 'a' && ch <= 'f'))
            return -1;
        secret[i] = ch;
    }
    secret[SUBSCRIPTION_SECRET_HEX] = '\0';
    return 0;
}
