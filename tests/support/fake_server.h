/* A scriptable fake Litterbox on loopback, for the tests.
 *
 * Each test queues the responses it wants, in order; the server answers the
 * next request with the next response and records every request it got.
 * It runs on its own thread in the test's process, speaks HTTP/1.1 with
 * keep-alive, and listens on 127.0.0.1 on a free port. */
#ifndef LB_FAKE_SERVER_H
#define LB_FAKE_SERVER_H

#include <stddef.h>

typedef struct fs_response {
    int status;           /* HTTP status to send */
    const char *headers;  /* extra "Name: value\r\n" lines, or NULL; a
                             Content-Type line here replaces the default
                             application/json */
    const char *body;     /* NULL: empty body */
    size_t body_len;      /* 0: strlen(body) */
    int delay_ms;         /* wait this long before answering */
    int drop;             /* close the connection without answering */
    int truncate;         /* announce the full length, send half, close */
    int chunk_size;       /* > 0: send the body chunked in pieces of this size */
    const char *match;    /* non-NULL: answers only a request whose target or
                             header lines contain this text (for calls that
                             arrive in any order); NULL answers any request */
} fs_response;

typedef struct fs_request {
    char method[16];
    char target[2048];    /* the request target as sent: path and query */
    char *head;           /* the header lines as received, NUL-terminated */
    char *body;           /* NUL-terminated; body_len bytes */
    size_t body_len;
    int has_body;         /* a Content-Length or chunked body was sent */
} fs_request;

typedef struct fake_server fake_server;

fake_server *fs_start(void);        /* NULL on failure (prints why) */
void fs_stop(fake_server *fs);      /* joins the thread, frees everything */
const char *fs_url(fake_server *fs);/* "http://127.0.0.1:PORT", owned by fs */
int fs_port(fake_server *fs);

/* Queue a response (copied). A request takes the first queued response
 * whose match fits it. With an empty queue the server answers 599
 * with a body saying so, which no test expects. */
void fs_push(fake_server *fs, const fs_response *r);
/* Forget queued responses and recorded requests. */
void fs_reset(fake_server *fs);

size_t fs_request_count(fake_server *fs);
/* The i-th recorded request (0 first); valid until fs_reset/fs_stop. */
const fs_request *fs_request_at(fake_server *fs, size_t i);
/* A header's value (case-insensitive name, first occurrence, trimmed), or
 * NULL. Points into storage owned by the server. */
const char *fs_header(const fs_request *req, const char *name);
/* Connections accepted since start or the last fs_reset. */
size_t fs_connection_count(fake_server *fs);

/* Additions for the tests' convenience. */
/* Queue a plain response: status and body (NULL: empty), nothing else. */
void fs_push_json(fake_server *fs, int status, const char *body);
/* The most recent recorded request, or NULL when none. */
const fs_request *fs_last_request(fake_server *fs);
/* How many times a header (case-insensitive) occurs in the request. */
size_t fs_header_count(const fs_request *req, const char *name);
/* Responses queued and not yet used. */
size_t fs_pending(fake_server *fs);

#endif
