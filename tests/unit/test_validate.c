/* Argument validators (docs/api.md), the code table, the version, the
 * small internal helpers, and NULL-safe frees. No sockets. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util.h"
#include "validate.h"
#include "litterbox.h"

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* ---- single-string validators ---- */

typedef enum kind {
    K_URL,
    K_HEADER,   /* check_header_value(what, value, 0) */
    K_HEADER_E, /* check_header_value(what, value, 1): empty allowed */
    K_HOST_ID,
    K_PROXY_NAME,
    K_IDEM,
    K_OPTIONAL,
    K_UTF8,
} kind;

static const char *const kind_names[] = {"base_url",        "header value", "header value (empty ok)",
                                         "host id",         "proxy name",   "idempotency key",
                                         "optional string", "utf8"};

typedef struct str_case {
    int line;
    kind k;
    const char *what;  /* the argument name passed to the validator */
    const char *value;
    lb_code code;
    const char *names; /* on failure the message names this (case-insensitive) */
    const char *lacks; /* on failure the message never holds this */
} str_case;

#define OK_ROW(k, what, value) {__LINE__, k, what, value, LB_OK, NULL, NULL}
#define BAD_ROW(k, what, value, names) {__LINE__, k, what, value, LB_ERR_INVALID, names, NULL}
#define SECRET_ROW(k, what, value, names, lacks) \
    {__LINE__, k, what, value, LB_ERR_INVALID, names, lacks}

static char key255[256], key256[257];

static const str_case str_cases[] = {
    /* base URL */
    OK_ROW(K_URL, NULL, "http://127.0.0.1:8080"),
    OK_ROW(K_URL, NULL, "https://litterbox.example"),
    OK_ROW(K_URL, NULL, "https://x.example/api"),
    OK_ROW(K_URL, NULL, "https://x.example/api/"),
    OK_ROW(K_URL, NULL, "http://[::1]:8080/"),
    OK_ROW(K_URL, NULL, "http://localhost"),
    BAD_ROW(K_URL, NULL, NULL, "url"),
    BAD_ROW(K_URL, NULL, "", "url"),
    BAD_ROW(K_URL, NULL, "ftp://x.example", "url"),
    BAD_ROW(K_URL, NULL, "file:///etc/passwd", "url"),
    BAD_ROW(K_URL, NULL, "x.example/api", "url"),
    BAD_ROW(K_URL, NULL, "//x.example", "url"),
    BAD_ROW(K_URL, NULL, "http://", "url"),
    BAD_ROW(K_URL, NULL, "https://user:pw@x.example", "url"),
    SECRET_ROW(K_URL, NULL, "https://admin:hunter2pw@x.example/api", "url", "hunter2pw"),
    BAD_ROW(K_URL, NULL, "http://x.example\n/api", "url"),
    BAD_ROW(K_URL, NULL, "http://x.example/\r\nX-Evil: 1", "url"),
    BAD_ROW(K_URL, NULL, "http://x.exa mple", "url"),
    BAD_ROW(K_URL, NULL, "http://x.example:99999999", "url"),
    /* invalid UTF-8 in the URL: refused by lb_client_new (tests/sdk), which
       may check it apart from check_base_url */

    /* token, user agent, header values */
    OK_ROW(K_HEADER, "token", "s3cr3t-token_value.with~chars"),
    OK_ROW(K_HEADER, "token", "x"),
    OK_ROW(K_HEADER_E, "user agent", ""),
    OK_ROW(K_HEADER_E, "user agent", "my-tool/1.2 (+https://x.example)"),
    BAD_ROW(K_HEADER, "token", "", "token"),
    BAD_ROW(K_HEADER, "token", NULL, "token"),
    SECRET_ROW(K_HEADER, "token", "s3cr3t-one\r\nX-Evil: 1", "token", "s3cr3t"),
    SECRET_ROW(K_HEADER, "token", "s3cr3t-two\n", "token", "s3cr3t"),
    SECRET_ROW(K_HEADER, "token", "s3cr3t\rthree", "token", "s3cr3t"),
    SECRET_ROW(K_HEADER, "token", "s3cr3t\x01", "token", "s3cr3t"),
    SECRET_ROW(K_HEADER, "token", "s3cr3t\x7f", "token", "s3cr3t"),
    SECRET_ROW(K_HEADER, "token", "s3cr3t\x1b[0m", "token", "s3cr3t"),
    SECRET_ROW(K_HEADER, "token", "s3cr3t\t", "token", "s3cr3t"),
    BAD_ROW(K_HEADER_E, "user agent", "agent\r\nX: y", "user agent"),
    BAD_ROW(K_HEADER_E, "user agent", "agent\n", "user agent"),
    BAD_ROW(K_HEADER_E, "idempotency key", "k\x02", "idempotency key"),

    /* host ids */
    OK_ROW(K_HOST_ID, "host id", "3f2a6c1e-1b2c-4d5e-8f90-123456789abc"),
    OK_ROW(K_HOST_ID, "host id", "abc_DEF-09"),
    OK_ROW(K_HOST_ID, "host id", "a"),
    BAD_ROW(K_HOST_ID, "host id", NULL, "host id"),
    BAD_ROW(K_HOST_ID, "host id", "", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "a/b", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "../etc", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "a b", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "a.b", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "a?x=1", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "a#f", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "a%2Fb", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "a\n", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "h\xc3\xa9", "host id"),
    BAD_ROW(K_HOST_ID, "host id", "a:b", "host id"),
    BAD_ROW(K_HOST_ID, "id", "a+b", "id"),

    /* proxy names */
    OK_ROW(K_PROXY_NAME, NULL, "web"),
    OK_ROW(K_PROXY_NAME, NULL, "W"),
    OK_ROW(K_PROXY_NAME, NULL, "9"),
    OK_ROW(K_PROXY_NAME, NULL, "api.v2_internal-x"),
    OK_ROW(K_PROXY_NAME, NULL, "a..b--c__"),
    BAD_ROW(K_PROXY_NAME, NULL, NULL, "name"),
    BAD_ROW(K_PROXY_NAME, NULL, "", "name"),
    BAD_ROW(K_PROXY_NAME, NULL, "-web", "name"),
    BAD_ROW(K_PROXY_NAME, NULL, ".web", "name"),
    BAD_ROW(K_PROXY_NAME, NULL, "_web", "name"),
    BAD_ROW(K_PROXY_NAME, NULL, "we b", "name"),
    BAD_ROW(K_PROXY_NAME, NULL, "we/b", "name"),
    BAD_ROW(K_PROXY_NAME, NULL, "web:1", "name"),
    BAD_ROW(K_PROXY_NAME, NULL, "w\xc3\xa9", "name"),
    BAD_ROW(K_PROXY_NAME, NULL, "web\n", "name"),

    /* idempotency keys: 1-255 of A-Z a-z 0-9 _ - : . */
    OK_ROW(K_IDEM, NULL, "a"),
    OK_ROW(K_IDEM, NULL, "job-42:attempt_1.retry"),
    OK_ROW(K_IDEM, NULL, "3f2a6c1e-1b2c-4d5e-8f90-123456789abc"),
    OK_ROW(K_IDEM, NULL, key255),
    BAD_ROW(K_IDEM, NULL, "", "idempotency"),
    BAD_ROW(K_IDEM, NULL, key256, "idempotency"),
    BAD_ROW(K_IDEM, NULL, "a b", "idempotency"),
    BAD_ROW(K_IDEM, NULL, "a/b", "idempotency"),
    BAD_ROW(K_IDEM, NULL, "a+b", "idempotency"),
    BAD_ROW(K_IDEM, NULL, "a\r\nX: y", "idempotency"),
    BAD_ROW(K_IDEM, NULL, "k\xc3\xa9y", "idempotency"),

    /* image, provider, instance_type: "" refused, blank-looking sent */
    OK_ROW(K_OPTIONAL, "image", NULL),
    OK_ROW(K_OPTIONAL, "image", "ubuntu-24.04"),
    OK_ROW(K_OPTIONAL, "image", " "),
    OK_ROW(K_OPTIONAL, "provider", "hetzner"),
    OK_ROW(K_OPTIONAL, "instance_type", "cx33"),
    BAD_ROW(K_OPTIONAL, "image", "", "image"),
    BAD_ROW(K_OPTIONAL, "provider", "", "provider"),
    BAD_ROW(K_OPTIONAL, "instance_type", "", "instance_type"),

    /* UTF-8 */
    OK_ROW(K_UTF8, "image", ""),
    OK_ROW(K_UTF8, "image", "plain"),
    OK_ROW(K_UTF8, "image", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"),
    BAD_ROW(K_UTF8, "image", "\xff", "image"),
    BAD_ROW(K_UTF8, "image", "ab\xc3", "image"),
    BAD_ROW(K_UTF8, "image", "\xc3(", "image"),
    BAD_ROW(K_UTF8, "image", "\xc0\xaf", "image"),
    BAD_ROW(K_UTF8, "image", "\xe0\x80\xaf", "image"),
    BAD_ROW(K_UTF8, "image", "\xed\xa0\x80", "image"),
    BAD_ROW(K_UTF8, "image", "\xf4\x90\x80\x80", "image"),
    BAD_ROW(K_UTF8, "image", "\xf8\x88\x80\x80\x80", "image"),
    BAD_ROW(K_UTF8, "image", "\x80", "image"),
    BAD_ROW(K_UTF8, "target", "https://\xe2\x82", "target"),
};

static lb_code call_validator(const str_case *c, lb_error *err)
{
    switch (c->k) {
    case K_URL: return check_base_url(c->value, err);
    case K_HEADER: return check_header_value(c->what, c->value, 0, err);
    case K_HEADER_E: return check_header_value(c->what, c->value, 1, err);
    case K_HOST_ID: return check_host_id(c->what, c->value, err);
    case K_PROXY_NAME: return check_proxy_name(c->value, err);
    case K_IDEM: return check_idempotency_key(c->value, err);
    case K_OPTIONAL: return check_optional_string(c->what, c->value, err);
    case K_UTF8: return check_utf8(c->what, c->value, err);
    }
    return LB_OK;
}

static void printable(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    if (!s) {
        snprintf(dst, cap, "NULL");
        return;
    }
    for (; *s && o + 5 < cap && o < 60; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch >= 0x7f)
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", ch);
        else
            dst[o++] = (char)ch;
    }
    dst[o] = '\0';
}

static void run_str_case(const str_case *c)
{
    char shown[128];
    printable(shown, sizeof shown, c->value);
    check_set_case("%s \"%s\" (line %d)", kind_names[c->k], shown, c->line);
    lb_error err;
    memset(&err, 0x5a, sizeof err);
    lb_error before = err;
    lb_code rc = call_validator(c, &err);
    CHECK_EQ_INT(rc, c->code);
    if (c->code == LB_OK) {
        if (rc == LB_OK)
            CHECK(memcmp(&err, &before, sizeof err) == 0);
        else
            CHECK_FAIL("refused: %s", err.message);
    } else if (rc != LB_OK) {
        CHECK_EQ_INT(err.code, LB_ERR_INVALID);
        CHECK_EQ_INT(err.http_status, 0);
        if (CHECK(memchr(err.message, '\0', sizeof err.message) != NULL)) {
            if (!ci_contains(err.message, c->names))
                CHECK_FAIL("message \"%s\" does not name \"%s\"", err.message, c->names);
            else
                CHECK(1);
            if (c->lacks)
                CHECK_LACKS(err.message, c->lacks);
            for (const char *p = err.message; *p; p++)
                if ((unsigned char)*p < 0x20) {
                    CHECK_FAIL("control byte in message \"%s\"", err.message);
                    break;
                }
        }
    }
    /* err may be NULL */
    CHECK_EQ_INT(call_validator(c, NULL), c->code);
}

/* ---- list validators: env and proxy headers ---- */

typedef struct list_vcase {
    int line;
    int proxy_headers; /* 0: check_env, 1: check_proxy_headers */
    const char *items[5];
    int null_list;
    lb_code code;
    const char *names;
    const char *lacks;
} list_vcase;

static const list_vcase list_vcases[] = {
    {__LINE__, 0, {NULL}, 1, LB_OK, NULL, NULL},
    {__LINE__, 0, {NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 0, {"A=1", NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 0, {"_x=", NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 0, {"K=a=b=c", "L= spaced ", NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 0, {"TAILSCALE_AUTHKEY=tskey-1", "PATH=/bin", NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 0, {"Ab_9=x", "ab_9=y", NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 0, {"MULTI=line1\nline2", NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 0, {"NOEQUALS", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"A=1", "", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"=value", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"1A=x", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"A-B=x", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"A B=x", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"A.B=x", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"\xc3\xa9=x", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"A=1", "A=2", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"A=1", "B=2", "A=1", NULL}, 0, LB_ERR_INVALID, "env", NULL},
    {__LINE__, 0, {"AB=1", "A=2", "ABC=3", NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 0, {"SECRET_K=sup3rs3cret", "SECRET_K=sup3rs3cret", NULL}, 0, LB_ERR_INVALID,
     "env", "sup3rs3cret"},
    {__LINE__, 0, {"V=\xff", NULL}, 0, LB_ERR_INVALID, "env", NULL},

    {__LINE__, 1, {"X-Api-Key: secret", NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 1, {"Authorization: Bearer abc", "X-Other: v", NULL}, 0, LB_OK, NULL, NULL},
    {__LINE__, 1, {"NoColon", NULL}, 0, LB_ERR_INVALID, "header", NULL},
    {__LINE__, 1, {": value", NULL}, 0, LB_ERR_INVALID, "header", NULL},
    {__LINE__, 1, {"X-Key: hdrs3cret\r\nX-Evil: 1", NULL}, 0, LB_ERR_INVALID, "header",
     "hdrs3cret"},
    {__LINE__, 1, {"X-Key: hdrs3cret\n", NULL}, 0, LB_ERR_INVALID, "header", "hdrs3cret"},
    {__LINE__, 1, {"X-Key: v\x01", NULL}, 0, LB_ERR_INVALID, "header", NULL},
    {__LINE__, 1, {"X-Key: \xff", NULL}, 0, LB_ERR_INVALID, "header", NULL},
};

static void run_list_vcase(const list_vcase *c)
{
    check_set_case("%s [%s, %s, ...] (line %d)", c->proxy_headers ? "proxy headers" : "env",
                   c->null_list ? "NULL list" : (c->items[0] ? c->items[0] : "(end)"),
                   c->items[0] && c->items[1] ? c->items[1] : "(end)", c->line);
    const char *const *items = c->null_list ? NULL : c->items;
    lb_error err;
    memset(&err, 0x5a, sizeof err);
    lb_error before = err;
    lb_code rc = c->proxy_headers ? check_proxy_headers(items, &err) : check_env(items, &err);
    CHECK_EQ_INT(rc, c->code);
    if (c->code == LB_OK && rc == LB_OK) {
        CHECK(memcmp(&err, &before, sizeof err) == 0);
    } else if (c->code == LB_OK) {
        CHECK_FAIL("refused: %s", err.message);
    } else if (rc != LB_OK) {
        CHECK_EQ_INT(err.code, LB_ERR_INVALID);
        if (!ci_contains(err.message, c->names))
            CHECK_FAIL("message \"%s\" does not name \"%s\"", err.message, c->names);
        if (c->lacks)
            CHECK_LACKS(err.message, c->lacks);
    }
}

/* ---- codes ---- */

typedef struct code_case {
    lb_code code;
    const char *name;
    int api, retryable;
} code_case;

static const code_case code_cases[] = {
    {LB_OK, "ok", 0, 0},
    {LB_ERR_INVALID, "invalid", 0, 0},
    {LB_ERR_NOMEM, "nomem", 0, 0},
    {LB_ERR_AUTH, "auth", 1, 0},
    {LB_ERR_NOT_FOUND, "not_found", 1, 0},
    {LB_ERR_CONFLICT, "conflict", 1, 0},
    {LB_ERR_VALIDATION, "validation", 1, 0},
    {LB_ERR_PROVISIONING, "provisioning", 1, 0},
    {LB_ERR_UNAVAILABLE, "unavailable", 0, 1},
    {LB_ERR_RESPONSE, "response", 1, 0},
    {LB_ERR_CANCELLED, "cancelled", 0, 0},
};

static void test_codes(void)
{
    for (size_t i = 0; i < sizeof code_cases / sizeof code_cases[0]; i++) {
        const code_case *c = &code_cases[i];
        check_set_case("code %s", c->name);
        CHECK_EQ_STR(lb_code_name(c->code), c->name);
        CHECK_EQ_INT(lb_code_is_api_error(c->code), c->api);
        CHECK_EQ_INT(lb_code_is_retryable(c->code), c->retryable);
    }
    /* append-only numbering, as the header fixes it */
    check_set_case("code values");
    CHECK_EQ_INT(LB_OK, 0);
    CHECK_EQ_INT(LB_ERR_INVALID, 1);
    CHECK_EQ_INT(LB_ERR_CANCELLED, 10);
    check_set_case("codes outside the enum");
    CHECK_EQ_STR(lb_code_name((lb_code)11), "unknown");
    CHECK_EQ_STR(lb_code_name((lb_code)-1), "unknown");
    CHECK_EQ_STR(lb_code_name((lb_code)1000), "unknown");
    CHECK_EQ_INT(lb_code_is_api_error((lb_code)1000), 0);
    CHECK_EQ_INT(lb_code_is_retryable((lb_code)1000), 0);
    CHECK_EQ_INT(lb_code_is_retryable((lb_code)-1), 0);
    check_set_case("version");
    CHECK_EQ_STR(lb_version(), "1.0.0");
    CHECK_EQ_STR(lb_version(), LB_VERSION);
}

/* ---- internal helpers ---- */

static void test_helpers(void)
{
    static const struct {
        long long t;
        const char *want;
    } times[] = {
        {0, "1970-01-01T00:00:00+00:00"},
        {951868799, "2000-02-29T23:59:59+00:00"},
        {1906545600, "2030-06-01T12:00:00+00:00"},
        {253402300799LL, "9999-12-31T23:59:59+00:00"},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        check_set_case("rfc3339_format(%lld)", times[i].t);
        char buf[64];
        memset(buf, 'z', sizeof buf);
        rfc3339_format(times[i].t, buf, sizeof buf);
        CHECK_EQ_STR(buf, times[i].want);
    }

    static const struct {
        const char *s;
        size_t max, want;
    } cuts[] = {
        {"abc", 10, 3},
        {"abc", 2, 2},
        {"a\xc3\xa9", 2, 1},
        {"a\xc3\xa9", 3, 3},
        {"\xe2\x82\xac\xe2\x82\xac", 4, 3},
        {"\xe2\x82\xac\xe2\x82\xac", 5, 3},
        {"\xe2\x82\xac\xe2\x82\xac", 6, 6},
        {"\xf0\x9f\x98\x80x", 3, 0},
        {"\xf0\x9f\x98\x80x", 4, 4},
        {"", 5, 0},
        {"abc", 0, 0},
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        check_set_case("utf8_cut #%zu", i);
        CHECK_EQ_INT(utf8_cut(cuts[i].s, strlen(cuts[i].s), cuts[i].max), cuts[i].want);
    }

    check_set_case("utf8_valid");
    CHECK(utf8_valid("plain \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 16));
    CHECK(utf8_valid("", 0));
    CHECK(!utf8_valid("\xc3", 1));
    CHECK(!utf8_valid("\xed\xa0\x80", 3));
    CHECK(!utf8_valid("\xc0\x80", 2));
    CHECK(!utf8_valid("\xf4\x90\x80\x80", 4));
    CHECK(utf8_valid("a\0b", 3)); /* NUL is a valid code point; length decides */

    check_set_case("utf8_copy");
    char small[4];
    utf8_copy(small, sizeof small, "a\xc3\xa9\xc3\xa9", 5);
    CHECK_EQ_STR(small, "a\xc3\xa9");
    utf8_copy(small, sizeof small, "\xe2\x82\xac\xe2\x82\xac", 6);
    CHECK_EQ_STR(small, "\xe2\x82\xac");

    check_set_case("error_set");
    lb_error err;
    memset(&err, 0x5a, sizeof err);
    err.message[sizeof err.message - 1] = '\0';
    err.error_code[sizeof err.error_code - 1] = '\0';
    CHECK_EQ_INT(error_set(&err, LB_ERR_RESPONSE, 418, "teapot %d", 7), LB_ERR_RESPONSE);
    CHECK_EQ_INT(err.code, LB_ERR_RESPONSE);
    CHECK_EQ_INT(err.http_status, 418);
    CHECK_EQ_STR(err.message, "teapot 7");
    CHECK_EQ_STR(err.error_code, "");
    CHECK_EQ_INT(error_set(NULL, LB_ERR_AUTH, 401, "x"), LB_ERR_AUTH);

    check_set_case("buf");
    lb_buf b = {0};
    CHECK_EQ_INT(buf_append(&b, "ab", 2), 0);
    CHECK_EQ_INT(buf_append_str(&b, "cd"), 0);
    CHECK_EQ_INT(b.len, 4);
    CHECK_EQ_STR(b.data, "abcd");
    buf_wipe_free(&b);
    lb_buf b2 = {0};
    for (int i = 0; i < 10000; i++)
        buf_append(&b2, "0123456789", 10);
    CHECK_EQ_INT(b2.len, 100000);
    buf_free(&b2);
}

int main(void)
{
    memset(key255, 'k', 255);
    memset(key256, 'k', 256);
    for (size_t i = 0; i < sizeof str_cases / sizeof str_cases[0]; i++)
        run_str_case(&str_cases[i]);
    for (size_t i = 0; i < sizeof list_vcases / sizeof list_vcases[0]; i++)
        run_list_vcase(&list_vcases[i]);
    test_codes();
    test_helpers();
    check_set_case("NULL-safe frees");
    lb_host_free(NULL);
    lb_host_list_free(NULL);
    lb_doctor_report_free(NULL);
    lb_proxy_free(NULL);
    lb_client_close(NULL);
    CHECK(1);
    check_set_case("%s", "");
    return check_summary();
}
