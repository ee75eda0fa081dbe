/* Transport failures (refused, reset, truncated, timeout, TLS: docs/api.md,
 * How responses are classified),
 * redirects, response size limits (max_response_bytes) and large lists. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* A loopback port nobody listens on. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("closed_port");
        exit(1);
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* The shape every "no answer" failure has. */
static void check_unavailable(lb_code rc, const lb_error *err, const void *out)
{
    CHECK_EQ_INT(rc, LB_ERR_UNAVAILABLE);
    CHECK_EQ_INT(err->code, LB_ERR_UNAVAILABLE);
    CHECK_EQ_INT(err->http_status, 0);
    CHECK(out == NULL);
    CHECK(err->message[0] != '\0');
    CHECK_LACKS(err->message, TOKEN);
    CHECK_EQ_STR(err->error_code, "");
    CHECK(lb_code_is_retryable(rc));
}

static void test_refused(void)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api", closed_port());
    check_set_case("connection refused (%s)", url);
    lb_error err;
    lb_client *cl = lb_client_new(url, TOKEN, NULL, &err);
    if (!CHECK(cl != NULL))
        return;
    lb_host *h = OUT_SENTINEL;
    err_sentinel(&err);
    lb_code rc = lb_get_host(cl, "h1", &h, &err);
    check_unavailable(rc, &err, h);
    err_sentinel(&err);
    rc = lb_health(cl, &err);
    CHECK_EQ_INT(rc, LB_ERR_UNAVAILABLE);
    CHECK_EQ_INT(err.http_status, 0);
    lb_client_close(cl);
}

/* One fresh client per case, so that no kept-alive connection is reused. */
typedef struct transport_case {
    int line;
    const char *name;
    fs_response resp;
    double timeout_s;
    const char *msg; /* fragment of err.message */
} transport_case;

static const transport_case transport_cases[] = {
    {__LINE__, "server drops the connection", {.drop = 1}, 0, NULL},
    {__LINE__, "truncated body", {.status = 200, .body = FIRST_GEN_BODY, .truncate = 1}, 0, NULL},
    {__LINE__, "truncated chunked body",
     {.status = 200, .body = FIRST_GEN_BODY, .truncate = 1, .chunk_size = 16}, 0, NULL},
    {__LINE__, "timeout", {.status = 200, .body = FIRST_GEN_BODY, .delay_ms = 4000}, 0.5, "0.5"},
    {__LINE__, "timeout, fractional", {.status = 200, .body = FIRST_GEN_BODY, .delay_ms = 4000},
     0.25, "0.25"},
};

static void run_transport_case(fake_server *fs, const transport_case *c)
{
    check_set_case("%s (line %d)", c->name, c->line);
    fs_reset(fs);
    fs_push(fs, &c->resp);
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.timeout_s = c->timeout_s;
    lb_client *cl = client_for(fs, "/api", &o);
    lb_error err;
    err_sentinel(&err);
    lb_host *h = OUT_SENTINEL;
    double t0 = now_ms();
    lb_code rc = lb_get_host(cl, "h1", &h, &err);
    double took = now_ms() - t0;
    check_unavailable(rc, &err, h);
    if (c->msg)
        CHECK_CONTAINS(err.message, c->msg);
    if (c->timeout_s > 0) {
        CHECK(took >= c->timeout_s * 1000 - 50);
        CHECK(took < c->timeout_s * 1000 + 2500);
    }
    CHECK_EQ_INT(fs_request_count(fs), 1);
    if (rc == LB_OK)
        lb_host_free(h);
    lb_client_close(cl);
}

/* A kept-alive connection that dies: still unavailable, never a crash. */
static void test_reused_connection_dropped(fake_server *fs)
{
    check_set_case("drop on a reused connection");
    fs_reset(fs);
    fs_push_json(fs, 200, FIRST_GEN_BODY);
    fs_response drop = {.drop = 1};
    fs_push(fs, &drop);
    fs_push(fs, &drop);
    lb_client *cl = client_for(fs, "/api", NULL);
    lb_host *h = NULL;
    CHECK_EQ_INT(lb_get_host(cl, "h1", &h, NULL), LB_OK);
    lb_host_free(h);
    h = OUT_SENTINEL;
    lb_error err;
    lb_code rc = lb_get_host(cl, "h1", &h, &err);
    check_unavailable(rc, &err, h);
    /* the client still works afterwards */
    fs_reset(fs);
    fs_push_json(fs, 200, FIRST_GEN_BODY);
    h = NULL;
    CHECK_EQ_INT(lb_get_host(cl, "h1", &h, NULL), LB_OK);
    lb_host_free(h);
    lb_client_close(cl);
}

/* Redirects are never followed: one request, a response error naming it. */
static void test_redirects(fake_server *fs)
{
    static const int statuses[] = {301, 302, 303, 307, 308};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        check_set_case("redirect %d", statuses[i]);
        fs_reset(fs);
        char loc[256];
        snprintf(loc, sizeof loc, "Location: %s/api/elsewhere\r\n", fs_url(fs));
        fs_response r = {.status = statuses[i], .headers = loc, .body = ""};
        fs_push(fs, &r);
        fs_push_json(fs, 201, CURRENT_GEN_BODY); /* what following would reach */
        lb_client *cl = client_for(fs, "/api", NULL);
        lb_error err;
        lb_host *h = OUT_SENTINEL;
        lb_code rc = lb_create_host(cl, NULL, &h, &err);
        CHECK_EQ_INT(rc, LB_ERR_RESPONSE);
        CHECK(h == NULL);
        CHECK_EQ_INT(err.http_status, statuses[i]);
        char num[8];
        snprintf(num, sizeof num, "%d", statuses[i]);
        CHECK_CONTAINS(err.message, num);
        CHECK_EQ_INT(fs_request_count(fs), 1);
        CHECK_EQ_INT(fs_pending(fs), 1);
        if (rc == LB_OK)
            lb_host_free(h);
        lb_client_close(cl);
    }
}

static void test_tls_to_plain_server(fake_server *fs)
{
    check_set_case("https URL to a plain-HTTP server");
    fs_reset(fs);
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/api", fs_port(fs));
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.timeout_s = 10;
    lb_error err;
    lb_client *cl = lb_client_new(url, TOKEN, &o, &err);
    if (!CHECK(cl != NULL))
        return;
    lb_host *h = OUT_SENTINEL;
    double t0 = now_ms();
    lb_code rc = lb_get_host(cl, "h1", &h, &err);
    check_unavailable(rc, &err, h);
    CHECK(now_ms() - t0 < 9000); /* the handshake failed; it did not time out */
    CHECK_EQ_INT(fs_request_count(fs), 0);
    lb_client_close(cl);
}

/* ---- sizes ---- */

/* A list of n current-generation records. */
static char *make_list(size_t n, size_t *len_out)
{
    size_t cap = 64 + n * 700;
    char *b = malloc(cap);
    if (!b)
        abort();
    size_t len = 0;
    b[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(
            b + len, cap - len,
            "%s{\"id\":\"00000000-0000-4000-8000-%012zu\",\"name\":\"sb-%012zx\","
            "\"status\":\"active\",\"provider\":\"hetzner\",\"image\":\"ubuntu-24.04\","
            "\"external_ssh_host\":\"10.%zu.%zu.%zu\",\"external_ssh_port\":%zu,"
            "\"ssh_username\":\"sandbox\",\"internal_ssh_host\":null,"
            "\"known_hosts\":\"10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOM\","
            "\"private_key\":null,\"tailscale_device_id\":null,\"instance_type\":\"cx33\","
            "\"disk_gb\":80,\"last_error\":\"\",\"created_at\":\"2026-11-26T12:00:00+00:00\","
            "\"updated_at\":\"2026-11-26T12:00:00+00:00\",\"activated_at\":null,"
            "\"expires_at\":\"2026-11-27T12:00:00+00:00\",\"unknown\":{\"a\":[1,2,3]}}",
            i ? "," : "", i, i, (i >> 16) & 255, (i >> 8) & 255, i & 255, i % 60000 + 1);
        if (len >= cap - 2)
            abort();
    }
    b[len++] = ']';
    b[len] = '\0';
    *len_out = len;
    return b;
}

static void test_large_list(fake_server *fs, size_t n, int chunk)
{
    size_t len;
    char *body = make_list(n, &len);
    check_set_case("list of %zu hosts (%zu bytes)%s", n, len, chunk ? ", chunked" : "");
    fs_reset(fs);
    fs_response r = {.status = 200, .body = body, .body_len = len, .chunk_size = chunk};
    fs_push(fs, &r);
    free(body);
    lb_client *cl = client_for(fs, "/api", NULL);
    lb_host_list *l = OUT_SENTINEL;
    lb_error err;
    lb_code rc = lb_list_hosts(cl, &l, &err);
    if (CHECK_EQ_INT(rc, LB_OK)) {
        if (CHECK_EQ_INT(l->count, n)) {
            int ok = 1;
            for (size_t i = 0; i < n && ok; i++) {
                char id[64];
                snprintf(id, sizeof id, "00000000-0000-4000-8000-%012zu", i);
                ok = strcmp(l->hosts[i]->id, id) == 0 &&
                     l->hosts[i]->ssh_port == (int)(i % 60000 + 1) &&
                     strcmp(l->hosts[i]->status, "active") == 0 &&
                     l->hosts[i]->private_key == NULL;
                if (!ok)
                    CHECK_FAIL("host %zu decoded wrong", i);
            }
            CHECK(ok);
        }
        lb_host_list_free(l);
    } else {
        CHECK_FAIL("list failed: %s", err.message);
    }
    lb_client_close(cl);
}

/* max_response_bytes: over is a response error, at the limit is fine. */
static void test_response_limit(fake_server *fs)
{
    size_t len;
    char *body = make_list(20, &len);
    static const struct {
        long delta; /* limit = len + delta */
        int chunk;
        lb_code code;
    } rows[] = {
        {0, 0, LB_OK},          {1, 0, LB_OK},           {-1, 0, LB_ERR_RESPONSE},
        {-4000, 0, LB_ERR_RESPONSE}, {0, 512, LB_OK},    {-1, 512, LB_ERR_RESPONSE},
        {-4000, 100, LB_ERR_RESPONSE},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        lb_client_options o = LB_CLIENT_OPTIONS_INIT;
        o.max_response_bytes = (size_t)((long)len + rows[i].delta);
        check_set_case("body of %zu bytes, limit %zu%s", len, o.max_response_bytes,
                       rows[i].chunk ? ", chunked" : "");
        fs_reset(fs);
        fs_response r = {.status = 200, .body = body, .body_len = len,
                         .chunk_size = rows[i].chunk};
        fs_push(fs, &r);
        lb_client *cl = client_for(fs, "/api", &o);
        lb_host_list *l = OUT_SENTINEL;
        lb_error err;
        lb_code rc = lb_list_hosts(cl, &l, &err);
        CHECK_EQ_INT(rc, rows[i].code);
        if (rc == LB_OK) {
            CHECK_EQ_INT(l->count, 20);
            lb_host_list_free(l);
        } else {
            CHECK(l == NULL);
            CHECK_EQ_INT(err.code, rc);
            CHECK(err.message[0] != '\0');
        }
        /* the client goes on working after the refusal */
        fs_reset(fs);
        fs_push_json(fs, 200, "{\"status\":\"ok\"}");
        CHECK_EQ_INT(lb_health(cl, NULL), LB_OK);
        lb_client_close(cl);
    }

    /* The same limit for a single host, and for an error body. */
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.max_response_bytes = 100;
    check_set_case("get with a 100-byte limit");
    fs_reset(fs);
    fs_push_json(fs, 200, CURRENT_GET_BODY);
    lb_client *cl = client_for(fs, "/api", &o);
    lb_host *h = OUT_SENTINEL;
    lb_error err;
    CHECK_EQ_INT(lb_get_host(cl, "h1", &h, &err), LB_ERR_RESPONSE);
    CHECK(h == NULL);
    lb_client_close(cl);
    free(body);
}

/* A body big enough that curl asks `Expect: 100-continue` (or not): the
 * create must go through either way. */
static void test_big_request(fake_server *fs)
{
    check_set_case("create with a 2 MiB env value");
    size_t n = 2u << 20;
    char *entry = malloc(n + 8);
    if (!entry)
        abort();
    memcpy(entry, "BIG=", 4);
    memset(entry + 4, 'v', n);
    entry[n + 4] = '\0';
    const char *env[] = {entry, NULL};
    lb_create_opts co = LB_CREATE_OPTS_INIT;
    co.env = env;
    fs_reset(fs);
    fs_push_json(fs, 201, CURRENT_GEN_BODY);
    lb_client *cl = client_for(fs, "/api", NULL);
    lb_host *h = NULL;
    lb_error err;
    lb_code rc = lb_create_host(cl, &co, &h, &err);
    CHECK_EQ_INT(rc, LB_OK);
    if (CHECK_EQ_INT(fs_request_count(fs), 1)) {
        const fs_request *r = fs_request_at(fs, 0);
        CHECK(r->body_len > n);
        CHECK_CONTAINS(r->body, "\"BIG\"");
    }
    lb_host_free(h);
    lb_client_close(cl);
    free(entry);
}

/* Rule 12: a create that ended unavailable is repeated with the same key;
 * the second attempt carries the same key and the same body. */
static void test_repeat_with_key(fake_server *fs)
{
    check_set_case("repeat a timed-out create with its idempotency key");
    fs_reset(fs);
    fs_response slow = {.status = 201, .body = CURRENT_GEN_BODY, .delay_ms = 2000};
    fs_push(fs, &slow);
    fs_push_json(fs, 201, CURRENT_GEN_BODY);
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.timeout_s = 0.3;
    lb_client *cl = client_for(fs, "/api", &o);
    lb_create_opts co = LB_CREATE_OPTS_INIT;
    co.image = "ubuntu-24.04";
    co.idempotency_key = "retry-me-1";
    lb_host *h = OUT_SENTINEL;
    lb_error err;
    lb_code rc = lb_create_host(cl, &co, &h, &err);
    CHECK_EQ_INT(rc, LB_ERR_UNAVAILABLE);
    CHECK(lb_code_is_retryable(rc));
    CHECK(h == NULL);
    h = NULL;
    rc = lb_create_host(cl, &co, &h, &err);
    CHECK_EQ_INT(rc, LB_OK);
    if (rc == LB_OK)
        check_host(h, &want_current);
    lb_host_free(h);
    if (CHECK_EQ_INT(fs_request_count(fs), 2)) {
        const fs_request *a = fs_request_at(fs, 0), *b = fs_request_at(fs, 1);
        CHECK_EQ_STR(fs_header(a, "Idempotency-Key"), "retry-me-1");
        CHECK_EQ_STR(fs_header(b, "Idempotency-Key"), "retry-me-1");
        CHECK_JSON(a->body, a->body_len, "{\"image\":\"ubuntu-24.04\"}");
        CHECK_JSON(b->body, b->body_len, "{\"image\":\"ubuntu-24.04\"}");
    }
    lb_client_close(cl);
}

/* A name that cannot resolve: unavailable, no status. */
static void test_dns_failure(void)
{
    check_set_case("DNS failure");
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.timeout_s = 5;
    o.connect_timeout_s = 5;
    lb_error err;
    lb_client *cl = lb_client_new("http://no-such-host.invalid/api", TOKEN, &o, &err);
    if (!CHECK(cl != NULL))
        return;
    lb_host_list *l = OUT_SENTINEL;
    lb_code rc = lb_list_hosts(cl, &l, &err);
    check_unavailable(rc, &err, l);
    lb_client_close(cl);
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    int quick = getenv("LB_TEST_QUICK") != NULL || RUNNING_ON_VALGRIND;

    test_refused();
    for (size_t i = 0; i < sizeof transport_cases / sizeof transport_cases[0]; i++)
        run_transport_case(fs, &transport_cases[i]);
    test_reused_connection_dropped(fs);
    test_redirects(fs);
    test_tls_to_plain_server(fs);
    test_response_limit(fs);
    test_big_request(fs);
    test_repeat_with_key(fs);
    test_dns_failure();
    test_large_list(fs, quick ? 20000 : 100000, 0);
    test_large_list(fs, quick ? 5000 : 20000, 65536);

    fs_stop(fs);
    check_set_case("%s", "");
    return check_summary();
}
