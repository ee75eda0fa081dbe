/* runsc for one host. Each host has its own runsc --root (<dir>/runsc), so
 * that one host's state is one folder, and its own log (<dir>/runsc.log).
 * Whatever process writes to that log (a `runsc run` or `runsc exec` in
 * flight) or carries that --root on its command line (the sandbox and its
 * gofer) belongs to the host: stopping a host kills those. */
#include "gvisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNSC_CMD_MS 30000
#define STOP_GRACE_MS 2000
#define CGROUP_BUSY_TRIES 250 /* 20 ms apart: 5 s */

typedef struct runsc_paths {
    char *root, *root_flag, *log;
} runsc_paths;

static void paths_free(runsc_paths *p)
{
    free(p->root);
    free(p->root_flag);
    free(p->log);
}

static int paths_of(const char *dir, runsc_paths *p, char *why, size_t why_size)
{
    p->root = local_path(dir, "runsc");
    p->log = local_path(dir, "runsc.log");
    size_t n = strlen(dir) + 16;
    p->root_flag = malloc(n);
    if (p->root_flag) snprintf(p->root_flag, n, "--root=%s/runsc", dir);
    if (p->root && p->log && p->root_flag) return 0;
    paths_free(p);
    snprintf(why, why_size, "out of memory");
    return -1;
}

/* The last line runsc wrote, for a why. */
static void log_tail(const char *log, char *out, size_t size)
{
    char err[64];
    size_t len = 0;
    out[0] = '\0';
    char *text = local_read_file(log, 1 << 20, &len, err, sizeof err);
    if (!text) return;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    char *last = strrchr(text, '\n');
    snprintf(out, size, "%s", last ? last + 1 : text);
    free(text);
}

int gv_runsc_running(const char *dir, const char *id, char *why, size_t why_size)
{
    runsc_paths p;
    if (paths_of(dir, &p, why, why_size) != 0) return 0;
    const char *argv[] = {GV_RUNSC, p.root_flag, "state", id, NULL};
    char out[4096];
    local_run_opts opts = {RUNSC_CMD_MS, (uid_t)-1, (gid_t)-1};
    int rc = local_run(argv, &opts, out, sizeof out, why, why_size);
    int running = rc == 0 && strstr(out, "\"status\": \"running\"") != NULL;
    if (!running && rc >= 0) {
        char *st = strstr(out, "\"status\": \"");
        snprintf(why, why_size, "its sandbox is %.*s", st ? (int)strcspn(st + 11, "\"") : 7,
                 st ? st + 11 : "missing");
    }
    paths_free(&p);
    return running;
}

pid_t gv_runsc_launch(const char *dir, const char *id, char *why, size_t why_size)
{
    runsc_paths p;
    if (paths_of(dir, &p, why, why_size) != 0) return -1;
    pid_t pid = -1;
    /* `run --detach` exits once the sandbox runs (status 0) or could not
     * start; its sandbox and gofer keep its stdout and stderr, so those go
     * to the log and gv_runsc_wait waits for the process, not its output.
     * --cpu-num-from-quota=false (this runsc's default, not newer ones'):
     * the sandbox starts with the machine's CPUs as its quota and gets its
     * own once it runs (spec.c); its CPU count stays the machine's, and the
     * quota bounds the time. */
    const char *argv[] = {GV_RUNSC, p.root_flag, "--network=none", "--cpu-num-from-quota=false",
                          "run",    "--detach",  "--bundle",       dir,
                          id,       NULL};
    if (local_mkdir(p.root, 0700, (uid_t)-1, (gid_t)-1, why, why_size) == 0)
        pid = local_spawn_child(argv, -1, p.log, why, why_size);
    paths_free(&p);
    return pid;
}

int gv_runsc_wait(const char *dir, pid_t runsc_pid, int timeout_ms, char *why, size_t why_size)
{
    char how[128];
    int rc = local_wait_child(runsc_pid, timeout_ms, how, sizeof how);
    if (rc == 0) return 0;
    char tail[200] = "", *log = local_path(dir, "runsc.log");
    if (log) log_tail(log, tail, sizeof tail);
    free(log);
    if (rc > 0) snprintf(how, sizeof how, "exit %d", rc);
    snprintf(why, why_size, "the sandbox did not start (runsc run: %s): %s", how,
             tail[0] ? tail : "runsc said nothing (see runsc.log)");
    return -1;
}

void gv_runsc_forget(pid_t runsc_pid)
{
    char ignored[128];
    if (runsc_pid > 0) local_wait_child(runsc_pid, 0, ignored, sizeof ignored);
}

/* The sandbox's cgroup in every hierarchy (cgroup v1 has one per
 * controller, v2 one), its processes killed. rmdir works once the cgroup
 * is empty; a process just killed may still be leaving it, so a busy one
 * is tried again for a while. 0, or -1 with why (the stop fails, and the
 * reaper tries again later). */
static int remove_cgroup(const char *path, char *why, size_t why_size)
{
    int rc;
    for (int i = 0; (rc = rmdir(path)) != 0 && errno == EBUSY && i < CGROUP_BUSY_TRIES; i++)
        local_sleep_ms(20);
    if (rc == 0 || errno == ENOENT || errno == ENOTDIR) return 0; /* not a hierarchy */
    snprintf(why, why_size, "cannot remove the cgroup %s: %s", path, strerror(errno));
    return -1;
}

static int remove_cgroups(const char *id, char *why, size_t why_size)
{
    DIR *d = opendir("/sys/fs/cgroup");
    struct dirent *e;
    char path[512];
    int rc = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s/" GV_CGROUP_PARENT "/%s", e->d_name, id);
        if (remove_cgroup(path, why, why_size) != 0) rc = -1;
    }
    if (d) closedir(d);
    snprintf(path, sizeof path, "/sys/fs/cgroup/" GV_CGROUP_PARENT "/%s", id);
    if (remove_cgroup(path, why, why_size) != 0) rc = -1;
    return rc;
}

int gv_cgroup_cpu_quota(const char *id, int cpus, char *why, size_t why_size)
{
    char path[512], value[64];
    long long quota = (long long)cpus * GV_CPU_PERIOD_US;
    /* cgroup v2 (one hierarchy: cpu.max), else v1's cpu controller. */
    snprintf(path, sizeof path, "/sys/fs/cgroup/" GV_CGROUP_PARENT "/%s/cpu.max", id);
    snprintf(value, sizeof value, "%lld %d\n", quota, GV_CPU_PERIOD_US);
    if (access(path, F_OK) != 0) {
        snprintf(path, sizeof path, "/sys/fs/cgroup/cpu/" GV_CGROUP_PARENT "/%s/cpu.cfs_quota_us",
                 id);
        snprintf(value, sizeof value, "%lld\n", quota);
    }
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t n = strlen(value);
    ssize_t w = fd >= 0 ? write(fd, value, n) : -1;
    if (w != (ssize_t)n) {
        snprintf(why, why_size, "cannot limit the sandbox's CPU (%s): %s", path,
                 w < 0 ? strerror(errno) : "a short write");
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Kills every process whose command line holds the host's --root flag
 * (runsc-sandbox and runsc-gofer carry it; their stdio is /dev/null, not
 * the log) with everything below it. 0, or -1 with why. */
static int kill_by_root_flag(const runsc_paths *p, char *why, size_t why_size)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int rc = 0;
    while (d && (e = readdir(d)) != NULL) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0 || !local_proc_matches(pid, p->root_flag)) continue;
        /* No grace: a sandbox has nothing to save, and its own shutdown
         * (on SIGTERM) waits for its processes. */
        if (local_proc_kill_host(pid, p->root_flag, p->log, 0, why, why_size) != 0) rc = -1;
    }
    if (d) closedir(d);
    return rc;
}

int gv_runsc_stop(const char *dir, const char *id, char *why, size_t why_size)
{
    runsc_paths p;
    if (paths_of(dir, &p, why, why_size) != 0) return -1;
    /* Not `runsc delete --force`: it waits for the sandbox's process to be
     * gone with kill(pid, 0), every 100 ms, and that process is an orphan
     * (its `runsc run` exited), a zombie until the machine's init reaps it:
     * 1.3-2 s a delete on this project's machines, whose init reaps late.
     * What the delete would do, done here: whatever writes to the host's
     * log (a `runsc run` or `runsc exec` in flight), then the sandbox and
     * gofer (they carry the host's --root), each with every process below
     * it, then the cgroups. runsc's own state is in the host's folder,
     * which goes next (teardown). */
    int rc = local_proc_kill_host(0, p.root_flag, p.log, STOP_GRACE_MS, why, why_size);
    if (rc == 0) rc = kill_by_root_flag(&p, why, why_size);
    if (rc == 0) rc = remove_cgroups(id, why, why_size);
    paths_free(&p);
    return rc;
}
