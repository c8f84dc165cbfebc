/* report_input.c -- reads a batch report from JSON (jansson) or msgpack (msgpack-c) into checked items.
 *
 * Both encodings meet in item_field: one member of one item, its value reduced to a number or "not a number", so
 * the rules and the error messages are the same whichever a bot sends. */
#include "base/report_input.h"

#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* msgpack nesting this deep is refused before msgpack-c sees it (a report needs three levels) */
#define MSGPACK_DEPTH_MAX 8

struct value {
    int is_null, is_number, is_integer;
    double number;
};

static long fail(struct report_error *e, long index, const char *field, const char *fmt, ...)
{
    va_list ap;

    e->index = index;
    snprintf(e->field, sizeof(e->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* The bits of an item's `seen`: one per figure field, then these. */
#define BIT_ID NUM_FIGURE_FIELDS
#define BIT_STATE (NUM_FIGURE_FIELDS + 1)

/* Applies member `name` of item `i`. `seen` marks the members met so far (msgpack maps may repeat a key). */
static int item_field(struct report_item *item, long i, const char *name, size_t len, const struct value *v,
                      uint32_t shards, unsigned *seen, struct report_error *e)
{
    char where[32], field[24];
    int which = figures_find(name, len), bit;

    snprintf(field, sizeof(field), "%.*s", (int)(len < 23 ? len : 23), name);
    bit = which >= 0 ? which : len == 2 && memcmp(name, "id", 2) == 0 ? BIT_ID
                             : len == 5 && memcmp(name, "state", 5) == 0 ? BIT_STATE : -1;
    if (bit < 0)
        return (int)fail(e, i, field, "shards[%ld]: unknown field \"%s\" (known: id, state, latency_ms, guilds, "
                                       "unavailable_guilds, members, events, resumes, identifies, disconnects)", i, field);
    if (*seen & (1u << bit))
        return (int)fail(e, i, field, "shards[%ld].%s appears twice", i, field);
    *seen |= 1u << bit;
    if (v->is_null && bit == BIT_STATE)
        return 0; /* no state: a ping */
    snprintf(where, sizeof(where), "shards[%ld].", i);
    if (v->is_null && bit < NUM_FIGURE_FIELDS) {
        if (figures_set_null(&item->figures, which, where, e->message, sizeof(e->message)) == 0)
            return 0;
        e->index = i;
        snprintf(e->field, sizeof(e->field), "%s", figure_names[which]);
        return -1;
    }
    if (bit == BIT_ID) {
        if (!v->is_integer || v->number < 0 || v->number >= shards)
            return (int)fail(e, i, "id", "shards[%ld].id must be a whole number from 0 to %u", i, shards - 1);
        item->shard = (uint32_t)v->number;
    } else if (bit == BIT_STATE) {
        if (!v->is_integer || v->number < 0 || v->number > 6)
            return (int)fail(e, i, "state", "shards[%ld].state must be a whole number from 0 to 6", i);
        item->state = (int)v->number;
    } else {
        if (figures_set(&item->figures, which, v->is_number ? v->number : NAN, v->is_integer, where,
                        e->message, sizeof(e->message)) != 0) {
            e->index = i;
            snprintf(e->field, sizeof(e->field), "%s", figure_names[which]);
            return -1;
        }
    }
    return 0;
}

static int item_done(struct report_item *item, long i, unsigned seen, struct report_error *e)
{
    char where[32];

    if (!(seen & (1u << BIT_ID)))
        return (int)fail(e, i, "id", "shards[%ld].id is missing", i);
    snprintf(where, sizeof(where), "shards[%ld].", i);
    if (figures_check(&item->figures, where, e->message, sizeof(e->message)) != 0) {
        e->index = i;
        snprintf(e->field, sizeof(e->field), "unavailable_guilds");
        return -1;
    }
    return 0;
}

static void item_init(struct report_item *item)
{
    item->shard = 0;
    item->state = -1;
    figures_clear(&item->figures);
}

static int by_shard(const void *a, const void *b)
{
    const struct report_item *x = *(const struct report_item *const *)a, *y = *(const struct report_item *const *)b;

    return x->shard < y->shard ? -1 : x->shard > y->shard ? 1 : x < y ? -1 : x > y;
}

/* Refuses a shard listed twice (which of two states would win is not for us to guess). */
static long check_unique(struct report_item *items, long n, struct report_error *e)
{
    struct report_item **sorted;
    long i, rc = n;

    if (n < 2)
        return n;
    if ((sorted = malloc((size_t)n * sizeof(*sorted))) == NULL)
        return fail(e, -1, "", "out of memory");
    for (i = 0; i != n; ++i)
        sorted[i] = &items[i];
    qsort(sorted, (size_t)n, sizeof(*sorted), by_shard);
    for (i = 1; i != n; ++i)
        if (sorted[i]->shard == sorted[i - 1]->shard) {
            rc = fail(e, (long)(sorted[i] - items), "id", "shards[%ld].id: shard %u is already in shards[%ld]",
                      (long)(sorted[i] - items), sorted[i]->shard, (long)(sorted[i - 1] - items));
            break;
        }
    free(sorted);
    return rc;
}

static long too_many(struct report_error *e, size_t n)
{
    return fail(e, -1, "shards", "shards has %zu items; a report holds at most %d", n, REPORT_ITEMS_MAX);
}

static const char *const shape = "the body must be an object {\"shards\": [{\"id\": ..., \"state\"?: ..., figures...}]} "
                                 "(with the session budget beside \"shards\" if any)";

/* A member of the body's top level other than "shards": one of the session budget's fields. */
static int top_field(struct gateway_session *session, const char *name, size_t len, const struct value *v,
                     struct report_error *e)
{
    int which = session_find(name, len);

    if (which < 0)
        return (int)fail(e, -1, "", "unknown field \"%.*s\" beside \"shards\" (known: session_start_total, "
                                    "session_start_remaining, session_start_reset_after_ms, max_concurrency)",
                         (int)(len < 40 ? len : 40), name);
    if (session->given & (1u << which))
        return (int)fail(e, -1, session_names[which], "%s appears twice", session_names[which]);
    if (session_set(session, which, v->is_number ? v->number : NAN, v->is_integer, e->message, sizeof(e->message)) != 0) {
        snprintf(e->field, sizeof(e->field), "%.23s", session_names[which]);
        return -1;
    }
    return 0;
}

static int top_done(const struct gateway_session *session, struct report_error *e)
{
    const char *field = "";

    if (session_check(session, 1, e->message, sizeof(e->message), &field) == 0)
        return 0;
    snprintf(e->field, sizeof(e->field), "%.23s", field);
    return -1;
}

static long from_json(const char *body, size_t len, uint32_t shards, struct report_item *items,
                      struct gateway_session *session, struct report_error *e)
{
    json_error_t jerr;
    json_t *in, *list = NULL, *obj, *value;
    const char *name;
    long n = -1;
    size_t i;

    if ((in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
        return fail(e, -1, "", "the body is not valid JSON: %s", jerr.text);
    if (!json_is_object(in) || !json_is_array(list = json_object_get(in, "shards"))) {
        fail(e, -1, "shards", "%s", shape);
        goto out;
    }
    json_object_foreach(in, name, value) {
        struct value v = {json_is_null(value), json_is_number(value), json_is_integer(value),
                          json_is_number(value) ? json_number_value(value) : 0};
        if (strcmp(name, "shards") != 0 && top_field(session, name, strlen(name), &v, e) != 0)
            goto out;
    }
    if (top_done(session, e) != 0)
        goto out;
    if (json_array_size(list) > REPORT_ITEMS_MAX) {
        too_many(e, json_array_size(list));
        goto out;
    }
    json_array_foreach(list, i, obj) {
        unsigned seen = 0;
        item_init(&items[i]);
        if (!json_is_object(obj)) {
            fail(e, (long)i, "", "shards[%zu] must be an object", i);
            goto out;
        }
        json_object_foreach(obj, name, value) {
            struct value v = {json_is_null(value), json_is_number(value), json_is_integer(value),
                              json_is_number(value) ? json_number_value(value) : 0};
            if (item_field(&items[i], (long)i, name, strlen(name), &v, shards, &seen, e) != 0)
                goto out;
        }
        if (item_done(&items[i], (long)i, seen, e) != 0)
            goto out;
    }
    n = check_unique(items, (long)json_array_size(list), e);
out:
    json_decref(in);
    return n;
}

static uint64_t be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;

    while (bytes-- > 0)
        v = v << 8 | *p++;
    return v;
}

/* Steps over one msgpack object, refusing counts that cannot fit in what is left and nesting past `depth`, so that
 * msgpack-c (which allocates an array's room from its header) never sees a claim the body cannot back. */
static int msgpack_walk(const unsigned char **pp, const unsigned char *end, int depth)
{
    const unsigned char *p = *pp;
    uint64_t skip = 0, children = 0;
    unsigned b;

    if (p >= end || depth == 0)
        return -1;
    b = *p++;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
    } else if (b >= 0x80 && b <= 0x9f) {
        children = (b & 0x0f) * (b <= 0x8f ? 2 : 1);
    } else if (b >= 0xa0 && b <= 0xbf) {
        skip = b & 0x1f;
    } else {
        static const signed char len[] = {
            /* c4..c9: bin8/16/32, ext8/16/32 */ 1, 2, 4, 1, 2, 4,
            /* ca..d3: float32/64, uint8..64, int8..64 */ 4, 8, 1, 2, 4, 8, 1, 2, 4, 8,
            /* d4..d8: fixext 1..16 */ 1, 1, 1, 1, 1,
            /* d9..db: str8/16/32 */ 1, 2, 4,
            /* dc..df: array16/32, map16/32 */ 2, 4, 2, 4};
        int n;
        if (b == 0xc1)
            return -1;
        n = len[b - 0xc4];
        if (end - p < n)
            return -1;
        if (b >= 0xca && b <= 0xd3) {
            skip = (uint64_t)n;
        } else if (b >= 0xd4 && b <= 0xd8) {
            skip = 1 + (1u << (b - 0xd4));
        } else {
            uint64_t count = be(p, n);
            p += n;
            if (b <= 0xc6 || (b >= 0xd9 && b <= 0xdb))
                skip = count;
            else if (b <= 0xc9)
                skip = count + 1;
            else
                children = count * (b >= 0xde ? 2 : 1);
        }
    }
    if (skip > (uint64_t)(end - p) || children > (uint64_t)(end - p))
        return -1;
    p += skip;
    while (children-- > 0)
        if (msgpack_walk(&p, end, depth - 1) != 0)
            return -1;
    *pp = p;
    return 0;
}

static struct value msgpack_value(const msgpack_object *o)
{
    struct value v = {o->type == MSGPACK_OBJECT_NIL, 0, 0, 0};

    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        v.is_number = v.is_integer = 1;
        v.number = (double)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v.is_number = v.is_integer = 1;
        v.number = (double)o->via.i64;
    } else if ((o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64) && isfinite(o->via.f64)) {
        v.is_number = 1;
        v.number = o->via.f64;
    }
    return v;
}

static int is_key(const msgpack_object *o, const char *name)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(name) &&
           memcmp(o->via.str.ptr, name, o->via.str.size) == 0;
}

static long from_msgpack(const char *body, size_t len, uint32_t shards, struct report_item *items,
                         struct gateway_session *session, struct report_error *e)
{
    const unsigned char *p = (const unsigned char *)body, *end = p + len;
    msgpack_unpacked up;
    const msgpack_object *top, *list = NULL;
    long n = -1;
    size_t off = 0;
    uint32_t i, k;

    if (msgpack_walk(&p, end, MSGPACK_DEPTH_MAX) != 0 || p != end)
        return fail(e, -1, "", "the body is not one valid msgpack object (or nests deeper than %d)", MSGPACK_DEPTH_MAX);
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, body, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        fail(e, -1, "", "the body is not valid msgpack");
        goto out;
    }
    top = &up.data;
    if (top->type == MSGPACK_OBJECT_MAP)
        for (k = 0; k != top->via.map.size; ++k) {
            const msgpack_object_kv *kv = &top->via.map.ptr[k];
            if (is_key(&kv->key, "shards")) {
                if (list != NULL) {
                    fail(e, -1, "shards", "shards appears twice");
                    goto out;
                }
                list = &kv->val;
            } else if (kv->key.type != MSGPACK_OBJECT_STR) {
                fail(e, -1, "", "the body has a key that is not a string");
                goto out;
            } else {
                struct value v = msgpack_value(&kv->val);
                if (top_field(session, kv->key.via.str.ptr, kv->key.via.str.size, &v, e) != 0)
                    goto out;
            }
        }
    if (top->type != MSGPACK_OBJECT_MAP || list == NULL || list->type != MSGPACK_OBJECT_ARRAY) {
        fail(e, -1, "shards", "%s", shape);
        goto out;
    }
    if (top_done(session, e) != 0)
        goto out;
    if (list->via.array.size > REPORT_ITEMS_MAX) {
        too_many(e, list->via.array.size);
        goto out;
    }
    for (i = 0; i != list->via.array.size; ++i) {
        const msgpack_object *obj = &list->via.array.ptr[i];
        unsigned seen = 0;
        item_init(&items[i]);
        if (obj->type != MSGPACK_OBJECT_MAP) {
            fail(e, (long)i, "", "shards[%u] must be a map", i);
            goto out;
        }
        for (k = 0; k != obj->via.map.size; ++k) {
            const msgpack_object_kv *kv = &obj->via.map.ptr[k];
            struct value v = msgpack_value(&kv->val);
            if (kv->key.type != MSGPACK_OBJECT_STR) {
                fail(e, (long)i, "", "shards[%u] has a key that is not a string", i);
                goto out;
            }
            if (item_field(&items[i], (long)i, kv->key.via.str.ptr, kv->key.via.str.size, &v, shards, &seen, e) != 0)
                goto out;
        }
        if (item_done(&items[i], (long)i, seen, e) != 0)
            goto out;
    }
    n = check_unique(items, (long)list->via.array.size, e);
out:
    msgpack_unpacked_destroy(&up);
    return n;
}

long report_input(enum report_encoding enc, const char *body, size_t len, uint32_t shards, struct report_item *items,
                  struct gateway_session *session, struct report_error *e)
{
    e->index = -1;
    e->field[0] = e->message[0] = '\0';
    session_clear(session);
    if (len > REPORT_BODY_MAX)
        return fail(e, -1, "", "the body is over %d bytes", REPORT_BODY_MAX);
    return enc == REPORT_JSON ? from_json(body, len, shards, items, session, e)
                              : from_msgpack(body, len, shards, items, session, e);
}
