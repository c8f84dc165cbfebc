/* test_subscription.c -- unit tests of what a subscription request may say (subscription_input.c: only Discord's
 * webhook URLs, made into the one URL Glance posts to; the scopes; the management token), of the client's address
 * behind trusted proxies (client_address.c), and of their settings in conf.c, with the alerts' routes per cluster
 * (GLANCE_ALERT_ROUTES). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "base/client_address.h"
#include "base/conf.h"
#include "base/subscription_input.h"

struct env {
    const char *name[3], *value[3];
};

static const char *lookup_env(void *ctx, const char *name)
{
    const struct env *e = ctx;

    for (int i = 0; i != 3; ++i)
        if (e->name[i] != NULL && strcmp(name, e->name[i]) == 0)
            return e->value[i];
    return strcmp(name, "GLANCE_BOTS") == 0 ? "main:360;eu:16" : NULL;
}

static struct conf conf;
static char err[512];

static int load(const char *n0, const char *v0, const char *n1, const char *v1)
{
    struct env e = {{n0, n1, NULL}, {v0, v1, NULL}};

    err[0] = '\0';
    return conf_load(&conf, lookup_env, &e, err, sizeof(err));
}

static struct subscription_input in;

static int webhook(const char *url, int operator)
{
    memset(&in, 0, sizeof(in));
    err[0] = '\0';
    return subscription_webhook(&conf, url, strlen(url), operator, &in, err, sizeof(err));
}

TEST(test_subscription_takes_discord_webhook_urls_and_posts_only_to_their_webhook)
{
    load(NULL, NULL, NULL, NULL);
    CHECK(webhook("https://discord.com/api/webhooks/1234567890123456789/abc_DEF-123", 0) == 0);
    CHECK_STR(in.url, "https://discord.com/api/v10/webhooks/1234567890123456789/abc_DEF-123");
    CHECK_STR(in.hook, "1234567890123456789");
    CHECK_STR(in.shown, "discord.com webhook 1234567890123456789");
    CHECK(!in.json);
    /* a version, another host of Discord's, a trailing slash, spaces: all the same webhook */
    CHECK(webhook("  https://canary.discord.com/api/v10/webhooks/1234567890123456789/abc/  ", 0) == 0);
    CHECK_STR(in.url, "https://canary.discord.com/api/v10/webhooks/1234567890123456789/abc");
    CHECK(webhook("HTTPS://DISCORDAPP.COM/api/webhooks/42/t", 0) == 0);
    CHECK_STR(in.url, "https://discordapp.com/api/v10/webhooks/42/t");
    /* a forum channel's thread is the one thing a URL may add */
    CHECK(webhook("https://discord.com/api/webhooks/42/t?thread_id=77", 0) == 0);
    CHECK_STR(in.url, "https://discord.com/api/v10/webhooks/42/t?thread_id=77");
}

TEST(test_subscription_refuses_every_other_url)
{
    static const char *const bad[] = {
        "http://discord.com/api/webhooks/42/t",           /* not https */
        "https://discord.com.evil.example/api/webhooks/42/t",
        "https://evil.example/?https://discord.com/api/webhooks/42/t",
        "https://discord.com@evil.example/api/webhooks/42/t",
        "https://discord.com/api/webhooks/42/t/messages/9", /* an edit of someone's message */
        "https://discord.com/api/webhooks/42/t/github",     /* another kind of execution */
        "https://discord.com/api/webhooks/42/t?wait=false",
        "https://discord.com/api/webhooks/42/t?thread_id=7&x=1",
        "https://discord.com/api/webhooks/42/t#x",
        "https://discord.com/api/webhooks/42/t%2f..",
        "https://discord.com/api/webhooks/42/../../users/@me",
        "https://discord.com/api/webhooks/x/t",
        "https://discord.com/api/webhooks/123456789012345678901/t", /* past 64 bits */
        "https://discord.com/api/webhooks/42/",
        "https://discord.com/api/v/webhooks/42/t",
        "https://discord.com/webhooks/42/t",
        "https://discord.com",
        "",
        "json:https://example.com/hook", /* a visitor's: operators only */
    };
    load(NULL, NULL, NULL, NULL);
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        if (!CHECK(webhook(bad[i], 0) == -1))
            fprintf(stderr, "  taken: %s -> %s\n", bad[i], in.url);
        CHECK(strstr(err, "webhook_url") != NULL);
    }
    /* an operator's json: URL; still no spaces, nothing but http(s) */
    CHECK(webhook("json:https://ops.example/hook?x=1", 1) == 0);
    CHECK(in.json);
    CHECK_STR(in.url, "https://ops.example/hook?x=1");
    CHECK_STR(in.shown, "JSON webhook at ops.example");
    CHECK(webhook("json:file:///etc/passwd", 1) == -1);
    CHECK(webhook("json:https://ops.example/a b", 1) == -1);
}

TEST(test_subscription_reads_the_scopes_and_names_the_member_refused)
{
    const char *field;
    char words[300];
#define READ(body) subscription_from_json(&conf, body, strlen(body), 1, 0, &in, err, sizeof(err), &field)

    load(NULL, NULL, NULL, NULL);
    CHECK(READ("{\"webhook_url\":\"https://discord.com/api/webhooks/42/t\",\"scope\":\"all\"}") == 0);
    CHECK(in.scope == SCOPE_ALL);
    subscription_scope_words(&conf, &in, words, sizeof(words));
    CHECK_STR(words, "the whole bot");
    CHECK(READ("{\"webhook_url\":\"https://discord.com/api/webhooks/42/t\",\"scope\":{\"clusters\":[\"eu\",\"main\"]}}") == 0);
    CHECK(in.scope == SCOPE_CLUSTERS && in.clusters[0] && in.clusters[1]);
    subscription_scope_words(&conf, &in, words, sizeof(words));
    CHECK_STR(words, "clusters main and eu");
    /* a message link's server: shard (81384788765712384 >> 22) % 360 = 298 of main, % 16 = 2 of eu */
    CHECK(READ("{\"scope\":{\"guild\":\"https://discord.com/channels/81384788765712384/2/3\"},"
               "\"webhook_url\":\"https://discord.com/api/webhooks/42/t\"}") == 0);
    CHECK(in.scope == SCOPE_GUILD);
    CHECK_EQ_U64(in.guild, 81384788765712384ull);
    subscription_scope_words(&conf, &in, words, sizeof(words));
    CHECK_STR(words, "server 81384788765712384 (shard 298 of main, shard 2 of eu)");

    CHECK(READ("{\"webhook_url\":\"https://discord.com/api/webhooks/42/t\",\"scope\":{\"clusters\":[\"x\"]}}") == -1);
    CHECK_STR(field, "scope");
    CHECK(strstr(err, "unknown cluster \"x\"") != NULL);
    CHECK(READ("{\"webhook_url\":\"https://discord.com/api/webhooks/42/t\",\"scope\":{\"guild\":81384788765712384}}") == -1);
    CHECK(READ("{\"webhook_url\":\"https://discord.com/api/webhooks/42/t\",\"scope\":{\"guild\":\"0\"}}") == -1);
    CHECK(READ("{\"webhook_url\":\"https://discord.com/api/webhooks/42/t\",\"scope\":{\"guild\":\"1\",\"clusters\":[\"eu\"]}}") == -1);
    CHECK(READ("{\"webhook_url\":\"https://discord.com/api/webhooks/42/t\",\"scope\":\"all\",\"scope\":\"all\"}") == -1);
    CHECK(READ("{\"webhook_url\":\"https://discord.com/api/webhooks/42/t\"}") == -1);
    CHECK_STR(field, "scope");
    CHECK(READ("[]") == -1);
    CHECK(READ("{\"scope\":\"all\",\"webhook_url\":7}") == -1);
    CHECK_STR(field, "webhook_url");
    /* a change: the scope alone */
    CHECK(subscription_from_json(&conf, "{\"scope\":\"all\"}", 15, 0, 0, &in, err, sizeof(err), &field) == 0);
    CHECK(subscription_from_json(&conf, "{\"scope\":\"all\",\"webhook_url\":\"x\"}", 34, 0, 0, &in, err, sizeof(err),
                                 &field) == -1);
#undef READ
}

TEST(test_subscription_token_is_an_id_and_32_hex_digits)
{
    char secret[SUBSCRIPTION_SECRET_HEX + 1];
    uint64_t id;

    CHECK(subscription_token("17-0123456789abcdef0123456789abcdef", 35, &id, secret) == 0);
    CHECK_EQ_U64(id, 17);
    CHECK_STR(secret, "0123456789abcdef0123456789abcdef");
    CHECK(subscription_token("17-0123456789ABCDEF0123456789abcdef", 35, &id, secret) == -1);
    CHECK(subscription_token("17-0123456789abcdef0123456789abcde", 34, &id, secret) == -1);
    CHECK(subscription_token("0-0123456789abcdef0123456789abcdef", 34, &id, secret) == -1);
    CHECK(subscription_token("-0123456789abcdef0123456789abcdef", 33, &id, secret) == -1);
    CHECK(subscription_token("17_0123456789abcdef0123456789abcdef", 35, &id, secret) == -1);
}

static struct client_address addr(const char *text)
{
    struct client_address a = {{0}, 0};

    if (inet_pton(AF_INET, text, a.addr) == 1)
        a.len = 4;
    else if (inet_pton(AF_INET6, text, a.addr) == 1)
        a.len = 16;
    return a;
}

static const char *client(const char *peer, const char *xff)
{
    static char key[80];
    struct client_address p = addr(peer), out;

    client_address_of(&conf, &p, xff, xff ? strlen(xff) : 0, &out);
    client_address_key(&out, key, sizeof(key));
    return key;
}

TEST(test_client_address_believes_only_trusted_proxies)
{
    CHECK(load("GLANCE_TRUSTED_PROXIES", "10.0.0.0/8,::1,192.168.1.1", NULL, NULL) == 0);
    CHECK_EQ_U64(conf.num_trusted_proxies, 3);
    /* an untrusted peer is the client, whatever it says */
    CHECK_STR(client("203.0.113.5", "198.51.100.1"), "203.0.113.5");
    /* a trusted one: the first address from the right that is not ours */
    CHECK_STR(client("10.1.1.1", "198.51.100.1"), "198.51.100.1");
    CHECK_STR(client("10.1.1.1", "6.6.6.6, 198.51.100.1, 10.9.9.9"), "198.51.100.1");
    CHECK_STR(client("::1", " [2001:db8:aa:bb:1::2] "), "2001:0db8:00aa:00bb::/64");
    /* a port after the address, as some load balancers add */
    CHECK_STR(client("10.1.1.1", "198.51.100.1:4711"), "198.51.100.1");
    CHECK_STR(client("10.1.1.1", "[2001:db8:aa:bb::1]:443"), "2001:0db8:00aa:00bb::/64");
    CHECK_STR(client("10.1.1.1", "::ffff:198.51.100.7"), "198.51.100.7");
    /* garbage where the client wrote: the last hop believed */
    CHECK_STR(client("10.1.1.1", "nonsense, 10.2.2.2"), "10.2.2.2");
    CHECK_STR(client("10.1.1.1", ""), "10.1.1.1");
    /* a prefix is a prefix: 192.168.1.2 is not 192.168.1.1/32 */
    CHECK_STR(client("192.168.1.2", "198.51.100.1"), "192.168.1.2");
    /* an IPv4 peer on a dual-stack socket */
    CHECK_STR(client("::ffff:10.0.0.1", "198.51.100.9"), "198.51.100.9");
    /* a proxy given as an IPv4-mapped address is the IPv4 one */
    CHECK(load("GLANCE_TRUSTED_PROXIES", "::ffff:10.0.0.0/104", NULL, NULL) == 0);
    CHECK_STR(client("10.9.9.9", "198.51.100.1"), "198.51.100.1");
    /* none trusted: the peer, always */
    load(NULL, NULL, NULL, NULL);
    CHECK_STR(client("10.1.1.1", "198.51.100.1"), "10.1.1.1");
}

TEST(test_conf_reads_the_subscription_settings)
{
    CHECK(load(NULL, NULL, NULL, NULL) == 0);
    CHECK_EQ_U64(conf.subscriptions_max, 100000);
    CHECK_EQ_U64(conf.subscribe_per_hour, 10);
    CHECK_EQ_U64(conf.num_subscribe_origins, 4);
    CHECK_STR(conf.public_url, "");
    CHECK(load("GLANCE_PUBLIC_URL", "https://status.example.com/", "GLANCE_SUBSCRIBE_ORIGINS", "http://127.0.0.1:9999") == 0);
    CHECK_STR(conf.public_url, "https://status.example.com");
    CHECK_EQ_U64(conf.num_subscribe_origins, 1);
    static const char *const bad[][2] = {
        {"GLANCE_TRUSTED_PROXIES", "10.0.0.0/33"}, {"GLANCE_TRUSTED_PROXIES", "example.com"},
        {"GLANCE_TRUSTED_PROXIES", ",10.0.0.1"},   {"GLANCE_TRUSTED_PROXIES", "::1/"},
        {"GLANCE_PUBLIC_URL", "status.example.com"}, {"GLANCE_PUBLIC_URL", "https://a.example/?x"},
        {"GLANCE_SUBSCRIBE_ORIGINS", "*"},          {"GLANCE_SUBSCRIBE_ORIGINS", "https://*.discord.com"},
        {"GLANCE_SUBSCRIPTIONS_MAX", "-1"},         {"GLANCE_SUBSCRIBE_PER_HOUR", "0"},
    };
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        if (!CHECK(load(bad[i][0], bad[i][1], NULL, NULL) == -1) || !CHECK(strstr(err, bad[i][0]) != NULL))
            fprintf(stderr, "  %s=%s gave: %s\n", bad[i][0], bad[i][1], err);
    }
}

TEST(test_conf_routes_alerts_per_cluster)
{
    const char *a = "https://discord.com/api/webhooks/1/a", *b = "https://discord.com/api/webhooks/2/b";
    char routes[200];

    /* main:360;eu:16: eu to its own webhook and the global one, at major */
    snprintf(routes, sizeof(routes), "eu=%s,%s;level=major", b, a);
    CHECK(load("GLANCE_ALERT_WEBHOOKS", a, "GLANCE_ALERT_ROUTES", routes) == 0);
    if (!CHECK_EQ_U64(conf.num_webhooks, 2))
        fprintf(stderr, "  %s\n", err);
    CHECK(conf.clusters[1].routed && !conf.clusters[0].routed);
    CHECK_EQ_U64(conf.clusters[1].alert_level, 4); /* major */
    CHECK_EQ_U64(conf.clusters[0].alert_level, 3); /* partial, the default */
    /* a: global and in eu's route (one lane); b: eu's only */
    CHECK(conf_webhook_takes(&conf, &conf.webhooks[0], 0) && conf_webhook_takes(&conf, &conf.webhooks[0], 1));
    CHECK(!conf_webhook_takes(&conf, &conf.webhooks[1], 0) && conf_webhook_takes(&conf, &conf.webhooks[1], 1));
    /* a global webhook alone does not take a routed cluster */
    snprintf(routes, sizeof(routes), "eu=%s", b);
    CHECK(load("GLANCE_ALERT_WEBHOOKS", a, "GLANCE_ALERT_ROUTES", routes) == 0);
    CHECK(!conf_webhook_takes(&conf, &conf.webhooks[0], 1));
    CHECK(conf_webhook_takes(&conf, &conf.webhooks[0], 0));
    static const char *const bad[] = {"x=https://discord.com/api/webhooks/1/a", "eu", "eu=", "eu=;level=major",
                                      "eu=https://discord.com/api/webhooks/1/a;level=", "main=ftp://x/y"};
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i)
        if (!CHECK(load("GLANCE_ALERT_ROUTES", bad[i], NULL, NULL) == -1) || !CHECK(strstr(err, "GLANCE_ALERT_ROUTES") != NULL))
            fprintf(stderr, "  %s gave: %s\n", bad[i], err);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_subscription_takes_discord_webhook_urls_and_posts_only_to_their_webhook),
        CHECK_CASE(test_subscription_refuses_every_other_url),
        CHECK_CASE(test_subscription_reads_the_scopes_and_names_the_member_refused),
        CHECK_CASE(test_subscription_token_is_an_id_and_32_hex_digits),
        CHECK_CASE(test_client_address_believes_only_trusted_proxies),
        CHECK_CASE(test_conf_reads_the_subscription_settings),
        CHECK_CASE(test_conf_routes_alerts_per_cluster),
    };

    return CHECK_RUN(cases);
}
