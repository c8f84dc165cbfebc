/* fuzz_incident.c -- libFuzzer target: an operator's request body through incident_input (the first byte picks
 * new incident, new maintenance or update), and any JSON through the banner and Atom renderers. Invariants: what
 * incident_input accepts is a JSON object; an error names its problem; the renderers never let a '<' of the input
 * through. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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
    out = incident_input(&conf, (enum incident_request)(data[0] % 3), 7, (const char *)data + 1, size - 1,
                         1796040000000LL, err, sizeof(err));
    if (out == NULL && err[0] == '\0')
        abort();
    if (out != NULL) {
        if ((j = json_loads(out, 0, NULL)) == NULL || !json_is_object(j))
            abort();
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
