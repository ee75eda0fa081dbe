/* Finding and ending a host's processes through /proc.
 *
 * A pid from the state is trusted only while its command line still names
 * the host's sshd_config (pids are reused). The processes of a host are its
 * sshd listener, everything below it (one sshd pair per connection, then
 * the shell that execs bwrap, then the sandbox), and, should the listener
 * be gone already, every process whose stderr is still the host's sshd.log:
 * the connection processes inherit it. bwrap runs with --die-with-parent
 * and a pid namespace, so the sandbox dies with its connection. */
#include "local.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static ssize_t read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t have = 0;
    while (have < size - 1) {
        ssize_t r = read(fd, buf + have, size - 1 - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        have += (size_t)r;
    }
    close(fd);
    buf[have] = '\0';
    return (ssize_t)have;
}

/* State letter and parent of pid from /proc/PID/stat; 0 when gone. */
static char proc_stat(pid_t pid, pid_t *ppid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0) return 0;
    char *close_paren = strrchr(buf, ')'); /* comm may hold ") " */
    if (!close_paren || close_paren[1] != ' ' || !close_paren[2]) return 0;
    char state = close_paren[2];
    if (ppid) {
        int pp = 0;
        sscanf(close_paren + 3, " %d", &pp);
        *ppid = (pid_t)pp;
    }
    return state;
}

int local_proc_alive(pid_t pid)
{
    char s = pid > 0 ? proc_stat(pid, NULL) : 0;
    return s && s != 'Z' && s != 'X';
}

int local_proc_matches(pid_t pid, const char *needle)
{
    if (pid <= 1 || !local_proc_alive(pid)) return 0;
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    ssize_t n = read_small(path, buf, sizeof buf);
    if (n <= 0) return 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0') buf[i] = ' ';
    return strstr(buf, needle) != NULL;
}

/* 1 when /proc/PID/fd/2 is log_path (possibly already deleted). */
static int stderr_is(pid_t pid, const char *log_path)
{
    char path[64], target[4096];
    snprintf(path, sizeof path, "/proc/%d/fd/2", (int)pid);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = '\0';
    size_t len = strlen(log_path);
    return strncmp(target, log_path, len) == 0 &&
           (target[len] == '\0' || strcmp(target + len, " (deleted)") == 0);
}

typedef struct proc_entry {
    pid_t pid, ppid;
    int mark;
} proc_entry;

/* Every live process: pid and parent. malloc'd; NULL on failure. */
static proc_entry *proc_list(size_t *count)
{
    DIR *d = opendir("/proc");
    if (!d) return NULL;
    size_t n = 0, cap = 256;
    proc_entry *v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (v && (e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        pid_t pid = (pid_t)atoi(e->d_name), ppid = 0;
        char s = proc_stat(pid, &ppid);
        if (!s || s == 'Z' || s == 'X') continue;
        if (n == cap) {
            proc_entry *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
            cap *= 2;
        }
        v[n].pid = pid;
        v[n].ppid = ppid;
        v[n].mark = 0;
        n++;
    }
    closedir(d);
    *count = n;
    return v;
}

/* Marks the roots (listener, and whoever writes to the host's log) and all
 * their descendants; returns how many are marked. */
static size_t mark_host(proc_entry *v, size_t n, pid_t listener, const char *log_path)
{
    size_t marked = 0;
    for (size_t i = 0; i < n; i++)
        if ((listener > 0 && v[i].pid == listener) || stderr_is(v[i].pid, log_path)) {
            v[i].mark = 1;
            marked++;
        }
    for (int grew = 1; grew;) {
        grew = 0;
        for (size_t i = 0; i < n; i++) {
            if (v[i].mark) continue;
            for (size_t j = 0; j < n; j++)
                if (v[j].mark && v[j].pid == v[i].ppid) {
                    v[i].mark = 1;
                    marked++;
                    grew = 1;
                    break;
                }
        }
    }
    return marked;
}

static int in_list(const pid_t *v, size_t n, pid_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == pid) return 1;
    return 0;
}

int local_proc_kill_host(pid_t pid, const char *needle, const char *log_path, int grace_ms,
                         char *why, size_t why_size)
{
    pid_t listener = local_proc_matches(pid, needle) ? pid : 0;

    /* Freeze first, kill after: a stopped process can neither fork nor
     * exit, so nothing slips out of the tree (a child whose parent died is
     * re-parented to init and no longer looks like ours). Repeat until a
     * look at /proc finds no process of the host that is not stopped. */
    size_t nstopped = 0, cap = 64;
    pid_t *stopped = malloc(cap * sizeof *stopped);
    int rc = 0;
    if (!stopped) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    for (int round = 0; round < 100; round++) {
        size_t n = 0;
        proc_entry *v = proc_list(&n);
        if (!v) {
            snprintf(why, why_size, "cannot list processes in /proc");
            rc = -1;
            break;
        }
        mark_host(v, n, listener, log_path);
        size_t fresh = 0;
        for (size_t i = 0; i < n; i++) {
            if (!v[i].mark || in_list(stopped, nstopped, v[i].pid)) continue;
            if (nstopped == cap) {
                pid_t *nv = realloc(stopped, 2 * cap * sizeof *stopped);
                if (!nv) break;
                stopped = nv;
                cap *= 2;
            }
            kill(v[i].pid, SIGSTOP);
            stopped[nstopped++] = v[i].pid;
            fresh++;
        }
        free(v);
        if (!fresh) break;
        local_sleep_ms(5);
    }
    for (size_t i = 0; i < nstopped; i++)
        if (stopped[i] != listener) kill(stopped[i], SIGKILL);

    if (listener) {
        kill(listener, SIGTERM);
        kill(listener, SIGCONT);
        long long deadline = local_now_ms() + grace_ms;
        while (local_proc_alive(listener) && local_now_ms() < deadline)
            local_sleep_ms(10);
        if (local_proc_alive(listener)) kill(listener, SIGKILL);
    }
    /* Verify: every one of them gone (a zombie counts as gone). */
    long long deadline = local_now_ms() + 5000;
    for (size_t i = 0; i < nstopped; i++) {
        while (local_proc_alive(stopped[i]) && local_now_ms() < deadline)
            local_sleep_ms(10);
        if (local_proc_alive(stopped[i]) && rc == 0) {
            snprintf(why, why_size, "process %d of the host survived SIGKILL", (int)stopped[i]);
            rc = -1;
        }
    }
    free(stopped);
    if (rc != 0) return rc;

    size_t n = 0;
    proc_entry *v = proc_list(&n);
    if (!v) {
        snprintf(why, why_size, "cannot list processes in /proc");
        return -1;
    }
    size_t left = mark_host(v, n, 0, log_path);
    pid_t example = 0;
    for (size_t i = 0; i < n && !example; i++)
        if (v[i].mark) example = v[i].pid;
    free(v);
    if (left) {
        snprintf(why, why_size, "%zu process(es) of the host survived (e.g. pid %d)", left,
                 (int)example);
        return -1;
    }
    return 0;
}
