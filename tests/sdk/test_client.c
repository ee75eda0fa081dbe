/* Client construction (lb_client_new, lb_client_from_env: rules 3 and 9),
 * request headers (docs/wire.md, Requests), and secrets in messages and
 * the debug log (docs/api.md, Secrets). */
#include <ctype.h>
#include <pthread.h>

#include "harness.h"

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* ---- lb_client_new ---- */

typedef struct new_case {
    int line;
    const char *name;
    const char *url;   /* "@" stands for the fake server's URL */
    const char *token;
    lb_client_options opts;
    int use_opts;
    lb_code code;
    const char *names; /* on failure the message names this (case-insensitive) */
    const char *lacks; /* never in the message */
} new_case;

#define OPTS_WITH(...) {LB_CLIENT_OPTIONS_VERSION, __VA_ARGS__}

static const new_case new_cases[] = {
    {__LINE__, "defaults", "@", TOKEN, {0}, 0, LB_OK, NULL, NULL},
    {__LINE__, "INIT options", "@", TOKEN, LB_CLIENT_OPTIONS_INIT, 1, LB_OK, NULL, NULL},
    {__LINE__, "https URL", "https://litterbox.example/api", TOKEN, {0}, 0, LB_OK, NULL, NULL},
    {__LINE__, "every option", "@", TOKEN,
     OPTS_WITH(.timeout_s = 12.5, .connect_timeout_s = 2, .max_connections = 3,
               .max_response_bytes = 1 << 20, .user_agent = "my-tool/2.0"),
     1, LB_OK, NULL, NULL},
    {__LINE__, "URL NULL", NULL, TOKEN, {0}, 0, LB_ERR_INVALID, "url", TOKEN},
    {__LINE__, "URL empty", "", TOKEN, {0}, 0, LB_ERR_INVALID, "url", TOKEN},
    {__LINE__, "URL ftp", "ftp://x.example", TOKEN, {0}, 0, LB_ERR_INVALID, "url", TOKEN},
    {__LINE__, "URL without scheme", "x.example:8080/api", TOKEN, {0}, 0, LB_ERR_INVALID, "url",
     TOKEN},
    {__LINE__, "URL with credentials", "https://admin:hunter2pw@x.example", TOKEN, {0}, 0,
     LB_ERR_INVALID, "url", "hunter2pw"},
    {__LINE__, "URL with CRLF", "http://x.example/\r\nX: y", TOKEN, {0}, 0, LB_ERR_INVALID,
     "url", TOKEN},
    {__LINE__, "URL not UTF-8", "http://x.example/\xff", TOKEN, {0}, 0, LB_ERR_INVALID, "url",
     TOKEN},
    {__LINE__, "URL host not UTF-8", "http://\xc3.example", TOKEN, {0}, 0, LB_ERR_INVALID, "url",
     TOKEN},
    {__LINE__, "URL scheme only", "https://", TOKEN, {0}, 0, LB_ERR_INVALID, "url", TOKEN},
    {__LINE__, "token NULL", "@", NULL, {0}, 0, LB_ERR_INVALID, "token", NULL},
    {__LINE__, "token empty", "@", "", {0}, 0, LB_ERR_INVALID, "token", NULL},
    {__LINE__, "token with LF", "@", "tok-SECRET\nX: y", {0}, 0, LB_ERR_INVALID, "token",
     "SECRET"},
    {__LINE__, "token with CR", "@", "tok-SECRET\r", {0}, 0, LB_ERR_INVALID, "token", "SECRET"},
    {__LINE__, "token with a control byte", "@", "tok-SECRET\x01", {0}, 0, LB_ERR_INVALID,
     "token", "SECRET"},
    {__LINE__, "token not UTF-8", "@", "tok-SECRET\xff", {0}, 0, LB_ERR_INVALID, "token",
     "SECRET"},
    {__LINE__, "user agent with CRLF", "@", TOKEN, OPTS_WITH(.user_agent = "ua\r\nX-Evil: 1"), 1,
     LB_ERR_INVALID, "agent", TOKEN},
    {__LINE__, "user agent with a control byte", "@", TOKEN, OPTS_WITH(.user_agent = "ua\x7f"),
     1, LB_ERR_INVALID, "agent", TOKEN},
    {__LINE__, "proxy with CRLF", "@", TOKEN, OPTS_WITH(.proxy = "http://p:3128\r\nX: y"), 1,
     LB_ERR_INVALID, "proxy", TOKEN},
    {__LINE__, "proxy not UTF-8", "@", TOKEN, OPTS_WITH(.proxy = "http://p\xff:3128"), 1,
     LB_ERR_INVALID, "proxy", TOKEN},
    {__LINE__, "options version 1", "@", TOKEN, {.version = 1}, 1, LB_OK, NULL, NULL},
    {__LINE__, "options version 0", "@", TOKEN, {.version = 0}, 1, LB_ERR_INVALID, "version",
     TOKEN},
    {__LINE__, "options version 99", "@", TOKEN, {.version = 99}, 1, LB_ERR_INVALID, "version",
     TOKEN},
    {__LINE__, "negative timeout", "@", TOKEN, OPTS_WITH(.timeout_s = -1), 1, LB_ERR_INVALID,
     "timeout", TOKEN},
    {__LINE__, "negative connect timeout", "@", TOKEN, OPTS_WITH(.connect_timeout_s = -0.5), 1,
     LB_ERR_INVALID, "timeout", TOKEN},
    {__LINE__, "negative max_connections", "@", TOKEN, OPTS_WITH(.max_connections = -1), 1,
     LB_ERR_INVALID, "connections", TOKEN},
};

static void run_new_case(fake_server *fs, const new_case *c)
{
    check_set_case("lb_client_new: %s (line %d)", c->name, c->line);
    char url[256];
    const char *u = c->url;
    if (u && strcmp(u, "@") == 0) {
        snprintf(url, sizeof url, "%s/api", fs_url(fs));
        u = url;
    }
    lb_error err;
    err_sentinel(&err);
    lb_client *cl = lb_client_new(u, c->token, c->use_opts ? &c->opts : NULL, &err);
    fs_reset(fs);
    if (c->code == LB_OK) {
        if (!CHECK(cl != NULL)) {
            CHECK_FAIL("refused: %s", err.message);
            return;
        }
        CHECK(err_is_sentinel(&err));
        lb_client_close(cl);
        return;
    }
    if (!CHECK(cl == NULL)) {
        lb_client_close(cl);
        return;
    }
    CHECK_EQ_INT(err.code, c->code);
    CHECK_EQ_INT(err.http_status, 0);
    if (CHECK(memchr(err.message, '\0', sizeof err.message) != NULL)) {
        if (!ci_contains(err.message, c->names))
            CHECK_FAIL("message \"%s\" does not name \"%s\"", err.message, c->names);
        if (c->lacks)
            CHECK_LACKS(err.message, c->lacks);
    }
    /* err may be NULL */
    CHECK(lb_client_new(u, c->token, c->use_opts ? &c->opts : NULL, NULL) == NULL);
}

/* ---- lb_client_from_env ---- */

typedef struct env_case {
    int line;
    const char *name;
    const char *prefix; /* passed to from_env */
    const char *vprefix; /* the variables' prefix */
    const char *url;    /* NULL: unset; "@": the fake server's URL + /api */
    const char *token;
    const char *timeout;
    lb_code code;
    const char *names;
} env_case;

static const env_case env_cases[] = {
    {__LINE__, "URL and token", NULL, "SANDBOX_", "@", TOKEN, NULL, LB_OK, NULL},
    {__LINE__, "timeout 2.5", NULL, "SANDBOX_", "@", TOKEN, "2.5", LB_OK, NULL},
    {__LINE__, "timeout 30", NULL, "SANDBOX_", "@", TOKEN, "30", LB_OK, NULL},
    {__LINE__, "custom prefix", "LBT_", "LBT_", "@", TOKEN, NULL, LB_OK, NULL},
    {__LINE__, "empty prefix", "", "", "@", TOKEN, NULL, LB_OK, NULL},
    {__LINE__, "URL missing", NULL, "SANDBOX_", NULL, TOKEN, NULL, LB_ERR_INVALID,
     "SANDBOX_SERVICE_URL"},
    {__LINE__, "token missing", NULL, "SANDBOX_", "@", NULL, NULL, LB_ERR_INVALID,
     "SANDBOX_SERVICE_TOKEN"},
    {__LINE__, "both missing", NULL, "SANDBOX_", NULL, NULL, NULL, LB_ERR_INVALID, "SANDBOX_"},
    {__LINE__, "custom prefix, URL missing", "LBT_", "SANDBOX_", "@", TOKEN, NULL,
     LB_ERR_INVALID, "LBT_SERVICE_URL"},
    {__LINE__, "custom prefix, token missing", "LBT_", "LBT_", "@", NULL, NULL, LB_ERR_INVALID,
     "LBT_SERVICE_TOKEN"},
    {__LINE__, "timeout abc", NULL, "SANDBOX_", "@", TOKEN, "abc", LB_ERR_INVALID,
     "SANDBOX_SERVICE_TIMEOUT"},
    {__LINE__, "timeout 0", NULL, "SANDBOX_", "@", TOKEN, "0", LB_ERR_INVALID,
     "SANDBOX_SERVICE_TIMEOUT"},
    {__LINE__, "timeout -1", NULL, "SANDBOX_", "@", TOKEN, "-1", LB_ERR_INVALID,
     "SANDBOX_SERVICE_TIMEOUT"},
    {__LINE__, "timeout empty", NULL, "SANDBOX_", "@", TOKEN, "", LB_ERR_INVALID,
     "SANDBOX_SERVICE_TIMEOUT"},
    {__LINE__, "timeout 10s", NULL, "SANDBOX_", "@", TOKEN, "10s", LB_ERR_INVALID,
     "SANDBOX_SERVICE_TIMEOUT"},
    {__LINE__, "timeout nan", NULL, "SANDBOX_", "@", TOKEN, "nan", LB_ERR_INVALID,
     "SANDBOX_SERVICE_TIMEOUT"},
    {__LINE__, "custom prefix, timeout bad", "LBT_", "LBT_", "@", TOKEN, "x", LB_ERR_INVALID,
     "LBT_SERVICE_TIMEOUT"},
    {__LINE__, "URL bad", NULL, "SANDBOX_", "ftp://x.example", TOKEN, NULL, LB_ERR_INVALID,
     "url"},
    {__LINE__, "token empty", NULL, "SANDBOX_", "@", "", NULL, LB_ERR_INVALID, "token"},
};

static const char *const env_prefixes[] = {"SANDBOX_", "LBT_", ""};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof env_prefixes / sizeof env_prefixes[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "%sSERVICE_URL", env_prefixes[i]);
        unsetenv(name);
        snprintf(name, sizeof name, "%sSERVICE_TOKEN", env_prefixes[i]);
        unsetenv(name);
        snprintf(name, sizeof name, "%sSERVICE_TIMEOUT", env_prefixes[i]);
        unsetenv(name);
    }
}

static void set_var(const char *prefix, const char *suffix, const char *value)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    if (value)
        setenv(name, value, 1);
}

static void run_env_case(fake_server *fs, const env_case *c)
{
    check_set_case("lb_client_from_env: %s (line %d)", c->name, c->line);
    clear_env();
    char url[256];
    snprintf(url, sizeof url, "%s/api", fs_url(fs));
    set_var(c->vprefix, "SERVICE_URL", c->url && strcmp(c->url, "@") == 0 ? url : c->url);
    set_var(c->vprefix, "SERVICE_TOKEN", c->token);
    set_var(c->vprefix, "SERVICE_TIMEOUT", c->timeout);
    lb_error err;
    err_sentinel(&err);
    lb_client *cl = lb_client_from_env(c->prefix, NULL, &err);
    if (c->code == LB_OK) {
        if (!CHECK(cl != NULL)) {
            CHECK_FAIL("refused: %s", err.message);
            clear_env();
            return;
        }
        CHECK(err_is_sentinel(&err));
        /* the client speaks to that URL with that token */
        fs_reset(fs);
        fs_push_json(fs, 200, FIRST_GEN_BODY);
        lb_host *h = NULL;
        CHECK_EQ_INT(lb_get_host(cl, "h1", &h, NULL), LB_OK);
        if (CHECK_EQ_INT(fs_request_count(fs), 1)) {
            CHECK_EQ_STR(fs_request_at(fs, 0)->target, "/api/hosts/h1");
            check_common_headers(fs_request_at(fs, 0), 1, NULL);
        }
        lb_host_free(h);
        lb_client_close(cl);
    } else {
        if (!CHECK(cl == NULL))
            lb_client_close(cl);
        CHECK_EQ_INT(err.code, c->code);
        if (!ci_contains(err.message, c->names))
            CHECK_FAIL("message \"%s\" does not name \"%s\"", err.message, c->names);
        CHECK_LACKS(err.message, TOKEN);
    }
    clear_env();
}

/* {prefix}SERVICE_TIMEOUT overrides opts->timeout_s. */
static void test_env_timeout_override(fake_server *fs)
{
    check_set_case("SANDBOX_SERVICE_TIMEOUT=0.3 over opts 100");
    clear_env();
    char url[256];
    snprintf(url, sizeof url, "%s/api", fs_url(fs));
    setenv("SANDBOX_SERVICE_URL", url, 1);
    setenv("SANDBOX_SERVICE_TOKEN", TOKEN, 1);
    setenv("SANDBOX_SERVICE_TIMEOUT", "0.3", 1);
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.timeout_s = 100;
    lb_error err;
    lb_client *cl = lb_client_from_env(NULL, &o, &err);
    clear_env();
    if (!CHECK(cl != NULL))
        return;
    fs_reset(fs);
    fs_response slow = {.status = 200, .body = FIRST_GEN_BODY, .delay_ms = 3000};
    fs_push(fs, &slow);
    lb_host *h = OUT_SENTINEL;
    double t0 = now_ms();
    lb_code rc = lb_get_host(cl, "h1", &h, &err);
    double took = now_ms() - t0;
    CHECK_EQ_INT(rc, LB_ERR_UNAVAILABLE);
    CHECK(h == NULL);
    CHECK(took < 2500);
    CHECK_CONTAINS(err.message, "0.3");
    if (rc == LB_OK)
        lb_host_free(h);
    lb_client_close(cl);

    check_set_case("opts timeout 0.3 without the variable");
    snprintf(url, sizeof url, "%s/api", fs_url(fs));
    setenv("SANDBOX_SERVICE_URL", url, 1);
    setenv("SANDBOX_SERVICE_TOKEN", TOKEN, 1);
    o.timeout_s = 0.3;
    cl = lb_client_from_env(NULL, &o, &err);
    clear_env();
    if (!CHECK(cl != NULL))
        return;
    fs_reset(fs);
    fs_push(fs, &slow);
    h = OUT_SENTINEL;
    t0 = now_ms();
    rc = lb_get_host(cl, "h1", &h, &err);
    CHECK_EQ_INT(rc, LB_ERR_UNAVAILABLE);
    CHECK(now_ms() - t0 < 2500);
    lb_client_close(cl);
}

/* ---- headers ---- */

static void test_user_agent(fake_server *fs)
{
    check_set_case("custom user agent");
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    char ua[32];
    strcpy(ua, "my-tool/2.0");
    o.user_agent = ua;
    lb_client *cl = client_for(fs, "/api", &o);
    memset(ua, 'X', strlen(ua)); /* options strings are copied */
    fs_reset(fs);
    fs_push_json(fs, 200, FIRST_GEN_BODY);
    fs_push_json(fs, 200, "{\"status\":\"ok\"}");
    lb_host *h = NULL;
    CHECK_EQ_INT(lb_get_host(cl, "h1", &h, NULL), LB_OK);
    CHECK_EQ_INT(lb_health(cl, NULL), LB_OK);
    if (CHECK_EQ_INT(fs_request_count(fs), 2)) {
        check_common_headers(fs_request_at(fs, 0), 1, "my-tool/2.0");
        check_common_headers(fs_request_at(fs, 1), 0, "my-tool/2.0");
    }
    lb_host_free(h);
    lb_client_close(cl);

    check_set_case("token and URL are copied");
    char url[256], tok[64];
    snprintf(url, sizeof url, "%s/api", fs_url(fs));
    strcpy(tok, TOKEN);
    cl = lb_client_new(url, tok, NULL, NULL);
    memset(url, 'x', strlen(url));
    memset(tok, 'y', strlen(tok));
    fs_reset(fs);
    fs_push_json(fs, 204, NULL);
    CHECK_EQ_INT(lb_delete_host(cl, "h1", NULL), LB_OK);
    if (CHECK_EQ_INT(fs_request_count(fs), 1)) {
        check_common_headers(fs_request_at(fs, 0), 1, NULL);
        CHECK_EQ_STR(fs_request_at(fs, 0)->target, "/api/hosts/h1");
    }
    lb_client_close(cl);
}

/* ---- the debug log ---- */

typedef struct log_sink {
    pthread_mutex_t lock;
    char *text;
    size_t len;
    int lines;
} log_sink;

static void log_line(void *data, const char *line)
{
    log_sink *s = data;
    pthread_mutex_lock(&s->lock);
    size_t n = strlen(line);
    char *nt = realloc(s->text, s->len + n + 2);
    if (nt) {
        s->text = nt;
        memcpy(s->text + s->len, line, n);
        s->len += n;
        s->text[s->len++] = '\n';
        s->text[s->len] = '\0';
        s->lines++;
    }
    pthread_mutex_unlock(&s->lock);
}

static void test_debug_log(fake_server *fs)
{
    log_sink sink = {.text = NULL};
    pthread_mutex_init(&sink.lock, NULL);
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.log = log_line;
    o.log_data = &sink;
    lb_client *cl = client_for(fs, "/api", &o);
    char url[256];

    check_set_case("debug log of a create");
    fs_reset(fs);
    fs_push_json(fs, 201, CURRENT_GEN_BODY);
    static const char *const env[] = {"API_KEY=envs3cretvalue", NULL};
    lb_create_opts co = LB_CREATE_OPTS_INIT;
    co.env = env;
    co.idempotency_key = "idem-key-1";
    lb_host *h = NULL;
    CHECK_EQ_INT(lb_create_host(cl, &co, &h, NULL), LB_OK);
    lb_host_free(h);
    snprintf(url, sizeof url, "%s/api/hosts", fs_url(fs));
    if (CHECK(sink.text != NULL)) {
        CHECK_CONTAINS(sink.text, "POST");
        CHECK_CONTAINS(sink.text, url);
        CHECK_CONTAINS(sink.text, "201");
        CHECK_CONTAINS(sink.text, "Authorization: Bearer ***");
        CHECK_LACKS(sink.text, TOKEN);
        CHECK_LACKS(sink.text, "SECRET");
        CHECK_LACKS(sink.text, "envs3cretvalue");
        CHECK_LACKS(sink.text, PRIVATE_KEY_MARK);
        CHECK_LACKS(sink.text, "PRIVATE KEY");
    }

    check_set_case("debug log of a failed get");
    free(sink.text);
    sink.text = NULL;
    sink.len = 0;
    fs_reset(fs);
    fs_push_json(fs, 404, "{\"detail\":\"host not found " TOKEN "\"}");
    h = NULL;
    CHECK_EQ_INT(lb_get_host(cl, "h1", &h, NULL), LB_ERR_NOT_FOUND);
    snprintf(url, sizeof url, "%s/api/hosts/h1", fs_url(fs));
    if (CHECK(sink.text != NULL)) {
        CHECK_CONTAINS(sink.text, "GET");
        CHECK_CONTAINS(sink.text, url);
        CHECK_CONTAINS(sink.text, "404");
        CHECK_LACKS(sink.text, TOKEN);
        CHECK_LACKS(sink.text, "SECRET");
    }

    check_set_case("debug log of a proxy create");
    free(sink.text);
    sink.text = NULL;
    sink.len = 0;
    fs_reset(fs);
    fs_push_json(fs, 201, "{\"name\":\"web\",\"status\":\"created\"}");
    static const char *const hdrs[] = {"X-Api-Key: hdrs3cretvalue", NULL};
    lb_proxy *p = NULL;
    CHECK_EQ_INT(lb_create_proxy(cl, "web", "https://origin.example", hdrs, &p, NULL), LB_OK);
    lb_proxy_free(p);
    if (CHECK(sink.text != NULL)) {
        CHECK_CONTAINS(sink.text, "POST");
        CHECK_CONTAINS(sink.text, "/api/http-proxies");
        CHECK_LACKS(sink.text, "hdrs3cretvalue");
        CHECK_LACKS(sink.text, TOKEN);
    }

    check_set_case("debug log of a transport failure");
    free(sink.text);
    sink.text = NULL;
    sink.len = 0;
    fs_reset(fs);
    fs_response drop = {.drop = 1};
    fs_push(fs, &drop);
    fs_push(fs, &drop);
    CHECK_EQ_INT(lb_delete_host(cl, "h1", NULL), LB_ERR_UNAVAILABLE);
    if (CHECK(sink.text != NULL)) {
        CHECK_CONTAINS(sink.text, "DELETE");
        CHECK_LACKS(sink.text, TOKEN);
    }

    lb_client_close(cl);
    free(sink.text);
    pthread_mutex_destroy(&sink.lock);
}

/* Secrets never reach the error either. */
static void test_secrets_in_errors(fake_server *fs)
{
    lb_client *cl = client_for(fs, "/api", NULL);
    static const struct {
        int status;
        const char *body;
    } echoes[] = {
        {401, "{\"detail\":\"Bearer " TOKEN " is not valid\"}"},
        {422, "{\"detail\":[{\"loc\":[\"header\",\"authorization\"],\"msg\":\"" TOKEN "\"}]}"},
        {500, "Authorization: Bearer " TOKEN},
        {502, "<html>" TOKEN "</html>"},
        {409, "{\"detail\":\"x\",\"error_code\":\"" TOKEN "\"}"},
        {404, "{\"detail\":\"" TOKEN TOKEN TOKEN "\"}"},
    };
    for (size_t i = 0; i < sizeof echoes / sizeof echoes[0]; i++) {
        check_set_case("token echoed by a %d", echoes[i].status);
        fs_reset(fs);
        fs_push_json(fs, echoes[i].status, echoes[i].body);
        lb_error err;
        lb_host *h = OUT_SENTINEL;
        CHECK(lb_get_host(cl, "h1", &h, &err) != LB_OK);
        CHECK(h == NULL);
        CHECK_LACKS(err.message, TOKEN);
        CHECK_LACKS(err.message, "SECRET");
        CHECK_LACKS(err.error_code, "SECRET");
    }
    lb_client_close(cl);
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    for (size_t i = 0; i < sizeof new_cases / sizeof new_cases[0]; i++)
        run_new_case(fs, &new_cases[i]);
    for (size_t i = 0; i < sizeof env_cases / sizeof env_cases[0]; i++)
        run_env_case(fs, &env_cases[i]);
    test_env_timeout_override(fs);
    test_user_agent(fs);
    test_debug_log(fs);
    test_secrets_in_errors(fs);
    check_set_case("lb_client_close(NULL)");
    lb_client_close(NULL);
    CHECK(1);
    fs_stop(fs);
    check_set_case("%s", "");
    return check_summary();
}
