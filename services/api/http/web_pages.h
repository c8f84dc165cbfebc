/* web_pages.h -- the dashboard's own HTML as the replica serves it: `/` with link previews (Open Graph and Twitter
 * tags saying the bot's condition now, or a guild's shards for `/?guild=`), and `/embed`, `/embed/<cluster>` (the
 * widget for other sites' frames) under the operator's framing policy. */
#ifndef GLANCE_WEB_PAGES_H
#define GLANCE_WEB_PAGES_H

#include "h2o.h"
#include "base/conf.h"

struct app;
struct web_pages;

/* Pages read from conf->web_root (index.html, embed.html), again whenever a file changes on disk, framed as
 * conf->embed_origins allow. */
struct web_pages *web_pages_new(const struct conf *conf);
void web_pages_free(struct web_pages *pages);
/* `/` and `/index.html`: returns -1 when web_root has no index.html (h2o's file handler answers then). */
int web_pages_index(struct app *app, h2o_req_t *req);
/* `/embed` (`cluster` empty) or `/embed/<cluster>`. */
void web_pages_embed(struct app *app, h2o_req_t *req, h2o_iovec_t cluster);

#endif
