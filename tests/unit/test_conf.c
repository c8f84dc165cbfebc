/* test_conf.c -- unit tests of conf.c: variables into struct conf, errors that name them, .env parsing. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "base/condition.h"
#include "base/conf.h"

/* The environment of one test: GLANCE_BOTS (NULL: unset) and at most one more variable. */
struct env {
    const char *bots;
    const char *name, *value;
};

static const char *lookup_env(void *ctx, const char *name)
{
    const struct env *e = ctx;

    if (e->name != NULL && strcmp(name, e->name) == 0)
        return e->value;
    if (strcmp(name, "GLANCE_BOTS") == 0)
        return e->bots;
    return NULL;
}

/* conf_load with GLANCE_BOTS=main:360 and `name`=`value` (name may be GLANCE_BOTS itself, or NULL). */
static int load_with(struct conf *conf, char *err, size_t errlen, const char *name, const char *value)
{
    struct env e = {"main:360", name, value};

    err[0] = '\0';
    return conf_load(conf, lookup_env, &e, err, errlen);
}

/* Checks that `name`=`value` is rejected with an error that names the variable. */
#define CHECK_REJECTED(name, value)                                                                                \
    do {                                                                                                           \
        struct conf conf_;                                                                                         \
        char err_[512];                                                                                            \
        if (CHECK(load_with(&conf_, err_, sizeof(err_), (name), (value)) == -1) &&                                 \
            !CHECK(strstr(err_, (name)) != NULL))                                                                  \
            fprintf(stderr, "  %s=\"%s\" gave: %s\n", (name), (value), err_);                                      \
    } while (0)

/* ---- conf_load: defaults ---- */

TEST(test_conf_load_fills_defaults_for_unset_variables)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), NULL, NULL) == 0))
        return;
    CHECK_STR(conf.host, "0.0.0.0");
    CHECK_EQ_U64(conf.port, 8080);
    CHECK_EQ_U64(conf.health_timeout_s, 30);
    CHECK_STR(conf.redis.host, "127.0.0.1");
    CHECK_EQ_U64(conf.redis.port, 6379);
    CHECK_EQ_U64(conf.redis.db, 0);
    CHECK_STR(conf.redis.user, "");
    CHECK_STR(conf.redis.password, "");
    CHECK_STR(conf.prefix, "glance");
    CHECK_STR(conf.web_root, "./web");
    CHECK_EQ_U64(conf.feed_interval_ms, 100);
    CHECK_STR(conf.passphrase, "");
    CHECK_EQ_U64(conf.passphrase_len, 0);
}

/* ---- conf_load: GLANCE_BOTS ---- */

TEST(test_conf_load_requires_glance_bots_and_names_it)
{
    struct conf conf;
    char err[512] = "";
    struct env e = {NULL, NULL, NULL};

    CHECK(conf_load(&conf, lookup_env, &e, err, sizeof(err)) == -1);
    CHECK(strstr(err, "GLANCE_BOTS") != NULL);
}

TEST(test_conf_load_keeps_clusters_in_the_order_given)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_BOTS", "main:360;demo:1;a.b-c_d:1000000") == 0) ||
        !CHECK_EQ_U64(conf.num_clusters, 3))
        return;
    CHECK_STR(conf.clusters[0].name, "main");
    CHECK_EQ_U64(conf.clusters[0].name_len, 4);
    CHECK_EQ_U64(conf.clusters[0].shards, 360);
    CHECK_STR(conf.clusters[1].name, "demo");
    CHECK_EQ_U64(conf.clusters[1].name_len, 4);
    CHECK_EQ_U64(conf.clusters[1].shards, 1);
    CHECK_STR(conf.clusters[2].name, "a.b-c_d");
    CHECK_EQ_U64(conf.clusters[2].shards, 1000000);
}

TEST(test_conf_load_accepts_a_trailing_semicolon_in_glance_bots)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_BOTS", "main:360;demo:1;") == 0))
        return;
    CHECK_EQ_U64(conf.num_clusters, 2);
    CHECK_STR(conf.clusters[1].name, "demo");
}

TEST(test_conf_load_rejects_malformed_glance_bots_naming_the_variable)
{
    CHECK_REJECTED("GLANCE_BOTS", "");
    CHECK_REJECTED("GLANCE_BOTS", ";");
    CHECK_REJECTED("GLANCE_BOTS", "main");
    CHECK_REJECTED("GLANCE_BOTS", "main:");
    CHECK_REJECTED("GLANCE_BOTS", ":3");
    CHECK_REJECTED("GLANCE_BOTS", "main:0");
    CHECK_REJECTED("GLANCE_BOTS", "main:abc");
    CHECK_REJECTED("GLANCE_BOTS", "main:-1");
    CHECK_REJECTED("GLANCE_BOTS", "main:1000001");
    CHECK_REJECTED("GLANCE_BOTS", "bad name:3");
    CHECK_REJECTED("GLANCE_BOTS", "..:3");
    CHECK_REJECTED("GLANCE_BOTS", "main:1;;demo:1");
}

TEST(test_conf_load_rejects_a_cluster_named_twice_naming_the_variable)
{
    CHECK_REJECTED("GLANCE_BOTS", "main:1;main:2");
    CHECK_REJECTED("GLANCE_BOTS", "main:1;demo:1;main:1");
}

/* ---- conf_load: numbers ---- */

TEST(test_conf_load_reads_glance_port)
{
    struct conf conf;
    char err[512];

    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_PORT", "1") == 0);
    CHECK_EQ_U64(conf.port, 1);
    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_PORT", "65535") == 0);
    CHECK_EQ_U64(conf.port, 65535);
}

TEST(test_conf_load_rejects_glance_port_out_of_range_or_not_a_number)
{
    CHECK_REJECTED("GLANCE_PORT", "0");
    CHECK_REJECTED("GLANCE_PORT", "65536");
    CHECK_REJECTED("GLANCE_PORT", "abc");
    CHECK_REJECTED("GLANCE_PORT", "");
    CHECK_REJECTED("GLANCE_PORT", "-80");
}

TEST(test_conf_load_rejects_a_zero_health_timeout)
{
    CHECK_REJECTED("GLANCE_HEALTH_TIMEOUT", "0");
}

TEST(test_conf_load_rejects_a_feed_interval_under_10_ms)
{
    struct conf conf;
    char err[512];

    CHECK_REJECTED("GLANCE_FEED_INTERVAL_MS", "5");
    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_FEED_INTERVAL_MS", "10") == 0);
    CHECK_EQ_U64(conf.feed_interval_ms, 10);
}

/* ---- conf_load: the drain and alerts ---- */

TEST(test_conf_load_reads_the_drain_and_the_alert_delay_with_defaults)
{
    struct conf conf;
    char err[512];

    CHECK(load_with(&conf, err, sizeof(err), NULL, NULL) == 0);
    CHECK_EQ_U64(conf.drain_ms, 3000);
    CHECK_EQ_U64(conf.alert_delay_s, 30);
    CHECK_EQ_U64(conf.alert_give_up_s, 900);
    CHECK(conf.clusters[0].alert_level == CONDITION_PARTIAL);
    /* at least 3 s + twice the timeout (10 s by default) */
    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_ALERT_GIVE_UP", "23") == 0);
    CHECK_EQ_U64(conf.alert_give_up_s, 23);
    CHECK_REJECTED("GLANCE_ALERT_GIVE_UP", "22");
    CHECK_REJECTED("GLANCE_ALERT_GIVE_UP", "0");
    CHECK_REJECTED("GLANCE_ALERT_GIVE_UP", "86401");
    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_DRAIN_MS", "0") == 0);
    CHECK_EQ_U64(conf.drain_ms, 0);
    CHECK_REJECTED("GLANCE_DRAIN_MS", "60001");
    CHECK_REJECTED("GLANCE_DRAIN_MS", "3s");
    CHECK_REJECTED("GLANCE_ALERT_DELAY", "-1");
    CHECK_REJECTED("GLANCE_ALERT_DELAY", "86401");
}

TEST(test_conf_load_reads_alert_levels_for_all_and_per_cluster)
{
    struct conf conf;
    char err[512];
    struct env e = {"main:360;demo:16;big:2000", "GLANCE_ALERT_LEVEL", "degraded;main:major"};

    if (CHECK(conf_load(&conf, lookup_env, &e, err, sizeof(err)) == 0)) {
        CHECK(conf.clusters[0].alert_level == CONDITION_MAJOR);
        CHECK(conf.clusters[1].alert_level == CONDITION_DEGRADED);
        CHECK(conf.clusters[2].alert_level == CONDITION_DEGRADED);
    }
    e.value = "demo:partial outage";
    if (CHECK(conf_load(&conf, lookup_env, &e, err, sizeof(err)) == 0)) {
        CHECK(conf.clusters[0].alert_level == CONDITION_PARTIAL);
        CHECK(conf.clusters[1].alert_level == CONDITION_PARTIAL);
    }
    CHECK_REJECTED("GLANCE_ALERT_LEVEL", "operational");
    CHECK_REJECTED("GLANCE_ALERT_LEVEL", "major;nosuch:major");
    CHECK_REJECTED("GLANCE_ALERT_LEVEL", "main:");
    CHECK_REJECTED("GLANCE_ALERT_LEVEL", "loud");
}

TEST(test_conf_load_reads_the_gateway_marks_that_alert)
{
    struct conf conf;
    char err[512];

    if (CHECK(load_with(&conf, err, sizeof(err), NULL, NULL) == 0))
        CHECK(conf.alert_gateway == (CONF_ALERT_SILENT | CONF_ALERT_STORM | CONF_ALERT_BUDGET) &&
              conf.silent_after_s == 300 && conf.storm_per_minute == 0);
    if (CHECK(load_with(&conf, err, sizeof(err), "GLANCE_ALERT_GATEWAY", "guild_cap,silent") == 0))
        CHECK(conf.alert_gateway == (CONF_ALERT_GUILD_CAP | CONF_ALERT_SILENT));
    if (CHECK(load_with(&conf, err, sizeof(err), "GLANCE_ALERT_GATEWAY", "none") == 0))
        CHECK(conf.alert_gateway == 0);
    CHECK_REJECTED("GLANCE_ALERT_GATEWAY", "silent,");
    CHECK_REJECTED("GLANCE_ALERT_GATEWAY", "zombies");
    CHECK_REJECTED("GLANCE_ALERT_GATEWAY", "");
    CHECK_REJECTED("GLANCE_SILENT_AFTER", "0");
    CHECK_REJECTED("GLANCE_STORM_PER_MINUTE", "-5");
}

TEST(test_conf_load_reads_alert_webhooks_and_hides_their_tokens)
{
    struct conf conf;
    char err[512];

    CHECK(load_with(&conf, err, sizeof(err), NULL, NULL) == 0);
    CHECK_EQ_U64(conf.num_webhooks, 0);
    if (CHECK(load_with(&conf, err, sizeof(err), "GLANCE_ALERT_WEBHOOKS",
                        "https://discord.com/api/webhooks/1/secret-token, json:http://127.0.0.1:9000/hook") == 0) &&
        CHECK_EQ_U64(conf.num_webhooks, 2)) {
        /* Discord's API named by version (v10), whatever form was pasted */
        CHECK_STR(conf.webhooks[0].url, "https://discord.com/api/v10/webhooks/1/secret-token");
        CHECK(!conf.webhooks[0].json);
        CHECK(strcmp(conf.webhooks[0].shown, "https://discord.com") == 0);
        CHECK(conf.webhooks[1].json);
        CHECK(strcmp(conf.webhooks[1].url, "http://127.0.0.1:9000/hook") == 0);
        CHECK(strlen(conf.webhooks[0].id) == 16 && strcmp(conf.webhooks[0].id, conf.webhooks[1].id) != 0);
    }
    /* the token never appears in the error */
    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_ALERT_WEBHOOKS", "http://discord.com/api/webhooks/1/secret-token") == -1);
    CHECK(strstr(err, "GLANCE_ALERT_WEBHOOKS") != NULL && strstr(err, "secret-token") == NULL);
    CHECK_REJECTED("GLANCE_ALERT_WEBHOOKS", "ftp://127.0.0.1/x");
    CHECK_REJECTED("GLANCE_ALERT_WEBHOOKS", "http://127.0.0.1.example.com/x");
    /* the host is the one libcurl connects to: user "127.0.0.1", password "1" here */
    CHECK_REJECTED("GLANCE_ALERT_WEBHOOKS", "json:http://127.0.0.1:1@0.0.0.0:9000/hook");
    CHECK_REJECTED("GLANCE_ALERT_WEBHOOKS", "http://localhost@example.com/x");
    CHECK_REJECTED("GLANCE_ALERT_WEBHOOKS", "https://");
    if (CHECK(load_with(&conf, err, sizeof(err), "GLANCE_ALERT_WEBHOOKS",
                        "https://discord.com/api/v6/webhooks/2/t?thread_id=9,https://canary.discord.com/api/v10/webhooks/3/t,"
                        "http://[::1]:9000/api/webhooks/4/t") == 0) &&
        CHECK_EQ_U64(conf.num_webhooks, 3)) {
        CHECK_STR(conf.webhooks[0].url, "https://discord.com/api/v10/webhooks/2/t?thread_id=9");
        CHECK_STR(conf.webhooks[1].url, "https://canary.discord.com/api/v10/webhooks/3/t");
        CHECK_STR(conf.webhooks[2].url, "http://[::1]:9000/api/v10/webhooks/4/t");
        CHECK_STR(conf.webhooks[2].shown, "http://[::1]:9000");
    }
    CHECK_REJECTED("GLANCE_ALERT_WEBHOOKS", "https://a/1,https://b/2,https://c/3,https://d/4,https://e/5");
    CHECK_REJECTED("GLANCE_ALERT_ROLE", "@everyone");
    CHECK_REJECTED("GLANCE_ALERT_TIMEOUT_MS", "10");
    CHECK_REJECTED("GLANCE_ALERT_WEBHOOKS_FILE", "/nonexistent/webhooks");
}

/* ---- conf_load: GLANCE_REDIS_URL ---- */

TEST(test_conf_load_reads_host_port_and_db_from_the_redis_url)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_REDIS_URL", "redis://h:7000/3") == 0))
        return;
    CHECK_STR(conf.redis.host, "h");
    CHECK_EQ_U64(conf.redis.port, 7000);
    CHECK_EQ_U64(conf.redis.db, 3);
    CHECK_STR(conf.redis.user, "");
    CHECK_STR(conf.redis.password, "");
}

TEST(test_conf_load_reads_a_password_without_user_from_the_redis_url)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_REDIS_URL", "redis://:pw@h") == 0))
        return;
    CHECK_STR(conf.redis.host, "h");
    CHECK_EQ_U64(conf.redis.port, 6379);
    CHECK_EQ_U64(conf.redis.db, 0);
    CHECK_STR(conf.redis.user, "");
    CHECK_STR(conf.redis.password, "pw");
}

TEST(test_conf_load_reads_user_password_host_port_and_db_from_the_redis_url)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_REDIS_URL", "redis://user:pw@h:1/2") == 0))
        return;
    CHECK_STR(conf.redis.host, "h");
    CHECK_EQ_U64(conf.redis.port, 1);
    CHECK_EQ_U64(conf.redis.db, 2);
    CHECK_STR(conf.redis.user, "user");
    CHECK_STR(conf.redis.password, "pw");
}

TEST(test_conf_load_rejects_malformed_redis_urls_naming_the_variable)
{
    CHECK_REJECTED("GLANCE_REDIS_URL", "http://x");
    CHECK_REJECTED("GLANCE_REDIS_URL", "redis://");
    CHECK_REJECTED("GLANCE_REDIS_URL", "redis://h:0");
    CHECK_REJECTED("GLANCE_REDIS_URL", "redis://h:99999");
    CHECK_REJECTED("GLANCE_REDIS_URL", "redis://h/abc");
    CHECK_REJECTED("GLANCE_REDIS_URL", "redis://h:");
    CHECK_REJECTED("GLANCE_REDIS_URL", "redis://:7000");
    CHECK_REJECTED("GLANCE_REDIS_URL", "redis://pw@h");
}

TEST(test_conf_load_never_echoes_the_redis_password_in_an_error)
{
    struct conf conf;
    char err[512];

    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_REDIS_URL", "redis://u:secretpw@h:notaport") == -1);
    CHECK(strstr(err, "GLANCE_REDIS_URL") != NULL);
    CHECK(strstr(err, "secretpw") == NULL);
}

/* ---- conf_load: GLANCE_REDIS_PREFIX, GLANCE_PASSPHRASE ---- */

TEST(test_conf_load_accepts_a_prefix_with_colons)
{
    struct conf conf;
    char err[512];

    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_REDIS_PREFIX", "app:glance-2_x.y") == 0);
    CHECK_STR(conf.prefix, "app:glance-2_x.y");
}

TEST(test_conf_load_rejects_an_invalid_redis_prefix_naming_the_variable)
{
    char long_prefix[66];

    memset(long_prefix, 'p', 65);
    long_prefix[65] = '\0';
    CHECK_REJECTED("GLANCE_REDIS_PREFIX", "a b");
    CHECK_REJECTED("GLANCE_REDIS_PREFIX", "");
    CHECK_REJECTED("GLANCE_REDIS_PREFIX", "a{b}");
    CHECK_REJECTED("GLANCE_REDIS_PREFIX", long_prefix);
}

TEST(test_conf_load_keeps_the_passphrase_and_its_length)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_PASSPHRASE", "correct horse battery") == 0))
        return;
    CHECK_STR(conf.passphrase, "correct horse battery");
    CHECK_EQ_U64(conf.passphrase_len, 21);
}

TEST(test_conf_load_caps_the_shards_of_all_clusters_together)
{
    struct conf conf;
    char err[512];

    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_BOTS",
                    "a:1000000;b:1000000;c:1000000;d:1000000;e:1000000;f:1000000;g:1000000;h:1000000") == 0);
    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_BOTS",
                    "a:1000000;b:1000000;c:1000000;d:1000000;e:1000000;f:1000000;g:1000000;h:1000000;i:1") == -1);
    CHECK(strstr(err, "GLANCE_BOTS") != NULL && strstr(err, "8000000 shards in all") != NULL);
}

TEST(test_conf_load_refuses_an_empty_passphrase_instead_of_running_open)
{
    struct conf conf;
    char err[512];

    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_PASSPHRASE", "") == -1);
    CHECK(strstr(err, "GLANCE_PASSPHRASE") != NULL && strstr(err, "leave it unset") != NULL);
}

/* ---- conf_parse_env ---- */

#define MAX_ENTRIES 8

/* Parses `text` (copied, since the parser rewrites it) into `entries`; returns what conf_parse_env returns. */
static int parse_env(char *copy, size_t copylen, const char *text, struct conf_env_entry *entries, size_t *count,
                     char *err, size_t errlen)
{
    snprintf(copy, copylen, "%s", text);
    err[0] = '\0';
    return conf_parse_env(copy, ".env", entries, MAX_ENTRIES, count, err, errlen);
}

#define PARSE_ENV(text)                                                                                            \
    parse_env(copy, sizeof(copy), (text), entries, &count, err, sizeof(err))
#define ENV_LOCALS                                                                                                 \
    char copy[512], err[256];                                                                                      \
    struct conf_env_entry entries[MAX_ENTRIES];                                                                    \
    size_t count = 99

TEST(test_conf_parse_env_reads_key_value_lines)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("GLANCE_BOTS=main:360\nGLANCE_PORT=8081\n") == 0) || !CHECK_EQ_U64(count, 2))
        return;
    CHECK_STR(entries[0].key, "GLANCE_BOTS");
    CHECK_STR(entries[0].value, "main:360");
    CHECK_STR(entries[1].key, "GLANCE_PORT");
    CHECK_STR(entries[1].value, "8081");
}

TEST(test_conf_parse_env_reads_the_last_line_without_newline)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("A=1") == 0) || !CHECK_EQ_U64(count, 1))
        return;
    CHECK_STR(entries[0].key, "A");
    CHECK_STR(entries[0].value, "1");
}

TEST(test_conf_parse_env_trims_spaces_around_key_and_value)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("  A = 1  \n") == 0) || !CHECK_EQ_U64(count, 1))
        return;
    CHECK_STR(entries[0].key, "A");
    CHECK_STR(entries[0].value, "1");
}

TEST(test_conf_parse_env_accepts_an_empty_value)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("A=\n") == 0) || !CHECK_EQ_U64(count, 1))
        return;
    CHECK_STR(entries[0].value, "");
}

TEST(test_conf_parse_env_drops_export)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("export K=V\n") == 0) || !CHECK_EQ_U64(count, 1))
        return;
    CHECK_STR(entries[0].key, "K");
    CHECK_STR(entries[0].value, "V");
}

TEST(test_conf_parse_env_skips_comments_and_blank_lines)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("# a comment\n\n   \n\t\nA=1\n  # indented comment\nB=2\n\n") == 0) ||
        !CHECK_EQ_U64(count, 2))
        return;
    CHECK_STR(entries[0].key, "A");
    CHECK_STR(entries[1].key, "B");
}

TEST(test_conf_parse_env_removes_double_quotes_and_keeps_hash_inside)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("A=\"hello world\"\nB=\"x # not a comment\"\nC=\"\"\n") == 0) || !CHECK_EQ_U64(count, 3))
        return;
    CHECK_STR(entries[0].value, "hello world");
    CHECK_STR(entries[1].value, "x # not a comment");
    CHECK_STR(entries[2].value, "");
}

TEST(test_conf_parse_env_removes_single_quotes_and_keeps_hash_inside)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("A='hello world'\nB='x # not a comment'\n") == 0) || !CHECK_EQ_U64(count, 2))
        return;
    CHECK_STR(entries[0].value, "hello world");
    CHECK_STR(entries[1].value, "x # not a comment");
}

TEST(test_conf_parse_env_strips_a_comment_after_an_unquoted_value)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("A=value # comment\nB=a#b\n") == 0) || !CHECK_EQ_U64(count, 2))
        return;
    CHECK_STR(entries[0].value, "value");
    CHECK_STR(entries[1].value, "a#b"); /* a '#' not after a space is part of the value */
}

TEST(test_conf_parse_env_accepts_crlf_line_endings)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("# comment\r\nA=1\r\n\r\nB=\"two\"\r\nC='3'\r\n") == 0) || !CHECK_EQ_U64(count, 3))
        return;
    CHECK_STR(entries[0].key, "A");
    CHECK_STR(entries[0].value, "1");
    CHECK_STR(entries[1].value, "two");
    CHECK_STR(entries[2].value, "3");
}

TEST(test_conf_parse_env_rejects_an_empty_key_with_file_and_line)
{
    ENV_LOCALS;

    CHECK(PARSE_ENV("=novalue\n") == -1);
    CHECK(strstr(err, ".env:1") != NULL);
}

TEST(test_conf_parse_env_rejects_a_line_without_equals_with_file_and_line)
{
    ENV_LOCALS;

    CHECK(PARSE_ENV("A=1\n# comment\nNOEQUALS\n") == -1);
    CHECK(strstr(err, ".env:3") != NULL);
}

TEST(test_conf_parse_env_rejects_an_unterminated_quote)
{
    ENV_LOCALS;

    CHECK(PARSE_ENV("A=\"abc\n") == -1);
    CHECK(strstr(err, ".env:1") != NULL);
    CHECK(PARSE_ENV("A='abc\n") == -1);
    CHECK(PARSE_ENV("A=\"abc'\n") == -1);
    CHECK(PARSE_ENV("A=\"\n") == -1);
}

TEST(test_conf_parse_env_rejects_a_key_that_is_not_a_variable_name)
{
    ENV_LOCALS;

    CHECK(PARSE_ENV("A-B=1\n") == -1);
    CHECK(strstr(err, ".env:1") != NULL);
    CHECK(PARSE_ENV("A B=1\n") == -1);
}

TEST(test_conf_parse_env_rejects_more_entries_than_room)
{
    ENV_LOCALS;

    CHECK(PARSE_ENV("A=1\nB=2\nC=3\nD=4\nE=5\nF=6\nG=7\nH=8\nI=9\n") == -1);
    CHECK(strstr(err, ".env:9") != NULL);
}

TEST(test_conf_load_splits_credentials_at_the_last_at_sign)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_REDIS_URL", "redis://:p@ss@h:7/1") == 0))
        return;
    CHECK_STR(conf.redis.password, "p@ss");
    CHECK_STR(conf.redis.host, "h");
    CHECK_EQ_U64(conf.redis.port, 7);
}

TEST(test_conf_load_shows_a_bad_redis_url_with_its_password_masked)
{
    struct conf conf;
    char err[512];

    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_REDIS_URL", "redis://u:secretpw@h:notaport") == -1);
    CHECK(strstr(err, "redis://u:***@h:notaport") != NULL);
    CHECK(load_with(&conf, err, sizeof(err), "GLANCE_REDIS_URL", "http://x") == -1);
    CHECK(strstr(err, "\"http://x\"") != NULL);
}

TEST(test_conf_parse_env_reads_an_empty_value_followed_by_a_comment)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("A= # comment\nB=v\t# tab comment\n") == 0) || !CHECK_EQ_U64(count, 2))
        return;
    CHECK_STR(entries[0].value, "");
    CHECK_STR(entries[1].value, "v");
}

TEST(test_conf_parse_env_accepts_a_comment_after_a_quoted_value)
{
    ENV_LOCALS;

    if (!CHECK(PARSE_ENV("A=\"v # kept\" # dropped\n") == 0) || !CHECK_EQ_U64(count, 1))
        return;
    CHECK_STR(entries[0].value, "v # kept");
}

TEST(test_conf_parse_env_rejects_text_after_a_quoted_value)
{
    ENV_LOCALS;

    CHECK(PARSE_ENV("A=\"v\" junk\n") == -1);
}

/* ---- conf_load: several variables at once ---- */

/* name=value pairs, NULL-terminated; GLANCE_BOTS=main:360 unless the list sets it. */
struct env_list {
    const char *pairs[8][2];
};

static const char *lookup_list(void *ctx, const char *name)
{
    const struct env_list *e = ctx;
    size_t i;

    for (i = 0; i != 8 && e->pairs[i][0] != NULL; ++i)
        if (strcmp(e->pairs[i][0], name) == 0)
            return e->pairs[i][1];
    return strcmp(name, "GLANCE_BOTS") == 0 ? "main:360" : NULL;
}

/* Writes `text` to a new temp file and puts its name in `path` (at least 64 bytes). Returns 0 or -1. */
static int temp_file(char *path, const char *text)
{
    int fd;
    size_t len = strlen(text);

    strcpy(path, "/tmp/glance-test-conf-XXXXXX");
    if ((fd = mkstemp(path)) == -1)
        return -1;
    if (write(fd, text, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

/* ---- conf_load: GLANCE_PASSPHRASE_FILE ---- */

TEST(test_conf_load_reads_the_passphrase_from_the_first_line_of_a_file)
{
    struct conf conf;
    char err[512], path[64];

    if (!CHECK(temp_file(path, "from-a-file\nsecond line\n") == 0))
        return;
    if (CHECK(load_with(&conf, err, sizeof(err), "GLANCE_PASSPHRASE_FILE", path) == 0)) {
        CHECK_STR(conf.passphrase, "from-a-file");
        CHECK_EQ_U64(conf.passphrase_len, 11);
    }
    unlink(path);
}

TEST(test_conf_load_drops_a_crlf_after_the_passphrase_in_a_file)
{
    struct conf conf;
    char err[512], path[64];

    if (!CHECK(temp_file(path, "windows\r\n") == 0))
        return;
    if (CHECK(load_with(&conf, err, sizeof(err), "GLANCE_PASSPHRASE_FILE", path) == 0))
        CHECK_STR(conf.passphrase, "windows");
    unlink(path);
}

TEST(test_conf_load_reads_a_passphrase_file_without_a_newline)
{
    struct conf conf;
    char err[512], path[64];

    if (!CHECK(temp_file(path, "no-newline") == 0))
        return;
    if (CHECK(load_with(&conf, err, sizeof(err), "GLANCE_PASSPHRASE_FILE", path) == 0))
        CHECK_STR(conf.passphrase, "no-newline");
    unlink(path);
}

TEST(test_conf_load_rejects_an_empty_passphrase_file_naming_the_variable)
{
    char path[64];

    if (!CHECK(temp_file(path, "") == 0))
        return;
    CHECK_REJECTED("GLANCE_PASSPHRASE_FILE", path);
    unlink(path);
    if (!CHECK(temp_file(path, "\nsecret on the second line\n") == 0))
        return;
    CHECK_REJECTED("GLANCE_PASSPHRASE_FILE", path);
    unlink(path);
}

TEST(test_conf_load_takes_a_passphrase_file_line_that_just_fits_and_rejects_a_longer_one)
{
    struct conf conf;
    char err[512], path[64], line[sizeof(conf.passphrase) + 2];

    memset(line, 'p', sizeof(conf.passphrase) - 1);
    strcpy(line + sizeof(conf.passphrase) - 1, "\n");
    if (!CHECK(temp_file(path, line) == 0))
        return;
    if (CHECK(load_with(&conf, err, sizeof(err), "GLANCE_PASSPHRASE_FILE", path) == 0))
        CHECK_EQ_U64(conf.passphrase_len, sizeof(conf.passphrase) - 1);
    unlink(path);
    /* one byte more would be cut short without a word */
    memset(line, 'p', sizeof(conf.passphrase));
    strcpy(line + sizeof(conf.passphrase), "\n");
    if (!CHECK(temp_file(path, line) == 0))
        return;
    CHECK_REJECTED("GLANCE_PASSPHRASE_FILE", path);
    unlink(path);
}

TEST(test_conf_load_rejects_a_missing_passphrase_file_naming_the_variable)
{
    CHECK_REJECTED("GLANCE_PASSPHRASE_FILE", "/nonexistent/glance/passphrase");
}

TEST(test_conf_load_rejects_both_passphrase_variables_without_showing_the_passphrase)
{
    struct conf conf;
    char err[512] = "", path[64];
    struct env_list e = {{{"GLANCE_PASSPHRASE", "hunter2-in-env"}, {"GLANCE_PASSPHRASE_FILE", NULL}}};

    if (!CHECK(temp_file(path, "hunter2-in-file\n") == 0))
        return;
    e.pairs[1][1] = path;
    CHECK(conf_load(&conf, lookup_list, &e, err, sizeof(err)) == -1);
    CHECK(strstr(err, "GLANCE_PASSPHRASE") != NULL);
    CHECK(strstr(err, "hunter2") == NULL);
    unlink(path);
}

/* ---- conf_load: GLANCE_REDIS_SENTINELS and GLANCE_REDIS_MASTER ---- */

TEST(test_conf_load_reads_the_sentinel_list_and_the_default_master_name)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_REDIS_SENTINELS", "10.0.0.1:26379,sentinel-b:26380,h:1") == 0))
        return;
    if (!CHECK_EQ_U64(conf.redis.num_sentinels, 3))
        return;
    CHECK_STR(conf.redis.sentinels[0].host, "10.0.0.1");
    CHECK_EQ_U64(conf.redis.sentinels[0].port, 26379);
    CHECK_STR(conf.redis.sentinels[1].host, "sentinel-b");
    CHECK_EQ_U64(conf.redis.sentinels[1].port, 26380);
    CHECK_STR(conf.redis.sentinels[2].host, "h");
    CHECK_EQ_U64(conf.redis.sentinels[2].port, 1);
    CHECK_STR(conf.redis.master, "mymaster");
}

TEST(test_conf_load_has_no_sentinels_unless_told)
{
    struct conf conf;
    char err[512];

    if (CHECK(load_with(&conf, err, sizeof(err), NULL, NULL) == 0))
        CHECK_EQ_U64(conf.redis.num_sentinels, 0);
}

TEST(test_conf_load_keeps_the_redis_url_password_and_db_with_sentinels)
{
    struct conf conf;
    char err[512] = "";
    struct env_list e = {{{"GLANCE_REDIS_SENTINELS", "s:26379"}, {"GLANCE_REDIS_URL", "redis://:pw@ignored:1/3"},
                          {"GLANCE_REDIS_MASTER", "glance-master"}}};

    if (!CHECK(conf_load(&conf, lookup_list, &e, err, sizeof(err)) == 0))
        return;
    CHECK_STR(conf.redis.password, "pw");
    CHECK_EQ_U64(conf.redis.db, 3);
    CHECK_STR(conf.redis.master, "glance-master");
    CHECK_EQ_U64(conf.redis.num_sentinels, 1);
}

TEST(test_conf_load_rejects_malformed_sentinel_lists_naming_the_variable)
{
    CHECK_REJECTED("GLANCE_REDIS_SENTINELS", "localhost");
    CHECK_REJECTED("GLANCE_REDIS_SENTINELS", "localhost:");
    CHECK_REJECTED("GLANCE_REDIS_SENTINELS", ":26379");
    CHECK_REJECTED("GLANCE_REDIS_SENTINELS", "h:0");
    CHECK_REJECTED("GLANCE_REDIS_SENTINELS", "h:65536");
    CHECK_REJECTED("GLANCE_REDIS_SENTINELS", "h:26379x");
    CHECK_REJECTED("GLANCE_REDIS_SENTINELS", "h:-1");
    CHECK_REJECTED("GLANCE_REDIS_SENTINELS", "a:1,,b:2");
    CHECK_REJECTED("GLANCE_REDIS_SENTINELS", "a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9");
}

TEST(test_conf_load_rejects_an_empty_master_name_naming_the_variable)
{
    CHECK_REJECTED("GLANCE_REDIS_MASTER", "");
}

/* ---- conf_load: feed limits and origins ---- */

TEST(test_conf_load_fills_feed_limit_defaults)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), NULL, NULL) == 0))
        return;
    CHECK_EQ_U64(conf.feed_max_clients, 100000);
    CHECK_EQ_U64(conf.feed_max_per_address, 0);
    CHECK_EQ_U64(conf.num_feed_origins, 0);
}

TEST(test_conf_load_reads_the_feed_limits)
{
    struct conf conf;
    char err[512] = "";
    struct env_list e = {{{"GLANCE_FEED_MAX_CLIENTS", "2"}, {"GLANCE_FEED_MAX_PER_ADDRESS", "1"}}};

    if (!CHECK(conf_load(&conf, lookup_list, &e, err, sizeof(err)) == 0))
        return;
    CHECK_EQ_U64(conf.feed_max_clients, 2);
    CHECK_EQ_U64(conf.feed_max_per_address, 1);
}

TEST(test_conf_load_rejects_feed_limits_out_of_range_naming_the_variable)
{
    CHECK_REJECTED("GLANCE_FEED_MAX_CLIENTS", "0");
    CHECK_REJECTED("GLANCE_FEED_MAX_CLIENTS", "1000001");
    CHECK_REJECTED("GLANCE_FEED_MAX_CLIENTS", "many");
    CHECK_REJECTED("GLANCE_FEED_MAX_CLIENTS", "");
    CHECK_REJECTED("GLANCE_FEED_MAX_PER_ADDRESS", "-1");
    CHECK_REJECTED("GLANCE_FEED_MAX_PER_ADDRESS", "1000001");
    CHECK_REJECTED("GLANCE_FEED_MAX_PER_ADDRESS", " 1");
}

TEST(test_conf_load_reads_the_bound_on_bytes_held_for_readers)
{
    struct conf conf;
    char err[512] = "";
    struct env_list none = {{{NULL, NULL}}}, e = {{{"GLANCE_READER_BYTES_MAX_MB", "8"}}};

    if (!CHECK(conf_load(&conf, lookup_list, &none, err, sizeof(err)) == 0))
        return;
    CHECK_EQ_U64(conf.reader_bytes_max_mib, 64);
    if (!CHECK(conf_load(&conf, lookup_list, &e, err, sizeof(err)) == 0))
        return;
    CHECK_EQ_U64(conf.reader_bytes_max_mib, 8);
    CHECK_REJECTED("GLANCE_READER_BYTES_MAX_MB", "0");
    CHECK_REJECTED("GLANCE_READER_BYTES_MAX_MB", "65537");
    CHECK_REJECTED("GLANCE_READER_BYTES_MAX_MB", "lots");
}

TEST(test_conf_load_reads_the_allowed_feed_origins)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_FEED_ORIGINS",
                         "https://status.example.com,http://localhost:8080") == 0) ||
        !CHECK_EQ_U64(conf.num_feed_origins, 2))
        return;
    CHECK_STR(conf.feed_origins[0], "https://status.example.com");
    CHECK_STR(conf.feed_origins[1], "http://localhost:8080");
}

TEST(test_conf_load_rejects_malformed_feed_origins_naming_the_variable)
{
    char many[17 * 12 + 1] = "", longest[300];
    int i;

    CHECK_REJECTED("GLANCE_FEED_ORIGINS", "status.example.com");
    CHECK_REJECTED("GLANCE_FEED_ORIGINS", "ftp://example.com");
    CHECK_REJECTED("GLANCE_FEED_ORIGINS", "https://a.example,,https://b.example");
    for (i = 0; i != 17; ++i)
        strcat(many, i == 0 ? "http://a.b" : ",http://a.b");
    CHECK_REJECTED("GLANCE_FEED_ORIGINS", many);
    strcpy(longest, "https://");
    memset(longest + 8, 'a', sizeof(longest) - 9);
    longest[sizeof(longest) - 1] = '\0';
    CHECK_REJECTED("GLANCE_FEED_ORIGINS", longest);
}

TEST(test_conf_load_reads_the_embedding_origins_with_wildcards)
{
    struct conf conf;
    char err[512];

    if (!CHECK(load_with(&conf, err, sizeof(err), NULL, NULL) == 0) ||
        !CHECK_EQ_U64(conf.num_embed_origins, 0))
        return;
    if (!CHECK(load_with(&conf, err, sizeof(err), "GLANCE_EMBED_ORIGINS",
                         "https://bot.example,https://*.example.org,http://127.0.0.1:8123,http://localhost:*") == 0) ||
        !CHECK_EQ_U64(conf.num_embed_origins, 4))
        return;
    CHECK_STR(conf.embed_origins[1], "https://*.example.org");
    CHECK_STR(conf.embed_origins[3], "http://localhost:*");
    if (CHECK(load_with(&conf, err, sizeof(err), "GLANCE_EMBED_ORIGINS", "*") == 0))
        CHECK_STR(conf.embed_origins[0], "*");
}

TEST(test_conf_load_rejects_embedding_origins_that_could_bend_the_header)
{
    CHECK_REJECTED("GLANCE_EMBED_ORIGINS", "bot.example");
    CHECK_REJECTED("GLANCE_EMBED_ORIGINS", "https://bot.example/status");
    CHECK_REJECTED("GLANCE_EMBED_ORIGINS", "https://bot.example; script-src *");
    CHECK_REJECTED("GLANCE_EMBED_ORIGINS", "https://bot.example 'unsafe-inline'");
    CHECK_REJECTED("GLANCE_EMBED_ORIGINS", "https://a.example,,https://b.example");
    CHECK_REJECTED("GLANCE_EMBED_ORIGINS", "https://*");
    CHECK_REJECTED("GLANCE_EMBED_ORIGINS", "https://a.example:");
    CHECK_REJECTED("GLANCE_EMBED_ORIGINS", "https://a.example:80x");
    CHECK_REJECTED("GLANCE_EMBED_ORIGINS", "'self'");
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_conf_load_reads_the_embedding_origins_with_wildcards),
        CHECK_CASE(test_conf_load_rejects_embedding_origins_that_could_bend_the_header),
        CHECK_CASE(test_conf_load_fills_defaults_for_unset_variables),
        CHECK_CASE(test_conf_load_splits_credentials_at_the_last_at_sign),
        CHECK_CASE(test_conf_load_shows_a_bad_redis_url_with_its_password_masked),
        CHECK_CASE(test_conf_parse_env_reads_an_empty_value_followed_by_a_comment),
        CHECK_CASE(test_conf_parse_env_accepts_a_comment_after_a_quoted_value),
        CHECK_CASE(test_conf_parse_env_rejects_text_after_a_quoted_value),
        CHECK_CASE(test_conf_load_requires_glance_bots_and_names_it),
        CHECK_CASE(test_conf_load_keeps_clusters_in_the_order_given),
        CHECK_CASE(test_conf_load_accepts_a_trailing_semicolon_in_glance_bots),
        CHECK_CASE(test_conf_load_rejects_malformed_glance_bots_naming_the_variable),
        CHECK_CASE(test_conf_load_rejects_a_cluster_named_twice_naming_the_variable),
        CHECK_CASE(test_conf_load_reads_glance_port),
        CHECK_CASE(test_conf_load_rejects_glance_port_out_of_range_or_not_a_number),
        CHECK_CASE(test_conf_load_rejects_a_zero_health_timeout),
        CHECK_CASE(test_conf_load_rejects_a_feed_interval_under_10_ms),
        CHECK_CASE(test_conf_load_reads_host_port_and_db_from_the_redis_url),
        CHECK_CASE(test_conf_load_reads_a_password_without_user_from_the_redis_url),
        CHECK_CASE(test_conf_load_reads_user_password_host_port_and_db_from_the_redis_url),
        CHECK_CASE(test_conf_load_rejects_malformed_redis_urls_naming_the_variable),
        CHECK_CASE(test_conf_load_never_echoes_the_redis_password_in_an_error),
        CHECK_CASE(test_conf_load_accepts_a_prefix_with_colons),
        CHECK_CASE(test_conf_load_rejects_an_invalid_redis_prefix_naming_the_variable),
        CHECK_CASE(test_conf_load_keeps_the_passphrase_and_its_length),
        CHECK_CASE(test_conf_load_refuses_an_empty_passphrase_instead_of_running_open),
        CHECK_CASE(test_conf_load_caps_the_shards_of_all_clusters_together),
        CHECK_CASE(test_conf_parse_env_reads_key_value_lines),
        CHECK_CASE(test_conf_parse_env_reads_the_last_line_without_newline),
        CHECK_CASE(test_conf_parse_env_trims_spaces_around_key_and_value),
        CHECK_CASE(test_conf_parse_env_accepts_an_empty_value),
        CHECK_CASE(test_conf_parse_env_drops_export),
        CHECK_CASE(test_conf_parse_env_skips_comments_and_blank_lines),
        CHECK_CASE(test_conf_parse_env_removes_double_quotes_and_keeps_hash_inside),
        CHECK_CASE(test_conf_parse_env_removes_single_quotes_and_keeps_hash_inside),
        CHECK_CASE(test_conf_parse_env_strips_a_comment_after_an_unquoted_value),
        CHECK_CASE(test_conf_parse_env_accepts_crlf_line_endings),
        CHECK_CASE(test_conf_parse_env_rejects_an_empty_key_with_file_and_line),
        CHECK_CASE(test_conf_parse_env_rejects_a_line_without_equals_with_file_and_line),
        CHECK_CASE(test_conf_parse_env_rejects_an_unterminated_quote),
        CHECK_CASE(test_conf_parse_env_rejects_a_key_that_is_not_a_variable_name),
        CHECK_CASE(test_conf_parse_env_rejects_more_entries_than_room),
        CHECK_CASE(test_conf_load_reads_the_passphrase_from_the_first_line_of_a_file),
        CHECK_CASE(test_conf_load_drops_a_crlf_after_the_passphrase_in_a_file),
        CHECK_CASE(test_conf_load_reads_a_passphrase_file_without_a_newline),
        CHECK_CASE(test_conf_load_rejects_an_empty_passphrase_file_naming_the_variable),
        CHECK_CASE(test_conf_load_takes_a_passphrase_file_line_that_just_fits_and_rejects_a_longer_one),
        CHECK_CASE(test_conf_load_rejects_a_missing_passphrase_file_naming_the_variable),
        CHECK_CASE(test_conf_load_rejects_both_passphrase_variables_without_showing_the_passphrase),
        CHECK_CASE(test_conf_load_reads_the_sentinel_list_and_the_default_master_name),
        CHECK_CASE(test_conf_load_has_no_sentinels_unless_told),
        CHECK_CASE(test_conf_load_keeps_the_redis_url_password_and_db_with_sentinels),
        CHECK_CASE(test_conf_load_rejects_malformed_sentinel_lists_naming_the_variable),
        CHECK_CASE(test_conf_load_rejects_an_empty_master_name_naming_the_variable),
        CHECK_CASE(test_conf_load_fills_feed_limit_defaults),
        CHECK_CASE(test_conf_load_reads_the_feed_limits),
        CHECK_CASE(test_conf_load_rejects_feed_limits_out_of_range_naming_the_variable),
        CHECK_CASE(test_conf_load_reads_the_bound_on_bytes_held_for_readers),
        CHECK_CASE(test_conf_load_reads_the_allowed_feed_origins),
        CHECK_CASE(test_conf_load_rejects_malformed_feed_origins_naming_the_variable),
        CHECK_CASE(test_conf_load_reads_the_drain_and_the_alert_delay_with_defaults),
        CHECK_CASE(test_conf_load_reads_alert_levels_for_all_and_per_cluster),
        CHECK_CASE(test_conf_load_reads_the_gateway_marks_that_alert),
        CHECK_CASE(test_conf_load_reads_alert_webhooks_and_hides_their_tokens),
    };

    return CHECK_RUN(cases);
}
