/* The table of CLI cases: what to run, what the fake server answers, and
 * what must come out. test_cli.c runs each row through run_case(). */
#ifndef LB_TEST_CLI_CASES_H
#define LB_TEST_CLI_CASES_H

#include <stddef.h>

#include "fake_server.h"
#include "fixtures.h"

/** One request the server must have received. */
typedef struct req_expect {
    const char *method, *target;
    const char *headers[4]; /* "Name: value" (exact value), "!Name" (absent) */
    /* "a.b=JSON" (equal), "=JSON" (whole body), "!a.b" (absent),
     * "a@T" (an RFC 3339 time equal to Unix time T), "a@+N" (now + N, ±5 s) */
    const char *body[8];
} req_expect;

/** One run of the program. Unset fields check nothing, except nreq: the
 *  number of requests the server must have seen (0: nothing was sent). */
typedef struct cli_case {
    const char *name;
    const char *argv[20]; /* after "litterbox"; "URL" is the fake server's */
    const char *env[4];   /* "NAME=value" adds, "-NAME" removes; "=URL" as above */
    fs_response resp[4];  /* answered in order; status 0 ends the list */
    int exit;
    const char *out; /* exact stdout */
    const char *out_has[6];
    const char *out_lacks[3];
    const char *err; /* exact stderr */
    const char *err_has[4];
    const char *err_lacks[3];
    int nreq;
    req_expect req[4];
    int any_order; /* the calls run at once: req[] may arrive in any order */
} cli_case;

extern const cli_case cli_cases[];
extern const size_t cli_case_count;

#endif
