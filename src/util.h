/* The library's small shared pieces (util.c): a byte buffer, error filling,
 * UTF-8, time. No I/O; used by every layer above. Never installed. */
#ifndef LB_UTIL_H
#define LB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "litterbox.h"

typedef struct lb_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len, cap;
    int secret; /* set before use: growth and free wipe the old bytes */
} lb_buf;

int buf_append(lb_buf *b, const void *bytes, size_t len); /* 0, or -1 on ENOMEM */
int buf_append_str(lb_buf *b, const char *s);
/* Appends bytes and the NUL after them, both counted in len. */
int buf_append_string(lb_buf *b, const void *bytes, size_t len);
void buf_free(lb_buf *b);
void buf_wipe_free(lb_buf *b); /* zero the bytes first: the buffer held a secret */

/* Fill err (when not NULL) and return code. The message is cut on a UTF-8
 * boundary to fit. */
lb_code error_set(lb_error *err, lb_code code, int http_status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int utf8_valid(const char *s, size_t len);
/* Largest n <= max such that s[0..n) does not end inside a UTF-8 sequence. */
size_t utf8_cut(const char *s, size_t len, size_t max);
/* Copy src into dst (size dst_size), cut on a UTF-8 boundary, terminated. */
void utf8_copy(char *dst, size_t dst_size, const char *src, size_t src_len);
/* Unix seconds to "YYYY-MM-DDTHH:MM:SS+00:00" (dst at least 26 bytes). */
int rfc3339_format(long long unix_s, char *dst, size_t dst_size);
void secure_zero(void *p, size_t n);

/* Reads a caller's option struct (lb_client_options, lb_create_opts,
 * lb_loop_hooks: each starts with `unsigned int version`) into dst, which
 * holds the defaults of the library's own version: only the bytes of the
 * version the caller declares are read, so a program built against an
 * older header is never read past its struct. sizes[v] is the size of
 * version v, for v = 1..current. 0, or -1 when the version is outside
 * 1..current (dst is then unchanged). */
int options_read(void *dst, const void *src, const size_t *sizes, unsigned current);

#endif
