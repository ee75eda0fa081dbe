/* create: the command that makes a host, and the one whose failure can
 * cost the most: the service returns a host's private key once.
 *
 * So every create sends an idempotency key (a random one when none is
 * given); before sending, it remembers in the state folder which request
 * the key went with (and refuses the same key with other flags); while it
 * waits, an interruption prints the command that resumes it; and what comes
 * back is kept in the state folder for `litterbox ssh`, and copied to
 * --key-file when asked. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* create --count runs every create at once, one connection each. */
#define COUNT_MAX 1000

/** Everything one run of create works with. */
typedef struct create_run {
    lb_create_opts o;
    str_list env;
    long long count;
    char key[256];     /* the idempotency key: given, or made here */
    int key_made;      /* made here: the resume command must add it */
    int state_ok;      /* the state folder is there to keep keys in */
    char resume[2048]; /* the command that resumes this create */
    call_slot *slots;
    key_note *notes;
    char (*key_paths)[PATH_MAX]; /* --key-file of host i */
    char (*kept)[PATH_MAX];      /* the state folder's copy of host i's key */
} create_run;

/** Fill run->o and run->env from create's arguments. @return 0 or an exit status. */
static int create_opts_from_args(const cli_ctx *ctx, create_run *run)
{
    const cmd_args *a = &ctx->a;
    lb_create_opts *o = &run->o;
    run->count = 1;
    if (a->count && (run->count = parse_positive(a->count, COUNT_MAX)) < 0)
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
        if ((rc = env_file_load(a->env_files.items[i], &run->env)) != 0) return rc;
    for (size_t i = 0; i < a->env.count; i++)
        if (str_list_push(&run->env, a->env.items[i]) != 0)
            return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    o->env = run->env.count ? run->env.items : NULL;
    return 0;
}

/** Host i's --key-file (FILE, or FILE-i with --count). */
static void key_file_of(const cli_ctx *ctx, long long i, char *path, size_t size)
{
    if (ctx->a.count)
        snprintf(path, size, "%s-%lld", ctx->a.key_file, i + 1);
    else
        snprintf(path, size, "%s", ctx->a.key_file);
}

/** Found out now, before a VM exists whose only key would be lost: a
 *  --key-file that cannot be written, a state folder that cannot be made. */
static int check_key_destinations(const cli_ctx *ctx, create_run *run)
{
    char why[512], path[PATH_MAX];
    for (long long i = 0; ctx->a.key_file && i < run->count; i++) {
        key_file_of(ctx, i, path, sizeof path);
        if (file_check_writable(path, why, sizeof why) != 0)
            return fail(CLI_EXIT_LOCAL, "local", "%s", why);
    }
    if (state_path("", path, sizeof path) != 0) {
        /* No HOME at all (a service account, a bare container): --key-file
         * is then the only copy, which the key line says. */
        return 0;
    }
    if (state_prepare(why, sizeof why) != 0) return fail(CLI_EXIT_LOCAL, "local", "%s", why);
    run->state_ok = 1;
    return 0;
}

/** A fresh random idempotency key: "lb-" and 24 hex digits. */
static int make_key(char *key, size_t size)
{
    unsigned char bytes[12];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, bytes, sizeof bytes) : -1;
    if (fd >= 0) close(fd);
    if (got != (ssize_t)sizeof bytes) return -1;
    size_t n = (size_t)snprintf(key, size, "lb-");
    for (size_t i = 0; i < sizeof bytes && n + 3 <= size; i++)
        n += (size_t)snprintf(key + n, size - n, "%02x", bytes[i]);
    return 0;
}

/** What the request says, as text: the same key with a different text is
 *  a different request. TIME arguments as given, so that the resume
 *  command (which repeats "+2h") is the same request. */
static char *request_text(const cli_ctx *ctx, const create_run *run)
{
    const cmd_args *a = &ctx->a;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    fprintf(f, "count=%lld\nimage=%s\nprovider=%s\ninstance_type=%s\ndisk_gb=%s\n", run->count,
            a->image ? a->image : "", a->provider ? a->provider : "",
            a->instance_type ? a->instance_type : "", a->disk_gb ? a->disk_gb : "");
    fprintf(f, "expires_at=%s\n", a->expires_at ? a->expires_at : "");
    for (size_t i = 0; i < run->env.count; i++)
        fprintf(f, "env=%s\n", run->env.items[i]);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/** Append @p word to @p buf shell-quoted ('...' when it needs it). */
static void append_word(char *buf, size_t size, const char *word)
{
    size_t n = strlen(buf);
    int plain = *word != '\0';
    for (const char *p = word; *p && plain; p++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+./:,@%",
                       *p) != NULL;
    if (plain) {
        snprintf(buf + n, size - n, " %s", word);
        return;
    }
    n += (size_t)snprintf(buf + n, size - n, " '");
    for (const char *p = word; *p && n + 5 < size; p++)
        n += (size_t)(*p == '\'' ? snprintf(buf + n, size - n, "'\\''")
                                 : snprintf(buf + n, size - n, "%c", *p));
    snprintf(buf + n, size - n, "'");
}

/** The command line as given, plus --idempotency-key when it was made here. */
static void resume_command(const cli_ctx *ctx, create_run *run)
{
    snprintf(run->resume, sizeof run->resume,
             "litterbox: note: the host may still be created; this resumes it and returns "
             "its key: litterbox");
    for (int i = 1; i < ctx->argc; i++)
        append_word(run->resume, sizeof run->resume, ctx->argv[i]);
    if (run->key_made) {
        append_word(run->resume, sizeof run->resume, "--idempotency-key");
        append_word(run->resume, sizeof run->resume, run->key);
    }
}

/** Choose the idempotency key and hold it to its first request.
 *  @return 0 or an exit status. */
static int choose_key(const cli_ctx *ctx, create_run *run)
{
    if (ctx->a.idempotency_key) {
        snprintf(run->key, sizeof run->key, "%s", ctx->a.idempotency_key);
    } else if (make_key(run->key, sizeof run->key) == 0) {
        run->key_made = 1;
    } else {
        return fail(CLI_EXIT_LOCAL, "local", "cannot read /dev/urandom for an idempotency key");
    }
    /* The service's rule, checked here because the key names a file. */
    size_t len = strlen(run->key);
    int ok = len >= 1 && len <= 200;
    for (const char *p = run->key; *p && ok; p++)
        ok = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-:.", *p) &&
             !(p == run->key && *p == '.');
    if (!ok)
        return usage_error("create: --idempotency-key: '%s' is not 1 to 200 of A-Z a-z 0-9 _ - "
                           ": . (not starting with '.')",
                           run->key);
    if (!run->state_ok) return 0;
    char *text = request_text(ctx, run);
    if (!text) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    char why[512];
    int rc = state_check_create(run->key, text, why, sizeof why);
    memset(text, 0, strlen(text));
    free(text);
    if (rc < 0) return fail(CLI_EXIT_LOCAL, "local", "%s", why);
    if (rc > 0)
        return usage_error("create: the idempotency key '%s' was first sent with other options; "
                           "the service would return that first host: repeat those options, "
                           "or use a new key",
                           run->key);
    return 0;
}

/** Start every create; with --count, host i gets key K-i. */
static void start_creates(lb_client *c, create_run *run, int numbered)
{
    for (long long i = 0; i < run->count; i++) {
        char key[300];
        if (numbered)
            snprintf(key, sizeof key, "%s-%lld", run->key, i + 1);
        else
            snprintf(key, sizeof key, "%s", run->key);
        run->o.idempotency_key = key;
        lb_error err;
        if (!lb_create_host_async(c, &run->o, slot_done, &run->slots[i], &err))
            slot_refused(&run->slots[i], &err);
    }
    run->o.idempotency_key = NULL;
}

/** Keep host @p i's key: in the state folder, and in --key-file when
 *  asked. @return 0 or an exit status. */
static int keep_key(const cli_ctx *ctx, create_run *run, long long i)
{
    const lb_host *h = run->slots[i].host;
    key_note *note = &run->notes[i];
    char why[512];
    int status = 0;
    if (run->state_ok) {
        if (state_save_host(h, run->kept[i], sizeof run->kept[i], why, sizeof why) != 0)
            status = fail(CLI_EXIT_LOCAL, "local", "%s (host %s)", why, h->id);
        else if (h->private_key)
            note->kept_at = run->kept[i];
    }
    if (ctx->a.key_file) {
        key_file_of(ctx, i, run->key_paths[i], sizeof run->key_paths[i]);
        if (!h->private_key) {
            fail(0, "note", "the service returned no private key; %s not written",
                 run->key_paths[i]);
        } else if (file_write_private(run->key_paths[i], h->private_key, strlen(h->private_key),
                                      why, sizeof why) != 0) {
            status = fail(CLI_EXIT_LOCAL, "local", "%s (host %s)", why, h->id);
        } else {
            note->saved_to = run->key_paths[i];
        }
    }
    if (h->private_key && !note->kept_at && !note->saved_to) {
        note->save_failed = 1;
        if (!run->state_ok)
            status = fail(status ? status : CLI_EXIT_LOCAL, "local",
                          "no state folder (HOME is not set) and no --key-file: the private key "
                          "of host %s was not kept",
                          h->id);
    }
    return status;
}

/** Errors in index order, then the keys of those that succeeded.
 *  @return the first failure's exit status, or 0. */
static int collect_outcomes(const cli_ctx *ctx, create_run *run)
{
    int status = 0, resumable = 0;
    for (long long i = 0; i < run->count; i++) {
        char what[64];
        snprintf(what, sizeof what, "host %lld of %lld", i + 1, run->count);
        int st;
        if (run->slots[i].code != LB_OK) {
            st = report_error(&run->slots[i].err, run->count > 1 ? what : NULL);
            /* A timeout or a lost connection: the service may have made it. */
            resumable |= run->slots[i].code == LB_ERR_UNAVAILABLE;
        } else {
            st = keep_key(ctx, run, i);
        }
        if (status == 0) status = st;
    }
    if (resumable) err_line(run->resume);
    return status;
}

/** Whether the service refused this create outright (it made nothing, and
 *  remembers nothing under the key): the input, or who asked. */
static int refused(const call_slot *slot)
{
    switch (slot->code) {
    case LB_ERR_INVALID:
    case LB_ERR_AUTH:
    case LB_ERR_VALIDATION:
        return 1;
    case LB_ERR_RESPONSE:
        return slot->err.http_status == 400;
    default:
        return 0;
    }
}

/** When every create was refused, the key is free for a corrected request:
 *  holding it to the refused one would only stand in the way. */
static void release_key_if_refused(const create_run *run)
{
    for (long long i = 0; i < run->count; i++)
        if (!refused(&run->slots[i])) return;
    if (run->state_ok && run->count > 0) state_forget_create(run->key);
}

/** What succeeded is printed even when something failed. */
static int print_hosts(const cli_ctx *ctx, create_run *run)
{
    lb_host **hosts = calloc((size_t)run->count, sizeof *hosts);
    if (!hosts) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    for (long long i = 0; i < run->count; i++)
        hosts[i] = run->slots[i].host;
    if (ctx->a.count)
        out_host_array(ctx, hosts, (size_t)run->count, run->notes);
    else if (hosts[0])
        out_host(ctx, hosts[0], &run->notes[0]);
    free(hosts);
    return 0;
}

static void create_run_free(create_run *run)
{
    for (long long i = 0; run->slots && i < run->count; i++)
        lb_host_free(run->slots[i].host);
    free(run->slots);
    free(run->notes);
    free(run->key_paths);
    free(run->kept);
    str_list_free(&run->env);
}

int cmd_create(cli_ctx *ctx)
{
    create_run run;
    memset(&run, 0, sizeof run);
    lb_create_opts init = LB_CREATE_OPTS_INIT;
    run.o = init;
    int status = create_opts_from_args(ctx, &run);
    if (status == 0) status = check_key_destinations(ctx, &run);
    if (status == 0) status = choose_key(ctx, &run);
    ctx->parallel = (long)run.count;
    lb_client *c = status == 0 ? cli_client(ctx, &status) : NULL;
    if (c) {
        size_t n = (size_t)run.count;
        run.slots = calloc(n, sizeof *run.slots);
        run.notes = calloc(n, sizeof *run.notes);
        run.key_paths = calloc(n, sizeof *run.key_paths);
        run.kept = calloc(n, sizeof *run.kept);
        if (!run.slots || !run.notes || !run.key_paths || !run.kept) {
            status = fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
            run.count = 0;
        }
    }
    if (c && status == 0) {
        resume_command(ctx, &run);
        interrupt_note_set(run.resume);
        start_creates(c, &run, ctx->a.count != NULL);
        char label[64];
        if (run.count > 1)
            snprintf(label, sizeof label, "provisioning %lld hosts", run.count);
        else
            snprintf(label, sizeof label, "provisioning");
        progress_start(label);
        int run_status = run_all(c);
        progress_stop();
        interrupt_note_set(NULL);
        status = collect_outcomes(ctx, &run);
        release_key_if_refused(&run);
        if (status == 0) status = run_status;
        int print_status = print_hosts(ctx, &run);
        if (status == 0) status = print_status;
    }
    create_run_free(&run);
    return status;
}
