/* posix_spawn with captured stdout and stderr, either of which may be a
 * pseudo-terminal so that the program's terminal-only behaviour (colour,
 * the progress line) can be seen. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

typedef struct sink {
    int fd; /* -1 once closed */
    char *buf;
    size_t len, cap;
} sink;

static int sink_read(sink *s)
{
    if (s->len + 4096 + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8192;
        while (cap < s->len + 4096 + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b) return -1;
        s->buf = b;
        s->cap = cap;
    }
    ssize_t n = read(s->fd, s->buf + s->len, 4096);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
    if (n <= 0) { /* EOF; EIO is how a pty master says the slave is gone */
        close(s->fd);
        s->fd = -1;
        return 0;
    }
    s->len += (size_t)n;
    return 0;
}

static int cloexec_pipe(int fds[2])
{
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/** A pseudo-terminal in raw mode (no \n -> \r\n), so the bytes the program
 *  writes are the bytes read. */
static int open_pty(int *master, int *slave)
{
    *slave = -1;
    *master = posix_openpt(O_RDWR | O_NOCTTY);
    if (*master < 0) return -1;
    fcntl(*master, F_SETFD, FD_CLOEXEC);
    const char *name = grantpt(*master) == 0 && unlockpt(*master) == 0 ? ptsname(*master) : NULL;
    *slave = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
    if (*slave < 0) {
        close(*master);
        *master = -1;
        return -1;
    }
    struct termios t;
    if (tcgetattr(*slave, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(*slave, TCSANOW, &t);
    }
    return 0;
}

int spawn_pty_available(void)
{
    int master, slave = -1;
    int ok = open_pty(&master, &slave) == 0;
    if (master >= 0) close(master);
    if (slave >= 0) close(slave);
    return ok;
}

static int spawn_with(const char *program, const spawn_opts *opts, const char *input,
                      spawn_result *res)
{
    memset(res, 0, sizeof *res);
    res->status = -1;
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, master = -1, slave = -1;
    int tty = opts->mode & (SPAWN_STDOUT_TTY | SPAWN_STDERR_TTY | SPAWN_STDIN_TTY);
    if ((tty && open_pty(&master, &slave) != 0) ||
        (!(opts->mode & SPAWN_STDOUT_TTY) && cloexec_pipe(out_pipe) != 0) ||
        (!(opts->mode & SPAWN_STDERR_TTY) && cloexec_pipe(err_pipe) != 0)) {
        perror("spawn: pty/pipe");
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (opts->mode & SPAWN_STDIN_TTY)
        posix_spawn_file_actions_adddup2(&fa, slave, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, opts->mode & SPAWN_STDOUT_TTY ? slave : out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, opts->mode & SPAWN_STDERR_TTY ? slave : err_pipe[1], 2);

    size_t argc = 0;
    while (opts->argv[argc])
        argc++;
    char **argv = calloc(argc + 2, sizeof *argv);
    argv[0] = (char *)program;
    for (size_t i = 0; i < argc; i++)
        argv[i + 1] = (char *)opts->argv[i];

    pid_t pid;
    int rc = posix_spawn(&pid, program, &fa, NULL, argv, (char *const *)opts->env);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    if (slave >= 0) close(slave);
    if (out_pipe[1] >= 0) close(out_pipe[1]);
    if (err_pipe[1] >= 0) close(err_pipe[1]);
    sink out = {opts->mode & SPAWN_STDOUT_TTY ? master : out_pipe[0], NULL, 0, 0};
    sink err = {opts->mode & SPAWN_STDERR_TTY ? master : err_pipe[0], NULL, 0, 0};
    if (rc != 0) {
        fprintf(stderr, "spawn: %s: %s\n", program, strerror(rc));
        if (out.fd >= 0) close(out.fd);
        if (err.fd >= 0) close(err.fd);
        if (master >= 0 && !(opts->mode & (SPAWN_STDOUT_TTY | SPAWN_STDERR_TTY))) close(master);
        return -1;
    }
    if (opts->on_started) opts->on_started(pid, opts->data);
    /* What a person types: the terminal holds it until the program reads. */
    if (input && master >= 0 && write(master, input, strlen(input)) < 0)
        perror("spawn: terminal input");

    long long deadline = now_ms() + (opts->timeout_ms ? opts->timeout_ms : 60000);
    int killed = 0;
    while (out.fd >= 0 || err.fd >= 0) {
        struct pollfd p[2];
        int n = 0;
        sink *which[2];
        if (out.fd >= 0) {
            p[n] = (struct pollfd){out.fd, POLLIN, 0};
            which[n++] = &out;
        }
        if (err.fd >= 0) {
            p[n] = (struct pollfd){err.fd, POLLIN, 0};
            which[n++] = &err;
        }
        long long left = deadline - now_ms();
        if (left <= 0) {
            if (!killed) {
                fprintf(stderr, "spawn: %s timed out; killing it\n", program);
                kill(pid, SIGKILL);
                killed = 1;
                deadline = now_ms() + 5000;
                continue;
            }
            break;
        }
        int ready = poll(p, (nfds_t)n, (int)left);
        if (ready < 0 && errno != EINTR) break;
        for (int i = 0; i < n && ready > 0; i++)
            if (p[i].revents) sink_read(which[i]);
    }
    if (out.fd >= 0) close(out.fd);
    if (err.fd >= 0) close(err.fd);
    /* A terminal that was only stdin is no sink: close it here. */
    int master_is_input_only = !(opts->mode & (SPAWN_STDOUT_TTY | SPAWN_STDERR_TTY));
    if (master >= 0 && master_is_input_only) close(master);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    res->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
    res->out = out.buf ? out.buf : calloc(1, 1);
    res->err = err.buf ? err.buf : calloc(1, 1);
    res->out_len = out.len;
    res->err_len = err.len;
    res->out[res->out_len] = '\0';
    res->err[res->err_len] = '\0';
    return 0;
}

int spawn_run(const char *program, const spawn_opts *opts, spawn_result *res)
{
    return spawn_with(program, opts, NULL, res);
}

int spawn_run_typing(const char *program, const spawn_opts *opts, const char *input,
                     spawn_result *res)
{
    return spawn_with(program, opts, input, res);
}

void spawn_result_free(spawn_result *res)
{
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}
