/* The public calls. Each has one prepare_ function that checks its
 * arguments (docs/api.md, Argument checks) and builds its request; the
 * blocking form runs that request on a lane (blocking.c), the non-blocking
 * form hands it to async.c. The entry points an event loop drives a
 * client with are here too: they forward to async.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "validate.h"

/* "/hosts/<id>" and the like; ids and names are checked before, so they
 * need no escaping. */
static char *path_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path_of(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static lb_code check_client(lb_client *c, lb_error *err)
{
    if (!c) return error_set(err, LB_ERR_INVALID, 0, "client is NULL");
    return LB_OK;
}

/* Builds the request for method and path (a malloc'd string, consumed). */
static lb_request *start(lb_client *c, const char *method, char *path, result_kind kind,
                         int send_token, lb_error *err)
{
    if (!path) {
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    lb_request *r = request_new(&c->settings, method, path, kind, send_token, err);
    free(path);
    return r;
}

/* ---- one prepare_ function a call: check, then build; NULL with err ---- */

/* lb_create_opts as each version of the header declared it. */
static const size_t create_opts_sizes[] = {
    [1] = sizeof(lb_create_opts),
};
_Static_assert(sizeof create_opts_sizes / sizeof create_opts_sizes[0] == LB_CREATE_OPTS_VERSION + 1,
               "a size for every version of lb_create_opts");

static lb_code check_create_opts(const lb_create_opts *o, lb_error *err)
{
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
    if (o->disk_gb < 0) return error_set(err, LB_ERR_INVALID, 0, "disk_gb is negative");
    return LB_OK;
}

static lb_request *prepare_create(lb_client *c, const lb_create_opts *opts, lb_error *err)
{
    lb_create_opts read = LB_CREATE_OPTS_INIT;
    const lb_create_opts *o = &read;
    if (opts && options_read(&read, opts, create_opts_sizes, LB_CREATE_OPTS_VERSION) != 0) {
        error_set(err, LB_ERR_INVALID, 0,
                  "create options version %u is unknown: this library reads 1 to %d "
                  "(initialise with LB_CREATE_OPTS_INIT)",
                  opts->version, LB_CREATE_OPTS_VERSION);
        return NULL;
    }
    if (check_client(c, err) != LB_OK || check_create_opts(o, err) != LB_OK) return NULL;
    lb_request *r = start(c, "POST", path_of("/hosts"), RESULT_HOST, 1, err);
    if (r && (request_create_body(r, o, err) != LB_OK ||
              (o->idempotency_key &&
               request_header(r, "Idempotency-Key", o->idempotency_key, err) != LB_OK))) {
        request_free(r);
        r = NULL;
    }
    return r;
}

static lb_request *prepare_get(lb_client *c, const char *id, lb_error *err)
{
    if (check_client(c, err) != LB_OK || check_host_id("host id", id, err) != LB_OK) return NULL;
    return start(c, "GET", path_of("/hosts/%s", id), RESULT_HOST, 1, err);
}

static lb_request *prepare_list(lb_client *c, lb_error *err)
{
    if (check_client(c, err) != LB_OK) return NULL;
    return start(c, "GET", path_of("/hosts"), RESULT_LIST, 1, err);
}

static lb_request *prepare_delete(lb_client *c, const char *id, lb_error *err)
{
    if (check_client(c, err) != LB_OK || check_host_id("host id", id, err) != LB_OK) return NULL;
    return start(c, "DELETE", path_of("/hosts/%s", id), RESULT_NONE, 1, err);
}

static lb_request *prepare_renew(lb_client *c, const char *id, long long expires_at, lb_error *err)
{
    if (check_client(c, err) != LB_OK || check_host_id("host id", id, err) != LB_OK) return NULL;
    if (expires_at < 0) {
        error_set(err, LB_ERR_INVALID, 0,
                  "expires_at is negative: a renew sets a time, 0 for the default lease");
        return NULL;
    }
    lb_request *r = start(c, "POST", path_of("/hosts/%s/renew", id), RESULT_HOST, 1, err);
    if (r && request_renew_body(r, expires_at, err) != LB_OK) {
        request_free(r);
        r = NULL;
    }
    return r;
}

static lb_request *prepare_health(lb_client *c, lb_error *err)
{
    if (check_client(c, err) != LB_OK) return NULL;
    return start(c, "GET", path_of("/healthz"), RESULT_HEALTH, 0, err);
}

static lb_request *prepare_doctor(lb_client *c, lb_error *err)
{
    if (check_client(c, err) != LB_OK) return NULL;
    return start(c, "GET", path_of("/doctor"), RESULT_DOCTOR, 1, err);
}

static lb_request *prepare_create_proxy(lb_client *c, const char *name, const char *target,
                                        const char *const *headers, lb_error *err)
{
    if (check_client(c, err) != LB_OK || check_proxy_name(name, err) != LB_OK) return NULL;
    if (!target) {
        error_set(err, LB_ERR_INVALID, 0, "proxy target is NULL");
        return NULL;
    }
    if (check_utf8("proxy target", target, err) != LB_OK ||
        check_proxy_headers(headers, err) != LB_OK)
        return NULL;
    lb_request *r = start(c, "POST", path_of("/http-proxies"), RESULT_PROXY, 1, err);
    if (r && request_proxy_body(r, name, target, headers, err) != LB_OK) {
        request_free(r);
        r = NULL;
    }
    return r;
}

static lb_request *prepare_delete_proxy(lb_client *c, const char *name, lb_error *err)
{
    if (check_client(c, err) != LB_OK || check_proxy_name(name, err) != LB_OK) return NULL;
    return start(c, "DELETE", path_of("/http-proxies/%s", name), RESULT_NONE, 1, err);
}

/* Attach (POST, answers with host_id) and detach (DELETE, no answer). */
static lb_request *prepare_proxy_host(lb_client *c, const char *method, const char *name,
                                      const char *host_id, result_kind kind, lb_error *err)
{
    if (check_client(c, err) != LB_OK || check_proxy_name(name, err) != LB_OK ||
        check_host_id("host id", host_id, err) != LB_OK)
        return NULL;
    lb_request *r =
        start(c, method, path_of("/http-proxies/%s/hosts/%s", name, host_id), kind, 1, err);
    /* A POST with no body: without this, libcurl would label it a form. */
    if (r && strcmp(method, "POST") == 0 && request_header(r, "Content-Type", "", err) != LB_OK) {
        request_free(r);
        r = NULL;
    }
    return r;
}

/* ---- the blocking calls: prepare, run on a lane, hand over ---- */

/* Runs r (NULL: preparing failed, see *local) to its end and hands its
 * result to *out. */
static lb_code blocking(lb_client *c, lb_request *r, const lb_error *local, void **out,
                        lb_error *err)
{
    if (!r) {
        if (err) *err = *local;
        return local->code;
    }
    lb_code rc = blocking_run(&c->lanes, r);
    if (rc == LB_OK) {
        if (out)
            *out = request_take_result(r);
    } else if (err) {
        *err = r->error;
    }
    request_free(r);
    return rc;
}

/* Calls with a result need somewhere to put it. */
static int out_missing(void *out, lb_error *err)
{
    if (out) return 0;
    error_set(err, LB_ERR_INVALID, 0, "out is NULL");
    return 1;
}

#define OUT_CHECK(out)                                                                             \
    do {                                                                                           \
        if (out_missing((void *)(out), err)) return LB_ERR_INVALID;                                \
        *(out) = NULL;                                                                             \
    } while (0)

lb_code lb_create_host(lb_client *c, const lb_create_opts *opts, lb_host **out, lb_error *err)
{
    lb_error e;
    OUT_CHECK(out);
    return blocking(c, prepare_create(c, opts, &e), &e, (void **)out, err);
}

lb_code lb_get_host(lb_client *c, const char *id, lb_host **out, lb_error *err)
{
    lb_error e;
    OUT_CHECK(out);
    return blocking(c, prepare_get(c, id, &e), &e, (void **)out, err);
}

lb_code lb_attach_host(lb_client *c, const char *id, lb_host **out, lb_error *err)
{
    return lb_get_host(c, id, out, err);
}

lb_code lb_list_hosts(lb_client *c, lb_host_list **out, lb_error *err)
{
    lb_error e;
    OUT_CHECK(out);
    return blocking(c, prepare_list(c, &e), &e, (void **)out, err);
}

lb_code lb_delete_host(lb_client *c, const char *id, lb_error *err)
{
    lb_error e;
    return blocking(c, prepare_delete(c, id, &e), &e, NULL, err);
}

lb_code lb_renew_host(lb_client *c, const char *id, long long expires_at, lb_host **out,
                      lb_error *err)
{
    lb_error e;
    OUT_CHECK(out);
    return blocking(c, prepare_renew(c, id, expires_at, &e), &e, (void **)out, err);
}

lb_code lb_health(lb_client *c, lb_error *err)
{
    lb_error e;
    return blocking(c, prepare_health(c, &e), &e, NULL, err);
}

lb_code lb_doctor(lb_client *c, lb_doctor_report **out, lb_error *err)
{
    lb_error e;
    OUT_CHECK(out);
    return blocking(c, prepare_doctor(c, &e), &e, (void **)out, err);
}

lb_code lb_create_proxy(lb_client *c, const char *name, const char *target,
                        const char *const *headers, lb_proxy **out, lb_error *err)
{
    lb_error e;
    OUT_CHECK(out);
    return blocking(c, prepare_create_proxy(c, name, target, headers, &e), &e, (void **)out, err);
}

lb_code lb_delete_proxy(lb_client *c, const char *name, lb_error *err)
{
    lb_error e;
    return blocking(c, prepare_delete_proxy(c, name, &e), &e, NULL, err);
}

lb_code lb_attach_proxy(lb_client *c, const char *name, const char *host_id, lb_proxy **out,
                        lb_error *err)
{
    lb_error e;
    OUT_CHECK(out);
    return blocking(c, prepare_proxy_host(c, "POST", name, host_id, RESULT_PROXY_HOST, &e), &e,
                    (void **)out, err);
}

lb_code lb_detach_proxy(lb_client *c, const char *name, const char *host_id, lb_error *err)
{
    lb_error e;
    return blocking(c, prepare_proxy_host(c, "DELETE", name, host_id, RESULT_NONE, &e), &e, NULL, err);
}

/* ---- the non-blocking calls: prepare, then hand to async.c ---- */

/* Queues r (NULL: preparing failed, see *local) on c's async state. */
static lb_call *nonblocking(lb_client *c, lb_request *r, const lb_error *local, lb_callback cb,
                            void *userdata, lb_error *err)
{
    if (!r) {
        if (err)
            *err = *local;
        return NULL;
    }
    async_state *a = client_async(c);
    if (!a) {
        request_free(r);
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    return async_start(a, r, cb, userdata, err);
}

lb_call *lb_create_host_async(lb_client *c, const lb_create_opts *opts, lb_callback cb,
                              void *userdata, lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_create(c, opts, &e), &e, cb, userdata, err);
}

lb_call *lb_get_host_async(lb_client *c, const char *id, lb_callback cb, void *userdata,
                           lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_get(c, id, &e), &e, cb, userdata, err);
}

lb_call *lb_attach_host_async(lb_client *c, const char *id, lb_callback cb, void *userdata,
                              lb_error *err)
{
    return lb_get_host_async(c, id, cb, userdata, err);
}

lb_call *lb_list_hosts_async(lb_client *c, lb_callback cb, void *userdata, lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_list(c, &e), &e, cb, userdata, err);
}

lb_call *lb_delete_host_async(lb_client *c, const char *id, lb_callback cb, void *userdata,
                              lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_delete(c, id, &e), &e, cb, userdata, err);
}

lb_call *lb_renew_host_async(lb_client *c, const char *id, long long expires_at, lb_callback cb,
                             void *userdata, lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_renew(c, id, expires_at, &e), &e, cb, userdata, err);
}

lb_call *lb_health_async(lb_client *c, lb_callback cb, void *userdata, lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_health(c, &e), &e, cb, userdata, err);
}

lb_call *lb_doctor_async(lb_client *c, lb_callback cb, void *userdata, lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_doctor(c, &e), &e, cb, userdata, err);
}

lb_call *lb_create_proxy_async(lb_client *c, const char *name, const char *target,
                               const char *const *headers, lb_callback cb, void *userdata,
                               lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_create_proxy(c, name, target, headers, &e), &e, cb, userdata, err);
}

lb_call *lb_delete_proxy_async(lb_client *c, const char *name, lb_callback cb, void *userdata,
                               lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_delete_proxy(c, name, &e), &e, cb, userdata, err);
}

lb_call *lb_attach_proxy_async(lb_client *c, const char *name, const char *host_id, lb_callback cb,
                               void *userdata, lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_proxy_host(c, "POST", name, host_id, RESULT_PROXY_HOST, &e), &e,
                      cb, userdata, err);
}

lb_call *lb_detach_proxy_async(lb_client *c, const char *name, const char *host_id, lb_callback cb,
                               void *userdata, lb_error *err)
{
    lb_error e;
    return nonblocking(c, prepare_proxy_host(c, "DELETE", name, host_id, RESULT_NONE, &e), &e, cb,
                      userdata, err);
}

/* ---- keeping leases ---- */

#define KEEP_TTL_MAX (10.0 * 365 * 86400)

typedef struct keep_ctx {
    lb_client *client;
    double ttl_s;
    char id[]; /* checked by check_host_id */
} keep_ctx;

/* The keeper's next renew: to now + the TTL, in whole seconds. */
static lb_request *keep_next(void *ctx, lb_error *err)
{
    keep_ctx *k = ctx;
    long long until = (long long)time(NULL) + (long long)ceil(k->ttl_s);
    return prepare_renew(k->client, k->id, until, err);
}

lb_call *lb_keep_host_async(lb_client *c, const char *id, double ttl_s, lb_callback cb,
                            void *userdata, lb_error *err)
{
    if (check_client(c, err) != LB_OK || check_host_id("host id", id, err) != LB_OK)
        return NULL;
    if (!(ttl_s >= 1.0 && ttl_s <= KEEP_TTL_MAX)) {
        error_set(err, LB_ERR_INVALID, 0, "ttl_s must be between 1 second and ten years");
        return NULL;
    }
    if (!cb) {
        error_set(err, LB_ERR_INVALID, 0, "callback is NULL");
        return NULL;
    }
    size_t n = strlen(id) + 1;
    keep_ctx *k = malloc(sizeof *k + n);
    async_state *a = k ? client_async(c) : NULL;
    if (!a) {
        free(k);
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    k->client = c;
    k->ttl_s = ttl_s;
    memcpy(k->id, id, n);
    return async_keep(a, keep_next, k, free, ttl_s, cb, userdata, err);
}

/* ---- driving the non-blocking calls ---- */

/* lb_loop_hooks as each version of the header declared it. */
static const size_t loop_hooks_sizes[] = {
    [1] = sizeof(lb_loop_hooks),
};
_Static_assert(sizeof loop_hooks_sizes / sizeof loop_hooks_sizes[0] == LB_LOOP_HOOKS_VERSION + 1,
               "a size for every version of lb_loop_hooks");

lb_code lb_client_set_loop(lb_client *c, const lb_loop_hooks *hooks, lb_error *err)
{
    if (check_client(c, err) != LB_OK)
        return LB_ERR_INVALID;
    lb_loop_hooks h;
    memset(&h, 0, sizeof h);
    if (hooks && options_read(&h, hooks, loop_hooks_sizes, LB_LOOP_HOOKS_VERSION) != 0)
        return error_set(err, LB_ERR_INVALID, 0,
                         "loop hooks version %u is unknown: this library reads 1 to %d",
                         hooks->version, LB_LOOP_HOOKS_VERSION);
    if (hooks && (!h.watch_fd || !h.set_timer))
        return error_set(err, LB_ERR_INVALID, 0, "a loop hook is NULL");
    async_state *a = client_async(c);
    if (!a)
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    return async_set_hooks(a, hooks ? &h : NULL, err);
}

size_t lb_client_pending(const lb_client *c)
{
    return c && c->async ? async_pending(c->async) : 0;
}

void lb_client_fd_ready(lb_client *c, int fd, int events)
{
    if (c && c->async)
        async_fd_ready(c->async, fd, events);
}

void lb_client_timer_fired(lb_client *c)
{
    if (c && c->async)
        async_timer_fired(c->async);
}

lb_code lb_client_run(lb_client *c, double timeout_s, size_t *pending, lb_error *err)
{
    if (pending)
        *pending = 0;
    if (check_client(c, err) != LB_OK)
        return LB_ERR_INVALID;
    if (timeout_s != timeout_s) /* NaN */
        return error_set(err, LB_ERR_INVALID, 0, "timeout_s is not a number");
    if (!c->async)
        return LB_OK;
    return async_run(c->async, timeout_s, pending, err);
}
