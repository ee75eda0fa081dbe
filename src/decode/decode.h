/* The decoders: JSON bodies to results, and error responses to codes.
 * Pure functions of bytes (and a status): no socket, no libcurl, no
 * threads, so that tests and the fuzzer call them directly. Never
 * installed. */
#ifndef LB_DECODE_H
#define LB_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "litterbox.h"
#include "util.h"

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

#endif
