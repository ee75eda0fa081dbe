/* The error classifier (docs/api.md: classification, messages, redaction)
 * as a table of {status, body, token, expected code, message, error_code}.
 * No sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decode/decode.h"
#include "litterbox.h"

#define TOKEN "tok-SECRET-0123456789abcdef"

/* Independent of the library's own helper, on purpose. */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

static int has_control_bytes(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

typedef struct error_case {
    int line;
    int status;
    const char *body;
    const char *secret;
    lb_code code;
    const char *message;     /* exact, or NULL */
    const char *contains[3]; /* fragments, any of them NULL */
    const char *lacks;       /* never in message or error_code */
    const char *error_code;  /* exact */
} error_case;

#define VALIDATION_LIST                                                                         \
    "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\",\"env\"],\"msg\":\"Value error, " \
    "reserved env keys are not allowed: TAILSCALE_AUTHKEY\",\"input\":{}},"                     \
    "{\"type\":\"string_too_short\",\"loc\":[\"body\",\"image\"],\"msg\":\"String should have "   \
    "at least 1 character\"}]}"
#define HTML_502 "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body></html>"

static const error_case error_cases[] = {
    /* the status decides, whatever the body */
    {__LINE__, 401, "{\"detail\":\"service token required\"}", TOKEN, LB_ERR_AUTH,
     "service token required", {NULL}, NULL, ""},
    {__LINE__, 403, "{\"detail\":\"service token rejected\"}", TOKEN, LB_ERR_AUTH,
     "service token rejected", {NULL}, NULL, ""},
    {__LINE__, 401, "", TOKEN, LB_ERR_AUTH, NULL, {"HTTP 401"}, NULL, ""},
    {__LINE__, 403, "<html>Forbidden</html>", TOKEN, LB_ERR_AUTH, NULL, {"403", "Forbidden"},
     NULL, ""},
    {__LINE__, 404, "{\"detail\":\"host not found\"}", TOKEN, LB_ERR_NOT_FOUND, "host not found",
     {NULL}, NULL, ""},
    {__LINE__, 404, "<html><body>Not Found</body></html>", TOKEN, LB_ERR_NOT_FOUND, NULL,
     {"404", "Not Found"}, NULL, ""},
    {__LINE__, 409, "{\"detail\":\"host is provisioning\",\"error_code\":\"HOST_STATE\"}", TOKEN,
     LB_ERR_CONFLICT, "host is provisioning", {NULL}, NULL, "HOST_STATE"},
    {__LINE__, 409, "{\"error_code\":\"HTTP_PROXY_EXISTS\",\"detail\":\"proxy web exists\"}",
     TOKEN, LB_ERR_CONFLICT, "proxy web exists", {NULL}, NULL, "HTTP_PROXY_EXISTS"},
    {__LINE__, 422, VALIDATION_LIST, TOKEN, LB_ERR_VALIDATION,
     "body.env: Value error, reserved env keys are not allowed: TAILSCALE_AUTHKEY; "
     "body.image: String should have at least 1 character",
     {NULL}, NULL, ""},
    {__LINE__, 422,
     "{\"detail\":[{\"loc\":[\"body\",\"env\",\"TAILSCALE_AUTHKEY\"],\"msg\":\"reserved\","
     "\"type\":\"value_error\"}]}",
     TOKEN, LB_ERR_VALIDATION, "body.env.TAILSCALE_AUTHKEY: reserved", {NULL}, NULL, ""},
    {__LINE__, 422,
     "{\"detail\":[{\"loc\":[\"body\",\"env\",0],\"msg\":\"bad\",\"type\":\"x\"}]}", TOKEN,
     LB_ERR_VALIDATION, "body.env.0: bad", {NULL}, NULL, ""},
    {__LINE__, 422, "{\"detail\":\"expires_at must be in the future\"}", TOKEN,
     LB_ERR_VALIDATION, "expires_at must be in the future", {NULL}, NULL, ""},
    {__LINE__, 429, "{\"detail\":\"slow down\"}", TOKEN, LB_ERR_UNAVAILABLE, "slow down", {NULL},
     NULL, ""},
    {__LINE__, 503, "{\"detail\":\"host is being torn down\",\"error_code\":\"HOST_TEARDOWN\"}",
     TOKEN, LB_ERR_UNAVAILABLE, "host is being torn down", {NULL}, NULL, "HOST_TEARDOWN"},
    {__LINE__, 503, "Service Unavailable", TOKEN, LB_ERR_UNAVAILABLE, NULL,
     {"503", "Service Unavailable"}, NULL, ""},
    {__LINE__, 504, "<html>Gateway Timeout</html>", TOKEN, LB_ERR_UNAVAILABLE, NULL,
     {"504", "Gateway Timeout"}, NULL, ""},
    {__LINE__, 502,
     "{\"detail\":\"provisioning failed: no capacity\",\"error_code\":\"PROVISIONING_FAILED\"}",
     TOKEN, LB_ERR_PROVISIONING, "provisioning failed: no capacity", {NULL}, NULL,
     "PROVISIONING_FAILED"},
    {__LINE__, 502, "{\"detail\":\"boom\"}", TOKEN, LB_ERR_PROVISIONING, "boom", {NULL}, NULL,
     ""},
    {__LINE__, 502, HTML_502, TOKEN, LB_ERR_UNAVAILABLE, NULL, {"502", "Bad Gateway"}, NULL, ""},
    {__LINE__, 502, "", TOKEN, LB_ERR_UNAVAILABLE, NULL, {"502"}, NULL, ""},
    {__LINE__, 502, "{\"error\":\"upstream\"}", TOKEN, LB_ERR_UNAVAILABLE, NULL, {"502"}, NULL,
     ""},
    {__LINE__, 502, "{\"detail\":42}", TOKEN, LB_ERR_UNAVAILABLE, NULL, {"502"}, NULL, ""},
    {__LINE__, 502, "{\"detail\":null}", TOKEN, LB_ERR_UNAVAILABLE, NULL, {"502"}, NULL, ""},
    {__LINE__, 502, "[{\"detail\":\"x\"}]", TOKEN, LB_ERR_UNAVAILABLE, NULL, {"502"}, NULL, ""},
    {__LINE__, 502, "\"detail\"", TOKEN, LB_ERR_UNAVAILABLE, NULL, {"502"}, NULL, ""},
    {__LINE__, 502, "{\"detail\":\"x\"", TOKEN, LB_ERR_UNAVAILABLE, NULL, {"502"}, NULL, ""},
    {__LINE__, 501,
     "{\"detail\":\"provider has no HTTP proxies\",\"error_code\":\"HTTP_PROXY_UNSUPPORTED\"}",
     TOKEN, LB_ERR_RESPONSE, "provider has no HTTP proxies", {NULL}, NULL,
     "HTTP_PROXY_UNSUPPORTED"},
    {__LINE__, 400, "{\"detail\":\"unknown provider: nope\"}", TOKEN, LB_ERR_RESPONSE,
     "unknown provider: nope", {NULL}, NULL, ""},
    {__LINE__, 405, "{\"detail\":\"Method Not Allowed\"}", TOKEN, LB_ERR_RESPONSE,
     "Method Not Allowed", {NULL}, NULL, ""},
    {__LINE__, 410, "", TOKEN, LB_ERR_RESPONSE, NULL, {"410"}, NULL, ""},
    {__LINE__, 418, "{}", TOKEN, LB_ERR_RESPONSE, "HTTP 418", {NULL}, NULL, ""},
    {__LINE__, 500, "{\"detail\":\"Internal Server Error\"}", TOKEN, LB_ERR_RESPONSE,
     "Internal Server Error", {NULL}, NULL, ""},
    {__LINE__, 500, "Internal Server Error", TOKEN, LB_ERR_RESPONSE, NULL,
     {"500", "Internal Server Error"}, NULL, ""},
    {__LINE__, 599, "{\"detail\":\"odd\"}", TOKEN, LB_ERR_RESPONSE, "odd", {NULL}, NULL, ""},
    /* 3xx: never followed, a response error naming the status */
    {__LINE__, 301, "", TOKEN, LB_ERR_RESPONSE, NULL, {"301"}, NULL, ""},
    {__LINE__, 302, "<a href=\"/x\">Found</a>", TOKEN, LB_ERR_RESPONSE, NULL, {"302"}, NULL, ""},
    {__LINE__, 307, "{\"detail\":\"moved\"}", TOKEN, LB_ERR_RESPONSE, NULL, {"307"}, NULL, ""},
    {__LINE__, 308, "", TOKEN, LB_ERR_RESPONSE, NULL, {"308"}, NULL, ""},

    /* the missing detail */
    {__LINE__, 404, "{}", TOKEN, LB_ERR_NOT_FOUND, "HTTP 404", {NULL}, NULL, ""},
    {__LINE__, 409, "{\"error_code\":\"HOST_STATE\"}", TOKEN, LB_ERR_CONFLICT, "HTTP 409",
     {NULL}, NULL, "HOST_STATE"},
    {__LINE__, 404, "{\"detail\":null}", TOKEN, LB_ERR_NOT_FOUND, NULL, {"HTTP 404"}, NULL, ""},
    {__LINE__, 404, "", TOKEN, LB_ERR_NOT_FOUND, NULL, {"HTTP 404"}, NULL, ""},
    /* non-JSON bodies: quoted after the status, control bytes escaped */
    {__LINE__, 500, "line one\nline two\ttab\x01" "end", TOKEN, LB_ERR_RESPONSE, NULL,
     {"500", "line one", "end"}, NULL, ""},
    /* unknown fields around the detail */
    {__LINE__, 404, "{\"x\":{\"detail\":\"WRONG\"},\"detail\":\"host not found\",\"y\":[1]}",
     TOKEN, LB_ERR_NOT_FOUND, "host not found", {NULL}, NULL, ""},

    /* the token is redacted wherever it appears */
    {__LINE__, 401, "{\"detail\":\"bad token " TOKEN " and " TOKEN "\"}", TOKEN, LB_ERR_AUTH,
     "bad token *** and ***", {NULL}, TOKEN, ""},
    {__LINE__, 403, "<html>token " TOKEN " rejected</html>", TOKEN, LB_ERR_AUTH, NULL,
     {"***", "rejected"}, TOKEN, ""},
    {__LINE__, 422,
     "{\"detail\":[{\"loc\":[\"header\",\"authorization\"],\"msg\":\"bad " TOKEN "\"}]}", TOKEN,
     LB_ERR_VALIDATION, "header.authorization: bad ***", {NULL}, TOKEN, ""},
    {__LINE__, 502, "{\"detail\":\"" TOKEN "\",\"error_code\":\"PROVISIONING_FAILED\"}", TOKEN,
     LB_ERR_PROVISIONING, "***", {NULL}, TOKEN, "PROVISIONING_FAILED"},
    {__LINE__, 409, "{\"detail\":\"x\",\"error_code\":\"" TOKEN "\"}", TOKEN, LB_ERR_CONFLICT,
     "x", {NULL}, "SECRET", NULL},
    /* no secret: nothing redacted, nothing crashes */
    {__LINE__, 404, "{\"detail\":\"" TOKEN "\"}", NULL, LB_ERR_NOT_FOUND, TOKEN, {NULL}, NULL,
     ""},
    {__LINE__, 404, "{\"detail\":\"" TOKEN "\"}", "", LB_ERR_NOT_FOUND, TOKEN, {NULL}, NULL, ""},

    /* read by the library's own reader: what is not strict JSON is quoted */
    {__LINE__, 404, "{\"detail\":\"gone\"}\f", TOKEN, LB_ERR_NOT_FOUND,
     "HTTP 404: \"{\\\"detail\\\":\\\"gone\\\"}\\x0C\"", {NULL}, NULL, ""},
    {__LINE__, 409, "\v{\"detail\":\"busy\",\"error_code\":\"HOST_STATE\"}", TOKEN,
     LB_ERR_CONFLICT, NULL, {"HTTP 409: \"\\x0B{"}, NULL, ""},
    {__LINE__, 404, "{\"detail\":\"\xc0\xaf\"}", TOKEN, LB_ERR_NOT_FOUND, NULL,
     {"HTTP 404: \"{", "\\xC0\\xAF"}, NULL, ""},
    {__LINE__, 502, "{\"detail\":\"no \xed\xa0\x80 capacity\"}", TOKEN, LB_ERR_UNAVAILABLE,
     NULL, {"HTTP 502: \"{"}, NULL, ""},
    /* texts keep their length: a \u0000 is escaped, not an end */
    {__LINE__, 404, "{\"detail\":\"a\\u0000b\"}", TOKEN, LB_ERR_NOT_FOUND, "a\\x00b", {NULL},
     NULL, ""},
    {__LINE__, 409, "{\"detail\":\"x\",\"error_code\":\"A\\u0000B\"}", TOKEN, LB_ERR_CONFLICT,
     "x", {NULL}, NULL, "A\\x00B"},
    {__LINE__, 422, "{\"detail\":[{\"loc\":[\"body\",\"k\\u0000\"],\"msg\":\"m\\u0000\"}]}",
     TOKEN, LB_ERR_VALIDATION, "body.k\\x00: m\\x00", {NULL}, NULL, ""},
    /* a repeated member: the first counts */
    {__LINE__, 404, "{\"detail\":\"first\",\"detail\":\"second\"}", TOKEN, LB_ERR_NOT_FOUND,
     "first", {NULL}, NULL, ""},
};

static void run_error_case(const error_case *c)
{
    lb_error err;
    check_set_case("status %d, body %.40s (line %d)", c->status, c->body, c->line);
    memset(&err, 0x5a, sizeof err);
    lb_code rc = error_from_response(c->status, c->body, strlen(c->body), c->secret, &err);
    CHECK_EQ_INT(rc, c->code);
    CHECK_EQ_INT(err.code, c->code);
    CHECK_EQ_INT(err.http_status, c->status);
    if (!CHECK(memchr(err.message, '\0', sizeof err.message) != NULL) ||
        !CHECK(memchr(err.error_code, '\0', sizeof err.error_code) != NULL))
        return;
    if (c->message)
        CHECK_EQ_STR(err.message, c->message);
    for (int i = 0; i < 3 && c->contains[i]; i++)
        CHECK_CONTAINS(err.message, c->contains[i]);
    if (c->lacks) {
        CHECK_LACKS(err.message, c->lacks);
        CHECK_LACKS(err.error_code, c->lacks);
    }
    if (c->error_code)
        CHECK_EQ_STR(err.error_code, c->error_code);
    CHECK(err.message[0] != '\0');
    CHECK(!has_control_bytes(err.message));
    CHECK(valid_utf8(err.message));
    /* err may be NULL */
    CHECK_EQ_INT(error_from_response(c->status, c->body, strlen(c->body), c->secret, NULL),
                 c->code);
}

/* Longest run of ch in s. */
static size_t longest_run(const char *s, char ch)
{
    size_t best = 0, cur = 0;
    for (; *s; s++) {
        cur = *s == ch ? cur + 1 : 0;
        if (cur > best)
            best = cur;
    }
    return best;
}

static void test_lengths(void)
{
    lb_error err;
    char *body = malloc(8192);
    char *detail = malloc(8192);
    if (!body || !detail)
        abort();

    /* A non-JSON body is quoted after the status. */
    static const struct {
        int status;
        const char *body, *quoted;
    } quoted[] = {
        {500, "line one\nline two", "\"line one"},
        {502, "<html>Bad Gateway</html>", "\"<html>Bad Gateway"},
        {404, "Not Found", "\"Not Found"},
        {418, "[1,", "\"[1,"},
        {503, "{\"detail\":\"cut", "\"{"},
    };
    for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++) {
        check_set_case("non-JSON body %d %s", quoted[i].status, quoted[i].quoted);
        error_from_response(quoted[i].status, quoted[i].body, strlen(quoted[i].body), TOKEN,
                            &err);
        char head[16];
        snprintf(head, sizeof head, "HTTP %d", quoted[i].status);
        CHECK(strncmp(err.message, head, strlen(head)) == 0);
        CHECK_CONTAINS(err.message, quoted[i].quoted);
        CHECK_EQ_INT(err.http_status, quoted[i].status);
    }

    /* A non-JSON body is quoted, at most 200 bytes of it. */
    check_set_case("non-JSON body of 1000 bytes");
    memset(body, 'a', 1000);
    body[1000] = '\0';
    error_from_response(500, body, 1000, TOKEN, &err);
    CHECK_EQ_INT(err.code, LB_ERR_RESPONSE);
    CHECK_CONTAINS(err.message, "500");
    CHECK(longest_run(err.message, 'a') <= 200);
    CHECK(longest_run(err.message, 'a') >= 150);

    /* ... cut on a UTF-8 boundary, whatever the character width. */
    static const char *const widths[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (int w = 0; w < 3; w++) {
        for (int lead = 0; lead < 4; lead++) {
            check_set_case("non-JSON body, %d-byte characters after %d ASCII", w + 2, lead);
            size_t len = 0;
            for (int i = 0; i < lead; i++)
                body[len++] = 'x';
            while (len < 600) {
                memcpy(body + len, widths[w], strlen(widths[w]));
                len += strlen(widths[w]);
            }
            body[len] = '\0';
            error_from_response(502, body, len, TOKEN, &err);
            CHECK_EQ_INT(err.code, LB_ERR_UNAVAILABLE);
            CHECK(valid_utf8(err.message));
            CHECK_CONTAINS(err.message, widths[w]);
            CHECK(strlen(err.message) < 200 + 100);
        }
    }

    /* A detail over 511 bytes is cut on a UTF-8 boundary, as late as fits. */
    for (int w = 0; w < 3; w++) {
        for (int lead = 0; lead < 4; lead++) {
            check_set_case("long detail, %d-byte characters after %d ASCII", w + 2, lead);
            size_t len = 0;
            for (int i = 0; i < lead; i++)
                detail[len++] = 'y';
            while (len < 1500) {
                memcpy(detail + len, widths[w], strlen(widths[w]));
                len += strlen(widths[w]);
            }
            detail[len] = '\0';
            int n = snprintf(body, 8192, "{\"detail\":\"%s\"}", detail);
            error_from_response(404, body, (size_t)n, TOKEN, &err);
            CHECK_EQ_INT(err.code, LB_ERR_NOT_FOUND);
            size_t ml = strlen(err.message);
            CHECK(ml <= 511);
            CHECK(ml >= 511 - 3);
            CHECK(valid_utf8(err.message));
            CHECK(strncmp(err.message, detail, ml) == 0);
        }
    }

    /* The token is redacted before any cut: no piece of it survives. */
    for (size_t at = 150; at < 215; at += 3) {
        check_set_case("non-JSON body with the token at %zu", at);
        memset(body, 'b', at);
        size_t len = at + (size_t)sprintf(body + at, "%s", TOKEN);
        memset(body + len, 'c', 300);
        len += 300;
        body[len] = '\0';
        error_from_response(500, body, len, TOKEN, &err);
        CHECK_LACKS(err.message, "SECRET");
        CHECK_LACKS(err.message, "tok-S");
    }
    for (size_t at = 480; at < 512; at += 2) {
        check_set_case("long detail with the token at %zu", at);
        memset(detail, 'd', at);
        size_t len = at + (size_t)sprintf(detail + at, "%s", TOKEN);
        memset(detail + len, 'e', 100);
        detail[len + 100] = '\0';
        int n = snprintf(body, 8192, "{\"detail\":\"%s\"}", detail);
        error_from_response(409, body, (size_t)n, TOKEN, &err);
        CHECK_LACKS(err.message, "SECRET");
        CHECK_LACKS(err.message, "tok-S");
    }

    /* error_code longer than the field: cut, terminated. */
    check_set_case("long error_code");
    memset(detail, 'E', 200);
    detail[200] = '\0';
    int n = snprintf(body, 8192, "{\"detail\":\"x\",\"error_code\":\"%s\"}", detail);
    error_from_response(409, body, (size_t)n, TOKEN, &err);
    CHECK_EQ_INT(err.code, LB_ERR_CONFLICT);
    CHECK(strlen(err.error_code) <= 63);
    CHECK(strncmp(err.error_code, detail, strlen(err.error_code)) == 0);

    /* A 422 list too long for the message still ends on a boundary. */
    check_set_case("long 422 list");
    size_t len = (size_t)sprintf(body, "{\"detail\":[");
    for (int i = 0; i < 40; i++)
        len += (size_t)sprintf(body + len, "%s{\"loc\":[\"body\",\"env\",\"K%d\"],\"msg\":\"%s\"}",
                               i ? "," : "", i, "m\xc3\xa9ssage");
    len += (size_t)sprintf(body + len, "]}");
    error_from_response(422, body, len, TOKEN, &err);
    CHECK_EQ_INT(err.code, LB_ERR_VALIDATION);
    CHECK(strncmp(err.message, "body.env.K0: m\xc3\xa9ssage; body.env.K1: ", 35) == 0);
    CHECK(strlen(err.message) <= 511);
    CHECK(valid_utf8(err.message));

    free(body);
    free(detail);
}

/* Redaction shrinks text, so it must happen on the whole body before any
 * cut: no prefix of the token may slide into the quoted window. */
static void test_token_at_the_cut(void)
{
    lb_error err;
    char body[1024];
    size_t tlen = strlen(TOKEN);
    for (size_t gap = 150; gap <= 200; gap++) {
        check_set_case("non-JSON body, second token %zu bytes after the first", gap);
        size_t n = 0;
        memcpy(body + n, TOKEN, tlen), n += tlen;
        memset(body + n, 'A', gap), n += gap;
        memcpy(body + n, TOKEN, tlen), n += tlen;
        memcpy(body + n, "<html>", 6), n += 6;
        error_from_response(500, body, n, TOKEN, &err);
        CHECK_LACKS(err.message, "tok-SEC"); /* no part of the token's front */
        CHECK_LACKS(err.message, "0123456789abcdef");
    }

    check_set_case("error_code holding the token after 50 bytes");
    snprintf(body, sizeof body,
             "{\"detail\":\"x\",\"error_code\":\"%s%s\"}",
             "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE", TOKEN);
    error_from_response(409, body, strlen(body), TOKEN, &err);
    CHECK_LACKS(err.error_code, "tok-SEC");
    CHECK(strncmp(err.error_code, "EEEEEEEEEE", 10) == 0);

    check_set_case("error_code that is a token longer than the field");
    char long_token[100];
    memset(long_token, 'Z', 80);
    long_token[80] = '\0';
    snprintf(body, sizeof body, "{\"detail\":\"x\",\"error_code\":\"%s\"}", long_token);
    error_from_response(409, body, strlen(body), long_token, &err);
    CHECK_LACKS(err.error_code, "ZZZ");
    CHECK_EQ_STR(err.error_code, "***");

    check_set_case("error_code with control bytes is one printable line");
    snprintf(body, sizeof body, "{\"detail\":\"x\",\"error_code\":\"A\\nB\"}");
    error_from_response(409, body, strlen(body), TOKEN, &err);
    CHECK(!has_control_bytes(err.error_code));
}

int main(void)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++)
        run_error_case(&error_cases[i]);
    test_lengths();
    test_token_at_the_cut();
    check_set_case("%s", "");
    return check_summary();
}
