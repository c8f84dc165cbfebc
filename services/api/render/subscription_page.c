/* subscription_page.c -- the subscriptions in HTML, for browsers without script and for the management link a
 * channel is sent: the form that makes one (on /plain), and the page that shows one, changes its scope or removes it.
 * What a visitor typed is never echoed; what a subscription holds is escaped. */
#include "render/subscription_page.h"

#include <stdio.h>
#include <string.h>
#include "base/codec.h"
#include "base/incident_render.h"
#include "base/shard.h"

static void put_str(h2o_buffer_t **buf, const char *s)
{
    codec_put(buf, s, strlen(s));
}

/* HTML text or an attribute's value: incident_render's escaper, which the incidents' pages use too. */
static void put_html(h2o_buffer_t **buf, const char *s)
{
    incident_put_escaped(buf, s, strlen(s));
}

/* The scope choices: each kind a radio button, the clusters as boxes, the server as a text box; `in` checks what it
 * holds (NULL: the server, the likeliest wish of a visitor). */
static void put_scope_fields(const struct conf *conf, const struct subscription_input *in, h2o_buffer_t **buf)
{
    enum subscription_scope scope = in != NULL ? in->scope : SCOPE_GUILD;
    char guild[24] = "";
    size_t c;

    if (in != NULL && in->scope == SCOPE_GUILD)
        snprintf(guild, sizeof(guild), "%llu", (unsigned long long)in->guild);
    put_str(buf, "<fieldset><legend>Tell this channel about</legend><p><label><input type=\"radio\" name=\"scope\" "
                 "value=\"guild\"");
    put_str(buf, scope == SCOPE_GUILD ? " checked" : "");
    put_str(buf, "> the shard that serves my server, and incidents and maintenance</label><br><label>Server (guild) ID "
                 "or a link to a message in it <input name=\"guild\" inputmode=\"numeric\" autocomplete=\"off\" value=\"");
    put_str(buf, guild);
    put_str(buf, "\"></label></p><p><label><input type=\"radio\" name=\"scope\" value=\"all\"");
    put_str(buf, scope == SCOPE_ALL ? " checked" : "");
    put_str(buf, "> the whole bot: every incident and maintenance</label></p>");
    if (conf->num_clusters > 1) {
        put_str(buf, "<p><label><input type=\"radio\" name=\"scope\" value=\"clusters\"");
        put_str(buf, scope == SCOPE_CLUSTERS ? " checked" : "");
        put_str(buf, "> these clusters only:</label>");
        for (c = 0; c != conf->num_clusters; ++c) {
            put_str(buf, " <label><input type=\"checkbox\" name=\"cluster\" value=\"");
            put_str(buf, conf->clusters[c].name); /* [A-Za-z0-9_.-]: nothing to escape */
            put_str(buf, "\"");
            put_str(buf, in != NULL && in->scope == SCOPE_CLUSTERS && in->clusters[c] ? " checked" : "");
            put_str(buf, "> ");
            put_str(buf, conf->clusters[c].name);
            put_str(buf, "</label>");
        }
        put_str(buf, "</p>");
    }
    put_str(buf, "</fieldset>");
}

void subscription_page_form(const struct conf *conf, h2o_buffer_t **buf)
{
    put_str(buf, "<h2 id=\"subscribe\">Get notified in your Discord server</h2><form action=\"/subscribe\" method=\"post\">"
                 "<p>Glance posts to a channel of yours when the bot has an incident or planned maintenance, and when "
                 "the shard that serves your server goes down and comes back. In Discord, open the channel's settings: "
                 "Integrations, Webhooks, New Webhook, Copy Webhook URL, and paste it here.</p>"
                 "<p><label>Webhook URL <input name=\"webhook_url\" type=\"url\" required autocomplete=\"off\" "
                 "placeholder=\"https://discord.com/api/webhooks/...\"></label></p>");
    put_scope_fields(conf, NULL, buf);
    put_str(buf, "<p><button>Subscribe</button></p></form>");
}

void subscription_page_render(const struct conf *conf, const struct subscription_page *p, h2o_buffer_t **buf)
{
    char words[600];

    put_str(buf, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<meta name=\"robots\" content=\"noindex\"><meta name=\"referrer\" content=\"no-referrer\"><title>");
    put_html(buf, p->title);
    put_str(buf, " - Glance</title><style>body{font:15px/1.4 system-ui,sans-serif;margin:1rem;max-width:44rem}"
                 "input:not([type]),input[type=url]{width:100%;max-width:36rem;box-sizing:border-box}"
                 ".error{color:#a3141b}fieldset{margin:1rem 0}</style></head><body><main><h1>");
    put_html(buf, p->title);
    put_str(buf, "</h1>");
    if (p->message != NULL) {
        put_str(buf, p->error ? "<p class=\"error\" role=\"alert\">" : "<p role=\"status\">");
        put_html(buf, p->message);
        put_str(buf, "</p>");
    }
    if (p->in != NULL && !p->removed) {
        subscription_scope_words(conf, p->in, words, sizeof(words));
        put_str(buf, "<p>This subscription posts to ");
        put_html(buf, p->in->shown);
        put_str(buf, " about ");
        put_html(buf, words);
        put_str(buf, ".</p>");
        if (p->manage_url != NULL) {
            put_str(buf, "<p>Keep this page's link to change or remove it (the channel was sent it too): <a href=\"");
            put_html(buf, p->manage_url);
            put_str(buf, "\">");
            put_html(buf, p->manage_url);
            put_str(buf, "</a></p>");
        }
        put_str(buf, "<h2>Change what it is told</h2><form method=\"post\" action=\"");
        put_html(buf, p->path);
        put_str(buf, "\"><input type=\"hidden\" name=\"action\" value=\"change\">");
        put_scope_fields(conf, p->in, buf);
        put_str(buf, "<p><button>Save</button></p></form><h2>Stop it</h2><form method=\"post\" action=\"");
        put_html(buf, p->path);
        put_str(buf, "\"><input type=\"hidden\" name=\"action\" value=\"remove\"><p><button>Remove this "
                     "subscription</button></p></form>");
    }
    put_str(buf, "<p><a href=\"/plain\">The bot's status</a></p></main></body></html>");
}
