/* The one growable byte buffer of litterbox-server, shared by the HTTP
 * side and the providers (server/local/ includes it without server.h).
 *
 * Bodies, env values and keys pass through it, so growing never leaves a
 * copy behind: the old block is wiped before it is freed, and sbuf_wipe
 * zeroes what was written before freeing. On allocation failure `failed`
 * is set, later appends do nothing, and sbuf_take returns NULL. */
#ifndef LBS_BUF_H
#define LBS_BUF_H

#include <stddef.h>

typedef struct sbuf {
    char *data; /* NUL-terminated once anything was added */
    size_t len, cap;
    int failed; /* an allocation failed: the content is incomplete */
} sbuf;

void sbuf_add(sbuf *b, const void *bytes, size_t len);
void sbuf_adds(sbuf *b, const char *s);
void sbuf_addf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s and its terminating NUL: one entry of a NUL-separated list. */
void sbuf_arg(sbuf *b, const char *s);
/* A JSON string literal, quotes included, of len bytes of s; a byte that
 * starts no valid UTF-8 sequence is written as \ufffd. */
void sbuf_json_str(sbuf *b, const char *s, size_t len);
void sbuf_json_strz(sbuf *b, const char *s); /* NULL writes null */
/* Hand the buffer over: the caller frees the result. "" when empty, NULL
 * when an allocation failed. */
char *sbuf_take(sbuf *b);
void sbuf_free(sbuf *b);
/* Zero the whole block, then free it: for buffers that held secrets. */
void sbuf_wipe(sbuf *b);

/* The length of the strict UTF-8 sequence at s[at] (1-4), or 0 when none
 * starts there (overlong, surrogate, past U+10FFFF, cut short). */
size_t utf8_seq(const char *s, size_t len, size_t at);
/* 1 when len bytes of s are strict UTF-8. */
int utf8_strict(const char *s, size_t len);

#endif
