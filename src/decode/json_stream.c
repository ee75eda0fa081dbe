/* A streaming JSON reader for the host decoder: bytes in, in any split;
 * events out, in yajl's callback shapes.
 *
 * Why not yajl here: T2 (perf.md) asks for a 100,000-host list decoded at
 * most 3x slower than libcurl downloads it, and yajl's byte-at-a-time lexer
 * alone takes 2-3x the download on this hardware before a single field is
 * copied. This reader does the same job (RFC 8259, strict: no comments, no
 * trailing commas, UTF-8 validated, control bytes refused) in fewer
 * instructions by scanning strings in runs and handing strings that do not
 * cross a chunk and hold no escape straight from the caller's buffer. yajl
 * stays in the project for small bodies and for generating requests; the
 * fuzzer compares the two readers on every input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "decode.h"

#define MAX_DEPTH (1 << 20)  /* containers open at once; a bit each */
#define MAX_NUMBER 256        /* bytes of a number token */

enum state {
    ST_VALUE,           /* a value must come (top level, after ':' or ',' in an array) */
    ST_VALUE_OR_CLOSE,  /* just after '[' */
    ST_KEY,             /* after ',' in an object */
    ST_KEY_OR_CLOSE,    /* just after '{' */
    ST_COLON,           /* after a key */
    ST_COMMA_OR_CLOSE,  /* after a value inside a container */
    ST_DONE,            /* the top-level value ended: only whitespace may follow */
    ST_STRING,          /* inside a string (a key when in_key) */
    ST_NUMBER,          /* inside a number */
    ST_LITERAL,         /* inside true, false or null */
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
    int stopped;         /* a callback returned 0 */
    int nomem;           /* the syntax error is in fact out of memory */
    char error[96];
};

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

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

static int syntax(json_stream *s, const char *why)
{
    snprintf(s->error, sizeof s->error, "%s", why);
    return -1;
}

static int out_of_memory(json_stream *s)
{
    s->nomem = 1;
    return syntax(s, "out of memory");
}

int json_stream_out_of_memory(const json_stream *s)
{
    return s->nomem;
}

static int in_object(const json_stream *s)
{
    size_t i = s->depth - 1;
    return (s->stack[i / 8] >> (i % 8)) & 1;
}

static int push(json_stream *s, int object)
{
    if (s->depth == MAX_DEPTH)
        return syntax(s, "nested too deep");
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
    return 0;
}

/* A value ended: what may come next. */
static void after_value(json_stream *s)
{
    s->state = s->depth ? ST_COMMA_OR_CLOSE : ST_DONE;
}

static int call(json_stream *s, int ok)
{
    if (!ok) {
        s->stopped = 1;
        return -2;
    }
    return 0;
}

/* Hands a finished string to the callbacks. */
static int emit_string(json_stream *s, const unsigned char *p, size_t n)
{
    int key = s->in_key;
    if (key) {
        s->state = ST_COLON;
        return call(s, s->ev->map_key(s->ctx, p, n));
    }
    after_value(s);
    return call(s, s->ev->string(s->ctx, p, n));
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number_valid(const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p[i] == '-')
        i++;
    if (i == n)
        return 0;
    if (p[i] == '0') {
        i++;
    } else if (p[i] >= '1' && p[i] <= '9') {
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
    } else {
        return 0;
    }
    if (i < n && p[i] == '.') {
        size_t start = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start)
            return 0;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t start = i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start)
            return 0;
    }
    return i == n;
}

static int emit_number(json_stream *s, const char *p, size_t n)
{
    if (!number_valid(p, n))
        return syntax(s, "malformed number");
    after_value(s);
    return call(s, s->ev->number(s->ctx, p, n));
}

static int is_number_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Appends code point cp as UTF-8 to the token. */
static int put_code_point(json_stream *s, unsigned cp)
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
    return buf_append(&s->tok, out, n) == 0 ? 0 : out_of_memory(s);
}

/* A \\uXXXX escape is complete: combine surrogate pairs; a lone half reads
 * as U+FFFD. */
static int unicode_escape(json_stream *s, unsigned cp)
{
    if (s->high) {
        unsigned high = s->high;
        s->high = 0;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return put_code_point(s, 0x10000 + ((high - 0xD800) << 10) + (cp - 0xDC00));
        if (put_code_point(s, 0xFFFD) != 0)
            return -1;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        s->high = cp;
        return 0;
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

/* Byte classes inside a string: 0 plain ASCII, 1 ends the run ('"', '\\',
 * a control byte), 2 part of a multi-byte UTF-8 character. */
static const unsigned char string_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* Strings are most of a host list, so their scan is the reader's hot loop:
 * sixteen bytes a step with SSE2 (every x86-64 has it), else one table load
 * a byte. A step never reads past p + n. */
size_t json_plain_run(const unsigned char *p, size_t n, int *high)
{
    size_t i = 0;
    unsigned seen = 0;
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  control = _mm_set1_epi8(0x1F);
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        /* unsigned v <= 0x1F exactly when max(v, 0x1F) == 0x1F */
        __m128i stop = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
            _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));
        unsigned stops = (unsigned)_mm_movemask_epi8(stop);
        unsigned highs = (unsigned)_mm_movemask_epi8(v); /* bytes >= 0x80 */
        if (stops) {
            unsigned at = (unsigned)__builtin_ctz(stops);
            seen |= highs & ((1u << at) - 1);
            *high = seen != 0;
            return i + at;
        }
        seen |= highs;
        i += 16;
    }
#endif
    while (i < n) {
        unsigned c = string_class[p[i]];
        if (c & 1)
            break;
        seen |= c;
        i++;
    }
    *high = seen != 0;
    return i;
}

/* Completes a UTF-8 character split across chunks. Returns bytes used from
 * p, or -1. */
static long finish_split_char(json_stream *s, const unsigned char *p, size_t n)
{
    size_t used = 0;
    while (s->utf8_have < s->utf8_need && used < n)
        s->utf8_buf[s->utf8_have++] = p[used++];
    if (s->utf8_have < s->utf8_need)
        return (long)used; /* still split: wait for more */
    if (!utf8_valid((const char *)s->utf8_buf, s->utf8_have))
        return syntax(s, "invalid UTF-8 in a string");
    if (buf_append(&s->tok, s->utf8_buf, s->utf8_have) != 0)
        return out_of_memory(s);
    s->utf8_need = s->utf8_have = 0;
    return (long)used;
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

/* Checks the run p[0..n) as UTF-8 (when it has high bytes) and appends it
 * to the token, except for a character cut at the end of the chunk, which
 * is kept aside. */
static int append_run(json_stream *s, const unsigned char *p, size_t n, int high)
{
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
        return syntax(s, "invalid UTF-8 in a string");
    if (whole && buf_append(&s->tok, p, whole) != 0)
        return out_of_memory(s);
    return 0;
}

/* Reads string bytes from p; returns bytes consumed, or < 0. */
static long read_string(json_stream *s, const unsigned char *p, size_t n)
{
    size_t i = 0;
    if (s->utf8_need) {
        long used = finish_split_char(s, p, n);
        if (used < 0)
            return used;
        i = (size_t)used;
        if (s->utf8_need)
            return (long)i;
    }
    /* The fast case: the whole string is in this chunk with no escape. */
    if (s->tok.len == 0 && !s->escape && !s->high) {
        int high;
        size_t run = json_plain_run(p + i, n - i, &high);
        if (i + run < n && p[i + run] == '"') {
            if (high && !utf8_valid((const char *)p + i, run))
                return syntax(s, "invalid UTF-8 in a string");
            int rc = emit_string(s, p + i, run);
            return rc < 0 ? rc : (long)(i + run + 1);
        }
    }
    while (i < n) {
        if (s->escape == 1) {
            unsigned char c = p[i++];
            const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
            const char *hit = NULL;
            for (const char *m = map; *m; m += 2)
                if ((unsigned char)*m == c) {
                    hit = m;
                    break;
                }
            if (c == 'u') {
                s->escape = 2;
                s->hex = 0;
                continue;
            }
            if (!hit)
                return syntax(s, "bad escape in a string");
            if (s->high) { /* a high surrogate not followed by \\u */
                s->high = 0;
                if (put_code_point(s, 0xFFFD) != 0)
                    return -1;
            }
            if (buf_append(&s->tok, hit + 1, 1) != 0)
                return out_of_memory(s);
            s->escape = 0;
            continue;
        }
        if (s->escape >= 2) {
            int v = hex_value(p[i++]);
            if (v < 0)
                return syntax(s, "bad \\u escape in a string");
            s->hex = (s->hex << 4) | (unsigned)v;
            if (++s->escape == 6) {
                s->escape = 0;
                if (unicode_escape(s, s->hex) != 0)
                    return -1;
            }
            continue;
        }
        int high;
        size_t run = json_plain_run(p + i, n - i, &high);
        if (run) {
            if (s->high) {
                s->high = 0;
                if (put_code_point(s, 0xFFFD) != 0)
                    return -1;
            }
            if (append_run(s, p + i, run, high) != 0)
                return -1;
            i += run;
            if (s->utf8_need)
                return (long)i; /* the chunk ended inside a character */
            continue;
        }
        unsigned char c = p[i++];
        if (c == '\\') {
            s->escape = 1;
        } else if (c == '"') {
            if (s->high) {
                s->high = 0;
                if (put_code_point(s, 0xFFFD) != 0)
                    return -1;
            }
            int rc = emit_string(s, (const unsigned char *)(s->tok.data ? s->tok.data : ""),
                                 s->tok.len);
            if (s->tok.data)
                secure_zero(s->tok.data, s->tok.len);
            s->tok.len = 0;
            return rc < 0 ? rc : (long)i;
        } else {
            return syntax(s, "control byte in a string");
        }
    }
    return (long)i;
}

static int open_container(json_stream *s, int object)
{
    if (push(s, object) != 0)
        return -1;
    s->state = object ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
    return call(s, object ? s->ev->start_map(s->ctx) : s->ev->start_array(s->ctx));
}

static int close_container(json_stream *s, int object)
{
    if (!s->depth || in_object(s) != object)
        return syntax(s, object ? "unexpected '}'" : "unexpected ']'");
    s->depth--;
    after_value(s);
    return call(s, object ? s->ev->end_map(s->ctx) : s->ev->end_array(s->ctx));
}

static int literal_done(json_stream *s)
{
    after_value(s);
    if (s->literal[0] == 'n')
        return call(s, s->ev->null(s->ctx));
    return call(s, s->ev->boolean(s->ctx, s->literal[0] == 't'));
}

/* Starts a value at p[0] (not whitespace), p[0..n) being the rest of the
 * chunk. Returns bytes consumed (1 for most; 0 for a number, whose first
 * byte the number state reads; a whole object when the whole_object
 * callback took it), or < 0. */
static long start_value(json_stream *s, const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    switch (c) {
    case '{':
        if (s->ev->whole_object) {
            long took = s->ev->whole_object(s->ctx, p, n);
            if (took < 0) {
                s->stopped = 1;
                return -2;
            }
            if (took > 0) {
                after_value(s);
                return took;
            }
        }
        return open_container(s, 1) < 0 ? -1 : 1;
    case '[':
        return open_container(s, 0) < 0 ? -1 : 1;
    case '"':
        s->in_key = 0;
        s->state = ST_STRING;
        return 1;
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
        if (c == '-' || (c >= '0' && c <= '9')) {
            s->state = ST_NUMBER;
            s->tok.len = 0;
            return 0;
        }
        return syntax(s, "unexpected character where a value should be");
    }
    s->state = ST_LITERAL;
    s->literal_at = 1;
    return 1;
}

int json_stream_feed(json_stream *s, const void *bytes, size_t n)
{
    const unsigned char *p = bytes;
    size_t i = 0;
    if (s->error[0] || s->stopped)
        return s->stopped ? -2 : -1;
    while (i < n) {
        unsigned char c = p[i];
        switch (s->state) {
        case ST_STRING: {
            long used = read_string(s, p + i, n - i);
            if (used < 0)
                return used == -2 || s->stopped ? -2 : -1;
            i += (size_t)used;
            continue;
        }
        case ST_NUMBER: {
            size_t start = i;
            while (i < n && is_number_char(p[i]))
                i++;
            if (s->tok.len + (i - start) > MAX_NUMBER)
                return syntax(s, "number too long");
            if (i == n) { /* may go on in the next chunk */
                if (buf_append(&s->tok, p + start, i - start) != 0)
                    return out_of_memory(s);
                return 0;
            }
            int rc;
            if (s->tok.len == 0) {
                rc = emit_number(s, (const char *)p + start, i - start);
            } else {
                if (buf_append(&s->tok, p + start, i - start) != 0)
                    return out_of_memory(s);
                rc = emit_number(s, s->tok.data, s->tok.len);
                s->tok.len = 0;
            }
            if (rc < 0)
                return rc == -2 ? -2 : -1;
            continue; /* the delimiter is read by the next state */
        }
        case ST_LITERAL:
            if (c != (unsigned char)s->literal[s->literal_at])
                return syntax(s, "unexpected character in a literal");
            i++;
            if (s->literal[++s->literal_at] == '\0' && literal_done(s) < 0)
                return s->stopped ? -2 : -1;
            continue;
        default:
            break;
        }
        if (is_space(c)) {
            i++;
            continue;
        }
        long rc = 0;
        switch (s->state) {
        case ST_VALUE:
            rc = start_value(s, p + i, n - i);
            break;
        case ST_VALUE_OR_CLOSE:
            rc = c == ']' ? (close_container(s, 0) < 0 ? -1 : 1) : start_value(s, p + i, n - i);
            break;
        case ST_KEY_OR_CLOSE:
            if (c == '}') {
                rc = close_container(s, 1) < 0 ? -1 : 1;
                break;
            }
            /* fall through */
        case ST_KEY:
            if (c != '"')
                return syntax(s, "expected a quoted key");
            s->in_key = 1;
            s->state = ST_STRING;
            rc = 1;
            break;
        case ST_COLON:
            if (c != ':')
                return syntax(s, "expected ':' after a key");
            s->state = ST_VALUE;
            rc = 1;
            break;
        case ST_COMMA_OR_CLOSE:
            if (c == ',') {
                s->state = in_object(s) ? ST_KEY : ST_VALUE;
                rc = 1;
            } else if (c == '}' || c == ']') {
                rc = close_container(s, c == '}') < 0 ? -1 : 1;
            } else {
                return syntax(s, "expected ',' or the end of a container");
            }
            break;
        case ST_DONE:
            return syntax(s, "trailing garbage after the JSON value");
        default:
            return syntax(s, "internal state");
        }
        if (rc < 0)
            return s->stopped ? -2 : -1;
        i += (size_t)rc;
    }
    return 0;
}

int json_stream_finish(json_stream *s)
{
    if (s->error[0] || s->stopped)
        return s->stopped ? -2 : -1;
    if (s->state == ST_NUMBER && s->depth == 0) {
        int rc = emit_number(s, s->tok.data ? s->tok.data : "", s->tok.len);
        s->tok.len = 0;
        if (rc < 0)
            return rc == -2 ? -2 : -1;
    }
    if (s->state == ST_DONE)
        return 0;
    if (s->state == ST_VALUE && s->depth == 0)
        return syntax(s, "no JSON value");
    return syntax(s, "premature end of the JSON value");
}
