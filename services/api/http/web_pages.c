/* web_pages.c -- `/` with link previews, and the embeddable widget's page, as the replica serves them.
 *
 * A link to the dashboard pasted into Discord (or anywhere that reads Open Graph) is previewed from the HTML a
 * crawler gets, without script: so the replica puts the condition of the bot into index.html's head as it sends
 * it. The page's bytes are read from the web root (again when the file changes) and shared by every request; the
 * tags are rendered only when what they say changes (the bot's, and a few guilds' previews, each keyed by what
 * it is made of) and go in at the head's end. */
#include "http/web_pages.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/codec.h"
#include "base/condition.h"
#include "base/log.h"
#include "http/app.h"
#include "http/respond.h"
#include "http/summary.h"
#include "render/badge.h"
#include "render/pages.h"

#define WEB_FILE_MAX (1024 * 1024)
#define GUILD_SLOTS 16        /* guild previews kept: links to a handful of servers get pasted at once in an outage */
#define CLUSTERS_DESCRIBED 6 /* in a preview's description; the rest are counted */

/* One file of the web root, as last read. */
struct web_file {
    char path[1100];
    struct shared_body *body; /* NULL: missing or unreadable */
    struct stat seen;
    int too_big;         /* the file as seen is over WEB_FILE_MAX (said once, not on every request) */
    uint64_t generation; /* counts reads, so that previews made from an older page are made again */
};

struct preview {
    uint64_t key; /* what the tags were made from, hashed; 0: nothing yet */
    h2o_buffer_t *tags;
};

struct web_pages {
    struct web_file index, embed;
    size_t num_clusters;
    char site[256]; /* index.html's <title>, ready for an attribute */
    struct preview bot, guilds[GUILD_SLOTS];
    char csp[64 + CONF_MAX_ORIGINS * 257]; /* frame-ancestors, from GLANCE_EMBED_ORIGINS */
    int subscriptions_off;                  /* GLANCE_SUBSCRIPTIONS_MAX=0: "Get notified" is not shown */
};

static void file_init(struct web_file *f, const char *root, const char *name)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", root, name);
    f->body = NULL;
    f->generation = 0;
}

static void file_drop(struct web_file *f)
{
    if (f->body != NULL) {
        f->body->cached = 0;
        h2o_mem_release_shared(f->body);
    }
    f->body = NULL;
}

/* Where the tags go in: before "</head>" (any case); the length when there is none (nothing goes in). */
static size_t head_end(const char *s, size_t len)
{
    for (size_t i = 0; i + 7 <= len; ++i)
        if (s[i] == '<' && strncasecmp(s + i, "</head>", 7) == 0)
            return i;
    return len;
}

/* The file as it is on disk now: read again when its size, time or inode changed since the last read. */
static struct shared_body *file_current(struct web_file *f)
{
    struct stat st;
    struct shared_body *body;
    ssize_t got = 0, n;
    int fd;

    if (stat(f->path, &st) != 0 || !S_ISREG(st.st_mode)) {
        file_drop(f);
        return NULL;
    }
    if ((f->body != NULL || f->too_big) && st.st_size == f->seen.st_size && st.st_ino == f->seen.st_ino &&
        st.st_mtim.tv_sec == f->seen.st_mtim.tv_sec && st.st_mtim.tv_nsec == f->seen.st_mtim.tv_nsec)
        return f->body;
    file_drop(f);
    f->seen = st;
    if ((f->too_big = st.st_size > WEB_FILE_MAX) != 0) {
        /* said once per version of the file; h2o's file handler serves it as it is */
        log_warn("%s is over %d bytes: served without link previews", f->path, WEB_FILE_MAX);
        return NULL;
    }
    if ((fd = open(f->path, O_RDONLY | O_CLOEXEC)) == -1)
        return NULL;
    body = h2o_mem_alloc_shared(NULL, sizeof(*body) + (size_t)st.st_size, NULL);
    while (got < st.st_size && (n = read(fd, body->bytes + got, (size_t)(st.st_size - got))) > 0)
        got += n;
    close(fd);
    body->len = (size_t)got;
    body->split = head_end(body->bytes, body->len);
    body->readers = 0;
    body->cached = 1;
    f->body = body;
    ++f->generation;
    return body;
}

/* index.html's <title> as an attribute's value (its entities kept; quotes and angle brackets escaped). */
static void read_site_name(struct web_pages *p, const struct shared_body *body)
{
    const char *s = body->bytes, *end = s + body->split, *open = NULL, *close;
    size_t o = 0;

    for (const char *c = s; c + 7 <= end; ++c)
        if (*c == '<' && strncasecmp(c, "<title>", 7) == 0) {
            open = c + 7;
            break;
        }
    strcpy(p->site, "Glance");
    if (open == NULL)
        return;
    for (close = open; close + 8 <= end && strncasecmp(close, "</title>", 8) != 0; ++close)
        ;
    if (close + 8 > end || close == open)
        return;
    for (; open != close && o + 7 < sizeof(p->site); ++open) {
        const char *rep = *open == '"' ? "&quot;" : *open == '<' ? "&lt;" : *open == '>' ? "&gt;" : NULL;
        if (rep != NULL) {
            memcpy(p->site + o, rep, strlen(rep));
            o += strlen(rep);
        } else if ((unsigned char)*open >= 0x20) {
            p->site[o++] = *open;
        }
    }
    p->site[o] = '\0';
}

struct web_pages *web_pages_new(const struct conf *conf)
{
    struct web_pages *p = h2o_mem_alloc(sizeof(*p));
    const char *web_root = conf->web_root;
    size_t num_clusters = conf->num_clusters, o;

    memset(p, 0, sizeof(*p));
    o = (size_t)snprintf(p->csp, sizeof(p->csp), "frame-ancestors 'self'");
    for (size_t i = 0; i != conf->num_embed_origins; ++i)
        o += (size_t)snprintf(p->csp + o, sizeof(p->csp) - o, " %s", conf->embed_origins[i]);
    file_init(&p->index, web_root, "index.html");
    file_init(&p->embed, web_root, "embed.html");
    p->num_clusters = num_clusters;
    p->subscriptions_off = conf->subscriptions_max == 0;
    strcpy(p->site, "Glance");
    h2o_buffer_init(&p->bot.tags, &h2o_socket_buffer_prototype);
    for (size_t i = 0; i != GUILD_SLOTS; ++i)
        h2o_buffer_init(&p->guilds[i].tags, &h2o_socket_buffer_prototype);
    return p;
}

void web_pages_free(struct web_pages *p)
{
    file_drop(&p->index);
    file_drop(&p->embed);
    h2o_buffer_dispose(&p->bot.tags);
    for (size_t i = 0; i != GUILD_SLOTS; ++i)
        h2o_buffer_dispose(&p->guilds[i].tags);
    free(p);
}


static uint64_t mix(uint64_t h, uint64_t v)
{
    return body_hash(h, &v, sizeof(v));
}

static void put_tag(h2o_buffer_t **buf, const char *attr, const char *name, const char *content)
{
    codec_put_lit(buf, "<meta ");
    codec_put(buf, attr, strlen(attr));
    codec_put_lit(buf, "=\"");
    codec_put(buf, name, strlen(name));
    codec_put_lit(buf, "\" content=\"");
    codec_put(buf, content, strlen(content)); /* made of cluster names ([A-Za-z0-9_.-]), numbers and our words */
    codec_put_lit(buf, "\">\n");
}

static void put_tags(struct web_pages *p, h2o_buffer_t **buf, const char *title, const char *description, int level)
{
    h2o_buffer_consume(buf, (*buf)->size);
    put_tag(buf, "property", "og:type", "website");
    put_tag(buf, "property", "og:site_name", p->site);
    put_tag(buf, "property", "og:title", title);
    put_tag(buf, "property", "og:description", description);
    put_tag(buf, "name", "twitter:card", "summary");
    put_tag(buf, "name", "twitter:title", title);
    put_tag(buf, "name", "twitter:description", description);
    /* Discord colours a link's preview with it; phones, their address bar */
    put_tag(buf, "name", "theme-color", badge_colour(level));
    if (p->subscriptions_off)
        codec_put_lit(buf, "<style>#subscribe{display:none}</style>\n");
}

/* "Partial outage: 12 of 376 shards unhealthy" for the clusters not under maintenance (`whole` their level). */
static void say_bot(char *out, size_t len, int whole, const uint32_t totals[SHARD_STATE_MAX + 1])
{
    char title[48], detail[160];

    if (whole == BADGE_MAINTENANCE) {
        snprintf(out, len, "Under maintenance: planned work on every cluster");
        return;
    }
    condition_describe(totals, title, sizeof(title), detail, sizeof(detail));
    snprintf(out, len, "%s: %s", title, detail);
}

/* "main: all 360 shards online; eu: 12 of 16 shards unhealthy; beta: maintenance", the first few clusters. */
static void say_clusters(struct app *app, char *out, size_t len)
{
    size_t i, o = 0, n = app->web_pages->num_clusters;
    char title[48], detail[160];

    out[0] = '\0';
    for (i = 0; i != n && i != CLUSTERS_DESCRIBED && o < len; ++i) {
        const struct mirror_cluster *c = mirror_cluster(app->mirror, i);
        int w;
        if (summary_cluster_level(app, i) == BADGE_MAINTENANCE) {
            w = snprintf(out + o, len - o, "%s%s: maintenance", i == 0 ? "" : " · ", c->conf->name);
        } else {
            condition_describe(c->counts, title, sizeof(title), detail, sizeof(detail));
            detail[0] = (char)(detail[0] >= 'A' && detail[0] <= 'Z' ? detail[0] - 'A' + 'a' : detail[0]);
            w = snprintf(out + o, len - o, "%s%s: %s", i == 0 ? "" : " · ", c->conf->name, detail);
        }
        o += w > 0 ? (size_t)w : 0;
    }
    if (i != n && o < len)
        snprintf(out + o, len - o, " · and %zu more clusters", n - i);
}

/* The key of the bot's preview: the page read, the clusters' counts and maintenance, and so the whole level. */
static uint64_t bot_key(struct app *app)
{
    uint64_t key = mix(BODY_HASH_START, app->web_pages->index.generation);

    for (size_t i = 0; i != app->web_pages->num_clusters; ++i) {
        const struct mirror_cluster *c = mirror_cluster(app->mirror, i);
        for (int s = 0; s <= SHARD_STATE_MAX; ++s)
            key = mix(key, c->counts[s]);
        key = mix(key, (uint64_t)(summary_cluster_level(app, i) == BADGE_MAINTENANCE));
    }
    return key | 1;
}

static void render_bot(struct app *app, int whole, const uint32_t totals[SHARD_STATE_MAX + 1])
{
    struct web_pages *p = app->web_pages;
    char title[256], description[1024];

    say_bot(title, sizeof(title), whole, totals);
    if (p->num_clusters > 1)
        say_clusters(app, description, sizeof(description));
    else
        snprintf(description, sizeof(description), "Live status of every shard, and which shard serves your server.");
    put_tags(p, &p->bot.tags, title, description, whole);
    ++app->preview_renders;
}

/* A guild's preview: its shard in each cluster and that shard's state, then the bot's condition. Kept by what it
 * says (the shards and their states), not by the guild: servers on the same shards share it. */
static h2o_buffer_t *guild_tags(struct app *app, uint64_t guild, uint64_t bot, int whole,
                                const uint32_t totals[SHARD_STATE_MAX + 1])
{
    struct web_pages *p = app->web_pages;
    size_t i, worst = SIZE_MAX, o = 0;
    uint64_t key = bot;
    struct preview *slot;
    char title[256], description[1024], overall[256];
    uint32_t one[SHARD_STATE_MAX + 1] = {0};

    /* the title names the first cluster where the server's shard is down, else the first */
    for (i = 0; i != p->num_clusters; ++i) {
        const struct mirror_cluster *c = mirror_cluster(app->mirror, i);
        uint32_t shard = guild_shard(guild, c->conf->shards);
        int state = c->states[shard];
        key = mix(mix(key, shard), (uint64_t)state);
        if (worst == SIZE_MAX && (state == STATE_UNHEALTHY || state == STATE_OFFLINE))
            worst = i;
    }
    if (worst == SIZE_MAX)
        worst = 0;
    key |= 1; /* never 0, which marks an empty slot */
    /* the slot from the key's high half: FNV-1a's low bits mix poorly (servers on neighbouring shards of two clusters
     * came out in one slot, so the cache held one preview), and with the lowest set only odd slots were used */
    slot = &p->guilds[(key >> 32) % GUILD_SLOTS];
    if (slot->key == key)
        return slot->tags;

    {
        const struct mirror_cluster *w = mirror_cluster(app->mirror, worst);
        int state = w->states[guild_shard(guild, w->conf->shards)];
        if (p->num_clusters > 1)
            snprintf(title, sizeof(title), "Your server's shard in cluster %s is %s", w->conf->name, state_name(state));
        else
            snprintf(title, sizeof(title), "Your server's shard is %s", state_name(state));
        one[state] = 1;
    }
    description[0] = '\0';
    for (i = 0; i != p->num_clusters && i != CLUSTERS_DESCRIBED; ++i) {
        const struct mirror_cluster *c = mirror_cluster(app->mirror, i);
        uint32_t shard = guild_shard(guild, c->conf->shards);
        int n = snprintf(description + o, sizeof(description) - o, "%sshard %u of %s (%s)", i == 0 ? "Served by " : ", ",
                         shard, c->conf->name, state_name(c->states[shard]));
        o += n > 0 && (size_t)n < sizeof(description) - o ? (size_t)n : 0;
    }
    say_bot(overall, sizeof(overall), whole, totals);
    snprintf(description + o, sizeof(description) - o, ". The bot: %s.", overall);
    put_tags(p, &slot->tags, title, description, (int)condition_of(one));
    ++app->preview_renders;
    slot->key = key;
    return slot->tags;
}

static void add_framing_policy(struct app *app, h2o_req_t *req)
{
    struct web_pages *p = app->web_pages;

    /* h2o keeps the value by reference: p->csp lives as long as the replica */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL, p->csp,
                          strlen(p->csp));
}

int web_pages_index(struct app *app, h2o_req_t *req)
{
    struct web_pages *p = app->web_pages;
    uint64_t generation = p->index.generation, guild, key;
    struct shared_body *body = file_current(&p->index);
    uint32_t totals[SHARD_STATE_MAX + 1];
    h2o_buffer_t *tags;
    int whole, invalid;

    if (body == NULL)
        return -1;
    if (!respond_is_get(req)) {
        respond_wrong_method(req, "GET, HEAD");
        return 0;
    }
    if (p->index.generation != generation)
        read_site_name(p, body);
    /* maintenance from the incidents copy as it is: a page load never waits for Redis */
    whole = summary_look(app, incidents_list(app->incidents), totals);
    key = bot_key(app);
    if (req->query_at != SIZE_MAX && p->num_clusters != 0 &&
        pages_query_guild(h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1), &guild,
                          &invalid)) {
        tags = guild_tags(app, guild, key, whole, totals);
    } else {
        if (p->bot.key != key) {
            render_bot(app, whole, totals);
            p->bot.key = key;
        }
        tags = p->bot.tags; /* after rendering: a buffer that grew has moved */
    }
    add_framing_policy(app, req);
    respond_send_shared(app, req, "no-cache", "text/html; charset=utf-8", body,
                        body->split < body->len ? h2o_iovec_init(tags->bytes, tags->size) : h2o_iovec_init(NULL, 0));
    return 0;
}

void web_pages_embed(struct app *app, h2o_req_t *req, h2o_iovec_t cluster)
{
    struct shared_body *body;

    if (!respond_is_get(req)) {
        respond_wrong_method(req, "GET, HEAD");
        return;
    }
    if (cluster.len != 0 && mirror_find(app->mirror, cluster.base, cluster.len) < 0) {
        respond_error(req, 404, "Not Found", "no such cluster");
        return;
    }
    if ((body = file_current(&app->web_pages->embed)) == NULL) {
        respond_error(req, 404, "Not Found", "the widget's page (embed.html) is not in GLANCE_WEB_ROOT");
        return;
    }
    add_framing_policy(app, req);
    respond_send_shared(app, req, "no-cache", "text/html; charset=utf-8", body, h2o_iovec_init(NULL, 0));
}
