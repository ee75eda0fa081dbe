/* Edges of the rules that a review of the library found unguarded: which
 * timeout a message names on a kept-alive connection, an error body larger
 * than max_response_bytes keeping its status class, "no limit" as
 * max_response_bytes, times past year 9999, TAB in proxy header values, the
 * token in a health answer, a NaN run timeout, and a bodyless POST that
 * must not be labelled a form. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_server.h"
#include "litterbox.h"

#define TOKEN "tok-edge-51f0c2d9"

static const char host[] = "{\"id\":\"h\",\"status\":\"active\",\"external_ssh_host\":\"x\","
                           "\"external_ssh_port\":22}";

static lb_client *client(fake_server *fs, double timeout_s, size_t max_bytes)
{
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.timeout_s = timeout_s;
    o.max_response_bytes = max_bytes;
    return lb_client_new(fs_url(fs), TOKEN, &o, NULL);
}

static void test_timeout_names_the_limit(fake_server *fs)
{
    check_set_case("a timeout on a kept-alive connection names timeout_s");
    fs_reset(fs);
    fs_push_json(fs, 200, host);
    fs_response slow = {.status = 200, .body = host, .delay_ms = 3000};
    fs_push(fs, &slow);
    lb_client *c = client(fs, 1.0, 0);
    lb_host *h = NULL;
    lb_error err;
    CHECK_EQ_INT(lb_get_host(c, "h", &h, &err), LB_OK);
    lb_host_free(h);
    CHECK_EQ_INT(lb_get_host(c, "h", &h, &err), LB_ERR_UNAVAILABLE);
    CHECK_CONTAINS(err.message, "timed out after 1 s (timeout_s)");
    CHECK_LACKS(err.message, "connect_timeout_s");
    CHECK_EQ_INT(fs_connection_count(fs), 1); /* the second call reused the first's */
    lb_client_close(c);
}

static void test_large_error_body(fake_server *fs)
{
    static const struct {
        int status;
        lb_code code;
        int chunked;
    } rows[] = {
        {503, LB_ERR_UNAVAILABLE, 0},
        {503, LB_ERR_UNAVAILABLE, 1},
        {429, LB_ERR_UNAVAILABLE, 0},
        {404, LB_ERR_NOT_FOUND, 1},
        {500, LB_ERR_RESPONSE, 0},
    };
    char *page = malloc(5001);
    memset(page, 'p', 5000);
    page[5000] = '\0';
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_set_case("a %d with a body over max_response_bytes%s keeps its class",
                       rows[i].status, rows[i].chunked ? " (chunked)" : "");
        fs_reset(fs);
        fs_response r = {.status = rows[i].status,
                         .body = page,
                         .headers = "Content-Type: text/html\r\n",
                         .chunk_size = rows[i].chunked ? 512 : 0};
        fs_push(fs, &r);
        lb_client *c = client(fs, 0, 1000);
        lb_host *h = NULL;
        lb_error err;
        CHECK_EQ_INT(lb_get_host(c, "h", &h, &err), rows[i].code);
        CHECK_EQ_INT(err.http_status, rows[i].status);
        CHECK_CONTAINS(err.message, "ppppp");
        lb_client_close(c);
    }
    free(page);
}

static void test_no_limit(fake_server *fs)
{
    check_set_case("max_response_bytes SIZE_MAX means no practical limit");
    fs_reset(fs);
    fs_push_json(fs, 200, host);
    lb_client *c = client(fs, 0, SIZE_MAX);
    lb_host *h = NULL;
    lb_error err;
    CHECK_EQ_INT(lb_get_host(c, "h", &h, &err), LB_OK);
    lb_host_free(h);
    lb_client_close(c);
}

static void test_refusals(fake_server *fs)
{
    fs_reset(fs);
    lb_client *c = client(fs, 0, 0);
    lb_host *h = NULL;
    lb_proxy *p = NULL;
    lb_error err;

    check_set_case("an expiry past year 9999 is refused, nothing sent");
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    o.expires_at = 253402300800LL; /* 10000-01-01T00:00:00Z */
    CHECK_EQ_INT(lb_create_host(c, &o, &h, &err), LB_ERR_INVALID);
    CHECK_CONTAINS(err.message, "expires_at");
    CHECK_EQ_INT(lb_renew_host(c, "h", 253402300800LL, &h, &err), LB_ERR_INVALID);

    check_set_case("a TAB in a proxy header value is refused");
    const char *headers[] = {"X-Key: a\tb", NULL};
    CHECK_EQ_INT(lb_create_proxy(c, "p", "https://api.example", headers, &p, &err),
                 LB_ERR_INVALID);
    CHECK_CONTAINS(err.message, "control byte");
    CHECK_EQ_INT(fs_request_count(fs), 0);

    check_set_case("lb_client_run refuses a NaN timeout");
    CHECK_EQ_INT(lb_client_run(c, NAN, NULL, &err), LB_ERR_INVALID);
    lb_client_close(c);
}

static void test_health_redacts(fake_server *fs)
{
    check_set_case("health: a token echoed in an error is redacted, though none was sent");
    fs_reset(fs);
    fs_push_json(fs, 503, "{\"detail\":\"down; saw token " TOKEN "\"}");
    lb_client *c = client(fs, 0, 0);
    lb_error err;
    CHECK_EQ_INT(lb_health(c, &err), LB_ERR_UNAVAILABLE);
    CHECK_LACKS(err.message, TOKEN);
    CHECK_CONTAINS(err.message, "saw token ***");
    CHECK_EQ_STR(fs_header(fs_request_at(fs, 0), "Authorization"), NULL);

    check_set_case("health: an odd status word is one printable line");
    fs_reset(fs);
    fs_push_json(fs, 200, "{\"status\":\"bad\\nline\"}");
    CHECK_EQ_INT(lb_health(c, &err), LB_ERR_RESPONSE);
    CHECK(strchr(err.message, '\n') == NULL);
    lb_client_close(c);
}

static void test_bodyless_post(fake_server *fs)
{
    check_set_case("proxy attach: a POST without a body carries no form Content-Type");
    fs_reset(fs);
    fs_push_json(fs, 200, "{\"name\":\"p\",\"host_id\":\"h\",\"status\":\"attached\"}");
    lb_client *c = client(fs, 0, 0);
    lb_proxy *p = NULL;
    lb_error err;
    CHECK_EQ_INT(lb_attach_proxy(c, "p", "h", &p, &err), LB_OK);
    lb_proxy_free(p);
    const fs_request *r = fs_request_at(fs, 0);
    CHECK_EQ_STR(r->method, "POST");
    CHECK_EQ_INT(r->body_len, 0);
    CHECK_EQ_STR(fs_header(r, "Content-Type"), NULL);
    lb_client_close(c);
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    test_timeout_names_the_limit(fs);
    test_large_error_body(fs);
    test_no_limit(fs);
    test_refusals(fs);
    test_health_redacts(fs);
    test_bodyless_post(fs);
    fs_stop(fs);
    return check_summary();
}
