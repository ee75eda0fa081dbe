/* The small answers: HTTP-proxy create/attach, and /healthz. */
#include <stdlib.h>
#include <string.h>

#include "decode.h"

lb_code proxy_decode(const char *body, size_t len, int want_host_id, lb_proxy **out,
                     lb_error *err)
{
    *out = NULL;
    yajl_val doc;
    lb_code rc = json_tree_parse(body, len, &doc, err);
    if (rc != LB_OK)
        return rc;
    yajl_val name = json_get(doc, "name");
    yajl_val status = json_get(doc, "status");
    yajl_val host_id = json_get(doc, "host_id");
    const char *bad = NULL;
    if (!YAJL_IS_OBJECT(doc))
        bad = "proxy answer is not a JSON object";
    else if (!YAJL_IS_STRING(name))
        bad = "proxy answer: field 'name' is missing or not a string";
    else if (!YAJL_IS_STRING(status))
        bad = "proxy answer: field 'status' is missing or not a string";
    else if (want_host_id && !YAJL_IS_STRING(host_id))
        bad = "proxy answer: field 'host_id' is missing or not a string";
    if (bad) {
        yajl_tree_free(doc);
        return error_set(err, LB_ERR_RESPONSE, 0, "%s", bad);
    }
    const char *parts[3] = {JSON_STR(name), JSON_STR(status),
                            want_host_id ? JSON_STR(host_id) : NULL};
    size_t sizes[3], total = sizeof(lb_proxy);
    for (int i = 0; i < 3; i++) {
        sizes[i] = parts[i] ? strlen(parts[i]) + 1 : 0;
        total += sizes[i];
    }
    char *block = malloc(total);
    if (!block) {
        yajl_tree_free(doc);
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    }
    lb_proxy *p = (lb_proxy *)block;
    char *cursor = block + sizeof *p;
    const char **slots[3] = {&p->name, &p->status, &p->host_id};
    for (int i = 0; i < 3; i++) {
        *slots[i] = parts[i] ? memcpy(cursor, parts[i], sizes[i]) : NULL;
        cursor += sizes[i];
    }
    yajl_tree_free(doc);
    *out = p;
    return LB_OK;
}

void lb_proxy_free(lb_proxy *proxy)
{
    free(proxy);
}

lb_code health_decode(const char *body, size_t len, lb_error *err)
{
    yajl_val doc;
    lb_code rc = json_tree_parse(body, len, &doc, err);
    if (rc != LB_OK)
        return rc;
    yajl_val status = json_get(doc, "status");
    if (!YAJL_IS_STRING(status)) {
        yajl_tree_free(doc);
        return error_set(err, LB_ERR_RESPONSE, 0,
                         "health answer has no string field 'status'");
    }
    if (strcmp(JSON_STR(status), "ok") != 0) {
        char got[64];
        utf8_copy(got, sizeof got, JSON_STR(status), strlen(JSON_STR(status)));
        for (char *p = got; *p; p++) /* one printable line */
            if ((unsigned char)*p < 0x20 || *p == 0x7F)
                *p = '?';
        yajl_tree_free(doc);
        return error_set(err, LB_ERR_RESPONSE, 0, "health status is \"%s\", not \"ok\"", got);
    }
    yajl_tree_free(doc);
    return LB_OK;
}
