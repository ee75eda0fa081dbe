/* A request: what one call sends and what came back. Built by request.c,
 * carried by the engine (engine.c), the same for every call and for both
 * ways of driving it (blocking.c, async.c). Never installed. */
#ifndef LB_REQUEST_H
#define LB_REQUEST_H

#include <curl/curl.h>

#include "decode/decode.h"
#include "litterbox.h"
#include "util.h"

/* What every request of one client shares. Set once by lb_client_new and
 * only read afterwards, from any thread. */
typedef struct lb_settings {
    char *base_url;    /* without a trailing '/' */
    char *auth_header; /* "Authorization: Bearer <token>"; wiped on close */
    const char *token; /* points into auth_header, for redaction */
    char *user_agent;
    char *ca_file;     /* NULL: the system's trust store */
    char *proxy;       /* NULL: libcurl's environment; "": none */
    long timeout_ms, connect_timeout_ms;
    size_t max_response_bytes;
    void (*log)(void *log_data, const char *line);
    void *log_data;
} lb_settings;

/* What a successful answer decodes into. */
typedef enum result_kind {
    RESULT_NONE,       /* any 2xx; body ignored (delete, proxy delete/detach) */
    RESULT_HOST,       /* lb_host, decoded as it arrives */
    RESULT_LIST,       /* lb_host_list, decoded as it arrives */
    RESULT_DOCTOR,     /* lb_doctor_report */
    RESULT_PROXY,      /* lb_proxy from a create */
    RESULT_PROXY_HOST, /* lb_proxy from an attach (with host_id) */
    RESULT_HEALTH      /* {"status": "ok"}; no result object */
} result_kind;

typedef struct lb_request {
    const lb_settings *settings;
    const char *method;
    char *url;
    struct curl_slist *headers;
    lb_buf body; /* JSON to send; may hold env values: wiped */
    int has_body;
    result_kind kind;

    /* the answer, filled by the engine */
    long status;
    size_t received;
    lb_buf response; /* buffered body, unless decoded as it arrives */
    host_decoder *decoder;
    lb_code early;      /* failure decided during the transfer */
    int error_body_cut; /* an error body was cut at max_response_bytes */
    lb_error early_err;
    char curl_error[CURL_ERROR_SIZE];
    long timeout_ms; /* this request's own limit, 0: the client's timeout_ms */
    double started; /* monotonic seconds when the transfer began */
    CURL *easy;     /* while the transfer runs */
    void *driver;   /* the driver's own record of this request (async: its lb_call) */

    /* the outcome, set by engine_complete */
    lb_code code;
    lb_error error;
    void *result;
} lb_request;

/* path is appended to the base URL; send_token: 0 only for /healthz. */
lb_request *request_new(const lb_settings *s, const char *method, const char *path,
                        result_kind kind, int send_token, lb_error *err);
lb_code request_header(lb_request *r, const char *name, const char *value, lb_error *err);
lb_code request_create_body(lb_request *r, const lb_create_opts *o, lb_error *err);
lb_code request_renew_body(lb_request *r, long long expires_at, lb_error *err);
lb_code request_proxy_body(lb_request *r, const char *name, const char *target,
                           const char *const *headers, lb_error *err);
/* The result, handed over: r keeps nothing of it. */
void *request_take_result(lb_request *r);
void request_free(lb_request *r); /* frees an unclaimed result too */

#endif
