/* Out of memory in the decoders: every allocation the library makes while
 * decoding is failed in turn (linked with -Wl,--wrap=malloc,calloc,realloc),
 * and each time the call must come back with LB_ERR_NOMEM (or, where the
 * spec lets it degrade, its ordinary answer), its outputs NULL, its message
 * one terminated line, and nothing leaked (ASan and valgrind watch). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_server.h"
#include "decode_support.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* -1: nothing fails. k >= 0: the allocation k from now fails (then -1).
 * Only the test's own thread counts: the fake server's thread allocates
 * through the same wrappers and must not be disturbed. */
static long fail_in = -1;
static int failed; /* an allocation was failed since arm() */
static _Thread_local int test_thread;

static int should_fail(void)
{
    if (fail_in < 0 || !test_thread)
        return 0;
    if (fail_in-- == 0) {
        failed = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

static void arm(long k)
{
    fail_in = k;
    failed = 0;
}

static void disarm(void)
{
    fail_in = -1;
}

#define REC(id, extra)                                                                            \
    "{\"id\":\"" id "\",\"name\":\"sb-1\",\"status\":\"active\",\"external_ssh_host\":\"10.0.0.1\"," \
    "\"external_ssh_port\":22,\"known_hosts\":\"10.0.0.1 ssh-ed25519 AAAA\\n\"" extra "}"

static const char one_host[] = REC("h1", ",\"private_key\":\"-----BEGIN-----\\nabc\\n\"");
/* One record each road: the shortcut, \u escapes (the reader's token
 * buffer), a nested unknown member (its stack). */
static const char list_body[] =
    "[" REC("h1", "") "," REC("h2", ",\"name\":\"\\u00e9\\ud83d\\ude00\"") "," REC(
        "h3", ",\"tags\":[[[{\"a\":[1,2,{\"b\":null}]}]]]") "]";

static const char doctor_body[] =
    "{\"ok\":true,\"active_provider\":\"fake\",\"tailscale_enabled\":false,\"checks\":["
    "{\"name\":\"db\",\"status\":\"ok\",\"latency_ms\":2,\"detail\":\"fine\",\"hint\":null}]}";

/* What one scenario returns: its code, and whether its outputs were NULL
 * on failure. */
typedef struct outcome {
    lb_code rc;
    int outputs_clear;
} outcome;

static void check_message(const lb_error *err)
{
    CHECK(memchr(err->message, '\0', sizeof err->message) != NULL);
    CHECK(strchr(err->message, '\n') == NULL);
}

static outcome run_host(lb_error *err)
{
    lb_host *h = (lb_host *)err;
    lb_code rc = host_decode(one_host, sizeof one_host - 1, &h, err);
    outcome o = {rc, rc == LB_OK || h == NULL};
    if (rc == LB_OK)
        CHECK_EQ_STR(h->private_key, "-----BEGIN-----\nabc\n");
    lb_host_free(rc == LB_OK ? h : NULL);
    return o;
}

/* A list fed in pieces of `piece` bytes, the shortcut on or off, with or
 * without a length hint (slabs sized from it). */
static outcome run_list(lb_error *err, size_t piece, int shortcut, int hint)
{
    outcome o = {LB_ERR_NOMEM, 1};
    host_decoder *d = host_decoder_new(1);
    if (!d) { /* as the engine reports it */
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
        return o;
    }
    if (!shortcut)
        host_decoder_no_shortcut(d);
    if (hint)
        host_decoder_expect(d, sizeof list_body - 1);
    lb_code rc = LB_OK;
    size_t len = sizeof list_body - 1;
    for (size_t off = 0; rc == LB_OK && off < len; off += piece)
        rc = host_decoder_feed(d, list_body + off, len - off < piece ? len - off : piece, err);
    lb_host_list *l = (lb_host_list *)err;
    if (rc == LB_OK)
        rc = host_decoder_finish(d, NULL, &l, err);
    else
        l = NULL;
    host_decoder_free(d);
    o.rc = rc;
    o.outputs_clear = rc == LB_OK || l == NULL;
    if (rc == LB_OK && CHECK_EQ_INT(l->count, 3))
        CHECK_EQ_STR(l->hosts[1]->name, "\xc3\xa9\xf0\x9f\x98\x80");
    lb_host_list_free(rc == LB_OK ? l : NULL);
    return o;
}

static outcome run_list_whole(lb_error *err)
{
    return run_list(err, sizeof list_body, 1, 0);
}
static outcome run_list_bytes_events(lb_error *err)
{
    return run_list(err, 1, 0, 0);
}
static outcome run_list_pieces_hinted(lb_error *err)
{
    return run_list(err, 300, 1, 1);
}

static outcome run_doctor(lb_error *err)
{
    lb_doctor_report *r = (lb_doctor_report *)err;
    lb_code rc = doctor_decode(doctor_body, sizeof doctor_body - 1, &r, err);
    outcome o = {rc, rc == LB_OK || r == NULL};
    lb_doctor_report_free(rc == LB_OK ? r : NULL);
    return o;
}

static outcome run_proxy(lb_error *err)
{
    static const char body[] = "{\"name\":\"p1\",\"host_id\":\"h1\",\"status\":\"attached\"}";
    lb_proxy *p = (lb_proxy *)err;
    lb_code rc = proxy_decode(body, sizeof body - 1, 1, &p, err);
    outcome o = {rc, rc == LB_OK || p == NULL};
    lb_proxy_free(rc == LB_OK ? p : NULL);
    return o;
}

/* The classifier may keep its answer without the body's detail (the body
 * then reads as not JSON): either its code or LB_ERR_NOMEM. */
static outcome run_classifier(lb_error *err)
{
    static const char body[] =
        "{\"detail\":[{\"loc\":[\"body\",\"env\"],\"msg\":\"bad env SECRET-TOKEN\"}]}";
    lb_code rc = error_from_response(422, body, sizeof body - 1, "SECRET-TOKEN", err);
    if (rc == LB_ERR_VALIDATION)
        CHECK(strstr(err->message, "SECRET-TOKEN") == NULL);
    outcome o = {rc == LB_ERR_VALIDATION ? LB_OK : rc, 1};
    return o;
}

/* The request path end to end, against the fake server: a client, then a
 * create (env, key, expiry), a renew and a proxy create (the three JSON
 * bodies), a list and a get answered 404 (the classifier through the
 * engine). The plain answer is LB_ERR_NOT_FOUND from the get. Every body
 * the server received must be the whole body of the run without failures:
 * a half-written one must never be sent. */
static fake_server *fs;
static char *reference[3]; /* create, renew, proxy bodies of the clean run */

#define HOST_BODY                                                                                \
    "{\"id\":\"h1\",\"status\":\"active\",\"external_ssh_host\":\"10.0.0.1\","                 \
    "\"external_ssh_port\":22,\"private_key\":\"-----BEGIN-----\\nkey\\n\"}"

/* The answers, in the order the calls are made (a run stops at its first
 * failure). Queued with failures paused: the fake server copies them. */
static void queue_answers(void)
{
    long paused = fail_in;
    fail_in = -1;
    fs_reset(fs);
    fs_response r[] = {
        {.status = 201, .body = HOST_BODY},
        {.status = 200, .body = HOST_BODY},
        {.status = 201, .body = "{\"name\":\"p1\",\"status\":\"active\"}"},
        {.status = 200, .body = "[" HOST_BODY "," HOST_BODY "]"},
        {.status = 404, .body = "{\"detail\":\"Host not found\"}"},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        fs_push(fs, &r[i]);
    fail_in = paused;
}

/* The recorded request with this method and target, or NULL. */
static const fs_request *request_to(const char *method, const char *target)
{
    for (size_t i = 0; i < fs_request_count(fs); i++) {
        const fs_request *q = fs_request_at(fs, i);
        if (strcmp(q->method, method) == 0 && strcmp(q->target, target) == 0)
            return q;
    }
    return NULL;
}

static void check_bodies(int record)
{
    static const char *const calls[3][2] = {
        {"POST", "/hosts"}, {"POST", "/hosts/h1/renew"}, {"POST", "/http-proxies"}};
    for (int i = 0; i < 3; i++) {
        const fs_request *q = request_to(calls[i][0], calls[i][1]);
        if (record) {
            if (CHECK(q != NULL && q->has_body))
                reference[i] = strdup(q->body);
        } else if (q && reference[i]) {
            CHECK_EQ_STR(q->body, reference[i]);
        }
    }
}

static outcome run_client_calls(lb_error *err)
{
    outcome o = {LB_OK, 1};
    lb_client *c = lb_client_new(fs_url(fs), "SECRET-TOKEN", NULL, err);
    if (!c) {
        o.rc = err->code;
        return o;
    }
    static const char *const env[] = {"A=1", "SECRET=two \"words\"", NULL};
    static const char *const headers[] = {"X-Key: v", NULL};
    lb_create_opts opts = LB_CREATE_OPTS_INIT;
    opts.image = "debian-12";
    opts.env = env;
    opts.expires_at = 1900000000;
    opts.idempotency_key = "key-1";
    lb_host *h = NULL;
    lb_proxy *p = NULL;
    lb_host_list *l = NULL;
    lb_code rc = lb_create_host(c, &opts, &h, err);
    if (rc == LB_OK) {
        CHECK_EQ_STR(h->private_key, "-----BEGIN-----\nkey\n");
        lb_host_free(h);
        h = NULL;
        rc = lb_renew_host(c, "h1", 1900000000, &h, err);
    }
    if (rc == LB_OK) {
        lb_host_free(h);
        h = NULL;
        rc = lb_create_proxy(c, "p1", "https://example.com", headers, &p, err);
    }
    if (rc == LB_OK) {
        CHECK_EQ_STR(p->status, "active");
        lb_proxy_free(p);
        rc = lb_list_hosts(c, &l, err);
    }
    if (rc == LB_OK) {
        CHECK_EQ_INT(l->count, 2);
        lb_host_list_free(l);
        rc = lb_get_host(c, "h2", &h, err);
    }
    o.outputs_clear = h == NULL;
    if (rc == LB_ERR_NOT_FOUND) {
        CHECK_CONTAINS(err->message, "Host not found");
        rc = LB_OK;
    } else if (rc != LB_ERR_NOMEM) {
        CHECK_FAIL("unexpected: %s", err->message);
    }
    o.rc = rc;
    lb_client_close(c);
    return o;
}

static outcome run_client_calls_checked(lb_error *err)
{
    queue_answers();
    outcome o = run_client_calls(err);
    check_bodies(0);
    return o;
}

static const struct scenario {
    const char *name;
    outcome (*run)(lb_error *err);
} scenarios[] = {
    {"one host", run_host},
    {"a list, whole", run_list_whole},
    {"a list, a byte at a time, events only", run_list_bytes_events},
    {"a list in 300-byte pieces, length known", run_list_pieces_hinted},
    {"doctor", run_doctor},
    {"proxy", run_proxy},
    {"error classifier", run_classifier},
    {"client, create, renew, proxy, list, get 404", run_client_calls_checked},
};

int main(void)
{
    test_thread = 1;
    fs = fs_start();
    if (!fs)
        return 1;
    /* The bodies of a run without failures, to compare the others with. */
    check_set_case("%s", "the clean run");
    lb_error clean;
    queue_answers();
    CHECK_EQ_INT(run_client_calls(&clean).rc, LB_OK);
    check_bodies(1);

    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const struct scenario *s = &scenarios[i];
        long k;
        for (k = 0; k < 10000; k++) {
            check_set_case("%s, allocation %ld fails", s->name, k);
            lb_error err;
            memset(&err, 'X', sizeof err);
            arm(k);
            outcome o = s->run(&err);
            disarm();
            if (!failed) { /* every allocation succeeded: the plain answer */
                CHECK_EQ_INT(o.rc, LB_OK);
                break;
            }
            if (o.rc == LB_OK)
                continue; /* the failure was absorbed (e.g. a smaller slab) */
            CHECK_EQ_INT(o.rc, LB_ERR_NOMEM);
            CHECK_EQ_INT(err.code, LB_ERR_NOMEM);
            CHECK(o.outputs_clear);
            check_message(&err);
        }
        check_set_case("%s", s->name);
        CHECK(k > 0);      /* it allocates, so failures were tried */
        CHECK(k < 10000); /* and it ended */
    }
    fs_stop(fs);
    for (int i = 0; i < 3; i++)
        free(reference[i]);
    check_set_case("%s", "");
    return check_summary();
}
