/* The `litterbox` command-line program: declarations shared by its files.
 *
 * The program uses only the public API in litterbox.h. Its pieces:
 *   main.c       global options, the command table, the client, SIGINT
 *   args.c       the command-option parser and numeric arguments
 *   commands.c   the host commands (create, get, list, delete, ...)
 *   proxy.c      the four proxy commands
 *   sshconfig.c  ssh-config: the known_hosts file and the OpenSSH block
 *   output.c     human and JSON output, error lines, token redaction
 *   files.c      reading input files, writing private files safely
 *   time.c       TIME arguments (RFC 3339 or +90s/+30m/+2h/+7d)
 *   progress.c   the "provisioning… Ns" line on a terminal
 */
#ifndef LB_CLI_H
#define LB_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "litterbox.h"

/* Exit statuses of cli.md that no lb_code maps to on its own. */
enum {
    CLI_EXIT_LOCAL = 1,        /* out of memory, a file that cannot be read or written */
    CLI_EXIT_USAGE = 2,        /* bad command line: nothing was sent */
    CLI_EXIT_UNHEALTHY = 7,    /* doctor answered ok: false */
    CLI_EXIT_INTERRUPTED = 130 /* SIGINT */
};

/** A growable, always NULL-terminated array of borrowed or owned strings. */
typedef struct str_list {
    const char **items; /* NULL until the first push */
    size_t count, cap;
    char **owned; /* strings this list allocated (from files), freed with it */
    size_t owned_count, owned_cap;
} str_list;

int str_list_push(str_list *l, const char *s);
/** Push a copy that the list owns. */
int str_list_push_copy(str_list *l, const char *s, size_t len);
void str_list_free(str_list *l);

/** Options given before the command. */
typedef struct cli_globals {
    const char *url, *token_file, *timeout, *env_prefix;
    int json, verbose;
} cli_globals;

/** Every option any command takes, as given on the command line. Which ones
 *  a command accepts is its `options` mask (OPT_* bits in args.c). */
typedef struct cmd_args {
    const char **pos; /* positional arguments */
    size_t npos;
    const char *image, *expires_at, *idempotency_key, *provider, *instance_type;
    const char *disk_gb, *key_file, *count, *known_hosts, *identity_file, *target;
    str_list env, env_files, headers, header_files;
    int help;
} cmd_args;

struct cli_command;

/** Everything a command needs while it runs. */
typedef struct cli_ctx {
    cli_globals g;
    const struct cli_command *cmd;
    cmd_args a;
    lb_client *client; /* made on first use by cli_client() */
    long parallel;     /* calls the command runs at once: the client's max_connections */
    int token_optional; /* the command sends no token (health): none need be configured */
} cli_ctx;

/** One row of the command table (main.c). */
typedef struct cli_command {
    const char *name;     /* "get", "proxy create" */
    const char *synopsis; /* what follows the name */
    const char *summary;  /* one line */
    const char *details;  /* option lines for COMMAND --help, or NULL */
    unsigned options;     /* OPT_* mask */
    size_t min_pos, max_pos;
    int (*run)(cli_ctx *ctx);
} cli_command;

/* Option bits (args.c holds the table that gives them names). */
enum {
    OPT_IMAGE = 1u << 0,
    OPT_ENV = 1u << 1,
    OPT_ENV_FILE = 1u << 2,
    OPT_EXPIRES_AT = 1u << 3,
    OPT_IDEMPOTENCY_KEY = 1u << 4,
    OPT_PROVIDER = 1u << 5,
    OPT_INSTANCE_TYPE = 1u << 6,
    OPT_DISK_GB = 1u << 7,
    OPT_KEY_FILE = 1u << 8,
    OPT_COUNT = 1u << 9,
    OPT_KNOWN_HOSTS = 1u << 10,
    OPT_IDENTITY_FILE = 1u << 11,
    OPT_TARGET = 1u << 12,
    OPT_HEADER = 1u << 13,
    OPT_HEADER_FILE = 1u << 14
};

/* ---- main.c ---- */
/** The client, made from the global options and the environment on first
 *  use; NULL after printing why (the exit status is then cli_client_exit). */
lb_client *cli_client(cli_ctx *ctx, int *exit_status);
const cli_command *cli_commands(size_t *count);

/* ---- args.c ---- */
/** Parse a command's arguments (argv after the command name) into @p a.
 *  @return 0, or the usage-error exit status after printing the error. */
int args_parse(const cli_command *cmd, int argc, char **argv, cmd_args *a);
void args_free(cmd_args *a);
/** Parse a whole positive number within [1, max]; -1 when it is not one. */
long long parse_positive(const char *s, long long max);
/** Parse a positive decimal number of seconds (may be fractional); -1 when not. */
double parse_seconds(const char *s);

/* ---- commands.c, proxy.c, sshconfig.c ---- */
int cmd_create(cli_ctx *ctx);
int cmd_get(cli_ctx *ctx);
int cmd_attach(cli_ctx *ctx);
int cmd_list(cli_ctx *ctx);
int cmd_delete(cli_ctx *ctx);
int cmd_renew(cli_ctx *ctx);
int cmd_doctor(cli_ctx *ctx);
int cmd_health(cli_ctx *ctx);
int cmd_ssh_config(cli_ctx *ctx);
int cmd_proxy_create(cli_ctx *ctx);
int cmd_proxy_delete(cli_ctx *ctx);
int cmd_proxy_attach(cli_ctx *ctx);
int cmd_proxy_detach(cli_ctx *ctx);

/* ---- output.c ---- */
/** Exit status for an lb_code, as in cli.md. */
int exit_status_for(lb_code code);
/** Start buffering stdout; decide on colour. */
int out_init(void);
/** The stream every command writes its stdout output to. */
FILE *out_stream(void);
/** Write the buffered output, token redacted, to stdout.
 *  @return 0, or CLI_EXIT_LOCAL when stdout could not be written. */
int out_finish(void);
/** The secret to keep out of all output (copied; NULL or "" for none). */
void out_set_secret(const char *secret);
void out_forget_secret(void);
/** Copy @p s into @p buf with every occurrence of the secret replaced by ***. */
void redact(const char *s, char *buf, size_t size);
int out_colour(void);

/** Print `litterbox: <code name>: [<what>: ]<message>[ (HTTP <status>)]` on
 *  stderr. @return the exit status for the error's code. */
int report_error(const lb_error *err, const char *what);
/** Print a usage error and the hint line. @return CLI_EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Print an error line with the given code name. @return @p status. */
int fail(int status, const char *code_name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** One line on stderr, redacted, below any progress line. */
void err_line(const char *line);

/** How create saved (or not) a returned private key, for the human form. */
typedef struct key_note {
    const char *saved_to; /* the file written, or NULL */
    int save_failed;      /* --key-file was given and writing it failed */
} key_note;

/** One host: `key: value` lines, or one JSON object. */
void out_host(const cli_ctx *ctx, const lb_host *h, const key_note *note);
/** Several hosts (create --count): blocks separated by a blank line, or an
 *  array. @p notes may be NULL. */
void out_host_array(const cli_ctx *ctx, lb_host *const *hosts, size_t n, const key_note *notes);
/** A list: a table, or an array. */
void out_host_table(const cli_ctx *ctx, const lb_host_list *list);
void out_doctor(const cli_ctx *ctx, const lb_doctor_report *r);
void out_proxy(const cli_ctx *ctx, const lb_proxy *p);
/** `ok`, or {"status":"ok"}. */
void out_health(const cli_ctx *ctx);
/** The ssh-config block, or {"known_hosts_file": .., "ssh_config": ..}. */
void out_ssh_config(const cli_ctx *ctx, const char *block, const char *known_hosts_file);
/** A human-only confirmation line (nothing under --json). */
void out_done(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Write @p s for a person: control bytes shown as \xNN so that a server
 *  cannot drive the terminal. */
void out_text(FILE *f, const char *s);

/* ---- files.c ---- */
/** Read a whole file (at most 1 MiB). @return a NUL-terminated buffer the
 *  caller frees, or NULL with errno set. */
char *file_read_all(const char *path, size_t *len);
/** Append the `KEY=VALUE` lines of an env file to @p env. @return 0 or an
 *  exit status after printing the error. */
int env_file_load(const char *path, str_list *env);
/** Append the `Name: value` lines of a header file to @p headers. */
int header_file_load(const char *path, str_list *headers);
/**
 * Write @p data to @p path as a private file: mode 0600, written to a
 * temporary name in the same folder, flushed, then renamed into place.
 * Refuses a path that is a symbolic link or not a regular file.
 * @return 0, or -1 with a reason in @p why.
 */
int file_write_private(const char *path, const char *data, size_t len, char *why, size_t why_size);
/** Before a create: refuse now, not after a VM exists, a --key-file that
 *  file_write_private() would refuse. @return 0, or -1 with @p why. */
int file_check_writable(const char *path, char *why, size_t why_size);
/** Remove a half-written temporary file; called from the SIGINT handler,
 *  so async-signal-safe. */
void file_abandon_temp(void);
/** @p path made absolute (cwd-relative paths joined to the cwd); caller frees. */
char *path_absolute(const char *path);

/* ---- time.c ---- */
/**
 * Parse a TIME argument into Unix seconds.
 * @param s    RFC 3339 with an offset, or +N followed by s, m, h or d.
 * @param now  the time relative forms count from.
 * @param out  the result, always > 0.
 * @return 0, or -1 with a reason in @p why.
 */
int time_arg_parse(const char *s, time_t now, long long *out, char *why, size_t why_size);

/* ---- progress.c ---- */
/** Show `<label>… Ns` on stderr, updated each second, when stderr is a
 *  terminal; otherwise do nothing. */
void progress_start(const char *label);
/** Stop and clear the line. Safe to call when nothing was started. */
void progress_stop(void);
/** Write a line to stderr without tearing a progress line. */
void progress_write_line(const char *line);
/** Clear the progress line from a signal handler (async-signal-safe). */
void progress_clear_from_signal(void);

#endif
