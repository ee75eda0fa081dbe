/* The error classifier: a non-2xx response to a code and a one-line message
 * (docs/api.md). A pure function of status and body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

#define QUOTE_MAX 200 /* bytes of a non-JSON body quoted in the message */

static lb_code code_for_status(int status)
{
    switch (status) {
    case 401:
    case 403:
        return LB_ERR_AUTH;
    case 404:
        return LB_ERR_NOT_FOUND;
    case 409:
        return LB_ERR_CONFLICT;
    case 422:
        return LB_ERR_VALIDATION;
    case 429:
    case 503:
    case 504:
        return LB_ERR_UNAVAILABLE;
    default:
        return LB_ERR_RESPONSE;
    }
}

/* Appends s, escaping control bytes and bytes that are not UTF-8 so that the
 * message stays one printable line; quoting also escapes '"' and '\\'. */
static int append_escaped(lb_buf *b, const char *s, size_t len, int quoting)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c >= 0x80) {
            size_t n = 1;
            while (n < 4 && i + n < len && ((unsigned char)s[i + n] & 0xC0) == 0x80)
                n++;
            if (utf8_valid(s + i, n)) {
                if (buf_append(b, s + i, n) != 0)
                    return -1;
                i += n;
                continue;
            }
            snprintf(esc, sizeof esc, "\\x%02X", c);
        } else if (c == '\n') {
            strcpy(esc, "\\n");
        } else if (c == '\r') {
            strcpy(esc, "\\r");
        } else if (c == '\t') {
            strcpy(esc, "\\t");
        } else if (c < 0x20 || c == 0x7F) {
            snprintf(esc, sizeof esc, "\\x%02X", c);
        } else if (quoting && (c == '"' || c == '\\')) {
            esc[0] = '\\';
            esc[1] = (char)c;
            esc[2] = '\0';
        } else {
            esc[0] = (char)c;
            esc[1] = '\0';
        }
        if (buf_append_str(b, esc) != 0)
            return -1;
        i++;
    }
    return 0;
}

/* Copies s with every occurrence of secret replaced by "***". */
static int append_redacted(lb_buf *b, const char *s, size_t len, const char *secret)
{
    size_t slen = secret ? strlen(secret) : 0;
    size_t start = 0;
    for (size_t i = 0; slen && i + slen <= len;) {
        if (memcmp(s + i, secret, slen) == 0) {
            if (buf_append(b, s + start, i - start) != 0 || buf_append_str(b, "***") != 0)
                return -1;
            i += slen;
            start = i;
        } else {
            i++;
        }
    }
    return buf_append(b, s + start, len - start);
}

/* "loc.parts: msg" for each entry of a 422 detail list, joined by "; ". */
static int append_validation_list(lb_buf *b, const json_node *list)
{
    for (const json_node *entry = list->first; entry; entry = entry->next) {
        const json_node *loc = json_member(entry, "loc");
        const json_node *msg = json_member(entry, "msg");
        if (entry != list->first && buf_append_str(b, "; ") != 0)
            return -1;
        size_t parts = 0;
        for (const json_node *part = loc && loc->type == JSON_ARRAY ? loc->first : NULL; part;
             part = part->next) {
            if (part->type != JSON_STRING && part->type != JSON_NUMBER)
                continue; /* a number as sent: an index into a list */
            if ((parts++ && buf_append_str(b, ".") != 0) ||
                buf_append(b, part->text, part->len) != 0)
                return -1;
        }
        if (parts && buf_append_str(b, ": ") != 0)
            return -1;
        int rc = msg && msg->type == JSON_STRING ? buf_append(b, msg->text, msg->len)
                                                 : buf_append_str(b, "invalid value");
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Fills err->error_code from the body's string error_code: redacted and
 * escaped whole, then cut (a cut first could leave a prefix of the token
 * that no longer matches it). -1 on ENOMEM. */
static int take_error_code(const json_node *code, const char *secret, lb_error *err)
{
    if (!code || code->type != JSON_STRING)
        return 0;
    lb_buf clean = {0}, line = {0};
    int bad = append_redacted(&clean, code->text, code->len, secret) != 0 ||
              append_escaped(&line, clean.data, clean.len, 0) != 0;
    if (!bad)
        utf8_copy(err->error_code, sizeof err->error_code, line.data ? line.data : "", line.len);
    buf_free(&clean);
    buf_free(&line);
    return bad ? -1 : 0;
}

/* The message from a JSON error body: 1 when the body was such an object
 * (detail taken or "HTTP <status>"), 0 when it was not a JSON object, -1 on
 * ENOMEM. *has_detail says whether a string detail was there. Texts are
 * taken with their length: a \u0000 in them is escaped with the rest. */
static int message_from_json(lb_buf *raw, const json_node *doc, int status, int *has_detail,
                             const char *secret, lb_error *err)
{
    *has_detail = 0;
    if (!doc || doc->type != JSON_OBJECT)
        return 0;
    const json_node *detail = json_member(doc, "detail");
    if (take_error_code(json_member(doc, "error_code"), secret, err) != 0)
        return -1;
    int rc;
    if (detail && detail->type == JSON_STRING) {
        *has_detail = 1;
        rc = buf_append(raw, detail->text, detail->len);
    } else if (detail && detail->type == JSON_ARRAY && detail->count > 0) {
        rc = append_validation_list(raw, detail);
    } else {
        char line[32];
        snprintf(line, sizeof line, "HTTP %d", status);
        rc = buf_append_str(raw, line);
    }
    return rc == 0 ? 1 : -1;
}

lb_code error_from_response(int status, const char *body, size_t len, const char *secret,
                            lb_error *err)
{
    lb_code code = code_for_status(status);
    lb_error scratch;
    if (!err)
        err = &scratch;
    err->code = code;
    err->http_status = status;
    err->error_code[0] = '\0';
    err->message[0] = '\0';
    memset(err->reserved, 0, sizeof err->reserved);

    lb_buf raw = {0}, line = {0}, redacted = {0};
    json_doc *doc = NULL;
    int has_detail = 0, from_json = 0;
    /* A body that is not JSON (or one memory ran out on) is quoted instead. */
    if (len > 0 && json_doc_parse(body, len, &doc, NULL) == LB_OK)
        from_json = message_from_json(&raw, json_doc_root(doc), status, &has_detail, secret, err);
    if (from_json < 0)
        goto nomem;

    if (status == 502)
        code = err->code = has_detail ? LB_ERR_PROVISIONING : LB_ERR_UNAVAILABLE;

    if (status >= 300 && status < 400) {
        char lead[64];
        snprintf(lead, sizeof lead, "HTTP %d: redirect not followed", status);
        if (buf_append_str(&line, lead) != 0)
            goto nomem;
    } else if (!from_json) {
        char lead[32];
        snprintf(lead, sizeof lead, "HTTP %d", status);
        if (buf_append_str(&line, lead) != 0)
            goto nomem;
        if (len > 0) {
            /* Redact the whole body before cutting (redaction shrinks the
             * text, so a cut first could leave part of the token), then
             * quote at most QUOTE_MAX bytes. */
            if (append_redacted(&redacted, body, len, secret) != 0)
                goto nomem;
            size_t n = utf8_cut(redacted.data, redacted.len, QUOTE_MAX);
            if (buf_append_str(&line, ": \"") != 0 ||
                append_escaped(&line, redacted.data, n, 1) != 0 ||
                buf_append_str(&line, n < redacted.len ? "\"..." : "\"") != 0)
                goto nomem;
        }
    }
    if (from_json) {
        if (line.len && buf_append_str(&line, ": ") != 0)
            goto nomem;
        buf_free(&redacted);
        if (append_redacted(&redacted, raw.data, raw.len, secret) != 0 ||
            append_escaped(&line, redacted.data, redacted.len, 0) != 0)
            goto nomem;
    }
    utf8_copy(err->message, sizeof err->message, line.data ? line.data : "", line.len);
    buf_free(&raw);
    buf_free(&line);
    buf_free(&redacted);
    json_doc_free(doc);
    return code;

nomem:
    buf_free(&raw);
    buf_free(&line);
    buf_free(&redacted);
    json_doc_free(doc);
    return error_set(err == &scratch ? NULL : err, LB_ERR_NOMEM, status, "out of memory");
}
