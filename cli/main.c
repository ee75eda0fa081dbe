/* `litterbox`: global options, the command table, the client, SIGINT.
 *
 * A run is: global options, then the command and its arguments, all checked
 * before anything is sent (a usage error sends nothing), then the client
 * on first use, the call, and the buffered output. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ---- the command table ---- */

#define HOST_OPTS_CREATE                                                                           \
    (OPT_IMAGE | OPT_ENV | OPT_ENV_FILE | OPT_EXPIRES_AT | OPT_IDEMPOTENCY_KEY | OPT_PROVIDER |    \
     OPT_INSTANCE_TYPE | OPT_DISK_GB | OPT_KEY_FILE | OPT_COUNT)
#define MANY ((size_t)-1)

static const cli_command commands[] = {
    {"create",
     "[--image IMG] [--env KEY=VALUE]... [--env-file FILE]\n"
     "       [--expires-at TIME|never] [--idempotency-key KEY] [--provider NAME]\n"
     "       [--instance-type TYPE] [--disk-gb N] [--key-file FILE] [--count N]",
     "Provision a host and wait until it is active (seconds to minutes).",
     "  --image IMG              image to boot (default: the provider's)\n"
     "  --env KEY=VALUE          environment for the host; repeatable\n"
     "  --env-file FILE          KEY=VALUE lines; '#' comments and blank lines skipped;\n"
     "                           keeps secret values out of argv; repeatable\n"
     "  --expires-at TIME|never  lease end: RFC 3339 with an offset, +90s, +30m, +2h, +7d;\n"
     "                           'never' makes a permanent host (default: the service's)\n"
     "  --idempotency-key KEY    repeat a create safely; with --count, host i gets KEY-i\n"
     "  --provider NAME          provider to create on\n"
     "  --instance-type TYPE     provider-native size, e.g. cx33\n"
     "  --disk-gb N              disk size in GB\n"
     "  --key-file FILE          save the returned private key to FILE, mode 0600\n"
     "                           (with --count, FILE-1 ... FILE-N)\n"
     "  --count N                create N hosts at once; prints what succeeded\n",
     HOST_OPTS_CREATE, 0, 0, cmd_create},
    {"get", "ID", "Show a host.", NULL, 0, 1, 1, cmd_get},
    {"attach", "ID", "Show a host (the SDK's attach: a fresh request, nothing cached).", NULL, 0, 1,
     1, cmd_attach},
    {"list", "", "List every host, newest first.", NULL, 0, 0, 0, cmd_list},
    {"delete", "ID...",
     "Delete hosts, all at once; carries on past failures and exits with the first failure's "
     "status.",
     NULL, 0, 1, MANY, cmd_delete},
    {"renew", "ID [--expires-at TIME]", "Set a host's lease (default: now + the service's lease).",
     "  --expires-at TIME  RFC 3339 with an offset, or +90s, +30m, +2h, +7d\n", OPT_EXPIRES_AT, 1,
     1, cmd_renew},
    {"doctor", "", "Show the service's self-diagnosis; exit status 7 when it is not ok.", NULL, 0,
     0, 0, cmd_doctor},
    {"health", "", "Check that the service answers (GET /healthz); needs no token.", NULL, 0, 0,
     0, cmd_health},
    {"ssh-config", "ID [--known-hosts FILE] [--identity-file FILE]",
     "Write the host's known_hosts file and print an OpenSSH config block for `ssh -F`.",
     "  --known-hosts FILE    where to write known_hosts (default: ./<host name>.known_hosts),\n"
     "                        mode 0600\n"
     "  --identity-file FILE  add an IdentityFile line (e.g. the create --key-file)\n",
     OPT_KNOWN_HOSTS | OPT_IDENTITY_FILE, 1, 1, cmd_ssh_config},
    {"proxy create", "NAME --target URL [--header 'K: V']... [--header-file FILE]",
     "Route an HTTP proxy name to an origin.",
     "  --target URL         origin URL (scheme and host)\n"
     "  --header 'K: V'      header the proxy adds; repeatable\n"
     "  --header-file FILE   'Name: value' lines; keeps secret values out of argv; repeatable\n",
     OPT_TARGET | OPT_HEADER | OPT_HEADER_FILE, 1, 1, cmd_proxy_create},
    {"proxy delete", "NAME", "Delete an HTTP proxy.", NULL, 0, 1, 1, cmd_proxy_delete},
    {"proxy attach", "NAME ID", "Attach a host to an HTTP proxy.", NULL, 0, 2, 2, cmd_proxy_attach},
    {"proxy detach", "NAME ID", "Detach a host from an HTTP proxy.", NULL, 0, 2, 2,
     cmd_proxy_detach},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

const cli_command *cli_commands(size_t *count)
{
    *count = COMMAND_COUNT;
    return commands;
}

static const char global_options_help[] =
    "Options (before the command):\n"
    "  --url URL            service URL (default: $SANDBOX_SERVICE_URL)\n"
    "  --token-file FILE    read the token from FILE (default: $SANDBOX_SERVICE_TOKEN);\n"
    "                       there is no --token: argv is visible to every user\n"
    "  --timeout SECONDS    whole-request timeout (default: $SANDBOX_SERVICE_TIMEOUT, or 300)\n"
    "  --env-prefix PREFIX  read PREFIX + SERVICE_URL etc. (default: SANDBOX_)\n"
    "  --json               print one JSON document on stdout\n"
    "  -v, --verbose        log each HTTP call on stderr (the token shown as ***)\n"
    "  -h, --help           show this help; COMMAND --help shows a command's\n"
    "  --version            show the version\n";

static void print_usage(FILE *f)
{
    fputs("Usage: litterbox [OPTIONS] COMMAND [ARGS]\n\n"
          "The command-line client of the Litterbox host API.\n\nCommands:\n",
          f);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n%s\nExit status: 0 ok, 1 local failure, 2 usage, 3 auth, 4 not found,\n"
            "5 conflict, 6 provisioning, 7 unavailable (or doctor not ok), 8 other\n"
            "response error, 9 validation, 130 interrupted. See litterbox(1).\n",
            global_options_help);
}

/** The column where a details block's descriptions start, so that the
 *  -h line added below lines up with them. */
static int details_column(const char *details)
{
    const char *p = details;
    while (*p == ' ')
        p++;
    while (*p && *p != '\n' && !(p[0] == ' ' && p[1] == ' '))
        p++;
    while (*p == ' ')
        p++;
    return *p && *p != '\n' ? (int)(p - details) : 23;
}

static void print_command_help(FILE *f, const cli_command *cmd)
{
    fprintf(f, "Usage: litterbox [OPTIONS] %s%s%s\n\n%s\n\n", cmd->name, *cmd->synopsis ? " " : "",
            cmd->synopsis, cmd->summary);
    int column = cmd->details ? details_column(cmd->details) : 14;
    if (cmd->details) fputs(cmd->details, f);
    fprintf(f, "%-*s%s\n", column, "  -h, --help", "show this help");
}

/** `proxy` alone: the four subcommands. */
static void print_proxy_help(FILE *f)
{
    fputs("Usage: litterbox [OPTIONS] proxy SUBCOMMAND [ARGS]\n\n", f);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strncmp(commands[i].name, "proxy ", 6) == 0)
            fprintf(f, "  %s %s\n      %s\n", commands[i].name, commands[i].synopsis,
                    commands[i].summary);
}

/* ---- global options ---- */

/**
 * Parse the options before the command.
 * @return the index of the command word, or -1 with *status set (0 for
 *         --help/--version, the usage status for an error).
 */
static int parse_globals(int argc, char **argv, cli_globals *g, int *status)
{
    static const struct {
        const char *name;
        size_t offset;
    } valued[] = {
        {"--url", offsetof(cli_globals, url)},
        {"--token-file", offsetof(cli_globals, token_file)},
        {"--timeout", offsetof(cli_globals, timeout)},
        {"--env-prefix", offsetof(cli_globals, env_prefix)},
    };
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--json") == 0) {
            g->json = 1;
        } else if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
            g->verbose = 1;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_usage(out_stream());
            *status = 0;
            return -1;
        } else if (strcmp(arg, "--version") == 0) {
            fprintf(out_stream(), "litterbox %s (liblitterbox %s)\n", LB_VERSION, lb_version());
            *status = 0;
            return -1;
        } else if (strcmp(arg, "--token") == 0 || strncmp(arg, "--token=", 8) == 0) {
            *status = usage_error("there is no --token (argv is visible to every user): use "
                                  "--token-file FILE or the SERVICE_TOKEN variable");
            return -1;
        } else {
            size_t k = 0, n = sizeof valued / sizeof valued[0];
            size_t len = strlen(valued[0].name);
            for (; k < n; k++) {
                len = strlen(valued[k].name);
                if (strncmp(arg, valued[k].name, len) == 0 && (arg[len] == '\0' || arg[len] == '='))
                    break;
            }
            if (k == n) {
                *status = usage_error("unknown option '%s'", arg);
                return -1;
            }
            const char *value = arg[len] == '=' ? arg + len + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!value) {
                *status = usage_error("%s needs a value", valued[k].name);
                return -1;
            }
            *(const char **)(void *)((char *)g + valued[k].offset) = value;
        }
    }
    if (g->timeout && parse_seconds(g->timeout) < 0) {
        *status = usage_error("--timeout: '%s' is not a positive number of seconds", g->timeout);
        return -1;
    }
    if (i == argc) {
        *status = usage_error("no command given");
        return -1;
    }
    return i;
}

/* ---- the client ---- */

static void log_line(void *data, const char *line)
{
    (void)data;
    char buf[1100];
    snprintf(buf, sizeof buf, "litterbox: %s", line);
    err_line(buf);
}

/** getenv(prefix + name). */
static const char *env_prefixed(const char *prefix, const char *name, char *key, size_t size)
{
    snprintf(key, size, "%s%s", prefix, name);
    return getenv(key);
}

#define NO_TOKEN "litterbox-cli-placeholder-never-sent"

/** The token from --token-file: the file's text without trailing blanks. */
static char *token_from_file(const char *path, int *status)
{
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) {
        *status = fail(CLI_EXIT_LOCAL, "local", "cannot read the token file %s: %s", path,
                       strerror(errno));
        return NULL;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
                       text[len - 1] == '\t'))
        text[--len] = '\0';
    return text;
}

static void wipe_free(char *s)
{
    if (!s) return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
    free(s);
}

/**
 * A client from the flags, each flag overriding its own variable and the
 * rest read from the environment.
 * @return the client, or NULL with *status set (after printing why).
 */
static lb_client *client_from_flags(const cli_globals *g, const char *prefix,
                                    int token_optional, lb_client_options *opts, int *status)
{
    char key[256];
    const char *url = g->url ? g->url : env_prefixed(prefix, "SERVICE_URL", key, sizeof key);
    if (!url) {
        *status = fail(CLI_EXIT_USAGE, "invalid", "%s is not set and --url was not given", key);
        return NULL;
    }
    const char *timeout = g->timeout;
    if (!timeout) {
        timeout = env_prefixed(prefix, "SERVICE_TIMEOUT", key, sizeof key);
        if (timeout && parse_seconds(timeout) < 0) {
            *status = fail(CLI_EXIT_USAGE, "invalid",
                           "%s: '%s' is not a positive number of seconds", key, timeout);
            return NULL;
        }
    }
    if (timeout) opts->timeout_s = parse_seconds(timeout);
    char *file_token = NULL;
    const char *token;
    if (g->token_file) {
        token = file_token = token_from_file(g->token_file, status);
        if (!token) return NULL;
    } else {
        token = env_prefixed(prefix, "SERVICE_TOKEN", key, sizeof key);
        if (token_optional && token && !*token)
            token = NULL; /* empty: none, for a command that needs none */
        if (!token && !token_optional) {
            *status = fail(CLI_EXIT_USAGE, "invalid",
                           "%s is not set and --token-file was not given", key);
            return NULL;
        }
    }
    /* The client wants a token; a command that sends none (health) gets a
     * placeholder it never sends, and that is no secret to mask. */
    if (token)
        out_set_secret(token);
    else
        token = NO_TOKEN;
    lb_error err;
    lb_client *client = lb_client_new(url, token, opts, &err);
    wipe_free(file_token); /* the client holds its own copy */
    if (!client) *status = report_error(&err, NULL);
    return client;
}

lb_client *cli_client(cli_ctx *ctx, int *status)
{
    if (ctx->client) return ctx->client;
    lb_client_options opts = LB_CLIENT_OPTIONS_INIT;
    if (ctx->g.verbose) opts.log = log_line;
    if (ctx->parallel > 0) opts.max_connections = ctx->parallel;
    /* The service's logs can then tell the program from other SDK users. */
    char user_agent[96];
    snprintf(user_agent, sizeof user_agent, "litterbox-cli/%s liblitterbox/%s", LB_VERSION,
             lb_version());
    opts.user_agent = user_agent;
    const char *prefix = ctx->g.env_prefix ? ctx->g.env_prefix : "SANDBOX_";
    const cli_globals *g = &ctx->g;
    char key[256];
    const char *env_token = env_prefixed(prefix, "SERVICE_TOKEN", key, sizeof key);
    if (g->url || g->token_file || g->timeout ||
        (ctx->token_optional && (!env_token || !*env_token))) {
        ctx->client = client_from_flags(g, prefix, ctx->token_optional, &opts, status);
        return ctx->client;
    }
    out_set_secret(env_token);
    lb_error err;
    ctx->client = lb_client_from_env(prefix, &opts, &err);
    if (!ctx->client) *status = report_error(&err, NULL);
    return ctx->client;
}

/* ---- SIGINT ---- */

/* Only async-signal-safe calls: the main thread may be anywhere in libcurl. */
static void on_sigint(int sig)
{
    (void)sig;
    static const char msg[] = "litterbox: cancelled: interrupted\n";
    progress_clear_from_signal();
    file_abandon_temp();
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(CLI_EXIT_INTERRUPTED);
}

static void catch_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* ---- dispatch ---- */

/** Find the command at argv[*i] ("proxy" takes the next word too), moving
 *  *i past it. NULL after printing help or an error into *status. */
static const cli_command *find_command(int argc, char **argv, int *i, int *status)
{
    char name[64];
    const char *word = argv[*i];
    if (strcmp(word, "proxy") == 0) {
        const char *sub = *i + 1 < argc ? argv[*i + 1] : NULL;
        if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
            if (sub) {
                print_proxy_help(out_stream());
                *status = 0;
            } else {
                *status = usage_error("proxy: missing subcommand (create, delete, attach, detach)");
            }
            return NULL;
        }
        snprintf(name, sizeof name, "proxy %s", sub);
        (*i)++;
    } else {
        snprintf(name, sizeof name, "%s", word);
    }
    for (size_t k = 0; k < COMMAND_COUNT; k++) {
        if (strcmp(commands[k].name, name) == 0) {
            (*i)++;
            return &commands[k];
        }
    }
    *status = usage_error("unknown command '%s'", name);
    return NULL;
}

int main(int argc, char **argv)
{
    if (out_init() != 0) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    cli_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    int status = 0;
    int i = parse_globals(argc, argv, &ctx.g, &status);
    if (i >= 0 && (ctx.cmd = find_command(argc, argv, &i, &status)) != NULL) {
        status = args_parse(ctx.cmd, argc - i, argv + i, &ctx.a);
        if (status == 0 && ctx.a.help) {
            print_command_help(out_stream(), ctx.cmd);
        } else if (status == 0) {
            catch_sigint();
            status = ctx.cmd->run(&ctx);
        }
    }
    lb_client_close(ctx.client);
    args_free(&ctx.a);
    int out_status = out_finish();
    out_forget_secret();
    return status ? status : out_status;
}
