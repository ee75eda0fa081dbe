/* The scriptable fake Litterbox: see fake_server.h.
 *
 * One accept thread, one thread per connection. Every blocking wait either
 * polls a wake pipe (accept, delays) or is woken by shutdown() of its socket
 * (recv, send), so fs_stop never hangs. Sockets are closed only under the
 * lock, so fs_stop never shuts down a descriptor number that was reused. */
#define _GNU_SOURCE 1 /* strcasestr */
#include "fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define FS_MAX_HEAD (1024 * 1024)

typedef struct fs_header_kv {
    char *name, *value;
} fs_header_kv;

/* A recorded request: the public part first, so that the pointers handed
 * out can be turned back into the whole record. */
typedef struct fs_record {
    fs_request pub;
    fs_header_kv *headers;
    size_t header_count;
} fs_record;

typedef struct fs_queued {
    fs_response r; /* headers and body point at the copies below */
    char *headers;
    char *body;
    char *match;
    struct fs_queued *next;
} fs_queued;

typedef struct fs_conn {
    fake_server *fs;
    int fd; /* -1 once closed; changed only under fs->lock */
    int done;
    pthread_t thread;
    struct fs_conn *next;
    char *buf; /* received, not yet consumed bytes */
    size_t len, cap;
} fs_conn;

struct fake_server {
    int listen_fd;
    int wake[2]; /* written once by fs_stop: readable forever after */
    int port;
    char url[64];
    pthread_t accept_thread;
    pthread_mutex_t lock;
    int stopping;
    fs_queued *queue_head, *queue_tail;
    size_t queued;
    fs_record **records;
    size_t record_count, record_cap;
    size_t connections;
    fs_conn *conns;
};

static void fs_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fake_server: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fs_log("out of memory");
        abort();
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void record_free(fs_record *rec)
{
    if (!rec)
        return;
    for (size_t i = 0; i < rec->header_count; i++) {
        free(rec->headers[i].name);
        free(rec->headers[i].value);
    }
    free(rec->headers);
    free(rec->pub.head);
    free(rec->pub.body);
    free(rec);
}

static void queued_free(fs_queued *q)
{
    if (!q)
        return;
    free(q->headers);
    free(q->body);
    free(q->match);
    free(q);
}

/* ---- socket helpers ---- */

static void conn_close(fs_conn *c)
{
    pthread_mutex_lock(&c->fs->lock);
    if (c->fd >= 0) {
        shutdown(c->fd, SHUT_RDWR);
        close(c->fd);
        c->fd = -1;
    }
    pthread_mutex_unlock(&c->fs->lock);
}

/* Send everything, or return -1 when the peer is gone or we are stopping. */
static int send_all(fs_conn *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_str(fs_conn *c, const char *s) { return send_all(c, s, strlen(s)); }

/* Read more bytes into c->buf; 0 on success, -1 on EOF/error. */
static int conn_fill(fs_conn *c)
{
    if (c->cap - c->len < 65536) {
        size_t ncap = c->cap ? c->cap * 2 : 131072;
        while (ncap - c->len < 65536)
            ncap *= 2;
        char *nb = realloc(c->buf, ncap);
        if (!nb)
            return -1;
        c->buf = nb;
        c->cap = ncap;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
        return 0;
    }
}

static void conn_consume(fs_conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Index just past the first CRLF at or after from, or 0 when none yet. */
static size_t find_crlf(const fs_conn *c, size_t from)
{
    for (size_t i = from; i + 1 < c->len; i++)
        if (c->buf[i] == '\r' && c->buf[i + 1] == '\n')
            return i + 2;
    return 0;
}

/* Wait ms milliseconds unless fs_stop wakes us first; 1 when stopping. */
static int stoppable_sleep(fake_server *fs, int ms)
{
    struct pollfd p = {.fd = fs->wake[0], .events = POLLIN};
    int r = poll(&p, 1, ms);
    return r > 0;
}

/* ---- request parsing ---- */

static const char *record_header(const fs_record *rec, const char *name)
{
    for (size_t i = 0; i < rec->header_count; i++)
        if (strcasecmp(rec->headers[i].name, name) == 0)
            return rec->headers[i].value;
    return NULL;
}

static void parse_headers(fs_record *rec)
{
    const char *p = rec->pub.head;
    size_t cap = 0;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            eol = p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            const char *v = colon + 1;
            const char *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (rec->header_count == cap) {
                cap = cap ? cap * 2 : 16;
                fs_header_kv *nh = realloc(rec->headers, cap * sizeof *nh);
                if (!nh)
                    abort();
                rec->headers = nh;
            }
            rec->headers[rec->header_count].name = xstrndup(p, (size_t)(colon - p));
            rec->headers[rec->header_count].value = xstrndup(v, (size_t)(ve - v));
            rec->header_count++;
        }
        p = *eol ? eol + 2 : eol;
    }
}

/* Append to a growing body. */
static void body_append(fs_record *rec, size_t *cap, const char *data, size_t n)
{
    if (rec->pub.body_len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 1024;
        while (ncap < rec->pub.body_len + n + 1)
            ncap *= 2;
        char *nb = realloc(rec->pub.body, ncap);
        if (!nb)
            abort();
        rec->pub.body = nb;
        *cap = ncap;
    }
    memcpy(rec->pub.body + rec->pub.body_len, data, n);
    rec->pub.body_len += n;
    rec->pub.body[rec->pub.body_len] = '\0';
}

/* Read one request off the connection. NULL on EOF or a malformed request
 * (then the connection is closed). */
static fs_record *read_request(fs_conn *c)
{
    size_t head_end = 0;
    for (;;) {
        for (size_t i = 0; i + 3 < c->len; i++) {
            if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0) {
                head_end = i + 4;
                break;
            }
        }
        if (head_end)
            break;
        if (c->len > 0 && (unsigned char)c->buf[0] == 0x16) {
            /* A TLS ClientHello: this server speaks plain HTTP only. Answer
             * in plain text, as a misconfigured server would, so that the
             * client fails its handshake at once instead of waiting. */
            send_str(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n");
            return NULL;
        }
        if (c->len > FS_MAX_HEAD) {
            fs_log("request head over %d bytes", FS_MAX_HEAD);
            return NULL;
        }
        if (conn_fill(c) < 0)
            return NULL;
    }

    fs_record *rec = xmalloc(sizeof *rec);
    memset(rec, 0, sizeof *rec);
    size_t line_end = find_crlf(c, 0);
    /* request line: METHOD SP TARGET SP VERSION */
    const char *line = c->buf;
    size_t line_len = line_end - 2;
    const char *sp1 = memchr(line, ' ', line_len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', line_len - (size_t)(sp1 + 1 - line)) : NULL;
    if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof rec->pub.method ||
        (size_t)(sp2 - sp1 - 1) >= sizeof rec->pub.target) {
        fs_log("malformed request line: %.*s", (int)line_len, line);
        free(rec);
        return NULL;
    }
    memcpy(rec->pub.method, line, (size_t)(sp1 - line));
    memcpy(rec->pub.target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    rec->pub.head = xstrndup(c->buf + line_end, head_end - 2 - line_end);
    parse_headers(rec);
    rec->pub.body = xstrndup("", 0);
    conn_consume(c, head_end);

    const char *te = record_header(rec, "Transfer-Encoding");
    const char *cl = record_header(rec, "Content-Length");
    const char *expect = record_header(rec, "Expect");
    int chunked = te && strcasestr(te, "chunked") != NULL;
    if ((chunked || cl) && expect && strcasecmp(expect, "100-continue") == 0) {
        if (send_str(c, "HTTP/1.1 100 Continue\r\n\r\n") < 0) {
            record_free(rec);
            return NULL;
        }
    }
    size_t cap = 1;
    if (chunked) {
        rec->pub.has_body = 1;
        for (;;) {
            size_t e;
            while ((e = find_crlf(c, 0)) == 0)
                if (conn_fill(c) < 0)
                    goto fail;
            unsigned long long size = strtoull(c->buf, NULL, 16);
            conn_consume(c, e);
            if (size == 0) {
                /* trailers, up to an empty line */
                for (;;) {
                    while ((e = find_crlf(c, 0)) == 0)
                        if (conn_fill(c) < 0)
                            goto fail;
                    conn_consume(c, e);
                    if (e == 2)
                        break;
                }
                break;
            }
            while (c->len < size + 2)
                if (conn_fill(c) < 0)
                    goto fail;
            body_append(rec, &cap, c->buf, (size_t)size);
            conn_consume(c, (size_t)size + 2);
        }
    } else if (cl) {
        rec->pub.has_body = 1;
        unsigned long long want = strtoull(cl, NULL, 10);
        while (rec->pub.body_len < want) {
            if (c->len == 0 && conn_fill(c) < 0)
                goto fail;
            size_t n = c->len;
            if (n > want - rec->pub.body_len)
                n = (size_t)(want - rec->pub.body_len);
            body_append(rec, &cap, c->buf, n);
            conn_consume(c, n);
        }
    }
    return rec;
fail:
    record_free(rec);
    return NULL;
}

/* ---- responses ---- */

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 418: return "I'm a teapot";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

/* 1 when the extra header lines contain a header of this name. */
static int has_header_line(const char *lines, const char *name)
{
    if (!lines)
        return 0;
    size_t n = strlen(name);
    const char *p = lines;
    while (*p) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':')
            return 1;
        const char *eol = strchr(p, '\n');
        if (!eol)
            break;
        p = eol + 1;
    }
    return 0;
}

static int header_line_contains(const char *lines, const char *name, const char *needle)
{
    if (!lines)
        return 0;
    size_t n = strlen(name);
    const char *p = lines;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            char *line = xstrndup(p, ll);
            int found = strcasestr(line, needle) != NULL;
            free(line);
            if (found)
                return 1;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return 0;
}

/* Answer one request; returns 1 to keep the connection, 0 to close it. */
static int send_response(fs_conn *c, const fs_response *r, int client_wants_close)
{
    fake_server *fs = c->fs;
    if (r->delay_ms > 0 && stoppable_sleep(fs, r->delay_ms))
        return 0;
    if (r->drop)
        return 0;

    size_t body_len = r->body ? r->body_len : 0;
    int no_body = r->status == 204 || r->status == 304 || (r->status >= 100 && r->status < 200);
    int chunked = r->chunk_size > 0 && !no_body;
    int close_after = client_wants_close || r->truncate ||
                      header_line_contains(r->headers, "Connection", "close");

    size_t extra = r->headers ? strlen(r->headers) : 0;
    size_t hcap = extra + 512;
    char *head = xmalloc(hcap);
    int n = snprintf(head, hcap, "HTTP/1.1 %d %s\r\n", r->status, reason(r->status));
    size_t hl = (size_t)n;
    if (r->headers && extra) {
        memcpy(head + hl, r->headers, extra);
        hl += extra;
        if (extra < 2 || r->headers[extra - 2] != '\r' || r->headers[extra - 1] != '\n') {
            if (head[hl - 1] == '\n')
                hl--;
            memcpy(head + hl, "\r\n", 2);
            hl += 2;
        }
    }
    if (!no_body && !has_header_line(r->headers, "Content-Type"))
        hl += (size_t)snprintf(head + hl, hcap - hl, "Content-Type: application/json\r\n");
    if (chunked)
        hl += (size_t)snprintf(head + hl, hcap - hl, "Transfer-Encoding: chunked\r\n");
    else if (!no_body && !has_header_line(r->headers, "Content-Length"))
        hl += (size_t)snprintf(head + hl, hcap - hl, "Content-Length: %zu\r\n", body_len);
    if (close_after && !has_header_line(r->headers, "Connection"))
        hl += (size_t)snprintf(head + hl, hcap - hl, "Connection: close\r\n");
    hl += (size_t)snprintf(head + hl, hcap - hl, "\r\n");
    int rc = send_all(c, head, hl);
    free(head);
    if (rc < 0)
        return 0;
    if (no_body)
        return !close_after;

    size_t to_send = r->truncate ? body_len / 2 : body_len;
    if (chunked) {
        size_t off = 0;
        while (off < to_send) {
            size_t piece = (size_t)r->chunk_size;
            if (piece > to_send - off)
                piece = to_send - off;
            char sz[32];
            snprintf(sz, sizeof sz, "%zx\r\n", piece);
            if (send_str(c, sz) < 0 || send_all(c, r->body + off, piece) < 0 ||
                send_str(c, "\r\n") < 0)
                return 0;
            off += piece;
        }
        if (r->truncate)
            return 0;
        if (send_str(c, "0\r\n\r\n") < 0)
            return 0;
    } else {
        if (send_all(c, r->body, to_send) < 0)
            return 0;
        if (r->truncate)
            return 0;
    }
    return !close_after;
}

static void *conn_main(void *arg)
{
    fs_conn *c = arg;
    fake_server *fs = c->fs;
    for (;;) {
        fs_record *rec = read_request(c);
        if (!rec)
            break;
        const char *conn_hdr = record_header(rec, "Connection");
        int wants_close = conn_hdr && strcasecmp(conn_hdr, "close") == 0;

        fs_response r;
        fs_queued *q = NULL;
        pthread_mutex_lock(&fs->lock);
        if (fs->record_count == fs->record_cap) {
            size_t ncap = fs->record_cap ? fs->record_cap * 2 : 16;
            fs_record **nr = realloc(fs->records, ncap * sizeof *nr);
            if (!nr)
                abort();
            fs->records = nr;
            fs->record_cap = ncap;
        }
        fs->records[fs->record_count++] = rec;
        fs_queued *prev = NULL;
        for (q = fs->queue_head; q; prev = q, q = q->next)
            if (!q->match || strstr(rec->pub.target, q->match) ||
                (rec->pub.head && strstr(rec->pub.head, q->match)))
                break;
        if (q) {
            if (prev)
                prev->next = q->next;
            else
                fs->queue_head = q->next;
            if (fs->queue_tail == q)
                fs->queue_tail = prev;
            fs->queued--;
        }
        pthread_mutex_unlock(&fs->lock);

        static const char empty_body[] = "{\"detail\":\"fake server: no response queued\"}";
        if (q) {
            r = q->r;
        } else {
            fs_log("no response queued for %s %s: answering 599", rec->pub.method,
                   rec->pub.target);
            memset(&r, 0, sizeof r);
            r.status = 599;
            r.body = empty_body;
            r.body_len = sizeof empty_body - 1;
        }
        int keep = send_response(c, &r, wants_close);
        queued_free(q);
        if (!keep)
            break;
    }
    conn_close(c);
    free(c->buf);
    c->buf = NULL;
    pthread_mutex_lock(&fs->lock);
    c->done = 1;
    pthread_mutex_unlock(&fs->lock);
    return NULL;
}

/* Join and free finished connection threads. */
static void reap_conns(fake_server *fs, int all)
{
    for (;;) {
        fs_conn *victim = NULL;
        pthread_mutex_lock(&fs->lock);
        for (fs_conn **pp = &fs->conns; *pp; pp = &(*pp)->next) {
            if ((*pp)->done || all) {
                victim = *pp;
                *pp = victim->next;
                break;
            }
        }
        pthread_mutex_unlock(&fs->lock);
        if (!victim)
            return;
        pthread_join(victim->thread, NULL);
        free(victim);
    }
}

static void *accept_main(void *arg)
{
    fake_server *fs = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = fs->listen_fd, .events = POLLIN},
                              {.fd = fs->wake[0], .events = POLLIN}};
        int r = poll(p, 2, -1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fs_log("poll: %s", strerror(errno));
            break;
        }
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept(fs->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ||
                errno == ECONNABORTED)
                continue;
            fs_log("accept: %s", strerror(errno));
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        reap_conns(fs, 0);
        fs_conn *c = xmalloc(sizeof *c);
        memset(c, 0, sizeof *c);
        c->fs = fs;
        c->fd = fd;
        pthread_mutex_lock(&fs->lock);
        if (fs->stopping) {
            pthread_mutex_unlock(&fs->lock);
            close(fd);
            free(c);
            break;
        }
        fs->connections++;
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
            fs->connections--;
            pthread_mutex_unlock(&fs->lock);
            fs_log("pthread_create failed");
            close(fd);
            free(c);
            continue;
        }
        c->next = fs->conns;
        fs->conns = c;
        pthread_mutex_unlock(&fs->lock);
    }
    return NULL;
}

/* ---- public API ---- */

fake_server *fs_start(void)
{
    fake_server *fs = xmalloc(sizeof *fs);
    memset(fs, 0, sizeof *fs);
    fs->listen_fd = -1;
    fs->wake[0] = fs->wake[1] = -1;
    if (pipe(fs->wake) != 0) {
        fs_log("pipe: %s", strerror(errno));
        goto fail;
    }
    fs->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fs->listen_fd < 0) {
        fs_log("socket: %s", strerror(errno));
        goto fail;
    }
    int one = 1;
    setsockopt(fs->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(fs->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fs_log("bind: %s", strerror(errno));
        goto fail;
    }
    if (listen(fs->listen_fd, 128) != 0) {
        fs_log("listen: %s", strerror(errno));
        goto fail;
    }
    socklen_t sl = sizeof sa;
    if (getsockname(fs->listen_fd, (struct sockaddr *)&sa, &sl) != 0) {
        fs_log("getsockname: %s", strerror(errno));
        goto fail;
    }
    fs->port = ntohs(sa.sin_port);
    snprintf(fs->url, sizeof fs->url, "http://127.0.0.1:%d", fs->port);
    int fl = fcntl(fs->listen_fd, F_GETFL);
    fcntl(fs->listen_fd, F_SETFL, fl | O_NONBLOCK);
    pthread_mutex_init(&fs->lock, NULL);
    if (pthread_create(&fs->accept_thread, NULL, accept_main, fs) != 0) {
        fs_log("pthread_create failed");
        pthread_mutex_destroy(&fs->lock);
        goto fail;
    }
    return fs;
fail:
    if (fs->listen_fd >= 0)
        close(fs->listen_fd);
    if (fs->wake[0] >= 0) {
        close(fs->wake[0]);
        close(fs->wake[1]);
    }
    free(fs);
    return NULL;
}

static void clear_locked(fake_server *fs)
{
    while (fs->queue_head) {
        fs_queued *q = fs->queue_head;
        fs->queue_head = q->next;
        queued_free(q);
    }
    fs->queue_tail = NULL;
    fs->queued = 0;
    for (size_t i = 0; i < fs->record_count; i++)
        record_free(fs->records[i]);
    fs->record_count = 0;
    fs->connections = 0;
}

void fs_stop(fake_server *fs)
{
    if (!fs)
        return;
    pthread_mutex_lock(&fs->lock);
    fs->stopping = 1;
    pthread_mutex_unlock(&fs->lock);
    ssize_t w;
    do
        w = write(fs->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(fs->accept_thread, NULL);
    /* Wake every connection thread blocked in recv or send. */
    pthread_mutex_lock(&fs->lock);
    for (fs_conn *c = fs->conns; c; c = c->next)
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&fs->lock);
    reap_conns(fs, 1);
    clear_locked(fs);
    free(fs->records);
    close(fs->listen_fd);
    close(fs->wake[0]);
    close(fs->wake[1]);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}

const char *fs_url(fake_server *fs) { return fs->url; }
int fs_port(fake_server *fs) { return fs->port; }

void fs_push(fake_server *fs, const fs_response *r)
{
    fs_queued *q = xmalloc(sizeof *q);
    memset(q, 0, sizeof *q);
    q->r = *r;
    q->headers = r->headers ? xstrndup(r->headers, strlen(r->headers)) : NULL;
    size_t bl = r->body ? (r->body_len ? r->body_len : strlen(r->body)) : 0;
    q->body = r->body ? xstrndup(r->body, bl) : NULL;
    q->match = r->match ? xstrndup(r->match, strlen(r->match)) : NULL;
    q->r.headers = q->headers;
    q->r.body = q->body;
    q->r.match = q->match;
    q->r.body_len = bl;
    pthread_mutex_lock(&fs->lock);
    if (fs->queue_tail)
        fs->queue_tail->next = q;
    else
        fs->queue_head = q;
    fs->queue_tail = q;
    fs->queued++;
    pthread_mutex_unlock(&fs->lock);
}

void fs_push_json(fake_server *fs, int status, const char *body)
{
    fs_response r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.body = body;
    fs_push(fs, &r);
}

void fs_reset(fake_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    clear_locked(fs);
    pthread_mutex_unlock(&fs->lock);
}

size_t fs_request_count(fake_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    size_t n = fs->record_count;
    pthread_mutex_unlock(&fs->lock);
    return n;
}

const fs_request *fs_request_at(fake_server *fs, size_t i)
{
    const fs_request *r = NULL;
    pthread_mutex_lock(&fs->lock);
    if (i < fs->record_count)
        r = &fs->records[i]->pub;
    pthread_mutex_unlock(&fs->lock);
    return r;
}

const fs_request *fs_last_request(fake_server *fs)
{
    const fs_request *r = NULL;
    pthread_mutex_lock(&fs->lock);
    if (fs->record_count)
        r = &fs->records[fs->record_count - 1]->pub;
    pthread_mutex_unlock(&fs->lock);
    return r;
}

const char *fs_header(const fs_request *req, const char *name)
{
    if (!req)
        return NULL;
    return record_header((const fs_record *)(const void *)req, name);
}

size_t fs_header_count(const fs_request *req, const char *name)
{
    if (!req)
        return 0;
    const fs_record *rec = (const fs_record *)(const void *)req;
    size_t n = 0;
    for (size_t i = 0; i < rec->header_count; i++)
        if (strcasecmp(rec->headers[i].name, name) == 0)
            n++;
    return n;
}

size_t fs_connection_count(fake_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    size_t n = fs->connections;
    pthread_mutex_unlock(&fs->lock);
    return n;
}

size_t fs_pending(fake_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    size_t n = fs->queued;
    pthread_mutex_unlock(&fs->lock);
    return n;
}
