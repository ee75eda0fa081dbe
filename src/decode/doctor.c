/* The doctor report from JSON: `{"ok", "active_provider",
 * "tailscale_enabled", "checks": [{"name", "status", "detail",
 * "latency_ms", "hint"}]}`.
 *
 * The report is one allocation, freed by lb_doctor_report_free: the struct,
 * the array of check pointers, the checks, then their strings. Callers reach
 * a check only through its pointer, so lb_doctor_check may grow. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* The fields of one check, checked. */
typedef struct check_fields {
    const char *name, *status, *detail, *hint; /* detail and hint may be NULL */
    long long latency_ms;                      /* -1 when null or absent */
} check_fields;

/* A member that must be a string (one a C string holds), or, when
 * nullable, null or absent (*out NULL). 0, or -1 when it is neither. */
static int string_member(const json_node *obj, const char *key, int nullable, const char **out)
{
    const json_node *v = json_member(obj, key);
    *out = json_text(v);
    if (*out)
        return 0;
    return nullable && (!v || v->type == JSON_NULL) ? 0 : -1;
}

/* Reads check c into *out. NULL, or the name of the field at fault. */
static const char *read_check(const json_node *c, check_fields *out)
{
    if (c->type != JSON_OBJECT)
        return "(the entry itself)";
    if (string_member(c, "name", 0, &out->name) != 0)
        return "name";
    if (string_member(c, "status", 0, &out->status) != 0)
        return "status";
    if (string_member(c, "detail", 1, &out->detail) != 0)
        return "detail";
    if (string_member(c, "hint", 1, &out->hint) != 0)
        return "hint";
    const json_node *latency = json_member(c, "latency_ms");
    out->latency_ms = -1;
    if (latency && latency->type != JSON_NULL && !json_integer_of(latency, &out->latency_ms))
        return "latency_ms";
    return NULL;
}

/* The top-level fields: NULL when all are there, else the message. */
static const char *check_report(const json_node *doc, int *ok, const char **provider,
                                int *tailscale, const json_node **checks)
{
    if (!doc || doc->type != JSON_OBJECT)
        return "doctor report is not a JSON object";
    if (!json_boolean_of(json_member(doc, "ok"), ok))
        return "doctor report: field 'ok' is missing or not a boolean";
    if (!(*provider = json_text(json_member(doc, "active_provider"))))
        return "doctor report: field 'active_provider' is missing or not a string";
    if (!json_boolean_of(json_member(doc, "tailscale_enabled"), tailscale))
        return "doctor report: field 'tailscale_enabled' is missing or not a boolean";
    *checks = json_member(doc, "checks");
    if (!*checks || (*checks)->type != JSON_ARRAY)
        return "doctor report: field 'checks' is missing or not an array";
    return NULL;
}

static size_t string_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies s to *cursor, which walks the report's string area. */
static const char *copy_string(char **cursor, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *dst = memcpy(*cursor, s, n);
    *cursor += n;
    return dst;
}

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

/* The report's one block, given its checks (already read) and strings'
 * total size. NULL when out of memory. */
static lb_doctor_report *build_report(int ok, const char *provider, int tailscale,
                                      const check_fields *f, size_t n, size_t strings)
{
    size_t pointers_at = align_up(sizeof(lb_doctor_report), alignof(lb_doctor_check *));
    size_t checks_at = align_up(pointers_at + n * sizeof(lb_doctor_check *),
                                alignof(lb_doctor_check));
    size_t strings_at = checks_at + n * sizeof(lb_doctor_check);
    char *block = malloc(strings_at + strings);
    if (!block)
        return NULL;
    lb_doctor_report *r = (lb_doctor_report *)(void *)block;
    char *cursor = block + strings_at;
    r->ok = ok;
    r->tailscale_enabled = tailscale;
    r->active_provider = copy_string(&cursor, provider);
    r->check_count = n;
    r->checks = n ? (lb_doctor_check **)(void *)(block + pointers_at) : NULL;
    lb_doctor_check *slots = (lb_doctor_check *)(void *)(block + checks_at);
    for (size_t i = 0; i < n; i++) {
        lb_doctor_check *c = &slots[i];
        memset(c, 0, sizeof *c);
        c->name = copy_string(&cursor, f[i].name);
        c->status = copy_string(&cursor, f[i].status);
        c->detail = copy_string(&cursor, f[i].detail);
        c->hint = copy_string(&cursor, f[i].hint);
        c->latency_ms = f[i].latency_ms;
        r->checks[i] = c;
    }
    return r;
}

lb_code doctor_decode(const char *body, size_t len, lb_doctor_report **out, lb_error *err)
{
    *out = NULL;
    json_doc *doc;
    lb_code rc = json_doc_parse(body, len, &doc, err);
    if (rc != LB_OK)
        return rc;
    int ok, tailscale;
    const char *provider;
    const json_node *checks;
    const char *bad = check_report(json_doc_root(doc), &ok, &provider, &tailscale, &checks);
    if (bad) {
        json_doc_free(doc);
        return error_set(err, LB_ERR_RESPONSE, 0, "%s", bad);
    }

    size_t n = checks->count, i = 0;
    check_fields *fields = calloc(n ? n : 1, sizeof *fields);
    if (!fields) {
        json_doc_free(doc);
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    }
    size_t strings = string_size(provider);
    for (const json_node *c = checks->first; c; c = c->next, i++) {
        const char *field = read_check(c, &fields[i]);
        if (field) {
            free(fields);
            json_doc_free(doc);
            return error_set(err, LB_ERR_RESPONSE, 0, "doctor report: check %zu: bad field '%s'",
                             i, field);
        }
        strings += string_size(fields[i].name) + string_size(fields[i].status) +
                   string_size(fields[i].detail) + string_size(fields[i].hint);
    }
    *out = build_report(ok, provider, tailscale, fields, n, strings);
    free(fields);
    json_doc_free(doc);
    if (!*out)
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    return LB_OK;
}

void lb_doctor_report_free(lb_doctor_report *report)
{
    free(report);
}
