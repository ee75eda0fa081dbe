/* TIME arguments: RFC 3339 with an offset, or a span relative to now.
 *
 * The SDK takes Unix seconds where 0 and negative values have meanings of
 * their own (the default lease, a permanent host), so every TIME that
 * parses here is > 0: an instant at or before 1970 is refused rather than
 * silently turned into "the default". */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/** Read exactly @p n digits at *p. @return the value, or -1. */
static int read_digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

static int expect(const char **p, char c)
{
    if (**p != c) return -1;
    (*p)++;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/** `+N` and a unit: s, m, h or d. */
static int parse_relative(const char *s, time_t now, long long *out)
{
    const char *p = s + 1;
    long long n = 0;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (LLONG_MAX - 9) / 10) return -1;
        n = n * 10 + (*p - '0');
    }
    long long unit;
    switch (*p) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    default:
        return -1;
    }
    if (p[1] != '\0' || n < 1) return -1;
    /* A lease ten thousand years out is a typo, and keeps the sum far from
     * overflow. */
    if (n > 10000LL * 366 * 86400 / unit) return -1;
    *out = (long long)now + n * unit;
    return 0;
}

/** `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`; `t`, `z` accepted too. */
static int parse_rfc3339(const char *s, long long *out)
{
    const char *p = s;
    int year = read_digits(&p, 4);
    if (year < 0 || expect(&p, '-') != 0) return -1;
    int month = read_digits(&p, 2);
    if (month < 1 || month > 12 || expect(&p, '-') != 0) return -1;
    int day = read_digits(&p, 2);
    if (day < 1 || day > days_in_month(year, month)) return -1;
    if (*p != 'T' && *p != 't') return -1;
    p++;
    int hour = read_digits(&p, 2);
    if (hour < 0 || hour > 23 || expect(&p, ':') != 0) return -1;
    int minute = read_digits(&p, 2);
    if (minute < 0 || minute > 59 || expect(&p, ':') != 0) return -1;
    int second = read_digits(&p, 2);
    if (second < 0 || second > 60) /* 60: a leap second */
        return -1;
    if (*p == '.') {
        /* The SDK speaks whole seconds: a fraction is accepted and dropped. */
        p++;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    long long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        int oh = read_digits(&p, 2);
        if (oh < 0 || oh > 23 || expect(&p, ':') != 0) return -1;
        int om = read_digits(&p, 2);
        if (om < 0 || om > 59) return -1;
        offset = sign * (oh * 3600LL + om * 60LL);
    } else {
        return -1; /* no offset: the instant would depend on the local zone */
    }
    if (*p != '\0') return -1;
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 && !(year == 1969 && month == 12 && day == 31)) return -1;
    *out = (long long)t - offset;
    return 0;
}

int time_arg_parse(const char *s, time_t now, long long *out, char *why, size_t why_size)
{
    long long t = 0;
    int rc = (s && s[0] == '+') ? parse_relative(s, now, &t) : s ? parse_rfc3339(s, &t) : -1;
    if (rc != 0) {
        snprintf(why, why_size,
                 "'%s' is not a TIME: use RFC 3339 with an offset "
                 "(2030-06-01T12:00:00Z) or +N with s, m, h or d (+2h)",
                 s ? s : "");
        return -1;
    }
    if (t <= 0) {
        snprintf(why, why_size, "'%s' is not after 1970-01-01T00:00:00Z", s);
        return -1;
    }
    *out = t;
    return 0;
}
