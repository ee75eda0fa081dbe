/* The server's growable byte buffer (buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void zero(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static int sbuf_reserve(sbuf *b, size_t more)
{
    if (b->failed) return -1;
    if (b->data && b->len + more + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 512;
    while (cap < b->len + more + 1)
        cap *= 2;
    /* Not realloc: the old block may hold a secret; it is wiped. */
    char *p = malloc(cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    if (b->data) {
        memcpy(p, b->data, b->len + 1);
        zero(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void sbuf_add(sbuf *b, const void *bytes, size_t len)
{
    if (sbuf_reserve(b, len) != 0) return;
    if (len) memcpy(b->data + b->len, bytes, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void sbuf_adds(sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

void sbuf_arg(sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s) + 1);
}

void sbuf_addf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (sbuf_reserve(b, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

size_t utf8_seq(const char *text, size_t len, size_t at)
{
    const unsigned char *s = (const unsigned char *)text + at;
    size_t left = len - at;
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned cp, min;
    if (c >= 0xc2 && c <= 0xdf)
        n = 1, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 2, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 3, cp = c & 0x07, min = 0x10000;
    else
        return 0; /* a continuation byte, or a lead byte no code point has */
    if (left <= n) return 0;
    for (size_t k = 1; k <= n; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n + 1;
}

int utf8_strict(const char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if ((n = utf8_seq(s, len, i)) == 0) return 0;
    return 1;
}

void sbuf_json_str(sbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (sbuf_reserve(b, len + 2) != 0) return;
    b->data[b->len++] = '"';
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            /* Whatever a record holds (a database from before strings were
             * checked), the JSON written is UTF-8: a byte that starts no
             * valid sequence becomes U+FFFD, so no one record can break
             * every client's list. */
            size_t n = utf8_seq(s, len, i);
            if (n) {
                i += n - 1;
                continue;
            }
            sbuf_add(b, s + run, i - run);
            run = i + 1;
            sbuf_add(b, "\\ufffd", 6);
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sbuf_add(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            sbuf_add(b, "\\\"", 2);
            break;
        case '\\':
            sbuf_add(b, "\\\\", 2);
            break;
        case '\n':
            sbuf_add(b, "\\n", 2);
            break;
        case '\r':
            sbuf_add(b, "\\r", 2);
            break;
        case '\t':
            sbuf_add(b, "\\t", 2);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sbuf_add(b, u, 6);
        }
        }
    }
    sbuf_add(b, s + run, len - run);
    sbuf_add(b, "\"", 1);
}

void sbuf_json_strz(sbuf *b, const char *s)
{
    if (s)
        sbuf_json_str(b, s, strlen(s));
    else
        sbuf_add(b, "null", 4);
}

char *sbuf_take(sbuf *b)
{
    if (b->failed) {
        sbuf_free(b);
        return NULL;
    }
    char *p = b->data ? b->data : calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void sbuf_free(sbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void sbuf_wipe(sbuf *b)
{
    if (b->data) zero(b->data, b->cap);
    sbuf_free(b);
}
