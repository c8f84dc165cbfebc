/* fuzz_conf.c -- libFuzzer target: a .env file parsed by conf_parse_env, then loaded by conf_load. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/conf.h"

#define MAX_ENTRIES 256 /* as main.c */

struct env {
    struct conf_env_entry entries[MAX_ENTRIES];
    size_t count;
    char passphrase_path[64];
};

/* The last entry of a name wins, as in main.c. GLANCE_PASSPHRASE_FILE is never a path from the input
 * (that could name a FIFO or a device): its value becomes the content of a file of our own instead. */
static const char *lookup(void *ctx, const char *name)
{
    struct env *env = ctx;
    size_t i;

    for (i = env->count; i-- != 0;) {
        if (strcmp(env->entries[i].key, name) != 0)
            continue;
        if (strcmp(name, "GLANCE_PASSPHRASE_FILE") == 0) {
            FILE *fp = fopen(env->passphrase_path, "w");
            if (fp == NULL)
                abort();
            fputs(env->entries[i].value, fp);
            fclose(fp);
            return env->passphrase_path;
        }
        return env->entries[i].value;
    }
    return NULL;
}

/* 1 when an error message shows the passphrase. Only passphrases that cannot be mistaken for the
 * message's own words (8 bytes or more, one of them outside ASCII) and that no other variable repeats
 * are checked. */
static int secret_in_error(const struct env *env, const char *err)
{
    const char *secret = NULL;
    size_t i, len;
    int foreign = 0;

    for (i = env->count; i-- != 0;) {
        const char *k = env->entries[i].key;
        if (strcmp(k, "GLANCE_PASSPHRASE") == 0 || strcmp(k, "GLANCE_PASSPHRASE_FILE") == 0) {
            secret = env->entries[i].value;
            break;
        }
    }
    if (secret == NULL || (len = strcspn(secret, "\r\n")) < 8)
        return 0;
    for (i = 0; i != len; ++i)
        foreign |= (unsigned char)secret[i] >= 0x80;
    if (!foreign)
        return 0;
    for (i = 0; i != env->count; ++i) {
        const struct conf_env_entry *e = &env->entries[i];
        if (e->value != secret && (memmem(e->value, strlen(e->value), secret, len) != NULL ||
                                   memmem(e->key, strlen(e->key), secret, len) != NULL))
            return 0;
    }
    return memmem(err, strlen(err), secret, len) != NULL;
}

static struct env env;

static void remove_passphrase_file(void)
{
    unlink(env.passphrase_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(env.passphrase_path, sizeof(env.passphrase_path), "%s/glance-fuzz-passphrase.%ld",
             tmp != NULL && tmp[0] != '\0' && strlen(tmp) < 32 ? tmp : "/tmp", (long)getpid());
    atexit(remove_passphrase_file);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct conf conf;
    char *text = malloc(size + 1);
    char err[512];

    memcpy(text, data, size);
    text[size] = '\0';
    env.count = 0;
    err[0] = '\0';
    if (conf_parse_env(text, ".env", env.entries, MAX_ENTRIES, &env.count, err, sizeof(err)) == 0) {
        if (env.count > MAX_ENTRIES)
            abort();
        err[0] = '\0';
        if (conf_load(&conf, lookup, &env, err, sizeof(err)) == 0) {
            /* what the rest of the replica relies on */
            if (conf.num_clusters == 0 || conf.num_clusters > CONF_MAX_CLUSTERS || conf.port == 0 ||
                conf.passphrase_len != strlen(conf.passphrase) || conf.redis.num_sentinels > CONF_MAX_SENTINELS ||
                conf.num_feed_origins > CONF_MAX_ORIGINS || conf.feed_max_clients == 0 ||
                memchr(conf.prefix, '\0', sizeof(conf.prefix)) == NULL ||
                memchr(conf.replica, '\0', sizeof(conf.replica)) == NULL)
                abort();
            for (size_t i = 0; i != conf.num_clusters; ++i)
                if (conf.clusters[i].shards == 0 || conf.clusters[i].shards > CONF_MAX_SHARDS ||
                    conf.clusters[i].name_len != strlen(conf.clusters[i].name))
                    abort();
        } else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) {
            abort(); /* a rejection is one line that says why */
        } else if (secret_in_error(&env, err)) {
            abort(); /* the passphrase is never shown */
        }
    } else if (err[0] == '\0') {
        abort();
    }
    free(text);
    return 0;
}
