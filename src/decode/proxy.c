/* The small answers: HTTP-proxy create/attach, and /healthz. */
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* The message for a proxy answer that lacks a field, or NULL. Strings must
 * be ones a C string holds (no \u0000). */
static const char *check_proxy(const json_node *doc, int want_host_id, const char *parts[3])
{
    if (!doc || doc->type != JSON_OBJECT)
        return "proxy answer is not a JSON object";
    if (!(parts[0] = json_text(json_member(doc, "name"))))
        return "proxy answer: field 'name' is missing or not a string";
    if (!(parts[1] = json_text(json_member(doc, "status"))))
        return "proxy answer: field 'status' is missing or not a string";
    parts[2] = want_host_id ? json_text(json_member(doc, "host_id")) : NULL;
    if (want_host_id && !parts[2])
        return "proxy answer: field 'host_id' is missing or not a string";
    return NULL;
}

lb_code proxy_decode(const char *body, size_t len, int want_host_id, lb_proxy **out,
                     lb_error *err)
{
    *out = NULL;
    json_doc *doc;
    lb_code rc = json_doc_parse(body, len, &doc, err);
    if (rc != LB_OK)
        return rc;
    const char *parts[3]; /* name, status, host_id */
    const char *bad = check_proxy(json_doc_root(doc), want_host_id, parts);
    if (bad) {
        json_doc_free(doc);
        return error_set(err, LB_ERR_RESPONSE, 0, "%s", bad);
    }
    size_t sizes[3], total = sizeof(lb_proxy);
    for (int i = 0; i < 3; i++) {
        sizes[i] = parts[i] ? strlen(parts[i]) + 1 : 0;
        total += sizes[i];
    }
    char *block = malloc(total);
    if (!block) {
        json_doc_free(doc);
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    }
    lb_proxy *p = (lb_proxy *)(void *)block;
    char *cursor = block + sizeof *p;
    const char **slots[3] = {&p->name, &p->status, &p->host_id};
    for (int i = 0; i < 3; i++) {
        *slots[i] = parts[i] ? memcpy(cursor, parts[i], sizes[i]) : NULL;
        cursor += sizes[i];
    }
    json_doc_free(doc);
    *out = p;
    return LB_OK;
}

void lb_proxy_free(lb_proxy *proxy)
{
    free(proxy);
}

lb_code health_decode(const char *body, size_t len, lb_error *err)
{
    json_doc *doc;
    lb_code rc = json_doc_parse(body, len, &doc, err);
    if (rc != LB_OK)
        return rc;
    const json_node *status = json_member(json_doc_root(doc), "status");
    if (!status || status->type != JSON_STRING) {
        json_doc_free(doc);
        return error_set(err, LB_ERR_RESPONSE, 0, "health answer has no string field 'status'");
    }
    if (status->len != 2 || memcmp(status->text, "ok", 2) != 0) {
        /* Quoted as one printable line: control bytes, NUL included, as '?'. */
        char got[64];
        size_t n = utf8_cut(status->text, status->len, sizeof got - 1);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)status->text[i];
            got[i] = c < 0x20 || c == 0x7F ? '?' : (char)c;
        }
        got[n] = '\0';
        json_doc_free(doc);
        return error_set(err, LB_ERR_RESPONSE, 0, "health status is \"%s\", not \"ok\"", got);
    }
    json_doc_free(doc);
    return LB_OK;
}
