/* The local provider's parts (server/provider_local.c glues them):
 *
 *   files.c    paths, files written with their mode, rm -rf
 *   run.c      programs started with execve and an argv array (never a
 *              shell): run-and-wait, and the detached start of an sshd
 *   proc.c     /proc: is a pid our sshd, the process tree below it, kill it
 *   keys.c     ssh-keygen: the host key, the user key pair, known_hosts
 *   sshd.c     the per-host sshd_config, a free port, start, wait, stop
 *   sandbox.c  the bubblewrap options of a session, the sandbox user
 *   env.c      the host's env as `--setenv KEY VALUE` entries of the
 *              NUL-separated file that bwrap itself reads (`--args FD`)
 *
 * A host lives in <state_dir>/hosts/<id>/ (0700):
 *
 *   sshd_config, ssh_host_ed25519_key(.pub), sshd.log
 *   session/          what a session may reach (root: 0750 root:sandbox)
 *     authorized_keys the user's public key, with `restrict,pty`
 *     bwrap.args      bwrap's options and the env, NUL-separated
 *     home/ tmp/      the host's $HOME and /tmp, kept between sessions
 *
 * The user's private key is read back and deleted at once; it is never
 * kept on disk. */
#ifndef LBS_LOCAL_H
#define LBS_LOCAL_H

#include <stddef.h>
#include <sys/types.h>

#include "../buf.h"

#define LOCAL_IMAGE "local"
#define LOCAL_SSHD "/usr/sbin/sshd"
#define LOCAL_BWRAP "/usr/bin/bwrap"
#define LOCAL_SSH_KEYGEN "/usr/bin/ssh-keygen"
#define LOCAL_SANDBOX_USER "litterbox-sandbox"
/* As root, each sshd runs in a mount namespace of its own in which its
 * host's session/ folder is bound here, so that the unprivileged login user
 * reaches it without any right on the server's (0700) state folder. Only an
 * empty mount point exists outside. */
#define LOCAL_SESSION_MOUNT "/run/litterbox-session"

/* ---- files.c ---- */

/* malloc'd "a/b"; NULL on allocation failure. */
char *local_path(const char *dir, const char *name);
/* Writes data to path, created exclusively with mode (umask does not
 * apply). 0, or -1 with why. */
int local_write_file(const char *path, const void *data, size_t n, mode_t mode, char *why,
                     size_t why_size);
/* Reads a whole (small) file, NUL-terminated; *len_out may be NULL.
 * malloc'd, or NULL with why. */
char *local_read_file(const char *path, size_t max, size_t *len_out, char *why, size_t why_size);
/* mkdir with exactly this mode (and owner, unless uid is -1). */
int local_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid, char *why, size_t why_size);
/* rm -rf without following symlinks; a missing path is success. Makes
 * directories writable on the way down (a session may chmod its files). */
int local_remove_tree(const char *path, char *why, size_t why_size);
/* 1 when every byte of s is one the local provider puts unquoted into an
 * sshd_config line and a shell word: [A-Za-z0-9/._+,:=@-]. */
int local_plain_path(const char *s);
/* Zero n bytes in a way the compiler keeps. */
void local_wipe(void *p, size_t n);
/* Sleep, resumed after signals. */
void local_sleep_ms(int ms);
/* Milliseconds on the monotonic clock. */
long long local_now_ms(void);

/* ---- run.c ---- */

typedef struct local_run_opts {
    int timeout_ms; /* 0: 30 s */
    uid_t uid;      /* run as this user (root only); (uid_t)-1: as we are */
    gid_t gid;
} local_run_opts;

/* Runs argv[0] (an absolute path) with argv, a minimal fixed environment,
 * stdin from /dev/null, stdout and stderr captured into out (NUL-terminated,
 * truncated to out_size). Returns the exit status (0-255), or -1 with why
 * when it could not run, timed out (then killed) or died of a signal. */
int local_run(const char *const argv[], const local_run_opts *opts, char *out, size_t out_size,
              char *why, size_t why_size);

/* Starts argv[0] detached: in a session of its own (setsid), not our child
 * (double fork, so init reaps it), stdin /dev/null, stdout and stderr
 * appended to log_path. With bind_src set (root only), it runs in a mount
 * namespace of its own where bind_src is bound on bind_dst. Returns its pid,
 * or -1 with why. */
pid_t local_spawn_detached(const char *const argv[], const char *log_path, const char *bind_src,
                           const char *bind_dst, char *why, size_t why_size);

/* Starts argv[0] as our own child, in a session of its own, with stdin
 * from stdin_fd (-1: /dev/null; the caller keeps its descriptor) and
 * stdout and stderr appended to log_path: for a program whose exit status
 * matters but whose descendants may keep its output open (runsc run
 * --detach). The caller must reap it: local_wait_child. Its pid, or -1 with
 * why. */
pid_t local_spawn_child(const char *const argv[], int stdin_fd, const char *log_path, char *why,
                        size_t why_size);

/* Waits at most timeout_ms for our child pid to exit and reaps it. Its exit
 * status (0-255); -1 with why when it died of a signal, or did not finish
 * in time (then it is killed and reaped). */
int local_wait_child(pid_t pid, int timeout_ms, char *why, size_t why_size);

/* 1 when a child may make a mount namespace of its own (root mode needs
 * it for each sshd). */
int local_can_unshare_mounts(void);

/* ---- proc.c ---- */

/* 1 when pid exists and is not a zombie. */
int local_proc_alive(pid_t pid);
/* 1 when pid runs (not a zombie) and its command line contains needle. */
int local_proc_matches(pid_t pid, const char *needle);
/* Kills the sshd `pid` (if it still matches needle) and every process
 * below it, and every process whose stderr is log_path (the sshd's
 * connection processes, even after their listener is gone): SIGTERM, then
 * SIGKILL after grace_ms; verifies they are gone. 0, or -1 with why. */
int local_proc_kill_host(pid_t pid, const char *needle, const char *log_path, int grace_ms,
                         char *why, size_t why_size);

/* ---- keys.c ---- */

/* ssh-keygen -t ed25519 into path (and path.pub), no passphrase. */
int local_keygen(const char *path, const char *comment, char *why, size_t why_size);
/* "TYPE BASE64" of path.pub (no comment), malloc'd; NULL with why. */
char *local_public_key(const char *pub_path, char *why, size_t why_size);

/* ---- sshd.c ---- */

typedef struct local_sshd_conf {
    const char *host_dir;    /* where sshd_config, host key and log are */
    const char *session_dir; /* the session/ folder as sshd sees it */
    const char *login_user;
    const char *inner_shell; /* the shell a session runs in the sandbox */
    int strict_modes;
    /* Another provider's sshd (gvisor): when set, the whole ForceCommand
     * line, in place of the bubblewrap one, and root may log in (by key
     * only, and only ever into that command, started without the login
     * shell's rc file). */
    const char *force_command;
} local_sshd_conf;

/* A port on 127.0.0.1 that was free a moment ago; 0 with why. */
int local_free_port(char *why, size_t why_size);
/* Writes <host_dir>/sshd_config for port. */
int local_sshd_write_config(const local_sshd_conf *c, int port, char *why, size_t why_size);
/* Starts the sshd of host_dir (bind_src: see local_spawn_detached) and
 * waits until it answers with an SSH banner on port. Returns its pid, or
 * -1 with why (the sshd is then stopped; *port_busy set when the port was
 * taken by another process meanwhile). */
pid_t local_sshd_start(const char *host_dir, int port, const char *bind_src, int timeout_ms,
                       int *port_busy, char *why, size_t why_size);
/* 1 when something on 127.0.0.1:port sends an SSH banner within
 * timeout_ms. */
int local_sshd_answers(int port, int timeout_ms);
/* The text sshd's command line carries for host_dir: "-f <dir>/sshd_config". */
char *local_sshd_needle(const char *host_dir);

/* ---- sandbox.c ---- */

typedef struct local_sandbox {
    const char *state_dir;    /* hidden from sessions (with its parent) */
    const char *session_dir;  /* as sshd (and so bwrap) sees it */
    const char *login_home;   /* the login user's real home: hidden */
    const char *sandbox_home; /* $HOME inside: /home/<user> */
    const char *hostname;     /* the host's name */
    const char *inner_shell;
    const char *login_user;
    int as_root; /* sessions run as uid/gid below */
    uid_t uid;
    gid_t gid;
    const char *const *private_paths; /* NULL-terminated, or NULL: hidden too */
} local_sandbox;

/* Appends bwrap's options for a session of this host to b (NUL-separated,
 * for `bwrap --args FD`). */
void local_sandbox_args(sbuf *b, const local_sandbox *s);
/* As root: the uid/gid of LOCAL_SANDBOX_USER, created with useradd when
 * missing. 0, or -1 with why. */
int local_sandbox_user(uid_t *uid, gid_t *gid, char *why, size_t why_size);
/* The shell that sessions run in the sandbox: /bin/bash, else /bin/sh. */
const char *local_inner_shell(void);

/* ---- env.c ---- */

/* 1 when key is [A-Za-z_][A-Za-z0-9_]*. */
int local_env_key_ok(const char *key);
/* Appends `--setenv KEY VALUE` for each entry (values as given, any byte
 * but NUL). -1 with why on a key that is not a plain name. */
int local_env_args(sbuf *b, const char *const *keys, const char *const *values, size_t n, char *why,
                   size_t why_size);

#endif
