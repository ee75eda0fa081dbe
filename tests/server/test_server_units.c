/* The server's pure pieces in-process, as tables: RFC 3339 times,
 * durations, ids, JSON string escaping, the body parser (NUL bytes kept),
 * and create validation. No sockets, so it also runs under valgrind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "server.h"

static void test_times(void)
{
    static const struct {
        const char *in;
        int rc;
        long long ms;
    } cases[] = {
        {"2026-01-02T03:04:05Z", 0, 1767323045000LL},
        {"2026-01-02t03:04:05z", 0, 1767323045000LL},
        {"2026-01-02 03:04:05Z", 0, 1767323045000LL},
        {"2026-01-02T03:04:05.250Z", 0, 1767323045250LL},
        {"2026-01-02T03:04:05.123456+00:00", 0, 1767323045123LL},
        {"2026-01-02T05:04:05+02:00", 0, 1767323045000LL},
        {"2026-01-01T22:04:05-05:00", 0, 1767323045000LL},
        {"2024-02-29T00:00:00Z", 0, 1709164800000LL},
        {"2026-01-02T03:04:05", -2, 0},
        {"2025-02-29T00:00:00Z", -1, 0},
        {"2100-02-29T00:00:00Z", -1, 0},
        {"2026-13-01T00:00:00Z", -1, 0},
        {"2026-01-02T24:00:00Z", -1, 0},
        {"2026-01-02T03:04:05+2:00", -1, 0},
        {"2026-01-02T03:04:05Zjunk", -1, 0},
        {"2026-01-02T03:04:05.Z", -1, 0},
        {"tomorrow", -1, 0},
        {"", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("parse_time %s", cases[i].in);
        int64_t ms = 0;
        CHECK_EQ_INT(parse_time(cases[i].in, strlen(cases[i].in), &ms), cases[i].rc);
        if (cases[i].rc == 0) CHECK_EQ_INT(ms, cases[i].ms);
    }
    char out[32];
    check_set_case("format_time");
    format_time(1767323045000LL, out);
    CHECK_EQ_STR(out, "2026-01-02T03:04:05Z");
    format_time(1767323045250LL, out);
    CHECK_EQ_STR(out, "2026-01-02T03:04:05.250Z");
}

static void test_durations(void)
{
    static const struct {
        const char *in;
        long long ms;
    } cases[] = {{"10s", 10000}, {"1.5m", 90000}, {"1h", 3600000}, {"2d", 172800000},
                 {"0.2s", 200},  {"0s", 0},       {"10", -1},      {"s", -1},
                 {"5x", -1},     {"-1s", -1},     {"1hh", -1},     {"", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("parse_duration %s", cases[i].in);
        CHECK_EQ_INT(parse_duration(cases[i].in), cases[i].ms);
    }
}

static void test_ids(void)
{
    check_set_case("ids and names");
    char id[37], id2[37], name[16];
    new_uuid(id);
    new_uuid(id2);
    CHECK(is_uuid(id));
    CHECK(strcmp(id, id2) != 0);
    CHECK_EQ_INT(id[14], '4');
    CHECK(strchr("89ab", id[19]) != NULL);
    new_host_name(name);
    CHECK_EQ_INT(strlen(name), 15);
    CHECK(strncmp(name, "sb-", 3) == 0);
    CHECK_EQ_INT(strspn(name + 3, "0123456789abcdef"), 12);
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"00000000-0000-4000-8000-000000000000", 1}, {"ABCDEF00-0000-4000-8000-000000000000", 1},
        {"00000000000040008000000000000000", 0},     {"00000000-0000-4000-8000-00000000000", 0},
        {"0000000g-0000-4000-8000-000000000000", 0}, {"", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("is_uuid %s", cases[i].s);
        CHECK_EQ_INT(is_uuid(cases[i].s), cases[i].ok);
    }
}

static void test_escaping(void)
{
    check_set_case("JSON strings");
    sbuf b = {0};
    sbuf_json_str(&b, "a\"b\\c\n\t\x01\0z", 10);
    CHECK_EQ_STR(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u0000z\"");
    sbuf_free(&b);
    static const struct {
        const char *in, *out;
    } utf8[] = {
        {"caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
        {"a\xc0\x80"
         "b",
         "\"a\\ufffd\\ufffdb\""},
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
        {"x\xe2\x82", "\"x\\ufffd\\ufffd\""},
        {"\xff\"", "\"\\ufffd\\\"\""},
    };
    for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++) {
        check_set_case("JSON strings: UTF-8 row %zu", i);
        sbuf_json_strz(&b, utf8[i].in);
        CHECK_EQ_STR(b.data, utf8[i].out);
        CHECK(utf8_strict(b.data, b.len));
        sbuf_free(&b);
    }
    check_set_case("JSON strings");
    sbuf_json_strz(&b, NULL);
    CHECK_EQ_STR(b.data, "null");
    sbuf_free(&b);
    base64_encode(&b, (const unsigned char *)"ab", 2);
    CHECK_EQ_STR(b.data, "YWI=");
    sbuf_free(&b);
}

static void test_parser(void)
{
    json_error why;
    check_set_case("json_parse keeps NUL bytes and lengths");
    const char *text =
        "{\"env\":{\"A\":\"x\\u0000y\"},\"n\":3,\"d\":2.0,\"z\":null,\"env\":{\"B\":\"1\"}}";
    jnode *root = json_parse(text, strlen(text), &why);
    CHECK(root != NULL);
    if (root) {
        const jnode *env = json_get(root, "env"); /* the last one wins */
        CHECK(env && env->type == J_OBJECT && env->n == 1 && strcmp(env->keys[0], "B") == 0);
        CHECK(root->kids[0]->kids[0]->len == 3 && root->kids[0]->kids[0]->s[1] == '\0');
        CHECK(json_get(root, "n")->type == J_INT);
        CHECK(json_get(root, "d")->type == J_DOUBLE);
        CHECK(json_get(root, "z")->type == J_NULL);
        CHECK(json_get(root, "missing") == NULL);
    }
    json_free(root);
    static const char *const bad[] = {"", "{", "{\"a\":}", "[1,]", "\"\xff\"", "{} {}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_set_case("json_parse refuses %zu", i);
        jnode *n = json_parse(bad[i], strlen(bad[i]), &why);
        CHECK(n == NULL);
        json_free(n);
    }
    check_set_case("json_parse: nesting beyond the limit");
    char deep[201];
    memset(deep, '[', 200);
    deep[200] = '\0';
    CHECK(json_parse(deep, 200, &why) == NULL);
    CHECK_EQ_INT(why.fail, JSON_TOO_DEEP);
}

static void test_utf8(void)
{
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"", 1},
        {"plain", 1},
        {"\xc3\xa9", 1},
        {"\xe2\x82\xac", 1},
        {"\xf0\x9f\x98\x80", 1},
        {"\xf4\x8f\xbf\xbf", 1},     /* U+10FFFF */
        {"\xed\x9f\xbf", 1},         /* U+D7FF, just below the surrogates */
        {"\xc0\x80", 0},             /* overlong NUL */
        {"\xc1\xbf", 0},             /* overlong */
        {"\xe0\x80\xaf", 0},         /* overlong '/' */
        {"\xf0\x80\x80\xaf", 0},     /* overlong '/' */
        {"\xed\xa0\x80", 0},         /* U+D800 */
        {"\xed\xbf\xbf", 0},         /* U+DFFF */
        {"\xf4\x90\x80\x80", 0},     /* U+110000 */
        {"\xf8\x88\x80\x80\x80", 0}, /* five bytes */
        {"\x80", 0},                 /* a lone continuation */
        {"\xe2\x82", 0},             /* cut short */
        {"a\xc3", 0},                /* cut short at the end */
        {"\xc3\x28", 0},             /* a lead byte without its continuation */
        {"\xff", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("utf8_strict row %zu", i);
        CHECK_EQ_INT(utf8_strict(cases[i].s, strlen(cases[i].s)), cases[i].ok);
    }

    static const struct {
        const char *text;
        enum json_fail fail;
    } bodies[] = {
        {"{\"image\":\"\xc0\x80\"}", JSON_BAD_UTF8},
        {"{\"\xed\xa0\x80\":1}", JSON_BAD_UTF8},
        {"[\"\\udc00\"]", JSON_BAD_UTF8},
        {"[\"\\ud83d\\ude00\"]", JSON_OK},
        {"[\"\\uD83D\\uDE00\"]", JSON_OK},
        {"[\"\\ud800\"]", JSON_BAD_UTF8},
        {"[\"\\ud800x\"]", JSON_BAD_UTF8},
        {"[\"\\ud800\\u0041\"]", JSON_BAD_UTF8},
        {"[\"\\ud800\\ud800\"]", JSON_BAD_UTF8},
        {"[\"\\\\ud800\"]", JSON_OK}, /* an escaped backslash, then text */
        {"[\"a\\\"\\ud83d\\ude00\"]", JSON_OK},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        check_set_case("json_parse UTF-8 row %zu", i);
        json_error err;
        jnode *n = json_parse(bodies[i].text, strlen(bodies[i].text), &err);
        CHECK_EQ_INT(err.fail, bodies[i].fail);
        CHECK_EQ_INT(n != NULL, bodies[i].fail == JSON_OK);
        json_free(n);
    }
}

/* An object or array of n members, all "K<i>":1 (or 1s). */
static char *members(int n, int object)
{
    size_t cap = (size_t)n * 16 + 8, len = 0;
    char *s = malloc(cap);
    s[len++] = object ? '{' : '[';
    for (int i = 0; i < n; i++)
        len += (size_t)(object ? snprintf(s + len, cap - len, "%s\"K%d\":1", i ? "," : "", i)
                               : snprintf(s + len, cap - len, "%s1", i ? "," : ""));
    s[len++] = object ? '}' : ']';
    s[len] = '\0';
    return s;
}

static void test_member_limit(void)
{
    static const struct {
        int n, object;
        enum json_fail fail;
    } cases[] = {
        {256, 1, JSON_OK}, {257, 1, JSON_TOO_MANY}, {40000, 1, JSON_TOO_MANY},
        {256, 0, JSON_OK}, {257, 0, JSON_TOO_MANY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("json_parse: %s of %d members", cases[i].object ? "object" : "array",
                       cases[i].n);
        char *text = members(cases[i].n, cases[i].object);
        json_error err;
        jnode *n = json_parse(text, strlen(text), &err);
        CHECK_EQ_INT(err.fail, cases[i].fail);
        json_free(n);
        free(text);
    }
}

static void test_validate(void)
{
    static const struct {
        const char *body;
        int ok;
        const char *want; /* in the 422 list */
    } cases[] = {
        {"{}", 1, NULL},
        {"{\"env\":{\"A_1\":\"v\",\"_b\":\"\"},\"disk_gb\":2.0}", 1, NULL},
        {"{\"env\":{\"TAILSCALE_AUTHKEY\":\"v\"}}", 0, "reserved env keys are not allowed"},
        {"{\"env\":{\"A\":\"v\",\"A\":1}}", 0, "\"loc\":[\"body\",\"env\",\"A\"]"},
        {"{\"env\":{\"A\":1,\"A\":\"v\"}}", 1, NULL},
        {"{\"env\":{\"\":\"v\"}}", 0, "env keys must match"},
        {"{\"env\":{\"a\\u0000\":\"v\"}}", 0, "a\\\\u0000"},
        {"{\"disk_gb\":1.5}", 0, "int_type"},
        {"{\"disk_gb\":true}", 0, "int_type"},
        {"{\"disk_gb\":9.3e18}", 0, "int_type"},
        {"{\"disk_gb\":-1e300}", 0, "int_type"},
        {"{\"disk_gb\":4e9}", 1, NULL},
        {"{\"env\":{\"A\":\"1\",\"B\":\"2\",\"A\":\"3\",\"C\":4,\"C\":\"5\",\"B\":\"6\"}}", 1,
         NULL},
        {"{\"image\":\"a\\u0000b\"}", 0, "must not contain NUL"},
        {"{\"expires_at\":null}", 1, NULL},
        {"{\"expires_at\":\"2099-01-01T00:00:00Z\"}", 1, NULL},
        {"7", 0, "model_attributes_type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("validate_create %s", cases[i].body);
        json_error why;
        jnode *body = json_parse(cases[i].body, strlen(cases[i].body), &why);
        CHECK(body != NULL);
        verrs e = {0};
        create_req req;
        int rc = validate_create(body, &req, &e);
        CHECK_EQ_INT(rc == 0, cases[i].ok);
        if (cases[i].want) CHECK_CONTAINS(e.json.data, cases[i].want);
        if (rc == 0) create_req_free(&req);
        verrs_free(&e);
        json_free(body);
    }
    check_set_case("validate_create: explicit null expiry is permanent");
    json_error why;
    jnode *body = json_parse("{\"expires_at\":null}", 19, &why);
    verrs e = {0};
    create_req req;
    CHECK_EQ_INT(validate_create(body, &req, &e), 0);
    CHECK_EQ_INT(req.expires_set, 2);
    create_req_free(&req);
    json_free(body);
    check_set_case("validate_create: no body is all defaults");
    CHECK_EQ_INT(validate_create(NULL, &req, &e), 0);
    CHECK_EQ_INT(req.expires_set, 0);
    create_req_free(&req);
}

int main(void)
{
    test_times();
    test_durations();
    test_ids();
    test_escaping();
    test_parser();
    test_utf8();
    test_member_limit();
    test_validate();
    return check_summary();
}
