/* The request path: the client, a request, the engine that sends it, and
 * the two drivers (blocking and non-blocking). Never installed. */
#ifndef LB_ENGINE_H
#define LB_ENGINE_H

#include <curl/curl.h>
#include <pthread.h>

#include "decode/decode.h"
#include "litterbox.h"
#include "util.h"

/* A blocking call's private transfer lane: an easy handle on its own multi
 * handle. Lanes are pooled per client, so connections stay alive across
 * calls and threads, and threads never share a lane at the same time. */
typedef struct lane {
    CURLM *multi;
    CURL *easy;
    struct lane *next;
} lane;

struct lb_client {
    char *base_url; /* without a trailing '/' */
    char *auth_header; /* "Authorization: Bearer <token>"; wiped on close */
    const char *token; /* points into auth_header, for redaction */
    char *user_agent;
    char *ca_file;
    long timeout_ms, connect_timeout_ms;
    long max_connections;
    size_t max_response_bytes;
    void (*log)(void *log_data, const char *line);
    void *log_data;
    pthread_mutex_t lock; /* guards idle and lanes_out */
    pthread_cond_t lane_free; /* a lane came back */
    lane *idle;
    long lanes_out; /* lanes in use by blocking calls: at most max_connections */
    struct async_state *async; /* the non-blocking API's, made on first use */
};

/* Waits while max_connections lanes are in use. NULL on ENOMEM. */
lane *lane_take(lb_client *c);
void lane_give(lb_client *c, lane *l);

/* What a successful answer decodes into. */
typedef enum result_kind {
    RESULT_NONE,      /* any 2xx; body ignored (delete, proxy delete/detach) */
    RESULT_HOST,      /* lb_host, decoded as it arrives */
    RESULT_LIST,      /* lb_host_list, decoded as it arrives */
    RESULT_DOCTOR,    /* lb_doctor_report */
    RESULT_PROXY,     /* lb_proxy from a create */
    RESULT_PROXY_HOST,/* lb_proxy from an attach (with host_id) */
    RESULT_HEALTH     /* {"status": "ok"}; no result object */
} result_kind;

/* One call: what to send, and what came back. Built by request.c, carried
 * by engine.c, the same for every call and every way of driving it. */
typedef struct lb_request {
    lb_client *client;
    const char *method;
    char *url;
    struct curl_slist *headers;
    lb_buf body;        /* JSON to send; may hold env values: wiped */
    int has_body;
    int send_token;
    result_kind kind;

    /* the answer */
    long status;
    size_t received;
    lb_buf response;    /* buffered body, unless decoded as it arrives */
    host_decoder *decoder;
    lb_code early;      /* failure decided during the transfer */
    int error_body_cut; /* an error body was cut at max_response_bytes */
    lb_error early_err;
    char curl_error[CURL_ERROR_SIZE];
    double started;     /* monotonic seconds when the transfer began */
    CURL *easy;         /* while the transfer runs */
    struct lb_call *call; /* the non-blocking call carrying it, if any */

    /* the outcome, set by engine_complete */
    lb_code code;
    lb_error error;
    void *result;
} lb_request;

/* request.c: building a call. path is appended to the base URL. */
lb_request *request_new(lb_client *c, const char *method, const char *path, result_kind kind,
                        int send_token, lb_error *err);
lb_code request_header(lb_request *r, const char *name, const char *value, lb_error *err);
lb_code request_create_body(lb_request *r, const lb_create_opts *o, lb_error *err);
lb_code request_renew_body(lb_request *r, long long expires_at, lb_error *err);
lb_code request_proxy_body(lb_request *r, const char *name, const char *target,
                           const char *const *headers, lb_error *err);
void request_free(lb_request *r); /* frees an unclaimed result too */

/* engine.c: sending a call and deciding its outcome. */
lb_code engine_setup(lb_request *r, CURL *easy);  /* configure easy for r */
void engine_complete(lb_request *r, CURL *easy, CURLcode transport);
/* The blocking path: runs r to its end on a lane of its client; returns
 * r->code with r->error and r->result set. */
lb_code engine_run(lb_request *r);

/* async.c: the non-blocking API's side of the engine. call_start takes r
 * (NULL: preparing failed, see *local) and queues it. */
lb_call *call_start(lb_client *c, lb_request *r, const lb_error *local, lb_callback cb,
                    void *userdata, lb_error *err);
/* Fires LB_ERR_CANCELLED for every call still pending and frees the state. */
void async_close(lb_client *c);
/* 1 while completion callbacks of c run. */
int async_dispatching(const lb_client *c);

#endif
