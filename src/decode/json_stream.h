/* The library's one JSON reader (json_stream.c), the lexical pieces it
 * shares with the host decoder's whole-record shortcut (json_scan.c and the
 * inline helpers below), and the small-body tree built on it (json_doc.c).
 * Strict RFC 8259: no comments, no trailing commas, whitespace is space,
 * tab, CR and LF only, strings are UTF-8. Never installed. */
#ifndef LB_JSON_STREAM_H
#define LB_JSON_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "litterbox.h"
#include "util.h"

/* What a feed or finish came to. Once it is not JSON_OK, every later feed
 * and finish returns the same status. */
typedef enum json_status {
    JSON_OK = 0,
    JSON_STOPPED,  /* a callback asked to stop */
    JSON_NOMEM,    /* an allocation failed */
    JSON_SYNTAX,   /* the bytes break the grammar */
    JSON_BAD_UTF8, /* a string is not UTF-8 (or is overlong, a surrogate, past U+10FFFF) */
    JSON_TOO_DEEP, /* containers nested past the reader's limit */
    JSON_TOO_LONG, /* a number longer than the reader keeps */
} json_status;

/* The events, in yajl's shapes (so that the fuzzer's yajl oracle reads the
 * same way). A callback returns 0 to stop the reader. */
typedef struct json_events {
    int (*null)(void *ctx);
    int (*boolean)(void *ctx, int value);
    int (*number)(void *ctx, const char *text, size_t len);
    int (*string)(void *ctx, const unsigned char *s, size_t len);
    int (*start_map)(void *ctx);
    int (*map_key)(void *ctx, const unsigned char *key, size_t len);
    int (*end_map)(void *ctx);
    int (*start_array)(void *ctx);
    int (*end_array)(void *ctx);
    /* Optional. Offered each object that starts where a value may, with the
     * rest of the chunk from its '{'. Returns the bytes of one whole object
     * it has taken (ending at its '}', then the reader goes on after it, no
     * other event being sent for it), 0 to leave the object to the events
     * (then it must have changed nothing), or -1 to stop. */
    long (*whole_object)(void *ctx, const unsigned char *p, size_t n);
} json_events;

typedef struct json_stream json_stream;
/* NULL when out of memory. */
json_stream *json_stream_new(const json_events *ev, void *ctx);
/* Bytes of the one JSON value, in any split (an empty chunk is fine). */
json_status json_stream_feed(json_stream *s, const void *bytes, size_t len);
/* The value must have ended: JSON_OK, or why not. */
json_status json_stream_finish(json_stream *s);
/* After a status other than JSON_OK: why, as one short line. */
const char *json_stream_error(const json_stream *s);
void json_stream_free(json_stream *s);

/* ---- json_scan.c: string and number pieces ---- */

/* Length of the run at p of string bytes that need no care: it stops at '"',
 * '\\' or a control byte. *high tells whether it holds bytes >= 0x80 (to be
 * checked as UTF-8 by the caller). */
size_t json_plain_run(const unsigned char *p, size_t n, int *high);
/* The byte a one-letter escape stands for (the letter after the '\\'), or
 * -1 when the letter makes none (\\u is not one-letter). */
int json_escape_byte(unsigned char letter);
/* Undoes the one-letter escapes of src[0..len), a string json_plain_string
 * accepted, into dst (at least len bytes). Returns the length written. */
size_t json_unescape(char *dst, const char *src, size_t len);
/* 1 when p[0..n) is a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
int json_number_valid(const char *p, size_t n);

/* Inline, for the shortcut's inner loop (a call per string or value cost
 * T2 a measurable share). */
static inline int json_is_space(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* The index of the first byte at or after p[i] that is not whitespace. */
static inline size_t json_skip_space(const unsigned char *p, size_t i, size_t n)
{
    while (i < n && json_is_space(p[i]))
        i++;
    return i;
}

/* A string whose opening quote is at p[i - 1], UTF-8 checked, with no escape
 * but the one-letter ones: its length as sent, p[i + length] being its
 * closing quote; (size_t)-1 when it is not such a string or does not end
 * before p + n - 1. *escaped tells whether it has escapes to undo. */
static inline size_t json_plain_string(const unsigned char *p, size_t i, size_t n, int *escaped)
{
    size_t start = i;
    *escaped = 0;
    for (;;) {
        int high;
        size_t run = json_plain_run(p + i, n - i, &high);
        if (high && !utf8_valid((const char *)p + i, run))
            return (size_t)-1;
        i += run;
        if (i + 1 >= n) /* the quote must not be the chunk's last byte either */
            return (size_t)-1;
        if (p[i] == '"')
            return i - start;
        if (p[i] != '\\' || json_escape_byte(p[i + 1]) < 0)
            return (size_t)-1; /* a control byte, \\u, or a bad escape */
        *escaped = 1;
        i += 2;
    }
}

/* The library's one integer parser: -?(0|[1-9][0-9]*) at p[i..n), its value
 * in *out and the index after it; (size_t)-1 when no integer starts there
 * or it does not fit a long long. What follows it is the caller's to judge
 * (a '.' or an 'e' makes it a fraction, not an integer). */
static inline size_t json_integer(const unsigned char *p, size_t i, size_t n, long long *out)
{
    int neg = i < n && p[i] == '-';
    i += (size_t)neg;
    if (i >= n || p[i] < '0' || p[i] > '9')
        return (size_t)-1;
    if (p[i] == '0') {
        *out = 0;
        return i + 1;
    }
    /* 19 digits always fit a uint64_t; the 20th never fits a long long. */
    size_t start = i;
    uint64_t v = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9' && i - start < 20)
        v = v * 10 + (uint64_t)(p[i++] - '0');
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (i - start > 19 || v > limit)
        return (size_t)-1;
    *out = neg ? -(long long)(v - 1) - 1 : (long long)v; /* v >= 1 here */
    return i;
}

/* ---- json_doc.c: a small whole body as a tree ---- */

typedef enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

/* A value of the tree. Containers list their values from `first` along
 * `next` (`last` ends the list); a member of an object carries its name in
 * key. Texts are NUL-terminated and may hold NULs (`\u0000`): len counts
 * them. */
typedef struct json_node {
    json_type type;
    const char *text; /* string: decoded bytes; number: as sent */
    size_t len;
    const char *key; /* member of an object: its name */
    size_t key_len;
    size_t count; /* values of an array or object */
    struct json_node *first, *last, *next, *parent;
} json_node;

/* Containers a tree may nest: the bodies read whole are two or three deep. */
#define JSON_DOC_MAX_DEPTH 64

typedef struct json_doc json_doc;
/* body[0..len) as a tree, or LB_ERR_RESPONSE ("response body is empty",
 * "response is not valid JSON: ...") or LB_ERR_NOMEM, err filled. */
lb_code json_doc_parse(const char *body, size_t len, json_doc **out, lb_error *err);
const json_node *json_doc_root(const json_doc *doc);
void json_doc_free(json_doc *doc); /* NULL-safe */
/* The first member of obj named key; NULL when obj is no object (or NULL)
 * or has no such member. */
const json_node *json_member(const json_node *obj, const char *key);
/* The node's text when it is a string with no NUL inside (one a C string
 * holds whole), else NULL. */
const char *json_text(const json_node *n);
/* 1 when the node is a number that is an integer a long long holds. */
int json_integer_of(const json_node *n, long long *out);
/* 1 when the node is true or false, its value in *out. */
int json_boolean_of(const json_node *n, int *out);

#endif
