/* Internal interfaces of liblitterbox: shared by the library's files, the
 * tests and the fuzzers (which link the static library), never installed. */
#ifndef LB_INTERNAL_H
#define LB_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "litterbox.h"

/* ---- util.c: growable byte buffer, errors, UTF-8, time ---- */

typedef struct lb_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len, cap;
    int secret; /* set before use: growth and free wipe the old bytes */
} lb_buf;

int buf_append(lb_buf *b, const void *bytes, size_t len); /* 0, or -1 on ENOMEM */
int buf_append_str(lb_buf *b, const char *s);
/* Appends bytes and the NUL after them, both counted in len. */
int buf_append_string(lb_buf *b, const void *bytes, size_t len);
void buf_free(lb_buf *b);
void buf_wipe_free(lb_buf *b); /* zero the bytes first: the buffer held a secret */

/* Fill err (when not NULL) and return code. The message is cut on a UTF-8
 * boundary to fit. */
lb_code error_set(lb_error *err, lb_code code, int http_status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int utf8_valid(const char *s, size_t len);
/* Largest n <= max such that s[0..n) does not end inside a UTF-8 sequence. */
size_t utf8_cut(const char *s, size_t len, size_t max);
/* Copy src into dst (size dst_size), cut on a UTF-8 boundary, terminated. */
void utf8_copy(char *dst, size_t dst_size, const char *src, size_t src_len);
/* Unix seconds to "YYYY-MM-DDTHH:MM:SS+00:00" (dst at least 26 bytes). */
int rfc3339_format(long long unix_s, char *dst, size_t dst_size);
void secure_zero(void *p, size_t n);

/* ---- validate.c: argument checks, pure (sdk.md rule 3) ---- */

/* Each returns LB_OK or LB_ERR_INVALID with a message naming what. */
lb_code check_base_url(const char *url, lb_error *err);
lb_code check_header_value(const char *what, const char *value, int allow_empty, lb_error *err);
lb_code check_token(const char *token, lb_error *err);
lb_code check_host_id(const char *what, const char *id, lb_error *err);
lb_code check_proxy_name(const char *name, lb_error *err);
lb_code check_idempotency_key(const char *key, lb_error *err);
lb_code check_env(const char *const *env, lb_error *err);
lb_code check_optional_string(const char *what, const char *value, lb_error *err);
lb_code check_utf8(const char *what, const char *value, lb_error *err);
lb_code check_proxy_headers(const char *const *headers, lb_error *err);

/* ---- decode/: JSON to results, pure functions of bytes ---- */

/* json_stream.c: a strict streaming JSON reader (RFC 8259, UTF-8 checked),
 * fed bytes in any split, calling back in yajl's shapes. A callback returns
 * 0 to stop. feed/finish return 0, -1 on a syntax error (json_stream_error
 * says why), -2 when a callback stopped. */
typedef struct json_events {
    int (*null)(void *ctx);
    int (*boolean)(void *ctx, int value);
    int (*number)(void *ctx, const char *text, size_t len);
    int (*string)(void *ctx, const unsigned char *s, size_t len);
    int (*start_map)(void *ctx);
    int (*map_key)(void *ctx, const unsigned char *key, size_t len);
    int (*end_map)(void *ctx);
    int (*start_array)(void *ctx);
    int (*end_array)(void *ctx);
    /* Optional. Offered each object that starts where a value may, with the
     * rest of the chunk from its '{'. Returns the bytes of one whole object
     * it has taken (ending at its '}', then the reader goes on after it, no
     * other event being sent for it), 0 to leave the object to the events
     * (then it must have changed nothing), or -1 to stop. */
    long (*whole_object)(void *ctx, const unsigned char *p, size_t n);
} json_events;
typedef struct json_stream json_stream;
json_stream *json_stream_new(const json_events *ev, void *ctx);
/* Length of the run at p of string bytes that need no care: it stops at '"',
 * '\\' or a control byte. *high tells whether it holds bytes >= 0x80 (to be
 * checked as UTF-8 by the caller). */
size_t json_plain_run(const unsigned char *p, size_t n, int *high);
int json_stream_feed(json_stream *s, const void *bytes, size_t len);
int json_stream_finish(json_stream *s);
const char *json_stream_error(const json_stream *s);
/* After -1: 1 when the cause was out of memory rather than the bytes. */
int json_stream_out_of_memory(const json_stream *s);
void json_stream_free(json_stream *s);

/* Streaming decoder of one host record (list == 0) or a JSON array of them
 * (list == 1). Feed chunks as they arrive, in any split; finish once. */
typedef struct host_decoder host_decoder;
host_decoder *host_decoder_new(int list);
lb_code host_decoder_feed(host_decoder *d, const void *bytes, size_t len, lb_error *err);
/* Exactly one of one/many is used, as chosen at _new. */
lb_code host_decoder_finish(host_decoder *d, lb_host **one, lb_host_list **many, lb_error *err);
void host_decoder_free(host_decoder *d);
/* Makes every record go through the reader's events (tests and the fuzzer
 * compare this with the default shortcut for whole records). */
void host_decoder_no_shortcut(host_decoder *d);
/* The body is said to be `bytes` long (Content-Length): a hint, not a
 * limit. */
void host_decoder_expect(host_decoder *d, uint64_t bytes);
/* How many records took the shortcut so far. */
size_t host_decoder_shortcuts(const host_decoder *d);

/* host_mem.c: the memory of decoded hosts. A host is one block of `size`
 * bytes (the lb_host, then its strings), freed by lb_host_free. With a store
 * (list decodes), blocks come from large slabs the store fills in turn;
 * without one, each is malloc'd alone. Release the store when done: its
 * last slab then goes with its last host. NULL when out of memory. */
typedef struct host_store {
    struct host_slab *slab;
    size_t next_size;
} host_store;
lb_host *host_alloc(host_store *st, size_t size);
void host_store_release(host_store *st);
/* The body is said to be `bytes` long: size the first slab for it. */
void host_store_expect(host_store *st, uint64_t bytes);

/* Whole-body conveniences over the decoders. */
lb_code host_decode(const char *body, size_t len, lb_host **out, lb_error *err);
lb_code host_list_decode(const char *body, size_t len, lb_host_list **out, lb_error *err);
lb_code doctor_decode(const char *body, size_t len, lb_doctor_report **out, lb_error *err);
/* want_host_id: 1 for attach ({"name","host_id","status"}), 0 for create. */
lb_code proxy_decode(const char *body, size_t len, int want_host_id, lb_proxy **out,
                     lb_error *err);
lb_code health_decode(const char *body, size_t len, lb_error *err);

/* tree.c: a small whole body as a yajl tree (depth-limited); free with
 * yajl_tree_free. json_get: an object's member, NULL when absent. */
lb_code json_tree_parse(const char *body, size_t len, yajl_val *out, lb_error *err);
yajl_val json_get(yajl_val obj, const char *key);
/* A string node's text; only after YAJL_IS_STRING(v) said it is one. */
#define JSON_STR(v) ((v)->u.string)

/* The error classifier (sdk.md rules 4 and 5): the code, message and
 * error_code for a non-2xx response. secret (the token) is redacted from the
 * message. Returns the code it chose. */
lb_code error_from_response(int status, const char *body, size_t len, const char *secret,
                            lb_error *err);

/* ---- the request path: client.c, request.c, engine.c ---- */

#include <curl/curl.h>
#include <pthread.h>

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
