/**
 * @file litterbox.h
 * @brief liblitterbox: the C client of the Litterbox host API.
 *
 * Litterbox provisions sandbox hosts and hands back the SSH coordinates a
 * caller needs. This library speaks its HTTP+JSON API and nothing more: no
 * SSH sessions, file transfer, remote commands or retry loops.
 *
 * Conventions, true of every function below:
 *  - Calls that can fail return an ::lb_code; LB_OK (0) is success.
 *  - A result comes through an `**out` parameter, the one just before
 *    `err`. On failure `*out` is set to NULL; on success the caller owns
 *    `*out` and frees it with the matching `_free` function.
 *  - The trailing `lb_error *err` may be NULL. On failure it is filled; on
 *    success it is left untouched.
 *  - Strings passed in are borrowed for the duration of the call only.
 *  - Argument checks (::LB_ERR_INVALID) happen before anything is sent.
 *
 * ABI (1.x): functions are never removed or changed; enums are append-only;
 * result structs (allocated by the library) only grow at their end; option
 * structs (allocated by the caller) grow by version: the library accepts
 * every version from 1 to its own, reads only the fields of the version the
 * caller says it has, and defaults the rest.
 */
#ifndef LITTERBOX_H
#define LITTERBOX_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define LB_EXTERN __attribute__((visibility("default")))
#else
#define LB_EXTERN
#endif

#define LB_VERSION "1.0.0"
#define LB_VERSION_MAJOR 1
#define LB_VERSION_MINOR 0
#define LB_VERSION_PATCH 0

/** Result codes. Append-only: values are never renumbered or removed. */
typedef enum lb_code {
    LB_OK = 0,
    LB_ERR_INVALID,      /**< bad argument or configuration; nothing was sent */
    LB_ERR_NOMEM,        /**< an allocation failed */
    LB_ERR_AUTH,         /**< 401, 403 */
    LB_ERR_NOT_FOUND,    /**< 404 */
    LB_ERR_CONFLICT,     /**< 409 */
    LB_ERR_VALIDATION,   /**< 422 */
    LB_ERR_PROVISIONING, /**< 502 carrying the service's JSON error */
    LB_ERR_UNAVAILABLE,  /**< transport failure, timeout, 429, 503, 504, a gateway's 502 */
    LB_ERR_RESPONSE,     /**< any other status >= 300, non-JSON or malformed body */
    LB_ERR_CANCELLED     /**< an asynchronous call cancelled, or its client closed */
} lb_code;

/** What went wrong. Caller-allocated; every string is always terminated. */
typedef struct lb_error {
    lb_code code;
    int http_status;     /**< 0 when no response arrived */
    char message[512];   /**< the service's detail, or what went wrong; never the token */
    char error_code[64]; /**< the service's error_code, "" when none */
    /** Room for fields added in later 1.x versions, so that the struct
     *  keeps its size. The library zeroes it; do not use it. */
    char reserved[64];
} lb_error;

/** @return the short name of @p code ("ok", "invalid", ...); "unknown" for
 *  a value outside the enum. Static storage. */
LB_EXTERN const char *lb_code_name(lb_code code);
/** @return 1 when @p code means the service refused the request (auth,
 *  not_found, conflict, validation, provisioning, response), else 0. */
LB_EXTERN int lb_code_is_api_error(lb_code code);
/** @return 1 only for ::LB_ERR_UNAVAILABLE: the service could not be reached
 *  or could not answer, so trying again later may succeed. A create is safe
 *  to repeat only with the same idempotency key, once the first has ended. */
LB_EXTERN int lb_code_is_retryable(lb_code code);
/** @return the library's version, "1.0.0". Static storage. */
LB_EXTERN const char *lb_version(void);

/** A connection to one Litterbox service. Blocking calls may be made on one
 *  client from several threads at once; connections are kept alive and
 *  reused across calls and threads. */
typedef struct lb_client lb_client;

/** The version of lb_client_options this header describes. Version 1 ends
 *  at `log_data`; version 2 adds `proxy`. */
#define LB_CLIENT_OPTIONS_VERSION 2

/** Client options. Initialise with ::LB_CLIENT_OPTIONS_INIT (or pass NULL
 *  for all defaults); fields are only ever appended, under a new version. */
typedef struct lb_client_options {
    unsigned int version;     /**< LB_CLIENT_OPTIONS_INIT sets it */
    double timeout_s;         /**< whole request once sent; 0 means 300 */
    double connect_timeout_s; /**< 0 means 10 */
    /** 0 means 20. Blocking calls beyond it (from more threads) wait for a
     *  connection; non-blocking calls beyond it wait in order. Each API has
     *  its own pool of this size. */
    long max_connections;
    size_t max_response_bytes; /**< 0 means 256 MiB */
    const char *ca_file;       /**< NULL: the system's trust store */
    const char *user_agent;    /**< NULL: "liblitterbox/<version>" */
    /** Debug log, one line per call (method, URL, status, duration, header
     *  names), token shown as `***`; never a body. NULL: no log. Called on
     *  the thread that made the call. */
    void (*log)(void *log_data, const char *line);
    void *log_data;
    /* ---- version 2 ---- */
    /** HTTP proxy to reach the service through, e.g. "http://proxy:3128".
     *  NULL: libcurl's environment variables (http_proxy, https_proxy,
     *  no_proxy) apply as usual; "": no proxy, whatever the environment
     *  says. */
    const char *proxy;
} lb_client_options;

/* clang-format off */
#define LB_CLIENT_OPTIONS_INIT \
    { LB_CLIENT_OPTIONS_VERSION, 0.0, 0.0, 0, 0, NULL, NULL, NULL, NULL, NULL }
/* clang-format on */

/**
 * Create a client.
 *
 * @param base_url  `http://` or `https://` URL of the service, optionally
 *                  with a path prefix; a trailing `/` is removed.
 * @param token     bearer token, copied; it never appears in any message or
 *                  log line this library writes.
 * @param opts      NULL for defaults. Strings in it are copied.
 * @param err       optional.
 * @return a client the caller frees with lb_client_close(), or NULL with
 *         @p err filled: ::LB_ERR_INVALID (bad URL, token, user agent,
 *         proxy, option values, or an options version outside 1 to
 *         ::LB_CLIENT_OPTIONS_VERSION) or ::LB_ERR_NOMEM.
 */
LB_EXTERN lb_client *lb_client_new(const char *base_url, const char *token,
                                   const lb_client_options *opts, lb_error *err);

/**
 * Create a client from the environment: `{prefix}SERVICE_URL`,
 * `{prefix}SERVICE_TOKEN` and the optional `{prefix}SERVICE_TIMEOUT`
 * (seconds, may be fractional, > 0), which overrides `opts->timeout_s`.
 *
 * @param prefix NULL means "SANDBOX_".
 * @return as lb_client_new(); ::LB_ERR_INVALID names a variable that is
 *         missing or unparsable.
 */
LB_EXTERN lb_client *lb_client_from_env(const char *prefix, const lb_client_options *opts,
                                        lb_error *err);

/** Release the client and everything it holds. NULL-safe. No blocking call
 *  on the client may be running; non-blocking calls still pending complete
 *  with LB_ERR_CANCELLED before it returns. Calling it from a completion
 *  callback is a programming error: the library aborts with a message. */
LB_EXTERN void lb_client_close(lb_client *client);

/** A host record. Library-allocated, freed with lb_host_free(); fields are
 *  only ever appended. Strings are owned by the record and never NULL unless
 *  marked. */
typedef struct lb_host {
    const char *id, *name, *status, *provider, *image;
    const char *ssh_host;          /**< either wire spelling; may be "" */
    int ssh_port;                  /**< 1-65535 */
    const char *ssh_username;      /**< "" when the service does not send it */
    const char *internal_ssh_host; /**< NULL when null or absent */
    const char *known_hosts;
    const char *private_key;         /**< NULL unless a create response carried it */
    const char *tailscale_device_id; /**< NULL when null or absent */
    const char *instance_type;       /**< NULL when null or absent */
    long long disk_gb;               /**< 0 when null or absent */
    const char *last_error;
    const char *created_at, *updated_at;
    const char *activated_at, *expires_at; /**< NULL when null or absent */
} lb_host;

/** Free a host; wipes private_key before releasing it. NULL-safe. */
LB_EXTERN void lb_host_free(lb_host *host);

/** Hosts as the service lists them, newest first. */
typedef struct lb_host_list {
    size_t count;
    lb_host **hosts;
} lb_host_list;

/** Free a list and every host in it; NULL slots are skipped. NULL-safe.
 *  To keep a host beyond its list, take it out (set its slot to NULL) and
 *  free it later with lb_host_free(), from any thread. */
LB_EXTERN void lb_host_list_free(lb_host_list *list);

#define LB_EXPIRES_DEFAULT 0  /**< field absent: the default lease */
#define LB_EXPIRES_NEVER (-1) /**< explicit null: a permanent host */

/** The version of lb_create_opts this header describes. */
#define LB_CREATE_OPTS_VERSION 1

/** What to create. Initialise with ::LB_CREATE_OPTS_INIT: everything omitted. */
typedef struct lb_create_opts {
    unsigned int version;
    const char *image;           /**< NULL: omitted (the provider's default) */
    const char *const *env;      /**< NULL-terminated "KEY=VALUE" strings; NULL: omitted */
    long long expires_at;        /**< Unix seconds, or LB_EXPIRES_DEFAULT / LB_EXPIRES_NEVER */
    const char *idempotency_key; /**< NULL: no header */
    const char *provider;        /**< NULL: omitted */
    const char *instance_type;   /**< NULL: omitted */
    long long disk_gb;           /**< 0: omitted */
} lb_create_opts;

/* clang-format off */
#define LB_CREATE_OPTS_INIT \
    { LB_CREATE_OPTS_VERSION, NULL, NULL, LB_EXPIRES_DEFAULT, NULL, NULL, NULL, 0 }
/* clang-format on */

/*
 * Every call below returns LB_OK or one of:
 *   LB_ERR_INVALID      an argument was refused; nothing was sent
 *   LB_ERR_NOMEM        an allocation failed
 *   LB_ERR_AUTH         401 or 403
 *   LB_ERR_NOT_FOUND    404
 *   LB_ERR_CONFLICT     409
 *   LB_ERR_VALIDATION   422; the message joins the service's list
 *   LB_ERR_PROVISIONING 502 with the service's JSON error
 *   LB_ERR_UNAVAILABLE  no answer: refused, DNS, TLS, reset, truncated,
 *                       timed out; or 429, 503, 504, a gateway's 502
 *   LB_ERR_RESPONSE     any other status, a redirect, or a body that is not
 *                       the JSON the call expects (or over max_response_bytes)
 */

/**
 * POST /hosts: provision a host and wait until it is active (typically
 * 10-30 s, minutes at worst; the default 300 s timeout covers it).
 *
 * @param opts NULL: all fields omitted. Only set fields are sent.
 * @param out  the new host; private_key is set when the service returned one.
 *
 * A create that fails with LB_ERR_UNAVAILABLE may still have provisioned a
 * host: repeat it with the same idempotency key, once the first attempt has
 * ended, to get that host back instead of a second one.
 */
LB_EXTERN lb_code lb_create_host(lb_client *c, const lb_create_opts *opts, lb_host **out,
                                 lb_error *err);

/** GET /hosts/{id}. @p id: letters, digits, '-' and '_'. */
LB_EXTERN lb_code lb_get_host(lb_client *c, const char *id, lb_host **out, lb_error *err);

/** lb_get_host() under the seed SDK's second name: a fresh request every
 *  time, nothing cached. */
LB_EXTERN lb_code lb_attach_host(lb_client *c, const char *id, lb_host **out, lb_error *err);

/** GET /hosts: every host, newest first. Decoded as the body arrives. */
LB_EXTERN lb_code lb_list_hosts(lb_client *c, lb_host_list **out, lb_error *err);

/** DELETE /hosts/{id}. Succeeds on 204 and 200. */
LB_EXTERN lb_code lb_delete_host(lb_client *c, const char *id, lb_error *err);

/**
 * POST /hosts/{id}/renew: set the host's lease.
 *
 * @param expires_at 0: now + the service's default lease; otherwise Unix
 *                   seconds. Negative (LB_EXPIRES_NEVER included) is
 *                   LB_ERR_INVALID: a renew never makes a host permanent.
 */
LB_EXTERN lb_code lb_renew_host(lb_client *c, const char *id, long long expires_at, lb_host **out,
                                lb_error *err);

/** GET /healthz, sent without the token. LB_OK when the service answers
 *  200 with status "ok"; LB_ERR_RESPONSE for any other 2xx status text. */
LB_EXTERN lb_code lb_health(lb_client *c, lb_error *err);

/** One check of a doctor report. Reached only through
 *  lb_doctor_report.checks, so that later versions may add fields at its
 *  end. */
typedef struct lb_doctor_check {
    const char *name;
    const char *status;   /**< "ok", "error", or another word of the service */
    const char *detail;   /**< NULL when null */
    long long latency_ms; /**< -1 when null */
    const char *hint;     /**< NULL when null */
} lb_doctor_check;

/** The service's self-diagnosis. Library-allocated: one block, checks and
 *  strings included, freed by lb_doctor_report_free. */
typedef struct lb_doctor_report {
    int ok;
    const char *active_provider;
    int tailscale_enabled;
    size_t check_count;
    /** check_count pointers, one per check (NULL when there is none):
     *  `report->checks[i]->name`. An array of pointers rather than of
     *  structs, so that lb_doctor_check can grow without breaking callers. */
    lb_doctor_check **checks;
} lb_doctor_report;

/** GET /doctor. The service always answers 200; @c ok says whether it is
 *  healthy, so LB_OK does not mean that it is. */
LB_EXTERN lb_code lb_doctor(lb_client *c, lb_doctor_report **out, lb_error *err);
/** NULL-safe. */
LB_EXTERN void lb_doctor_report_free(lb_doctor_report *report);

/** The service's answer to a proxy create or attach. Library-allocated. */
typedef struct lb_proxy {
    const char *name;
    const char *host_id; /**< NULL for a create */
    const char *status;  /**< "created" or "attached" */
} lb_proxy;

/** NULL-safe. */
LB_EXTERN void lb_proxy_free(lb_proxy *proxy);

/**
 * POST /http-proxies: route a name to an origin.
 *
 * @param name    `[A-Za-z0-9][A-Za-z0-9_.-]*`
 * @param target  origin URL, sent as given (the service judges it)
 * @param headers NULL-terminated "Name: value" strings, sent as the proxy's
 *                headers object; values may be secrets and are never logged.
 */
LB_EXTERN lb_code lb_create_proxy(lb_client *c, const char *name, const char *target,
                                  const char *const *headers, lb_proxy **out, lb_error *err);
/** DELETE /http-proxies/{name}. */
LB_EXTERN lb_code lb_delete_proxy(lb_client *c, const char *name, lb_error *err);
/** POST /http-proxies/{name}/hosts/{host_id}. */
LB_EXTERN lb_code lb_attach_proxy(lb_client *c, const char *name, const char *host_id,
                                  lb_proxy **out, lb_error *err);
/** DELETE /http-proxies/{name}/hosts/{host_id}. */
LB_EXTERN lb_code lb_detach_proxy(lb_client *c, const char *name, const char *host_id,
                                  lb_error *err);

/* ======================================================================
 * The non-blocking API
 *
 * Every call above has a form `lb_<call>_async` that returns at once with
 * a handle, and reports its end through a callback. Many calls may be in
 * flight on one client at once, all driven by one thread:
 *
 *  (a) the library's own loop: lb_client_run();
 *  (b) any outside loop, through lb_client_set_loop() and the entry points
 *      lb_client_fd_ready() and lb_client_timer_fired();
 *  (c) the header-only adapters adapters/libuv.h, adapters/libevent.h and
 *      adapters/poll.h, which do (b) for those loops.
 *
 * Rules:
 *  - The callback fires exactly once per call that was started: with the
 *    result, with the failure, with LB_ERR_CANCELLED after lb_call_cancel(),
 *    or with LB_ERR_CANCELLED when the client is closed with the call still
 *    in flight. A call refused at the start (NULL returned) never fires.
 *  - The handle belongs to the library; it is valid until its callback
 *    returns, and not after.
 *  - A callback may start new calls and cancel others. It must not close
 *    the client.
 *  - At most max_connections calls are on the wire at once; the rest wait
 *    in order. timeout_s counts from when a call is sent, not while it
 *    waits for a slot.
 *  - Threads: the non-blocking API of a client belongs to the one thread
 *    that drives it. Blocking calls on the same client may run on other
 *    threads meanwhile.
 * ====================================================================== */

/** A call in flight. Owned by the library. */
typedef struct lb_call lb_call;

/** What a finished call carries. On success the callback owns the result
 *  object its call produces (host, list, doctor or proxy) and frees it with
 *  the matching `_free`; every other pointer is NULL. */
typedef struct lb_result {
    lb_code code;
    const lb_error *error;    /**< NULL on success; valid during the callback */
    lb_host *host;            /**< create, get, attach, renew */
    lb_host_list *list;       /**< list */
    lb_doctor_report *doctor; /**< doctor */
    lb_proxy *proxy;          /**< proxy create, proxy attach */
} lb_result;

/** Completion callback: called once, on the driving thread. */
typedef void (*lb_callback)(lb_call *call, const lb_result *result, void *userdata);

/* Each returns a handle, or NULL with @p err filled when its arguments are
 * refused (LB_ERR_INVALID, as the blocking form) or memory ran out. @p cb
 * must not be NULL. */
LB_EXTERN lb_call *lb_create_host_async(lb_client *c, const lb_create_opts *opts, lb_callback cb,
                                        void *userdata, lb_error *err);
LB_EXTERN lb_call *lb_get_host_async(lb_client *c, const char *id, lb_callback cb, void *userdata,
                                     lb_error *err);
LB_EXTERN lb_call *lb_attach_host_async(lb_client *c, const char *id, lb_callback cb,
                                        void *userdata, lb_error *err);
LB_EXTERN lb_call *lb_list_hosts_async(lb_client *c, lb_callback cb, void *userdata, lb_error *err);
LB_EXTERN lb_call *lb_delete_host_async(lb_client *c, const char *id, lb_callback cb,
                                        void *userdata, lb_error *err);
LB_EXTERN lb_call *lb_renew_host_async(lb_client *c, const char *id, long long expires_at,
                                       lb_callback cb, void *userdata, lb_error *err);
LB_EXTERN lb_call *lb_health_async(lb_client *c, lb_callback cb, void *userdata, lb_error *err);
LB_EXTERN lb_call *lb_doctor_async(lb_client *c, lb_callback cb, void *userdata, lb_error *err);
LB_EXTERN lb_call *lb_create_proxy_async(lb_client *c, const char *name, const char *target,
                                         const char *const *headers, lb_callback cb, void *userdata,
                                         lb_error *err);
LB_EXTERN lb_call *lb_delete_proxy_async(lb_client *c, const char *name, lb_callback cb,
                                         void *userdata, lb_error *err);
LB_EXTERN lb_call *lb_attach_proxy_async(lb_client *c, const char *name, const char *host_id,
                                         lb_callback cb, void *userdata, lb_error *err);
LB_EXTERN lb_call *lb_detach_proxy_async(lb_client *c, const char *name, const char *host_id,
                                         lb_callback cb, void *userdata, lb_error *err);

/**
 * Keep a host's lease alive: renew it at once, then every third of
 * @p ttl_s, each time to now + @p ttl_s (rounded up to a whole second),
 * until the call is cancelled. One such call per host keeps any number of
 * hosts alive on one client's loop; there is no blocking form.
 *
 * A renew that fails with ::LB_ERR_UNAVAILABLE is tried again sooner
 * (after 5 s or a twelfth of the TTL, whichever is less, doubling up to a
 * third of it), for as long as the last lease it set has not passed. A
 * renew goes before calls waiting for a connection slot, and may take no
 * longer than what is left of the lease. The callback fires once, at the end:
 * ::LB_ERR_CANCELLED after lb_call_cancel() or when the client closes; the
 * refusal that ended it (::LB_ERR_NOT_FOUND once the host is gone,
 * ::LB_ERR_CONFLICT when it left `active`, ::LB_ERR_AUTH, ...); or
 * ::LB_ERR_UNAVAILABLE when the service stayed unreachable until the lease
 * passed. It never ends with LB_OK, and while it lives it counts in
 * lb_client_pending(), so lb_client_run() with no time limit returns only
 * after it ends.
 *
 * @param ttl_s the lease each renew sets, in seconds: at least 1, at most
 *              ten years.
 * @return a handle for lb_call_cancel(), or NULL with @p err filled
 *         (::LB_ERR_INVALID for a bad id or ttl, ::LB_ERR_NOMEM).
 */
LB_EXTERN lb_call *lb_keep_host_async(lb_client *c, const char *id, double ttl_s, lb_callback cb,
                                      void *userdata, lb_error *err);

/**
 * Cancel a call that has not finished: its callback fires with
 * LB_ERR_CANCELLED before this returns. A cancelled create may still
 * provision a host on the service (the request may already be there): to
 * recover it, repeat the create with the same idempotency key once you
 * know the first has ended, or find and delete the host.
 *
 * @return LB_OK, or LB_ERR_INVALID when @p call is NULL or its callback is
 *         already running.
 */
LB_EXTERN lb_code lb_call_cancel(lb_call *call);

/** Calls started and not yet finished on @p c (queued ones included). */
LB_EXTERN size_t lb_client_pending(const lb_client *c);

/**
 * The library's own loop: wait for sockets and timers and dispatch
 * callbacks until no call is pending or @p timeout_s passes (< 0: no
 * limit; 0: one pass over what is ready now). Only for a client without
 * outside loop hooks.
 *
 * @param pending optional: set to the number of calls still pending when
 *                it returns (0 when every call has finished). Time running
 *                out is not an error: the calls go on at the next run.
 * @return LB_OK, whether or not calls remain; LB_ERR_INVALID when @p c is
 *         NULL, @p timeout_s is NaN, an outside loop's hooks are set, or
 *         it is called from a callback; LB_ERR_NOMEM.
 */
LB_EXTERN lb_code lb_client_run(lb_client *c, double timeout_s, size_t *pending, lb_error *err);

#define LB_WATCH_READ 1  /**< wait until the fd is readable */
#define LB_WATCH_WRITE 2 /**< wait until the fd is writable */

/** The version of lb_loop_hooks this header describes. */
#define LB_LOOP_HOOKS_VERSION 1

/** How an outside event loop drives a client. The hooks are called from
 *  inside the library (during calls, lb_client_fd_ready and
 *  lb_client_timer_fired): they must only update the loop's watches and
 *  timer, and never call back into liblitterbox. */
typedef struct lb_loop_hooks {
    unsigned int version; /**< LB_LOOP_HOOKS_VERSION */
    /** Watch @p fd for @p events (LB_WATCH_READ | LB_WATCH_WRITE), or stop
     *  watching it when @p events is 0 (the fd may be closed right after).
     *  Report readiness with lb_client_fd_ready(). */
    void (*watch_fd)(void *loop_data, int fd, int events);
    /** Arm the one timer to fire once after @p timeout_ms (0: as soon as
     *  possible), replacing any armed one; -1 disarms it. When it fires,
     *  call lb_client_timer_fired(). */
    void (*set_timer)(void *loop_data, long timeout_ms);
    void *loop_data;
} lb_loop_hooks;

/* clang-format off */
#define LB_LOOP_HOOKS_INIT { LB_LOOP_HOOKS_VERSION, NULL, NULL, NULL }
/* clang-format on */

/**
 * Hand the client to an outside loop. Set it before the first
 * non-blocking call; NULL returns the client to lb_client_run().
 *
 * @return LB_OK; LB_ERR_INVALID when calls are pending, it is called from
 *         a callback, the version is outside 1 to ::LB_LOOP_HOOKS_VERSION
 *         or a hook is NULL; ::LB_ERR_NOMEM.
 */
LB_EXTERN lb_code lb_client_set_loop(lb_client *c, const lb_loop_hooks *hooks, lb_error *err);

/** The outside loop saw @p events (LB_WATCH_READ | LB_WATCH_WRITE) on
 *  @p fd. Dispatches the callbacks of calls that end. */
LB_EXTERN void lb_client_fd_ready(lb_client *c, int fd, int events);

/** The outside loop's timer fired. Dispatches the callbacks of calls that
 *  end. */
LB_EXTERN void lb_client_timer_fired(lb_client *c);

#ifdef __cplusplus
}
#endif

#endif /* LITTERBOX_H */
