/* Small JSON documents (errors, doctor, proxy answers) as yajl trees. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* yajl_tree frees recursively, so a hostile body nested a million deep
 * would exhaust the stack there; such bodies are refused up front. */
static int depth_ok(const char *s, size_t len, int max)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

lb_code json_tree_parse(const char *body, size_t len, yajl_val *out, lb_error *err)
{
    *out = NULL;
    if (len == 0)
        return error_set(err, LB_ERR_RESPONSE, 0, "response body is empty");
    if (memchr(body, '\0', len))
        return error_set(err, LB_ERR_RESPONSE, 0, "response is not valid JSON: a NUL byte");
    if (!depth_ok(body, len, 64))
        return error_set(err, LB_ERR_RESPONSE, 0, "response is not valid JSON: nested too deep");
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
