/* The JSON the program prints under --json, written by hand.
 *
 * yajl's generator does not check its own allocations and crashed under a
 * failing malloc; this writer grows one buffer, and the first failed
 * allocation makes it stop writing and say so at the end (json_end), so
 * a run out of memory is a clear exit 1, never a crash or half a document.
 * Strings are written as JSON needs them: quote, backslash and control
 * bytes escaped, valid UTF-8 kept as it is, each byte of invalid UTF-8
 * replaced by U+FFFD so that the document always parses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"

void json_begin(json_out *j, void *(*grow)(void *, size_t))
{
    memset(j, 0, sizeof *j);
    j->grow = grow ? grow : realloc;
}

static void put(json_out *j, const char *s, size_t n)
{
    if (j->failed) return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *bigger = j->grow(j->buf, cap);
        if (!bigger) {
            j->failed = 1;
            return;
        }
        j->buf = bigger;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

/** The comma before a value (or a key) that is not the first of its
 *  container; nothing after a key, whose value follows its colon. */
static void separate(json_out *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0 && j->depth <= JSON_DEPTH_MAX) {
        if (j->has_item[j->depth - 1]) put(j, ",", 1);
        j->has_item[j->depth - 1] = 1;
    }
}

static void open_container(json_out *j, char c)
{
    separate(j);
    put(j, &c, 1);
    if (++j->depth <= JSON_DEPTH_MAX) j->has_item[j->depth - 1] = 0;
}

static void close_container(json_out *j, char c)
{
    if (j->depth > 0) j->depth--;
    put(j, &c, 1);
}

void json_object_open(json_out *j)
{
    open_container(j, '{');
}

void json_object_close(json_out *j)
{
    close_container(j, '}');
}

void json_array_open(json_out *j)
{
    open_container(j, '[');
}

void json_array_close(json_out *j)
{
    close_container(j, ']');
}

/** The length of the valid UTF-8 sequence at @p p (at most @p n bytes), or
 *  0 when it is not one: overlongs, surrogates and > U+10FFFF refused. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned min;
    unsigned cp;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2, min = 0x80, cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3, min = 0x800, cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4, min = 0x10000, cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

static void put_string(json_out *j, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    put(j, "\"", 1);
    size_t i = 0, plain = 0; /* bytes from `plain` to `i` need no escape */
    while (i < n) {
        unsigned char c = p[i];
        size_t seq = c < 0x80 ? 1 : utf8_sequence(p + i, n - i);
        if (c >= 0x20 && c != '"' && c != '\\' && seq > 0) {
            i += seq;
            continue;
        }
        put(j, s + plain, i - plain);
        char esc[8];
        switch (c) {
        case '"':
            put(j, "\\\"", 2);
            break;
        case '\\':
            put(j, "\\\\", 2);
            break;
        case '\n':
            put(j, "\\n", 2);
            break;
        case '\r':
            put(j, "\\r", 2);
            break;
        case '\t':
            put(j, "\\t", 2);
            break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                put(j, esc, 6);
            } else {
                put(j, "\\ufffd", 6); /* a byte of invalid UTF-8 */
            }
            break;
        }
        i++;
        plain = i;
    }
    put(j, s + plain, n - plain);
    put(j, "\"", 1);
}

void json_key(json_out *j, const char *key)
{
    separate(j);
    put_string(j, key);
    put(j, ":", 1);
    j->after_key = 1;
}

void json_string(json_out *j, const char *s)
{
    separate(j);
    put_string(j, s);
}

void json_string_or_null(json_out *j, const char *s)
{
    if (s)
        json_string(j, s);
    else
        json_null(j);
}

void json_integer(json_out *j, long long v)
{
    separate(j);
    char num[32];
    int n = snprintf(num, sizeof num, "%lld", v);
    put(j, num, (size_t)n);
}

void json_bool(json_out *j, int v)
{
    separate(j);
    put(j, v ? "true" : "false", v ? 4 : 5);
}

void json_null(json_out *j)
{
    separate(j);
    put(j, "null", 4);
}

int json_end(json_out *j, FILE *f)
{
    put(j, "\n", 1);
    int ok = !j->failed;
    if (ok) fwrite(j->buf, 1, j->len, f);
    free(j->buf);
    memset(j, 0, sizeof *j);
    return ok ? 0 : -1;
}
