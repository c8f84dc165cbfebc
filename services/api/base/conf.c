/* conf.c -- environment and .env file into a read-only struct conf; every error names the variable. */
#include "base/conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include "base/condition.h"
#include "base/parse.h"

/* Reads an unsigned decimal in [min, max]; an unset variable keeps *out. */
static int get_uint(conf_lookup_cb lookup, void *ctx, const char *name, uint32_t min, uint32_t max, uint32_t *out,
                    char *err, size_t errlen)
{
    const char *v = lookup(ctx, name);
    uint64_t n;

    if (v == NULL)
        return 0;
    if (parse_u64(v, strlen(v), &n) != 0 || n < min || n > max) {
        snprintf(err, errlen, "%s=\"%s\": expected a whole number from %u to %u", name, v, min, max);
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

static int get_string(conf_lookup_cb lookup, void *ctx, const char *name, char *dst, size_t dstlen, char *err,
                      size_t errlen)
{
    const char *v = lookup(ctx, name);

    if (v == NULL)
        return 0;
    if (strlen(v) >= dstlen) {
        snprintf(err, errlen, "%s: the value is longer than %zu bytes", name, dstlen - 1);
        return -1;
    }
    strcpy(dst, v);
    return 0;
}

/* GLANCE_ALERTMANAGER_LABEL: a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*); GLANCE_ALERTMANAGER_CLUSTER: a
 * configured cluster (parse_bots ran). */
static int load_alertmanager(struct conf *conf, conf_lookup_cb lookup, void *ctx, char *err, size_t errlen)
{
    const char *label = conf->alertmanager_label, *cluster = conf->alertmanager_cluster;
    size_t i;

    strcpy(conf->alertmanager_label, "glance_cluster");
    if (get_string(lookup, ctx, "GLANCE_ALERTMANAGER_LABEL", conf->alertmanager_label, sizeof(conf->alertmanager_label),
                   err, errlen) != 0 ||
        get_string(lookup, ctx, "GLANCE_ALERTMANAGER_CLUSTER", conf->alertmanager_cluster,
                   sizeof(conf->alertmanager_cluster), err, errlen) != 0)
        return -1;
    if (label[0] == '\0' || (label[0] >= '0' && label[0] <= '9') ||
        strspn(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(label)) {
        snprintf(err, errlen, "GLANCE_ALERTMANAGER_LABEL=\"%s\": expected a Prometheus label name, e.g. glance_cluster",
                 label);
        return -1;
    }
    if (cluster[0] == '\0')
        return 0;
    for (i = 0; i != conf->num_clusters; ++i)
        if (strcmp(conf->clusters[i].name, cluster) == 0)
            return 0;
    snprintf(err, errlen, "GLANCE_ALERTMANAGER_CLUSTER=\"%s\": expected one of the clusters of GLANCE_BOTS", cluster);
    return -1;
}

/* "main:360;demo:1" -> clusters, in order. */
static int parse_bots(struct conf *conf, const char *v, char *err, size_t errlen)
{
    const char *p = v;
    uint64_t total = 0;

    conf->num_clusters = 0;
    if (*v == '\0')
        goto Bad;
    while (*p != '\0') {
        const char *end = strchr(p, ';'), *colon;
        size_t len, i;
        uint64_t shards;
        struct conf_cluster *c;

        if (end == NULL)
            end = p + strlen(p);
        len = end - p;
        if (len == 0 && *end == '\0' && conf->num_clusters != 0)
            break; /* a trailing ';' */
        colon = memchr(p, ':', len);
        if (colon == NULL || !parse_cluster_name(p, colon - p) ||
            parse_u64(colon + 1, end - colon - 1, &shards) != 0 || shards == 0 || shards > CONF_MAX_SHARDS)
            goto Bad;
        if (conf->num_clusters == CONF_MAX_CLUSTERS) {
            snprintf(err, errlen, "GLANCE_BOTS: more than %d clusters", CONF_MAX_CLUSTERS);
            return -1;
        }
        for (i = 0; i != conf->num_clusters; ++i) {
            if (conf->clusters[i].name_len == (size_t)(colon - p) && memcmp(conf->clusters[i].name, p, colon - p) == 0) {
                snprintf(err, errlen, "GLANCE_BOTS=\"%s\": cluster \"%.*s\" is named twice", v, (int)(colon - p), p);
                return -1;
            }
        }
        total += shards;
        if (total > CONF_MAX_TOTAL_SHARDS) {
            snprintf(err, errlen,
                     "GLANCE_BOTS=\"%.200s\": more than %u shards in all (about 75 bytes each in every replica): split the "
                     "bot over several dashboards",
                     v, CONF_MAX_TOTAL_SHARDS);
            return -1;
        }
        c = &conf->clusters[conf->num_clusters++];
        c->name_len = colon - p;
        memcpy(c->name, p, c->name_len);
        c->name[c->name_len] = '\0';
        c->shards = (uint32_t)shards;
        p = *end == ';' ? end + 1 : end;
    }
    return 0;
Bad:
    snprintf(err, errlen,
             "GLANCE_BOTS=\"%s\": expected name:shards pairs separated by ';' (names of 1 to 64 of A-Z a-z 0-9 _ . -, "
             "1 to %u shards), e.g. main:360;demo:1",
             v, CONF_MAX_SHARDS);
    return -1;
}

/* Writes the URL into dst with its password replaced by "***", for error messages. */
static void mask_password(const char *url, char *dst, size_t dstlen)
{
    const char *scheme = strstr(url, "://"), *start = scheme != NULL ? scheme + 3 : url;
    const char *slash = strchr(start, '/'), *at, *colon;

    if (slash == NULL)
        slash = start + strlen(start);
    at = memrchr(start, '@', slash - start);
    colon = at != NULL ? memchr(start, ':', at - start) : NULL;
    if (colon == NULL)
        snprintf(dst, dstlen, "%s", url);
    else
        snprintf(dst, dstlen, "%.*s***%s", (int)(colon + 1 - url), url, at);
}

/* redis://[[user]:password@]host[:port][/db] */
static int parse_redis_url(struct conf *conf, const char *v, char *err, size_t errlen)
{
    const char *p = v, *at, *hostend, *slash;
    char shown[300];
    uint64_t n;

    if (strncmp(p, "redis://", 8) != 0)
        goto Bad;
    p += 8;
    slash = strchr(p, '/');
    if (slash == NULL)
        slash = p + strlen(p);
    /* the last '@' ends the credentials, so a password may itself hold one */
    at = memrchr(p, '@', slash - p);
    if (at != NULL) {
        const char *colon = memchr(p, ':', at - p);
        if (colon == NULL || (size_t)(colon - p) >= sizeof(conf->redis.user) ||
            (size_t)(at - colon - 1) >= sizeof(conf->redis.password))
            goto Bad;
        memcpy(conf->redis.user, p, colon - p);
        conf->redis.user[colon - p] = '\0';
        memcpy(conf->redis.password, colon + 1, at - colon - 1);
        conf->redis.password[at - colon - 1] = '\0';
        p = at + 1;
    }
    hostend = memchr(p, ':', slash - p);
    if (hostend == NULL)
        hostend = slash;
    if (hostend == p || (size_t)(hostend - p) >= sizeof(conf->redis.host))
        goto Bad;
    memcpy(conf->redis.host, p, hostend - p);
    conf->redis.host[hostend - p] = '\0';
    if (hostend != slash) {
        if (parse_u64(hostend + 1, slash - hostend - 1, &n) != 0 || n == 0 || n > 65535)
            goto Bad;
        conf->redis.port = (uint16_t)n;
    }
    if (*slash == '/' && slash[1] != '\0') {
        if (parse_u64(slash + 1, strlen(slash + 1), &n) != 0 || n > 65535)
            goto Bad;
        conf->redis.db = (uint32_t)n;
    }
    return 0;
Bad:
    /* the URL may hold a password: show the value with it masked */
    mask_password(v, shown, sizeof(shown));
    snprintf(err, errlen, "GLANCE_REDIS_URL=\"%s\": expected redis://[[user]:password@]host[:port][/db]", shown);
    return -1;
}

/* "host:port,host:port" */
static int parse_sentinels(struct conf *conf, const char *v, char *err, size_t errlen)
{
    const char *p = v;

    conf->redis.num_sentinels = 0;
    while (*p != '\0') {
        const char *end = strchr(p, ','), *colon;
        uint64_t port;

        if (end == NULL)
            end = p + strlen(p);
        colon = memrchr(p, ':', end - p);
        if (conf->redis.num_sentinels == CONF_MAX_SENTINELS || colon == NULL || colon == p ||
            (size_t)(colon - p) >= sizeof(conf->redis.sentinels[0].host) ||
            parse_u64(colon + 1, end - colon - 1, &port) != 0 || port == 0 || port > 65535) {
            snprintf(err, errlen, "GLANCE_REDIS_SENTINELS=\"%s\": expected up to %d host:port pairs separated by ','", v,
                     CONF_MAX_SENTINELS);
            return -1;
        }
        memcpy(conf->redis.sentinels[conf->redis.num_sentinels].host, p, colon - p);
        conf->redis.sentinels[conf->redis.num_sentinels].host[colon - p] = '\0';
        conf->redis.sentinels[conf->redis.num_sentinels].port = (uint16_t)port;
        ++conf->redis.num_sentinels;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* A source that CSP's frame-ancestors takes as it is: http(s)://host[:port], the host's first label may be "*",
 * the port may be "*"; nothing that could end the directive or the header (';', ',', quotes, spaces). */
static int embed_origin_ok(const char *p, size_t len)
{
    size_t i = 0, host;

    if (len == 1 && p[0] == '*')
        return 1;
    if (len > 8 && memcmp(p, "https://", 8) == 0)
        i = 8;
    else if (len > 7 && memcmp(p, "http://", 7) == 0)
        i = 7;
    else
        return 0;
    if (len - i >= 2 && p[i] == '*' && p[i + 1] == '.')
        i += 2;
    for (host = i; i != len && (isalnum((unsigned char)p[i]) || p[i] == '-' || p[i] == '.'); ++i)
        ;
    if (i == host || p[i - 1] == '.')
        return 0;
    if (i == len)
        return 1;
    if (p[i++] != ':' || i == len)
        return 0;
    if (len - i == 1 && p[i] == '*')
        return 1;
    for (; i != len; ++i)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    return len - host <= 255;
}

/* "https://a.example,https://b.example" into `list`; `embed` for GLANCE_EMBED_ORIGINS, whose entries go into a
 * header as they are and may hold wildcards. */
static int parse_origins(const char *var, const char *v, char (*list)[256], size_t *num, int embed, char *err,
                         size_t errlen)
{
    const char *p = v;

    *num = 0;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        int ok = embed ? embed_origin_ok(p, (size_t)(end - p)) : strncmp(p, "http", 4) == 0;
        if (!ok || *num == CONF_MAX_ORIGINS || (size_t)(end - p) >= sizeof(list[0])) {
            snprintf(err, errlen,
                     "%s=\"%s\": expected up to %d origins such as https://status.example.com%s, separated by ','",
                     var, v, CONF_MAX_ORIGINS, embed ? " or https://*.example.com (or * for any site)" : "");
            return -1;
        }
        memcpy(list[*num], p, end - p);
        list[*num][end - p] = '\0';
        ++*num;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* GLANCE_TRUSTED_PROXIES: addresses or networks ("10.0.0.0/8,::1"), comma-separated. */
static int parse_proxies(struct conf *conf, const char *v, char *err, size_t errlen)
{
    const char *p = v;

    conf->num_trusted_proxies = 0;
    while (*p != '\0') {
        const char *end = strchr(p, ','), *slash;
        char text[64];
        struct conf_net *net = &conf->trusted_proxies[conf->num_trusted_proxies];
        unsigned long prefix;
        char *stop;
        size_t n;

        if (end == NULL)
            end = p + strlen(p);
        n = (size_t)(end - p);
        if (conf->num_trusted_proxies == CONF_MAX_PROXIES || n == 0 || n >= sizeof(text))
            goto bad;
        memcpy(text, p, n);
        text[n] = '\0';
        slash = strchr(text, '/');
        if (slash != NULL)
            *(char *)slash = '\0';
        if (inet_pton(AF_INET, text, net->addr) == 1)
            net->len = 4;
        else if (inet_pton(AF_INET6, text, net->addr) == 1)
            net->len = 16;
        else
            goto bad;
        prefix = net->len * 8u;
        if (slash != NULL) {
            prefix = strtoul(slash + 1, &stop, 10);
            if (slash[1] == '\0' || *stop != '\0' || !isdigit((unsigned char)slash[1]) || prefix > net->len * 8u)
                goto bad;
        }
        /* ::ffff:a.b.c.d is the IPv4 address, as a peer's is taken (client_address.c) */
        if (net->len == 16 && memcmp(net->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 && prefix >= 96) {
            memmove(net->addr, net->addr + 12, 4);
            net->len = 4;
            prefix -= 96;
        }
        net->prefix = (unsigned char)prefix;
        ++conf->num_trusted_proxies;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
bad:
    snprintf(err, errlen, "GLANCE_TRUSTED_PROXIES=\"%s\": expected up to %d addresses or networks of the load "
             "balancers in front, such as 10.0.0.0/8,::1, separated by ','", v, CONF_MAX_PROXIES);
    return -1;
}

/* GLANCE_PUBLIC_URL: http(s)://host[:port][/path], kept without a trailing slash. */
static int parse_public_url(struct conf *conf, const char *v, char *err, size_t errlen)
{
    size_t len = strlen(v), i, start;

    while (len != 0 && v[len - 1] == '/')
        --len;
    start = strncmp(v, "https://", 8) == 0 ? 8 : strncmp(v, "http://", 7) == 0 ? 7 : 0;
    for (i = 0; i != len; ++i)
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f || v[i] == '"' || v[i] == '<' || v[i] == '>' || v[i] == '?' ||
            v[i] == '#')
            start = 0;
    if (start == 0 || len == start || len >= sizeof(conf->public_url)) {
        snprintf(err, errlen, "GLANCE_PUBLIC_URL=\"%s\": expected where the page is, such as "
                 "https://status.example.com", v);
        return -1;
    }
    memcpy(conf->public_url, v, len);
    conf->public_url[len] = '\0';
    return 0;
}

/* The subscriptions' settings: how many, how often per address, which webhook URLs, where links point. */
static int load_subscriptions(struct conf *conf, conf_lookup_cb lookup, void *ctx, char *err, size_t errlen)
{
    static const char *const discord[] = {"https://discord.com", "https://ptb.discord.com", "https://canary.discord.com",
                                          "https://discordapp.com"};
    const char *v;
    size_t i;

    conf->subscriptions_max = 100000;
    conf->subscribe_per_hour = 10;
    conf->subscriber_rate = 50;
    conf->maintenance_remind_s = 3600;
    if (get_uint(lookup, ctx, "GLANCE_SUBSCRIPTIONS_MAX", 0, 10000000, &conf->subscriptions_max, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_SUBSCRIBE_PER_HOUR", 1, 100000, &conf->subscribe_per_hour, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_SUBSCRIBER_RATE", 1, 10000, &conf->subscriber_rate, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_MAINTENANCE_REMIND", 0, 604800, &conf->maintenance_remind_s, err, errlen) != 0)
        return -1;
    if ((v = lookup(ctx, "GLANCE_TRUSTED_PROXIES")) != NULL && parse_proxies(conf, v, err, errlen) != 0)
        return -1;
    if ((v = lookup(ctx, "GLANCE_PUBLIC_URL")) != NULL && *v != '\0' && parse_public_url(conf, v, err, errlen) != 0)
        return -1;
    if ((v = lookup(ctx, "GLANCE_SUBSCRIBE_ORIGINS")) == NULL) {
        for (i = 0; i != sizeof(discord) / sizeof(discord[0]); ++i)
            strcpy(conf->subscribe_origins[i], discord[i]);
        conf->num_subscribe_origins = i;
        return 0;
    }
    for (const char *p = v; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t n;
        if (end == NULL)
            end = p + strlen(p);
        n = (size_t)(end - p);
        if (conf->num_subscribe_origins == CONF_MAX_SUBSCRIBE_ORIGINS || n >= sizeof(conf->subscribe_origins[0]) ||
            !embed_origin_ok(p, n) || memchr(p, '*', n) != NULL) {
            snprintf(err, errlen, "GLANCE_SUBSCRIBE_ORIGINS=\"%s\": expected up to %d origins such as "
                     "https://discord.com, separated by ','", v, CONF_MAX_SUBSCRIBE_ORIGINS);
            return -1;
        }
        memcpy(conf->subscribe_origins[conf->num_subscribe_origins], p, n);
        conf->subscribe_origins[conf->num_subscribe_origins++][n] = '\0';
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* GLANCE_PASSPHRASE, or GLANCE_PASSPHRASE_FILE (a Docker secret: the file's first line). */
static int load_passphrase(struct conf *conf, conf_lookup_cb lookup, void *ctx, char *err, size_t errlen)
{
    const char *v = lookup(ctx, "GLANCE_PASSPHRASE"), *path = lookup(ctx, "GLANCE_PASSPHRASE_FILE");
    FILE *fp;
    size_t len;
    int c;

    if (v != NULL && path != NULL) {
        snprintf(err, errlen, "GLANCE_PASSPHRASE and GLANCE_PASSPHRASE_FILE are both set: expected one of them");
        return -1;
    }
    if (v != NULL) {
        if (v[0] == '\0') {
            /* an empty value is far more often a template left unfilled than a wish to run open */
            snprintf(err, errlen, "GLANCE_PASSPHRASE is set but empty: to run without a passphrase leave it unset");
            return -1;
        }
        if (strlen(v) >= sizeof(conf->passphrase)) {
            snprintf(err, errlen, "GLANCE_PASSPHRASE: longer than %zu bytes", sizeof(conf->passphrase) - 1);
            return -1;
        }
        strcpy(conf->passphrase, v);
    } else if (path != NULL) {
        if ((fp = fopen(path, "r")) == NULL) {
            snprintf(err, errlen, "GLANCE_PASSPHRASE_FILE=\"%s\": cannot open: %s", path, strerror(errno));
            return -1;
        }
        if (fgets(conf->passphrase, sizeof(conf->passphrase), fp) == NULL)
            conf->passphrase[0] = '\0';
        /* a first line that filled the buffer without ending would be cut short: refuse it rather than guess */
        if (strchr(conf->passphrase, '\n') == NULL && strlen(conf->passphrase) == sizeof(conf->passphrase) - 1 &&
            (c = getc(fp)) != EOF && c != '\n' && c != '\r') {
            fclose(fp);
            snprintf(err, errlen, "GLANCE_PASSPHRASE_FILE=\"%s\": the first line is longer than %zu bytes", path,
                     sizeof(conf->passphrase) - 1);
            return -1;
        }
        fclose(fp);
        conf->passphrase[strcspn(conf->passphrase, "\r\n")] = '\0';
        if (conf->passphrase[0] == '\0') {
            snprintf(err, errlen, "GLANCE_PASSPHRASE_FILE=\"%s\": the file is empty", path);
            return -1;
        }
    }
    len = strlen(conf->passphrase);
    conf->passphrase_len = len;
    return 0;
}

/* Discord's webhook API version the sender speaks. A URL as Discord shows it has none (/api/webhooks/...), and an
 * unversioned call is answered by API v6, whose 429 says retry_after in milliseconds where v10 says seconds: the
 * sender reads seconds, so every Discord URL is made to name this version whatever form was pasted. */
#define DISCORD_API_PATH "/api/v10/webhooks/"

/* The path of a Discord webhook URL with the version made DISCORD_API_PATH: "/api/webhooks/..." and
 * "/api/v<n>/webhooks/..." are rewritten into `out`; any other path is copied as it is (a relay's, a test's). */
static void discord_versioned_path(const char *path, char *out, size_t len)
{
    const char *rest = NULL;

    if (strncmp(path, "/api/webhooks/", 14) == 0) {
        rest = path + 14;
    } else if (strncmp(path, "/api/v", 6) == 0 && isdigit((unsigned char)path[6])) {
        const char *p = path + 6;
        while (isdigit((unsigned char)*p))
            ++p;
        if (strncmp(p, "/webhooks/", 10) == 0)
            rest = p + 10;
    }
    if (rest != NULL)
        snprintf(out, len, "%s%s", DISCORD_API_PATH, rest);
    else
        snprintf(out, len, "%s", path);
}

/* One webhook of GLANCE_ALERT_WEBHOOKS: "https://...", or "json:https://..."; plain http only to this machine
 * (a receiver in tests, a relay beside the replica), since the URL carries the webhook's secret. The URL is parsed
 * by libcurl, the library that will send to it, so the host checked is the host it connects to (a prefix test took
 * "http://127.0.0.1:1@elsewhere/" for loopback: user 127.0.0.1, password 1). */
static int add_lane(struct conf *conf, const char *var, const char *v, size_t len, int global, size_t *index,
                    char *err, size_t errlen);

static int add_webhook(struct conf *conf, const char *var, const char *v, size_t len, char *err, size_t errlen)
{
    return add_lane(conf, var, v, len, 1, NULL, err, errlen);
}

/* Counts the webhooks that are global (`global`) or named only by routes. */
static size_t count_webhooks(const struct conf *conf, int global)
{
    size_t n = 0;

    for (size_t i = 0; i != conf->num_webhooks; ++i)
        n += conf->webhooks[i].global == global;
    return n;
}

int conf_webhook_takes(const struct conf *conf, const struct conf_webhook *w, size_t cluster)
{
    return (w->routes[cluster / 8] & (1u << (cluster % 8))) != 0 || (w->global && !conf->clusters[cluster].routed);
}

/* A webhook given once more (globally and in a route, or in two routes) is one lane, taking both's alerts: its
 * messages in Redis are named by its URL, so two lanes would fight over them. Returns its index, or -1. */
static ssize_t find_webhook(const struct conf *conf, const char *url, size_t len)
{
    for (size_t i = 0; i != conf->num_webhooks; ++i) {
        const struct conf_webhook *w = &conf->webhooks[i];
        if (strlen(w->given) == len && memcmp(w->given, url, len) == 0)
            return (ssize_t)i;
    }
    return -1;
}

static int add_lane(struct conf *conf, const char *var, const char *v, size_t len, int global, size_t *index,
                    char *err, size_t errlen)
{
    struct conf_webhook *w = &conf->webhooks[conf->num_webhooks];
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *full = NULL;
    int ret = -1;
    ssize_t known;

    while (len != 0 && (*v == ' ' || *v == '\t'))
        ++v, --len;
    while (len != 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r'))
        --len;
    if (len == 0)
        return 0;
    if ((known = find_webhook(conf, v, len)) >= 0) {
        conf->webhooks[known].global |= global;
        if (index != NULL)
            *index = (size_t)known;
        return 0;
    }
    if (global ? count_webhooks(conf, 1) == CONF_MAX_WEBHOOKS : count_webhooks(conf, 0) == CONF_MAX_ROUTED_WEBHOOKS) {
        snprintf(err, errlen, "%s: more than %d webhooks", var, global ? CONF_MAX_WEBHOOKS : CONF_MAX_ROUTED_WEBHOOKS);
        return -1;
    }
    memset(w, 0, sizeof(*w));
    w->global = global;
    if (len < sizeof(w->given))
        memcpy(w->given, v, len);
    if (len > 5 && memcmp(v, "json:", 5) == 0) {
        w->json = 1;
        v += 5, len -= 5;
    }
    if (len >= sizeof(w->url)) {
        snprintf(err, errlen, "%s: a URL is longer than %zu bytes", var, sizeof(w->url) - 1);
        return -1;
    }
    memcpy(w->url, v, len);
    /* the id comes from the URL as given, so that messages saved before the URL was rewritten are still found */
    for (const char *p = w->url; *p != '\0'; ++p)
        hash = (hash ^ (unsigned char)*p) * 1099511628211ull;
    snprintf(w->id, sizeof(w->id), "%016llx", (unsigned long long)hash);
    /* errors and logs show the scheme and host (w->shown), never the path that holds the token */
    if ((u = curl_url()) == NULL || strpbrk(w->url, " \t\"<>\\") != NULL ||
        curl_url_set(u, CURLUPART_URL, w->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
        snprintf(err, errlen, "%s: webhook %zu is not a URL (expected https://<host>/<path>)", var, conf->num_webhooks + 1);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
        port = NULL; /* none given */
    snprintf(w->shown, sizeof(w->shown), "%s://%s%s%s", scheme, host, port != NULL ? ":" : "", port != NULL ? port : "");
    if (strcmp(scheme, "https") != 0 &&
        !(strcmp(scheme, "http") == 0 &&
          (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0))) {
        snprintf(err, errlen, "%s: \"%s...\" is not an https:// URL (plain http:// only to 127.0.0.1, localhost or [::1])",
                 var, w->shown);
        goto out;
    }
    if (!w->json && curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        char versioned[sizeof(w->url)];
        discord_versioned_path(path, versioned, sizeof(versioned));
        if (strcmp(versioned, path) != 0) {
            if (curl_url_set(u, CURLUPART_PATH, versioned, 0) != CURLUE_OK ||
                curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || strlen(full) >= sizeof(w->url)) {
                snprintf(err, errlen, "%s: \"%s...\" is not a URL", var, w->shown);
                goto out;
            }
            strcpy(w->url, full);
        }
    }
    if (index != NULL)
        *index = conf->num_webhooks;
    ++conf->num_webhooks;
    ret = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(full);
    curl_url_cleanup(u);
    return ret;
}

/* GLANCE_ALERT_WEBHOOKS (comma-separated) or GLANCE_ALERT_WEBHOOKS_FILE (one per line; a Docker secret). */
static int load_webhooks(struct conf *conf, conf_lookup_cb lookup, void *ctx, char *err, size_t errlen)
{
    const char *v = lookup(ctx, "GLANCE_ALERT_WEBHOOKS"), *path = lookup(ctx, "GLANCE_ALERT_WEBHOOKS_FILE");
    char line[1100];
    FILE *fp;

    if (v != NULL && path != NULL) {
        snprintf(err, errlen, "GLANCE_ALERT_WEBHOOKS and GLANCE_ALERT_WEBHOOKS_FILE are both set: expected one of them");
        return -1;
    }
    for (const char *p = v; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (add_webhook(conf, "GLANCE_ALERT_WEBHOOKS", p, len, err, errlen) != 0)
            return -1;
        p += len + (end != NULL);
    }
    if (path == NULL)
        return 0;
    if ((fp = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "GLANCE_ALERT_WEBHOOKS_FILE=\"%s\": cannot open: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        size_t len = strcspn(line, "\r\n");
        if (line[0] == '#')
            continue;
        if (add_webhook(conf, "GLANCE_ALERT_WEBHOOKS_FILE", line, len, err, errlen) != 0) {
            fclose(fp);
            return -1;
        }
    }
    fclose(fp);
    if (conf->num_webhooks == 0) {
        snprintf(err, errlen, "GLANCE_ALERT_WEBHOOKS_FILE=\"%s\": no webhook URL in the file", path);
        return -1;
    }
    return 0;
}

/* GLANCE_ALERT_LEVEL: "partial" for every cluster, or "main:major;demo:degraded" (the others keep the
 * default), or both: "degraded;main:major". A level is degraded, partial or major. */
const char *const conf_gateway_alert_names[CONF_GATEWAY_ALERTS] = {"silent", "storm", "budget", "guild_cap"};

/* GLANCE_ALERT_GATEWAY: the gateway marks that are alerts, comma-separated, or "none". */
static int parse_gateway_alerts(struct conf *conf, const char *v, char *err, size_t errlen)
{
    const char *p = v;

    conf->alert_gateway = CONF_ALERT_SILENT | CONF_ALERT_STORM | CONF_ALERT_BUDGET;
    if (v == NULL)
        return 0;
    conf->alert_gateway = 0;
    if (strcmp(v, "none") == 0)
        return 0;
    for (;;) {
        size_t len = strcspn(p, ","), i;
        for (i = 0; i != CONF_GATEWAY_ALERTS; ++i)
            if (strlen(conf_gateway_alert_names[i]) == len && memcmp(conf_gateway_alert_names[i], p, len) == 0)
                break;
        if (i == CONF_GATEWAY_ALERTS) {
            snprintf(err, errlen, "GLANCE_ALERT_GATEWAY=\"%s\": expected \"none\" or some of silent, storm, budget, "
                                  "guild_cap, comma-separated (\"%.*s\" is none of them)", v, (int)(len < 40 ? len : 40), p);
            return -1;
        }
        conf->alert_gateway |= 1u << i;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

static int parse_alert_levels(struct conf *conf, const char *v, char *err, size_t errlen)
{
    const char *p = v, *expected = "expected degraded, partial or major, alone or as cluster:level pairs separated by ';'";
    int all = CONDITION_PARTIAL;

    for (size_t i = 0; i < conf->num_clusters; ++i)
        conf->clusters[i].alert_level = -1;
    while (v != NULL && *p != '\0') {
        const char *end = strchr(p, ';'), *colon;
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p), name_len = 0;
        int level;

        if ((colon = memchr(p, ':', len)) != NULL)
            name_len = (size_t)(colon - p);
        level = condition_from_name(colon != NULL ? colon + 1 : p, colon != NULL ? len - name_len - 1 : len);
        if (level < CONDITION_DEGRADED) {
            snprintf(err, errlen, "GLANCE_ALERT_LEVEL=\"%s\": \"%.*s\" is not a level: %s", v, (int)len, p, expected);
            return -1;
        }
        if (colon == NULL) {
            all = level;
        } else {
            size_t i;
            for (i = 0; i < conf->num_clusters; ++i)
                if (conf->clusters[i].name_len == name_len && memcmp(conf->clusters[i].name, p, name_len) == 0)
                    break;
            if (i == conf->num_clusters) {
                snprintf(err, errlen, "GLANCE_ALERT_LEVEL=\"%s\": there is no cluster \"%.*s\" in GLANCE_BOTS", v,
                         (int)name_len, p);
                return -1;
            }
            conf->clusters[i].alert_level = level;
        }
        p += len + (end != NULL);
    }
    for (size_t i = 0; i < conf->num_clusters; ++i)
        if (conf->clusters[i].alert_level < 0)
            conf->clusters[i].alert_level = all;
    return 0;
}

/* GLANCE_ALERT_ROUTES: "<cluster>=<url>[,<url>...][;level=<level>]", routes separated by spaces or line breaks. A
 * routed cluster's alerts go to its route's webhooks only, at its route's level when one is given. */
static int parse_routes(struct conf *conf, const char *v, char *err, size_t errlen)
{
    const char *p = v;

    while (v != NULL && *p != '\0') {
        const char *start, *end, *eq, *semi;
        size_t c, n;
        p += strspn(p, " \t\r\n");
        if (*p == '\0')
            break;
        start = p;
        end = p + strcspn(p, " \t\r\n");
        p = end;
        eq = memchr(start, '=', (size_t)(end - start));
        for (c = 0; eq != NULL && c != conf->num_clusters; ++c)
            if (conf->clusters[c].name_len == (size_t)(eq - start) && memcmp(conf->clusters[c].name, start, (size_t)(eq - start)) == 0)
                break;
        if (eq == NULL || c == conf->num_clusters) {
            snprintf(err, errlen, "GLANCE_ALERT_ROUTES: \"%.*s\" is not <cluster>=<webhook URL>[;level=<level>] for a "
                     "cluster of GLANCE_BOTS", (int)(eq != NULL ? eq - start : end - start), start);
            return -1;
        }
        if (conf->clusters[c].routed) {
            snprintf(err, errlen, "GLANCE_ALERT_ROUTES: cluster \"%s\" has two routes", conf->clusters[c].name);
            return -1;
        }
        semi = memchr(eq, ';', (size_t)(end - eq));
        if (semi != NULL) {
            int level = end - semi > 7 && memcmp(semi, ";level=", 7) == 0
                            ? condition_from_name(semi + 7, (size_t)(end - semi - 7)) : -1;
            if (level < CONDITION_DEGRADED) {
                snprintf(err, errlen, "GLANCE_ALERT_ROUTES: \"%.*s\" after %s's webhooks is not ;level=degraded, "
                         "partial or major", (int)(end - semi), semi, conf->clusters[c].name);
                return -1;
            }
            conf->clusters[c].alert_level = level;
        }
        size_t named = 0;
        for (const char *u = eq + 1, *stop = semi != NULL ? semi : end; u < stop; u += n + 1) {
            size_t lane = SIZE_MAX;
            n = (size_t)(memchr(u, ',', (size_t)(stop - u)) != NULL ? (const char *)memchr(u, ',', (size_t)(stop - u)) - u
                                                                      : stop - u);
            if (add_lane(conf, "GLANCE_ALERT_ROUTES", u, n, 0, &lane, err, errlen) != 0)
                return -1;
            if (lane != SIZE_MAX) {
                conf->webhooks[lane].routes[c / 8] |= (unsigned char)(1u << (c % 8));
                ++named;
            }
        }
        if (named == 0) {
            snprintf(err, errlen, "GLANCE_ALERT_ROUTES: the route of \"%s\" names no webhook", conf->clusters[c].name);
            return -1;
        }
        conf->clusters[c].routed = 1;
    }
    return 0;
}

static int check_prefix(const char *prefix)
{
    size_t i, len = strlen(prefix);

    if (len == 0 || len > 64)
        return 0;
    for (i = 0; i != len; ++i)
        if (!(isalnum((unsigned char)prefix[i]) || strchr("_.:-", prefix[i]) != NULL))
            return 0;
    return 1;
}

int conf_load(struct conf *conf, conf_lookup_cb lookup, void *ctx, char *err, size_t errlen)
{
    const char *v;
    uint32_t port = 8080, give_up_min;

    memset(conf, 0, sizeof(*conf));
    strcpy(conf->host, "0.0.0.0");
    conf->health_timeout_s = 30;
    strcpy(conf->redis.host, "127.0.0.1");
    conf->redis.port = 6379;
    conf->redis.timeout_ms = 2000;
    strcpy(conf->prefix, "glance");
    strcpy(conf->web_root, "./web");
    conf->feed_interval_ms = 100;
    conf->drain_ms = 3000;
    conf->history_log = 10000;
    conf->latency_interval_ms = 60000;
    conf->alert_delay_s = 30;
    conf->silent_after_s = 300;
    conf->alert_timeout_ms = 10000;
    conf->alert_give_up_s = 900;

    if ((v = lookup(ctx, "GLANCE_BOTS")) == NULL) {
        snprintf(err, errlen, "GLANCE_BOTS is not set: expected name:shards pairs separated by ';', e.g. main:360;demo:1");
        return -1;
    }
    if (parse_bots(conf, v, err, errlen) != 0)
        return -1;
    if (get_string(lookup, ctx, "GLANCE_HOST", conf->host, sizeof(conf->host), err, errlen) != 0)
        return -1;
    if (conf->host[0] == '\0') {
        snprintf(err, errlen, "GLANCE_HOST=\"\": expected an address to listen on, e.g. 0.0.0.0");
        return -1;
    }
    if (get_uint(lookup, ctx, "GLANCE_PORT", 1, 65535, &port, err, errlen) != 0)
        return -1;
    conf->port = (uint16_t)port;
    if (load_passphrase(conf, lookup, ctx, err, errlen) != 0)
        return -1;
    if (get_uint(lookup, ctx, "GLANCE_HEALTH_TIMEOUT", 1, 86400, &conf->health_timeout_s, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_REDIS_TIMEOUT_MS", 50, 60000, &conf->redis.timeout_ms, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_FEED_INTERVAL_MS", 10, 10000, &conf->feed_interval_ms, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_DRAIN_MS", 0, 60000, &conf->drain_ms, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_HISTORY_LOG", 100, 1000000, &conf->history_log, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_LATENCY_INTERVAL_MS", 1000, 60000, &conf->latency_interval_ms, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_ALERT_DELAY", 0, 86400, &conf->alert_delay_s, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_SILENT_AFTER", 1, 86400, &conf->silent_after_s, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_STORM_PER_MINUTE", 0, 1000000, &conf->storm_per_minute, err, errlen) != 0)
        return -1;
    if (parse_alert_levels(conf, lookup(ctx, "GLANCE_ALERT_LEVEL"), err, errlen) != 0 ||
        parse_gateway_alerts(conf, lookup(ctx, "GLANCE_ALERT_GATEWAY"), err, errlen) != 0 ||
        load_webhooks(conf, lookup, ctx, err, errlen) != 0 ||
        parse_routes(conf, lookup(ctx, "GLANCE_ALERT_ROUTES"), err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_ALERT_TIMEOUT_MS", 100, 60000, &conf->alert_timeout_ms, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_ALERT_GIVE_UP", 1, 86400, &conf->alert_give_up_s, err, errlen) != 0 ||
        get_string(lookup, ctx, "GLANCE_ALERT_ROLE", conf->alert_role, sizeof(conf->alert_role), err, errlen) != 0)
        return -1;
    /* an alert in flight when the sending replica dies is claimed by the next one 3 s (its lock) + the timeout later,
     * and must still get a try from it: give it that, twice over */
    give_up_min = (3000 + 2 * conf->alert_timeout_ms + 999) / 1000;
    if (give_up_min < 5)
        give_up_min = 5;
    if (conf->alert_give_up_s < give_up_min) {
        snprintf(err, errlen, "GLANCE_ALERT_GIVE_UP=%u: expected at least %u s here (5 s, and 3 s + twice "
                 "GLANCE_ALERT_TIMEOUT_MS, so an alert in flight when the sending replica dies is still tried by the next)",
                 conf->alert_give_up_s, give_up_min);
        return -1;
    }
    if (conf->alert_role[0] != '\0' && strspn(conf->alert_role, "0123456789") != strlen(conf->alert_role)) {
        snprintf(err, errlen, "GLANCE_ALERT_ROLE=\"%s\": expected a Discord role id (digits)", conf->alert_role);
        return -1;
    }
    if (load_alertmanager(conf, lookup, ctx, err, errlen) != 0)
        return -1;
    conf->redis.wait_ms = 500;
    if (get_uint(lookup, ctx, "GLANCE_REDIS_WAIT_REPLICAS", 0, 16, &conf->redis.wait_replicas, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_REDIS_WAIT_MS", 1, 30000, &conf->redis.wait_ms, err, errlen) != 0)
        return -1;
    /* a WAIT holds the commands behind it on the connection: the watchdog must not take a slow one for a dead Redis */
    if (conf->redis.wait_replicas != 0 && conf->redis.wait_ms * 2 > conf->redis.timeout_ms) {
        snprintf(err, errlen, "GLANCE_REDIS_WAIT_MS=%u: expected at most half of GLANCE_REDIS_TIMEOUT_MS (%u ms), so that "
                 "a WAIT that runs out is not taken for a Redis that stopped answering", conf->redis.wait_ms,
                 conf->redis.timeout_ms);
        return -1;
    }
    if ((v = lookup(ctx, "GLANCE_REDIS_URL")) != NULL && parse_redis_url(conf, v, err, errlen) != 0)
        return -1;
    if ((v = lookup(ctx, "GLANCE_REDIS_SENTINELS")) != NULL && parse_sentinels(conf, v, err, errlen) != 0)
        return -1;
    strcpy(conf->redis.master, "mymaster");
    if (get_string(lookup, ctx, "GLANCE_REDIS_MASTER", conf->redis.master, sizeof(conf->redis.master), err, errlen) != 0)
        return -1;
    if (conf->redis.master[0] == '\0') {
        snprintf(err, errlen, "GLANCE_REDIS_MASTER=\"\": expected the name Sentinel monitors the master under");
        return -1;
    }
    conf->feed_max_clients = 100000;
    if (get_uint(lookup, ctx, "GLANCE_FEED_MAX_CLIENTS", 1, 1000000, &conf->feed_max_clients, err, errlen) != 0 ||
        get_uint(lookup, ctx, "GLANCE_FEED_MAX_PER_ADDRESS", 0, 1000000, &conf->feed_max_per_address, err, errlen) != 0)
        return -1;
    conf->reader_bytes_max_mib = 64;
    if (get_uint(lookup, ctx, "GLANCE_READER_BYTES_MAX_MB", 1, 65536, &conf->reader_bytes_max_mib, err, errlen) != 0)
        return -1;
    if ((v = lookup(ctx, "GLANCE_FEED_ORIGINS")) != NULL &&
        parse_origins("GLANCE_FEED_ORIGINS", v, conf->feed_origins, &conf->num_feed_origins, 0, err, errlen) != 0)
        return -1;
    if ((v = lookup(ctx, "GLANCE_EMBED_ORIGINS")) != NULL &&
        parse_origins("GLANCE_EMBED_ORIGINS", v, conf->embed_origins, &conf->num_embed_origins, 1, err, errlen) != 0)
        return -1;
    if (load_subscriptions(conf, lookup, ctx, err, errlen) != 0)
        return -1;
    if (get_string(lookup, ctx, "GLANCE_REDIS_PREFIX", conf->prefix, sizeof(conf->prefix), err, errlen) != 0)
        return -1;
    if (!check_prefix(conf->prefix)) {
        snprintf(err, errlen, "GLANCE_REDIS_PREFIX=\"%s\": expected 1 to 64 of A-Z a-z 0-9 _ . : -", conf->prefix);
        return -1;
    }
    if (get_string(lookup, ctx, "GLANCE_WEB_ROOT", conf->web_root, sizeof(conf->web_root), err, errlen) != 0)
        return -1;
    if (gethostname(conf->replica, sizeof(conf->replica)) != 0)
        strcpy(conf->replica, "glance-api");
    conf->replica[sizeof(conf->replica) - 1] = '\0';
    if ((v = lookup(ctx, "GLANCE_REPLICA_NAME")) != NULL) {
        if (!parse_cluster_name(v, strlen(v))) {
            snprintf(err, errlen, "GLANCE_REPLICA_NAME=\"%s\": expected 1 to 64 of A-Z a-z 0-9 _ . -", v);
            return -1;
        }
        strcpy(conf->replica, v);
    }
    return 0;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        ++s;
    end = s + strlen(s);
    while (end != s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

int conf_parse_env(char *text, const char *filename, struct conf_env_entry *entries, size_t max, size_t *count,
                   char *err, size_t errlen)
{
    char *line = text, *next;
    unsigned lineno = 0;

    *count = 0;
    for (; line != NULL; line = next) {
        char *key, *value, *eq;
        size_t i, vlen;

        ++lineno;
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        key = trim(line);
        if (*key == '\0' || *key == '#')
            continue;
        if (strncmp(key, "export ", 7) == 0)
            key = trim(key + 7);
        if ((eq = strchr(key, '=')) == NULL) {
            snprintf(err, errlen, "%s:%u: expected KEY=VALUE", filename, lineno);
            return -1;
        }
        *eq = '\0';
        value = trim(eq + 1);
        key = trim(key);
        if (*key == '\0') {
            snprintf(err, errlen, "%s:%u: the name before '=' is empty", filename, lineno);
            return -1;
        }
        for (i = 0; key[i] != '\0'; ++i) {
            if (!(isalnum((unsigned char)key[i]) || key[i] == '_')) {
                snprintf(err, errlen, "%s:%u: \"%s\" is not a variable name", filename, lineno, key);
                return -1;
            }
        }
        vlen = strlen(value);
        if (vlen != 0 && (value[0] == '"' || value[0] == '\'')) {
            char *close = strchr(value + 1, value[0]), *rest;
            if (close == NULL) {
                snprintf(err, errlen, "%s:%u: the value of %s opens a quote it does not close", filename, lineno, key);
                return -1;
            }
            rest = trim(close + 1);
            if (*rest != '\0' && *rest != '#') {
                snprintf(err, errlen, "%s:%u: unexpected text after the quoted value of %s", filename, lineno, key);
                return -1;
            }
            *close = '\0';
            ++value;
        } else {
            /* an unquoted value ends where a comment starts: a '#' first or after a blank */
            char *p;
            for (p = value; *p != '\0'; ++p) {
                if (*p == '#' && (p == value || p[-1] == ' ' || p[-1] == '\t')) {
                    *p = '\0';
                    value = trim(value);
                    break;
                }
            }
        }
        if (*count == max) {
            snprintf(err, errlen, "%s:%u: more than %zu variables", filename, lineno, max);
            return -1;
        }
        entries[*count].key = key;
        entries[*count].value = value;
        ++*count;
    }
    return 0;
}
