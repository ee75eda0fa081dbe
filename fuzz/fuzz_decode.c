/* libFuzzer target over the response decoders and the error classifier:
 * everything the library computes from bytes a server sent.
 *
 * Every input's body first goes through the library's JSON reader, whole
 * and split, against yajl (reader_oracle.c); the mode's decoder must then
 * agree with the reader's verdict: a body the reader refuses is refused,
 * and one it accepts is never called "not valid JSON" (but for the depth
 * limit of the small-body tree).
 *
 * Input: three header bytes, then the body.
 *   byte 0 % 8 picks the mode:
 *     0 host_decode, and the streaming single-host decoder over the same
 *       body in chunks: both must agree
 *     1 a host list through host_decoder_new(1) fed in chunks, against
 *       host_list_decode of the whole body: both must agree
 *     2 doctor_decode          3 proxy_decode (create)
 *     4 proxy_decode (attach)  5 health_decode
 *     6 error_from_response with a secret   7 the same without one
 *   bytes 1-2: the chunk splits (modes 0, 1: a PRNG seed and the largest
 *   chunk; bit 1 of byte 1 turns the whole-record shortcut off in the
 *   chunked decode, so that both roads meet) or the HTTP status (modes 6, 7);
 *   in every mode they also say where the reader's two-piece run cuts.
 * Every result is freed. Invariants that the spec makes unconditional
 * abort() when broken; see check(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decode_support.h"
#include "reader_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "lb-fuzz-secret-T0KEN"

/* The error as a decoder must leave it when it fails: the code it returned,
 * every text field terminated. err was filled with 'X' bytes beforehand. */
static void check_error(const lb_error *err, lb_code rc)
{
    check(rc != LB_OK);
    check(err->code == rc);
    check(memchr(err->message, '\0', sizeof err->message) != NULL);
    check(memchr(err->error_code, '\0', sizeof err->error_code) != NULL);
}

static void poison(lb_error *err)
{
    memset(err, 'X', sizeof *err);
}

static void check_string(const char *s)
{
    check(s != NULL);
    (void)strlen(s); /* terminated, within the record (ASan says otherwise) */
}

static void check_optional(const char *s)
{
    if (s) (void)strlen(s);
}

static void check_host(const lb_host *h)
{
    check(h != NULL);
    check_string(h->id);
    check_string(h->name);
    check_string(h->status);
    check_string(h->provider);
    check_string(h->image);
    check_string(h->ssh_host);
    check(h->ssh_port >= 1 && h->ssh_port <= 65535);
    check_string(h->ssh_username);
    check_optional(h->internal_ssh_host);
    check_string(h->known_hosts);
    check_optional(h->private_key);
    check_optional(h->tailscale_device_id);
    check_optional(h->instance_type);
    check_string(h->last_error);
    check_string(h->created_at);
    check_string(h->updated_at);
    check_optional(h->activated_at);
    check_optional(h->expires_at);
}

static int same_string(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static void check_same_host(const lb_host *a, const lb_host *b)
{
    check(same_string(a->id, b->id));
    check(same_string(a->name, b->name));
    check(same_string(a->status, b->status));
    check(same_string(a->provider, b->provider));
    check(same_string(a->image, b->image));
    check(same_string(a->ssh_host, b->ssh_host));
    check(a->ssh_port == b->ssh_port);
    check(same_string(a->ssh_username, b->ssh_username));
    check(same_string(a->internal_ssh_host, b->internal_ssh_host));
    check(same_string(a->known_hosts, b->known_hosts));
    check(same_string(a->private_key, b->private_key));
    check(same_string(a->tailscale_device_id, b->tailscale_device_id));
    check(same_string(a->instance_type, b->instance_type));
    check(a->disk_gb == b->disk_gb);
    check(same_string(a->last_error, b->last_error));
    check(same_string(a->created_at, b->created_at));
    check(same_string(a->updated_at, b->updated_at));
    check(same_string(a->activated_at, b->activated_at));
    check(same_string(a->expires_at, b->expires_at));
}

/* Feeds body to a fresh streaming decoder in pieces drawn from a PRNG
 * seeded by the header: piece sizes 1..2^(p2 % 9), some empty when p1 is
 * odd. Returns the decoder's code; *one / *many get its result. */
static lb_code decode_in_chunks(int list, unsigned char p1, unsigned char p2, const uint8_t *body,
                                size_t len, lb_host **one, lb_host_list **many, lb_error *err)
{
    if (one) *one = NULL;
    if (many) *many = NULL;
    uint32_t state = 0x9E3779B9u ^ ((uint32_t)p1 << 8 | p2) ^ (uint32_t)len;
    size_t max_piece = (size_t)1 << (p2 % 9);
    host_decoder *d = host_decoder_new(list);
    if (!d) return LB_ERR_NOMEM;
    if (p1 & 2) host_decoder_no_shortcut(d); /* the events alone against the shortcut */
    size_t off = 0;
    lb_code rc = LB_OK;
    while (off < len && rc == LB_OK) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        size_t piece = 1 + state % max_piece;
        if ((p1 & 1) && (state >> 24) % 8 == 0) piece = 0;
        if (piece > len - off) piece = len - off;
        rc = host_decoder_feed(d, body + off, piece, err);
        off += piece;
    }
    if (rc == LB_OK) rc = host_decoder_finish(d, list ? NULL : one, list ? many : NULL, err);
    host_decoder_free(d);
    return rc;
}

/* How every decoder's message for bytes that are not JSON begins (a
 * message may quote the body's text after its own words, so only its start
 * tells). */
#define NOT_JSON "response is not valid JSON"

/* A decoder's answer against the reader's verdict on the same body. The
 * host decoder has no depth limit of its own; the small-body tree has
 * JSON_DOC_MAX_DEPTH. */
static void check_against_reader(reader_verdict v, size_t depth_limit, size_t len, lb_code rc,
                                 const lb_error *err)
{
    if (v.status != JSON_OK)
        check(rc != LB_OK);
    else if (len > 0 && v.max_depth <= depth_limit && rc != LB_OK)
        check(strncmp(err->message, NOT_JSON, strlen(NOT_JSON)) != 0);
}

static void fuzz_host(reader_verdict v, unsigned char p1, unsigned char p2, const uint8_t *body,
                      size_t len)
{
    lb_error err, err2;
    lb_host *whole = (lb_host *)&err, *streamed = (lb_host *)&err;
    poison(&err);
    lb_code rc = host_decode((const char *)body, len, &whole, &err);
    if (rc == LB_OK)
        check_host(whole);
    else {
        check(whole == NULL);
        check_error(&err, rc);
    }
    check_against_reader(v, SIZE_MAX, len, rc, &err);

    poison(&err2);
    lb_code rc2 = decode_in_chunks(0, p1, p2, body, len, &streamed, NULL, &err2);
    check(rc2 == rc); /* the split must not matter */
    if (rc2 == LB_OK)
        check_same_host(whole, streamed);
    else {
        check(streamed == NULL);
        check_error(&err2, rc2);
    }
    lb_host_free(whole);
    lb_host_free(streamed);
}

static void check_list(const lb_host_list *l)
{
    check(l != NULL);
    check(l->count == 0 || l->hosts != NULL);
    for (size_t i = 0; i < l->count; i++)
        check_host(l->hosts[i]);
}

static void fuzz_list(reader_verdict v, unsigned char p1, unsigned char p2, const uint8_t *body,
                      size_t len)
{
    lb_error err, err2;
    lb_host_list *whole = (lb_host_list *)&err, *streamed = (lb_host_list *)&err;
    poison(&err);
    lb_code rc = host_list_decode((const char *)body, len, &whole, &err);
    if (rc == LB_OK)
        check_list(whole);
    else {
        check(whole == NULL);
        check_error(&err, rc);
    }
    check_against_reader(v, SIZE_MAX, len, rc, &err);

    poison(&err2);
    lb_code rc2 = decode_in_chunks(1, p1, p2, body, len, NULL, &streamed, &err2);
    check(rc2 == rc);
    if (rc2 == LB_OK) {
        check_list(streamed);
        check(streamed->count == whole->count);
        for (size_t i = 0; i < whole->count; i++)
            check_same_host(whole->hosts[i], streamed->hosts[i]);
    } else {
        check(streamed == NULL);
        check_error(&err2, rc2);
    }
    lb_host_list_free(whole);
    lb_host_list_free(streamed);
}

static void fuzz_doctor(reader_verdict v, const uint8_t *body, size_t len)
{
    lb_error err;
    lb_doctor_report *r = (lb_doctor_report *)&err;
    poison(&err);
    lb_code rc = doctor_decode((const char *)body, len, &r, &err);
    check_against_reader(v, JSON_DOC_MAX_DEPTH, len, rc, &err);
    if (rc != LB_OK) {
        check(r == NULL);
        check_error(&err, rc);
        return;
    }
    check(r != NULL);
    check(r->ok == 0 || r->ok == 1);
    check(r->tailscale_enabled == 0 || r->tailscale_enabled == 1);
    check_string(r->active_provider);
    check(r->check_count == 0 || r->checks != NULL);
    for (size_t i = 0; i < r->check_count; i++) {
        check(r->checks[i] != NULL);
        check_string(r->checks[i]->name);
        check_string(r->checks[i]->status);
        check_optional(r->checks[i]->detail);
        check_optional(r->checks[i]->hint);
    }
    lb_doctor_report_free(r);
}

static void fuzz_proxy(reader_verdict v, int want_host_id, const uint8_t *body, size_t len)
{
    lb_error err;
    lb_proxy *p = (lb_proxy *)&err;
    poison(&err);
    lb_code rc = proxy_decode((const char *)body, len, want_host_id, &p, &err);
    check_against_reader(v, JSON_DOC_MAX_DEPTH, len, rc, &err);
    if (rc != LB_OK) {
        check(p == NULL);
        check_error(&err, rc);
        return;
    }
    check(p != NULL);
    check_string(p->name);
    check_string(p->status);
    if (want_host_id)
        check_string(p->host_id);
    else
        check_optional(p->host_id);
    lb_proxy_free(p);
}

static void fuzz_health(reader_verdict v, const uint8_t *body, size_t len)
{
    lb_error err;
    poison(&err);
    lb_code rc = health_decode((const char *)body, len, &err);
    check_against_reader(v, JSON_DOC_MAX_DEPTH, len, rc, &err);
    if (rc != LB_OK) check_error(&err, rc);
}

/* 1 when s is valid UTF-8 with no control bytes: one printable line.
 * Written apart from the library's own utf8_valid, so as not to share a
 * mistake with it. */
static int printable_utf8_line(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned c = *u, n, cp;
        if (c < 0x20 || c == 0x7F) return 0;
        if (c < 0x80) {
            u++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3, cp = c & 0x07;
        else
            return 0;
        for (unsigned i = 1; i <= n; i++) {
            if ((u[i] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (u[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        u += n + 1;
    }
    return 1;
}

/* The status decides, whatever the body (docs/api.md). */
static void check_classification(int status, lb_code rc)
{
    switch (status) {
    case 401:
    case 403:
        check(rc == LB_ERR_AUTH);
        break;
    case 404:
        check(rc == LB_ERR_NOT_FOUND);
        break;
    case 409:
        check(rc == LB_ERR_CONFLICT);
        break;
    case 422:
        check(rc == LB_ERR_VALIDATION);
        break;
    case 429:
    case 503:
    case 504:
        check(rc == LB_ERR_UNAVAILABLE);
        break;
    case 502:
        check(rc == LB_ERR_PROVISIONING || rc == LB_ERR_UNAVAILABLE);
        break;
    default:
        if (status >= 300) check(rc == LB_ERR_RESPONSE);
    }
}

/* Statuses the classifier treats apart, so the fuzzer meets each often. */
static const int statuses[] = {400, 401, 403, 404, 409, 422, 429, 500, 501,
                               502, 503, 504, 301, 302, 307, 418, 599, 200};

/* A body the reader refuses is never read for a detail or an error_code:
 * the message is the status, then the body quoted (or, for a redirect,
 * exactly what a redirect says). */
static void check_not_json_message(int status, size_t len, const lb_error *err)
{
    char head[64];
    if (status >= 300 && status < 400) {
        snprintf(head, sizeof head, "HTTP %d: redirect not followed", status);
        check(strcmp(err->message, head) == 0);
    } else {
        snprintf(head, sizeof head, len ? "HTTP %d: \"" : "HTTP %d", status);
        check(strncmp(err->message, head, strlen(head)) == 0);
    }
    check(err->error_code[0] == '\0');
}

static void fuzz_error(reader_verdict v, int with_secret, unsigned char p1, unsigned char p2,
                       const uint8_t *body, size_t len)
{
    int status = p1 < 128 ? statuses[p1 % (sizeof statuses / sizeof statuses[0])]
                          : 100 + ((p1 & 0x7F) << 8 | p2) % 500;
    const char *secret = with_secret ? SECRET : NULL;
    lb_error err;
    poison(&err);
    lb_code rc = error_from_response(status, (const char *)body, len, secret, &err);
    check(rc != LB_OK || status < 300);
    check(err.code == rc);
    check(err.http_status == status);
    check(memchr(err.message, '\0', sizeof err.message) != NULL);
    check(memchr(err.error_code, '\0', sizeof err.error_code) != NULL);
    check_classification(status, rc);
    if (v.status != JSON_OK)
        check_not_json_message(status, len, &err);
    /* Quoted bodies have control bytes escaped and are cut on a
     * UTF-8 boundary; the classifier escapes a JSON detail the same way. */
    check(printable_utf8_line(err.message));
    if (secret) {
        check(strstr(err.message, secret) == NULL);
        check(strstr(err.error_code, secret) == NULL);
    }
    /* And with no error struct at all: the same code, no crash. */
    check(error_from_response(status, (const char *)body, len, secret, NULL) == rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char mode = size > 0 ? data[0] : 0;
    unsigned char p1 = size > 1 ? data[1] : 0;
    unsigned char p2 = size > 2 ? data[2] : 0;
    const uint8_t *body = size > 3 ? data + 3 : data + size;
    size_t len = size > 3 ? size - 3 : 0;
    /* The decoders take (pointer, length) and must not read past it: give
     * them a copy of exactly that size so that ASan sees any overread. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return 0;
    if (len) memcpy(copy, body, len);

    reader_verdict v = reader_check(copy, len, (size_t)p1 << 8 | p2);
    switch (mode % 8) {
    case 0:
        fuzz_host(v, p1, p2, copy, len);
        break;
    case 1:
        fuzz_list(v, p1, p2, copy, len);
        break;
    case 2:
        fuzz_doctor(v, copy, len);
        break;
    case 3:
    case 4:
        fuzz_proxy(v, mode % 8 == 4, copy, len);
        break;
    case 5:
        fuzz_health(v, copy, len);
        break;
    default:
        fuzz_error(v, mode % 8 == 6, p1, p2, copy, len);
        break;
    }
    free(copy);
    return 0;
}
