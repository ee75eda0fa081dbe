/* The library's one JSON reader: bytes in, in any split; events out, in
 * yajl's callback shapes. Every decoder reads through it: host records as
 * they arrive (host.c), and the small bodies read whole through the tree
 * of json_doc.c (errors, doctor, proxy and health answers).
 *
 * Why not yajl: T2 (docs/performance.md) asks for a 100,000-host list
 * decoded at most 3x slower than libcurl downloads it, and yajl's
 * byte-at-a-time lexer alone takes 2-3x the download on this hardware
 * before a single field is copied. This reader does the same job (RFC 8259,
 * strict: no comments, no trailing commas, UTF-8 validated, control bytes
 * refused) in fewer instructions by scanning strings in runs and handing
 * strings that do not cross a chunk and hold no escape straight from the
 * caller's buffer. yajl stays only as the oracle of the fuzzer and the
 * tests, which compare the two readers on every input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_stream.h"
#include "util.h"

#define MAX_DEPTH (1 << 20) /* containers open at once; a bit each */
#define MAX_NUMBER 256      /* bytes of a number token */

enum state {
    ST_VALUE,          /* a value must come (top level, after ':' or ',' in an array) */
    ST_VALUE_OR_CLOSE, /* just after '[' */
    ST_KEY,            /* after ',' in an object */
    ST_KEY_OR_CLOSE,   /* just after '{' */
    ST_COLON,          /* after a key */
    ST_COMMA_OR_CLOSE, /* after a value inside a container */
    ST_DONE,           /* the top-level value ended: only whitespace may follow */
    /* inside a token, which may cross chunks: */
    ST_STRING,  /* a string (a key when in_key) */
    ST_NUMBER,  /* a number */
    ST_LITERAL, /* true, false or null */
};

struct json_stream {
    const json_events *ev;
    void *ctx;
    enum state state;
    /* containers: bit i of stack = 1 when level i is an object */
    unsigned char *stack;
    size_t depth, stack_cap;
    /* the token being read across chunks */
    int in_key;
    lb_buf tok;          /* a string's decoded bytes, or a number's text */
    int escape;          /* string: 0 none, 1 after '\\', 2..5 reading \\u hex digits */
    unsigned hex;        /* \\u digits so far */
    unsigned high;       /* a high surrogate waiting for its low half, or 0 */
    unsigned char utf8_need, utf8_have; /* a multi-byte character split across chunks */
    unsigned char utf8_buf[4];
    const char *literal; /* "true", "false" or "null" */
    size_t literal_at;
    json_status status; /* sticky once not JSON_OK */
    char error[96];
};

json_stream *json_stream_new(const json_events *ev, void *ctx)
{
    json_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ev = ev;
    s->ctx = ctx;
    s->state = ST_VALUE;
    s->tok.secret = 1; /* strings may be private keys */
    return s;
}

void json_stream_free(json_stream *s)
{
    if (!s)
        return;
    free(s->stack);
    buf_free(&s->tok);
    free(s);
}

const char *json_stream_error(const json_stream *s)
{
    return s->error;
}

static json_status fail(json_stream *s, json_status status, const char *why)
{
    s->status = status;
    snprintf(s->error, sizeof s->error, "%s", why);
    return status;
}

static json_status syntax(json_stream *s, const char *why)
{
    return fail(s, JSON_SYNTAX, why);
}

static json_status out_of_memory(json_stream *s)
{
    return fail(s, JSON_NOMEM, "out of memory");
}

/* A callback's answer: nonzero goes on. */
static json_status call(json_stream *s, int go_on)
{
    return go_on ? JSON_OK : fail(s, JSON_STOPPED, "stopped by the caller");
}

static int in_object(const json_stream *s)
{
    size_t i = s->depth - 1;
    return (s->stack[i / 8] >> (i % 8)) & 1;
}

static json_status push(json_stream *s, int object)
{
    if (s->depth == MAX_DEPTH)
        return fail(s, JSON_TOO_DEEP, "nested too deep");
    if (s->depth / 8 >= s->stack_cap) {
        size_t cap = s->stack_cap ? s->stack_cap * 2 : 16;
        unsigned char *p = realloc(s->stack, cap);
        if (!p)
            return out_of_memory(s);
        s->stack = p;
        s->stack_cap = cap;
    }
    size_t i = s->depth++;
    if (object)
        s->stack[i / 8] |= (unsigned char)(1u << (i % 8));
    else
        s->stack[i / 8] &= (unsigned char)~(1u << (i % 8));
    return JSON_OK;
}

/* A value ended: what may come next. */
static void after_value(json_stream *s)
{
    s->state = s->depth ? ST_COMMA_OR_CLOSE : ST_DONE;
}

/* ---- events ---- */

/* Hands a finished string to the callbacks. */
static json_status emit_string(json_stream *s, const unsigned char *p, size_t n)
{
    if (s->in_key) {
        s->state = ST_COLON;
        return call(s, s->ev->map_key(s->ctx, p, n));
    }
    after_value(s);
    return call(s, s->ev->string(s->ctx, p, n));
}

static json_status emit_number(json_stream *s, const char *p, size_t n)
{
    if (!json_number_valid(p, n))
        return syntax(s, "malformed number");
    after_value(s);
    return call(s, s->ev->number(s->ctx, p, n));
}

static json_status emit_literal(json_stream *s)
{
    after_value(s);
    if (s->literal[0] == 'n')
        return call(s, s->ev->null(s->ctx));
    return call(s, s->ev->boolean(s->ctx, s->literal[0] == 't'));
}

static json_status open_container(json_stream *s, int object)
{
    json_status rc = push(s, object);
    if (rc != JSON_OK)
        return rc;
    s->state = object ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
    return call(s, object ? s->ev->start_map(s->ctx) : s->ev->start_array(s->ctx));
}

static json_status close_container(json_stream *s, int object)
{
    if (!s->depth || in_object(s) != object)
        return syntax(s, object ? "unexpected '}'" : "unexpected ']'");
    s->depth--;
    after_value(s);
    return call(s, object ? s->ev->end_map(s->ctx) : s->ev->end_array(s->ctx));
}

/* ---- strings ---- */

/* Appends code point cp as UTF-8 to the token. */
static json_status put_code_point(json_stream *s, unsigned cp)
{
    unsigned char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (unsigned char)(0xF0 | (cp >> 18));
        out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(&s->tok, out, n) == 0 ? JSON_OK : out_of_memory(s);
}

/* A high surrogate not followed by its low half reads as U+FFFD. */
static json_status flush_high(json_stream *s)
{
    if (!s->high)
        return JSON_OK;
    s->high = 0;
    return put_code_point(s, 0xFFFD);
}

/* A \\uXXXX escape is complete: combine surrogate pairs; a lone half reads
 * as U+FFFD. */
static json_status unicode_escape(json_stream *s, unsigned cp)
{
    if (s->high && cp >= 0xDC00 && cp <= 0xDFFF) {
        unsigned high = s->high;
        s->high = 0;
        return put_code_point(s, 0x10000 + ((high - 0xD800) << 10) + (cp - 0xDC00));
    }
    json_status rc = flush_high(s);
    if (rc != JSON_OK)
        return rc;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        s->high = cp;
        return JSON_OK;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        cp = 0xFFFD;
    return put_code_point(s, cp);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One byte of an escape, the '\\' already read (s->escape != 0). */
static json_status read_escape(json_stream *s, unsigned char c)
{
    if (s->escape >= 2) { /* a \\u digit */
        int v = hex_value(c);
        if (v < 0)
            return syntax(s, "bad \\u escape in a string");
        s->hex = (s->hex << 4) | (unsigned)v;
        if (++s->escape < 6)
            return JSON_OK;
        s->escape = 0;
        return unicode_escape(s, s->hex);
    }
    if (c == 'u') {
        s->escape = 2;
        s->hex = 0;
        return JSON_OK;
    }
    int byte = json_escape_byte(c);
    if (byte < 0)
        return syntax(s, "bad escape in a string");
    s->escape = 0;
    json_status rc = flush_high(s);
    if (rc != JSON_OK)
        return rc;
    unsigned char out = (unsigned char)byte;
    return buf_append(&s->tok, &out, 1) == 0 ? JSON_OK : out_of_memory(s);
}

/* Bytes a UTF-8 sequence starting with lead takes, 0 when lead cannot
 * start one. */
static unsigned char utf8_len(unsigned char lead)
{
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 0;
}

/* Completes a UTF-8 character split across chunks, taking what it needs
 * from p[0..n); *used says how much. */
static json_status finish_split_char(json_stream *s, const unsigned char *p, size_t n,
                                     size_t *used)
{
    size_t i = 0;
    while (s->utf8_have < s->utf8_need && i < n) {
        /* Refused at once, as a whole run would be, not after the end. */
        if ((p[i] & 0xC0) != 0x80)
            return fail(s, JSON_BAD_UTF8, "invalid UTF-8 in a string");
        s->utf8_buf[s->utf8_have++] = p[i++];
    }
    *used = i;
    if (s->utf8_have < s->utf8_need)
        return JSON_OK; /* still split: wait for more */
    if (!utf8_valid((const char *)s->utf8_buf, s->utf8_have))
        return fail(s, JSON_BAD_UTF8, "invalid UTF-8 in a string");
    if (buf_append(&s->tok, s->utf8_buf, s->utf8_have) != 0)
        return out_of_memory(s);
    s->utf8_need = s->utf8_have = 0;
    return JSON_OK;
}

/* Checks the run p[0..n) as UTF-8 (when it has high bytes) and appends it
 * to the token, except for a character cut at its end, which is kept
 * aside for finish_split_char. */
static json_status append_run(json_stream *s, const unsigned char *p, size_t n, int high)
{
    json_status rc = flush_high(s);
    if (rc != JSON_OK)
        return rc;
    size_t whole = n;
    /* Step back over a character the chunk cut short. */
    size_t k = n;
    while (k > 0 && n - k < 4 && (p[k - 1] & 0xC0) == 0x80)
        k--;
    if (k > 0 && p[k - 1] >= 0xC0) {
        unsigned char need = utf8_len(p[k - 1]);
        if (need && n - (k - 1) < need) {
            whole = k - 1;
            s->utf8_need = need;
            s->utf8_have = (unsigned char)(n - whole);
            memcpy(s->utf8_buf, p + whole, s->utf8_have);
        }
    }
    if (high && !utf8_valid((const char *)p, whole))
        return fail(s, JSON_BAD_UTF8, "invalid UTF-8 in a string");
    if (whole && buf_append(&s->tok, p, whole) != 0)
        return out_of_memory(s);
    return JSON_OK;
}

/* The closing quote of a string gathered in the token. */
static json_status end_string(json_stream *s)
{
    json_status rc = flush_high(s);
    if (rc != JSON_OK)
        return rc;
    rc = emit_string(s, (const unsigned char *)(s->tok.data ? s->tok.data : ""), s->tok.len);
    if (s->tok.data)
        secure_zero(s->tok.data, s->tok.len);
    s->tok.len = 0;
    return rc;
}

/* Reads string bytes from p[0..n); *used says how many it took. */
static json_status read_string(json_stream *s, const unsigned char *p, size_t n, size_t *used)
{
    size_t i = 0;
    json_status rc;
    if (s->utf8_need) {
        if ((rc = finish_split_char(s, p, n, &i)) != JSON_OK || s->utf8_need) {
            *used = i;
            return rc;
        }
    }
    /* The fast case: the whole string is in this chunk with no escape. */
    if (s->tok.len == 0 && !s->escape && !s->high) {
        int high;
        size_t run = json_plain_run(p + i, n - i, &high);
        if (i + run < n && p[i + run] == '"') {
            if (high && !utf8_valid((const char *)p + i, run))
                return fail(s, JSON_BAD_UTF8, "invalid UTF-8 in a string");
            *used = i + run + 1;
            return emit_string(s, p + i, run);
        }
    }
    while (i < n) {
        if (s->escape) {
            if ((rc = read_escape(s, p[i++])) != JSON_OK)
                return rc;
            continue;
        }
        int high;
        size_t run = json_plain_run(p + i, n - i, &high);
        if (run) {
            if ((rc = append_run(s, p + i, run, high)) != JSON_OK)
                return rc;
            i += run;
            if (s->utf8_need)
                break; /* the chunk ended inside a character */
            continue;
        }
        unsigned char c = p[i++];
        if (c == '\\') {
            s->escape = 1;
        } else if (c == '"') {
            *used = i;
            return end_string(s);
        } else {
            return syntax(s, "control byte in a string");
        }
    }
    *used = i;
    return JSON_OK;
}

/* ---- numbers and literals ---- */

static int is_number_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Reads number bytes from p[0..n): the number ends at the first byte that
 * cannot be part of one, which is left for the next state. */
static json_status read_number(json_stream *s, const unsigned char *p, size_t n, size_t *used)
{
    size_t i = 0;
    while (i < n && is_number_char(p[i]))
        i++;
    *used = i;
    if (s->tok.len + i > MAX_NUMBER)
        return fail(s, JSON_TOO_LONG, "number too long");
    if (i == n) /* it may go on in the next chunk */
        return buf_append(&s->tok, p, i) == 0 ? JSON_OK : out_of_memory(s);
    if (s->tok.len == 0)
        return emit_number(s, (const char *)p, i);
    if (buf_append(&s->tok, p, i) != 0)
        return out_of_memory(s);
    json_status rc = emit_number(s, s->tok.data, s->tok.len);
    s->tok.len = 0;
    return rc;
}

static json_status read_literal(json_stream *s, unsigned char c)
{
    if (c != (unsigned char)s->literal[s->literal_at])
        return syntax(s, "unexpected character in a literal");
    if (s->literal[++s->literal_at] == '\0')
        return emit_literal(s);
    return JSON_OK;
}

/* ---- structure ---- */

/* Starts a value at p[0] (not whitespace), p[0..n) being the rest of the
 * chunk. *used: 1 for most; 0 for a number, whose first byte the number
 * state reads; a whole object when the whole_object callback took it. */
static json_status start_value(json_stream *s, const unsigned char *p, size_t n, size_t *used)
{
    *used = 1;
    switch (p[0]) {
    case '{':
        if (s->ev->whole_object) {
            long took = s->ev->whole_object(s->ctx, p, n);
            if (took < 0)
                return call(s, 0);
            if (took > 0) {
                *used = (size_t)took;
                after_value(s);
                return JSON_OK;
            }
        }
        return open_container(s, 1);
    case '[':
        return open_container(s, 0);
    case '"':
        s->in_key = 0;
        s->state = ST_STRING;
        return JSON_OK;
    case 't':
        s->literal = "true";
        break;
    case 'f':
        s->literal = "false";
        break;
    case 'n':
        s->literal = "null";
        break;
    default:
        if (p[0] == '-' || (p[0] >= '0' && p[0] <= '9')) {
            *used = 0;
            s->state = ST_NUMBER;
            s->tok.len = 0;
            return JSON_OK;
        }
        return syntax(s, "unexpected character where a value should be");
    }
    s->state = ST_LITERAL;
    s->literal_at = 1;
    return JSON_OK;
}

/* A byte between tokens (not whitespace) at p[0], p[0..n) being the rest
 * of the chunk: what it may be depends on the state. */
static json_status structural(json_stream *s, const unsigned char *p, size_t n, size_t *used)
{
    unsigned char c = p[0];
    *used = 1;
    switch (s->state) {
    case ST_VALUE_OR_CLOSE:
        if (c == ']')
            return close_container(s, 0);
        /* fall through */
    case ST_VALUE:
        return start_value(s, p, n, used);
    case ST_KEY_OR_CLOSE:
        if (c == '}')
            return close_container(s, 1);
        /* fall through */
    case ST_KEY:
        if (c != '"')
            return syntax(s, "expected a quoted key");
        s->in_key = 1;
        s->state = ST_STRING;
        return JSON_OK;
    case ST_COLON:
        if (c != ':')
            return syntax(s, "expected ':' after a key");
        s->state = ST_VALUE;
        return JSON_OK;
    case ST_COMMA_OR_CLOSE:
        if (c == ',') {
            s->state = in_object(s) ? ST_KEY : ST_VALUE;
            return JSON_OK;
        }
        if (c == '}' || c == ']')
            return close_container(s, c == '}');
        return syntax(s, "expected ',' or the end of a container");
    case ST_DONE:
        return syntax(s, "trailing garbage after the JSON value");
    default:
        return syntax(s, "internal state");
    }
}

json_status json_stream_feed(json_stream *s, const void *bytes, size_t n)
{
    const unsigned char *p = bytes;
    size_t i = 0;
    if (s->status != JSON_OK)
        return s->status;
    while (i < n) {
        size_t used = 1;
        json_status rc = JSON_OK;
        switch (s->state) {
        case ST_STRING:
            rc = read_string(s, p + i, n - i, &used);
            break;
        case ST_NUMBER:
            rc = read_number(s, p + i, n - i, &used);
            break;
        case ST_LITERAL:
            rc = read_literal(s, p[i]);
            break;
        default:
            if (!json_is_space(p[i]))
                rc = structural(s, p + i, n - i, &used);
            break;
        }
        if (rc != JSON_OK)
            return rc;
        i += used;
    }
    return JSON_OK;
}

json_status json_stream_finish(json_stream *s)
{
    if (s->status != JSON_OK)
        return s->status;
    if (s->state == ST_NUMBER && s->depth == 0) {
        json_status rc = emit_number(s, s->tok.data ? s->tok.data : "", s->tok.len);
        s->tok.len = 0;
        if (rc != JSON_OK)
            return rc;
    }
    if (s->state == ST_DONE)
        return JSON_OK;
    if (s->state == ST_VALUE && s->depth == 0)
        return syntax(s, "no JSON value");
    return syntax(s, "premature end of the JSON value");
}
