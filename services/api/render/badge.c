/* badge.c -- the SVG and shields.io endpoint badges: the familiar two-part shape, sized from the text, in the
 * page's condition colours (web/assets/main.css) with the page's text colour on each, so every pair is readable. */
#include "render/badge.h"

#include <stdio.h>
#include <string.h>
#include "base/codec.h"
#include "base/condition.h"

struct look {
    const char *message, *fill, *ink; /* words, background, text on it */
};

static const struct look looks[] = {
    [CONDITION_NONE] = {"no data", "#c4c9d0", "#262b31"},
    [CONDITION_OPERATIONAL] = {"operational", "#36a852", "#04210d"},
    [CONDITION_DEGRADED] = {"degraded", "#f2c12e", "#3a2b00"},
    [CONDITION_PARTIAL] = {"partial outage", "#ef8a2a", "#351800"},
    [CONDITION_MAJOR] = {"major outage", "#d0262e", "#ffffff"},
};
static const struct look maintenance = {"maintenance", "#2a74bd", "#ffffff"};
static const struct look label_look = {NULL, "#4c535b", "#ffffff"};

static const struct look *look_of(int level)
{
    if (level == BADGE_MAINTENANCE)
        return &maintenance;
    return level >= CONDITION_NONE && level <= CONDITION_MAX ? &looks[level] : &looks[CONDITION_NONE];
}

const char *badge_message(int level)
{
    return look_of(level)->message;
}

const char *badge_colour(int level)
{
    return look_of(level)->fill;
}

/* The width of `s` in Verdana at 11 px, near enough for the box (the text is then fitted to it with textLength):
 * narrow and wide letters apart, the rest at an average. */
static unsigned text_width(const char *s)
{
    unsigned tenths = 0;

    for (; *s != '\0'; ++s) {
        unsigned char c = (unsigned char)*s;
        if (strchr("ijl.,:;|!'", c) != NULL)
            tenths += 31;
        else if (strchr("frt -()[]", c) != NULL)
            tenths += 45;
        else if (c == 'm' || c == 'w' || c == 'M' || c == 'W')
            tenths += 100;
        else if (c >= 'A' && c <= 'Z')
            tenths += 77;
        else
            tenths += 66;
    }
    return (tenths + 9) / 10;
}

static void put(h2o_buffer_t **buf, const char *s)
{
    codec_put(buf, s, strlen(s));
}

/* Text for XML: the five characters XML gives meaning to escaped, control characters dropped. */
static void put_xml_text(h2o_buffer_t **buf, const char *s)
{
    for (; *s != '\0'; ++s) {
        switch (*s) {
        case '&': put(buf, "&amp;"); break;
        case '<': put(buf, "&lt;"); break;
        case '>': put(buf, "&gt;"); break;
        case '"': put(buf, "&quot;"); break;
        case '\'': put(buf, "&apos;"); break;
        default:
            if ((unsigned char)*s >= 0x20)
                codec_put(buf, s, 1);
        }
    }
}

/* One half of the badge: its box from `x`, `width` wide, and its text centred in it. */
static void put_half(h2o_buffer_t **buf, const struct look *look, const char *text, unsigned x, unsigned width)
{
    char s[200];

    snprintf(s, sizeof(s), "<rect x=\"%u\" width=\"%u\" height=\"20\" fill=\"%s\"/>", x, width, look->fill);
    put(buf, s);
    snprintf(s, sizeof(s), "<text x=\"%u\" y=\"14\" fill=\"%s\" textLength=\"%u\" lengthAdjust=\"spacingAndGlyphs\">", x + width / 2, look->ink,
             width - 10);
    put(buf, s);
    put_xml_text(buf, text);
    put(buf, "</text>");
}

void badge_svg(h2o_buffer_t **buf, const char *label, int level)
{
    const struct look *look = look_of(level);
    unsigned lw = text_width(label) + 10, mw = text_width(look->message) + 10;
    char s[320];

    snprintf(s, sizeof(s),
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"20\" role=\"img\" aria-label=\"",
             lw + mw);
    put(buf, s);
    put_xml_text(buf, label);
    put(buf, ": ");
    put(buf, look->message);
    put(buf, "\"><title>");
    put_xml_text(buf, label);
    put(buf, ": ");
    put(buf, look->message);
    snprintf(s, sizeof(s),
             "</title><clipPath id=\"r\"><rect width=\"%u\" height=\"20\" rx=\"3\"/></clipPath><g clip-path=\"url(#r)\" "
             "font-family=\"Verdana,DejaVu Sans,Geneva,sans-serif\" font-size=\"11\" text-anchor=\"middle\">",
             lw + mw);
    put(buf, s);
    put_half(buf, &label_look, label, 0, lw);
    put_half(buf, look, look->message, lw, mw);
    put(buf, "</g></svg>");
}

void badge_shields_json(h2o_buffer_t **buf, const char *label, int level)
{
    const struct look *look = look_of(level);

    put(buf, "{\"schemaVersion\":1,\"label\":");
    codec_put_json_string(buf, label, strlen(label));
    put(buf, ",\"message\":\"");
    put(buf, look->message);
    /* shields.io takes a hex colour without its '#' */
    put(buf, "\",\"color\":\"");
    put(buf, look->fill + 1);
    put(buf, "\",\"labelColor\":\"");
    put(buf, label_look.fill + 1);
    put(buf, "\"}");
}
