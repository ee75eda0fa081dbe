/* The library's JSON reader (src/decode/json_stream.c) against yajl, run on
 * every fuzz input whatever its mode: see reader_oracle.c. */
#ifndef LB_FUZZ_READER_ORACLE_H
#define LB_FUZZ_READER_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "decode/json_stream.h"

typedef struct reader_verdict {
    json_status status; /* the reader's, on the whole body */
    size_t max_depth;   /* containers nested at most, when it accepted */
} reader_verdict;

/* Reads body with the library's reader whole, split in two at `cut`
 * (taken modulo len + 1) and a byte at a time, and with yajl; aborts unless
 * the three splits give the same status and events, and the reader agrees
 * with yajl but for its documented differences. */
reader_verdict reader_check(const uint8_t *body, size_t len, size_t cut);

#endif
