/* Request bodies into a small tree. yajl's own tree drops string lengths,
 * so a "\u0000" inside an env value would silently cut it; the callbacks
 * below keep every string with its length so that validation can refuse
 * NUL bytes. Bodies are at most 1 MiB, so a tree is fine here.
 *
 * Two refusals happen while parsing, before any validation runs: a string
 * (key or value) that is not strict UTF-8, which yajl lets through (overlong
 * forms, surrogates, code points past U+10FFFF; every string the server
 * stores is echoed later, and one bad byte there breaks every client's
 * list), and an object or array of more than JSON_MAX_MEMBERS members, so
 * that no later pass can be made to work on 40,000 env keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "server.h"

#define MAX_DEPTH 64

typedef struct builder {
    enum json_fail fail;
    jnode *root;
    jnode *stack[MAX_DEPTH];
    const char *stack_key[MAX_DEPTH]; /* the member name of each open object, or NULL */
    int depth;
    const char *too_many_in; /* the member name of the object that grew too large */
    char *pending_key;       /* the key of the next member of the object on top */
    size_t pending_key_len;
    int failed;
} builder;

static char *copy_bytes(const unsigned char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p) return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Attach a new node where the parser stands. */
static jnode *add_node(builder *b, enum jtype type)
{
    jnode *n = calloc(1, sizeof *n);
    if (!n) {
        b->failed = 1;
        return NULL;
    }
    n->type = type;
    if (b->depth == 0) {
        b->root = n;
        return n;
    }
    jnode *parent = b->stack[b->depth - 1];
    if (parent->n >= JSON_MAX_MEMBERS) {
        free(n);
        b->fail = JSON_TOO_MANY;
        b->too_many_in = b->stack_key[b->depth - 1];
        return NULL;
    }
    size_t cap = parent->n + 1;
    jnode **kids = realloc(parent->kids, cap * sizeof *kids);
    if (!kids) {
        free(n);
        b->failed = 1;
        return NULL;
    }
    parent->kids = kids;
    if (parent->type == J_OBJECT) {
        char **keys = realloc(parent->keys, cap * sizeof *keys);
        if (keys) parent->keys = keys;
        size_t *lens = keys ? realloc(parent->key_lens, cap * sizeof *lens) : NULL;
        if (lens) parent->key_lens = lens;
        if (!keys || !lens) {
            free(n);
            b->failed = 1;
            return NULL;
        }
        parent->keys[parent->n] = b->pending_key;
        parent->key_lens[parent->n] = b->pending_key_len;
        b->pending_key = NULL;
    }
    parent->kids[parent->n++] = n;
    return n;
}

static int on_null(void *ctx)
{
    return add_node(ctx, J_NULL) != NULL;
}

static int on_bool(void *ctx, int v)
{
    jnode *n = add_node(ctx, J_BOOL);
    if (n) n->i = v;
    return n != NULL;
}

static int on_int(void *ctx, long long v)
{
    jnode *n = add_node(ctx, J_INT);
    if (n) n->i = v;
    return n != NULL;
}

static int on_double(void *ctx, double v)
{
    jnode *n = add_node(ctx, J_DOUBLE);
    if (n) n->d = v;
    return n != NULL;
}

static int strict_text(builder *b, const unsigned char *s, size_t len)
{
    if (utf8_strict((const char *)s, len)) return 1;
    b->fail = JSON_BAD_UTF8;
    return 0;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    builder *b = ctx;
    if (!strict_text(b, s, len)) return 0;
    jnode *n = add_node(b, J_STRING);
    if (!n) return 0;
    n->s = copy_bytes(s, len);
    n->len = len;
    if (!n->s) b->failed = 1;
    return n->s != NULL;
}

static int open_container(builder *b, enum jtype type)
{
    if (b->depth >= MAX_DEPTH) {
        b->fail = JSON_TOO_DEEP;
        return 0;
    }
    jnode *parent = b->depth ? b->stack[b->depth - 1] : NULL;
    jnode *n = add_node(b, type);
    if (!n) return 0;
    b->stack_key[b->depth] =
        parent && parent->type == J_OBJECT ? parent->keys[parent->n - 1] : NULL;
    b->stack[b->depth++] = n;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, J_OBJECT);
}

static int on_map_key(void *ctx, const unsigned char *s, size_t len)
{
    builder *b = ctx;
    if (!strict_text(b, s, len)) return 0;
    free(b->pending_key);
    b->pending_key = copy_bytes(s, len);
    b->pending_key_len = len;
    if (!b->pending_key) b->failed = 1;
    return b->pending_key != NULL;
}

static int on_end(void *ctx)
{
    builder *b = ctx;
    b->depth--;
    return 1;
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, J_ARRAY);
}

static const yajl_callbacks callbacks = {
    on_null,      on_bool,    on_int, on_double,      NULL,   on_string,
    on_start_map, on_map_key, on_end, on_start_array, on_end,
};

static int hex4(const char *s, size_t len, size_t at, unsigned *out)
{
    if (at + 4 > len) return 0;
    unsigned v = 0;
    for (size_t i = at; i < at + 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return 0;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 1;
}

/* 1 when every \u escape of a surrogate in the text is half of a pair.
 * yajl decodes a high surrogate that is alone to '?', and one followed by
 * any other escape to a code point neither half meant; a low one alone
 * comes out as bytes the UTF-8 check refuses. Outside strings a backslash
 * is a syntax error yajl reports, so strings need no tracking here beyond
 * skipping the character each backslash escapes. */
static int surrogates_paired(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\') continue;
        if (i + 1 < len && s[i + 1] == 'u') {
            unsigned v, w;
            if (!hex4(s, len, i + 2, &v)) return 1; /* yajl refuses it */
            if (v >= 0xd800 && v <= 0xdbff) {
                if (i + 11 >= len || s[i + 6] != '\\' || s[i + 7] != 'u' ||
                    !hex4(s, len, i + 8, &w) || w < 0xdc00 || w > 0xdfff)
                    return 0;
                i += 11;
                continue;
            }
            if (v >= 0xdc00 && v <= 0xdfff) return 0;
            i += 5;
            continue;
        }
        i++; /* the escaped character, a backslash included */
    }
    return 1;
}

jnode *json_parse(const char *text, size_t len, json_error *err)
{
    builder b;
    memset(&b, 0, sizeof b);
    char *why = err->why;
    size_t why_size = sizeof err->why;
    err->fail = JSON_NOMEM;
    err->where[0] = '\0';
    if (!surrogates_paired(text, len)) {
        err->fail = JSON_BAD_UTF8;
        snprintf(why, why_size, "a \\u escape is half a surrogate pair");
        return NULL;
    }
    yajl_handle h = yajl_alloc(&callbacks, NULL, &b);
    if (!h) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
    if (st == yajl_status_ok) st = yajl_complete_parse(h);
    if (st != yajl_status_ok || b.failed || !b.root) {
        err->fail = b.failed ? JSON_NOMEM : b.fail ? b.fail : JSON_SYNTAX;
        if (b.failed) {
            snprintf(why, why_size, "out of memory");
        } else if (b.fail == JSON_TOO_DEEP) {
            snprintf(why, why_size, "nested more than %d deep", MAX_DEPTH);
        } else if (b.fail == JSON_TOO_MANY) {
            snprintf(why, why_size, "an object or array has more than %d members",
                     JSON_MAX_MEMBERS);
            /* Named only when it is a plain name: the answer may quote it. */
            const char *k = b.too_many_in;
            size_t kl = k ? strlen(k) : 0;
            if (kl && kl < sizeof err->where && strspn(k, "abcdefghijklmnopqrstuvwxyz_") == kl)
                memcpy(err->where, k, kl + 1);
        } else if (b.fail == JSON_BAD_UTF8) {
            snprintf(why, why_size, "a string is not valid UTF-8");
        } else {
            unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
            snprintf(why, why_size, "%s", msg ? (const char *)msg : "Expecting value");
            if (msg) yajl_free_error(h, msg);
        }
        json_free(b.root);
        free(b.pending_key);
        yajl_free(h);
        return NULL;
    }
    free(b.pending_key);
    yajl_free(h);
    err->fail = JSON_OK;
    err->why[0] = '\0';
    return b.root;
}

void json_free(jnode *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        json_free(n->kids[i]);
        if (n->keys) free(n->keys[i]);
    }
    free(n->kids);
    free(n->keys);
    free(n->key_lens);
    if (n->s) {
        wipe(n->s, n->len); /* env values may be secrets */
        free(n->s);
    }
    free(n);
}

const jnode *json_get(const jnode *obj, const char *key)
{
    if (!obj || obj->type != J_OBJECT) return NULL;
    size_t klen = strlen(key);
    const jnode *found = NULL;
    /* The last of repeated keys wins, as in Python's json. */
    for (size_t i = 0; i < obj->n; i++)
        if (obj->key_lens[i] == klen && memcmp(obj->keys[i], key, klen) == 0) found = obj->kids[i];
    return found;
}
