/* Auth, validation and limits, as raw HTTP: each case is a request and the
 * exact status and pieces of body the service would answer with. */
#define _GNU_SOURCE /* strcasestr */
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
static char host_path[80], renew_path[96], attach_path[128];

#define T TEST_TOKEN
#define NOID "/hosts/00000000-0000-4000-8000-000000000000"

typedef struct vcase {
    const char *name;
    const char *method, *path; /* path "@host" / "@renew" / "@attach": a live host's */
    const char *token;         /* NULL: no Authorization header */
    const char *headers;       /* extra header lines */
    const char *body;          /* NULL: none */
    int status;
    const char *want[4]; /* pieces the body must hold */
} vcase;

static const vcase cases[] = {
    /* auth comes before everything, open routes excepted */
    {"no token",
     "GET",
     "/hosts",
     NULL,
     NULL,
     NULL,
     401,
     {"{\"detail\":\"service token required\"}"}},
    {"wrong token",
     "GET",
     "/hosts",
     "nope",
     NULL,
     NULL,
     403,
     {"{\"detail\":\"service token rejected\"}"}},
    {"token prefix",
     "GET",
     "/hosts",
     "lbs-test-token",
     NULL,
     NULL,
     403,
     {"service token rejected"}},
    {"basic auth",
     "GET",
     "/doctor",
     NULL,
     "Authorization: Basic dTpw\r\n",
     NULL,
     401,
     {"service token required"}},
    {"empty bearer",
     "GET",
     "/doctor",
     NULL,
     "Authorization: Bearer \r\n",
     NULL,
     401,
     {"service token required"}},
    {"auth before validation",
     "POST",
     "/hosts",
     NULL,
     NULL,
     "{\"env\":{\"TAILSCALE_AUTHKEY\":\"x\"}}",
     401,
     {"service token required"}},
    {"auth before 404", "GET", "/nowhere", NULL, NULL, NULL, 401, {"service token required"}},
    {"auth on delete", "DELETE", NOID, "bad", NULL, NULL, 403, {"service token rejected"}},
    {"healthz open", "GET", "/healthz", NULL, NULL, NULL, 200, {"{\"status\":\"ok\"}"}},
    {"openapi open", "GET", "/openapi.json", NULL, NULL, NULL, 200, {"\"openapi\""}},
    {"bearer scheme any case",
     "GET",
     "/doctor",
     NULL,
     "Authorization: bearer " T "\r\n",
     NULL,
     200,
     {"\"checks\""}},
    {"unknown path", "GET", "/nowhere", T, NULL, NULL, 404, {"\"detail\":\"Not Found\""}},
    {"wrong method", "PUT", "/hosts", T, NULL, "{}", 405, {"Method Not Allowed"}},

    /* create bodies */
    {"reserved env key",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"env\":{\"TAILSCALE_AUTHKEY\":\"tskey\"}}",
     422,
     {"{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\",\"env\"],\"msg\":\"Value error, "
      "reserved env keys are not allowed: TAILSCALE_AUTHKEY\"}]}"}},
    {"bad env key",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"env\":{\"1BAD\":\"x\"}}",
     422,
     {"\"type\":\"value_error\"", "\"loc\":[\"body\",\"env\"]",
      "Value error, env keys must match"}},
    {"env key with a dash",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"env\":{\"A-B\":\"x\"}}",
     422,
     {"\"loc\":[\"body\",\"env\"]"}},
    {"env value not a string",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"env\":{\"A\":1}}",
     422,
     {"\"type\":\"string_type\"", "\"loc\":[\"body\",\"env\",\"A\"]",
      "Input should be a valid string"}},
    {"env not an object",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"env\":[\"A=1\"]}",
     422,
     {"\"type\":\"dict_type\"", "\"loc\":[\"body\",\"env\"]"}},
    {"env value with NUL",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"env\":{\"A\":\"x\\u0000y\"}}",
     422,
     {"\"loc\":[\"body\",\"env\"]", "contains a NUL"}},
    {"body not JSON",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"image\":",
     422,
     {"\"type\":\"json_invalid\"", "\"loc\":[\"body\",0]", "JSON decode error"}},
    {"body an array",
     "POST",
     "/hosts",
     T,
     NULL,
     "[]",
     422,
     {"\"type\":\"model_attributes_type\"", "\"loc\":[\"body\"]"}},
    {"blank image",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"image\":\"  \"}",
     422,
     {"\"loc\":[\"body\",\"image\"]", "must not be blank"}},
    {"image a number",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"image\":5}",
     422,
     {"\"type\":\"string_type\"", "\"loc\":[\"body\",\"image\"]"}},
    {"empty instance_type",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"instance_type\":\"\"}",
     422,
     {"\"loc\":[\"body\",\"instance_type\"]"}},
    {"disk_gb 0",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"disk_gb\":0}",
     422,
     {"\"type\":\"greater_than_equal\"", "\"loc\":[\"body\",\"disk_gb\"]",
      "Input should be greater than or equal to 1"}},
    {"disk_gb a string",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"disk_gb\":\"x\"}",
     422,
     {"\"type\":\"int_type\""}},
    {"expires_at past",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"expires_at\":\"2020-01-01T00:00:00Z\"}",
     422,
     {"\"type\":\"datetime_future\"", "\"loc\":[\"body\",\"expires_at\"]",
      "Input should be in the future"}},
    {"expires_at without offset",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"expires_at\":\"2099-01-01T00:00:00\"}",
     422,
     {"\"type\":\"timezone_aware\"", "\"loc\":[\"body\",\"expires_at\"]"}},
    {"expires_at garbage",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"expires_at\":\"tomorrow\"}",
     422,
     {"\"loc\":[\"body\",\"expires_at\"]"}},
    {"expires_at bad date",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"expires_at\":\"2099-02-30T00:00:00Z\"}",
     422,
     {"\"loc\":[\"body\",\"expires_at\"]"}},
    {"expires_at number",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"expires_at\":4102444800}",
     422,
     {"\"loc\":[\"body\",\"expires_at\"]"}},
    {"several problems at once",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"image\":\"\",\"disk_gb\":-1}",
     422,
     {"\"loc\":[\"body\",\"image\"]", "\"loc\":[\"body\",\"disk_gb\"]"}},
    {"bad idempotency key",
     "POST",
     "/hosts",
     T,
     "Idempotency-Key: has space\r\n",
     "{}",
     422,
     {"\"type\":\"string_pattern_mismatch\"", "\"loc\":[\"header\",\"idempotency-key\"]"}},
    {"unknown provider",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"provider\":\"gcp\"}",
     400,
     {"unknown provider: \\\"gcp\\\""}},
    {"unknown fields ignored, nulls unset",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"colour\":\"blue\",\"image\":null,\"env\":null,\"disk_gb\":null,\"provider\":null}",
     201,
     {"\"status\":\"active\"", "\"disk_gb\":null"}},
    {"offset expiry",
     "POST",
     "/hosts",
     T,
     NULL,
     "{\"expires_at\":\"2099-06-01T14:00:00+02:00\"}",
     201,
     {"\"expires_at\":\"2099-06-01T12:00:00Z\""}},
    {"empty body", "POST", "/hosts", T, NULL, NULL, 201, {"\"status\":\"active\""}},

    /* ids */
    {"get non-uuid",
     "GET",
     "/hosts/not-a-uuid",
     T,
     NULL,
     NULL,
     422,
     {"\"type\":\"uuid_parsing\"", "\"loc\":[\"path\",\"host_id\"]",
      "Input should be a valid UUID"}},
    {"delete non-uuid",
     "DELETE",
     "/hosts/123",
     T,
     NULL,
     NULL,
     422,
     {"\"loc\":[\"path\",\"host_id\"]"}},
    {"renew non-uuid",
     "POST",
     "/hosts/zzz/renew",
     T,
     NULL,
     "{}",
     422,
     {"\"loc\":[\"path\",\"host_id\"]"}},
    {"get unknown", "GET", NOID, T, NULL, NULL, 404, {"{\"detail\":\"host not found\"}"}},
    {"delete unknown", "DELETE", NOID, T, NULL, NULL, 404, {"host not found"}},
    {"renew unknown", "POST", NOID "/renew", T, NULL, NULL, 404, {"host not found"}},

    /* renew */
    {"renew past",
     "POST",
     "@renew",
     T,
     NULL,
     "{\"expires_at\":\"2001-01-01T00:00:00+00:00\"}",
     422,
     {"\"type\":\"datetime_future\"", "\"loc\":[\"body\",\"expires_at\"]"}},
    {"renew body not JSON", "POST", "@renew", T, NULL, "nope", 422, {"\"type\":\"json_invalid\""}},
    {"renew empty object", "POST", "@renew", T, NULL, "{}", 200, {"\"status\":\"active\""}},
    {"renew sets",
     "POST",
     "@renew",
     T,
     NULL,
     "{\"expires_at\":\"2099-01-01T00:00:00Z\"}",
     200,
     {"\"expires_at\":\"2099-01-01T00:00:00Z\""}},

    /* proxies: 422 first, then 501 */
    {"proxy create empty",
     "POST",
     "/http-proxies",
     T,
     NULL,
     "{}",
     422,
     {"\"loc\":[\"body\",\"name\"]", "\"loc\":[\"body\",\"target\"]",
      "\"loc\":[\"body\",\"headers\"]", "\"type\":\"missing\""}},
    {"proxy create no body", "POST", "/http-proxies", T, NULL, NULL, 422, {"\"type\":\"missing\""}},
    {"proxy bad name",
     "POST",
     "/http-proxies",
     T,
     NULL,
     "{\"name\":\"-x\",\"target\":\"https://a.example\",\"headers\":{\"A\":\"b\"}}",
     422,
     {"\"type\":\"string_pattern_mismatch\"", "\"loc\":[\"body\",\"name\"]"}},
    {"proxy target with path",
     "POST",
     "/http-proxies",
     T,
     NULL,
     "{\"name\":\"x\",\"target\":\"https://a.example/p\",\"headers\":{\"A\":\"b\"}}",
     422,
     {"\"loc\":[\"body\",\"target\"]"}},
    {"proxy target with credentials",
     "POST",
     "/http-proxies",
     T,
     NULL,
     "{\"name\":\"x\",\"target\":\"https://u:p@a.example\",\"headers\":{\"A\":\"b\"}}",
     422,
     {"\"loc\":[\"body\",\"target\"]"}},
    {"proxy no headers",
     "POST",
     "/http-proxies",
     T,
     NULL,
     "{\"name\":\"x\",\"target\":\"https://a.example\",\"headers\":{}}",
     422,
     {"\"loc\":[\"body\",\"headers\"]"}},
    {"proxy create valid",
     "POST",
     "/http-proxies",
     T,
     NULL,
     "{\"name\":\"api.v1\",\"target\":\"https://a.example:8443\",\"headers\":{\"A\":\"b\"}}",
     501,
     {"\"error_code\":\"HTTP_PROXY_UNSUPPORTED\""}},
    {"proxy delete bad name",
     "DELETE",
     "/http-proxies/_x",
     T,
     NULL,
     NULL,
     422,
     {"\"loc\":[\"path\",\"name\"]"}},
    {"proxy delete",
     "DELETE",
     "/http-proxies/api",
     T,
     NULL,
     NULL,
     501,
     {"\"error_code\":\"HTTP_PROXY_UNSUPPORTED\""}},
    {"proxy attach unknown host",
     "POST",
     "/http-proxies/api/hosts/00000000-0000-4000-8000-000000000000",
     T,
     NULL,
     NULL,
     404,
     {"host not found"}},
    {"proxy attach non-uuid",
     "POST",
     "/http-proxies/api/hosts/xyz",
     T,
     NULL,
     NULL,
     422,
     {"\"loc\":[\"path\",\"host_id\"]"}},
    {"proxy attach live host",
     "POST",
     "@attach",
     T,
     NULL,
     NULL,
     501,
     {"\"error_code\":\"HTTP_PROXY_UNSUPPORTED\""}},
    {"proxy detach live host",
     "DELETE",
     "@attach",
     T,
     NULL,
     NULL,
     501,
     {"\"error_code\":\"HTTP_PROXY_UNSUPPORTED\""}},
};

static void run_case(const vcase *c)
{
    check_set_case("%s", c->name);
    const char *path = c->path;
    if (strcmp(path, "@host") == 0)
        path = host_path;
    else if (strcmp(path, "@renew") == 0)
        path = renew_path;
    else if (strcmp(path, "@attach") == 0)
        path = attach_path;
    raw_resp r;
    if (raw_request(&srv, c->method, path, c->token, c->headers, c->body,
                    c->body ? strlen(c->body) : 0, &r) != 0) {
        CHECK_FAIL("no answer");
        return;
    }
    CHECK_EQ_INT(r.status, c->status);
    if (r.status != 204) CHECK_CONTAINS(r.head, "Content-Type: application/json");
    for (int i = 0; i < 4 && c->want[i]; i++)
        CHECK_CONTAINS(r.body, c->want[i]);
    if (c->status == 422) { /* the service's shape, every time */
        CHECK(strncmp(r.body, "{\"detail\":[{\"type\":", 19) == 0);
        CHECK_CONTAINS(r.body, "\"loc\":[");
        CHECK_CONTAINS(r.body, "\"msg\":");
    }
    raw_resp_free(&r);
}

/* A create body whose env is built by the caller. */
static int create_with_env(const char *env_json)
{
    size_t len = strlen(env_json) + 16;
    char *body = malloc(len);
    snprintf(body, len, "{\"env\":%s}", env_json);
    raw_resp r;
    int status = -1;
    if (raw_request(&srv, "POST", "/hosts", T, NULL, body, strlen(body), &r) == 0) {
        status = r.status;
        if (status == 422) CHECK_CONTAINS(r.body, "\"loc\":[\"body\",\"env\"]");
        raw_resp_free(&r);
    }
    free(body);
    return status;
}

static char *env_of(int entries, size_t value_len)
{
    size_t cap = (size_t)entries * (value_len + 32) + 8;
    char *s = malloc(cap);
    size_t n = 0;
    s[n++] = '{';
    for (int i = 0; i < entries; i++) {
        n += (size_t)snprintf(s + n, cap - n, "%s\"K%d\":\"", i ? "," : "", i);
        memset(s + n, 'v', value_len);
        n += value_len;
        s[n++] = '"';
    }
    s[n++] = '}';
    s[n] = '\0';
    return s;
}

static void test_limits(void)
{
    char *e;
    check_set_case("env: 256 entries pass, 257 do not");
    e = env_of(256, 4);
    CHECK_EQ_INT(create_with_env(e), 201);
    free(e);
    e = env_of(257, 4);
    CHECK_EQ_INT(create_with_env(e), 422);
    free(e);
    check_set_case("env: a value of 32 KiB passes, one byte more does not");
    e = env_of(1, 32 * 1024);
    CHECK_EQ_INT(create_with_env(e), 201);
    free(e);
    e = env_of(1, 32 * 1024 + 1);
    CHECK_EQ_INT(create_with_env(e), 422);
    free(e);
    check_set_case("env: more than 256 KiB in all");
    e = env_of(9, 30 * 1024);
    CHECK_EQ_INT(create_with_env(e), 422);
    free(e);

    check_set_case("body over 1 MiB: 413 (Content-Length)");
    raw_resp r;
    CHECK_EQ_INT(raw_request(&srv, "POST", "/hosts", T,
                             "Content-Type: application/json\r\nContent-Length: 2000000\r\n", NULL,
                             0, &r),
                 0);
    CHECK_EQ_INT(r.status, 413);
    CHECK_CONTAINS(r.body, "\"detail\":");
    raw_resp_free(&r);

    check_set_case("body over 1 MiB: 413 (chunked)");
    size_t big = 18 * 64 * 1024; /* 1.125 MiB */
    size_t cap = big + 18 * 16 + 64;
    char *chunked = malloc(cap);
    size_t n = 0;
    for (size_t sent = 0; sent < big; sent += 64 * 1024) {
        n += (size_t)snprintf(chunked + n, cap - n, "%x\r\n", 64 * 1024);
        memset(chunked + n, ' ', 64 * 1024);
        n += 64 * 1024;
        memcpy(chunked + n, "\r\n", 2);
        n += 2;
    }
    memcpy(chunked + n, "0\r\n\r\n", 5);
    n += 5;
    CHECK_EQ_INT(
        raw_request(&srv, "POST", "/hosts", T, "Transfer-Encoding: chunked\r\n", chunked, n, &r),
        0);
    CHECK_EQ_INT(r.status, 413);
    raw_resp_free(&r);
    free(chunked);
}

/* The OpenAPI document: exactly docs/wire.md's ten operations. */
static void test_openapi(void)
{
    check_set_case("openapi: exactly the ten operations");
    raw_resp r;
    CHECK_EQ_INT(raw_request(&srv, "GET", "/openapi.json", NULL, NULL, NULL, 0, &r), 0);
    CHECK_EQ_INT(r.status, 200);
    static const char *const ops[] = {
        "\"/hosts\": {\n      \"post\"",
        "\"/hosts/{host_id}\": {\n      \"get\"",
        "\"/hosts/{host_id}/renew\": {\n      \"post\"",
        "\"/doctor\": {\n      \"get\"",
        "\"/http-proxies\": {\n      \"post\"",
        "\"/http-proxies/{name}\": {\n      \"delete\"",
        "\"/http-proxies/{name}/hosts/{host_id}\": {\n      \"post\""};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        CHECK_CONTAINS(r.body, ops[i]);
    int operation_ids = 0;
    for (const char *p = r.body; (p = strstr(p, "\"operationId\"")); p++)
        operation_ids++;
    CHECK_EQ_INT(operation_ids, 10);
    CHECK_LACKS(r.body, "\"/healthz\":");
    raw_resp_free(&r);
}

/* Read one answer with a Content-Length body from fd: its status. */
static int read_answer(int fd)
{
    char buf[8192];
    size_t len = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 30000) <= 0) return -1;
        ssize_t got = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (got <= 0) return -1;
        len += (size_t)got;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "Content-Length:");
        if (end && cl && len >= (size_t)(end + 4 - buf) + (size_t)atol(cl + 15)) {
            int status = 0;
            sscanf(buf, "HTTP/1.1 %d", &status);
            return status;
        }
        if (len == sizeof buf - 1) return -1;
    }
}

static void test_keep_alive(void)
{
    check_set_case("HTTP/1.1 keep-alive: three requests on one connection");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)srv.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ_INT(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char *const reqs[] = {"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                                       "GET /hosts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " T
                                       "\r\n\r\n",
                                       "POST /hosts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " T
                                       "\r\nContent-Length: 2\r\n\r\n{}"};
    static const int want[] = {200, 200, 201};
    for (int i = 0; i < 3; i++) {
        CHECK(send(fd, reqs[i], strlen(reqs[i]), MSG_NOSIGNAL) == (ssize_t)strlen(reqs[i]));
        CHECK_EQ_INT(read_answer(fd), want[i]);
    }
    close(fd);
}

int main(void)
{
    if (server_init(&srv) != 0 || server_start(&srv, NULL) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&srv);
        return check_summary();
    }
    raw_resp r;
    char id[40] = "";
    if (raw_request(&srv, "POST", "/hosts", T, NULL, "{}", 2, &r) == 0 && r.status == 201)
        sscanf(strstr(r.body, "\"id\":\"") + 6, "%36[0-9a-f-]", id);
    raw_resp_free(&r);
    CHECK_EQ_INT(strlen(id), 36);
    snprintf(host_path, sizeof host_path, "/hosts/%s", id);
    snprintf(renew_path, sizeof renew_path, "/hosts/%s/renew", id);
    snprintf(attach_path, sizeof attach_path, "/http-proxies/api/hosts/%s", id);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    test_limits();
    test_openapi();
    test_keep_alive();

    check_set_case("log never holds the token");
    char *log = server_log(&srv);
    CHECK_LACKS(log, TEST_TOKEN);
    CHECK_CONTAINS(log, "GET /hosts/not-a-uuid 422 ");
    free(log);
    check_set_case("SIGTERM: exit 0");
    CHECK_EQ_INT(server_stop(&srv), 0);
    server_cleanup(&srv);
    return check_summary();
}
