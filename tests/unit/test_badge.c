/* test_badge.c -- the badges (badge.c): the words and colours of every condition, the label escaped for XML, a
 * <title> and an accessible name, the box as wide as its parts, and the shields.io endpoint JSON's fields. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "render/badge.h"
#include "check.h"
#include "base/condition.h"

static char *svg_of(const char *label, int level)
{
    h2o_buffer_t *buf;
    char *out;

    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    badge_svg(&buf, label, level);
    out = strndup(buf->bytes, buf->size);
    h2o_buffer_dispose(&buf);
    return out;
}

TEST(test_badge_says_every_condition_in_the_page_words)
{
    CHECK_STR(badge_message(CONDITION_NONE), "no data");
    CHECK_STR(badge_message(CONDITION_OPERATIONAL), "operational");
    CHECK_STR(badge_message(CONDITION_DEGRADED), "degraded");
    CHECK_STR(badge_message(CONDITION_PARTIAL), "partial outage");
    CHECK_STR(badge_message(CONDITION_MAJOR), "major outage");
    CHECK_STR(badge_message(BADGE_MAINTENANCE), "maintenance");
    CHECK_STR(badge_message(99), "no data");
}

TEST(test_badge_svg_has_a_title_colours_and_a_width_that_adds_up)
{
    char *s = svg_of("main", CONDITION_PARTIAL);
    unsigned total = 0, left = 0, right = 0;
    const char *p;

    CHECK(strncmp(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    CHECK(strstr(s, "<title>main: partial outage</title>") != NULL);
    CHECK(strstr(s, "aria-label=\"main: partial outage\"") != NULL);
    CHECK(strstr(s, "fill=\"#ef8a2a\"") != NULL && strstr(s, "fill=\"#351800\"") != NULL);
    CHECK(sscanf(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\"", &total) == 1);
    CHECK((p = strstr(s, "<rect x=\"0\" width=\"")) != NULL && sscanf(p, "<rect x=\"0\" width=\"%u\"", &left) == 1);
    CHECK((p = strstr(s, "<rect x=\"")) != NULL && (p = strstr(p + 1, "<rect x=\"")) != NULL &&
          sscanf(p, "<rect x=\"%*u\" width=\"%u\"", &right) == 1);
    CHECK_EQ_U64(total, left + right);
    /* a longer message makes a wider badge */
    {
        char *ok = svg_of("main", CONDITION_OPERATIONAL), *major = svg_of("main", CONDITION_MAJOR);
        unsigned a = 0, b = 0;
        CHECK(sscanf(ok, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\"", &a) == 1);
        CHECK(sscanf(major, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\"", &b) == 1);
        CHECK(b > a);
        free(ok);
        free(major);
    }
    free(s);
}

TEST(test_badge_svg_escapes_the_label)
{
    char *s = svg_of("<a&b>\"'\x01", CONDITION_OPERATIONAL);

    CHECK(strstr(s, "&lt;a&amp;b&gt;&quot;&apos;") != NULL);
    CHECK(strstr(s, "<a&b>") == NULL);
    CHECK(strchr(s, '\x01') == NULL);
    free(s);
}

TEST(test_badge_shields_json_has_the_endpoint_fields)
{
    h2o_buffer_t *buf;
    json_t *j;
    json_error_t err;

    h2o_buffer_init(&buf, &h2o_socket_buffer_prototype);
    badge_shields_json(&buf, "ma\"in", BADGE_MAINTENANCE);
    j = json_loadb(buf->bytes, buf->size, 0, &err);
    if (CHECK(j != NULL)) {
        CHECK(json_integer_value(json_object_get(j, "schemaVersion")) == 1);
        CHECK_STR(json_string_value(json_object_get(j, "label")), "ma\"in");
        CHECK_STR(json_string_value(json_object_get(j, "message")), "maintenance");
        CHECK_STR(json_string_value(json_object_get(j, "color")), "2a74bd");
        CHECK_STR(json_string_value(json_object_get(j, "labelColor")), "4c535b");
        json_decref(j);
    }
    h2o_buffer_dispose(&buf);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_badge_says_every_condition_in_the_page_words),
        CHECK_CASE(test_badge_svg_has_a_title_colours_and_a_width_that_adds_up),
        CHECK_CASE(test_badge_svg_escapes_the_label),
        CHECK_CASE(test_badge_shields_json_has_the_endpoint_fields),
    };

    return CHECK_RUN(cases);
}
