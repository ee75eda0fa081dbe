/* Minimal assertions for the test programs: every failure prints file:line
 * and the current case; check_summary() prints "N passed, M failed" and
 * gives the exit status. Header-only; include once per test program. */
#ifndef LB_CHECK_H
#define LB_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int check_passed_n, check_failed_n;
static char check_case[512];

/* Name the case the following checks belong to (printf-style). */
static inline void check_set_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void check_set_case(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(check_case, sizeof check_case, fmt, ap);
    va_end(ap);
}

static inline void check_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void check_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    check_failed_n++;
    fprintf(stderr, "%s:%d: FAIL%s%s%s: ", file, line, check_case[0] ? " [" : "", check_case,
            check_case[0] ? "]" : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static inline int check_bool(int ok, const char *file, int line, const char *expr)
{
    if (ok)
        check_passed_n++;
    else
        check_fail_at(file, line, "CHECK(%s)", expr);
    return ok;
}

static inline int check_int(long long a, long long b, const char *file, int line, const char *ea,
                            const char *eb)
{
    if (a == b) {
        check_passed_n++;
        return 1;
    }
    check_fail_at(file, line, "%s == %s: got %lld, want %lld", ea, eb, a, b);
    return 0;
}

static inline int check_str(const char *a, const char *b, const char *file, int line,
                            const char *ea, const char *eb)
{
    if ((a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0)) {
        check_passed_n++;
        return 1;
    }
    check_fail_at(file, line, "%s == %s: got %s%s%s, want %s%s%s", ea, eb, a ? "\"" : "",
                  a ? a : "NULL", a ? "\"" : "", b ? "\"" : "", b ? b : "NULL", b ? "\"" : "");
    return 0;
}

static inline int check_contains(const char *hay, const char *needle, int want, const char *file,
                                 int line, const char *eh)
{
    int has = hay && needle && strstr(hay, needle) != NULL;
    if (has == want) {
        check_passed_n++;
        return 1;
    }
    check_fail_at(file, line, "%s %s \"%s\": got %s%s%s", eh, want ? "contains" : "lacks",
                  needle ? needle : "(null)", hay ? "\"" : "", hay ? hay : "NULL",
                  hay ? "\"" : "");
    return 0;
}

/* Print the summary line; the exit status for main. */
static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed_n, check_failed_n);
    fflush(stdout);
    return check_failed_n ? 1 : 0;
}

#define CHECK(cond) check_bool(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ_INT(a, b) check_int((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_EQ_STR(a, b) check_str((a), (b), __FILE__, __LINE__, #a, #b)
#define CHECK_CONTAINS(hay, needle) check_contains((hay), (needle), 1, __FILE__, __LINE__, #hay)
#define CHECK_LACKS(hay, needle) check_contains((hay), (needle), 0, __FILE__, __LINE__, #hay)
#define CHECK_FAIL(...) check_fail_at(__FILE__, __LINE__, __VA_ARGS__)

#endif
