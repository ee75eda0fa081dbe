/* The host commands and the service's health: each checks its arguments
 * (a usage error sends nothing), gets the client, makes the call, prints. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* create --count runs every create at once, one connection each. */
#define COUNT_MAX 1000

/* One call of a command that runs several at once (create --count,
 * delete ID...): its outcome, kept until all are done so that errors are
 * reported in argument order. */
typedef struct call_slot {
    lb_code code;
    lb_error err;
    lb_host *host; /* create's, owned by the slot */
} call_slot;

static void slot_done(lb_call *call, const lb_result *r, void *userdata)
{
    (void)call;
    call_slot *slot = userdata;
    slot->code = r->code;
    if (r->code == LB_OK)
        slot->host = r->host;
    else
        slot->err = *r->error;
}

/** A call that could not start: its slot carries the refusal. */
static void slot_refused(call_slot *slot, const lb_error *err)
{
    slot->code = err->code;
    slot->err = *err;
}

/** Run the started calls to their end. @return 0 or an exit status. */
static int run_all(lb_client *c)
{
    lb_error err;
    if (lb_client_run(c, -1, NULL, &err) != LB_OK)
        return report_error(&err, NULL);
    return 0;
}

/**
 * --expires-at for create (`never` allowed) or renew (not).
 * @return 0, or the usage status after printing why.
 */
static int expires_arg(const cli_ctx *ctx, int allow_never, long long *out)
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

/** Fill @p o and @p env from create's arguments. @return 0 or an exit status. */
static int create_opts_from_args(const cli_ctx *ctx, lb_create_opts *o, str_list *env,
                                 long long *count)
{
    const cmd_args *a = &ctx->a;
    *count = 1;
    if (a->count && (*count = parse_positive(a->count, COUNT_MAX)) < 0)
        return usage_error("create: --count: '%s' is not a number from 1 to %d", a->count,
                           COUNT_MAX);
    if (a->disk_gb && (o->disk_gb = parse_positive(a->disk_gb, LLONG_MAX)) < 0)
        return usage_error("create: --disk-gb: '%s' is not a positive number", a->disk_gb);
    int rc;
    if (a->expires_at && (rc = expires_arg(ctx, 1, &o->expires_at)) != 0) return rc;
    o->image = a->image;
    o->provider = a->provider;
    o->instance_type = a->instance_type;
    for (size_t i = 0; i < a->env_files.count; i++)
        if ((rc = env_file_load(a->env_files.items[i], env)) != 0) return rc;
    for (size_t i = 0; i < a->env.count; i++)
        if (str_list_push(env, a->env.items[i]) != 0)
            return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    o->env = env->count ? env->items : NULL;
    /* Found out now, before a VM exists whose only key would be lost. */
    for (long long i = 1; a->key_file && i <= *count; i++) {
        char why[512], path[PATH_MAX];
        if (a->count)
            snprintf(path, sizeof path, "%s-%lld", a->key_file, i);
        else
            snprintf(path, sizeof path, "%s", a->key_file);
        if (file_check_writable(path, why, sizeof why) != 0)
            return fail(CLI_EXIT_LOCAL, "local", "%s", why);
    }
    return 0;
}

/** Save host @p h's private key to @p path. @return 0 or an exit status. */
static int save_private_key(const lb_host *h, const char *path)
{
    char why[512];
    if (!h->private_key) {
        fail(0, "note", "the service returned no private key; %s not written", path);
        return 0;
    }
    if (file_write_private(path, h->private_key, strlen(h->private_key), why, sizeof why) != 0)
        return fail(CLI_EXIT_LOCAL, "local", "%s (host %s)", why, h->id);
    return 0;
}

int cmd_create(cli_ctx *ctx)
{
    const cmd_args *a = &ctx->a;
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    str_list env = {0};
    long long count;
    int status = create_opts_from_args(ctx, &o, &env, &count);
    ctx->parallel = (long)count;
    lb_client *c = status == 0 ? cli_client(ctx, &status) : NULL;
    if (!c) {
        str_list_free(&env);
        return status;
    }
    call_slot *slots = calloc((size_t)count, sizeof *slots);
    key_note *notes = calloc((size_t)count, sizeof *notes);
    char **key_paths = calloc((size_t)count, sizeof *key_paths);
    if (!slots || !notes || !key_paths) {
        status = fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
        count = 0;
    }
    /* Every create starts now; with --idempotency-key K, host i gets K-i. */
    for (long long i = 0; i < count; i++) {
        char key[300];
        if (a->idempotency_key && a->count) {
            snprintf(key, sizeof key, "%s-%lld", a->idempotency_key, i + 1);
            o.idempotency_key = key;
        } else {
            o.idempotency_key = a->idempotency_key;
        }
        lb_error err;
        if (!lb_create_host_async(c, &o, slot_done, &slots[i], &err))
            slot_refused(&slots[i], &err);
    }
    char label[64];
    if (count > 1)
        snprintf(label, sizeof label, "provisioning %lld hosts", count);
    else
        snprintf(label, sizeof label, "provisioning");
    progress_start(label);
    int run_status = count ? run_all(c) : 0;
    progress_stop();
    if (status == 0)
        status = run_status;

    /* Outcomes in index order: errors, then the keys of those that succeeded. */
    for (long long i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "host %lld of %lld", i + 1, count);
        int st = 0;
        if (slots[i].code != LB_OK) {
            st = report_error(&slots[i].err, count > 1 ? what : NULL);
        } else if (a->key_file) {
            size_t n = strlen(a->key_file) + 32;
            if ((key_paths[i] = malloc(n)) == NULL) {
                st = fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
            } else {
                if (a->count)
                    snprintf(key_paths[i], n, "%s-%lld", a->key_file, i + 1);
                else
                    snprintf(key_paths[i], n, "%s", a->key_file);
                st = save_private_key(slots[i].host, key_paths[i]);
                if (st == 0 && slots[i].host->private_key) notes[i].saved_to = key_paths[i];
                notes[i].save_failed = st != 0;
            }
        }
        if (status == 0) status = st;
    }
    /* What succeeded is printed even when something failed. */
    lb_host **hosts = calloc(count ? (size_t)count : 1, sizeof *hosts);
    for (long long i = 0; hosts && i < count; i++)
        hosts[i] = slots[i].host;
    if (!hosts)
        status = status ? status : fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    else if (a->count)
        out_host_array(ctx, hosts, (size_t)count, notes);
    else if (count == 1 && hosts[0])
        out_host(ctx, hosts[0], &notes[0]);
    for (long long i = 0; i < count; i++) {
        lb_host_free(slots[i].host);
        free(key_paths[i]);
    }
    free(hosts);
    free(slots);
    free(notes);
    free(key_paths);
    str_list_free(&env);
    return status;
}

/** get and attach: one host by id through @p fetch. */
static int show_host(cli_ctx *ctx,
                     lb_code (*fetch)(lb_client *, const char *, lb_host **, lb_error *))
{
    int status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_host *h;
    lb_error err;
    if (fetch(c, ctx->a.pos[0], &h, &err) != LB_OK) return report_error(&err, NULL);
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

int cmd_list(cli_ctx *ctx)
{
    int status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_host_list *list;
    lb_error err;
    if (lb_list_hosts(c, &list, &err) != LB_OK) return report_error(&err, NULL);
    out_host_table(ctx, list);
    lb_host_list_free(list);
    return 0;
}

int cmd_delete(cli_ctx *ctx)
{
    int status = 0;
    size_t n = ctx->a.npos;
    ctx->parallel = (long)n;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    call_slot *slots = calloc(n, sizeof *slots);
    if (!slots) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    /* Every delete starts now; outcomes are reported in argument order. */
    for (size_t i = 0; i < n; i++) {
        lb_error err;
        if (!lb_delete_host_async(c, ctx->a.pos[i], slot_done, &slots[i], &err))
            slot_refused(&slots[i], &err);
    }
    status = run_all(c);
    for (size_t i = 0; i < n; i++) {
        const char *id = ctx->a.pos[i];
        if (slots[i].code != LB_OK) {
            int st = report_error(&slots[i].err, id);
            if (status == 0) status = st;
        } else {
            out_done(ctx, "deleted %s", id);
        }
    }
    free(slots);
    return status;
}

int cmd_renew(cli_ctx *ctx)
{
    long long expires_at = 0; /* the service's default lease from now */
    int status;
    if (ctx->a.expires_at && (status = expires_arg(ctx, 0, &expires_at)) != 0) return status;
    status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_host *h;
    lb_error err;
    if (lb_renew_host(c, ctx->a.pos[0], expires_at, &h, &err) != LB_OK)
        return report_error(&err, NULL);
    out_host(ctx, h, NULL);
    lb_host_free(h);
    return 0;
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
    ctx->token_optional = 1; /* GET /healthz carries no token (sdk.md rule 1) */
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_error err;
    if (lb_health(c, &err) != LB_OK) return report_error(&err, NULL);
    out_health(ctx);
    return 0;
}
