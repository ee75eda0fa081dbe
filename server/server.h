/* litterbox-server internals: what the files of server/ share.
 *
 * main.c reads the command line and runs the rest; http.c owns
 * libmicrohttpd and the routing table; hosts.c, proxies.c, doctor.c and
 * openapi.c answer the routes; json.c parses bodies; validate.c turns
 * them into requests or 422 lists; store.c keeps hosts, leases and
 * idempotency keys in memory and in SQLite, and alone changes a host's
 * status; render.c writes host records as JSON; reaper.c expires leases;
 * providers.c is the table of providers; buf.c the byte buffer (buf.h);
 * test_hook.c the pause points tests drive races with. */
#ifndef LBS_SERVER_H
#define LBS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "provider.h"

/* ---- util.c: time, randomness, wiping (the buffer: buf.h) ------------- */

void wipe(void *p, size_t n);
/* free() after wiping a secret string; NULL-safe. */
void free_secret(char *s);

int64_t now_ms(void);
/* RFC 3339 UTC, "2026-01-02T03:04:05Z" (".123Z" when ms are set). */
void format_time(int64_t ms, char out[32]);
/* An RFC 3339 date-time with an offset. 0 ok, -1 not a date-time, -2 no
 * offset. */
int parse_time(const char *s, size_t len, int64_t *ms);
/* "10s", "1.5m", "1h", "2d" -> milliseconds; -1 when malformed. */
int64_t parse_duration(const char *s);

int random_bytes(void *out, size_t n); /* getrandom(); 0 or -1 */
void new_uuid(char out[37]);           /* version 4 */
void new_host_name(char out[16]);      /* "sb-" + 12 lowercase hex */
int is_uuid(const char *s);
char *xstrdup(const char *s); /* NULL-safe; aborts when memory is out */
void *xcalloc(size_t n, size_t size);
void base64_encode(sbuf *out, const unsigned char *in, size_t len);

/* ---- json.c: request bodies as a tree that keeps string lengths -------- */

enum jtype { J_NULL, J_BOOL, J_INT, J_DOUBLE, J_STRING, J_OBJECT, J_ARRAY };

typedef struct jnode {
    enum jtype type;
    char *s; /* J_STRING: bytes, terminated; may hold NUL (see len) */
    size_t len;
    long long i; /* J_INT, J_BOOL */
    double d;    /* J_DOUBLE */
    size_t n;    /* J_OBJECT, J_ARRAY: members */
    char **keys; /* J_OBJECT */
    size_t *key_lens;
    struct jnode **kids;
} jnode;

/* An object or array may hold at most this many members (env's limit). */
#define JSON_MAX_MEMBERS 256

enum json_fail { JSON_OK, JSON_SYNTAX, JSON_TOO_DEEP, JSON_TOO_MANY, JSON_BAD_UTF8, JSON_NOMEM };

typedef struct json_error {
    enum json_fail fail;
    char why[128];  /* for the log; never echoes the input */
    char where[32]; /* JSON_TOO_MANY: the member that holds too many ("env"), or "" */
} json_error;

/* NULL when the text is not one JSON value the server takes (err says
 * why). Every string in the tree is strict UTF-8. */
jnode *json_parse(const char *text, size_t len, json_error *err);

void json_free(jnode *n);
/* The member named key, or NULL. */
const jnode *json_get(const jnode *obj, const char *key);

/* ---- validate.c: bodies into requests, or the service's 422 list ------ */

/* The "detail" list of a 422, built as entries are added. */
typedef struct verrs {
    sbuf json; /* the entries, comma-separated, without the brackets */
    int count;
} verrs;

/* loc: NULL-terminated; items that start with '#' are integers ("#0"). */
void verrs_add(verrs *e, const char *type, const char *const *loc, const char *msg);
void verrs_free(verrs *e);

#define ENV_MAX_ENTRIES 256
#define ENV_MAX_VALUE (32 * 1024)
#define ENV_MAX_TOTAL (256 * 1024)
#define BODY_MAX (1024 * 1024)

typedef struct create_req {
    char *image;    /* NULL: absent */
    char *provider; /* NULL: absent */
    char *instance_type;
    long long disk_gb; /* 0: absent */
    int expires_set;   /* 0 absent, 1 a time, 2 explicit null (permanent) */
    int64_t expires_ms;
    size_t env_count;
    char **env_keys, **env_values;
} create_req;

void create_req_free(create_req *r);

/* Each returns 0, or -1 with entries added to e. body NULL: no body. */
int validate_create(const jnode *body, create_req *out, verrs *e);
/* Renew: *expires_ms 0 means "the default lease". */
int validate_renew(const jnode *body, int64_t *expires_ms, verrs *e);
int validate_proxy_create(const jnode *body, verrs *e);
int validate_proxy_name(const char *name, verrs *e);
void validate_host_id(const char *id, verrs *e);
/* An Idempotency-Key header value; NULL (absent) is fine. */
void validate_idempotency_key(const char *key, verrs *e);
/* The body could not be parsed at all, or was refused while parsing. */
void verrs_json_invalid(verrs *e, const json_error *err);

/* ---- store.c: hosts, leases, idempotency keys -------------------------- */

/* Where a host is in its life; store.c alone changes it. On the wire each
 * is its name (host_status_name). */
enum host_status { HOST_PROVISIONING, HOST_ACTIVE, HOST_ERROR, HOST_DELETING };
#define HOST_FROM(st) (1u << (st))

const char *host_status_name(enum host_status st);

typedef struct host_rec {
    char id[37];
    char name[16];
    enum host_status status;
    char provider[32];
    char *image, *ssh_host, *ssh_username, *known_hosts, *instance_type, *last_error, *state;
    int ssh_port;
    long long disk_gb;
    int64_t created_ms, updated_ms;
    int64_t activated_ms;  /* 0: null */
    int64_t expires_ms;    /* 0: null (permanent) */
    int64_t seq;           /* creation order, for newest-first lists */
    struct host_rec *next; /* store's hash chain */
} host_rec;

void host_rec_clear(host_rec *h); /* frees the strings */
void host_rec_copy(host_rec *dst, const host_rec *src);

int store_open(const char *path, char *why, size_t why_size);
void store_close(void);
/* 0 ok, -1 database error (why). */
int store_ping(char *why, size_t why_size);

/* Called with the store locked: it must not call the store. */
typedef void (*host_visit_fn)(const host_rec *h, void *ctx);
/* fn(the host) under the lock (0), or -1 when it is unknown. */
int store_host_visit(const char *id, host_visit_fn fn, void *ctx);
/* fn(each host), newest first, under the lock. */
void store_hosts_visit(host_visit_fn fn, void *ctx);
/* A copy of the host (0; clear it with host_rec_clear) or -1. */
int store_host_get(const char *id, host_rec *out);
/* Insert a new host, `provisioning`, unless max_live hosts that are not in
 * `error` exist already: 0, -1 at capacity, -2 database error. Sets seq. */
int store_host_insert(host_rec *h, long max_live);
/* provisioning -> active with what the provider made; out (may be NULL)
 * gets the record. 0; -1 when the host is not provisioning any more (the
 * server stopped meanwhile: the caller tears down what it made); -2 db. */
int store_host_activate(const char *id, const host_info *info, host_rec *out);
/* -> error with last_error = why, from any status in the mask `from`
 * (HOST_FROM(...) | ...); lease_ends: its lease ends now, so that the
 * reaper removes it. 0, or -1 when unknown or in another status. */
int store_host_fail(const char *id, unsigned from, const char *why, int lease_ends);

enum claim_result { CLAIM_OK, CLAIM_UNKNOWN, CLAIM_BUSY, CLAIM_NOT_DUE };
/* active | error -> deleting: the only way to a provider's destroy, so one
 * caller alone tears a host down. due_by 0: unconditionally; otherwise only
 * when its lease has ended by then (the reaper), judged under the lock.
 * CLAIM_BUSY: provisioning or deleting already. out (may be NULL) gets the
 * record as it is after the call, unless unknown. */
enum claim_result store_host_claim(const char *id, int64_t due_by, host_rec *out);
/* deleting -> gone: forgets the host and the keys that named it. 0, or -1
 * when it is not being deleted. */
int store_host_gone(const char *id);
/* Renew an active host's lease to expires_ms (0: now + default_ttl_ms).
 * 0; -1 unknown; -2 in another status (out has it); -3 database. out (may
 * be NULL) gets the record. */
int store_host_renew(const char *id, int64_t expires_ms, int64_t default_ttl_ms, host_rec *out);
/* Every host still provisioning -> error (why), lease at now: for a stop
 * whose creates did not finish. Returns how many. */
size_t store_fail_provisioning(const char *why);
/* Copies of every host (caller frees each with host_rec_clear, then the
 * array). */
host_rec *store_hosts_all(size_t *count);

/* ---- render.c: host records as JSON ----------------------------------- */

enum wire_gen { WIRE_CURRENT, WIRE_V1 };

/* The host record as JSON, in the generation asked for. private_key: the
 * create response's key, or NULL (written as null). */
void host_json(sbuf *out, const host_rec *h, enum wire_gen wire, const char *private_key);
/* One host by id (0), or -1 when unknown; rendered under the store's lock,
 * so that a GET copies nothing. */
int render_host(const char *id, enum wire_gen wire, sbuf *out);
/* Every host, newest first, as a JSON array. */
void render_host_list(enum wire_gen wire, sbuf *out);

/* A 64-bit FNV-1a digest of length-prefixed pieces, as 16 hex digits: the
 * fingerprint of a create's request, and a token's scope. */
void fingerprint_start(uint64_t *h);
void fingerprint_add(uint64_t *h, const void *bytes, size_t len);
void fingerprint_hex(uint64_t h, char out[17]);
/* Who a token is, for scoping idempotency keys: a digest of the token
 * with a salt kept in the database (never the token itself). */
void store_token_scope(const char *token, char out[17]);

enum idem_result { IDEM_NEW, IDEM_REPLAY, IDEM_MISMATCH };
/* Claim an idempotency key (already scoped to its token) for a create
 * whose request has this fingerprint. Waits while another create holds the
 * same key. IDEM_NEW: the caller provisions and must call
 * store_idem_finish. IDEM_REPLAY: host_id (37 bytes) and *private_key
 * (malloc'd or NULL; free with free_secret) of the earlier create, made
 * from the same request. IDEM_MISMATCH: the key names a create of another
 * request. */
enum idem_result store_idem_claim(const char *key, const char *fingerprint, char host_id[37],
                                  char **private_key);
/* host_id NULL: the create failed, the key is released (a waiter may claim
 * it). Otherwise the key now names host_id until ttl_ms from now, with the
 * private key kept for replays until then. */
void store_idem_finish(const char *key, const char *host_id, const char *private_key,
                       int64_t ttl_ms);
/* Forget keys whose TTL passed (wiping their private keys). */
void store_idem_expire(int64_t now);

/* ---- providers.c ------------------------------------------------------ */

void providers_start(const provider_config *cfg);
void providers_stop(void);
/* Files no session of a local host may see (NULL-terminated, existing paths). */
void providers_hide_paths(const char *const *paths);
/* --gvisor-images: handed to the gvisor provider, if it started. */
void providers_set_gvisor_images(const char *dir);
/* --warm-pool: handed to the gvisor provider, if it started (else a line on
 * stderr says the pool is not kept). */
void providers_set_gvisor_warm_pool(int size);
/* The provider called name, or NULL with why (unknown: *unknown = 1). */
provider *providers_get(const char *name, int *unknown, char *why, size_t why_size);
size_t providers_count(void);
/* Whether name is a provider this server has (started or not). */
int provider_known(const char *name);
/* The i-th registered provider: its name, and the provider or NULL with
 * why it did not start. */
provider *providers_at(size_t i, const char **name, const char **why);

/* ---- the server as a whole -------------------------------------------- */

typedef struct server_config {
    const char *default_provider;
    double fake_delay_s;
    int64_t lease_ttl_ms, idem_ttl_ms, reap_interval_ms;
    long max_hosts;
    long max_pending;          /* deferred jobs (creates, deletes) at once */
    long max_conns_per_client; /* open connections from one address */
    int64_t stop_grace_ms;     /* how long a stop waits for requests in flight */
    enum wire_gen wire;
} server_config;

extern server_config g_config;

/* ---- http.c ----------------------------------------------------------- */

typedef struct request request;

/* The body (NULL-terminated) and its length; NULL when none was sent. */
const char *request_body(const request *r, size_t *len);
const char *request_header(const request *r, const char *name);
/* The scope of the token the request authenticated with (store_token_scope);
 * "" on open routes. */
const char *request_token_scope(const request *r);
/* Answer with a JSON body (taken over; NULL for no body, as for 204). */
void reply_json(request *r, int status, char *body);
/* {"detail": detail[, "error_code": code]} */
void reply_error(request *r, int status, const char *detail, const char *error_code);
/* 422 with the list (consumed). */
void reply_verrs(request *r, verrs *e);
/* Run job(r, data) on a thread of its own with the connection suspended,
 * so that no HTTP thread waits for it. The job answers through
 * reply_json/reply_error on r, from its thread, and owns data (it frees
 * it). The connection resumes when the job returns. When --max-pending
 * jobs run already (or no thread can start), r gets 503 with Retry-After
 * at once and drop(data) frees data instead. */
void request_defer(request *r, void (*job)(request *r, void *data), void *data,
                   void (*drop)(void *data));

/* A route: params are the matched path's '*' segments, in order. It
 * answers with reply_json/reply_error/reply_verrs, or defers. */
typedef void (*route_fn)(request *r, const char *const *params);

int http_start(const char *listen, int allow_remote, const char *const *tokens, size_t ntokens,
               char *why, size_t why_size);
/* Stop accepting; wait at most grace_ms for requests in flight and
 * deferred jobs; close every connection. 0; or -1 when jobs still run
 * (libmicrohttpd then keeps running: the caller must free nothing a job
 * may use, and end the process). */
int http_stop(int64_t grace_ms);

/* ---- the routes ------------------------------------------------------- */

void route_healthz(request *r, const char *const *p);
void route_openapi(request *r, const char *const *p);
void route_doctor(request *r, const char *const *p);
void route_host_create(request *r, const char *const *p);
void route_host_list(request *r, const char *const *p);
void route_host_get(request *r, const char *const *p);
void route_host_delete(request *r, const char *const *p);
void route_host_renew(request *r, const char *const *p);
void route_proxy_create(request *r, const char *const *p);
void route_proxy_delete(request *r, const char *const *p);
void route_proxy_attach(request *r, const char *const *p);
void route_proxy_detach(request *r, const char *const *p);

/* hosts.c: at start, hosts whose create never finished and live hosts whose
 * provider says they died become `error`. */
void hosts_check_at_start(void);
/* Tear down a host this caller claimed (store_host_claim) and forget it:
 * 0; or -1 with why, the host then `error` with its lease at now, so that
 * the reaper retries. */
int hosts_teardown(const host_rec *claimed, char *why, size_t why_size);

/* test_hook.c: pause points for tests (off unless
 * LITTERBOX_SERVER_TEST_HOOKS is set at start). */
void test_hook_init(void);
void test_hook_pause(const char *point, const char *id);

/* reaper.c */
void reaper_start(void);
void reaper_stop(void);
/* One pass: delete hosts whose lease passed; forget expired keys. */
void reaper_pass(void);

#endif
