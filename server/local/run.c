/* Starting programs: fork, then execve with an argv array and a fixed
 * minimal environment. No shell is ever involved, and nothing of the
 * server's environment (tokens in LITTERBOX_SERVER_TOKENS, ...) or its open
 * descriptors reaches a child. Between fork and execve the child only makes
 * async-signal-safe calls: the server forks from worker threads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#endif
#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char *const child_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};

static int max_fd(void)
{
    long n = sysconf(_SC_OPEN_MAX);
    return n < 0 || n > 65536 ? 65536 : (int)n;
}

/* In the child: every descriptor from lowfd up is closed. */
static void close_from(int lowfd, int maxfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0) return;
#endif
    for (int fd = lowfd; fd < maxfd; fd++)
        close(fd);
}

/* In the child: default dispositions and an empty mask, whatever the
 * server's threads had blocked or ignored (sshd must see SIGTERM). */
static void reset_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
}

static void child_write(int fd, const char *msg)
{
    ssize_t r = write(fd, msg, strlen(msg));
    (void)r;
}

int local_run(const char *const argv[], const local_run_opts *opts, char *out, size_t out_size,
              char *why, size_t why_size)
{
    local_run_opts none = {0, (uid_t)-1, (gid_t)-1};
    if (!opts) opts = &none;
    int timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
    if (out_size) out[0] = '\0';

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        snprintf(why, why_size, "pipe: %s", strerror(errno));
        return -1;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        snprintf(why, why_size, "/dev/null: %s", strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    int maxfd = max_fd();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_size, "fork: %s", strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        close(devnull);
        return -1;
    }
    if (pid == 0) {
        reset_signals();
        if (dup2(devnull, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0) _exit(126);
        close_from(3, maxfd);
        if (opts->uid != (uid_t)-1) {
            if (setgroups(0, NULL) != 0 || setgid(opts->gid) != 0 || setuid(opts->uid) != 0 ||
                getuid() != opts->uid) {
                child_write(2, "cannot switch to the sandbox user\n");
                _exit(126);
            }
        }
        execve(argv[0], (char *const *)argv, child_env);
        child_write(2, "cannot execute ");
        child_write(2, argv[0]);
        child_write(2, "\n");
        _exit(127);
    }
    close(pipefd[1]);
    close(devnull);

    size_t have = 0;
    long long deadline = local_now_ms() + timeout_ms;
    int timed_out = 0;
    for (;;) {
        long long left = deadline - local_now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {pipefd[0], POLLIN, 0};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) continue;
        char chunk[1024];
        ssize_t r = read(pipefd[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        size_t take = (size_t)r;
        if (out_size && have + take > out_size - 1) take = out_size - 1 - have;
        if (take) {
            memcpy(out + have, chunk, take);
            have += take;
            out[have] = '\0';
        }
    }
    close(pipefd[0]);
    if (timed_out) kill(pid, SIGKILL);

    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        snprintf(why, why_size, "%s did not finish within %d ms", argv[0], timeout_ms);
        return -1;
    }
    if (w < 0) {
        /* SIGCHLD ignored by the process: the status is gone. */
        return errno == ECHILD ? 0 : -1;
    }
    if (WIFSIGNALED(status)) {
        snprintf(why, why_size, "%s died of signal %d", argv[0], WTERMSIG(status));
        return -1;
    }
    return WEXITSTATUS(status);
}

/* In the child: stdin from in, stdout and stderr to logfd, nothing else
 * open, then argv[0]. Never returns. */
static void exec_logged(const char *const argv[], int in, int logfd, int maxfd)
{
    if (dup2(in, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) _exit(126);
    close_from(3, maxfd);
    execve(argv[0], (char *const *)argv, child_env);
    child_write(2, "litterbox-server: cannot execute ");
    child_write(2, argv[0]);
    child_write(2, "\n");
    _exit(127);
}

/* What the intermediate child reports: the pid of the program, or where
 * it failed. */
typedef struct spawn_report {
    pid_t pid;
    int err;
    int stage; /* 0 ok, 1 setsid, 2 unshare, 3 mount private, 4 bind, 5 remount, 6 fork */
} spawn_report;

static const char *const stage_names[] = {
    "",    "setsid", "unshare(CLONE_NEWNS)", "making / private", "bind mount", "remount nosuid",
    "fork"};

pid_t local_spawn_detached(const char *const argv[], const char *log_path, const char *bind_src,
                           const char *bind_dst, char *why, size_t why_size)
{
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (logfd < 0) {
        snprintf(why, why_size, "cannot open %s: %s", log_path, strerror(errno));
        return -1;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int pipefd[2];
    if (devnull < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
        snprintf(why, why_size, "cannot prepare a child: %s", strerror(errno));
        close(logfd);
        if (devnull >= 0) close(devnull);
        return -1;
    }
    int maxfd = max_fd();
    pid_t mid = fork();
    if (mid < 0) {
        snprintf(why, why_size, "fork: %s", strerror(errno));
        close(logfd);
        close(devnull);
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (mid == 0) {
        spawn_report rep = {0, 0, 0};
        reset_signals();
        if (setsid() < 0)
            rep.stage = 1;
        else if (bind_src) {
            if (unshare(CLONE_NEWNS) != 0)
                rep.stage = 2;
            else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
                rep.stage = 3;
            else if (mount(bind_src, bind_dst, NULL, MS_BIND, NULL) != 0)
                rep.stage = 4;
            else if (mount(NULL, bind_dst, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV,
                           NULL) != 0)
                rep.stage = 5;
        }
        if (rep.stage == 0) {
            pid_t pid = fork();
            if (pid == 0) exec_logged(argv, devnull, logfd, maxfd);
            if (pid < 0) rep.stage = 6;
            rep.pid = pid;
        }
        if (rep.stage) rep.err = errno;
        ssize_t w = write(pipefd[1], &rep, sizeof rep);
        (void)w;
        _exit(rep.stage ? 1 : 0);
    }
    close(pipefd[1]);
    close(logfd);
    close(devnull);
    spawn_report rep;
    ssize_t r;
    while ((r = read(pipefd[0], &rep, sizeof rep)) < 0 && errno == EINTR)
        ;
    close(pipefd[0]);
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (r != (ssize_t)sizeof rep) {
        snprintf(why, why_size, "the child that starts %s vanished", argv[0]);
        return -1;
    }
    if (rep.stage) {
        snprintf(why, why_size, "cannot start %s: %s: %s", argv[0], stage_names[rep.stage],
                 strerror(rep.err));
        return -1;
    }
    return rep.pid;
}

pid_t local_spawn_child(const char *const argv[], int stdin_fd, const char *log_path, char *why,
                        size_t why_size)
{
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    int in = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = -1;
    if (logfd < 0 || in < 0) {
        snprintf(why, why_size, "cannot prepare %s: %s", logfd < 0 ? log_path : "/dev/null",
                 strerror(errno));
        goto out;
    }
    int maxfd = max_fd();
    pid = fork();
    if (pid < 0) {
        snprintf(why, why_size, "fork: %s", strerror(errno));
    } else if (pid == 0) {
        reset_signals();
        if (setsid() < 0) _exit(126);
        exec_logged(argv, in, logfd, maxfd);
    }
out:
    if (logfd >= 0) close(logfd);
    if (in >= 0 && in != stdin_fd) close(in);
    return pid;
}

int local_wait_child(pid_t pid, int timeout_ms, char *why, size_t why_size)
{
    long long deadline = local_now_ms() + timeout_ms;
    int pidfd = -1;
#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    int status = 0;
    pid_t w;
    for (;;) {
        while ((w = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR)
            ;
        if (w != 0) break;
        long long left = deadline - local_now_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
            if (pidfd >= 0) close(pidfd);
            snprintf(why, why_size, "did not finish within %d ms (killed)", timeout_ms);
            return -1;
        }
        /* The pidfd is readable once the child has exited; without one
         * (an old kernel), a short sleep. */
        struct pollfd p = {pidfd, POLLIN, 0};
        if (pidfd < 0 || poll(&p, 1, (int)left) < 0) local_sleep_ms(left < 5 ? (int)left : 5);
    }
    int err = errno;
    if (pidfd >= 0) close(pidfd);
    if (w < 0) {
        snprintf(why, why_size, "its status is lost: %s", strerror(err));
        return -1;
    }
    if (WIFSIGNALED(status)) {
        snprintf(why, why_size, "died of signal %d", WTERMSIG(status));
        return -1;
    }
    return WEXITSTATUS(status);
}

int local_can_unshare_mounts(void)
{
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) _exit(unshare(CLONE_NEWNS) == 0 ? 0 : 1);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return errno == ECHILD; /* SIGCHLD ignored: unknown */
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
