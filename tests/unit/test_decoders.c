/* doctor_decode, proxy_decode and health_decode on good and bad bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decode/decode.h"
#include "litterbox.h"

static char *json(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        abort();
    for (size_t i = 0; i <= n; i++)
        out[i] = s[i] == '\'' ? '"' : s[i];
    return out;
}

/* ---- doctor ---- */

typedef struct doctor_case {
    int line;
    const char *name;
    const char *body;
    lb_code code;
    int ok, tailscale;
    const char *provider;
    size_t check_count;
    lb_doctor_check checks[2];
} doctor_case;

static const doctor_case doctor_cases[] = {
    {__LINE__, "healthy, two checks",
     "{'ok':true,'active_provider':'hetzner','tailscale_enabled':true,'checks':["
     "{'name':'database','status':'ok','detail':null,'latency_ms':3,'hint':null},"
     "{'name':'provider','status':'error','detail':'timeout after 5s','latency_ms':null,"
     "'hint':'check HCLOUD_TOKEN'}]}",
     LB_OK, 1, 1, "hetzner", 2,
     {{"database", "ok", NULL, 3, NULL}, {"provider", "error", "timeout after 5s", -1,
                                          "check HCLOUD_TOKEN"}}},
    {__LINE__, "unhealthy, no checks",
     "{'ok':false,'active_provider':'local','tailscale_enabled':false,'checks':[]}", LB_OK, 0,
     0, "local", 0, {{0}}},
    {__LINE__, "unknown fields ignored, other order",
     "{'version':'1.2',"
     "'checks':[{'extra':{'a':[1]},'hint':null,'latency_ms':0,'detail':'d','status':'degraded',"
     "'name':'tailscale'}],'tailscale_enabled':false,'x':[{'ok':false}],'active_provider':'p',"
     "'ok':true}",
     LB_OK, 1, 0, "p", 1, {{"tailscale", "degraded", "d", 0, NULL}}},
    {__LINE__, "not JSON", "<html>502</html>", LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "empty", "", LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "array", "[]", LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "truncated", "{'ok':true,'active_provider':'p','tailscale_enabled':true,"
     "'checks':[{'name':'db'", LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "trailing garbage", "{'ok':true,'active_provider':'p','tailscale_enabled':true,"
     "'checks':[]}}", LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "ok is a string",
     "{'ok':'yes','active_provider':'p','tailscale_enabled':true,'checks':[]}",
     LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "checks is an object",
     "{'ok':true,'active_provider':'p','tailscale_enabled':true,'checks':{}}",
     LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "a check is a number",
     "{'ok':true,'active_provider':'p','tailscale_enabled':true,'checks':[1]}",
     LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "latency is a string",
     "{'ok':true,'active_provider':'p','tailscale_enabled':true,'checks':[{'name':'db',"
     "'status':'ok','detail':null,'latency_ms':'3','hint':null}]}",
     LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "provider is a number",
     "{'ok':true,'active_provider':7,'tailscale_enabled':true,'checks':[]}",
     LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    /* read by the library's own reader: strict where yajl was lenient */
    {__LINE__, "form feed after the report",
     "{'ok':true,'active_provider':'p','tailscale_enabled':true,'checks':[]}\f", LB_ERR_RESPONSE,
     0, 0, NULL, 0, {{0}}},
    {__LINE__, "overlong UTF-8 in a hint",
     "{'ok':true,'active_provider':'p','tailscale_enabled':true,'checks':[{'name':'db',"
     "'status':'ok','hint':'\xc0\xaf'}]}",
     LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "a NUL in a check's name (\\u0000: no C string holds it)",
     "{'ok':true,'active_provider':'p','tailscale_enabled':true,'checks':[{'name':'d\\u0000b',"
     "'status':'ok'}]}",
     LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "escapes decoded, latency at the edge of a long long",
     "{'ok':true,'active_provider':'p\\u00e9','tailscale_enabled':false,'checks':[{'name':"
     "'a\\/b','status':'ok','latency_ms':9223372036854775807}]}",
     LB_OK, 1, 0, "p\xc3\xa9", 1, {{"a/b", "ok", NULL, 9223372036854775807LL, NULL}}},
    {__LINE__, "latency past a long long",
     "{'ok':true,'active_provider':'p','tailscale_enabled':false,'checks':[{'name':'a',"
     "'status':'ok','latency_ms':9223372036854775808}]}",
     LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
    {__LINE__, "latency with a fraction",
     "{'ok':true,'active_provider':'p','tailscale_enabled':false,'checks':[{'name':'a',"
     "'status':'ok','latency_ms':1.0}]}",
     LB_ERR_RESPONSE, 0, 0, NULL, 0, {{0}}},
};

static void run_doctor_case(const doctor_case *c)
{
    char *body = json(c->body);
    lb_error err;
    memset(&err, 0, sizeof err);
    check_set_case("doctor %s (line %d)", c->name, c->line);
    lb_doctor_report *r = (lb_doctor_report *)&err;
    lb_code rc = doctor_decode(body, strlen(body), &r, &err);
    CHECK_EQ_INT(rc, c->code);
    if (rc == LB_OK && c->code == LB_OK) {
        CHECK_EQ_INT(r->ok, c->ok);
        CHECK_EQ_INT(r->tailscale_enabled, c->tailscale);
        CHECK_EQ_STR(r->active_provider, c->provider);
        if (CHECK_EQ_INT(r->check_count, c->check_count)) {
            for (size_t i = 0; i < c->check_count; i++) {
                CHECK_EQ_STR(r->checks[i]->name, c->checks[i].name);
                CHECK_EQ_STR(r->checks[i]->status, c->checks[i].status);
                CHECK_EQ_STR(r->checks[i]->detail, c->checks[i].detail);
                CHECK_EQ_INT(r->checks[i]->latency_ms, c->checks[i].latency_ms);
                CHECK_EQ_STR(r->checks[i]->hint, c->checks[i].hint);
            }
        }
        lb_doctor_report_free(r);
    } else if (rc != LB_OK) {
        CHECK(r == NULL);
        CHECK(err.message[0] != '\0');
        CHECK_EQ_INT(err.code, rc);
    } else {
        lb_doctor_report_free(r);
    }
    free(body);
}

/* ---- proxies ---- */

typedef struct proxy_case {
    int line;
    const char *body;
    int want_host_id;
    lb_code code;
    const char *name, *host_id, *status;
} proxy_case;

static const proxy_case proxy_cases[] = {
    {__LINE__, "{'name':'web','status':'created'}", 0, LB_OK, "web", NULL, "created"},
    {__LINE__, "{'status':'created','extra':{'name':'x'},'name':'api.v2'}", 0, LB_OK, "api.v2",
     NULL, "created"},
    {__LINE__, "{'name':'web','host_id':'3f2a6c1e-1b2c','status':'attached'}", 1, LB_OK, "web",
     "3f2a6c1e-1b2c", "attached"},
    {__LINE__, "{'host_id':'h1','status':'attached','name':'w','z':[1,{}]}", 1, LB_OK, "w", "h1",
     "attached"},
    {__LINE__, "{'name':'web','status':'attached'}", 1, LB_ERR_RESPONSE, NULL, NULL, NULL},
    {__LINE__, "{'status':'created'}", 0, LB_ERR_RESPONSE, NULL, NULL, NULL},
    {__LINE__, "{'name':5,'status':'created'}", 0, LB_ERR_RESPONSE, NULL, NULL, NULL},
    {__LINE__, "{'name':'web','host_id':7,'status':'attached'}", 1, LB_ERR_RESPONSE, NULL, NULL,
     NULL},
    {__LINE__, "[]", 0, LB_ERR_RESPONSE, NULL, NULL, NULL},
    {__LINE__, "", 0, LB_ERR_RESPONSE, NULL, NULL, NULL},
    {__LINE__, "created", 0, LB_ERR_RESPONSE, NULL, NULL, NULL},
    {__LINE__, "{'name':'web','status':'created'", 0, LB_ERR_RESPONSE, NULL, NULL, NULL},
    {__LINE__, "{'name':'web','status':'created'} {}", 0, LB_ERR_RESPONSE, NULL, NULL, NULL},
    /* the library's own reader: strict where yajl was lenient */
    {__LINE__, "{'name':'web','status':'created'}\v", 0, LB_ERR_RESPONSE, NULL, NULL, NULL},
    {__LINE__, "{'name':'w\xed\xa0\x80','status':'created'}", 0, LB_ERR_RESPONSE, NULL, NULL,
     NULL},
    {__LINE__, "{'name':'we\\u0000b','status':'created'}", 0, LB_ERR_RESPONSE, NULL, NULL,
     NULL},
    {__LINE__, "{'name':'w\\u00e9','status':'created','name':'second'}", 0, LB_OK,
     "w\xc3\xa9", NULL, "created"},
};

static void run_proxy_case(const proxy_case *c)
{
    char *body = json(c->body);
    lb_error err;
    memset(&err, 0, sizeof err);
    check_set_case("proxy %s want_host_id=%d (line %d)", c->body, c->want_host_id, c->line);
    lb_proxy *p = (lb_proxy *)&err;
    lb_code rc = proxy_decode(body, strlen(body), c->want_host_id, &p, &err);
    CHECK_EQ_INT(rc, c->code);
    if (rc == LB_OK && c->code == LB_OK) {
        CHECK_EQ_STR(p->name, c->name);
        CHECK_EQ_STR(p->host_id, c->host_id);
        CHECK_EQ_STR(p->status, c->status);
        lb_proxy_free(p);
    } else if (rc != LB_OK) {
        CHECK(p == NULL);
        CHECK(err.message[0] != '\0');
    } else {
        lb_proxy_free(p);
    }
    free(body);
}

/* ---- health ---- */

typedef struct health_case {
    int line;
    const char *body;
    lb_code code;
} health_case;

static const health_case health_cases[] = {
    {__LINE__, "{'status':'ok'}", LB_OK},
    {__LINE__, " {'version':'1','status':'ok','db':{'status':'down'}} ", LB_OK},
    {__LINE__, "{'status':'degraded'}", LB_ERR_RESPONSE},
    {__LINE__, "{'status':'OK '}", LB_ERR_RESPONSE},
    {__LINE__, "{'status':''}", LB_ERR_RESPONSE},
    {__LINE__, "{'status':true}", LB_ERR_RESPONSE},
    {__LINE__, "{'status':null}", LB_ERR_RESPONSE},
    {__LINE__, "{}", LB_ERR_RESPONSE},
    {__LINE__, "{'db':{'status':'ok'}}", LB_ERR_RESPONSE},
    {__LINE__, "['ok']", LB_ERR_RESPONSE},
    {__LINE__, "ok", LB_ERR_RESPONSE},
    {__LINE__, "", LB_ERR_RESPONSE},
    {__LINE__, "{'status':'ok'", LB_ERR_RESPONSE},
    {__LINE__, "{'status':'ok'}x", LB_ERR_RESPONSE},
    /* the library's own reader: strict where yajl was lenient */
    {__LINE__, "{'status':'ok'}\f", LB_ERR_RESPONSE},
    {__LINE__, "\v{'status':'ok'}", LB_ERR_RESPONSE},
    {__LINE__, "{'status':'ok','v':'\xf4\x90\x80\x80'}", LB_ERR_RESPONSE},
    {__LINE__, "{'status':'ok\\u0000'}", LB_ERR_RESPONSE},
    {__LINE__, "{'status':'\\u006fk'}", LB_OK},
};

static void run_health_case(const health_case *c)
{
    char *body = json(c->body);
    lb_error err;
    check_set_case("health %s (line %d)", c->body, c->line);
    memset(&err, 0x5a, sizeof err);
    lb_error before = err;
    lb_code rc = health_decode(body, strlen(body), &err);
    CHECK_EQ_INT(rc, c->code);
    if (rc != LB_OK) {
        CHECK_EQ_INT(err.code, rc);
        CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
        CHECK(err.message[0] != '\0');
    } else {
        CHECK(memcmp(&err, &before, sizeof err) == 0);
    }
    CHECK_EQ_INT(health_decode(body, strlen(body), NULL), c->code);
    free(body);
}

/* The small bodies' tree holds JSON_DOC_MAX_DEPTH (64) containers, the
 * answer's own object included; past that the body is refused, never read
 * recursively (a million brackets cost no stack). */
static void test_depth(void)
{
    static const struct {
        size_t brackets;
        lb_code code;
    } cases[] = {{62, LB_OK}, {63, LB_OK}, {64, LB_ERR_RESPONSE}, {1000000, LB_ERR_RESPONSE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].brackets;
        check_set_case("health with %zu nested arrays inside", n);
        char *body = malloc(2 * n + 32);
        if (!body)
            abort();
        size_t len = (size_t)sprintf(body, "{\"status\":\"ok\",\"x\":");
        memset(body + len, '[', n);
        memset(body + len + n, ']', n);
        len += 2 * n;
        body[len++] = '}';
        lb_error err;
        CHECK_EQ_INT(health_decode(body, len, &err), cases[i].code);
        if (cases[i].code != LB_OK)
            CHECK_EQ_STR(err.message, "response is not valid JSON: nested too deep");
        free(body);
    }
}

int main(void)
{
    for (size_t i = 0; i < sizeof doctor_cases / sizeof doctor_cases[0]; i++)
        run_doctor_case(&doctor_cases[i]);
    for (size_t i = 0; i < sizeof proxy_cases / sizeof proxy_cases[0]; i++)
        run_proxy_case(&proxy_cases[i]);
    for (size_t i = 0; i < sizeof health_cases / sizeof health_cases[0]; i++)
        run_health_case(&health_cases[i]);
    test_depth();
    check_set_case("health status holding a NUL is quoted whole, on one line");
    static const char nul_status[] = "{\"status\":\"ok\\u0000\\n\"}";
    lb_error err;
    CHECK_EQ_INT(health_decode(nul_status, sizeof nul_status - 1, &err), LB_ERR_RESPONSE);
    CHECK_EQ_STR(err.message, "health status is \"ok??\", not \"ok\"");
    check_set_case("NULL-safe frees");
    lb_doctor_report_free(NULL);
    lb_proxy_free(NULL);
    CHECK(1);
    check_set_case("%s", "");
    return check_summary();
}
