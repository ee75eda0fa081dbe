/* The decoders: JSON bodies to results, and error responses to codes.
 * Pure functions of bytes (and a status): no socket, no libcurl, no
 * threads, so that tests and the fuzzer call them directly. Never
 * installed. */
#ifndef LB_DECODE_H
#define LB_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "json_stream.h"
#include "litterbox.h"
#include "util.h"

/* Streaming decoder of one host record (list == 0) or a JSON array of them
 * (list == 1). Feed chunks as they arrive, in any split; finish once. */
typedef struct host_decoder host_decoder;
host_decoder *host_decoder_new(int list);
lb_code host_decoder_feed(host_decoder *d, const void *bytes, size_t len, lb_error *err);
/* Exactly one of one/many is used, as chosen at _new. */
lb_code host_decoder_finish(host_decoder *d, lb_host **one, lb_host_list **many, lb_error *err);
void host_decoder_free(host_decoder *d);
/* The body is said to be `bytes` long (Content-Length): a hint, not a
 * limit. */
void host_decoder_expect(host_decoder *d, uint64_t bytes);
/* A host decoder starts with this: how it reads whole records. The library
 * always takes the shortcut; the test support (tests/support/) turns it off
 * to compare both roads, and counts the records that took it. */
struct host_road {
    int shortcut;     /* whole records may skip the events (see whole_record) */
    size_t shortcuts; /* records that took it */
};

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

/* The small answers, read whole through json_doc. */
lb_code doctor_decode(const char *body, size_t len, lb_doctor_report **out, lb_error *err);
/* want_host_id: 1 for attach ({"name","host_id","status"}), 0 for create. */
lb_code proxy_decode(const char *body, size_t len, int want_host_id, lb_proxy **out,
                     lb_error *err);
lb_code health_decode(const char *body, size_t len, lb_error *err);

/* The error classifier (docs/api.md): the code, message and
 * error_code for a non-2xx response. secret (the token) is redacted from the
 * message. Returns the code it chose. */
lb_code error_from_response(int status, const char *body, size_t len, const char *secret,
                            lb_error *err);

#endif
