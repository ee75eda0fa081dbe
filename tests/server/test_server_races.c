/* The lifecycle under races, driven step by step: the server's pause points
 * (LITTERBOX_SERVER_TEST_HOOKS, server/test_hook.c) hold a create or a
 * teardown at a chosen point while the test sends what races it, then let
 * it go. Nothing here sleeps to make a race happen.
 *
 *   - the reaper claims an expired host: a renew, a delete and a second
 *     claim all get 409 while it tears down, and the host goes once;
 *   - two deletes: one tears down, the other gets 409;
 *   - creates beyond --max-pending get 503 with Retry-After, at once;
 *   - SIGTERM with a create held: the server exits 0 within its grace, and
 *     the next start shows that host as `error`;
 *   - SIGTERM with a client holding half a body: the server still exits;
 *   - a teardown that fails leaves the host `error`, out of --max-hosts,
 *     and the reaper removes it later. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define WAIT_MS 60000 /* for a pause point to be reached; generous for sanitizers */

typedef struct hooks {
    char dir[300];
    int fd[2]; /* read ends of "create" and "destroy" */
    int go[2]; /* "create.go", "destroy.go", held open: a byte releases a thread */
} hooks;

static const char *const points[] = {"create", "destroy"};

/* Make the FIFOs of the points asked for (mask: 1 create, 2 destroy) and
 * open their read ends, so that a paused thread can write at once. */
static int hooks_init(hooks *h, const server *s, int mask)
{
    snprintf(h->dir, sizeof h->dir, "%s/hooks", s->dir);
    if (mkdir(h->dir, 0700) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        h->fd[i] = h->go[i] = -1;
        if (!(mask & (1 << i))) continue;
        char path[400];
        snprintf(path, sizeof path, "%s/%s", h->dir, points[i]);
        if (mkfifo(path, 0600) != 0) return -1;
        snprintf(path, sizeof path, "%s/%s.go", h->dir, points[i]);
        if (mkfifo(path, 0600) != 0) return -1;
        /* Read and write, so that opening it never waits for the server. */
        h->go[i] = open(path, O_RDWR | O_CLOEXEC);
        snprintf(path, sizeof path, "%s/%s", h->dir, points[i]);
        h->fd[i] = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (h->fd[i] < 0 || h->go[i] < 0) return -1;
    }
    setenv("LITTERBOX_SERVER_TEST_HOOKS", h->dir, 1);
    return 0;
}

static void hooks_close(hooks *h)
{
    unsetenv("LITTERBOX_SERVER_TEST_HOOKS");
    for (int i = 0; i < 2; i++) {
        if (h->fd[i] >= 0) close(h->fd[i]);
        if (h->go[i] >= 0) close(h->go[i]);
    }
}

/* Wait until a thread pauses at point i; its host id into id. 0, or -1 when
 * none came within WAIT_MS. Reads one line at a time. */
static int hooks_wait(hooks *h, int i, char id[37])
{
    char line[64];
    size_t len = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = WAIT_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) return -1;
        struct pollfd p = {h->fd[i], POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0) continue;
        ssize_t got = read(h->fd[i], line + len, 1);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got <= 0) {
            /* The writer closed before its line was read: only at EOF with
             * nothing buffered; poll again. */
            if (got == 0) {
                struct pollfd q = {h->fd[i], POLLIN, 0};
                poll(&q, 1, 50); /* POLLHUP stays up until a new writer comes */
            }
            continue;
        }
        if (line[len] == '\n') {
            line[len] = '\0';
            snprintf(id, 37, "%.36s", line);
            return 0;
        }
        if (++len >= sizeof line - 1) return -1;
    }
}

/* Let n threads paused at point i go on. */
static void hooks_release(hooks *h, int i, int n)
{
    for (int k = 0; k < n; k++)
        CHECK(write(h->go[i], "g", 1) == 1);
}

/* Stop pausing at point i (threads already paused still need a release). */
static void hooks_disarm(hooks *h, int i)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", h->dir, points[i]);
    unlink(path);
}

/* ---- requests ---------------------------------------------------------- */

typedef struct call {
    const server *s;
    const char *method;
    char path[128];
    const char *body;
    raw_resp resp;
    pthread_t thread;
} call;

static void *call_main(void *arg)
{
    call *c = arg;
    raw_request(c->s, c->method, c->path, TEST_TOKEN, NULL, c->body, c->body ? strlen(c->body) : 0,
                &c->resp);
    return NULL;
}

static void call_start(call *c, const server *s, const char *method, const char *path,
                       const char *body)
{
    memset(c, 0, sizeof *c);
    c->s = s;
    c->method = method;
    snprintf(c->path, sizeof c->path, "%s", path);
    c->body = body;
    pthread_create(&c->thread, NULL, call_main, c);
}

static int call_finish(call *c)
{
    pthread_join(c->thread, NULL);
    return c->resp.status;
}

static int request_status(const server *s, const char *method, const char *path, const char *body,
                          const char *want)
{
    raw_resp r;
    if (raw_request(s, method, path, TEST_TOKEN, NULL, body, body ? strlen(body) : 0, &r) != 0)
        return -1;
    if (want) CHECK_CONTAINS(r.body, want);
    int st = r.status;
    raw_resp_free(&r);
    return st;
}

static char *host_id_of(const char *body, char id[37])
{
    const char *at = body ? strstr(body, "\"id\":\"") : NULL;
    if (!at) return NULL;
    snprintf(id, 37, "%.36s", at + 6);
    return id;
}

/* Poll GET until the host is gone (404), at most WAIT_MS. */
static int wait_gone(const server *s, const char *path)
{
    for (int i = 0; i < WAIT_MS / 50; i++) {
        if (request_status(s, "GET", path, NULL, NULL) == 404) return 1;
        sleep_ms(50);
    }
    return 0;
}

static int start(server *s, hooks *h, int mask, const char *const *args)
{
    if (server_init(s) != 0 || hooks_init(h, s, mask) != 0) return -1;
    return server_start(s, args);
}

/* ---- the races --------------------------------------------------------- */

static void test_reaper_claim(void)
{
    check_set_case("the reaper's claim: renew, delete and a second claim get 409");
    server s;
    hooks h;
    const char *args[] = {"--reap-interval", "0.1s", NULL};
    if (start(&s, &h, 2, args) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&s);
        return;
    }
    /* A lease of two seconds: the reaper claims it soon after. */
    char body[128], ts[32], id[37] = "", paused[37] = "", path[96], renew[128];
    time_t soon = time(NULL) + 2;
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&soon));
    snprintf(body, sizeof body, "{\"expires_at\":\"%s\"}", ts);
    raw_resp r;
    CHECK_EQ_INT(raw_request(&s, "POST", "/hosts", TEST_TOKEN, NULL, body, strlen(body), &r), 0);
    CHECK_EQ_INT(r.status, 201);
    host_id_of(r.body, id);
    raw_resp_free(&r);
    snprintf(path, sizeof path, "/hosts/%s", id);
    snprintf(renew, sizeof renew, "/hosts/%s/renew", id);

    CHECK_EQ_INT(hooks_wait(&h, 1, paused), 0);
    CHECK_EQ_STR(paused, id);
    CHECK_EQ_INT(request_status(&s, "GET", path, NULL, "\"status\":\"deleting\""), 200);
    CHECK_EQ_INT(request_status(&s, "POST", renew, "{}", "HOST_STATE"), 409);
    CHECK_EQ_INT(request_status(&s, "DELETE", path, NULL, "being deleted"), 409);
    hooks_disarm(&h, 1);
    hooks_release(&h, 1, 1);
    CHECK(wait_gone(&s, path));
    CHECK_EQ_INT(server_stop(&s), 0);
    char *log = server_log(&s);
    CHECK_CONTAINS(log, "expired and was deleted");
    /* Torn down once: the reaper's line, and no teardown failure. */
    CHECK_LACKS(log, "teardown failed");
    free(log);
    hooks_close(&h);
    server_cleanup(&s);
}

static void test_two_deletes(void)
{
    check_set_case("two deletes of one host: one tears down, the other gets 409");
    server s;
    hooks h;
    const char *args[] = {NULL};
    if (start(&s, &h, 2, args) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&s);
        return;
    }
    raw_resp r;
    char id[37] = "", paused[37] = "", path[96], renew[128];
    CHECK_EQ_INT(
        raw_request(&s, "POST", "/hosts", TEST_TOKEN, NULL, "{\"expires_at\":null}", 19, &r), 0);
    host_id_of(r.body, id);
    raw_resp_free(&r);
    snprintf(path, sizeof path, "/hosts/%s", id);
    snprintf(renew, sizeof renew, "/hosts/%s/renew", id);
    call first;
    call_start(&first, &s, "DELETE", path, NULL);
    CHECK_EQ_INT(hooks_wait(&h, 1, paused), 0);
    CHECK_EQ_STR(paused, id);
    CHECK_EQ_INT(request_status(&s, "DELETE", path, NULL, "being deleted"), 409);
    CHECK_EQ_INT(request_status(&s, "POST", renew, NULL, "HOST_STATE"), 409);
    /* While a teardown is held, the server answers everything else. */
    CHECK_EQ_INT(request_status(&s, "GET", "/healthz", NULL, NULL), 200);
    hooks_disarm(&h, 1);
    hooks_release(&h, 1, 1);
    CHECK_EQ_INT(call_finish(&first), 204);
    raw_resp_free(&first.resp);
    CHECK_EQ_INT(request_status(&s, "GET", path, NULL, NULL), 404);
    CHECK_EQ_INT(server_stop(&s), 0);
    hooks_close(&h);
    server_cleanup(&s);
}

static void test_pending_limit(void)
{
    check_set_case("creates beyond --max-pending: 503 with Retry-After, at once");
    server s;
    hooks h;
    const char *args[] = {"--max-pending", "2", NULL};
    if (start(&s, &h, 1, args) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&s);
        return;
    }
    call held[2];
    char paused[37];
    for (int i = 0; i < 2; i++) {
        call_start(&held[i], &s, "POST", "/hosts", "{}");
        CHECK_EQ_INT(hooks_wait(&h, 0, paused), 0);
    }
    raw_resp r;
    CHECK_EQ_INT(raw_request(&s, "POST", "/hosts", TEST_TOKEN, NULL, "{}", 2, &r), 0);
    CHECK_EQ_INT(r.status, 503);
    CHECK_CONTAINS(r.head, "Retry-After: 1");
    CHECK_CONTAINS(r.body, "--max-pending");
    raw_resp_free(&r);
    CHECK_EQ_INT(request_status(&s, "GET", "/healthz", NULL, NULL), 200);
    hooks_disarm(&h, 0);
    hooks_release(&h, 0, 2);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(call_finish(&held[i]), 201);
        raw_resp_free(&held[i].resp);
    }
    /* Room again. */
    CHECK_EQ_INT(request_status(&s, "POST", "/hosts", "{}", NULL), 201);
    CHECK_EQ_INT(server_stop(&s), 0);
    hooks_close(&h);
    server_cleanup(&s);
}

static void test_stop_with_create_held(void)
{
    check_set_case("SIGTERM with a create held: exits 0, the host is error after a restart");
    server s;
    hooks h;
    const char *args[] = {"--stop-grace", "0.5s", NULL};
    if (start(&s, &h, 1, args) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&s);
        return;
    }
    call held;
    char paused[37] = "", path[96];
    call_start(&held, &s, "POST", "/hosts", "{}");
    CHECK_EQ_INT(hooks_wait(&h, 0, paused), 0);
    snprintf(path, sizeof path, "/hosts/%s", paused);
    CHECK_EQ_INT(server_stop(&s), 0);
    call_finish(&held); /* the connection closed with the process */
    raw_resp_free(&held.resp);
    char *log = server_log(&s);
    CHECK_CONTAINS(log, "1 unfinished create(s) marked error");
    free(log);

    hooks_disarm(&h, 0);
    const char *again[] = {NULL};
    if (server_start(&s, again) != 0) {
        CHECK_FAIL("the server did not start again");
    } else {
        CHECK_EQ_INT(request_status(&s, "GET", path, NULL, "\"status\":\"error\""), 200);
        CHECK_EQ_INT(request_status(&s, "GET", path, NULL, "stopped before this host was ready"),
                     200);
        CHECK_EQ_INT(server_stop(&s), 0);
    }
    hooks_close(&h);
    server_cleanup(&s);
}

static void test_stop_with_stalled_client(void)
{
    check_set_case("SIGTERM with a client holding half a body: the server still exits");
    server s;
    const char *args[] = {"--stop-grace", "0.5s", NULL};
    if (server_init(&s) != 0 || server_start(&s, args) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&s);
        return;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)s.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ_INT(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *half =
        "POST /hosts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " TEST_TOKEN
        "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"env\"";
    CHECK(send(fd, half, strlen(half), MSG_NOSIGNAL) == (ssize_t)strlen(half));
    /* An idle keep-alive connection too. */
    int idle = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK_EQ_INT(connect(idle, (struct sockaddr *)&a, sizeof a), 0);
    /* The request has begun once the server has read its head: a GET on
     * another connection is answered after it, in the same worker pool. */
    CHECK_EQ_INT(request_status(&s, "GET", "/healthz", NULL, NULL), 200);
    CHECK_EQ_INT(server_stop(&s), 0); /* the harness gives up (137) after 30 s */
    char buf[256];
    /* Our connections were closed, not left hanging. */
    struct pollfd p = {fd, POLLIN, 0};
    CHECK_EQ_INT(poll(&p, 1, 5000), 1);
    CHECK(recv(fd, buf, sizeof buf, 0) >= 0);
    close(fd);
    close(idle);
    server_cleanup(&s);
}

static void test_teardown_fails(void)
{
    check_set_case("a failed teardown: 503, the host is error, stops counting, is retried");
    server s;
    const char *args[] = {"--max-hosts", "1", "--reap-interval", "0.1s", NULL};
    if (server_init(&s) != 0 || server_start(&s, args) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&s);
        return;
    }
    const char *body = "{\"image\":\"litterbox/fake:teardown-fails-once\",\"expires_at\":null}";
    raw_resp r;
    char id[37] = "", path[96];
    CHECK_EQ_INT(raw_request(&s, "POST", "/hosts", TEST_TOKEN, NULL, body, strlen(body), &r), 0);
    CHECK_EQ_INT(r.status, 201);
    host_id_of(r.body, id);
    raw_resp_free(&r);
    snprintf(path, sizeof path, "/hosts/%s", id);
    CHECK_EQ_INT(request_status(&s, "DELETE", path, NULL, "HOST_TEARDOWN"), 503);
    /* It no longer counts against --max-hosts 1 ... */
    CHECK_EQ_INT(request_status(&s, "POST", "/hosts", "{}", NULL), 201);
    /* ... and the reaper's retry removes it. */
    CHECK(wait_gone(&s, path));
    CHECK_EQ_INT(server_stop(&s), 0);
    char *log = server_log(&s);
    CHECK_CONTAINS(log, "expired and was deleted");
    free(log);
    server_cleanup(&s);
}

int main(void)
{
    test_reaper_claim();
    test_two_deletes();
    test_pending_limit();
    test_stop_with_create_held();
    test_stop_with_stalled_client();
    test_teardown_fails();
    return check_summary();
}
