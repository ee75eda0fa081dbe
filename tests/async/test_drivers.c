/* One table of calls, run through every way of driving the library:
 * blocking, lb_client_run, and the poll, libuv and libevent adapters. Each
 * case is the answer the fake server gives, the call, the request that must
 * arrive and the outcome that must come back, the same on every driver. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "drivers.h"
#include "fake_server.h"

#define TOKEN "tok-9f8e7d"
#define ID "0f6a4c1e-9b1d-4d2f-8a55-3c2b1a0e9d77"

static const char host_current[] =
    "{\"id\":\"" ID "\",\"name\":\"sb-0123456789ab\",\"status\":\"active\",\"provider\":\"fake\","
    "\"image\":\"img\",\"external_ssh_host\":\"10.0.0.5\",\"external_ssh_port\":2222,"
    "\"ssh_username\":\"agent\",\"internal_ssh_host\":null,\"known_hosts\":\"h ssh-ed25519 AAAA\","
    "\"private_key\":\"-----KEY-----\",\"tailscale_device_id\":null,\"instance_type\":\"cx33\","
    "\"disk_gb\":40,\"last_error\":\"\",\"created_at\":\"2030-01-01T00:00:00Z\","
    "\"updated_at\":\"2030-01-01T00:00:00Z\",\"activated_at\":null,\"expires_at\":null}";
static const char host_v1[] = "{\"id\":\"" ID "\",\"name\":\"sb-0123456789ab\",\"status\":\"active\","
                              "\"ssh_host\":\"192.0.2.7\",\"ssh_port\":22,\"known_hosts\":\"k\"}";
static const char list_two[] = "[{\"id\":\"a\",\"status\":\"active\",\"external_ssh_host\":\"h\","
                               "\"external_ssh_port\":1},{\"id\":\"b\",\"status\":\"error\","
                               "\"ssh_host\":\"\",\"ssh_port\":2}]";
static const char list_bad[] = "[{\"id\":\"a\",\"status\":\"active\",\"external_ssh_host\":\"h\","
                               "\"external_ssh_port\":1},{\"id\":\"b\",\"status\":\"active\","
                               "\"external_ssh_host\":\"h\",\"external_ssh_port\":\"22\"}]";
static const char doctor_ok[] =
    "{\"ok\":true,\"active_provider\":\"fake\",\"tailscale_enabled\":false,\"checks\":[{\"name\":"
    "\"database\",\"status\":\"ok\",\"detail\":null,\"latency_ms\":3,\"hint\":null}]}";

typedef enum call_kind {
    CALL_CREATE,
    CALL_GET,
    CALL_ATTACH,
    CALL_LIST,
    CALL_DELETE,
    CALL_RENEW,
    CALL_HEALTH,
    CALL_DOCTOR,
    CALL_PROXY_CREATE,
    CALL_PROXY_DELETE,
    CALL_PROXY_ATTACH,
    CALL_PROXY_DETACH
} call_kind;

typedef struct test_case {
    const char *name;
    fs_response answer;
    call_kind call;
    const char *id;         /* host id, or proxy name for proxy create/delete */
    long long expires_at;   /* renew */
    int full_create;        /* create with every option set */
    /* the request that must arrive; method NULL: nothing may be sent */
    const char *method, *target, *body;
    int want_auth;
    /* the outcome */
    lb_code code;
    int http_status;
    const char *message;    /* substring */
    const char *error_code;
    const char *result_id;  /* host id, first list id, or proxy name */
    size_t list_count;
} test_case;

static const test_case cases[] = {
    {"create, every field", {.status = 201, .body = host_current}, CALL_CREATE, NULL, 0, 1,
     "POST", "/api/hosts",
     "{\"image\":\"img\",\"env\":{\"A\":\"x y\"},\"expires_at\":\"2030-06-01T12:00:00+00:00\","
     "\"provider\":\"fake\",\"instance_type\":\"cx33\",\"disk_gb\":40}",
     1, LB_OK, 0, NULL, NULL, ID, 0},
    {"create, nothing set", {.status = 202, .body = host_v1}, CALL_CREATE, NULL, 0, 0, "POST",
     "/api/hosts", "{}", 1, LB_OK, 0, NULL, NULL, ID, 0},
    {"create, provisioning failed",
     {.status = 502, .body = "{\"detail\":\"vm boot failed\",\"error_code\":\"PROVISIONING_FAILED\"}"},
     CALL_CREATE, NULL, 0, 0, "POST", "/api/hosts", "{}", 1, LB_ERR_PROVISIONING, 502,
     "vm boot failed", "PROVISIONING_FAILED", NULL, 0},
    {"get, current wire", {.status = 200, .body = host_current}, CALL_GET, ID, 0, 0, "GET",
     "/api/hosts/" ID, "", 1, LB_OK, 0, NULL, NULL, ID, 0},
    {"attach, first wire", {.status = 200, .body = host_v1}, CALL_ATTACH, ID, 0, 0, "GET",
     "/api/hosts/" ID, "", 1, LB_OK, 0, NULL, NULL, ID, 0},
    {"get, not found", {.status = 404, .body = "{\"detail\":\"host not found\"}"}, CALL_GET, ID, 0,
     0, "GET", "/api/hosts/" ID, "", 1, LB_ERR_NOT_FOUND, 404, "host not found", "", NULL, 0},
    {"get, token echoed", {.status = 403, .body = "{\"detail\":\"service token rejected: " TOKEN "\"}"},
     CALL_GET, ID, 0, 0, "GET", "/api/hosts/" ID, "", 1, LB_ERR_AUTH, 403, "rejected: ***", "",
     NULL, 0},
    {"get, bad id: nothing sent", {.status = 200}, CALL_GET, "a/b", 0, 0, NULL, NULL, NULL, 0,
     LB_ERR_INVALID, 0, "host id", "", NULL, 0},
    {"list", {.status = 200, .body = list_two, .chunk_size = 7}, CALL_LIST, NULL, 0, 0, "GET",
     "/api/hosts", "", 1, LB_OK, 0, NULL, NULL, "a", 2},
    {"list, bad record", {.status = 200, .body = list_bad}, CALL_LIST, NULL, 0, 0, "GET",
     "/api/hosts", "", 1, LB_ERR_RESPONSE, 200, "host 1", "", NULL, 0},
    {"delete", {.status = 204}, CALL_DELETE, ID, 0, 0, "DELETE", "/api/hosts/" ID, "", 1, LB_OK,
     0, NULL, NULL, NULL, 0},
    {"delete, wrong state",
     {.status = 409, .body = "{\"detail\":\"host is provisioning\",\"error_code\":\"HOST_STATE\"}"},
     CALL_DELETE, ID, 0, 0, "DELETE", "/api/hosts/" ID, "", 1, LB_ERR_CONFLICT, 409,
     "provisioning", "HOST_STATE", NULL, 0},
    {"renew, default lease", {.status = 200, .body = host_current}, CALL_RENEW, ID, 0, 0, "POST",
     "/api/hosts/" ID "/renew", "{}", 1, LB_OK, 0, NULL, NULL, ID, 0},
    {"renew, a time", {.status = 200, .body = host_current}, CALL_RENEW, ID, 1906963200, 0,
     "POST", "/api/hosts/" ID "/renew", "{\"expires_at\":\"2030-06-06T08:00:00+00:00\"}", 1, LB_OK,
     0, NULL, NULL, ID, 0},
    {"health", {.status = 200, .body = "{\"status\":\"ok\"}"}, CALL_HEALTH, NULL, 0, 0, "GET",
     "/api/healthz", "", 0, LB_OK, 0, NULL, NULL, NULL, 0},
    {"doctor", {.status = 200, .body = doctor_ok}, CALL_DOCTOR, NULL, 0, 0, "GET", "/api/doctor",
     "", 1, LB_OK, 0, NULL, NULL, NULL, 0},
    {"proxy create", {.status = 201, .body = "{\"name\":\"p1\",\"status\":\"created\"}"},
     CALL_PROXY_CREATE, "p1", 0, 0, "POST", "/api/http-proxies",
     "{\"name\":\"p1\",\"target\":\"https://api.example\",\"headers\":{\"X-Key\":\"s3cret\"}}", 1,
     LB_OK, 0, NULL, NULL, "p1", 0},
    {"proxy create, unsupported",
     {.status = 501, .body = "{\"detail\":\"no proxies here\",\"error_code\":\"HTTP_PROXY_UNSUPPORTED\"}"},
     CALL_PROXY_CREATE, "p1", 0, 0, "POST", "/api/http-proxies", NULL, 1, LB_ERR_RESPONSE, 501,
     "no proxies here", "HTTP_PROXY_UNSUPPORTED", NULL, 0},
    {"proxy delete", {.status = 204}, CALL_PROXY_DELETE, "p1", 0, 0, "DELETE",
     "/api/http-proxies/p1", "", 1, LB_OK, 0, NULL, NULL, NULL, 0},
    {"proxy attach",
     {.status = 200, .body = "{\"name\":\"p1\",\"host_id\":\"" ID "\",\"status\":\"attached\"}"},
     CALL_PROXY_ATTACH, ID, 0, 0, "POST", "/api/http-proxies/p1/hosts/" ID, "", 1, LB_OK, 0, NULL,
     NULL, "p1", 0},
    {"proxy detach", {.status = 204}, CALL_PROXY_DETACH, ID, 0, 0, "DELETE",
     "/api/http-proxies/p1/hosts/" ID, "", 1, LB_OK, 0, NULL, NULL, NULL, 0},
    {"unavailable 503", {.status = 503, .body = "{\"detail\":\"database down\"}"}, CALL_GET, ID, 0,
     0, "GET", "/api/hosts/" ID, "", 1, LB_ERR_UNAVAILABLE, 503, "database down", "", NULL, 0},
    {"gateway page on 502", {.status = 502, .body = "<html>bad gateway</html>",
                             .headers = "Content-Type: text/html\r\n"},
     CALL_GET, ID, 0, 0, "GET", "/api/hosts/" ID, "", 1, LB_ERR_UNAVAILABLE, 502, "<html>", "",
     NULL, 0},
    {"redirect not followed", {.status = 302, .headers = "Location: http://elsewhere/\r\n"},
     CALL_GET, ID, 0, 0, "GET", "/api/hosts/" ID, "", 1, LB_ERR_RESPONSE, 302, "302", "", NULL, 0},
    {"connection dropped", {.drop = 1}, CALL_GET, ID, 0, 0, "GET", "/api/hosts/" ID, "", 1,
     LB_ERR_UNAVAILABLE, 0, "", "", NULL, 0},
    {"timeout", {.status = 200, .body = host_current, .delay_ms = 3000}, CALL_GET, ID, 0, 0, "GET",
     "/api/hosts/" ID, "", 1, LB_ERR_UNAVAILABLE, 0, "timed out after 2 s (timeout_s)", "", NULL,
     0},
};

/* What came back, the same shape from either API. */
typedef struct outcome {
    int fired;
    lb_code code;
    lb_error error;
    char result_id[128];
    size_t list_count;
} outcome;

static void keep_result(outcome *o, const lb_result *r)
{
    o->fired++;
    o->code = r->code;
    if (r->error)
        o->error = *r->error;
    if (r->host)
        snprintf(o->result_id, sizeof o->result_id, "%s", r->host->id);
    if (r->list) {
        o->list_count = r->list->count;
        if (r->list->count)
            snprintf(o->result_id, sizeof o->result_id, "%s", r->list->hosts[0]->id);
    }
    if (r->proxy)
        snprintf(o->result_id, sizeof o->result_id, "%s", r->proxy->name);
    lb_host_free(r->host);
    lb_host_list_free(r->list);
    lb_doctor_report_free(r->doctor);
    lb_proxy_free(r->proxy);
}

static void on_done(lb_call *call, const lb_result *r, void *userdata)
{
    (void)call;
    keep_result(userdata, r);
}

static const char *const env[] = {"A=x y", NULL};
static const char *const proxy_headers[] = {"X-Key: s3cret", NULL};

/* Starts the case's call: blocking ones finish here. 0 when started. */
static int start(const test_case *tc, lb_client *c, int blocking, outcome *o)
{
    lb_create_opts opts = LB_CREATE_OPTS_INIT;
    if (tc->full_create) {
        opts.image = "img";
        opts.env = env;
        opts.expires_at = 1906545600; /* 2030-06-01T12:00:00Z */
        opts.provider = "fake";
        opts.instance_type = "cx33";
        opts.disk_gb = 40;
    }
    lb_result r;
    memset(&r, 0, sizeof r);
    lb_error err;
    lb_call *call = NULL;
    if (blocking) {
        switch (tc->call) {
        case CALL_CREATE: r.code = lb_create_host(c, &opts, &r.host, &err); break;
        case CALL_GET: r.code = lb_get_host(c, tc->id, &r.host, &err); break;
        case CALL_ATTACH: r.code = lb_attach_host(c, tc->id, &r.host, &err); break;
        case CALL_LIST: r.code = lb_list_hosts(c, &r.list, &err); break;
        case CALL_DELETE: r.code = lb_delete_host(c, tc->id, &err); break;
        case CALL_RENEW: r.code = lb_renew_host(c, tc->id, tc->expires_at, &r.host, &err); break;
        case CALL_HEALTH: r.code = lb_health(c, &err); break;
        case CALL_DOCTOR: r.code = lb_doctor(c, &r.doctor, &err); break;
        case CALL_PROXY_CREATE:
            r.code = lb_create_proxy(c, tc->id, "https://api.example", proxy_headers, &r.proxy, &err);
            break;
        case CALL_PROXY_DELETE: r.code = lb_delete_proxy(c, tc->id, &err); break;
        case CALL_PROXY_ATTACH: r.code = lb_attach_proxy(c, "p1", tc->id, &r.proxy, &err); break;
        case CALL_PROXY_DETACH: r.code = lb_detach_proxy(c, "p1", tc->id, &err); break;
        }
        r.error = r.code == LB_OK ? NULL : &err;
        keep_result(o, &r);
        return 0;
    }
    switch (tc->call) {
    case CALL_CREATE: call = lb_create_host_async(c, &opts, on_done, o, &err); break;
    case CALL_GET: call = lb_get_host_async(c, tc->id, on_done, o, &err); break;
    case CALL_ATTACH: call = lb_attach_host_async(c, tc->id, on_done, o, &err); break;
    case CALL_LIST: call = lb_list_hosts_async(c, on_done, o, &err); break;
    case CALL_DELETE: call = lb_delete_host_async(c, tc->id, on_done, o, &err); break;
    case CALL_RENEW: call = lb_renew_host_async(c, tc->id, tc->expires_at, on_done, o, &err); break;
    case CALL_HEALTH: call = lb_health_async(c, on_done, o, &err); break;
    case CALL_DOCTOR: call = lb_doctor_async(c, on_done, o, &err); break;
    case CALL_PROXY_CREATE:
        call = lb_create_proxy_async(c, tc->id, "https://api.example", proxy_headers, on_done, o,
                                     &err);
        break;
    case CALL_PROXY_DELETE: call = lb_delete_proxy_async(c, tc->id, on_done, o, &err); break;
    case CALL_PROXY_ATTACH: call = lb_attach_proxy_async(c, "p1", tc->id, on_done, o, &err); break;
    case CALL_PROXY_DETACH: call = lb_detach_proxy_async(c, "p1", tc->id, on_done, o, &err); break;
    }
    if (!call) { /* refused at the start: the error is the outcome, no callback */
        o->code = err.code;
        o->error = err;
        return -1;
    }
    return 0;
}

static void run_case(fake_server *fs, driver_id d, const test_case *tc)
{
    check_set_case("%s / %s", driver_names[d], tc->name);
    fs_reset(fs);
    fs_push(fs, &tc->answer);
    char url[128];
    snprintf(url, sizeof url, "%s/api/", fs_url(fs));
    lb_client_options opts = LB_CLIENT_OPTIONS_INIT;
    /* Generous, so that a loaded machine under valgrind passes; only the
     * timeout case (a 3 s answer) runs into it. */
    opts.timeout_s = 2.0;
    lb_error err;
    lb_client *c = lb_client_new(url, TOKEN, &opts, &err);
    if (!CHECK(c != NULL))
        return;
    driver drv;
    if (!CHECK(driver_attach(&drv, d, c) == 0)) {
        lb_client_close(c);
        return;
    }
    outcome o;
    memset(&o, 0, sizeof o);
    int started = start(tc, c, d == D_BLOCKING, &o) == 0;
    if (started && d != D_BLOCKING)
        CHECK(driver_run(&drv, 10.0) == 0);
    driver_close(&drv);

    CHECK_EQ_INT(o.fired, started ? 1 : 0);
    CHECK_EQ_STR(lb_code_name(o.code), lb_code_name(tc->code));
    if (tc->code != LB_OK) {
        CHECK_EQ_INT(o.error.http_status, tc->http_status);
        if (tc->message)
            CHECK_CONTAINS(o.error.message, tc->message);
        CHECK_LACKS(o.error.message, TOKEN);
        if (tc->error_code)
            CHECK_EQ_STR(o.error.error_code, tc->error_code);
    }
    if (tc->result_id)
        CHECK_EQ_STR(o.result_id, tc->result_id);
    CHECK_EQ_INT(o.list_count, tc->list_count);

    if (!tc->method) {
        CHECK_EQ_INT(fs_request_count(fs), 0);
        return;
    }
    if (!CHECK_EQ_INT(fs_request_count(fs), 1))
        return;
    const fs_request *req = fs_request_at(fs, 0);
    CHECK_EQ_STR(req->method, tc->method);
    CHECK_EQ_STR(req->target, tc->target);
    if (tc->body)
        CHECK_EQ_STR(req->body, tc->body);
    const char *auth = fs_header(req, "Authorization");
    CHECK_EQ_STR(auth, tc->want_auth ? "Bearer " TOKEN : NULL);
    CHECK_EQ_STR(fs_header(req, "Accept"), "application/json");
    CHECK_EQ_STR(fs_header(req, "User-Agent"), "liblitterbox/" LB_VERSION);
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    for (int d = 0; d < D_COUNT; d++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_case(fs, (driver_id)d, &cases[i]);
    fs_stop(fs);
    return check_summary();
}
