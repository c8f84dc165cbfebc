/* fuzz_incident.c -- libFuzzer target: a request body through incident_input (the first byte picks new incident,
 * new maintenance or update) or, for a first byte of 3 modulo 4, through alertmanager_input (Alertmanager's webhook);
 * and any JSON through the banner and Atom renderers. Invariants: what either accepts is a JSON object (for
 * Alertmanager, with a title and text an incident takes); an error names its problem; the renderers never let a '<'
 * of the input through. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/alertmanager_input.h"
#include "base/conf.h"
#include "base/incident_input.h"
#include "base/incident_render.h"

static const char *lookup(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "GLANCE_BOTS") == 0 ? "alpha:360;beta:16" : NULL;
}

/* 1 when the rendered text holds "<x" where x is a letter our templates never start a tag with */
static int stray_tag(const h2o_buffer_t *buf)
{
    for (size_t i = 0; i + 1 < buf->size; ++i)
        if (buf->bytes[i] == '<' && strchr("?/fteilpscbunad", buf->bytes[i + 1]) == NULL)
            return 1;
    return 0;
}

static void render(json_t *list)
{
    h2o_buffer_t *buf;

    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    incident_render_banner(list, 1796040000000LL, &buf);
    incident_render_list(list, &buf);
    if (stray_tag(buf))
        abort();
    h2o_buffer_dispose(&buf);
    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    incident_render_atom(list, "urn:glance:fuzz", 1796040000000LL, &buf);
    if (stray_tag(buf))
        abort();
    h2o_buffer_dispose(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct conf conf;
    static int loaded;
    char err[256];
    char *out;
    json_t *j;

    if (!loaded) {
        if (conf_load(&conf, lookup, NULL, err, sizeof(err)) != 0)
            abort();
        loaded = 1;
    }
    if (size == 0)
        return 0;
    err[0] = '\0';
    if (data[0] % 4 == 3)
        out = alertmanager_input(&conf, (const char *)data + 1, size - 1, err, sizeof(err));
    else
        out = incident_input(&conf, (enum incident_request)(data[0] % 4), 7, (const char *)data + 1, size - 1,
                             1796040000000LL, err, sizeof(err));
    if (out == NULL && err[0] == '\0')
        abort();
    if (out != NULL) {
        if ((j = json_loads(out, 0, NULL)) == NULL || !json_is_object(j))
            abort();
        if (data[0] % 4 == 3) {
            /* an incident's title and text: 1 to 200 and 1 to 4,000 bytes (incident_input.h) */
            size_t title = json_string_length(json_object_get(j, "title")), text = json_string_length(json_object_get(j, "text"));
            if (title == 0 || title > INCIDENT_TITLE_MAX || text == 0 || text > INCIDENT_TEXT_MAX ||
                json_array_size(json_object_get(j, "clusters")) == 0)
                abort();
        }
        /* as incident.lua would store it, inside a list */
        json_t *list = json_pack("{s:[O]}", "incidents", j);
        render(list);
        json_decref(list);
        json_decref(j);
        free(out);
    }
    if ((j = json_loadb((const char *)data + 1, size - 1, 0, NULL)) != NULL) {
        render(j);
        json_decref(j);
    }
    return 0;
}
