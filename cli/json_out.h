/* The JSON writer behind --json (json_out.c). Apart from cli.h so that the
 * tests can compile it alone and fail its allocations. */
#ifndef LB_CLI_JSON_OUT_H
#define LB_CLI_JSON_OUT_H

#include <stddef.h>
#include <stdio.h>

/* Deeper nesting still writes valid JSON; only commas are tracked this deep,
 * and the program never nests more than three levels. */
#define JSON_DEPTH_MAX 16

/** One document being written. Set up with json_begin(), then calls in
 *  document order, then json_end(). */
typedef struct json_out {
    char *buf;
    size_t len, cap;
    void *(*grow)(void *, size_t); /* realloc, or a test's failing one */
    int failed;                    /* an allocation failed: nothing more is written */
    int depth, after_key;
    unsigned char has_item[JSON_DEPTH_MAX];
} json_out;

/** @p grow: the allocator (realloc when NULL). */
void json_begin(json_out *j, void *(*grow)(void *, size_t));
void json_object_open(json_out *j);
void json_object_close(json_out *j);
void json_array_open(json_out *j);
void json_array_close(json_out *j);
void json_key(json_out *j, const char *key);
void json_string(json_out *j, const char *s);
void json_string_or_null(json_out *j, const char *s);
void json_integer(json_out *j, long long v);
void json_bool(json_out *j, int v);
void json_null(json_out *j);
/**
 * Write the document and a newline to @p f, and free the buffer.
 * @return 0, or -1 when an allocation failed (nothing was written).
 */
int json_end(json_out *j, FILE *f);

#endif
