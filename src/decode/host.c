/* Host records from JSON, decoded as the bytes arrive (sdk.md rules 6, 13).
 *
 * A yajl event parser walks the body; the fields of the host being read are
 * gathered in one scratch buffer, and when its object closes they are copied
 * into a single allocation holding the lb_host and all its strings. A list
 * of 100,000 hosts is therefore never held twice: neither the body nor a
 * parse tree is kept, only the finished records. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

/* What the record being read holds so far. */
struct field_value {
    unsigned char present; /* a non-null value was seen */
    size_t offset, len;    /* string: where it sits in the scratch buffer */
    long long number;      /* K_PORT, K_INT */
};

struct host_decoder {
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
    lb_buf scratch;      /* this host's string values, NUL-separated */
    lb_host *one;        /* result of a single-host decode */
    lb_host **hosts;     /* results of a list decode */
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
    return 0; /* tells yajl to stop */
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
    memset(d->values, 0, sizeof d->values);
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
        d->values[f].present = 0; /* null reads as absent */
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

/* JSON integers only: an optional '-', digits, no fraction or exponent. */
static int parse_integer(const char *s, size_t len, long long *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i == len)
        return -1;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (unsigned long long)INT64_MAX / 10)
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > (unsigned long long)INT64_MAX)
            return -1;
    }
    *out = neg ? -(long long)v : (long long)v;
    return 0;
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
    long long v;
    if (parse_integer(s, len, &v) != 0)
        return wrong_type(d, f, "a non-integer number");
    if (kind == K_PORT && (v < 1 || v > 65535))
        return fail(d, LB_ERR_RESPONSE, "field '%s' is outside 1-65535", fields[f].key);
    d->values[f].present = 1;
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
    v->present = 1;
    v->offset = d->scratch.len;
    v->len = len;
    if (buf_append_string(&d->scratch, s, len) != 0)
        return nomem(d);
    if (f == F_PRIVATE_KEY)
        d->has_secret = 1;
    return 1;
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    host_decoder *d = ctx;
    if (d->skip_depth || !d->in_host || d->depth != d->host_depth)
        return 1;
    /* The service writes every record's keys in one order: try the field
     * after the last one first, then the table. */
    int next = d->field + 1;
    if (next > 0 && next < F_COUNT && fields[next].key_len == len &&
        memcmp(fields[next].key, key, len) == 0) {
        d->field = next;
        return 1;
    }
    d->field = -1;
    for (int f = 0; f < F_COUNT; f++) {
        if (fields[f].key_len == len && memcmp(fields[f].key, key, len) == 0) {
            d->field = f;
            break;
        }
    }
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
    return d->values[v1].present ? v1 : current;
}

/* The host object just closed: check it and build its one allocation. */
static int host_finish(host_decoder *d)
{
    const struct field_value *v = d->values;
    if (!v[F_ID].present)
        return fail(d, LB_ERR_RESPONSE, "field '%s' is missing", "id");
    if (!v[F_STATUS].present)
        return fail(d, LB_ERR_RESPONSE, "field '%s' is missing", "status");
    int host_f = pick(d, F_SSH_HOST_V1, F_SSH_HOST);
    int port_f = pick(d, F_SSH_PORT_V1, F_SSH_PORT);
    if (!v[host_f].present)
        return fail(d, LB_ERR_RESPONSE, "%s", "field 'external_ssh_host' (or 'ssh_host') is missing");
    if (!v[port_f].present)
        return fail(d, LB_ERR_RESPONSE, "%s", "field 'external_ssh_port' (or 'ssh_port') is missing");

    /* The struct, then one "" every absent string shares, then the strings. */
    size_t head = (sizeof(lb_host) + 15) & ~(size_t)15;
    size_t total = head + 1 + d->scratch.len;
    char *block = malloc(total);
    if (!block)
        return nomem(d);
    lb_host *h = (lb_host *)block;
    memset(h, 0, sizeof *h);
    char *empty = block + head;
    *empty = '\0';
    char *strings = empty + 1;
    if (d->scratch.len)
        memcpy(strings, d->scratch.data, d->scratch.len);

    for (int f = 0; f < F_COUNT; f++) {
        if ((f == F_SSH_HOST_V1 || f == F_SSH_HOST) && f != host_f)
            continue;
        if ((f == F_SSH_PORT_V1 || f == F_SSH_PORT) && f != port_f)
            continue;
        char *member = block + fields[f].offset;
        switch (fields[f].kind) {
        case K_STRING:
        case K_NULLABLE: {
            const char *s = v[f].present ? strings + v[f].offset
                                         : fields[f].kind == K_STRING ? empty : NULL;
            memcpy(member, &s, sizeof s);
            break;
        }
        case K_PORT: {
            int port = (int)v[f].number;
            memcpy(member, &port, sizeof port);
            break;
        }
        case K_INT: {
            long long n = v[f].present ? v[f].number : 0;
            memcpy(member, &n, sizeof n);
            break;
        }
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
        if (!host_finish(d))
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
};

host_decoder *host_decoder_new(int list)
{
    host_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->list = list;
    d->field = -1;
    d->scratch.secret = 1; /* it holds private keys */
    d->parser = json_stream_new(&callbacks, d);
    if (!d->parser) {
        free(d);
        return NULL;
    }
    return d;
}

/* Turns the reader's result into a code: a callback's own failure, or a
 * syntax error. Later feeds keep failing the same way. */
static lb_code parse_status(host_decoder *d, int rc, lb_error *err)
{
    if (rc == -1 && !d->failed) {
        error_set(&d->error, LB_ERR_RESPONSE, 0, "response is not valid JSON: %s",
                  json_stream_error(d->parser));
        d->failed = LB_ERR_RESPONSE;
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
        return parse_status(d, 0, err);
    return parse_status(d, json_stream_feed(d->parser, bytes, len), err);
}

lb_code host_decoder_finish(host_decoder *d, lb_host **one, lb_host_list **many, lb_error *err)
{
    if (one)
        *one = NULL;
    if (many)
        *many = NULL;
    if (d->failed)
        return parse_status(d, 0, err);
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
    free(d);
}

static lb_code decode_whole(const char *body, size_t len, int list, lb_host **one,
                            lb_host_list **many, lb_error *err)
{
    host_decoder *d = host_decoder_new(list);
    if (!d) {
        if (one)
            *one = NULL;
        if (many)
            *many = NULL;
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory decoding hosts");
    }
    lb_code rc = host_decoder_feed(d, body, len, err);
    if (rc == LB_OK)
        rc = host_decoder_finish(d, one, many, err);
    else {
        if (one)
            *one = NULL;
        if (many)
            *many = NULL;
    }
    host_decoder_free(d);
    return rc;
}

lb_code host_decode(const char *body, size_t len, lb_host **out, lb_error *err)
{
    return decode_whole(body, len, 0, out, NULL, err);
}

lb_code host_list_decode(const char *body, size_t len, lb_host_list **out, lb_error *err)
{
    return decode_whole(body, len, 1, NULL, out, err);
}

void lb_host_free(lb_host *host)
{
    if (!host)
        return;
    if (host->private_key)
        secure_zero((char *)host->private_key, strlen(host->private_key));
    free(host);
}

void lb_host_list_free(lb_host_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        lb_host_free(list->hosts[i]);
    free(list->hosts);
    free(list);
}
