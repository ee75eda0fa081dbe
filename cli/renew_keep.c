/* renew --keep: keep a host's lease alive until interrupted.
 *
 * The loop uses the blocking API and keepalive.c's schedule: renew, print
 * where the lease now ends, sleep until the next renewal. SIGINT or
 * SIGTERM ends it at any point with exit 0 (interrupting is how it is
 * meant to stop) and a line saying where the lease ends; a renewal in
 * flight then either reached the service or did not, and either way the
 * lease is what the service says. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "keepalive.h"

static void sleep_seconds(long long s)
{
    struct timespec ts = {(time_t)s, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/** The stop line the signal handler prints, kept current. */
static void set_stop_note(const char *ref, const char *expires_at)
{
    char line[512];
    snprintf(line, sizeof line, "litterbox: note: stopped renewing %s; its lease ends %s%s", ref,
             expires_at ? "at " : "as the service last set it", expires_at ? expires_at : "");
    interrupt_note_set(line);
}

/** One renewal. @return its code; *expires the new lease end on success. */
static lb_code renew_once(lb_client *c, const char *id, const keepalive *k, long long *expires,
                          char *until, size_t until_size, lb_error *err)
{
    long long want = k->ttl_s ? (long long)time(NULL) + k->ttl_s : 0;
    lb_host *h;
    lb_code rc = lb_renew_host(c, id, want, &h, err);
    if (rc != LB_OK) return rc;
    *expires = 0;
    until[0] = '\0';
    if (h->expires_at) {
        char why[256];
        snprintf(until, until_size, "%s", h->expires_at);
        if (time_arg_parse(h->expires_at, 0, expires, why, sizeof why) != 0) *expires = 0;
    }
    lb_host_free(h);
    return LB_OK;
}

int cmd_renew_keep(cli_ctx *ctx)
{
    if (ctx->a.expires_at)
        return usage_error("renew: --keep sets the lease with --ttl, not --expires-at");
    keepalive k = {0, 0, 0};
    if (ctx->a.ttl && (k.ttl_s = parse_duration(ctx->a.ttl)) < 3)
        return usage_error("renew: --ttl: '%s' is not a DURATION of 3s or more (90s, 30m, 2h)",
                           ctx->a.ttl);
    int status;
    const char *id;
    const char *ref = ctx->a.pos[0];
    if ((status = resolve_hosts(ctx, ctx->a.pos, 1, &id)) != 0) return status;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    interrupt_quietly();
    set_stop_note(ref, NULL);
    char until[64] = "";
    for (;;) {
        lb_error err;
        long long expires = 0;
        lb_code rc = renew_once(c, id, &k, &expires, until, sizeof until, &err);
        long long next = keepalive_next(&k, rc, (long long)time(NULL), expires);
        char line[512];
        if (rc == LB_OK && next < 0) {
            snprintf(line, sizeof line, "litterbox: note: %s never expires: nothing to keep alive",
                     ref);
            err_line(line);
            return 0;
        }
        if (rc != LB_OK) {
            status = report_error(&err, ref);
            if (next < 0) return status;
            snprintf(line, sizeof line, "litterbox: note: retrying in %lld s", next);
        } else {
            set_stop_note(ref, until);
            snprintf(line, sizeof line, "litterbox: note: renewed %s until %s; next in %lld s", ref,
                     until, next);
        }
        err_line(line);
        sleep_seconds(next);
    }
}
