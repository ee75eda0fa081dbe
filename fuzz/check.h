/* The fuzz target's one assertion: a broken invariant aborts, so that
 * libFuzzer keeps the input and the corpus replay fails. */
#ifndef LB_FUZZ_CHECK_H
#define LB_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static inline void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_decode: invariant broken: %s\n", what);
    abort();
}

#define check(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) fuzz_fail(#cond);                                                             \
    } while (0)

#endif
