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
     "  --env-file FILE          KEY=VALUE lines (an 'export ' before KEY is allowed);\n"
     "                           '#' comments and blank lines skipped; keeps secret\n"
     "                           values out of argv; repeatable\n"
     "  --expires-at TIME|never  lease end: RFC 3339 with an offset, +90s, +30m, +2h, +7d;\n"
     "                           'never' makes a permanent host (default: the service's)\n"
     "  --idempotency-key KEY    repeat a create safely (default: a new random key);\n"
     "                           with --count, host i gets KEY-i\n"
     "  --provider NAME          provider to create on\n"
     "  --instance-type TYPE     provider-native size, e.g. cx33\n"
     "  --disk-gb N              disk size in GB\n"
     "  --key-file FILE          also save the private key to FILE, mode 0600\n"
     "                           (with --count, FILE-1 ... FILE-N)\n"
     "  --count N                create N hosts at once; prints what succeeded\n"
     "The private key is kept in the state folder ($XDG_STATE_HOME/litterbox) for\n"
     "`litterbox ssh`. An interrupted create prints the command that resumes it.\n",
     HOST_OPTS_CREATE, 0, 0, cmd_create},
    {"get", "HOST", "Show a host (HOST: its id, its name, or an id prefix of 4+ characters).", NULL,
     0, 1, 1, cmd_get},
    {"attach", "HOST", "Show a host (the SDK's attach: a fresh request, nothing cached).", NULL, 0,
     1, 1, cmd_attach},
    {"list", "[-q] [--status S] [--older-than DURATION]",
     "List hosts, newest first; KEY says which have a private key here.",
     "  -q, --quiet              print only the ids, one a line\n"
     "  --status S               only hosts whose status is S (e.g. active, error)\n"
     "  --older-than DURATION    only hosts created more than DURATION ago (90s, 30m,\n"
     "                           2h, 7d)\n",
     OPT_QUIET | OPT_STATUS | OPT_OLDER_THAN, 0, 0, cmd_list},
    {"delete", "HOST... | --all [--yes]",
     "Delete hosts, all at once; carries on past failures and exits with the first failure's "
     "status.",
     "  --all                    delete every host (asks first when stdin is a terminal)\n"
     "  -y, --yes                do not ask\n",
     OPT_ALL | OPT_YES, 0, MANY, cmd_delete},
    {"renew", "HOST [--expires-at TIME] | HOST --keep [--ttl DURATION]",
     "Set a host's lease (default: now + the service's lease), or keep renewing it.",
     "  --expires-at TIME        RFC 3339 with an offset, or +90s, +30m, +2h, +7d\n"
     "  --keep                   keep the lease alive until interrupted (Ctrl-C or\n"
     "                           SIGTERM: exit 0), renewing at a third of the lease and\n"
     "                           retrying transient errors\n"
     "  --ttl DURATION           with --keep: each renewal's lease (default: the\n"
     "                           service's)\n",
     OPT_EXPIRES_AT | OPT_KEEP | OPT_TTL, 1, 1, cmd_renew},
    {"wait", "HOST [--for active|gone]",
     "Wait until a host is active (default) or gone, polling with backoff; --timeout limits "
     "the wait.",
     "  --for active|gone        what to wait for; exit 6 when the host ends in error\n", OPT_FOR,
     1, 1, cmd_wait},
    {"ssh", "HOST [--identity-file FILE] [-- COMMAND...]",
     "Log in to a host with OpenSSH (or run COMMAND there); exits with ssh's status.",
     "  --identity-file FILE     the private key, for a host created elsewhere\n"
     "                           (default: the one create kept in the state folder)\n",
     OPT_IDENTITY_FILE, 1, MANY, cmd_ssh},
    {"doctor", "", "Show the service's self-diagnosis; exit status 7 when it is not ok.", NULL, 0,
     0, 0, cmd_doctor},
    {"health", "", "Check that the service answers (GET /healthz); needs no token.", NULL, 0, 0, 0,
     cmd_health},
    {"ssh-config", "HOST [--known-hosts FILE] [--identity-file FILE]",
     "Write the host's known_hosts file and print an OpenSSH config block for `ssh -F`.",
     "  --known-hosts FILE       where to write known_hosts (default: ./<host name>.known_hosts),\n"
     "                           mode 0600\n"
     "  --identity-file FILE     the IdentityFile line (default: the key create kept)\n",
     OPT_KNOWN_HOSTS | OPT_IDENTITY_FILE, 1, 1, cmd_ssh_config},
    {"proxy create", "NAME --target URL --header 'K: V'... [--header-file FILE]",
     "Route an HTTP proxy name to an origin (needs a provider with proxies).",
     "  --target URL             origin URL (scheme and host)\n"
     "  --header 'K: V'          header the proxy adds; repeatable; at least one, from\n"
     "                           here or --header-file\n"
     "  --header-file FILE       'Name: value' lines; keeps secret values out of argv;\n"
     "                           repeatable\n",
     OPT_TARGET | OPT_HEADER | OPT_HEADER_FILE, 1, 1, cmd_proxy_create},
    {"proxy delete", "NAME", "Delete an HTTP proxy.", NULL, 0, 1, 1, cmd_proxy_delete},
    {"proxy attach", "NAME HOST", "Attach a host to an HTTP proxy.", NULL, 0, 2, 2,
     cmd_proxy_attach},
    {"proxy detach", "NAME HOST", "Detach a host from an HTTP proxy.", NULL, 0, 2, 2,
     cmd_proxy_detach},
    {"completion", "bash|zsh|fish",
     "Print a shell completion script (commands, options, host names).",
     "  bash: source <(litterbox completion bash)   (e.g. in ~/.bashrc)\n"
     "  zsh:  source <(litterbox completion zsh)    (after compinit)\n"
     "  fish: litterbox completion fish | source\n",
     0, 1, 1, cmd_completion},
    {"config", "", "Show each setting, its value and where it came from (the token as ***).",
     "Settings come from flags, else the environment, else the config file\n"
     "$XDG_CONFIG_HOME/litterbox/config (~/.config/litterbox/config): 'key = value'\n"
     "lines of url, token_file, timeout, and create's image, provider,\n"
     "instance_type, expires_at. There is no token key: use token_file.\n",
     0, 0, 0, cmd_config},
    {"help", "[COMMAND]", "Show this help, or a command's.", NULL, 0, 0, 2, NULL},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

const cli_command *cli_commands(size_t *count)
{
    *count = COMMAND_COUNT;
    return commands;
}

static const char global_options_help[] =
    "Options (before or after the command):\n"
    "  --url URL            service URL (default: $SANDBOX_SERVICE_URL)\n"
    "  --token-file FILE    read the token from FILE (default: $SANDBOX_SERVICE_TOKEN);\n"
    "                       there is no --token: argv is visible to every user\n"
    "  --timeout SECONDS    whole-request timeout (default: $SANDBOX_SERVICE_TIMEOUT, or 300)\n"
    "  --env-prefix PREFIX  read PREFIX + SERVICE_URL etc. (default: SANDBOX_)\n"
    "  --json               print one JSON document on stdout\n"
    "  -v, --verbose        log each HTTP call on stderr (the token shown as ***)\n"
    "  -h, --help           show this help; COMMAND --help (or help COMMAND) shows a\n"
    "                       command's\n"
    "  --version            show the version\n";

static void print_usage(FILE *f)
{
    fputs("Usage: litterbox [OPTIONS] COMMAND [ARGS]\n\n"
          "The command-line client of the Litterbox host API.\n\nCommands:\n",
          f);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fputs("\nHOST is a host's id, its name, or a unique id prefix of 4 or more characters.\n", f);
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
 * Parse the options before the command (those after it are args.c's).
 * @return the index of the command word, or -1 with *status set (0 for
 *         --help/--version, the usage status for an error).
 */
static int parse_globals(int argc, char **argv, cli_globals *g, int *status)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_usage(out_stream());
            *status = 0;
            return -1;
        }
        if (strcmp(arg, "--version") == 0) {
            fprintf(out_stream(), "litterbox %s (liblitterbox %s)\n", LB_VERSION, lb_version());
            *status = 0;
            return -1;
        }
        int taken = global_option(argc, argv, &i, g, status);
        if (taken < 0) return -1;
        if (taken == 0) {
            static const char *const known[] = {"--url",        "--token-file", "--timeout",
                                                "--env-prefix", "--json",       "--verbose",
                                                "--help",       "--version"};
            const char *near = closest_word(arg, known, sizeof known / sizeof known[0]);
            *status = near ? usage_error("unknown option '%s'; did you mean '%s'?", arg, near)
                           : usage_error("unknown option '%s'", arg);
            return -1;
        }
    }
    if (i == argc) {
        *status = usage_error("no command given");
        return -1;
    }
    return i;
}

/** After every option is known: the --timeout given. */
static int check_globals(const cli_globals *g)
{
    if (g->timeout && parse_seconds(g->timeout) < 0)
        return usage_error("--timeout: '%s' is not a positive number of seconds", g->timeout);
    return 0;
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
static lb_client *client_from_flags(const cli_globals *g, const char *prefix, int token_optional,
                                    lb_client_options *opts, int *status)
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
    const char *env_url = env_prefixed(prefix, "SERVICE_URL", key, sizeof key);
    out_set_service_url(g->url ? g->url : env_url);
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

/* What to say on the way out, set before a call whose interruption loses
 * something (create: how to resume it). Two buffers: a new note is written
 * into the one the handler is not reading, then switched to at once, so a
 * signal in between prints the old note whole rather than none. */
static char interrupt_notes[2][2048];
static volatile sig_atomic_t interrupt_note_lens[2];
static volatile sig_atomic_t interrupt_note_current;

void interrupt_note_set(const char *line)
{
    int next = !interrupt_note_current;
    size_t n = line ? strlen(line) : 0;
    if (n + 1 >= sizeof interrupt_notes[next]) n = 0; /* too long to be of use: say nothing */
    if (n) {
        memcpy(interrupt_notes[next], line, n);
        interrupt_notes[next][n++] = '\n';
    }
    interrupt_note_lens[next] = (sig_atomic_t)n;
    interrupt_note_current = next;
}

static volatile sig_atomic_t interrupt_is_the_end; /* interrupt_quietly() */

/* Only async-signal-safe calls: the main thread may be anywhere in libcurl. */
static void on_sigint(int sig)
{
    (void)sig;
    static const char msg[] = "litterbox: cancelled: interrupted\n";
    progress_clear_from_signal();
    file_abandon_temp();
    ssize_t w = 0;
    if (!interrupt_is_the_end) w = write(STDERR_FILENO, msg, sizeof msg - 1);
    int note = interrupt_note_current;
    if (interrupt_note_lens[note] > 0)
        w = write(STDERR_FILENO, interrupt_notes[note], (size_t)interrupt_note_lens[note]);
    (void)w;
    _exit(interrupt_is_the_end ? 0 : CLI_EXIT_INTERRUPTED);
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

void interrupt_quietly(void)
{
    interrupt_is_the_end = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- dispatch ---- */

/** The command named by the words at argv[*i] ("proxy" takes the next
 *  one too), moving *i past them; NULL when there is none. */
static const cli_command *lookup_command(int argc, char **argv, int *i, char *name, size_t size)
{
    const char *word = argv[*i];
    int words = 1;
    if (strcmp(word, "proxy") == 0 && *i + 1 < argc && argv[*i + 1][0] != '-') {
        snprintf(name, size, "proxy %s", argv[*i + 1]);
        words = 2;
    } else {
        snprintf(name, size, "%s", word);
    }
    for (size_t k = 0; k < COMMAND_COUNT; k++) {
        if (strcmp(commands[k].name, name) == 0) {
            *i += words;
            return &commands[k];
        }
    }
    return NULL;
}

static int unknown_command(const char *name)
{
    const char *names[COMMAND_COUNT];
    for (size_t k = 0; k < COMMAND_COUNT; k++)
        names[k] = commands[k].name;
    const char *near = closest_word(name, names, COMMAND_COUNT);
    if (near) return usage_error("unknown command '%s'; did you mean '%s'?", name, near);
    return usage_error("unknown command '%s'", name);
}

/** `proxy` alone, or with --help. @return 1 when it was that (status set). */
static int proxy_alone(int argc, char **argv, int i, int *status)
{
    if (strcmp(argv[i], "proxy") != 0) return 0;
    const char *sub = i + 1 < argc ? argv[i + 1] : NULL;
    if (sub && strcmp(sub, "--help") != 0 && strcmp(sub, "-h") != 0) return 0;
    if (sub) {
        print_proxy_help(out_stream());
        *status = 0;
    } else {
        *status = usage_error("proxy: missing subcommand (create, delete, attach, detach)");
    }
    return 1;
}

/** `help [COMMAND]`: the words after "help" from argv[i]. */
static int run_help(int argc, char **argv, int i)
{
    if (i == argc) {
        print_usage(out_stream());
        return 0;
    }
    int status = 0;
    if (proxy_alone(argc, argv, i, &status) || (argc - i == 1 && strcmp(argv[i], "proxy") == 0)) {
        print_proxy_help(out_stream());
        return 0;
    }
    char name[64];
    const cli_command *cmd = lookup_command(argc, argv, &i, name, sizeof name);
    if (!cmd) return unknown_command(name);
    if (i != argc) return usage_error("help: unexpected argument '%s'", argv[i]);
    print_command_help(out_stream(), cmd);
    return 0;
}

/** Find the command at argv[*i], moving *i past it. NULL after printing
 *  help or an error into *status. */
static const cli_command *find_command(int argc, char **argv, int *i, int *status)
{
    if (proxy_alone(argc, argv, *i, status)) return NULL;
    char name[64];
    const cli_command *cmd = lookup_command(argc, argv, i, name, sizeof name);
    if (!cmd) *status = unknown_command(name);
    return cmd;
}

int main(int argc, char **argv)
{
    if (out_init() != 0) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    cli_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.argc = argc;
    ctx.argv = argv;
    int status = 0;
    int i = parse_globals(argc, argv, &ctx.g, &status);
    if (i >= 0 && strcmp(argv[i], "__complete") == 0) {
        if (config_apply(&ctx) == 0) /* the shell scripts' */
            status = complete_words(&ctx, argc - i - 1, argv + i + 1);
    } else if (i >= 0 && (ctx.cmd = find_command(argc, argv, &i, &status)) != NULL) {
        if (!ctx.cmd->run) {
            status = run_help(argc, argv, i); /* help [COMMAND] */
        } else {
            status = args_parse(ctx.cmd, argc - i, argv + i, &ctx.a, &ctx.g);
            if (status == 0 && ctx.a.help)
                print_command_help(out_stream(), ctx.cmd);
            else if (status == 0 && (status = config_apply(&ctx)) == 0 &&
                     (status = check_globals(&ctx.g)) == 0) {
                catch_signals();
                status = ctx.cmd->run(&ctx);
            }
        }
    }
    lb_client_close(ctx.client);
    lb_host_list_free(ctx.hosts);
    args_free(&ctx.a);
    config_free();
    int out_status = out_finish();
    out_forget_secret();
    return status ? status : out_status;
}
