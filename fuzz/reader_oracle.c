/* The library's one JSON reader against yajl, the oracle kept for this.
 *
 * Both readers call back in the same shapes, so one set of callbacks hashes
 * either's events (with their bytes) into a trace. The reader must give the
 * same status and trace however the body is split; where yajl refuses the
 * body, so must the reader; where both accept it, their traces must match
 * (unless it has a \u escape: yajl writes a lone surrogate as '?', the
 * reader as U+FFFD). Where yajl accepts and the reader refuses, the cause
 * must be one of the reader's deliberate differences:
 *   - UTF-8 that yajl lets through (overlongs, surrogates, past U+10FFFF);
 *   - a number longer than the reader keeps, or nesting past its limit;
 *   - \v or \f between tokens (RFC 8259 whitespace is space, tab, CR and
 *     LF; yajl also skips those two);
 *   - an unterminated string after the value, which yajl 2.1 lets pass as
 *     trailing input.
 * The byte-at-a-time run finds where the reader stopped, so each cause is
 * checked at that byte rather than guessed from the whole body. */
#include <string.h>

#include <yajl/yajl_parse.h>

#include "check.h"
#include "reader_oracle.h"

typedef struct trace {
    uint64_t hash;
    size_t depth, max_depth;
} trace;

/* FNV-1a over an event's tag, length and bytes. */
static void mix(trace *t, unsigned char tag, const void *bytes, size_t n)
{
    const unsigned char *p = bytes;
    uint64_t h = t->hash ? t->hash : 0xcbf29ce484222325u;
    h = (h ^ tag) * 0x100000001b3u;
    for (size_t k = 0; k < sizeof n; k++)
        h = (h ^ ((n >> (8 * k)) & 0xFF)) * 0x100000001b3u;
    for (size_t k = 0; k < n; k++)
        h = (h ^ p[k]) * 0x100000001b3u;
    t->hash = h;
}

static int on_null(void *ctx)
{
    mix(ctx, 'n', NULL, 0);
    return 1;
}

static int on_boolean(void *ctx, int value)
{
    mix(ctx, value ? 't' : 'f', NULL, 0);
    return 1;
}

static int on_number(void *ctx, const char *text, size_t len)
{
    mix(ctx, '#', text, len);
    return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    mix(ctx, '"', s, len);
    return 1;
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
    mix(ctx, ':', s, len);
    return 1;
}

static int open_container(trace *t, unsigned char tag)
{
    mix(t, tag, NULL, 0);
    if (++t->depth > t->max_depth)
        t->max_depth = t->depth;
    return 1;
}

static int close_container(trace *t, unsigned char tag)
{
    mix(t, tag, NULL, 0);
    t->depth--;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, '{');
}

static int on_end_map(void *ctx)
{
    return close_container(ctx, '}');
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, '[');
}

static int on_end_array(void *ctx)
{
    return close_container(ctx, ']');
}

static const json_events reader_events = {
    .null = on_null,
    .boolean = on_boolean,
    .number = on_number,
    .string = on_string,
    .start_map = on_start_map,
    .map_key = on_key,
    .end_map = on_end_map,
    .start_array = on_start_array,
    .end_array = on_end_array,
};

static const yajl_callbacks yajl_events = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

/* The reader over body: `first` bytes, then pieces of `piece` bytes (0:
 * all the rest in one). *stop_at: the offset of the piece whose feed
 * failed (len when finish did), the failing byte itself when piece == 1. */
static json_status read_pieces(const uint8_t *body, size_t len, size_t first, size_t piece,
                               trace *t, size_t *stop_at)
{
    json_stream *s = json_stream_new(&reader_events, t);
    check(s != NULL);
    json_status st = json_stream_feed(s, body, first);
    size_t off = first;
    *stop_at = st == JSON_OK ? len : 0;
    while (st == JSON_OK && off < len) {
        size_t n = piece && piece < len - off ? piece : len - off;
        st = json_stream_feed(s, body + off, n);
        if (st != JSON_OK)
            *stop_at = off;
        off += n;
    }
    if (st == JSON_OK)
        st = json_stream_finish(s);
    /* Sticky: a failed reader keeps its status. */
    if (st != JSON_OK)
        check(json_stream_feed(s, "1", 1) == st && json_stream_finish(s) == st);
    json_stream_free(s);
    return st;
}

/* 1 when body holds a \u escape (or what looks like one). */
static int has_unicode_escape(const uint8_t *body, size_t len)
{
    for (const uint8_t *p = body; (p = memchr(p, '\\', len - (size_t)(p - body))); p++)
        if ((size_t)(p - body) + 1 < len && p[1] == 'u')
            return 1;
    return 0;
}

static int yajl_reads(const uint8_t *body, size_t len, trace *t)
{
    yajl_handle h = yajl_alloc(&yajl_events, NULL, t);
    check(h != NULL);
    yajl_status st = yajl_parse(h, body, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    yajl_free(h);
    return st == yajl_status_ok;
}

/* yajl accepted what the reader refused, at body[at]: one of the
 * differences the header lists? */
static int deliberate_difference(json_status st, const uint8_t *body, size_t len, size_t at)
{
    if (st == JSON_BAD_UTF8 || st == JSON_TOO_LONG || st == JSON_TOO_DEEP)
        return 1;
    if (st != JSON_SYNTAX || at >= len)
        return 0;
    if (body[at] == '\v' || body[at] == '\f')
        return 1;
    return body[at] == '"' && !memchr(body + at + 1, '"', len - at - 1);
}

reader_verdict reader_check(const uint8_t *body, size_t len, size_t cut)
{
    trace whole = {0}, halves = {0}, bytes = {0}, oracle = {0};
    size_t at;
    reader_verdict v;
    v.status = read_pieces(body, len, len, 0, &whole, &at);
    json_status st_halves = read_pieces(body, len, cut % (len + 1), 0, &halves, &at);
    json_status st_bytes = read_pieces(body, len, len ? 1 : 0, 1, &bytes, &at);
    check(st_halves == v.status && st_bytes == v.status);
    check(halves.hash == whole.hash && bytes.hash == whole.hash);
    v.max_depth = whole.max_depth;
    if (len == 0)
        return v;

    int accepted = yajl_reads(body, len, &oracle);
    if (!accepted)
        check(v.status != JSON_OK);
    else if (v.status != JSON_OK)
        check(deliberate_difference(v.status, body, len, at));
    else if (!has_unicode_escape(body, len))
        check(oracle.hash == whole.hash);
    return v;
}
