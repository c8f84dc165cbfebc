/* fuzz_subscription.c -- libFuzzer target: a visitor's subscription request (the first byte picks a JSON body to
 * make one, as a visitor or an operator, a JSON change, a form to make one, a form change, a management token, or
 * an X-Forwarded-For header behind a trusted proxy), and the page of what was taken. Invariants: a webhook taken is
 * posted to only as <a configured origin>/api/v10/webhooks/<digits>/<token characters>[?thread_id=<digits>] (or an
 * operator's json: URL); an error names its problem; the page never lets a '<' of the input through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/client_address.h"
#include "base/conf.h"
#include "base/subscription_input.h"
#include "render/subscription_page.h"

static const char *lookup(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "GLANCE_TRUSTED_PROXIES") == 0)
        return "10.0.0.0/8,::1";
    return strcmp(name, "GLANCE_BOTS") == 0 ? "alpha:360;beta:16" : NULL;
}

static int url_ok(const struct conf *conf, const struct subscription_input *in)
{
    const char *p = NULL;

    if (in->json)
        return strncmp(in->url, "http", 4) == 0 && strpbrk(in->url, " \t\r\n\"<>\\^`{|}") == NULL;
    for (size_t i = 0; i != conf->num_subscribe_origins && p == NULL; ++i) {
        size_t n = strlen(conf->subscribe_origins[i]);
        if (strncmp(in->url, conf->subscribe_origins[i], n) == 0 && strncmp(in->url + n, "/api/v10/webhooks/", 18) == 0)
            p = in->url + n + 18;
    }
    if (p == NULL || strspn(p, "0123456789") == 0)
        return 0;
    p += strspn(p, "0123456789");
    if (*p++ != '/' || strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == 0)
        return 0;
    p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    if (*p == '\0')
        return 1;
    return strncmp(p, "?thread_id=", 11) == 0 && p[11] != '\0' && strspn(p + 11, "0123456789") == strlen(p + 11);
}

static void render(const struct conf *conf, const struct subscription_input *in)
{
    struct subscription_page page = {"Your subscription", "Saved.", 0, in, 0, "https://x.example/subscription/1-a",
                                     "/subscription/1-a"};
    h2o_buffer_t *buf;

    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    subscription_page_render(conf, &page, &buf);
    for (size_t i = 0; i + 1 < buf->size; ++i)
        if (buf->bytes[i] == '<' && strchr("!/hmtbspafdilu", buf->bytes[i + 1]) == NULL)
            abort();
    h2o_buffer_dispose(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct conf conf;
    static int loaded;
    struct subscription_input in;
    char err[512], action[16], secret[SUBSCRIPTION_SECRET_HEX + 1];
    const char *body = (const char *)data + 1, *field = "";
    size_t len = size - 1;
    uint64_t id;
    int rc;

    if (!loaded) {
        if (conf_load(&conf, lookup, NULL, err, sizeof(err)) != 0)
            abort();
        loaded = 1;
    }
    if (size == 0)
        return 0;
    err[0] = '\0';
    switch (data[0] % 7) {
    case 0:
    case 1:
        rc = subscription_from_json(&conf, body, len, 1, data[0] % 7, &in, err, sizeof(err), &field);
        break;
    case 2:
        rc = subscription_from_json(&conf, body, len, 0, 0, &in, err, sizeof(err), &field);
        break;
    case 3:
    case 4:
        rc = subscription_from_form(&conf, body, len, data[0] % 7 == 3, &in, action, sizeof(action), err, sizeof(err),
                                    &field);
        break;
    case 5:
        if (subscription_token(body, len, &id, secret) == 0 && (id == 0 || strlen(secret) != SUBSCRIPTION_SECRET_HEX))
            abort();
        return 0;
    default: {
        struct client_address peer = {{10, 1, 2, 3}, 4}, out;
        char key[80];
        client_address_of(&conf, &peer, body, len, &out);
        client_address_key(&out, key, sizeof(key));
        if (out.len != 4 && out.len != 16)
            abort();
        return 0;
    }
    }
    if (rc != 0 && err[0] == '\0')
        abort();
    if (rc == 0) {
        if (in.has_webhook && !url_ok(&conf, &in))
            abort();
        render(&conf, &in);
    }
    return 0;
}
