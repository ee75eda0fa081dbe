/* The doctor report from JSON: `{"ok", "active_provider",
 * "tailscale_enabled", "checks": [{"name", "status", "detail",
 * "latency_ms", "hint"}]}`. */
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* Strings of a report live in one block after the struct and the checks;
 * `cursor` walks it as they are copied in. */
static const char *copy_string(char **cursor, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *dst = *cursor;
    memcpy(dst, s, n);
    *cursor += n;
    return dst;
}

static size_t string_size(yajl_val v)
{
    return YAJL_IS_STRING(v) ? strlen(JSON_STR(v)) + 1 : 0;
}

/* A member that must be a string, or (nullable) null/absent. */
static int string_member(yajl_val obj, const char *key, int nullable, const char **out)
{
    yajl_val v = json_get(obj, key);
    *out = NULL;
    if (YAJL_IS_STRING(v)) {
        *out = JSON_STR(v);
        return 0;
    }
    return (nullable && (!v || YAJL_IS_NULL(v))) ? 0 : -1;
}

lb_code doctor_decode(const char *body, size_t len, lb_doctor_report **out, lb_error *err)
{
    *out = NULL;
    yajl_val doc;
    lb_code rc = json_tree_parse(body, len, &doc, err);
    if (rc != LB_OK)
        return rc;
    yajl_val ok = json_get(doc, "ok");
    yajl_val provider = json_get(doc, "active_provider");
    yajl_val tailscale = json_get(doc, "tailscale_enabled");
    yajl_val checks = json_get(doc, "checks");
    const char *bad = NULL;
    if (!YAJL_IS_OBJECT(doc))
        bad = "doctor report is not a JSON object";
    else if (!YAJL_IS_TRUE(ok) && !YAJL_IS_FALSE(ok))
        bad = "doctor report: field 'ok' is missing or not a boolean";
    else if (!YAJL_IS_STRING(provider))
        bad = "doctor report: field 'active_provider' is missing or not a string";
    else if (!YAJL_IS_TRUE(tailscale) && !YAJL_IS_FALSE(tailscale))
        bad = "doctor report: field 'tailscale_enabled' is missing or not a boolean";
    else if (!YAJL_IS_ARRAY(checks))
        bad = "doctor report: field 'checks' is missing or not an array";
    if (bad) {
        yajl_tree_free(doc);
        return error_set(err, LB_ERR_RESPONSE, 0, "%s", bad);
    }

    size_t n = checks->u.array.len;
    size_t strings = string_size(provider);
    for (size_t i = 0; i < n; i++) {
        yajl_val c = checks->u.array.values[i];
        const char *s;
        yajl_val latency = json_get(c, "latency_ms");
        const char *field = NULL;
        if (!YAJL_IS_OBJECT(c))
            field = "(the entry itself)";
        else if (string_member(c, "name", 0, &s) != 0)
            field = "name";
        else if (string_member(c, "status", 0, &s) != 0)
            field = "status";
        else if (string_member(c, "detail", 1, &s) != 0)
            field = "detail";
        else if (string_member(c, "hint", 1, &s) != 0)
            field = "hint";
        else if (latency && !YAJL_IS_NULL(latency) && !YAJL_IS_INTEGER(latency))
            field = "latency_ms";
        if (field) {
            yajl_tree_free(doc);
            return error_set(err, LB_ERR_RESPONSE, 0, "doctor report: check %zu: bad field '%s'",
                             i, field);
        }
        strings += string_size(json_get(c, "name")) + string_size(json_get(c, "status")) +
                   string_size(json_get(c, "detail")) + string_size(json_get(c, "hint"));
    }

    size_t head = sizeof(lb_doctor_report) + n * sizeof(lb_doctor_check);
    char *block = malloc(head + strings);
    if (!block) {
        yajl_tree_free(doc);
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    }
    lb_doctor_report *r = (lb_doctor_report *)block;
    char *cursor = block + head;
    r->ok = YAJL_IS_TRUE(ok);
    r->tailscale_enabled = YAJL_IS_TRUE(tailscale);
    r->active_provider = copy_string(&cursor, JSON_STR(provider));
    r->check_count = n;
    r->checks = n ? (lb_doctor_check *)(block + sizeof *r) : NULL;
    for (size_t i = 0; i < n; i++) {
        yajl_val c = checks->u.array.values[i];
        lb_doctor_check *dc = &r->checks[i];
        const char *s;
        string_member(c, "name", 0, &s);
        dc->name = copy_string(&cursor, s);
        string_member(c, "status", 0, &s);
        dc->status = copy_string(&cursor, s);
        string_member(c, "detail", 1, &s);
        dc->detail = copy_string(&cursor, s);
        string_member(c, "hint", 1, &s);
        dc->hint = copy_string(&cursor, s);
        yajl_val latency = json_get(c, "latency_ms");
        dc->latency_ms = YAJL_IS_INTEGER(latency) ? YAJL_GET_INTEGER(latency) : -1;
    }
    yajl_tree_free(doc);
    *out = r;
    return LB_OK;
}

void lb_doctor_report_free(lb_doctor_report *report)
{
    free(report);
}
