/* subscription_page.h -- the subscriptions in HTML: the form that makes one (on /plain) and the page of one (its
 * management link): what it is told, a form to change that, a button to remove it, or why not. */
#ifndef GLANCE_SUBSCRIPTION_PAGE_H
#define GLANCE_SUBSCRIPTION_PAGE_H

#include "h2o.h"
#include "base/conf.h"
#include "base/subscription_input.h"

struct subscription_page {
    const char *title;
    const char *message; /* a notice, or with `error` why nothing happened; NULL: none */
    int error;
    /* the subscription shown, with its scope and `shown` webhook; NULL: none (refused, not found, removed) */
    const struct subscription_input *in;
    int removed;
    const char *manage_url; /* said on the page that made it; NULL elsewhere (the page is at that link) */
    const char *path;       /* where the page's forms post: /subscription/<token> */
};

/* The form that makes a subscription (POST /subscribe), for /plain. */
void subscription_page_form(const struct conf *conf, h2o_buffer_t **buf);
/* A whole page. */
void subscription_page_render(const struct conf *conf, const struct subscription_page *p, h2o_buffer_t **buf);

#endif
