/* The host commands but create, and the service's health: each checks its
 * arguments (a usage error sends nothing), gets the client, makes the call,
 * prints. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- shared by the commands that run several calls at once ---- */

void slot_done(lb_call *call, const lb_result *r, void *userdata)
{
    (void)call;
    call_slot *slot = userdata;
    slot->code = r->code;
    if (r->code == LB_OK)
        slot->host = r->host;
    else
        slot->err = *r->error;
}

void slot_refused(call_slot *slot, const lb_error *err)
{
    slot->code = err->code;
    slot->err = *err;
}

int run_all(lb_client *c)
{
    lb_error err;
    if (lb_client_run(c, -1, NULL, &err) != LB_OK)
        return report_error(&err, NULL);
    return 0;
}

int expires_arg(const cli_ctx *ctx, int allow_never, long long *out)
{
    const char *s = ctx->a.expires_at;
    if (strcmp(s, "never") == 0) {
        if (allow_never) {
            *out = LB_EXPIRES_NEVER;
            return 0;
        }
        return usage_error("%s: --expires-at never: a renew never makes a host permanent",
                           ctx->cmd->name);
    }
    char why[256];
    if (time_arg_parse(s, time(NULL), out, why, sizeof why) != 0)
        return usage_error("%s: --expires-at: %s", ctx->cmd->name, why);
    return 0;
}

/** get and attach: one host through @p fetch. */
static int show_host(cli_ctx *ctx,
                     lb_code (*fetch)(lb_client *, const char *, lb_host **, lb_error *))
{
    int status = 0;
    const char *id;
    if ((status = resolve_hosts(ctx, ctx->a.pos, 1, &id)) != 0) return status;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_host *h;
    lb_error err;
    if (fetch(c, id, &h, &err) != LB_OK) return report_error(&err, NULL);
    out_host(ctx, h, NULL);
    lb_host_free(h);
    return 0;
}

int cmd_get(cli_ctx *ctx)
{
    return show_host(ctx, lb_get_host);
}

int cmd_attach(cli_ctx *ctx)
{
    return show_host(ctx, lb_attach_host);
}

/** Whether @p h passes list's --status and --older-than (@p before: the
 *  newest creation time that is old enough, or 0 for any). */
static int list_keeps(const cli_ctx *ctx, const lb_host *h, long long before)
{
    if (ctx->a.status && strcmp(h->status, ctx->a.status) != 0) return 0;
    if (before) {
        long long created;
        char why[256];
        /* A host whose creation time cannot be read is not known to be old. */
        if (time_arg_parse(h->created_at, 0, &created, why, sizeof why) != 0) return 0;
        if (created > before) return 0;
    }
    return 1;
}

int cmd_list(cli_ctx *ctx)
{
    long long before = 0;
    if (ctx->a.older_than) {
        long long span = parse_duration(ctx->a.older_than);
        if (span < 0)
            return usage_error("list: --older-than: '%s' is not a DURATION (90s, 30m, 2h, 7d)",
                               ctx->a.older_than);
        before = (long long)time(NULL) - span;
    }
    int status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_host_list *list;
    lb_error err;
    if (lb_list_hosts(c, &list, &err) != LB_OK) return report_error(&err, NULL);
    /* Filtered in place: the list still frees every host it holds. */
    lb_host **kept = calloc(list->count ? list->count : 1, sizeof *kept);
    if (!kept) {
        lb_host_list_free(list);
        return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++)
        if (list_keeps(ctx, list->hosts[i], before)) kept[n++] = list->hosts[i];
    if (ctx->a.quiet)
        out_ids(ctx, kept, n);
    else
        out_host_table(ctx, kept, n);
    free(kept);
    lb_host_list_free(list);
    return 0;
}

/** delete --all: ask first when a person is at a terminal. @return 1 to go on. */
static int confirm_delete_all(const cli_ctx *ctx, size_t n)
{
    if (ctx->a.yes || !isatty(STDIN_FILENO)) return 1;
    fprintf(stderr, "Delete all %zu host%s? [y/N] ", n, n == 1 ? "" : "s");
    fflush(stderr);
    char answer[16] = "";
    if (!fgets(answer, sizeof answer, stdin)) return 0;
    return answer[0] == 'y' || answer[0] == 'Y';
}

/** The ids delete works on: its arguments resolved, or every host. */
static int delete_targets(cli_ctx *ctx, const char ***ids, size_t *n)
{
    if (ctx->a.all && ctx->a.npos > 0) return usage_error("delete: give hosts or --all, not both");
    if (!ctx->a.all && ctx->a.npos == 0)
        return usage_error("delete: missing argument (delete HOST... | --all)");
    if (!ctx->a.all) {
        *n = ctx->a.npos;
        *ids = calloc(*n, sizeof **ids);
        if (!*ids) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
        return resolve_hosts(ctx, ctx->a.pos, *n, *ids);
    }
    int status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_error err;
    if (lb_list_hosts(c, &ctx->hosts, &err) != LB_OK) return report_error(&err, NULL);
    *n = ctx->hosts->count;
    *ids = calloc(*n ? *n : 1, sizeof **ids);
    if (!*ids) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    for (size_t i = 0; i < *n; i++)
        (*ids)[i] = ctx->hosts->hosts[i]->id;
    if (*n > 0 && !confirm_delete_all(ctx, *n)) {
        *n = 0;
        return fail(CLI_EXIT_USAGE, "cancelled", "nothing deleted");
    }
    return 0;
}

int cmd_delete(cli_ctx *ctx)
{
    const char **ids = NULL;
    size_t n = 0;
    int status = delete_targets(ctx, &ids, &n);
    ctx->parallel = (long)(n ? n : 1);
    lb_client *c = status == 0 ? cli_client(ctx, &status) : NULL;
    call_slot *slots = c ? calloc(n ? n : 1, sizeof *slots) : NULL;
    if (c && !slots) status = fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    if (status != 0) {
        free(ids);
        return status;
    }
    /* Every delete starts now; outcomes are reported in argument order. */
    for (size_t i = 0; i < n; i++) {
        lb_error err;
        if (!lb_delete_host_async(c, ids[i], slot_done, &slots[i], &err))
            slot_refused(&slots[i], &err);
    }
    status = n ? run_all(c) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *ref = ctx->a.all ? ids[i] : ctx->a.pos[i];
        if (slots[i].code != LB_OK) {
            int st = report_error(&slots[i].err, ref);
            if (status == 0) status = st;
        } else {
            state_forget_host(ids[i]);
            out_done(ctx, "deleted %s", ref);
        }
    }
    free(slots);
    free(ids);
    return status;
}

int cmd_renew(cli_ctx *ctx)
{
    if (ctx->a.keep) return cmd_renew_keep(ctx);
    if (ctx->a.ttl) return usage_error("renew: --ttl goes with --keep");
    long long expires_at = 0; /* the service's default lease from now */
    int status;
    if (ctx->a.expires_at && (status = expires_arg(ctx, 0, &expires_at)) != 0) return status;
    const char *id;
    if ((status = resolve_hosts(ctx, ctx->a.pos, 1, &id)) != 0) return status;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_host *h;
    lb_error err;
    if (lb_renew_host(c, id, expires_at, &h, &err) != LB_OK) return report_error(&err, NULL);
    out_host(ctx, h, NULL);
    lb_host_free(h);
    return 0;
}

/* ---- wait ---- */

/* Polls start at a second apart and back off to this. */
#define WAIT_POLL_MAX_S 10.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/** One poll's verdict: 1 reached, 0 not yet, else an exit status (negated). */
static int wait_poll(lb_client *c, const char *id, int for_gone, lb_host **last)
{
    lb_host *h;
    lb_error err;
    lb_code rc = lb_get_host(c, id, &h, &err);
    if (rc == LB_ERR_NOT_FOUND && for_gone) return 1;
    if (rc == LB_ERR_UNAVAILABLE) return 0; /* a blip: poll again */
    if (rc != LB_OK) return -report_error(&err, NULL);
    lb_host_free(*last);
    *last = h;
    if (!for_gone && strcmp(h->status, "active") == 0) return 1;
    if (!for_gone && strcmp(h->status, "error") == 0) {
        fail(0, "provisioning", "host %s ended in error: %s", h->id,
             *h->last_error ? h->last_error : "(no detail)");
        return -exit_status_for(LB_ERR_PROVISIONING);
    }
    return 0;
}

int cmd_wait(cli_ctx *ctx)
{
    const char *want = ctx->a.for_state ? ctx->a.for_state : "active";
    int for_gone = strcmp(want, "gone") == 0;
    if (!for_gone && strcmp(want, "active") != 0)
        return usage_error("wait: --for: '%s' is neither active nor gone", want);
    double limit = ctx->g.timeout ? parse_seconds(ctx->g.timeout) : 300.0;
    int status;
    const char *id;
    if ((status = resolve_hosts(ctx, ctx->a.pos, 1, &id)) != 0) return status;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    double end = now_s() + limit, pause = 1.0;
    lb_host *last = NULL;
    for (;;) {
        int v = wait_poll(c, id, for_gone, &last);
        if (v != 0) {
            if (v == 1 && last && !for_gone) out_host(ctx, last, NULL);
            if (v == 1 && for_gone) out_done(ctx, "%s is gone", ctx->a.pos[0]);
            lb_host_free(last);
            return v == 1 ? 0 : -v;
        }
        double left = end - now_s();
        if (left <= 0) break;
        sleep_s(pause < left ? pause : left);
        pause = pause * 2 < WAIT_POLL_MAX_S ? pause * 2 : WAIT_POLL_MAX_S;
    }
    fail(exit_status_for(LB_ERR_UNAVAILABLE), "unavailable",
         "host %s is %s, not %s, after %g s (--timeout)", ctx->a.pos[0],
         last ? last->status : "unknown", want, limit);
    lb_host_free(last);
    return exit_status_for(LB_ERR_UNAVAILABLE);
}

int cmd_doctor(cli_ctx *ctx)
{
    int status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_doctor_report *r;
    lb_error err;
    if (lb_doctor(c, &r, &err) != LB_OK) return report_error(&err, NULL);
    out_doctor(ctx, r);
    if (!r->ok)
        status = fail(CLI_EXIT_UNHEALTHY, "unavailable", "the service reports it is not healthy");
    lb_doctor_report_free(r);
    return status;
}

int cmd_health(cli_ctx *ctx)
{
    int status = 0;
    ctx->token_optional = 1; /* GET /healthz carries no token (docs/cli.md) */
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_error err;
    if (lb_health(c, &err) != LB_OK) return report_error(&err, NULL);
    out_health(ctx);
    return 0;
}
