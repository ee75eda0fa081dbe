/* Times as people read them: one format for every time in human output,
 * "2030-01-02 00:00:00 UTC", whatever form the service sent (fractions,
 * offsets), and, where people ask "how long", the distance from now
 * ("in 23 h", "5 min ago"). JSON output keeps the service's text. */
#include <stdio.h>
#include <time.h>

#include "cli.h"

void when_relative(long long t, long long now, char *buf, size_t size)
{
    long long d = t - now, a = d < 0 ? -d : d;
    char span[32];
    if (a < 60)
        snprintf(span, sizeof span, "%lld s", a);
    else if (a < 90 * 60)
        snprintf(span, sizeof span, "%lld min", a / 60);
    else if (a < 48 * 3600)
        snprintf(span, sizeof span, "%lld h", a / 3600);
    else
        snprintf(span, sizeof span, "%lld d", a / 86400);
    if (d >= 0)
        snprintf(buf, size, "in %s", span);
    else
        snprintf(buf, size, "%s ago", span);
}

void when_human(const char *text, long long now, int relative, char *buf, size_t size)
{
    long long t;
    char why[256];
    if (!text || time_arg_parse(text, 0, &t, why, sizeof why) != 0) {
        /* Not a time this program can read: shown as sent. */
        snprintf(buf, size, "%s", text ? text : "");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    if (!relative) {
        snprintf(buf, size, "%s", when);
        return;
    }
    char rel[48];
    when_relative(t, now, rel, sizeof rel);
    snprintf(buf, size, "%s (%s)", when, rel);
}
