/* A small body read whole (an error, a doctor report, a proxy or health
 * answer) as a tree, built from json_stream's events: the same reader, and
 * so the same grammar, as the host records. The nodes and texts live in a
 * few blocks of one arena freed together; no function here recurses, so a
 * deep body costs no stack, and JSON_DOC_MAX_DEPTH refuses the bodies no
 * service answer has. */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "json_stream.h"
#include "util.h"

#define BLOCK_MIN 4096 /* bytes of the arena's first block; each next doubles */

struct arena_block {
    struct arena_block *next;
    size_t used, size;
    alignas(max_align_t) unsigned char bytes[];
};

struct json_doc {
    struct arena_block *blocks; /* the newest first */
    json_node *root;
};

/* What the events build on. */
typedef struct builder {
    json_doc *doc;
    json_node *open; /* the innermost container not yet closed */
    size_t depth;
    const char *key; /* the name of the member whose value comes next */
    size_t key_len;
    int too_deep, nomem;
} builder;

static void *arena_alloc(json_doc *doc, size_t n)
{
    n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    struct arena_block *b = doc->blocks;
    if (!b || b->size - b->used < n) {
        size_t size = b ? b->size * 2 : BLOCK_MIN;
        if (size < n)
            size = n;
        struct arena_block *fresh = malloc(sizeof *fresh + size);
        if (!fresh)
            return NULL;
        fresh->next = b;
        fresh->used = 0;
        fresh->size = size;
        doc->blocks = b = fresh;
    }
    void *p = b->bytes + b->used;
    b->used += n;
    return p;
}

/* A NUL-terminated copy of s[0..len) in the arena. */
static const char *arena_text(json_doc *doc, const void *s, size_t len)
{
    char *copy = arena_alloc(doc, len + 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

/* A new node of the type, placed as the next value of the open container
 * (or as the root). */
static json_node *add_node(builder *b, json_type type)
{
    json_node *n = arena_alloc(b->doc, sizeof *n);
    if (!n) {
        b->nomem = 1;
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->type = type;
    n->parent = b->open;
    if (!b->open) {
        b->doc->root = n;
        return n;
    }
    if (b->open->type == JSON_OBJECT) {
        n->key = b->key;
        n->key_len = b->key_len;
    }
    if (b->open->last)
        b->open->last->next = n;
    else
        b->open->first = n;
    b->open->last = n;
    b->open->count++;
    return n;
}

static int on_null(void *ctx)
{
    return add_node(ctx, JSON_NULL) != NULL;
}

static int on_boolean(void *ctx, int value)
{
    return add_node(ctx, value ? JSON_TRUE : JSON_FALSE) != NULL;
}

/* A string or number: the node and its text. */
static int add_text(builder *b, json_type type, const void *s, size_t len)
{
    json_node *n = add_node(b, type);
    if (!n)
        return 0;
    n->text = arena_text(b->doc, s, len);
    n->len = len;
    if (!n->text)
        b->nomem = 1;
    return n->text != NULL;
}

static int on_number(void *ctx, const char *text, size_t len)
{
    return add_text(ctx, JSON_NUMBER, text, len);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    return add_text(ctx, JSON_STRING, s, len);
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    builder *b = ctx;
    b->key = arena_text(b->doc, key, len);
    b->key_len = len;
    if (!b->key)
        b->nomem = 1;
    return b->key != NULL;
}

static int open_container(builder *b, json_type type)
{
    if (b->depth == JSON_DOC_MAX_DEPTH) {
        b->too_deep = 1;
        return 0;
    }
    json_node *n = add_node(b, type);
    if (!n)
        return 0;
    b->open = n;
    b->depth++;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, JSON_OBJECT);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, JSON_ARRAY);
}

static int on_end(void *ctx)
{
    builder *b = ctx;
    b->open = b->open->parent;
    b->depth--;
    return 1;
}

static const json_events build_events = {
    .null = on_null,
    .boolean = on_boolean,
    .number = on_number,
    .string = on_string,
    .start_map = on_start_map,
    .map_key = on_map_key,
    .end_map = on_end,
    .start_array = on_start_array,
    .end_array = on_end,
};

void json_doc_free(json_doc *doc)
{
    if (!doc)
        return;
    for (struct arena_block *b = doc->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(doc);
}

/* The reader's verdict as the decoders report it. */
static lb_code doc_status(json_status st, const builder *b, const json_stream *s, lb_error *err)
{
    if (st == JSON_OK)
        return LB_OK;
    if (st == JSON_NOMEM || b->nomem)
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    if (b->too_deep)
        return error_set(err, LB_ERR_RESPONSE, 0, "response is not valid JSON: nested too deep");
    return error_set(err, LB_ERR_RESPONSE, 0, "response is not valid JSON: %s",
                     json_stream_error(s));
}

lb_code json_doc_parse(const char *body, size_t len, json_doc **out, lb_error *err)
{
    *out = NULL;
    if (len == 0)
        return error_set(err, LB_ERR_RESPONSE, 0, "response body is empty");
    builder b = {.doc = calloc(1, sizeof(json_doc))};
    json_stream *s = b.doc ? json_stream_new(&build_events, &b) : NULL;
    if (!s) {
        json_doc_free(b.doc);
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    }
    json_status st = json_stream_feed(s, body, len);
    if (st == JSON_OK)
        st = json_stream_finish(s);
    lb_code rc = doc_status(st, &b, s, err);
    json_stream_free(s);
    if (rc != LB_OK) {
        json_doc_free(b.doc);
        return rc;
    }
    *out = b.doc;
    return LB_OK;
}

const json_node *json_doc_root(const json_doc *doc)
{
    return doc->root;
}

const json_node *json_member(const json_node *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    size_t len = strlen(key);
    for (const json_node *m = obj->first; m; m = m->next)
        if (m->key_len == len && memcmp(m->key, key, len) == 0)
            return m;
    return NULL;
}

const char *json_text(const json_node *n)
{
    if (!n || n->type != JSON_STRING || memchr(n->text, '\0', n->len))
        return NULL;
    return n->text;
}

int json_integer_of(const json_node *n, long long *out)
{
    if (!n || n->type != JSON_NUMBER)
        return 0;
    const unsigned char *p = (const unsigned char *)n->text;
    return json_integer(p, 0, n->len, out) == n->len;
}

int json_boolean_of(const json_node *n, int *out)
{
    if (!n || (n->type != JSON_TRUE && n->type != JSON_FALSE))
        return 0;
    *out = n->type == JSON_TRUE;
    return 1;
}
