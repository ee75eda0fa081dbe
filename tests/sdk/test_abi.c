/* The ABI promises of 1.0 (docs/api.md, ABI): an option struct of an older
 * version is read no further than its own end; versions outside 1 to the
 * library's are refused; lb_error keeps its reserved room zeroed; and the
 * `proxy` option of lb_client_options version 2 is honoured. */
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

/* Version 1 of lb_client_options ended at log_data. */
#define OPTIONS_V1_SIZE offsetof(lb_client_options, proxy)

/* A buffer of `size` bytes whose last byte is the last readable byte before
 * a page the process may not touch: reading one byte past it faults. */
typedef struct guarded {
    unsigned char *map;
    size_t map_len;
    void *at;
} guarded;

static int guarded_new(guarded *g, size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    g->map_len = 2 * page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED)
        return -1;
    if (mprotect(g->map + page, page, PROT_NONE) != 0) {
        munmap(g->map, g->map_len);
        return -1;
    }
    g->at = g->map + page - size;
    return 0;
}

static void guarded_free(guarded *g)
{
    munmap(g->map, g->map_len);
}

/* A version-1 struct, exactly as large as version 1 was, at the end of a
 * readable page: lb_client_new and lb_client_from_env must read none of
 * version 2's `proxy` (which would fault), and the client must work. */
static void test_options_v1_at_a_guard_page(fake_server *fs)
{
    check_set_case("lb_client_options version 1 at the end of a page");
    guarded g;
    if (guarded_new(&g, OPTIONS_V1_SIZE) != 0) {
        CHECK_FAIL("mmap failed");
        return;
    }
    lb_client_options full = LB_CLIENT_OPTIONS_INIT;
    full.version = 1;
    full.timeout_s = 7;
    full.user_agent = "old-program/1.0";
    memcpy(g.at, &full, OPTIONS_V1_SIZE);
    const lb_client_options *v1 = g.at;

    lb_error err;
    lb_client *c = lb_client_new(fs_url(fs), TOKEN, v1, &err);
    CHECK(c != NULL);
    fs_reset(fs);
    fs_push_json(fs, 200, CURRENT_GEN_BODY);
    lb_host *h = NULL;
    CHECK_EQ_INT(lb_get_host(c, "abc", &h, &err), LB_OK);
    const fs_request *r = fs_last_request(fs);
    CHECK(r != NULL);
    if (r)
        CHECK_EQ_STR(fs_header(r, "User-Agent"), "old-program/1.0");
    lb_host_free(h);
    lb_client_close(c);

    check_set_case("lb_client_from_env with version 1 options at the end of a page");
    setenv("ABI_SERVICE_URL", fs_url(fs), 1);
    setenv("ABI_SERVICE_TOKEN", TOKEN, 1);
    c = lb_client_from_env("ABI_", v1, &err);
    CHECK(c != NULL);
    lb_client_close(c);
    unsetenv("ABI_SERVICE_URL");
    unsetenv("ABI_SERVICE_TOKEN");
    guarded_free(&g);
}

/* lb_create_opts and lb_loop_hooks at their version 1, likewise at the
 * end of a page: read exactly, no further. */
static void test_create_opts_at_a_guard_page(fake_server *fs)
{
    check_set_case("lb_create_opts version 1 at the end of a page");
    guarded g;
    if (guarded_new(&g, sizeof(lb_create_opts)) != 0) {
        CHECK_FAIL("mmap failed");
        return;
    }
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    o.image = "img";
    memcpy(g.at, &o, sizeof o);
    lb_client *c = lb_client_new(fs_url(fs), TOKEN, NULL, NULL);
    fs_reset(fs);
    fs_push_json(fs, 201, CURRENT_GEN_BODY);
    lb_host *h = NULL;
    lb_error err;
    CHECK_EQ_INT(lb_create_host(c, g.at, &h, &err), LB_OK);
    const fs_request *r = fs_last_request(fs);
    if (CHECK(r != NULL))
        CHECK_CONTAINS(r->body, "\"image\":\"img\"");
    lb_host_free(h);
    lb_client_close(c);
    guarded_free(&g);
}

typedef struct version_case {
    int line;
    const char *name;
    unsigned version;
    lb_code code;
} version_case;

static const version_case version_cases[] = {
    {__LINE__, "version 0", 0, LB_ERR_INVALID},
    {__LINE__, "version 1", 1, LB_OK},
    {__LINE__, "version 2 (this header's)", 2, LB_OK},
    {__LINE__, "version 3 (newer than the library)", 3, LB_ERR_INVALID},
    {__LINE__, "version 4294967295", 4294967295u, LB_ERR_INVALID},
};

static void test_option_versions(fake_server *fs)
{
    for (size_t i = 0; i < sizeof version_cases / sizeof version_cases[0]; i++) {
        const version_case *vc = &version_cases[i];
        check_set_case("lb_client_options %s (line %d)", vc->name, vc->line);
        lb_client_options o = LB_CLIENT_OPTIONS_INIT;
        o.version = vc->version;
        lb_error err;
        memset(&err, 0x5A, sizeof err);
        lb_client *c = lb_client_new(fs_url(fs), TOKEN, &o, &err);
        CHECK_EQ_INT(c ? LB_OK : err.code, vc->code);
        if (!c) {
            CHECK_CONTAINS(err.message, "version");
            /* the reserved room is zeroed, never left as it was */
            for (size_t k = 0; k < sizeof err.reserved; k++)
                if (err.reserved[k] != 0) {
                    CHECK_FAIL("reserved[%zu] is %d", k, err.reserved[k]);
                    break;
                }
        }
        lb_client_close(c);
    }
}

/* proxy: the request goes to the proxy, in absolute form, whatever the
 * environment says; "" goes direct even when the environment names a
 * proxy. */
static void test_proxy_option(fake_server *fs)
{
    check_set_case("proxy: the request is sent to the proxy");
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.proxy = fs_url(fs);
    lb_error err;
    /* Nothing listens at the base URL's port: only the proxy answers. */
    lb_client *c = lb_client_new("http://127.0.0.2:9/api", TOKEN, &o, &err);
    fs_reset(fs);
    fs_push_json(fs, 200, CURRENT_GEN_BODY);
    lb_host *h = NULL;
    CHECK_EQ_INT(lb_get_host(c, "abc", &h, &err), LB_OK);
    const fs_request *r = fs_last_request(fs);
    if (CHECK(r != NULL))
        CHECK_EQ_STR(r->target, "http://127.0.0.2:9/api/hosts/abc");
    lb_host_free(h);
    lb_client_close(c);

    check_set_case("proxy \"\": direct, whatever http_proxy says");
    setenv("http_proxy", "http://127.0.0.1:9", 1); /* nothing listens there */
    o.proxy = "";
    c = lb_client_new(fs_url(fs), TOKEN, &o, &err);
    fs_reset(fs);
    fs_push_json(fs, 200, CURRENT_GEN_BODY);
    h = NULL;
    CHECK_EQ_INT(lb_get_host(c, "abc", &h, &err), LB_OK);
    r = fs_last_request(fs);
    if (CHECK(r != NULL))
        CHECK_EQ_STR(r->target, "/hosts/abc");
    lb_host_free(h);
    lb_client_close(c);

    check_set_case("proxy NULL: http_proxy from the environment applies");
    o.proxy = NULL;
    c = lb_client_new(fs_url(fs), TOKEN, &o, &err);
    h = NULL;
    CHECK_EQ_INT(lb_get_host(c, "abc", &h, &err), LB_ERR_UNAVAILABLE);
    lb_client_close(c);
    unsetenv("http_proxy");
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    test_options_v1_at_a_guard_page(fs);
    test_create_opts_at_a_guard_page(fs);
    test_option_versions(fs);
    test_proxy_option(fs);
    fs_stop(fs);
    check_set_case("%s", "");
    return check_summary();
}
