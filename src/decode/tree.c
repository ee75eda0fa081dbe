/* Small JSON documents (errors, doctor, proxy answers) as yajl trees. */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "decode.h"

/* yajl_tree builds and frees recursively, so a hostile body nested a
 * million deep would exhaust the stack there. A first pass with yajl's
 * event parser (the same lexer, with comments off: JSON has none, while
 * yajl_tree_parse would accept them) measures the depth and refuses such
 * bodies up front. */
#define MAX_DEPTH 64

typedef struct depth_probe {
    int depth;
    int too_deep;
} depth_probe;

static int probe_open(void *ctx)
{
    depth_probe *p = ctx;
    if (++p->depth > MAX_DEPTH) {
        p->too_deep = 1;
        return 0;
    }
    return 1;
}

static int probe_close(void *ctx)
{
    ((depth_probe *)ctx)->depth--;
    return 1;
}

static const yajl_callbacks probe_callbacks = {
    .yajl_start_map = probe_open,
    .yajl_end_map = probe_close,
    .yajl_start_array = probe_open,
    .yajl_end_array = probe_close,
};

/* LB_OK when body is one JSON value no deeper than MAX_DEPTH. */
static lb_code shape_check(const char *body, size_t len, lb_error *err)
{
    depth_probe probe = {0, 0};
    yajl_handle h = yajl_alloc(&probe_callbacks, NULL, &probe);
    if (!h)
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    yajl_status st = yajl_parse(h, (const unsigned char *)body, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    lb_code rc = LB_OK;
    if (probe.too_deep)
        rc = error_set(err, LB_ERR_RESPONSE, 0, "response is not valid JSON: nested too deep");
    else if (st != yajl_status_ok) {
        unsigned char *why = yajl_get_error(h, 0, NULL, 0);
        rc = error_set(err, LB_ERR_RESPONSE, 0, "response is not valid JSON: %s",
                       why ? (const char *)why : "parse error");
        if (why)
            yajl_free_error(h, why);
    }
    yajl_free(h);
    return rc;
}

lb_code json_tree_parse(const char *body, size_t len, yajl_val *out, lb_error *err)
{
    *out = NULL;
    if (len == 0)
        return error_set(err, LB_ERR_RESPONSE, 0, "response body is empty");
    if (memchr(body, '\0', len))
        return error_set(err, LB_ERR_RESPONSE, 0, "response is not valid JSON: a NUL byte");
    lb_code shape = shape_check(body, len, err);
    if (shape != LB_OK)
        return shape;
    char *copy = malloc(len + 1); /* yajl_tree_parse wants a terminated string */
    if (!copy)
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    memcpy(copy, body, len);
    copy[len] = '\0';
    char why[128];
    why[0] = '\0';
    *out = yajl_tree_parse(copy, why, sizeof why);
    free(copy);
    if (!*out) {
        /* yajl's message spans lines; keep its first. */
        why[strcspn(why, "\r\n")] = '\0';
        return error_set(err, LB_ERR_RESPONSE, 0, "response is not valid JSON%s%s",
                         why[0] ? ": " : "", why);
    }
    return LB_OK;
}

yajl_val json_get(yajl_val obj, const char *key)
{
    if (!YAJL_IS_OBJECT(obj))
        return NULL;
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], key) == 0)
            return obj->u.object.values[i];
    return NULL;
}
