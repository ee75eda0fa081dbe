/* Building a call: the URL, the headers and the JSON body (docs/wire.md,
 * Requests and Create). Nothing here touches the network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

static lb_code nomem(lb_error *err)
{
    return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
}

lb_request *request_new(const lb_settings *s, const char *method, const char *path,
                        result_kind kind, int send_token, lb_error *err)
{
    lb_request *r = calloc(1, sizeof *r);
    if (!r) {
        nomem(err);
        return NULL;
    }
    r->settings = s;
    r->body.secret = 1; /* env values, proxy header values */
    r->method = method;
    r->kind = kind;
    size_t n = strlen(s->base_url) + strlen(path) + 1;
    r->url = malloc(n);
    if (!r->url) {
        free(r);
        nomem(err);
        return NULL;
    }
    snprintf(r->url, n, "%s%s", s->base_url, path);
    if (request_header(r, "Accept", "application/json", err) != LB_OK ||
        /* libcurl would otherwise wait for a 100 Continue on large bodies */
        request_header(r, "Expect", "", err) != LB_OK) {
        request_free(r);
        return NULL;
    }
    if (send_token) {
        struct curl_slist *h = curl_slist_append(r->headers, s->auth_header);
        if (!h) {
            request_free(r);
            nomem(err);
            return NULL;
        }
        r->headers = h;
    }
    return r;
}

lb_code request_header(lb_request *r, const char *name, const char *value, lb_error *err)
{
    char line[512];
    /* "Name:" with nothing after it tells libcurl to drop its own header. */
    int n = snprintf(line, sizeof line, "%s:%s%s", name, *value ? " " : "", value);
    if (n < 0 || (size_t)n >= sizeof line)
        return error_set(err, LB_ERR_INVALID, 0, "header %s is too long", name);
    struct curl_slist *h = curl_slist_append(r->headers, line);
    if (!h)
        return nomem(err);
    r->headers = h;
    return LB_OK;
}

/* ---- JSON bodies ----
 *
 * Written here, not with yajl's generator: yajl's output buffer does not
 * check its own allocations, so a failed malloc crashed inside it (found by
 * tests/unit/test_oom.c). The bodies are small objects of strings, one
 * integer and null, into r->body, which is wiped when freed (env and header
 * values may be secrets). Strings arrive checked as UTF-8 (validate.c). */

typedef struct json_out {
    lb_buf *b;
    int failed; /* an append ran out of memory */
    int fresh;  /* no member yet in the innermost object */
} json_out;

static void put(json_out *o, const char *s, size_t n)
{
    if (!o->failed && buf_append(o->b, s, n) != 0)
        o->failed = 1;
}

static void put_string(json_out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(o, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"': case '\\': break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        put(o, esc, len);
    }
    put(o, s + run, n - run);
    put(o, "\"", 1);
}

static void open_object(json_out *o)
{
    put(o, "{", 1);
    o->fresh = 1;
}

static void close_object(json_out *o)
{
    put(o, "}", 1);
    o->fresh = 0;
}

/* "key": (after a comma unless it is the object's first member) */
static void put_key(json_out *o, const char *key, size_t n)
{
    if (!o->fresh)
        put(o, ",", 1);
    o->fresh = 0;
    put_string(o, key, n);
    put(o, ":", 1);
}

static void put_member(json_out *o, const char *key, const char *value)
{
    put_key(o, key, strlen(key));
    put_string(o, value, strlen(value));
}

/* "expires_at": null or an RFC 3339 time; -1 when out of range. */
static int put_expires(json_out *o, long long expires_at)
{
    if (expires_at == LB_EXPIRES_NEVER) {
        put_key(o, "expires_at", 10);
        put(o, "null", 4);
        return 0;
    }
    char when[40];
    if (rfc3339_format(expires_at, when, sizeof when) != 0)
        return -1;
    put_member(o, "expires_at", when);
    return 0;
}

/* The body is complete: mark it JSON, or undo it on failure. */
static lb_code finish_body(lb_request *r, json_out *o, lb_error *err)
{
    if (o->failed) {
        buf_wipe_free(&r->body);
        return nomem(err);
    }
    r->has_body = 1;
    return request_header(r, "Content-Type", "application/json", err);
}

static json_out body_of(lb_request *r)
{
    r->body.secret = 1;
    r->body.len = 0;
    json_out o = {&r->body, 0, 0};
    return o;
}

lb_code request_create_body(lb_request *r, const lb_create_opts *opts, lb_error *err)
{
    json_out o = body_of(r);
    open_object(&o);
    if (opts->image)
        put_member(&o, "image", opts->image);
    if (opts->env) {
        put_key(&o, "env", 3);
        open_object(&o);
        for (size_t i = 0; opts->env[i]; i++) {
            const char *eq = strchr(opts->env[i], '=');
            put_key(&o, opts->env[i], (size_t)(eq - opts->env[i]));
            put_string(&o, eq + 1, strlen(eq + 1));
        }
        close_object(&o);
    }
    if (opts->expires_at != LB_EXPIRES_DEFAULT && put_expires(&o, opts->expires_at) != 0) {
        buf_wipe_free(&r->body);
        return error_set(err, LB_ERR_INVALID, 0, "expires_at is out of range");
    }
    if (opts->provider)
        put_member(&o, "provider", opts->provider);
    if (opts->instance_type)
        put_member(&o, "instance_type", opts->instance_type);
    if (opts->disk_gb) {
        char n[24];
        int len = snprintf(n, sizeof n, "%lld", opts->disk_gb);
        put_key(&o, "disk_gb", 7);
        put(&o, n, (size_t)len);
    }
    close_object(&o);
    return finish_body(r, &o, err);
}

lb_code request_renew_body(lb_request *r, long long expires_at, lb_error *err)
{
    json_out o = body_of(r);
    open_object(&o);
    if (expires_at != 0 && put_expires(&o, expires_at) != 0) {
        buf_wipe_free(&r->body);
        return error_set(err, LB_ERR_INVALID, 0, "expires_at is out of range");
    }
    close_object(&o);
    return finish_body(r, &o, err);
}

lb_code request_proxy_body(lb_request *r, const char *name, const char *target,
                           const char *const *headers, lb_error *err)
{
    json_out o = body_of(r);
    open_object(&o);
    put_member(&o, "name", name);
    put_member(&o, "target", target);
    put_key(&o, "headers", 7);
    open_object(&o);
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        const char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        size_t vlen = strlen(value);
        while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
            vlen--;
        put_key(&o, headers[i], (size_t)(colon - headers[i]));
        put_string(&o, value, vlen);
    }
    close_object(&o);
    close_object(&o);
    return finish_body(r, &o, err);
}

void *request_take_result(lb_request *r)
{
    void *result = r->result;
    r->result = NULL;
    return result;
}

void request_free(lb_request *r)
{
    if (!r)
        return;
    free(r->url);
    /* The list holds a copy of the token: wipe it before freeing. */
    for (struct curl_slist *h = r->headers; h; h = h->next)
        secure_zero(h->data, strlen(h->data));
    curl_slist_free_all(r->headers);
    buf_wipe_free(&r->body);
    buf_wipe_free(&r->response);
    host_decoder_free(r->decoder);
    if (r->result) {
        switch (r->kind) {
        case RESULT_HOST:
            lb_host_free(r->result);
            break;
        case RESULT_LIST:
            lb_host_list_free(r->result);
            break;
        case RESULT_DOCTOR:
            lb_doctor_report_free(r->result);
            break;
        case RESULT_PROXY:
        case RESULT_PROXY_HOST:
            lb_proxy_free(r->result);
            break;
        default:
            break;
        }
    }
    free(r);
}
