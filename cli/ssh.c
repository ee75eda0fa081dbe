/* ssh: log in to a host (or run a command there) with OpenSSH, using the
 * key create kept and the known_hosts the service returned, so that the
 * first login is already strict: StrictHostKeyChecking=yes, only that key
 * offered (IdentitiesOnly), nothing from ~/.ssh/known_hosts trusted.
 *
 * The program execs ssh, so ssh's exit status is the command's: 255 for
 * ssh's own failures, else the remote command's. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define EXIT_RESPONSE 8 /* the answer cannot be used: as LB_ERR_RESPONSE */

/** A word ssh takes as a host or user: no blanks, controls or leading '-'. */
static int ssh_word_ok(const char *s)
{
    if (!s || !*s || s[0] == '-') return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f) return 0;
    return 1;
}

/** The key to log in with: --identity-file, else create's copy. */
static int identity_for(const cli_ctx *ctx, const lb_host *h, char *path, size_t size)
{
    if (ctx->a.identity_file) {
        snprintf(path, size, "%s", ctx->a.identity_file);
        return 0;
    }
    if (state_key_path(h->id, path, size)) return 0;
    return fail(CLI_EXIT_LOCAL, "local",
                "no private key for host %s here (it was created elsewhere, or its key was not "
                "kept): give --identity-file FILE",
                h->id);
}

/** The ssh command line; @p words are the remote command (may be none). */
static void ssh_argv(const lb_host *h, const char *key, const char *known_hosts,
                     const char *const *words, size_t nwords, char **argv,
                     char opts[4][PATH_MAX + 32], char *port)
{
    const char *host = *h->ssh_host ? h->ssh_host : h->internal_ssh_host;
    int p = *h->ssh_host ? h->ssh_port : 22;
    snprintf(port, 16, "%d", p);
    snprintf(opts[0], sizeof opts[0], "UserKnownHostsFile=%s", known_hosts);
    snprintf(opts[1], sizeof opts[1], "GlobalKnownHostsFile=/dev/null");
    snprintf(opts[2], sizeof opts[2], "StrictHostKeyChecking=yes");
    snprintf(opts[3], sizeof opts[3], "IdentitiesOnly=yes");
    size_t n = 0;
    argv[n++] = "ssh";
    argv[n++] = "-i";
    argv[n++] = (char *)key;
    for (int i = 0; i < 4; i++) {
        argv[n++] = "-o";
        argv[n++] = opts[i];
    }
    argv[n++] = "-p";
    argv[n++] = port;
    if (*h->ssh_username) {
        argv[n++] = "-l";
        argv[n++] = (char *)h->ssh_username;
    }
    argv[n++] = "--";
    argv[n++] = (char *)host;
    for (size_t i = 0; i < nwords; i++)
        argv[n++] = (char *)words[i];
    argv[n] = NULL;
}

int cmd_ssh(cli_ctx *ctx)
{
    const cmd_args *a = &ctx->a;
    /* Words after the host belong after `--`: they are the remote command. */
    if (a->dashdash > 1)
        return usage_error("ssh: unexpected argument '%s' (a command goes after --)", a->pos[1]);
    int status;
    lb_host *h = fetch_named_host(ctx, &status);
    if (!h) return status;
    char key[PATH_MAX], known_hosts[PATH_MAX], why[512];
    const char *host = *h->ssh_host ? h->ssh_host : h->internal_ssh_host;
    if (!host || !*host || !*h->known_hosts)
        status = fail(EXIT_RESPONSE, "response", "host %s has no SSH address yet (status %s)",
                      h->id, h->status);
    else if (!ssh_word_ok(host) || (*h->ssh_username && !ssh_word_ok(h->ssh_username)))
        status = fail(EXIT_RESPONSE, "response",
                      "the host's SSH address or user holds characters ssh cannot take");
    else if ((status = identity_for(ctx, h, key, sizeof key)) == 0 &&
             (state_prepare(why, sizeof why) != 0 ||
              state_save_known_hosts(h, known_hosts, sizeof known_hosts, why, sizeof why) != 0))
        status = fail(CLI_EXIT_LOCAL, "local", "%s", why);
    if (status != 0) {
        lb_host_free(h);
        return status;
    }
    size_t nwords = a->npos - 1;
    char **argv = calloc(nwords + 20, sizeof *argv);
    char opts[4][PATH_MAX + 32], port[16];
    if (!argv) {
        lb_host_free(h);
        return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    }
    ssh_argv(h, key, known_hosts, a->pos + 1, nwords, argv, opts, port);
    /* ssh needs no token, and a SendEnv in someone's ssh_config must not
     * carry it to the host. */
    char token_var[256];
    snprintf(token_var, sizeof token_var, "%sSERVICE_TOKEN",
             ctx->g.env_prefix ? ctx->g.env_prefix : "SANDBOX_");
    unsetenv(token_var);
    /* What the program printed so far goes out before ssh takes over. */
    int out_status = out_finish();
    if (out_status == 0) {
        execvp("ssh", argv);
        status = fail(CLI_EXIT_LOCAL, "local", "cannot run ssh: %s", strerror(errno));
    }
    free(argv);
    lb_host_free(h);
    return out_status ? out_status : status;
}
