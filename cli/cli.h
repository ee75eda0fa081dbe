/* The `litterbox` command-line program: declarations shared by its files.
 *
 * The program uses only the public API in litterbox.h. Its pieces:
 *   main.c       the command table, help, the client, SIGINT
 *   args.c       the option parser (global and per command), "did you mean"
 *   create.c     create: its options, the idempotency key, saving the key
 *   commands.c   the other host commands (get, list, delete, wait, ...)
 *   keepalive.c  renew --keep: when to renew next
 *   renew_keep.c renew --keep: the loop
 *   resolve.c    a host given by id, name or id prefix
 *   state.c      the CLI's state folder: each host's key and known_hosts
 *   ssh.c        ssh: exec OpenSSH with the stored key
 *   completion.c shell completion scripts and the words they ask for
 *   config.c     the config file and `litterbox config`
 *   proxy.c      the four proxy commands
 *   sshconfig.c  ssh-config: the known_hosts file and the OpenSSH block
 *   output.c     human output, error lines, token redaction
 *   json_out.c   the JSON writer behind --json
 *   files.c      reading input files, writing private files safely
 *   time.c       TIME arguments (RFC 3339 or +90s/+30m/+2h/+7d)
 *   when.c       times in human output: one format, and how far from now
 *   progress.c   the "provisioning… Ns" line on a terminal
 */
#ifndef LB_CLI_H
#define LB_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "litterbox.h"

/* Exit statuses of docs/cli.md that no lb_code maps to on its own. */
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
    const char *status, *older_than, *for_state, *ttl;
    str_list env, env_files, headers, header_files;
    int help, quiet, all, yes, keep;
    size_t dashdash; /* pos[] index where the words after `--` start (npos when none) */
} cmd_args;

struct cli_command;

/** Everything a command needs while it runs. */
typedef struct cli_ctx {
    cli_globals g;
    const struct cli_command *cmd;
    cmd_args a;
    lb_client *client;   /* made on first use by cli_client() */
    long parallel;       /* calls the command runs at once: the client's max_connections */
    int token_optional;  /* the command sends no token (health): none need be configured */
    lb_host_list *hosts; /* the list resolve_hosts() read, kept for the ids it lent */
    int argc;            /* the whole command line, for create's resume command */
    char **argv;
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
    OPT_HEADER_FILE = 1u << 14,
    OPT_QUIET = 1u << 15,
    OPT_STATUS = 1u << 16,
    OPT_OLDER_THAN = 1u << 17,
    OPT_ALL = 1u << 18,
    OPT_YES = 1u << 19,
    OPT_FOR = 1u << 20,
    OPT_KEEP = 1u << 21,
    OPT_TTL = 1u << 22
};

/* ---- main.c ---- */
/** The client, made from the global options and the environment on first
 *  use; NULL after printing why (the exit status is then cli_client_exit). */
lb_client *cli_client(cli_ctx *ctx, int *exit_status);
const cli_command *cli_commands(size_t *count);

/* ---- args.c ---- */
/** Parse a command's arguments (argv after the command name) into @p a;
 *  global options among them go to @p g.
 *  @return 0, or the usage-error exit status after printing the error. */
int args_parse(const cli_command *cmd, int argc, char **argv, cmd_args *a, cli_globals *g);
/**
 * Take the global option at argv[*i] (and its value, moving *i past it).
 * @return 1 when taken, 0 when argv[*i] is no global option, -1 after
 *         printing a usage error (its exit status in *status).
 */
int global_option(int argc, char **argv, int *i, cli_globals *g, int *status);
/** Whether @p word (an option of @p cmd, "--name" or "-x") takes a value. */
int option_takes_value(const cli_command *cmd, const char *word);
/** Print @p cmd's long options that start with @p prefix, one a line. */
void option_names(const cli_command *cmd, const char *prefix);
/** The candidate a typo of @p word most likely meant, or NULL. */
const char *closest_word(const char *word, const char *const *candidates, size_t n);
/** Parse a DURATION (90s, 30m, 2h, 7d; a leading + allowed) into seconds;
 *  -1 when it is not one. */
long long parse_duration(const char *s);
void args_free(cmd_args *a);
/** Parse a whole positive number within [1, max]; -1 when it is not one. */
long long parse_positive(const char *s, long long max);
/** Parse a positive decimal number of seconds (may be fractional); -1 when not. */
double parse_seconds(const char *s);

/* ---- commands.c: pieces the commands share ---- */

/* One call of a command that runs several at once (create --count,
 * delete HOST...): its outcome, kept until all are done so that errors are
 * reported in argument order. */
typedef struct call_slot {
    lb_code code;
    lb_error err;
    lb_host *host; /* create's, owned by the slot */
} call_slot;

/** The callback of each such call: @p userdata is its call_slot. */
void slot_done(lb_call *call, const lb_result *r, void *userdata);
/** A call that could not start: its slot carries the refusal. */
void slot_refused(call_slot *slot, const lb_error *err);
/** Run the started calls to their end. @return 0 or an exit status. */
int run_all(lb_client *c);
/** --expires-at for create (`never` allowed) or renew (not).
 *  @return 0, or the usage status after printing why. */
int expires_arg(const cli_ctx *ctx, int allow_never, long long *out);

/* ---- the commands: commands.c, create.c, proxy.c, sshconfig.c, ssh.c ---- */
int cmd_create(cli_ctx *ctx);
int cmd_get(cli_ctx *ctx);
int cmd_attach(cli_ctx *ctx);
int cmd_list(cli_ctx *ctx);
int cmd_delete(cli_ctx *ctx);
int cmd_renew(cli_ctx *ctx);
int cmd_doctor(cli_ctx *ctx);
int cmd_health(cli_ctx *ctx);
int cmd_ssh_config(cli_ctx *ctx);
int cmd_ssh(cli_ctx *ctx);
int cmd_wait(cli_ctx *ctx);
int cmd_completion(cli_ctx *ctx);
/** `litterbox __complete WORD... CURRENT` (completion.c): what may come
 *  next, one a line. Always 0. */
int complete_words(cli_ctx *ctx, int argc, char **argv);
/** renew --keep (renew_keep.c). */
int cmd_renew_keep(cli_ctx *ctx);

/* ---- resolve.c ---- */
/**
 * Turn host references (an id, a name, or a unique id prefix of at least 4
 * characters) into ids. A reference shaped like a whole id is taken as one
 * without asking; any other makes one list call for all of them.
 * @param ids  filled with @p n ids, borrowed from @p refs or ctx->hosts.
 * @return 0, or an exit status after printing why (2 for an ambiguous
 *         prefix, listing the matches; 4 for no match).
 */
int resolve_hosts(cli_ctx *ctx, const char *const *refs, size_t n, const char **ids);
/** The host the command's first word names, read fresh from the service.
 *  @return the host (the caller frees it), or NULL after printing why with
 *          the exit status in @p status. */
lb_host *fetch_named_host(cli_ctx *ctx, int *status);

/* ---- state.c ---- */
/**
 * The CLI's state folder ($XDG_STATE_HOME/litterbox, else
 * ~/.local/state/litterbox) joined with @p sub (may be ""), into @p buf.
 * @return 0, or -1 when neither variable gives an absolute folder.
 */
int state_path(const char *sub, char *buf, size_t size);
/** Make the state folder and its hosts/ and creates/ folders, mode 0700.
 *  @return 0, or -1 with a reason in @p why. */
int state_prepare(char *why, size_t why_size);
/**
 * Keep what `ssh` needs of a created host in hosts/<id>/: private_key
 * (0600, when one came back), known_hosts and name.
 * @param key_path  where the key went ("" when none came back).
 * @return 0, or -1 with a reason in @p why.
 */
int state_save_host(const lb_host *h, char *key_path, size_t key_path_size, char *why,
                    size_t why_size);
/** Refresh hosts/<id>/known_hosts from @p h; its path in @p path. */
int state_save_known_hosts(const lb_host *h, char *path, size_t size, char *why, size_t why_size);
/** The stored private key of host @p id into @p path. @return 1 when it
 *  exists, 0 when not. */
int state_key_path(const char *id, char *path, size_t size);
/** Forget a deleted host: remove hosts/<id>/. */
void state_forget_host(const char *id);
/**
 * Remember which request an idempotency key was first sent with
 * (creates/<key>), or compare with what it was.
 * @return 0 (new, or the same request), 1 (a different request: nothing
 *         written), -1 with a reason in @p why.
 */
int state_check_create(const char *key, const char *request, char *why, size_t why_size);
/** Forget creates/<key>: the service refused the request, so the key
 *  holds no host and may go with other options. */
void state_forget_create(const char *key);
int cmd_proxy_create(cli_ctx *ctx);
int cmd_proxy_delete(cli_ctx *ctx);
int cmd_proxy_attach(cli_ctx *ctx);
int cmd_proxy_detach(cli_ctx *ctx);

/* ---- output.c ---- */
/** Exit status for an lb_code, as in docs/cli.md. */
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
/** The service URL the client uses, named in errors that never reached it. */
void out_set_service_url(const char *url);
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
    const char *saved_to; /* the --key-file written, or NULL */
    const char *kept_at;  /* the copy in the state folder, or NULL */
    int save_failed;      /* the key could be written nowhere */
} key_note;

/** One host: `key: value` lines, or one JSON object. */
void out_host(const cli_ctx *ctx, const lb_host *h, const key_note *note);
/** Several hosts (create --count): blocks separated by a blank line, or an
 *  array. @p notes may be NULL. */
void out_host_array(const cli_ctx *ctx, lb_host *const *hosts, size_t n, const key_note *notes);
/** A list: a table, or an array. */
void out_host_table(const cli_ctx *ctx, lb_host *const *hosts, size_t count);
/** Ids only, one a line (list -q), or an array of strings. */
void out_ids(const cli_ctx *ctx, lb_host *const *hosts, size_t count);
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

/* ---- config.c ---- */
/**
 * Read the config file and fill, in ctx->g and ctx->a, what neither a flag
 * nor the environment gave (url, token_file, timeout; create's image,
 * provider, instance_type, expires_at).
 * @return 0, or an exit status after printing why (a bad line: 2).
 */
int config_apply(cli_ctx *ctx);
void config_free(void);
int cmd_config(cli_ctx *ctx);

/** One setting as `litterbox config` shows it. */
typedef struct config_setting {
    const char *name, *value; /* value NULL: unset; the token is "***" */
    char from[4200];          /* a flag, a variable, the config file, "default", "unset" */
} config_setting;

/** The settings in order. @return how many were filled (at most @p max). */
size_t config_settings(const cli_ctx *ctx, config_setting *settings, size_t max);
/** The config file's path (NULL without HOME), and whether it was read. */
const char *config_file_path(int *found);
/** config --json. */
void json_config(const cli_ctx *ctx);

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
/** A line the SIGINT handler writes before exiting (create's resume
 *  command), or NULL for none. Copied; async-signal-safe to read. */
void interrupt_note_set(const char *line);
/** From now on SIGINT and SIGTERM end the program with exit 0, printing
 *  only the note: for renew --keep, which is meant to be stopped so. */
void interrupt_quietly(void);
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

/* ---- when.c ---- */
/** "in 23 h", "5 min ago": @p t from @p now (Unix seconds). */
void when_relative(long long t, long long now, char *buf, size_t size);
/** An RFC 3339 time as "2030-01-02 00:00:00 UTC", with " (in 23 h)" when
 *  @p relative; text it cannot read is copied as it is. */
void when_human(const char *text, long long now, int relative, char *buf, size_t size);

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
