/* ssh-config: write the host's known_hosts and print an OpenSSH block with
 * which `ssh -F FILE <name>` connects without a prompt.
 *
 * Every value in the block comes from the service or the command line and
 * lands in a file that ssh obeys, so each is checked: a newline or a blank
 * in a host name would let whoever controls the answer add directives. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define EXIT_RESPONSE 8 /* the answer cannot be used: as LB_ERR_RESPONSE */

/** A word ssh_config reads as one token: no blanks, quotes or controls. */
static int config_word_ok(const char *s)
{
    if (!s || !*s) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\'' || *p == '#' || *p == '\\') return 0;
    return 1;
}

/** A host name usable as a file name in the current folder. */
static int file_name_ok(const char *s)
{
    if (!s || !*s || s[0] == '.') return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

/**
 * Write a path as one ssh_config argument: quoted when it holds a blank,
 * '%' doubled (ssh expands %-tokens in these paths).
 * @return 0, or -1 for a path no config line can hold.
 */
static int put_config_path(FILE *f, const char *key, const char *path)
{
    int quote = 0;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p < ' ' || *p == 0x7f || *p == '"') return -1;
        if (*p == ' ') quote = 1;
    }
    fprintf(f, "    %s %s", key, quote ? "\"" : "");
    for (const char *p = path; *p; p++) {
        if (*p == '%') fputc('%', f);
        fputc(*p, f);
    }
    fprintf(f, "%s\n", quote ? "\"" : "");
    return 0;
}

/** Build the config block. @return a string the caller frees, or NULL
 *  after printing why, with *status set. */
static char *config_block(const lb_host *h, const char *identity, const char *known_hosts_abs,
                          int *status)
{
    const char *host = h->ssh_host;
    int port = h->ssh_port;
    if (!host || !*host) {
        /* Only the tailnet path exists: its sshd listens on 22. */
        host = h->internal_ssh_host;
        port = 22;
    }
    const char *bad = !config_word_ok(h->name)                               ? "name"
                      : !config_word_ok(host)                                ? "SSH host"
                      : *h->ssh_username && !config_word_ok(h->ssh_username) ? "ssh_username"
                                                                             : NULL;
    if (!host || !*host) {
        *status = fail(EXIT_RESPONSE, "response", "host %s has no SSH address yet (status %s)",
                       h->id, h->status);
        return NULL;
    }
    if (bad) {
        *status = fail(EXIT_RESPONSE, "response",
                       "the host's %s holds characters an SSH config cannot carry", bad);
        return NULL;
    }
    char *block = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&block, &len);
    if (!f) {
        *status = fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
        return NULL;
    }
    fprintf(f, "Host %s\n    HostName %s\n    Port %d\n", h->name, host, port);
    if (*h->ssh_username) fprintf(f, "    User %s\n", h->ssh_username);
    int rc = identity ? put_config_path(f, "IdentityFile", identity) : 0;
    if (rc == 0) rc = put_config_path(f, "UserKnownHostsFile", known_hosts_abs);
    fputs("    StrictHostKeyChecking yes\n", f);
    if (fclose(f) != 0 || rc != 0) {
        free(block);
        *status = rc != 0 ? usage_error("a path holds a quote or control character an SSH "
                                        "config cannot carry")
                          : fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
        return NULL;
    }
    return block;
}

/** Write known_hosts to @p path, newline-terminated. @return 0 or a status. */
static int write_known_hosts(const lb_host *h, const char *path)
{
    size_t n = strlen(h->known_hosts);
    if (n == 0)
        return fail(EXIT_RESPONSE, "response", "host %s has no known_hosts yet (status %s)", h->id,
                    h->status);
    char *text = malloc(n + 2);
    if (!text) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    memcpy(text, h->known_hosts, n);
    if (text[n - 1] != '\n') text[n++] = '\n';
    text[n] = '\0';
    char why[512];
    int rc = file_write_private(path, text, n, why, sizeof why);
    free(text);
    return rc == 0 ? 0 : fail(CLI_EXIT_LOCAL, "local", "%s", why);
}

int cmd_ssh_config(cli_ctx *ctx)
{
    const cmd_args *a = &ctx->a;
    int status = 0;
    lb_host *h = fetch_named_host(ctx, &status);
    if (!h) return status;
    char *default_path = NULL, *known_abs = NULL, *identity_abs = NULL, *block = NULL;
    const char *path = a->known_hosts;
    if (!path) {
        if (!file_name_ok(h->name)) {
            status = fail(EXIT_RESPONSE, "response",
                          "the host's name is not a safe file name; use --known-hosts FILE");
            goto done;
        }
        size_t n = strlen(h->name) + sizeof "./.known_hosts";
        if ((default_path = malloc(n)) == NULL) {
            status = fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
            goto done;
        }
        snprintf(default_path, n, "./%s.known_hosts", h->name);
        path = default_path;
    }
    known_abs = path_absolute(path);
    /* Without --identity-file, the key create kept, when there is one. */
    char kept[PATH_MAX];
    const char *identity = a->identity_file                           ? a->identity_file
                           : state_key_path(h->id, kept, sizeof kept) ? kept
                                                                      : NULL;
    identity_abs = identity ? path_absolute(identity) : NULL;
    if (!known_abs || (identity && !identity_abs)) {
        status = fail(CLI_EXIT_LOCAL, "local", "cannot make the paths absolute");
        goto done;
    }
    /* The block first: nothing is written for a host we cannot describe. */
    block = config_block(h, identity_abs, known_abs, &status);
    if (!block) goto done;
    if ((status = write_known_hosts(h, path)) != 0) goto done;
    out_ssh_config(ctx, block, known_abs);
done:
    free(block);
    free(known_abs);
    free(identity_abs);
    free(default_path);
    lb_host_free(h);
    return status;
}
