/* The fake server itself, over raw sockets: every other network test and
 * the CLI tests stand on it, so its framing is checked byte by byte. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static int dial(fake_server *fs)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((unsigned short)fs_port(fs));
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("dial");
        exit(1);
    }
    return fd;
}

static void send_text(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) {
            perror("send");
            exit(1);
        }
        s += w;
        n -= (size_t)w;
    }
}

/* Read until EOF or until want bytes (0: EOF only), with a 5 s limit. */
static size_t read_some(int fd, char *buf, size_t cap, size_t want)
{
    size_t len = 0;
    while (len < cap - 1 && (want == 0 || len < want)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

/* Read exactly one response: head, then Content-Length or chunked body. */
static size_t read_response(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len + 1 >= cap)
            return len;
        ssize_t n = recv(fd, buf + len, 1, 0); /* byte by byte: never past the head */
        if (n <= 0)
            return len;
        len++;
        buf[len] = '\0';
        if (len >= 4 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0)
            end = buf + len;
    }
    const char *cl = strstr(buf, "Content-Length: ");
    if (cl && cl < end) {
        size_t want = len + strtoul(cl + 16, NULL, 10);
        if (want >= cap)
            want = cap - 1;
        while (len < want) {
            ssize_t n = recv(fd, buf + len, want - len, 0);
            if (n <= 0)
                break;
            len += (size_t)n;
        }
    } else if (strstr(buf, "Transfer-Encoding: chunked")) {
        while (len + 1 < cap && (len < 5 || memcmp(buf + len - 5, "0\r\n\r\n", 5) != 0)) {
            ssize_t n = recv(fd, buf + len, 1, 0);
            if (n <= 0)
                break;
            len++;
        }
    }
    buf[len] = '\0';
    return len;
}

static void test_keep_alive_and_recording(fake_server *fs)
{
    char buf[8192];
    check_set_case("two pipelined requests on one connection");
    fs_reset(fs);
    fs_push_json(fs, 200, "{\"a\":1}");
    fs_response r2 = {.status = 201, .headers = "X-Extra: yes\r\n", .body = "{\"b\":2}"};
    fs_push(fs, &r2);
    int fd = dial(fs);
    send_text(fd, "GET /api/hosts?x=1 HTTP/1.1\r\nHost: t\r\nAccept:   application/json  \r\n"
                  "X-Dup: 1\r\nx-dup: 2\r\n\r\n"
                  "POST /api/hosts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  "Content-Length: 11\r\n\r\n{\"image\":1}");
    read_response(fd, buf, sizeof buf);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    CHECK_CONTAINS(buf, "Content-Type: application/json\r\n");
    CHECK_CONTAINS(buf, "Content-Length: 7\r\n");
    CHECK_CONTAINS(buf, "\r\n\r\n{\"a\":1}");
    read_response(fd, buf, sizeof buf);
    CHECK(strncmp(buf, "HTTP/1.1 201 ", 13) == 0);
    CHECK_CONTAINS(buf, "X-Extra: yes\r\n");
    CHECK_CONTAINS(buf, "\r\n\r\n{\"b\":2}");
    close(fd);
    if (CHECK_EQ_INT(fs_request_count(fs), 2)) {
        const fs_request *a = fs_request_at(fs, 0), *b = fs_request_at(fs, 1);
        CHECK_EQ_STR(a->method, "GET");
        CHECK_EQ_STR(a->target, "/api/hosts?x=1");
        CHECK_EQ_STR(fs_header(a, "accept"), "application/json");
        CHECK_EQ_STR(fs_header(a, "X-DUP"), "1");
        CHECK_EQ_INT(fs_header_count(a, "x-dup"), 2);
        CHECK(fs_header(a, "Content-Length") == NULL);
        CHECK_EQ_INT(a->has_body, 0);
        CHECK_EQ_INT(a->body_len, 0);
        CHECK_CONTAINS(a->head, "Host: t");
        CHECK_EQ_STR(b->method, "POST");
        CHECK_EQ_INT(b->has_body, 1);
        CHECK_EQ_STR(b->body, "{\"image\":1}");
        CHECK_EQ_INT(b->body_len, 11);
        CHECK(fs_last_request(fs) == b);
    }
    CHECK_EQ_INT(fs_connection_count(fs), 1);
    CHECK_EQ_INT(fs_pending(fs), 0);
}

static void test_request_bodies(fake_server *fs)
{
    char buf[8192];
    check_set_case("chunked request body");
    fs_reset(fs);
    fs_push_json(fs, 200, "{}");
    int fd = dial(fs);
    send_text(fd, "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\n");
    read_response(fd, buf, sizeof buf);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    close(fd);
    if (CHECK_EQ_INT(fs_request_count(fs), 1)) {
        const fs_request *r = fs_request_at(fs, 0);
        CHECK_EQ_INT(r->has_body, 1);
        CHECK_EQ_INT(r->body_len, 23);
        CHECK_EQ_STR(r->body, "Wikipedia in\r\n\r\nchunks.");
    }

    check_set_case("Expect: 100-continue");
    fs_reset(fs);
    fs_push_json(fs, 201, "{}");
    fd = dial(fs);
    send_text(fd, "POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    size_t n = read_some(fd, buf, sizeof buf, 25);
    CHECK_EQ_INT(n, 25);
    CHECK_EQ_STR(buf, "HTTP/1.1 100 Continue\r\n\r\n");
    send_text(fd, "hello");
    read_response(fd, buf, sizeof buf);
    CHECK(strncmp(buf, "HTTP/1.1 201 ", 13) == 0);
    close(fd);
    if (CHECK_EQ_INT(fs_request_count(fs), 1))
        CHECK_EQ_STR(fs_request_at(fs, 0)->body, "hello");

    check_set_case("empty Content-Length body");
    fs_reset(fs);
    fs_push_json(fs, 200, "{}");
    fd = dial(fs);
    send_text(fd, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    read_response(fd, buf, sizeof buf);
    close(fd);
    if (CHECK_EQ_INT(fs_request_count(fs), 1)) {
        CHECK_EQ_INT(fs_request_at(fs, 0)->has_body, 1);
        CHECK_EQ_INT(fs_request_at(fs, 0)->body_len, 0);
    }
}

static void test_response_shapes(fake_server *fs)
{
    char buf[8192];
    check_set_case("empty queue answers 599");
    fs_reset(fs);
    int fd = dial(fs);
    send_text(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, buf, sizeof buf);
    CHECK(strncmp(buf, "HTTP/1.1 599 ", 13) == 0);
    CHECK_CONTAINS(buf, "no response queued");
    close(fd);

    check_set_case("Content-Type from the extra headers");
    fs_reset(fs);
    fs_response html = {.status = 502, .headers = "Content-Type: text/html", .body = "<p>x</p>"};
    fs_push(fs, &html);
    fd = dial(fs);
    send_text(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, buf, sizeof buf);
    CHECK(strncmp(buf, "HTTP/1.1 502 ", 13) == 0);
    CHECK_CONTAINS(buf, "Content-Type: text/html\r\n");
    CHECK_LACKS(buf, "application/json");
    CHECK_CONTAINS(buf, "\r\n\r\n<p>x</p>");

    check_set_case("204 has no body");
    fs_reset(fs);
    fs_push_json(fs, 204, NULL);
    send_text(fd, "DELETE /h HTTP/1.1\r\nHost: t\r\n\r\n");
    size_t n = read_response(fd, buf, sizeof buf);
    CHECK(strncmp(buf, "HTTP/1.1 204 ", 13) == 0);
    CHECK_LACKS(buf, "Content-Length");
    CHECK(n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);

    check_set_case("chunked response");
    fs_reset(fs);
    fs_response ch = {.status = 200, .body = "0123456789", .chunk_size = 4};
    fs_push(fs, &ch);
    send_text(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, buf, sizeof buf);
    CHECK_CONTAINS(buf, "Transfer-Encoding: chunked\r\n");
    CHECK_LACKS(buf, "Content-Length");
    CHECK_CONTAINS(buf, "\r\n\r\n4\r\n0123\r\n4\r\n4567\r\n2\r\n89\r\n0\r\n\r\n");

    check_set_case("body_len with NUL bytes");
    fs_reset(fs);
    fs_response bin = {.status = 200, .body = "a\0b", .body_len = 3};
    fs_push(fs, &bin);
    send_text(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    n = read_response(fd, buf, sizeof buf);
    CHECK_CONTAINS(buf, "Content-Length: 3\r\n");
    CHECK(n >= 3 && memcmp(buf + n - 3, "a\0b", 3) == 0);
    CHECK_EQ_INT(fs_connection_count(fs), 0); /* none since the reset: kept alive */
    close(fd);

    check_set_case("drop");
    fs_reset(fs);
    fs_response drop = {.drop = 1};
    fs_push(fs, &drop);
    fd = dial(fs);
    send_text(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    n = read_some(fd, buf, sizeof buf, 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(fs_request_count(fs), 1);
    close(fd);

    check_set_case("truncate");
    fs_reset(fs);
    fs_response tr = {.status = 200, .body = "0123456789", .truncate = 1};
    fs_push(fs, &tr);
    fd = dial(fs);
    send_text(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    read_some(fd, buf, sizeof buf, 0);
    CHECK_CONTAINS(buf, "Content-Length: 10\r\n");
    const char *body = strstr(buf, "\r\n\r\n");
    if (CHECK(body != NULL))
        CHECK_EQ_STR(body + 4, "01234");
    close(fd);

    check_set_case("delay");
    fs_reset(fs);
    fs_response slow = {.status = 200, .body = "{}", .delay_ms = 300};
    fs_push(fs, &slow);
    fd = dial(fs);
    double t0 = now_ms();
    send_text(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, buf, sizeof buf);
    CHECK(now_ms() - t0 >= 290);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    close(fd);

    check_set_case("Connection: close from the client");
    fs_reset(fs);
    fs_push_json(fs, 200, "{}");
    fd = dial(fs);
    send_text(fd, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    read_some(fd, buf, sizeof buf, 0); /* returns at EOF */
    CHECK_CONTAINS(buf, "Connection: close\r\n");
    CHECK_CONTAINS(buf, "\r\n\r\n{}");
    close(fd);
}

static void test_big_body(fake_server *fs)
{
    check_set_case("30 MB response body");
    size_t big = 30u << 20;
    char *b = malloc(big);
    if (!b)
        abort();
    for (size_t i = 0; i < big; i++)
        b[i] = (char)('a' + i % 26);
    fs_reset(fs);
    fs_response r = {.status = 200, .body = b, .body_len = big};
    fs_push(fs, &r);
    free(b); /* pushed responses are copies */
    int fd = dial(fs);
    send_text(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    char *buf = malloc(big + 4096);
    if (!buf)
        abort();
    size_t n = read_response(fd, buf, big + 4096);
    close(fd);
    const char *body = strstr(buf, "\r\n\r\n");
    if (CHECK(body != NULL)) {
        body += 4;
        size_t got = n - (size_t)(body - buf);
        if (CHECK_EQ_INT(got, big)) {
            int ok = 1;
            for (size_t i = 0; i < big && ok; i += 4099)
                ok = body[i] == (char)('a' + i % 26);
            CHECK(ok);
        }
    }
    free(buf);
}

static void test_stop_with_open_connections(void)
{
    check_set_case("fs_stop with idle and mid-request connections");
    fake_server *fs = fs_start();
    if (!CHECK(fs != NULL))
        return;
    int idle = dial(fs);
    int half = dial(fs);
    send_text(half, "GET / HTTP/1.1\r\nHost: t\r\n"); /* head never finished */
    int slow = dial(fs);
    fs_response r = {.status = 200, .body = "{}", .delay_ms = 60000};
    fs_push(fs, &r);
    fs_push_json(fs, 200, "left in the queue");
    send_text(slow, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    /* let the server take the requests in */
    for (int i = 0; i < 100 && fs_request_count(fs) < 1; i++)
        usleep(10000);
    double t0 = now_ms();
    fs_stop(fs);
    CHECK(now_ms() - t0 < 3000);
    close(idle);
    close(half);
    close(slow);
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    CHECK(strncmp(fs_url(fs), "http://127.0.0.1:", 17) == 0);
    CHECK(fs_port(fs) > 0);
    test_keep_alive_and_recording(fs);
    test_request_bodies(fs);
    test_response_shapes(fs);
    test_big_body(fs);
    fs_stop(fs);
    test_stop_with_open_connections();
    check_set_case("%s", "");
    return check_summary();
}
