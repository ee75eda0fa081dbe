/* Inputs that must be refused cleanly, and quickly: bodies with tens of
 * thousands of members, strings that are not strict UTF-8, conflicting
 * Content-Length headers, sizes out of any integer's range. Each row is a
 * request and the answer it must get; afterwards the server still serves
 * every client (a list of hosts decodes). Then the limits per client
 * address: failed auth, and open connections. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static server srv;

typedef struct icase {
    const char *name;
    const char *headers; /* extra header lines, or NULL */
    const char *body;
    int status;
    const char *want; /* in the body */
} icase;

static const icase cases[] = {
    {"overlong NUL in a value", NULL, "{\"image\":\"\xc0\x80\"}", 422, "not valid UTF-8"},
    {"overlong slash in an env value", NULL, "{\"env\":{\"K\":\"\xe0\x80\xaf\"}}", 422,
     "not valid UTF-8"},
    {"a surrogate, UTF-8 encoded", NULL, "{\"env\":{\"K\":\"\xed\xa0\x80\"}}", 422,
     "not valid UTF-8"},
    {"a lone high surrogate escape", NULL, "{\"env\":{\"K\":\"\\ud800\"}}", 422, "not valid UTF-8"},
    {"a high surrogate escape before another escape", NULL, "{\"env\":{\"K\":\"\\ud800\\u0041\"}}",
     422, "not valid UTF-8"},
    {"a lone low surrogate escape", NULL, "{\"env\":{\"K\":\"\\udc00\"}}", 422, "not valid UTF-8"},
    {"past U+10FFFF", NULL, "{\"instance_type\":\"\xf4\x90\x80\x80\"}", 422, "not valid UTF-8"},
    {"a bad key", NULL, "{\"env\":{\"\xc0\xaf\":\"v\"}}", 422, "not valid UTF-8"},
    {"a truncated sequence", NULL, "{\"image\":\"\xe2\x82\"}", 422, "\"loc\":[\"body\",0]"},
    {"a paired surrogate escape is fine", NULL, "{\"env\":{\"K\":\"\\ud83d\\ude00 \xc3\xa9\"}}",
     201, "\"status\":\"active\""},
    {"disk_gb past any integer", NULL, "{\"disk_gb\":9.3e18}", 422, "int_type"},
    {"disk_gb 1e300", NULL, "{\"disk_gb\":1e300}", 422, "int_type"},
    {"disk_gb -9.3e18", NULL, "{\"disk_gb\":-9.3e18}", 422, "disk_gb"},
    {"conflicting Content-Length", "Content-Length: 1\r\n", "{}", 400,
     "conflicting Content-Length"},
    {"repeated, equal Content-Length", "Content-Length: 2\r\n", "{}", 201, "\"status\":\"active\""},
};

static int all_ascii(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

static void test_table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const icase *c = &cases[i];
        check_set_case("%s", c->name);
        raw_resp r;
        CHECK_EQ_INT(raw_request(&srv, "POST", "/hosts", TEST_TOKEN, c->headers, c->body,
                                 strlen(c->body), &r),
                     0);
        CHECK_EQ_INT(r.status, c->status);
        CHECK_CONTAINS(r.body, c->want);
        /* A refusal never echoes the bytes it refused. */
        if (c->status != 201) CHECK(all_ascii(r.body));
        raw_resp_free(&r);
    }
}

/* 40,000 env keys: refused while parsing, not after a quadratic pass. */
static void test_many_members(void)
{
    check_set_case("40,000 env keys: refused at the 257th member");
    size_t cap = 40000 * 16 + 32, n = 0;
    char *body = malloc(cap);
    n += (size_t)snprintf(body + n, cap - n, "{\"env\":{");
    for (int i = 0; i < 40000; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s\"K%d\":\"v\"", i ? "," : "", i);
    n += (size_t)snprintf(body + n, cap - n, "}}");
    raw_resp r;
    CHECK_EQ_INT(raw_request(&srv, "POST", "/hosts", TEST_TOKEN, NULL, body, n, &r), 0);
    CHECK_EQ_INT(r.status, 422);
    CHECK_CONTAINS(r.body, "\"loc\":[\"body\",\"env\"]");
    CHECK_CONTAINS(r.body, "env may hold at most 256 entries\"");
    raw_resp_free(&r);
    free(body);

    check_set_case("256 distinct keys, each repeated once: the last copy wins");
    cap = 512 * 24 + 32, n = 0;
    body = malloc(cap);
    n += (size_t)snprintf(body + n, cap - n, "{\"env\":{");
    for (int i = 0; i < 256; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s\"K%d\":1", i ? "," : "", i);
    n += (size_t)snprintf(body + n, cap - n, "}}");
    CHECK_EQ_INT(raw_request(&srv, "POST", "/hosts", TEST_TOKEN, NULL, body, n, &r), 0);
    CHECK_EQ_INT(r.status, 422); /* not strings */
    raw_resp_free(&r);
    free(body);
}

static void test_list_still_decodes(void)
{
    check_set_case("after all that, every client can still list");
    lb_client *c = server_client(&srv, NULL);
    lb_host_list *list = NULL;
    lb_error err;
    CHECK_EQ_INT(lb_list_hosts(c, &list, &err), LB_OK);
    if (list) CHECK_EQ_INT(list->count, 2); /* the two rows that were to pass */
    lb_host_list_free(list);
    lb_client_close(c);
}

/* 50 failures at once, then 429 with Retry-After, token unread. */
static void test_auth_budget(void)
{
    check_set_case("failed auth: a burst of 50, then 429 with Retry-After");
    server s;
    const char *const args[] = {NULL};
    if (server_init(&s) != 0 || server_start(&s, args) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&s);
        return;
    }
    int refused = 0, throttled_at = -1;
    for (int i = 0; i < 300 && throttled_at < 0; i++) {
        raw_resp r;
        if (raw_request(&s, "GET", "/hosts", "wrong-token", NULL, NULL, 0, &r) != 0) break;
        if (r.status == 403) refused++;
        if (r.status == 429) {
            throttled_at = i;
            CHECK_CONTAINS(r.head, "Retry-After: ");
            CHECK_CONTAINS(r.body, "too many failed authentications");
        }
        raw_resp_free(&r);
    }
    CHECK(refused >= 50);
    CHECK(throttled_at >= 50);
    raw_resp r;
    CHECK_EQ_INT(raw_request(&s, "GET", "/healthz", NULL, NULL, NULL, 0, &r), 0);
    CHECK_EQ_INT(r.status, 200); /* open routes need no budget */
    raw_resp_free(&r);
    CHECK_EQ_INT(server_stop(&s), 0);
    server_cleanup(&s);
}

static int connect_to(const server *s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One keep-alive GET /healthz on fd: 1 when answered, 0 when closed. */
static int healthz_on(int fd)
{
    const char *req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) return 0;
    char buf[1024];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 30000) <= 0) return 0;
        ssize_t got = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (got <= 0) return 0;
        len += (size_t)got;
        buf[len] = '\0';
        if (strstr(buf, "{\"status\":\"ok\"}")) return 1;
    }
    return 0;
}

static void test_connection_cap(void)
{
    check_set_case("--max-client-conns 4: a fifth connection is closed at once");
    server s;
    const char *const args[] = {"--max-client-conns", "4", NULL};
    if (server_init(&s) != 0 || server_start(&s, args) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&s);
        return;
    }
    int held[4];
    for (int i = 0; i < 4; i++) {
        held[i] = connect_to(&s);
        CHECK(held[i] >= 0 && healthz_on(held[i])); /* accepted and counted */
    }
    int fifth = connect_to(&s);
    CHECK_EQ_INT(healthz_on(fifth), 0);
    if (fifth >= 0) close(fifth);
    close(held[0]);
    /* Room again once one of the four is gone (the server notices the
     * close in its own time: try a few times). */
    int ok = 0;
    for (int i = 0; i < 100 && !ok; i++) {
        int fd = connect_to(&s);
        ok = healthz_on(fd);
        if (fd >= 0) close(fd);
        if (!ok) sleep_ms(50);
    }
    CHECK(ok);
    for (int i = 1; i < 4; i++)
        close(held[i]);
    CHECK_EQ_INT(server_stop(&s), 0);
    server_cleanup(&s);
}

int main(void)
{
    const char *const args[] = {NULL};
    if (server_init(&srv) != 0 || server_start(&srv, args) != 0) {
        CHECK_FAIL("the server did not start");
        return check_summary();
    }
    test_table();
    test_many_members();
    test_list_still_decodes();
    CHECK_EQ_INT(server_stop(&srv), 0);
    server_cleanup(&srv);
    test_auth_budget();
    test_connection_cap();
    return check_summary();
}
