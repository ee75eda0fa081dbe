/* The public calls: check the arguments (sdk.md rule 3), build the request,
 * run it on the engine, hand over the result. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* "/hosts/<id>" and the like; ids and names are checked before, so they
 * need no escaping. */
static char *path_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path_of(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static lb_code check_call(lb_client *c, void **out, int needs_out, lb_error *err)
{
    if (out)
        *out = NULL;
    if (!c)
        return error_set(err, LB_ERR_INVALID, 0, "client is NULL");
    if (needs_out && !out)
        return error_set(err, LB_ERR_INVALID, 0, "out is NULL");
    return LB_OK;
}

/* Runs r to its end, frees it, and hands its result to *out. */
static lb_code run(lb_request *r, void **out, lb_error *err)
{
    lb_code rc = engine_run(r);
    if (rc == LB_OK) {
        if (out) {
            *out = r->result;
            r->result = NULL;
        }
    } else if (err) {
        *err = r->error;
    }
    request_free(r);
    return rc;
}

/* Builds the request for method and path (a malloc'd string, consumed). */
static lb_request *start(lb_client *c, const char *method, char *path, result_kind kind,
                         int send_token, lb_error *err)
{
    if (!path) {
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    lb_request *r = request_new(c, method, path, kind, send_token, err);
    free(path);
    return r;
}

/* A call without a body: build, run, hand over. */
static lb_code simple_call(lb_client *c, const char *method, char *path, result_kind kind,
                           int send_token, void **out, lb_error *err)
{
    lb_request *r = start(c, method, path, kind, send_token, err);
    if (!r)
        return err ? err->code : LB_ERR_NOMEM;
    return run(r, out, err);
}

static lb_code check_create_opts(const lb_create_opts *o, lb_error *err)
{
    if (o->version != LB_CREATE_OPTS_VERSION)
        return error_set(err, LB_ERR_INVALID, 0,
                         "create options version %u is unknown (initialise with "
                         "LB_CREATE_OPTS_INIT)",
                         o->version);
    lb_code rc;
    if ((rc = check_optional_string("image", o->image, err)) != LB_OK ||
        (rc = check_optional_string("provider", o->provider, err)) != LB_OK ||
        (rc = check_optional_string("instance_type", o->instance_type, err)) != LB_OK ||
        (rc = check_env(o->env, err)) != LB_OK)
        return rc;
    if (o->idempotency_key && (rc = check_idempotency_key(o->idempotency_key, err)) != LB_OK)
        return rc;
    if (o->expires_at < 0 && o->expires_at != LB_EXPIRES_NEVER)
        return error_set(err, LB_ERR_INVALID, 0,
                         "expires_at is negative (use LB_EXPIRES_NEVER for a permanent host)");
    if (o->disk_gb < 0)
        return error_set(err, LB_ERR_INVALID, 0, "disk_gb is negative");
    return LB_OK;
}

lb_code lb_create_host(lb_client *c, const lb_create_opts *opts, lb_host **out, lb_error *err)
{
    lb_create_opts none = LB_CREATE_OPTS_INIT;
    const lb_create_opts *o = opts ? opts : &none;
    lb_code rc;
    if ((rc = check_call(c, (void **)out, 1, err)) != LB_OK ||
        (rc = check_create_opts(o, err)) != LB_OK)
        return rc;
    lb_request *r = start(c, "POST", path_of("/hosts"), RESULT_HOST, 1, err);
    if (!r)
        return err ? err->code : LB_ERR_NOMEM;
    if ((rc = request_create_body(r, o, err)) != LB_OK ||
        (o->idempotency_key &&
         (rc = request_header(r, "Idempotency-Key", o->idempotency_key, err)) != LB_OK)) {
        request_free(r);
        return rc;
    }
    return run(r, (void **)out, err);
}

lb_code lb_get_host(lb_client *c, const char *id, lb_host **out, lb_error *err)
{
    lb_code rc;
    if ((rc = check_call(c, (void **)out, 1, err)) != LB_OK ||
        (rc = check_host_id("host id", id, err)) != LB_OK)
        return rc;
    return simple_call(c, "GET", path_of("/hosts/%s", id), RESULT_HOST, 1, (void **)out, err);
}

lb_code lb_attach(lb_client *c, const char *id, lb_host **out, lb_error *err)
{
    return lb_get_host(c, id, out, err);
}

lb_code lb_list_hosts(lb_client *c, lb_host_list **out, lb_error *err)
{
    lb_code rc = check_call(c, (void **)out, 1, err);
    if (rc != LB_OK)
        return rc;
    return simple_call(c, "GET", path_of("/hosts"), RESULT_LIST, 1, (void **)out, err);
}

lb_code lb_delete_host(lb_client *c, const char *id, lb_error *err)
{
    lb_code rc;
    if ((rc = check_call(c, NULL, 0, err)) != LB_OK ||
        (rc = check_host_id("host id", id, err)) != LB_OK)
        return rc;
    return simple_call(c, "DELETE", path_of("/hosts/%s", id), RESULT_NONE, 1, NULL, err);
}

lb_code lb_renew_host(lb_client *c, const char *id, long long expires_at, lb_host **out,
                      lb_error *err)
{
    lb_code rc;
    if ((rc = check_call(c, (void **)out, 1, err)) != LB_OK ||
        (rc = check_host_id("host id", id, err)) != LB_OK)
        return rc;
    if (expires_at < 0)
        return error_set(err, LB_ERR_INVALID, 0,
                         "expires_at is negative: a renew sets a time, 0 for the default lease");
    lb_request *r = start(c, "POST", path_of("/hosts/%s/renew", id), RESULT_HOST, 1, err);
    if (!r)
        return err ? err->code : LB_ERR_NOMEM;
    if ((rc = request_renew_body(r, expires_at, err)) != LB_OK) {
        request_free(r);
        return rc;
    }
    return run(r, (void **)out, err);
}

lb_code lb_health(lb_client *c, lb_error *err)
{
    lb_code rc = check_call(c, NULL, 0, err);
    if (rc != LB_OK)
        return rc;
    return simple_call(c, "GET", path_of("/healthz"), RESULT_HEALTH, 0, NULL, err);
}

lb_code lb_doctor(lb_client *c, lb_doctor_report **out, lb_error *err)
{
    lb_code rc = check_call(c, (void **)out, 1, err);
    if (rc != LB_OK)
        return rc;
    return simple_call(c, "GET", path_of("/doctor"), RESULT_DOCTOR, 1, (void **)out, err);
}

lb_code lb_proxy_create(lb_client *c, const char *name, const char *target,
                        const char *const *headers, lb_proxy **out, lb_error *err)
{
    lb_code rc;
    if ((rc = check_call(c, (void **)out, 1, err)) != LB_OK ||
        (rc = check_proxy_name(name, err)) != LB_OK)
        return rc;
    if (!target)
        return error_set(err, LB_ERR_INVALID, 0, "proxy target is NULL");
    if ((rc = check_utf8("proxy target", target, err)) != LB_OK ||
        (rc = check_proxy_headers(headers, err)) != LB_OK)
        return rc;
    lb_request *r = start(c, "POST", path_of("/http-proxies"), RESULT_PROXY, 1, err);
    if (!r)
        return err ? err->code : LB_ERR_NOMEM;
    if ((rc = request_proxy_body(r, name, target, headers, err)) != LB_OK) {
        request_free(r);
        return rc;
    }
    return run(r, (void **)out, err);
}

lb_code lb_proxy_delete(lb_client *c, const char *name, lb_error *err)
{
    lb_code rc;
    if ((rc = check_call(c, NULL, 0, err)) != LB_OK || (rc = check_proxy_name(name, err)) != LB_OK)
        return rc;
    return simple_call(c, "DELETE", path_of("/http-proxies/%s", name), RESULT_NONE, 1, NULL, err);
}

/* Attach (POST, answer with host_id) and detach (DELETE, no answer). */
static lb_code proxy_host_call(lb_client *c, const char *method, const char *name,
                               const char *host_id, result_kind kind, void **out, lb_error *err)
{
    lb_code rc;
    if ((rc = check_call(c, out, out != NULL, err)) != LB_OK ||
        (rc = check_proxy_name(name, err)) != LB_OK ||
        (rc = check_host_id("host id", host_id, err)) != LB_OK)
        return rc;
    return simple_call(c, method, path_of("/http-proxies/%s/hosts/%s", name, host_id), kind, 1,
                       out, err);
}

lb_code lb_proxy_attach(lb_client *c, const char *name, const char *host_id, lb_proxy **out,
                        lb_error *err)
{
    if (!out)
        return error_set(err, LB_ERR_INVALID, 0, "out is NULL");
    return proxy_host_call(c, "POST", name, host_id, RESULT_PROXY_HOST, (void **)out, err);
}

lb_code lb_proxy_detach(lb_client *c, const char *name, const char *host_id, lb_error *err)
{
    return proxy_host_call(c, "DELETE", name, host_id, RESULT_NONE, NULL, err);
}
