/* Small shared pieces: a byte buffer, error filling, UTF-8, redaction, time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Room for `extra` more bytes and a terminator. 0, or -1 on ENOMEM. */
static int buf_reserve(lb_buf *b, size_t extra)
{
    if (b->data && b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    if (extra > (size_t)-1 / 4 - b->len)
        return -1;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p;
    if (b->secret) {
        /* realloc would free the old block unwiped */
        p = malloc(cap);
        if (!p)
            return -1;
        if (b->data) {
            memcpy(p, b->data, b->len);
            secure_zero(b->data, b->cap);
            free(b->data);
        }
    } else {
        p = realloc(b->data, cap);
        if (!p)
            return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(lb_buf *b, const void *bytes, size_t len)
{
    if (buf_reserve(b, len) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, bytes, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_string(lb_buf *b, const void *bytes, size_t len)
{
    if (buf_reserve(b, len + 1) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, bytes, len);
    b->data[b->len + len] = '\0';
    b->len += len + 1;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_str(lb_buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

void buf_free(lb_buf *b)
{
    if (b->secret && b->data)
        secure_zero(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_wipe_free(lb_buf *b)
{
    if (b->data)
        secure_zero(b->data, b->cap);
    buf_free(b);
}

void secure_zero(void *p, size_t n)
{
    /* A volatile pointer keeps the compiler from dropping the stores. */
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

lb_code error_set(lb_error *err, lb_code code, int http_status, const char *fmt, ...)
{
    if (!err)
        return code;
    char tmp[sizeof err->message * 2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        tmp[0] = '\0';
    err->code = code;
    err->http_status = http_status;
    utf8_copy(err->message, sizeof err->message, tmp, strlen(tmp));
    err->error_code[0] = '\0';
    memset(err->reserved, 0, sizeof err->reserved);
    return code;
}

/* Length of the UTF-8 sequence starting at s (at most len bytes), or 0 when
 * the bytes there are not a valid, shortest-form sequence. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(u + i, len - i);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    /* Step back over continuation bytes to the start of the cut sequence;
     * drop it unless it ends exactly at the cut. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

void utf8_copy(char *dst, size_t dst_size, const char *src, size_t src_len)
{
    if (!dst_size)
        return;
    size_t n = utf8_cut(src, src_len, dst_size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int rfc3339_format(long long unix_s, char *dst, size_t dst_size)
{
    if (unix_s < 0 || unix_s > 253402300799LL) /* 9999-12-31T23:59:59Z */
        return -1;
    time_t t = (time_t)unix_s;
    struct tm tm;
    if ((long long)t != unix_s || !gmtime_r(&t, &tm))
        return -1;
    if (strftime(dst, dst_size, "%Y-%m-%dT%H:%M:%S+00:00", &tm) == 0)
        return -1;
    return 0;
}

int options_read(void *dst, const void *src, const size_t *sizes, unsigned current)
{
    unsigned version;
    memcpy(&version, src, sizeof version);
    if (version < 1 || version > current)
        return -1;
    memcpy(dst, src, sizes[version]);
    return 0;
}
