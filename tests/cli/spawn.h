/* Running the built `litterbox` binary as a child process, the way a user
 * or a script would, and capturing what it did. */
#ifndef LB_TEST_CLI_SPAWN_H
#define LB_TEST_CLI_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/** How the child's stdout and stderr are connected. */
enum {
    SPAWN_PIPES = 0,      /* both pipes: no terminal anywhere */
    SPAWN_STDOUT_TTY = 1, /* stdout is a pseudo-terminal */
    SPAWN_STDERR_TTY = 2, /* stderr is a pseudo-terminal */
    SPAWN_STDIN_TTY = 4   /* stdin is a pseudo-terminal (see spawn_run_typing) */
};

typedef struct spawn_opts {
    const char *const *argv; /* arguments after the program name, NULL-terminated */
    const char *const *env;  /* the whole environment, NULL-terminated */
    int mode;                /* SPAWN_* */
    /* Called once after the child started, with its pid (e.g. to send it
     * SIGINT); may be NULL. */
    void (*on_started)(pid_t pid, void *data);
    void *data;
    int timeout_ms; /* kill the child after this long; 0 means 60 s */
} spawn_opts;

typedef struct spawn_result {
    int status; /* exit status; 128 + signal number when killed; -1 on harness failure */
    char *out;  /* NUL-terminated; with a tty, what the terminal received */
    char *err;
    size_t out_len, err_len;
} spawn_result;

/** Whether this system can give the child a pseudo-terminal (a container
 *  without /dev/ptmx cannot); the terminal tests are skipped without one. */
int spawn_pty_available(void);

/** Run @p program. @return 0, or -1 when the child could not be run (the
 *  reason is printed). Free the result with spawn_result_free(). */
int spawn_run(const char *program, const spawn_opts *opts, spawn_result *res);
/** spawn_run() with @p input typed at the terminal that is its stdin
 *  (mode SPAWN_STDIN_TTY, stdout and stderr pipes). */
int spawn_run_typing(const char *program, const spawn_opts *opts, const char *input,
                     spawn_result *res);
void spawn_result_free(spawn_result *res);

#endif
