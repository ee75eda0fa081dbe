/* Building a call: the URL, the headers and the JSON body (wire.md,
 * Requests; sdk.md rules 1-2). Nothing here touches the network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "internal.h"

static lb_code nomem(lb_error *err)
{
    return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
}

lb_request *request_new(lb_client *c, const char *method, const char *path, result_kind kind,
                        int send_token, lb_error *err)
{
    lb_request *r = calloc(1, sizeof *r);
    if (!r) {
        nomem(err);
        return NULL;
    }
    r->client = c;
    r->body.secret = 1; /* env values, proxy header values */
    r->method = method;
    r->kind = kind;
    r->send_token = send_token;
    size_t n = strlen(c->base_url) + strlen(path) + 1;
    r->url = malloc(n);
    if (!r->url) {
        free(r);
        nomem(err);
        return NULL;
    }
    snprintf(r->url, n, "%s%s", c->base_url, path);
    if (request_header(r, "Accept", "application/json", err) != LB_OK ||
        /* libcurl would otherwise wait for a 100 Continue on large bodies */
        request_header(r, "Expect", "", err) != LB_OK) {
        request_free(r);
        return NULL;
    }
    if (send_token) {
        struct curl_slist *h = curl_slist_append(r->headers, c->auth_header);
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

/* ---- JSON bodies, written with yajl's generator ---- */

static int gen_str(yajl_gen g, const char *s)
{
    return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) != yajl_gen_status_ok;
}

static int gen_key_str(yajl_gen g, const char *key, const char *value)
{
    return gen_str(g, key) || gen_str(g, value);
}

/* Moves the generator's output into r->body and marks it JSON. */
static lb_code take_body(lb_request *r, yajl_gen g, int failed, lb_error *err)
{
    const unsigned char *out;
    size_t len;
    lb_code rc = LB_OK;
    if (failed || yajl_gen_get_buf(g, &out, &len) != yajl_gen_status_ok)
        rc = nomem(err);
    else if (buf_append(&r->body, out, len) != 0)
        rc = nomem(err);
    else
        r->has_body = 1;
    if (rc == LB_OK)
        rc = request_header(r, "Content-Type", "application/json", err);
    yajl_gen_free(g); /* its allocator wipes what held env or header values */
    return rc;
}

static int gen_expires(yajl_gen g, long long expires_at)
{
    if (gen_str(g, "expires_at"))
        return 1;
    if (expires_at == LB_EXPIRES_NEVER)
        return yajl_gen_null(g) != yajl_gen_status_ok;
    char when[40];
    if (rfc3339_format(expires_at, when, sizeof when) != 0)
        return -1;
    return gen_str(g, when);
}

lb_code request_create_body(lb_request *r, const lb_create_opts *o, lb_error *err)
{
    yajl_gen g = yajl_gen_alloc(&wiping_alloc_funcs);
    if (!g)
        return nomem(err);
    int bad = yajl_gen_map_open(g) != yajl_gen_status_ok;
    if (!bad && o->image)
        bad = gen_key_str(g, "image", o->image);
    if (!bad && o->env) {
        bad = gen_str(g, "env") || yajl_gen_map_open(g) != yajl_gen_status_ok;
        for (size_t i = 0; !bad && o->env[i]; i++) {
            const char *eq = strchr(o->env[i], '=');
            bad = yajl_gen_string(g, (const unsigned char *)o->env[i],
                                  (size_t)(eq - o->env[i])) != yajl_gen_status_ok ||
                  gen_str(g, eq + 1);
        }
        bad = bad || yajl_gen_map_close(g) != yajl_gen_status_ok;
    }
    if (!bad && o->expires_at != LB_EXPIRES_DEFAULT) {
        int rc = gen_expires(g, o->expires_at);
        if (rc < 0) {
            yajl_gen_free(g);
            return error_set(err, LB_ERR_INVALID, 0, "expires_at is out of range");
        }
        bad = rc;
    }
    if (!bad && o->provider)
        bad = gen_key_str(g, "provider", o->provider);
    if (!bad && o->instance_type)
        bad = gen_key_str(g, "instance_type", o->instance_type);
    if (!bad && o->disk_gb)
        bad = gen_str(g, "disk_gb") || yajl_gen_integer(g, o->disk_gb) != yajl_gen_status_ok;
    bad = bad || yajl_gen_map_close(g) != yajl_gen_status_ok;
    return take_body(r, g, bad, err);
}

lb_code request_renew_body(lb_request *r, long long expires_at, lb_error *err)
{
    yajl_gen g = yajl_gen_alloc(&wiping_alloc_funcs);
    if (!g)
        return nomem(err);
    int bad = yajl_gen_map_open(g) != yajl_gen_status_ok;
    if (!bad && expires_at != 0) {
        int rc = gen_expires(g, expires_at);
        if (rc < 0) {
            yajl_gen_free(g);
            return error_set(err, LB_ERR_INVALID, 0, "expires_at is out of range");
        }
        bad = rc;
    }
    bad = bad || yajl_gen_map_close(g) != yajl_gen_status_ok;
    return take_body(r, g, bad, err);
}

lb_code request_proxy_body(lb_request *r, const char *name, const char *target,
                           const char *const *headers, lb_error *err)
{
    yajl_gen g = yajl_gen_alloc(&wiping_alloc_funcs);
    if (!g)
        return nomem(err);
    int bad = yajl_gen_map_open(g) != yajl_gen_status_ok || gen_key_str(g, "name", name) ||
              gen_key_str(g, "target", target) || gen_str(g, "headers") ||
              yajl_gen_map_open(g) != yajl_gen_status_ok;
    for (size_t i = 0; !bad && headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        const char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        size_t vlen = strlen(value);
        while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
            vlen--;
        bad = yajl_gen_string(g, (const unsigned char *)headers[i],
                              (size_t)(colon - headers[i])) != yajl_gen_status_ok ||
              yajl_gen_string(g, (const unsigned char *)value, vlen) != yajl_gen_status_ok;
    }
    bad = bad || yajl_gen_map_close(g) != yajl_gen_status_ok ||
          yajl_gen_map_close(g) != yajl_gen_status_ok;
    return take_body(r, g, bad, err);
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
