/* The client: its settings, its pool of transfer lanes, and from_env. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "validate.h"

#define DEFAULT_TIMEOUT_S 300.0
#define DEFAULT_CONNECT_TIMEOUT_S 10.0
#define DEFAULT_MAX_CONNECTIONS 20
#define DEFAULT_MAX_RESPONSE_BYTES ((size_t)256 * 1024 * 1024)

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

static lb_code check_options(const lb_client_options *o, lb_error *err)
{
    if (o->version != LB_CLIENT_OPTIONS_VERSION)
        return error_set(err, LB_ERR_INVALID, 0,
                         "options version %u is unknown (initialise with LB_CLIENT_OPTIONS_INIT)",
                         o->version);
    long ms;
    if (seconds_to_ms(o->timeout_s, DEFAULT_TIMEOUT_S, &ms) != 0)
        return error_set(err, LB_ERR_INVALID, 0, "timeout_s must be a positive number of seconds");
    if (seconds_to_ms(o->connect_timeout_s, DEFAULT_CONNECT_TIMEOUT_S, &ms) != 0)
        return error_set(err, LB_ERR_INVALID, 0,
                         "connect_timeout_s must be a positive number of seconds");
    if (o->max_connections < 0)
        return error_set(err, LB_ERR_INVALID, 0, "max_connections is negative");
    if (o->user_agent) {
        lb_code rc = check_header_value("user agent", o->user_agent, 0, err);
        if (rc != LB_OK)
            return rc;
    }
    if (o->ca_file && !*o->ca_file)
        return error_set(err, LB_ERR_INVALID, 0, "ca_file is empty (pass NULL for the default)");
    return LB_OK;
}

lb_client *lb_client_new(const char *base_url, const char *token, const lb_client_options *opts,
                         lb_error *err)
{
    lb_client_options defaults = LB_CLIENT_OPTIONS_INIT;
    const lb_client_options *o = opts ? opts : &defaults;
    if (check_base_url(base_url, err) != LB_OK || check_options(o, err) != LB_OK)
        return NULL;
    if (check_token(token, err) != LB_OK)
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
    int failed = 0;
    c->base_url = dup_or_null(base_url, &failed);
    if (c->base_url) {
        size_t n = strlen(c->base_url);
        while (n > 0 && c->base_url[n - 1] == '/')
            c->base_url[--n] = '\0';
    }
    static const char bearer[] = "Authorization: Bearer ";
    size_t alen = sizeof bearer + strlen(token);
    c->auth_header = malloc(alen);
    if (c->auth_header) {
        snprintf(c->auth_header, alen, "%s%s", bearer, token);
        c->token = c->auth_header + sizeof bearer - 1;
    } else {
        failed = 1;
    }
    c->user_agent = o->user_agent ? dup_or_null(o->user_agent, &failed)
                                  : dup_or_null("liblitterbox/" LB_VERSION, &failed);
    c->ca_file = dup_or_null(o->ca_file, &failed);
    seconds_to_ms(o->timeout_s, DEFAULT_TIMEOUT_S, &c->timeout_ms);
    seconds_to_ms(o->connect_timeout_s, DEFAULT_CONNECT_TIMEOUT_S, &c->connect_timeout_ms);
    c->max_connections = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
    c->max_response_bytes = o->max_response_bytes ? o->max_response_bytes
                                                  : DEFAULT_MAX_RESPONSE_BYTES;
    c->log = o->log;
    c->log_data = o->log_data;
    int mutex_ok = !failed && pthread_mutex_init(&c->lock, NULL) == 0;
    int cond_ok = mutex_ok && pthread_cond_init(&c->lane_free, NULL) == 0;
    if (!cond_ok) {
        if (mutex_ok)
            pthread_mutex_destroy(&c->lock);
        free(c->base_url);
        if (c->auth_header)
            secure_zero(c->auth_header, strlen(c->auth_header));
        free(c->auth_header);
        free(c->user_agent);
        free(c->ca_file);
        free(c);
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    return c;
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
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    if (opts)
        o = *opts;
    char *end = NULL;
    const char *timeout = env_value(prefix, "SERVICE_TIMEOUT", name, sizeof name);
    if (timeout) {
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
    return lb_client_new(url, token, &o, err);
}

lane *lane_take(lb_client *c)
{
    pthread_mutex_lock(&c->lock);
    while (!c->idle && c->lanes_out >= c->max_connections)
        pthread_cond_wait(&c->lane_free, &c->lock);
    lane *l = c->idle;
    if (l)
        c->idle = l->next;
    c->lanes_out++;
    pthread_mutex_unlock(&c->lock);
    if (l)
        return l;
    l = calloc(1, sizeof *l);
    if (l) {
        l->multi = curl_multi_init();
        l->easy = curl_easy_init();
    }
    if (!l || !l->multi || !l->easy) {
        if (l) {
            curl_multi_cleanup(l->multi);
            curl_easy_cleanup(l->easy);
            free(l);
        }
        pthread_mutex_lock(&c->lock);
        c->lanes_out--;
        pthread_cond_signal(&c->lane_free);
        pthread_mutex_unlock(&c->lock);
        return NULL;
    }
    return l;
}

static void lane_free(lane *l)
{
    curl_easy_cleanup(l->easy);
    curl_multi_cleanup(l->multi);
    free(l);
}

void lane_give(lb_client *c, lane *l)
{
    /* Every lane out is kept: there are never more than max_connections. */
    pthread_mutex_lock(&c->lock);
    l->next = c->idle;
    c->idle = l;
    c->lanes_out--;
    pthread_cond_signal(&c->lane_free);
    pthread_mutex_unlock(&c->lock);
}

void lb_client_close(lb_client *c)
{
    if (!c)
        return;
    if (c->async && async_dispatching(c)) {
        /* Closing here would free what the dispatch loop is walking. */
        fprintf(stderr, "liblitterbox: lb_client_close called from a completion callback\n");
        abort();
    }
    async_close(c);
    while (c->idle) {
        lane *l = c->idle;
        c->idle = l->next;
        lane_free(l);
    }
    pthread_cond_destroy(&c->lane_free);
    pthread_mutex_destroy(&c->lock);
    secure_zero(c->auth_header, strlen(c->auth_header));
    free(c->auth_header);
    free(c->base_url);
    free(c->user_agent);
    free(c->ca_file);
    free(c);
}
