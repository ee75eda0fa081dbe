/* Host records from JSON, decoded as the bytes arrive (docs/api.md, and
 * docs/wire.md for the record).
 *
 * The library's reader (json_stream.c) walks the body; the fields of the
 * host being read are gathered in one scratch buffer, and when its object
 * closes they are copied into a single allocation holding the lb_host and
 * all its strings. Most records skip even that: the whole-record shortcut
 * below reads them straight from the chunk. A list of 100,000 hosts is
 * therefore never held twice: neither the body nor a parse tree is kept,
 * only the finished records. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

enum field_kind {
    K_STRING,   /* string; absent or null reads as "" */
    K_NULLABLE, /* string or null; absent reads as NULL */
    K_PORT,     /* integer 1-65535 */
    K_INT,      /* integer or null; absent reads as 0 */
};

enum field_id { /* in the current generation's order: see on_map_key */
    F_ID,
    F_NAME,
    F_STATUS,
    F_PROVIDER,
    F_IMAGE,
    F_SSH_HOST,
    F_SSH_PORT,
    F_SSH_USERNAME,
    F_INTERNAL_SSH_HOST,
    F_KNOWN_HOSTS,
    F_PRIVATE_KEY,
    F_TAILSCALE_DEVICE_ID,
    F_INSTANCE_TYPE,
    F_DISK_GB,
    F_LAST_ERROR,
    F_CREATED_AT,
    F_UPDATED_AT,
    F_ACTIVATED_AT,
    F_EXPIRES_AT,
    F_SSH_HOST_V1,
    F_SSH_PORT_V1,
    F_COUNT
};

static const struct field {
    const char *key;
    unsigned char key_len;
    unsigned char kind;
    size_t offset; /* of the lb_host member the value lands in */
} fields[F_COUNT] = {
#define FIELD(id, key, kind, member) [id] = {key, sizeof key - 1, kind, offsetof(lb_host, member)}
    FIELD(F_ID, "id", K_STRING, id),
    FIELD(F_NAME, "name", K_STRING, name),
    FIELD(F_STATUS, "status", K_STRING, status),
    FIELD(F_PROVIDER, "provider", K_STRING, provider),
    FIELD(F_IMAGE, "image", K_STRING, image),
    FIELD(F_SSH_HOST_V1, "ssh_host", K_STRING, ssh_host),
    FIELD(F_SSH_HOST, "external_ssh_host", K_STRING, ssh_host),
    FIELD(F_SSH_PORT_V1, "ssh_port", K_PORT, ssh_port),
    FIELD(F_SSH_PORT, "external_ssh_port", K_PORT, ssh_port),
    FIELD(F_SSH_USERNAME, "ssh_username", K_STRING, ssh_username),
    FIELD(F_INTERNAL_SSH_HOST, "internal_ssh_host", K_NULLABLE, internal_ssh_host),
    FIELD(F_KNOWN_HOSTS, "known_hosts", K_STRING, known_hosts),
    FIELD(F_PRIVATE_KEY, "private_key", K_NULLABLE, private_key),
    FIELD(F_TAILSCALE_DEVICE_ID, "tailscale_device_id", K_NULLABLE, tailscale_device_id),
    FIELD(F_INSTANCE_TYPE, "instance_type", K_NULLABLE, instance_type),
    FIELD(F_DISK_GB, "disk_gb", K_INT, disk_gb),
    FIELD(F_LAST_ERROR, "last_error", K_STRING, last_error),
    FIELD(F_CREATED_AT, "created_at", K_STRING, created_at),
    FIELD(F_UPDATED_AT, "updated_at", K_STRING, updated_at),
    FIELD(F_ACTIVATED_AT, "activated_at", K_NULLABLE, activated_at),
    FIELD(F_EXPIRES_AT, "expires_at", K_NULLABLE, expires_at),
#undef FIELD
};

static int is_text(int f)
{
    return fields[f].kind == K_STRING || fields[f].kind == K_NULLABLE;
}

#define BIT(f) ((uint32_t)1 << (f))
_Static_assert(F_COUNT <= 32, "a field is a bit of a uint32_t");

/* What the record being read holds so far. */
struct field_value {
    size_t offset, len;    /* string: where it sits (see host_finish) */
    long long number;      /* K_PORT, K_INT */
};

struct host_decoder {
    struct host_road road; /* first: the test support reaches it (decode.h) */
    json_stream *parser;
    int list;            /* a JSON array of hosts is expected */
    size_t depth;        /* nesting depth of the event being handled */
    size_t host_depth;   /* depth of the host object's members */
    int in_host;         /* inside a host object */
    int field;           /* field of the current key, -1 when unknown */
    size_t skip_depth;   /* > 0: skipping an unknown member's nested value */
    int seen_top;        /* the top-level value has started */
    int done;            /* the top-level value has ended */
    int has_secret;      /* the scratch buffer holds a private key */
    struct field_value values[F_COUNT];
    uint32_t present;    /* bit f: field f had a non-null value (the rest of
                            values[f] is meaningful only then) */
    uint32_t escaped;    /* bit f: field f's string is as sent, escapes and all */
    lb_buf scratch;      /* this host's string values, NUL-separated */
    lb_host *one;        /* result of a single-host decode */
    lb_host **hosts;     /* results of a list decode */
    host_store store;    /* where they live */
    size_t count, cap;
    lb_code failed;      /* set by a callback that stopped the parse */
    lb_error error;
};

static int fail(host_decoder *d, lb_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(host_decoder *d, lb_code code, const char *fmt, ...)
{
    char where[32] = "host record";
    if (d->list)
        snprintf(where, sizeof where, "host %zu", d->count);
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_set(&d->error, code, 0, "%s: %s", where, msg);
    d->failed = code;
    return 0; /* a callback's 0: the reader stops */
}

static int nomem(host_decoder *d)
{
    error_set(&d->error, LB_ERR_NOMEM, 0, "out of memory decoding hosts");
    d->failed = LB_ERR_NOMEM;
    return 0;
}

static void host_reset(host_decoder *d)
{
    if (d->has_secret)
        secure_zero(d->scratch.data, d->scratch.len);
    d->has_secret = 0;
    d->scratch.len = 0;
    d->present = d->escaped = 0;
}

/* Called for every scalar: decides whether it belongs to a host field, to a
 * skipped member, or is out of place. Returns the field id (>= 0), -1 to
 * ignore the value, -2 after failing. */
static int value_target(host_decoder *d)
{
    if (d->skip_depth)
        return -1;
    if (!d->in_host) {
        fail(d, LB_ERR_RESPONSE, "%s",
             !d->list      ? "body is not a host object"
             : d->seen_top ? "entry is not an object"
                           : "body is not a JSON array of hosts");
        return -2;
    }
    return d->field;
}

static int wrong_type(host_decoder *d, int f, const char *got)
{
    static const char *const want[] = {
        [K_STRING] = "a string", [K_NULLABLE] = "a string or null",
        [K_PORT] = "an integer port", [K_INT] = "an integer or null"};
    char what[96];
    snprintf(what, sizeof what, "field '%s' is %s, not %s", fields[f].key, got,
             want[fields[f].kind]);
    return fail(d, LB_ERR_RESPONSE, "%s", what);
}

static int on_null(void *ctx)
{
    host_decoder *d = ctx;
    int f = value_target(d);
    if (f == -2)
        return 0;
    if (f >= 0) {
        if (fields[f].kind == K_PORT)
            return wrong_type(d, f, "null");
        d->present &= ~BIT(f); /* null reads as absent */
    }
    return 1;
}

static int on_boolean(void *ctx, int b)
{
    host_decoder *d = ctx;
    int f = value_target(d);
    if (f == -2)
        return 0;
    return f >= 0 ? wrong_type(d, f, "a boolean") : 1;
}

static int on_number(void *ctx, const char *s, size_t len)
{
    host_decoder *d = ctx;
    int f = value_target(d);
    if (f == -2)
        return 0;
    if (f < 0)
        return 1;
    int kind = fields[f].kind;
    if (kind != K_PORT && kind != K_INT)
        return wrong_type(d, f, "a number");
    long long v = 0;
    if (json_integer((const unsigned char *)s, 0, len, &v) != len)
        return wrong_type(d, f, "a non-integer number");
    if (kind == K_PORT && (v < 1 || v > 65535))
        return fail(d, LB_ERR_RESPONSE, "field '%s' is outside 1-65535", fields[f].key);
    d->present |= BIT(f);
    d->values[f].number = v;
    return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    host_decoder *d = ctx;
    int f = value_target(d);
    if (f == -2)
        return 0;
    if (f < 0)
        return 1;
    if (fields[f].kind != K_STRING && fields[f].kind != K_NULLABLE)
        return wrong_type(d, f, "a string");
    if (memchr(s, '\0', len))
        return fail(d, LB_ERR_RESPONSE, "field '%s' holds a NUL character", fields[f].key);
    struct field_value *v = &d->values[f];
    d->present |= BIT(f);
    d->escaped &= ~BIT(f);
    v->offset = d->scratch.len;
    v->len = len;
    if (buf_append_string(&d->scratch, s, len) != 0)
        return nomem(d);
    if (f == F_PRIVATE_KEY)
        d->has_secret = 1;
    return 1;
}

/* The field a key names, trying the one after prev first (the service
 * writes every record's keys in one order); -1 when none does. */
static int field_of(int prev, const unsigned char *key, size_t len)
{
    int next = prev + 1;
    if (next < F_COUNT && fields[next].key_len == len && memcmp(fields[next].key, key, len) == 0)
        return next;
    for (int f = 0; f < F_COUNT; f++)
        if (fields[f].key_len == len && memcmp(fields[f].key, key, len) == 0)
            return f;
    return -1;
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    host_decoder *d = ctx;
    if (d->skip_depth || !d->in_host || d->depth != d->host_depth)
        return 1;
    d->field = field_of(d->field, key, len);
    return 1;
}

static int open_container(host_decoder *d, int is_map)
{
    if (d->skip_depth) {
        d->skip_depth++;
        d->depth++;
        return 1;
    }
    if (d->in_host) {
        if (d->field >= 0)
            return wrong_type(d, d->field, is_map ? "an object" : "an array");
        d->skip_depth = 1; /* an unknown member's value: skip it whole */
        d->depth++;
        return 1;
    }
    /* Outside a host: the list itself, or a host object starting. */
    int top = !d->seen_top;
    d->seen_top = 1;
    d->depth++;
    if (d->list && top) {
        if (is_map)
            return fail(d, LB_ERR_RESPONSE, "%s", "body is an object, not a JSON array of hosts");
        return 1;
    }
    if (!is_map)
        return fail(d, LB_ERR_RESPONSE, "%s",
                    d->list ? "entry is not an object" : "body is not a host object");
    d->in_host = 1;
    d->host_depth = d->depth;
    d->field = -1;
    host_reset(d);
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, 1);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, 0);
}

/* Picks the first generation's spelling when present, else the current. */
static int pick(const host_decoder *d, int v1, int current)
{
    return d->present & BIT(v1) ? v1 : current;
}

/* A host's fields before any is set: "" for the strings that are never
 * NULL (one static string: a host is freed as one block, never by field),
 * NULL for the nullable ones, 0. */
static const lb_host absent = {
    .id = "", .name = "", .status = "", .provider = "", .image = "", .ssh_host = "",
    .ssh_username = "", .known_hosts = "", .last_error = "", .created_at = "", .updated_at = "",
};

/* The host object just closed, its strings at base + values[].offset:
 * check it and build its one allocation. */
static int host_finish(host_decoder *d, const char *base)
{
    const struct field_value *v = d->values;
    uint32_t present = d->present;
    if (!(present & BIT(F_ID)))
        return fail(d, LB_ERR_RESPONSE, "field '%s' is missing", "id");
    if (!(present & BIT(F_STATUS)))
        return fail(d, LB_ERR_RESPONSE, "field '%s' is missing", "status");
    int host_f = pick(d, F_SSH_HOST_V1, F_SSH_HOST);
    int port_f = pick(d, F_SSH_PORT_V1, F_SSH_PORT);
    if (!(present & BIT(host_f)))
        return fail(d, LB_ERR_RESPONSE, "%s", "field 'external_ssh_host' (or 'ssh_host') is missing");
    if (!(present & BIT(port_f)))
        return fail(d, LB_ERR_RESPONSE, "%s", "field 'external_ssh_port' (or 'ssh_port') is missing");

    /* The struct, then its strings; absent fields as `absent` has them. */
    uint32_t take = present & ~BIT(host_f == F_SSH_HOST ? F_SSH_HOST_V1 : F_SSH_HOST) &
                    ~BIT(port_f == F_SSH_PORT ? F_SSH_PORT_V1 : F_SSH_PORT);
    size_t total = sizeof(lb_host);
    for (uint32_t bits = take; bits; bits &= bits - 1) {
        int f = __builtin_ctz(bits);
        if (is_text(f))
            total += v[f].len + 1;
    }
    char *block = (char *)host_alloc(d->list ? &d->store : NULL, total);
    if (!block)
        return nomem(d);
    lb_host *h = (lb_host *)block;
    *h = absent;
    char *next = block + sizeof *h;
    for (uint32_t bits = take; bits; bits &= bits - 1) {
        int f = __builtin_ctz(bits);
        char *member = block + fields[f].offset;
        if (is_text(f)) {
            size_t len = v[f].len;
            if (d->escaped & BIT(f))
                len = json_unescape(next, base + v[f].offset, len);
            else
                memcpy(next, base + v[f].offset, len);
            next[len] = '\0';
            const char *str = next;
            memcpy(member, &str, sizeof str);
            next += len + 1;
        } else if (fields[f].kind == K_PORT) {
            int port = (int)v[f].number;
            memcpy(member, &port, sizeof port);
        } else {
            long long n = v[f].number;
            memcpy(member, &n, sizeof n);
        }
    }
    host_reset(d);

    if (!d->list) {
        d->one = h;
        return 1;
    }
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        lb_host **p = realloc(d->hosts, cap * sizeof *p);
        if (!p) {
            lb_host_free(h);
            return nomem(d);
        }
        d->hosts = p;
        d->cap = cap;
    }
    d->hosts[d->count++] = h;
    return 1;
}

/* ---- the shortcut for whole records ----
 *
 * Nearly every record a service sends lies whole inside one chunk and uses
 * the plainest JSON: strings without escapes, integers, null. Such a record
 * is read here in one pass, straight from the chunk into its allocation,
 * without the reader's events or the scratch copy. Anything else (an
 * escape, a nested value, true/false, a fraction, a record the chunk cuts,
 * a field of the wrong type, a missing field) makes the shortcut give up
 * having changed nothing, and the reader's events take the record from its
 * '{': so every error and every unusual form has one implementation, and
 * the fuzzer checks that both roads give the same records. */

/* a[0..n) == b[0..n), for field names: a word at a time, the last word
 * overlapping the one before (a byte loop was a third of the shortcut). */
static int same_bytes(const unsigned char *a, const char *b, size_t n)
{
    if (n >= 8) {
        uint64_t x, y;
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return 0;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return x0 == y0 && x1 == y1;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != (unsigned char)b[i])
            return 0;
    return 1;
}

#define GIVE_UP ((size_t)-1)

/* The key just past its opening quote at p[i] names field *f, or none (-1).
 * The key the service sends after prev is tried first, else any key.
 * Returns the index after its closing quote, or GIVE_UP. */
static size_t record_key(int prev, const unsigned char *p, size_t i, size_t n, int *f)
{
    int next = prev + 1;
    size_t klen;
    if (next < F_COUNT && (klen = fields[next].key_len) < n - i && p[i + klen] == '"' &&
        same_bytes(p + i, fields[next].key, klen)) {
        *f = next;
        return i + klen + 1;
    }
    int escaped;
    klen = json_plain_string(p, i, n, &escaped);
    if (klen == GIVE_UP || escaped) /* no field's name needs one */
        return GIVE_UP;
    *f = field_of(prev, p + i, klen);
    return i + klen + 1;
}

/* The value at p[i] (not whitespace) of field f, or of an unknown member
 * (f == -1: only checked), into d->values. Returns the index after it, or
 * GIVE_UP: anything but a plain string, null or an integer, or a value
 * of the wrong kind for the field. */
static size_t record_value(host_decoder *d, int f, const unsigned char *p, size_t i, size_t n)
{
    if (p[i] == '"') {
        int escaped;
        size_t len = json_plain_string(p, ++i, n, &escaped);
        if (len == GIVE_UP || (f >= 0 && !is_text(f)))
            return GIVE_UP;
        if (f >= 0) {
            d->present |= BIT(f);
            if (escaped)
                d->escaped |= BIT(f);
            else
                d->escaped &= ~BIT(f);
            d->values[f].offset = i;
            d->values[f].len = len;
        }
        return i + len + 1;
    }
    if (p[i] == 'n') {
        if (n - i < 4 || memcmp(p + i, "null", 4) != 0 || (f >= 0 && fields[f].kind == K_PORT))
            return GIVE_UP;
        if (f >= 0)
            d->present &= ~BIT(f);
        return i + 4;
    }
    long long number = 0;
    i = json_integer(p, i, n, &number);
    if (i == GIVE_UP || (f >= 0 && is_text(f)))
        return GIVE_UP;
    if (f >= 0) {
        if (fields[f].kind == K_PORT && (number < 1 || number > 65535))
            return GIVE_UP;
        d->present |= BIT(f);
        d->values[f].number = number;
    }
    return i;
}

/* Reads the object at p[0] == '{' into d->values. Returns its length, or 0
 * when the shortcut does not apply (d->values then reset). */
static size_t whole_record(host_decoder *d, const unsigned char *p, size_t n)
{
    int field = -1; /* the last key that named a field */
    size_t i = json_skip_space(p, 1, n);
    for (;;) {
        int f;
        if (i >= n || p[i] != '"' || (i = record_key(field, p, i + 1, n, &f)) == GIVE_UP)
            goto give_up;
        if (f >= 0)
            field = f;
        i = json_skip_space(p, i, n);
        if (i >= n || p[i] != ':')
            goto give_up;
        i = json_skip_space(p, i + 1, n);
        if (i >= n || (i = record_value(d, f, p, i, n)) == GIVE_UP)
            goto give_up;
        i = json_skip_space(p, i, n);
        if (i < n && p[i] == ',') {
            i = json_skip_space(p, i + 1, n);
            continue;
        }
        if (i < n && p[i] == '}')
            break;
        goto give_up;
    }
    /* What host_finish would refuse is left to the events, for their
     * messages. */
    uint32_t need = BIT(F_ID) | BIT(F_STATUS) | BIT(pick(d, F_SSH_HOST_V1, F_SSH_HOST)) |
                    BIT(pick(d, F_SSH_PORT_V1, F_SSH_PORT));
    if ((d->present & need) == need)
        return i + 1;
give_up:
    d->present = d->escaped = 0;
    return 0;
}

static long on_whole_object(void *ctx, const unsigned char *p, size_t n)
{
    host_decoder *d = ctx;
    /* Only where a host object may start: the body of a single-host
     * decode, or an entry of the list. */
    if (!d->road.shortcut || d->skip_depth || d->in_host || (d->list ? d->depth != 1 : d->seen_top))
        return 0;
    size_t len = whole_record(d, p, n);
    if (len == 0)
        return 0;
    d->seen_top = 1;
    if (!host_finish(d, (const char *)p))
        return -1;
    d->road.shortcuts++;
    if (d->depth == 0)
        d->done = 1;
    return (long)len;
}

static int close_container(host_decoder *d)
{
    if (d->skip_depth) {
        d->skip_depth--;
        d->depth--;
        return 1;
    }
    int closing_host = d->in_host && d->depth == d->host_depth;
    d->depth--;
    if (closing_host) {
        d->in_host = 0;
        if (!host_finish(d, d->scratch.data))
            return 0;
    }
    if (d->depth == 0)
        d->done = 1;
    return 1;
}

static int on_end_map(void *ctx)
{
    return close_container(ctx);
}

static int on_end_array(void *ctx)
{
    return close_container(ctx);
}

static const json_events callbacks = {
    .null = on_null,
    .boolean = on_boolean,
    .number = on_number,
    .string = on_string,
    .start_map = on_start_map,
    .map_key = on_map_key,
    .end_map = on_end_map,
    .start_array = on_start_array,
    .end_array = on_end_array,
    .whole_object = on_whole_object,
};

host_decoder *host_decoder_new(int list)
{
    host_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->list = list;
    d->field = -1;
    d->road.shortcut = 1;
    d->scratch.secret = 1; /* it holds private keys */
    d->parser = json_stream_new(&callbacks, d);
    if (!d->parser) {
        free(d);
        return NULL;
    }
    return d;
}

void host_decoder_expect(host_decoder *d, uint64_t bytes)
{
    if (d->list)
        host_store_expect(&d->store, bytes);
}

/* Turns the reader's status into a code: a callback's own failure (already
 * in d->error), out of memory, or bytes that are not JSON. Later feeds keep
 * failing the same way. */
static lb_code parse_status(host_decoder *d, json_status st, lb_error *err)
{
    if (st != JSON_OK && !d->failed) {
        if (st == JSON_NOMEM) {
            nomem(d);
        } else {
            error_set(&d->error, LB_ERR_RESPONSE, 0, "response is not valid JSON: %s",
                      json_stream_error(d->parser));
            d->failed = LB_ERR_RESPONSE;
        }
    }
    if (!d->failed)
        return LB_OK;
    if (err)
        *err = d->error;
    return d->failed;
}

lb_code host_decoder_feed(host_decoder *d, const void *bytes, size_t len, lb_error *err)
{
    if (d->failed)
        return parse_status(d, JSON_OK, err);
    return parse_status(d, json_stream_feed(d->parser, bytes, len), err);
}

lb_code host_decoder_finish(host_decoder *d, lb_host **one, lb_host_list **many, lb_error *err)
{
    if (one)
        *one = NULL;
    if (many)
        *many = NULL;
    if (d->failed)
        return parse_status(d, JSON_OK, err);
    if (!d->seen_top && !d->done)
        return error_set(err, LB_ERR_RESPONSE, 0, "response body is empty");
    lb_code rc = parse_status(d, json_stream_finish(d->parser), err);
    if (rc != LB_OK)
        return rc;
    if (!d->list) {
        *one = d->one;
        d->one = NULL;
        return LB_OK;
    }
    lb_host_list *list = malloc(sizeof *list);
    if (!list)
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory decoding hosts");
    list->count = d->count;
    list->hosts = d->hosts;
    d->hosts = NULL;
    d->count = d->cap = 0;
    *many = list;
    return LB_OK;
}

void host_decoder_free(host_decoder *d)
{
    if (!d)
        return;
    json_stream_free(d->parser);
    host_reset(d);
    buf_free(&d->scratch);
    lb_host_free(d->one);
    for (size_t i = 0; i < d->count; i++)
        lb_host_free(d->hosts[i]);
    free(d->hosts);
    host_store_release(&d->store);
    free(d);
}
