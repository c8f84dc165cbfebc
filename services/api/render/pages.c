/* pages.c -- /plain: the dashboard as server-rendered HTML, for browsers without script.
 *
 * Everything printed comes from configuration (names limited to [A-Za-z0-9_.-]) or numbers, so nothing
 * a visitor types is echoed back except a guild id that parsed as a number. */
#include "render/pages.h"

#include <stdio.h>
#include <string.h>
#include "base/codec.h"
#include "base/parse.h"
#include "base/shard.h"
#include "redis/store.h"
#include "render/subscription_page.h"
#include "state/mirror.h"

static const char head[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Glance (plain)</title>"
    "<style>body{font:15px/1.4 system-ui,sans-serif;margin:1rem;max-width:70rem}"
    ".grid{display:flex;flex-wrap:wrap;gap:2px;margin:.5rem 0 1.5rem}"
    ".grid span{min-width:2.6em;padding:1px 2px;text-align:center;font:11px monospace;border:1px solid #0002}"
    /* the dashboard's state colours and text colours (web/assets/main.css, light theme), whose ratios
     * tests/web/contrast.test.mjs holds to 4.5:1: the shard ids are text */
    ".s0{background:#c4c9d0;color:#262b31}.s1{background:#d0262e;color:#fff}.s2{background:#3c434b;color:#fff}"
    ".s3{background:#36a852;color:#04210d}.s4,.s6{background:#f2c12e;color:#3a2b00}"
    ".s5{background:#ef8a2a;color:#351800}</style></head>"
    /* everything in <main>: a screen reader's landmarks then reach all of it, banner and guild answer too */
    "<body><main><h1>Glance</h1>"
    "<p>This page needs no script and does not update by itself: reload it for fresh states.</p>";

static void put_str(h2o_buffer_t **buf, const char *s)
{
    codec_put(buf, s, strlen(s));
}

int pages_query_guild(h2o_iovec_t query, uint64_t *out, int *invalid)
{
    const char *end = query.base + query.len, *p;

    *invalid = 0;
    for (p = query.base; p < end;) {
        const char *amp = memchr(p, '&', end - p);
        const char *stop = amp != NULL ? amp : end;
        if (stop - p >= 6 && memcmp(p, "guild=", 6) == 0) {
            if (stop - p == 6)
                return 0;
            switch (parse_guild_input(p + 6, stop - p - 6, out)) {
            case 0:
                return 1;
            case 1:
                *invalid = 2;
                return 0;
            default:
                *invalid = 1;
                return 0;
            }
        }
        p = stop + 1;
    }
    return 0;
}

void pages_plain(struct mirror *mirror, struct store *store, const struct conf *subscribe, h2o_buffer_t **buf,
                 size_t *split)
{
    size_t i, s;
    uint32_t j;
    char line[256];

    codec_put(buf, head, sizeof(head) - 1);
    if (!store_ready(store) || !mirror_synced(mirror))
        put_str(buf, "<p><strong>The dashboard has lost touch with its data store: what follows may be out of "
                     "date.</strong></p>");
    put_str(buf, "<form action=\"/plain\" method=\"get\"><label>Server (guild) ID "
                 "<input name=\"guild\" inputmode=\"numeric\" pattern=\"[0-9]{1,20}\"></label> "
                 "<button>Find my shard</button></form>");
    *split = (*buf)->size;
    for (i = 0; i != mirror_num_clusters(mirror); ++i) {
        const struct mirror_cluster *c = mirror_cluster(mirror, i);
        snprintf(line, sizeof(line), "<h2>%s</h2><p>%u shards:", c->conf->name, c->conf->shards);
        put_str(buf, line);
        for (s = 0; s <= SHARD_STATE_MAX; ++s) {
            if (c->counts[s] == 0)
                continue;
            snprintf(line, sizeof(line), " %u %s;", c->counts[s], state_name((int)s));
            put_str(buf, line);
        }
        put_str(buf, "</p><div class=\"grid\">");
        for (j = 0; j != c->conf->shards; ++j) {
            snprintf(line, sizeof(line), "<span class=\"s%u\" title=\"shard %u: %s\">%u</span>", c->states[j], j,
                     state_name(c->states[j]), j);
            put_str(buf, line);
        }
        put_str(buf, "</div>");
    }
    put_str(buf, "<p>States: unknown (grey), unhealthy (red), offline (dark grey), online (green), starting and "
                 "resuming (yellow), stopping (orange).</p>");
    if (subscribe != NULL)
        subscription_page_form(subscribe, buf);
    put_str(buf, "</main></body></html>");
}

void pages_plain_guild(struct mirror *mirror, h2o_iovec_t query, h2o_buffer_t **buf)
{
    uint64_t guild;
    int invalid;
    size_t i;
    char line[256];

    if (!pages_query_guild(query, &guild, &invalid)) {
        if (invalid == 2)
            put_str(buf, "<p>That is a link to direct messages, which belong to no server: paste a link to a message "
                         "or channel of your server, or its ID.</p>");
        else if (invalid)
            put_str(buf, "<p>That is not a guild ID or a link to a server's message or channel: an ID is a number of "
                         "up to 20 digits.</p>");
        return;
    }
    for (i = 0; i != mirror_num_clusters(mirror); ++i) {
        const struct mirror_cluster *c = mirror_cluster(mirror, i);
        uint32_t hit = guild_shard(guild, c->conf->shards);
        snprintf(line, sizeof(line), "<p><strong>Guild %llu is served by shard %u of %s, which is %s.</strong></p>",
                 (unsigned long long)guild, hit, c->conf->name, state_name(c->states[hit]));
        put_str(buf, line);
    }
    /* the grids are the page's only divs, in cluster order: mark each cluster's shard without touching the
     * shared body */
    put_str(buf, "<style>");
    for (i = 0; i != mirror_num_clusters(mirror); ++i) {
        const struct mirror_cluster *c = mirror_cluster(mirror, i);
        snprintf(line, sizeof(line), "div.grid:nth-of-type(%zu)>span:nth-child(%u){outline:3px solid #000}", i + 1,
                 guild_shard(guild, c->conf->shards) + 1);
        put_str(buf, line);
    }
    put_str(buf, "</style>");
}
