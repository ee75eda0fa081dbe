/* The client: its settings, from_env, and the two drivers it owns. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "validate.h"

#define DEFAULT_TIMEOUT_S 300.0
#define DEFAULT_CONNECT_TIMEOUT_S 10.0
#define DEFAULT_MAX_CONNECTIONS 20
#define DEFAULT_MAX_RESPONSE_BYTES ((size_t)256 * 1024 * 1024)

/* lb_client_options as each version of the header declared it. */
static const size_t options_sizes[] = {
    [1] = offsetof(lb_client_options, proxy),
    [2] = sizeof(lb_client_options),
};
_Static_assert(sizeof options_sizes / sizeof options_sizes[0] == LB_CLIENT_OPTIONS_VERSION + 1,
               "a size for every version of lb_client_options");

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_OK;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

/* Seconds (a positive, finite number) to milliseconds; 0 selects dflt. */
static int seconds_to_ms(double s, double dflt, long *ms)
{
    if (s == 0)
        s = dflt;
    if (!(s > 0) || !isfinite(s) || s > 1e7)
        return -1;
    *ms = (long)ceil(s * 1000.0);
    return 0;
}

/* The caller's options, of any version they were built with, over the
 * defaults. */
static lb_code read_options(const lb_client_options *opts, lb_client_options *o, lb_error *err)
{
    lb_client_options defaults = LB_CLIENT_OPTIONS_INIT;
    *o = defaults;
    if (opts && options_read(o, opts, options_sizes, LB_CLIENT_OPTIONS_VERSION) != 0)
        return error_set(err, LB_ERR_INVALID, 0,
                         "options version %u is unknown: this library reads 1 to %d "
                         "(initialise with LB_CLIENT_OPTIONS_INIT)",
                         opts->version, LB_CLIENT_OPTIONS_VERSION);
    return LB_OK;
}

static lb_code check_options(const lb_client_options *o, lb_error *err)
{
    long ms;
    if (seconds_to_ms(o->timeout_s, DEFAULT_TIMEOUT_S, &ms) != 0)
        return error_set(err, LB_ERR_INVALID, 0, "timeout_s must be a positive number of seconds");
    if (seconds_to_ms(o->connect_timeout_s, DEFAULT_CONNECT_TIMEOUT_S, &ms) != 0)
        return error_set(err, LB_ERR_INVALID, 0,
                         "connect_timeout_s must be a positive number of seconds");
    if (o->max_connections < 0)
        return error_set(err, LB_ERR_INVALID, 0, "max_connections is negative");
    lb_code rc;
    if (o->user_agent && (rc = check_header_value("user agent", o->user_agent, 0, err)) != LB_OK)
        return rc;
    if (o->ca_file && !*o->ca_file)
        return error_set(err, LB_ERR_INVALID, 0, "ca_file is empty (pass NULL for the default)");
    if (o->proxy && (rc = check_header_value("proxy", o->proxy, 1, err)) != LB_OK)
        return rc;
    return LB_OK;
}

static void settings_free(lb_settings *s)
{
    if (s->auth_header)
        secure_zero(s->auth_header, strlen(s->auth_header));
    free(s->auth_header);
    free(s->base_url);
    free(s->user_agent);
    free(s->ca_file);
    free(s->proxy);
}

/* 0, or -1 when out of memory (s then holds what was copied). */
static int settings_init(lb_settings *s, const char *base_url, const char *token,
                         const lb_client_options *o)
{
    int failed = 0;
    s->base_url = dup_or_null(base_url, &failed);
    if (s->base_url) {
        size_t n = strlen(s->base_url);
        while (n > 0 && s->base_url[n - 1] == '/')
            s->base_url[--n] = '\0';
    }
    static const char bearer[] = "Authorization: Bearer ";
    size_t alen = sizeof bearer + strlen(token);
    s->auth_header = malloc(alen);
    if (s->auth_header) {
        snprintf(s->auth_header, alen, "%s%s", bearer, token);
        s->token = s->auth_header + sizeof bearer - 1;
    } else {
        failed = 1;
    }
    s->user_agent = dup_or_null(o->user_agent ? o->user_agent : "liblitterbox/" LB_VERSION,
                                &failed);
    s->ca_file = dup_or_null(o->ca_file, &failed);
    s->proxy = dup_or_null(o->proxy, &failed);
    seconds_to_ms(o->timeout_s, DEFAULT_TIMEOUT_S, &s->timeout_ms);
    seconds_to_ms(o->connect_timeout_s, DEFAULT_CONNECT_TIMEOUT_S, &s->connect_timeout_ms);
    s->max_response_bytes = o->max_response_bytes ? o->max_response_bytes
                                                  : DEFAULT_MAX_RESPONSE_BYTES;
    s->log = o->log;
    s->log_data = o->log_data;
    return failed ? -1 : 0;
}

/* lb_client_new once the options are read. */
static lb_client *client_new(const char *base_url, const char *token, const lb_client_options *o,
                             lb_error *err)
{
    if (check_base_url(base_url, err) != LB_OK || check_options(o, err) != LB_OK ||
        check_token(token, err) != LB_OK)
        return NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK) {
        error_set(err, LB_ERR_NOMEM, 0, "libcurl could not start: %s",
                  curl_easy_strerror(curl_init_result));
        return NULL;
    }
    lb_client *c = calloc(1, sizeof *c);
    if (!c) {
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    c->max_connections = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
    if (settings_init(&c->settings, base_url, token, o) != 0 ||
        lane_pool_init(&c->lanes, c->max_connections) != 0) {
        settings_free(&c->settings);
        free(c);
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    return c;
}

lb_client *lb_client_new(const char *base_url, const char *token, const lb_client_options *opts,
                         lb_error *err)
{
    lb_client_options o;
    if (read_options(opts, &o, err) != LB_OK)
        return NULL;
    return client_new(base_url, token, &o, err);
}

/* Reads {prefix}{suffix} into name's value; NULL when unset. */
static const char *env_value(const char *prefix, const char *suffix, char *name, size_t size)
{
    snprintf(name, size, "%s%s", prefix, suffix);
    return getenv(name);
}

lb_client *lb_client_from_env(const char *prefix, const lb_client_options *opts, lb_error *err)
{
    if (!prefix)
        prefix = "SANDBOX_";
    if (strlen(prefix) > 200) {
        error_set(err, LB_ERR_INVALID, 0, "environment prefix is too long");
        return NULL;
    }
    char name[256];
    const char *url = env_value(prefix, "SERVICE_URL", name, sizeof name);
    if (!url || !*url) {
        error_set(err, LB_ERR_INVALID, 0, "%s is not set", name);
        return NULL;
    }
    const char *token = env_value(prefix, "SERVICE_TOKEN", name, sizeof name);
    if (!token || !*token) {
        error_set(err, LB_ERR_INVALID, 0, "%s is not set", name);
        return NULL;
    }
    lb_client_options o;
    if (read_options(opts, &o, err) != LB_OK)
        return NULL;
    const char *timeout = env_value(prefix, "SERVICE_TIMEOUT", name, sizeof name);
    if (timeout) {
        char *end = NULL;
        errno = 0;
        double t = strtod(timeout, &end);
        if (errno || end == timeout || *end != '\0' || !(t > 0) || !isfinite(t) || t > 1e7) {
            error_set(err, LB_ERR_INVALID, 0,
                      "%s must be a number of seconds greater than 0", name);
            return NULL;
        }
        o.timeout_s = t;
    }
    /* Name the variable whose value is refused, never quoting the token. */
    lb_error inner;
    const char *which = NULL;
    if (check_base_url(url, &inner) != LB_OK)
        which = "SERVICE_URL";
    else if (check_token(token, &inner) != LB_OK)
        which = "SERVICE_TOKEN";
    if (which) {
        error_set(err, LB_ERR_INVALID, 0, "%s%s: %s", prefix, which, inner.message);
        return NULL;
    }
    return client_new(url, token, &o, err);
}

async_state *client_async(lb_client *c)
{
    if (!c->async)
        c->async = async_new(c->max_connections);
    return c->async;
}

void lb_client_close(lb_client *c)
{
    if (!c)
        return;
    if (c->async && async_dispatching(c->async)) {
        /* Closing here would free what the dispatch loop is walking. */
        fprintf(stderr, "liblitterbox: lb_client_close called from a completion callback\n");
        abort();
    }
    async_free(c->async);
    lane_pool_free(&c->lanes);
    settings_free(&c->settings);
    free(c);
}
