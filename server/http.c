/* libmicrohttpd glue: the listening socket, the routing table, auth,
 * request bodies, answers, the log line, and deferred work.
 *
 * MHD runs a small pool of polling threads (epoll). A route answers on the
 * pool thread unless it defers: then the connection is suspended, the job
 * runs on a thread of its own (a create waits for its provider, or for
 * another create holding its idempotency key), and the connection resumes
 * with the answer. So a slow create never holds a pool thread and GETs stay
 * fast under load. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server.h"

#define MAX_PARAMS 3

enum phase { PH_NEW, PH_BODY, PH_DEFERRED, PH_ANSWERED };

struct request {
    struct MHD_Connection *conn;
    char method[8];
    char path[200];
    struct timespec start;
    const struct route *route;
    char *params[MAX_PARAMS + 1];
    sbuf body;
    int has_body;
    int too_big;
    enum phase phase;
    int status;      /* the answer's status, 0 until answered */
    int retry_after; /* seconds for a Retry-After header; 0: none */
    char *answer;    /* its body; NULL for none */
    int close_after; /* close the connection once answered */
    int token;       /* index of the token it authenticated with; -1 none */
};

struct route {
    const char *method;
    const char *pattern; /* '*' segments are parameters */
    int open;            /* no token needed */
    route_fn fn;
};

static const struct route routes[] = {
    {"GET", "/healthz", 1, route_healthz},
    {"GET", "/openapi.json", 1, route_openapi},
    {"POST", "/hosts", 0, route_host_create},
    {"GET", "/hosts", 0, route_host_list},
    {"GET", "/hosts/*", 0, route_host_get},
    {"DELETE", "/hosts/*", 0, route_host_delete},
    {"POST", "/hosts/*/renew", 0, route_host_renew},
    {"GET", "/doctor", 0, route_doctor},
    {"POST", "/http-proxies", 0, route_proxy_create},
    {"DELETE", "/http-proxies/*", 0, route_proxy_delete},
    {"POST", "/http-proxies/*/hosts/*", 0, route_proxy_attach},
    {"DELETE", "/http-proxies/*/hosts/*", 0, route_proxy_detach},
};

static struct {
    struct MHD_Daemon *daemon;
    int listen_fd;
    char **tokens;
    char (*scopes)[17]; /* store_token_scope of each token */
    size_t ntokens;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    long in_flight; /* requests begun and not completed */
    long deferred;  /* jobs running on their own thread */
    int stopping;   /* SIGTERM came: requests that begin now are refused */
    atomic_int refusing; /* SIGTERM came: connections are closed as they come */
    int closing;    /* the daemon is about to stop: no job may start */
} H = {NULL, -1, NULL, NULL, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0};

/* Once stopping, a new connection is closed at once. (Not
 * MHD_quiesce_daemon: with a pool of epoll threads, libmicrohttpd 0.9.75
 * races its own workers taking the listening socket out of their epoll
 * sets, and aborts "Failed to remove listen FD from epoll set": TSan runs
 * of server_races hit it.) */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)cls, (void)addr, (void)addrlen;
    return atomic_load(&H.refusing) ? MHD_NO : MHD_YES;
}

/* ---- routing ----------------------------------------------------------- */

/* Match path against pattern; parameters are copied into params. */
static int match(const char *pattern, const char *path, char **params)
{
    int n = 0;
    const char *p = pattern, *u = path;
    while (*p && *u) {
        if (*p != '/' || *u != '/') return 0;
        p++, u++;
        const char *pe = strchr(p, '/'), *ue = strchr(u, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), ul = ue ? (size_t)(ue - u) : strlen(u);
        if (pl == 1 && *p == '*') {
            if (ul == 0 || n == MAX_PARAMS) return 0;
            params[n++] = strndup(u, ul);
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return 0;
        }
        p += pl, u += ul;
    }
    return *p == '\0' && *u == '\0';
}

static void free_params(char **params)
{
    for (int i = 0; i < MAX_PARAMS; i++) {
        free(params[i]);
        params[i] = NULL;
    }
}

/* The route for method and path; *path_known when only the method is
 * wrong. */
static const struct route *find_route(const char *method, const char *path, char **params,
                                      int *path_known)
{
    *path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].pattern, path, params)) {
            free_params(params);
            continue;
        }
        if (strcmp(routes[i].method, method) == 0) return &routes[i];
        *path_known = 1;
        free_params(params);
    }
    return NULL;
}

/* ---- auth -------------------------------------------------------------- */

/* Equal in time that depends only on the stored token's length. */
static int token_equal(const char *given, size_t glen, const char *want)
{
    size_t wlen = strlen(want);
    unsigned char diff = (unsigned char)(glen != wlen);
    for (size_t i = 0; i < wlen; i++)
        diff |= (unsigned char)(want[i] ^ (i < glen ? given[i] : 0));
    return diff == 0;
}

/* 0 allowed (*which: the token's index), 401 or 403. Every token is
 * compared, match or not. */
static int check_auth(struct MHD_Connection *conn, int *which)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return 401;
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    size_t len = strlen(tok);
    while (len && tok[len - 1] == ' ')
        len--;
    if (len == 0) return 401;
    int ok = 0;
    for (size_t i = 0; i < H.ntokens; i++) {
        int eq = token_equal(tok, len, H.tokens[i]);
        ok |= eq;
        if (eq) *which = (int)i;
    }
    return ok ? 0 : 403;
}

/* ---- failed auth, per client address ---------------------------------- */

/* Each client address may fail auth AUTH_BURST times at once, earning one
 * more try every 1000 / AUTH_PER_SECOND ms; beyond that its requests to
 * routes that need a token get 429 without their token being looked at,
 * until it has earned a try again. A client with the right token never
 * fails, so it is held back only while another client on its address (on
 * loopback, any local process) keeps failing. The table is small and
 * fixed: an address that collides takes the slot over, which can only
 * give it a fresh budget, never take one away from anyone else for long. */
#define AUTH_BURST 50
#define AUTH_PER_SECOND 10
#define AUTH_SLOTS 1024

typedef struct auth_budget {
    unsigned char addr[16];
    int64_t at_ms; /* when `tries` was last brought up to date */
    double tries;  /* failures it may still make now */
    int used;
} auth_budget;

static struct {
    pthread_mutex_t mu;
    auth_budget slot[AUTH_SLOTS];
} A = {PTHREAD_MUTEX_INITIALIZER, {{{0}, 0, 0, 0}}};

/* The client's address as 16 bytes (IPv4 mapped), 0; -1 when unknown. */
static int client_addr(struct MHD_Connection *conn, unsigned char out[16])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    memset(out, 0, 16);
    if (sa && sa->sa_family == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa && sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 0;
    }
    return -1;
}

/* The budget of addr, brought up to date (A.mu held). */
static auth_budget *budget_locked(const unsigned char addr[16])
{
    unsigned h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 16777619u;
    auth_budget *b = &A.slot[h % AUTH_SLOTS];
    int64_t now = now_ms();
    if (!b->used || memcmp(b->addr, addr, 16) != 0) {
        memcpy(b->addr, addr, 16);
        b->used = 1;
        b->tries = AUTH_BURST;
    } else {
        b->tries += (double)(now - b->at_ms) * AUTH_PER_SECOND / 1000.0;
        if (b->tries > AUTH_BURST) b->tries = AUTH_BURST;
    }
    b->at_ms = now;
    return b;
}

/* 0 when the client may try its token; otherwise the seconds until it may
 * (for Retry-After). */
static int auth_throttled(struct MHD_Connection *conn)
{
    unsigned char addr[16];
    if (client_addr(conn, addr) != 0) return 0;
    pthread_mutex_lock(&A.mu);
    auth_budget *b = budget_locked(addr);
    int wait = b->tries >= 1 ? 0 : 1 + (int)((1 - b->tries) / AUTH_PER_SECOND);
    pthread_mutex_unlock(&A.mu);
    return wait;
}

static void auth_failed(struct MHD_Connection *conn)
{
    unsigned char addr[16];
    if (client_addr(conn, addr) != 0) return;
    pthread_mutex_lock(&A.mu);
    auth_budget *b = budget_locked(addr);
    if (b->tries >= 1) b->tries -= 1;
    pthread_mutex_unlock(&A.mu);
}

/* ---- answers ----------------------------------------------------------- */

const char *request_body(const request *r, size_t *len)
{
    *len = r->body.len;
    return r->has_body && r->body.len ? r->body.data : NULL;
}

const char *request_token_scope(const request *r)
{
    return r->token >= 0 ? H.scopes[r->token] : "";
}

const char *request_header(const request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void reply_json(request *r, int status, char *body)
{
    free(r->answer);
    r->status = status;
    r->answer = body;
}

void reply_error(request *r, int status, const char *detail, const char *error_code)
{
    sbuf b = {0};
    sbuf_adds(&b, "{\"detail\":");
    sbuf_json_strz(&b, detail);
    if (error_code) {
        sbuf_adds(&b, ",\"error_code\":");
        sbuf_json_strz(&b, error_code);
    }
    sbuf_add(&b, "}", 1);
    reply_json(r, status, sbuf_take(&b));
}

void reply_verrs(request *r, verrs *e)
{
    sbuf b = {0};
    sbuf_adds(&b, "{\"detail\":[");
    if (e->json.data) sbuf_add(&b, e->json.data, e->json.len);
    sbuf_adds(&b, "]}");
    verrs_free(e);
    reply_json(r, 422, sbuf_take(&b));
}

static enum MHD_Result send_answer(request *r)
{
    if (r->status == 0) reply_error(r, 500, "Internal Server Error", NULL);
    if (r->status != 204 && !r->answer) /* out of memory while writing it */
        reply_json(r, 500, NULL);
    size_t len = r->answer ? strlen(r->answer) : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, r->answer, MHD_RESPMEM_MUST_FREE);
    if (!resp) return MHD_NO;
    r->answer = NULL;
    if (r->status != 204)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (r->close_after) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r->retry_after) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->phase = PH_ANSWERED;
    return rc;
}

/* ---- deferred jobs ----------------------------------------------------- */

typedef struct deferred_job {
    request *r;
    void (*job)(request *r, void *data);
    void *data;
} deferred_job;

static void *deferred_main(void *arg)
{
    deferred_job *d = arg;
    request *r = d->r;
    d->job(r, d->data);
    free(d);
    /* After the resume the pool may finish and free r at once. */
    struct MHD_Connection *conn = r->conn;
    pthread_mutex_lock(&H.mu);
    MHD_resume_connection(conn);
    H.deferred--;
    pthread_cond_broadcast(&H.idle);
    pthread_mutex_unlock(&H.mu);
    return NULL;
}

void request_defer(request *r, void (*job)(request *r, void *data), void *data,
                   void (*drop)(void *data))
{
    /* Each job is a thread (a create may wait minutes for its provider or
     * for another create's idempotency key): bounded, and the client told
     * when to come back. */
    pthread_mutex_lock(&H.mu);
    int closing = H.closing, full = H.deferred >= g_config.max_pending;
    if (!full && !closing) H.deferred++;
    pthread_mutex_unlock(&H.mu);
    if (closing) {
        /* A request whose body came in during the stop: a job would hold a
         * suspended connection, which MHD_stop_daemon must never meet. */
        drop(data);
        r->close_after = 1;
        reply_error(r, 503, "the server is stopping", NULL);
        return;
    }
    if (full) {
        drop(data);
        char detail[160];
        snprintf(detail, sizeof detail,
                 "too many creates and deletes in flight (at most %ld, --max-pending); retry "
                 "shortly",
                 g_config.max_pending);
        r->retry_after = 1;
        reply_error(r, 503, detail, NULL);
        return;
    }
    deferred_job *d = xcalloc(1, sizeof *d);
    d->r = r;
    d->job = job;
    d->data = data;
    r->phase = PH_DEFERRED;
    MHD_suspend_connection(r->conn);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Roomy: a provider's create runs on it (and sanitizers grow frames). */
    pthread_attr_setstacksize(&attr, 2 * 1024 * 1024);
    pthread_t t;
    if (pthread_create(&t, &attr, deferred_main, d) != 0) {
        /* No thread: answer here, as the job would have. */
        pthread_mutex_lock(&H.mu);
        H.deferred--;
        pthread_mutex_unlock(&H.mu);
        free(d);
        drop(data);
        reply_error(r, 503, "the server cannot start a thread for this request", NULL);
        MHD_resume_connection(r->conn);
    }
    pthread_attr_destroy(&attr);
}

/* ---- libmicrohttpd callbacks ------------------------------------------ */

static void copy_path_for_log(char *dst, size_t size, const char *url)
{
    size_t i = 0;
    for (; url[i] && i + 1 < size; i++)
        dst[i] = isprint((unsigned char)url[i]) ? url[i] : '?';
    dst[i] = '\0';
}

typedef struct length_seen {
    const char *first;
    int conflict;
} length_seen;

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    length_seen *seen = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0) return MHD_YES;
    if (!seen->first)
        seen->first = value ? value : "";
    else if (strcmp(seen->first, value ? value : "") != 0)
        seen->conflict = 1;
    return MHD_YES;
}

static int content_length_conflict(struct MHD_Connection *conn)
{
    length_seen seen = {NULL, 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, &seen);
    return seen.conflict;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        *con_cls = r;
        r->conn = conn;
        r->token = -1;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        snprintf(r->method, sizeof r->method, "%s", method);
        copy_path_for_log(r->path, sizeof r->path, url);
        pthread_mutex_lock(&H.mu);
        H.in_flight++;
        int stopping = H.stopping;
        pthread_mutex_unlock(&H.mu);
        if (stopping) {
            /* A keep-alive client could otherwise hold the stop off for
             * ever; it is told to go, and the connection closes. */
            r->close_after = 1;
            reply_error(r, 503, "the server is stopping", NULL);
            return send_answer(r);
        }

        const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
        int path_known;
        r->route = find_route(m, url, r->params, &path_known);
        if (!r->route || !r->route->open) {
            int wait = auth_throttled(conn);
            if (wait) {
                r->close_after = 1;
                r->retry_after = wait;
                reply_error(r, 429, "too many failed authentications from this address", NULL);
                return send_answer(r);
            }
            int auth = check_auth(conn, &r->token);
            if (auth) auth_failed(conn);
            if (auth == 401) {
                reply_error(r, 401, "service token required", NULL);
                return send_answer(r);
            }
            if (auth == 403) {
                reply_error(r, 403, "service token rejected", NULL);
                return send_answer(r);
            }
        }
        if (!r->route) {
            reply_error(r, path_known ? 405 : 404, path_known ? "Method Not Allowed" : "Not Found",
                        NULL);
            return send_answer(r);
        }
        /* Two Content-Length headers that disagree frame the body two ways
         * (request smuggling through a proxy that reads the other one). */
        if (content_length_conflict(conn)) {
            r->close_after = 1;
            reply_error(r, 400, "conflicting Content-Length headers", NULL);
            return send_answer(r);
        }
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > BODY_MAX) {
            reply_error(r, 413, "request body larger than 1 MiB", NULL);
            return send_answer(r);
        }
        r->phase = PH_BODY;
        return MHD_YES;
    }

    if (r->phase == PH_BODY && *upload_data_size) {
        if (!r->too_big) {
            if (r->body.len + *upload_data_size > BODY_MAX) {
                r->too_big = 1;
                sbuf_wipe(&r->body);
            } else {
                r->has_body = 1;
                sbuf_add(&r->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->phase == PH_BODY) {
        if (r->too_big) {
            reply_error(r, 413, "request body larger than 1 MiB", NULL);
        } else if (r->body.failed) {
            reply_error(r, 503, "the server is out of memory", NULL);
        } else {
            r->route->fn(r, (const char *const *)r->params);
            if (r->phase == PH_DEFERRED) return MHD_YES;
        }
        return send_answer(r);
    }
    if (r->phase == PH_DEFERRED) /* resumed: the job has answered */
        return send_answer(r);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    request *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ms = (double)(end.tv_sec - r->start.tv_sec) * 1e3 +
                (double)(end.tv_nsec - r->start.tv_nsec) / 1e6;
    /* One line per request: never a header value or a body. */
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        fprintf(stderr, "%s %s %d %.1fms\n", r->method, r->path, r->status, ms);
    else
        fprintf(stderr, "%s %s %d %.1fms (connection closed before the answer was sent)\n",
                r->method, r->path, r->status, ms);
    free_params(r->params);
    sbuf_wipe(&r->body); /* env values are secrets */
    free(r->answer);
    free(r);
    pthread_mutex_lock(&H.mu);
    H.in_flight--;
    pthread_cond_broadcast(&H.idle);
    pthread_mutex_unlock(&H.mu);
}

/* ---- start and stop ---------------------------------------------------- */

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return 1;
        if (IN6_IS_ADDR_V4MAPPED(a)) return a->s6_addr[12] == 127;
    }
    return 0;
}

/* ADDR:PORT or [V6]:PORT into a bound, listening socket. */
static int open_listener(const char *listen_spec, int allow_remote, char *shown, size_t shown_size,
                         char *why, size_t why_size)
{
    char host[256];
    const char *colon = strrchr(listen_spec, ':');
    if (!colon || colon == listen_spec || !colon[1]) {
        snprintf(why, why_size, "--listen %s: expected ADDR:PORT, e.g. 127.0.0.1:8780",
                 listen_spec);
        return -1;
    }
    size_t hl = (size_t)(colon - listen_spec);
    const char *hs = listen_spec;
    if (hs[0] == '[' && hl >= 2 && hs[hl - 1] == ']') hs++, hl -= 2;
    if (hl >= sizeof host) {
        snprintf(why, why_size, "--listen: address too long");
        return -1;
    }
    memcpy(host, hs, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        snprintf(why, why_size, "--listen %s: the port must be a number from 0 to 65535",
                 listen_spec);
        return -1;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (strcmp(host, "localhost") != 0)
        hints.ai_flags |= AI_NUMERICHOST;
    else
        hints.ai_family = AF_INET; /* localhost: 127.0.0.1, whatever /etc/hosts says */
    int gai =
        getaddrinfo(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, colon + 1, &hints, &ai);
    if (gai != 0) {
        snprintf(why, why_size, "--listen %s: not a numeric address (%s)", listen_spec,
                 gai_strerror(gai));
        return -1;
    }
    if (!is_loopback(ai->ai_addr) && !allow_remote) {
        snprintf(why, why_size,
                 "--listen %s: not a loopback address; this server is for one machine. "
                 "Pass --allow-remote to listen there anyway",
                 listen_spec);
        freeaddrinfo(ai);
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        snprintf(why, why_size, "--listen %s: %s", listen_spec, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    char addr[INET6_ADDRSTRLEN];
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
        snprintf(shown, shown_size, "[%s]:%u", addr, ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
        snprintf(shown, shown_size, "%s:%u", addr, ntohs(s4->sin_port));
    }
    return fd;
}

int http_start(const char *listen_spec, int allow_remote, const char *const *tokens, size_t ntokens,
               char *why, size_t why_size)
{
    char shown[300];
    int fd = open_listener(listen_spec, allow_remote, shown, sizeof shown, why, why_size);
    if (fd < 0) return -1;
    H.tokens = xcalloc(ntokens, sizeof *H.tokens);
    H.scopes = xcalloc(ntokens, sizeof *H.scopes);
    for (size_t i = 0; i < ntokens; i++) {
        H.tokens[i] = xstrdup(tokens[i]);
        store_token_scope(tokens[i], H.scopes[i]);
    }
    H.ntokens = ntokens;

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned pool = cpus < 2 ? 2 : cpus > 8 ? 8 : (unsigned)cpus;
    H.listen_fd = fd;
    H.daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO,
        0, on_accept, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
        pool, MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)g_config.max_conns_per_client, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!H.daemon) {
        snprintf(why, why_size, "libmicrohttpd did not start on %s", shown);
        close(fd);
        H.listen_fd = -1;
        return -1;
    }
    printf("listening on http://%s\n", shown);
    fflush(stdout);
    return 0;
}

int http_stop(int64_t grace_ms)
{
    if (!H.daemon) return 0;
    /* Stop accepting; requests in flight and deferred jobs get grace_ms to
     * finish, and no more: a client that sends half a body and waits could
     * otherwise hold the stop off for as long as libmicrohttpd's timeout.
     * New connections are closed as they come (on_accept); the listening
     * socket itself goes with MHD_stop_daemon, which closes it. */
    atomic_store(&H.refusing, 1);
    pthread_mutex_lock(&H.mu);
    H.stopping = 1;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    int64_t ns = (int64_t)deadline.tv_nsec + (grace_ms % 1000) * 1000000;
    deadline.tv_sec += (time_t)(grace_ms / 1000) + (time_t)(ns / 1000000000);
    deadline.tv_nsec = (long)(ns % 1000000000);
    while ((H.in_flight > 0 || H.deferred > 0) &&
           pthread_cond_timedwait(&H.idle, &H.mu, &deadline) != ETIMEDOUT) {
    }
    long jobs = H.deferred;
    if (jobs == 0) H.closing = 1;
    pthread_mutex_unlock(&H.mu);
    /* A job still running holds a suspended connection, which
     * MHD_stop_daemon must never meet (it aborts): leave the daemon, and
     * everything the job uses, to the end of the process. */
    if (jobs > 0) return -1;
    MHD_stop_daemon(H.daemon); /* closes idle and stalled connections, and the listener */
    H.daemon = NULL;
    H.listen_fd = -1;
    for (size_t i = 0; i < H.ntokens; i++) {
        wipe(H.tokens[i], strlen(H.tokens[i]));
        free(H.tokens[i]);
    }
    free(H.tokens);
    free(H.scopes);
    H.tokens = NULL;
    H.scopes = NULL;
    return 0;
}
