/* The gvisor tests' shared pieces (gvisor_hosts.h). */
#include "gvisor_hosts.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *gv_images_dir(void)
{
    return GVISOR_IMAGES;
}

const char *gv_cannot_run(void)
{
    static char why[512];
    if (geteuid() != 0) return "the gvisor provider needs root";
    if (access("/usr/bin/runsc", X_OK) != 0)
        return "runsc is not installed (apt-get install runsc)";
    /* A sandbox must start here at all (a container without ptrace, say,
     * cannot run one). */
    const char *try_argv[] = {"--network=none", "do", "true", NULL};
    const char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    spawn_opts o = {try_argv, env, SPAWN_PIPES, NULL, NULL, 60000};
    spawn_result r;
    if (spawn_run("/usr/bin/runsc", &o, &r) != 0) return "runsc could not be run";
    if (r.status != 0) {
        snprintf(why, sizeof why, "runsc cannot start a sandbox here: %.300s",
                 r.err && r.err[0] ? r.err : "no message");
        for (char *c = why; *c; c++)
            if (*c == '\n') *c = ' ';
        spawn_result_free(&r);
        return why;
    }
    spawn_result_free(&r);
    snprintf(why, sizeof why, "%s/debian-12/ready", gv_images_dir());
    if (access(why, F_OK) != 0) {
        snprintf(why, sizeof why,
                 "the image is not built in %s (scripts/gvisor-image.sh could not build it)",
                 gv_images_dir());
        return why;
    }
    return NULL;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

int gv_host_from(const server *s, const lb_host *h, const char *label, gv_host *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", h->id);
    snprintf(out->name, sizeof out->name, "%s", h->name);
    snprintf(out->user, sizeof out->user, "%s", h->ssh_username);
    out->port = h->ssh_port;
    snprintf(out->key_path, sizeof out->key_path, "%s/%s.key", s->dir, label);
    snprintf(out->kh_path, sizeof out->kh_path, "%s/%s.known_hosts", s->dir, label);
    char kh[1024];
    snprintf(kh, sizeof kh, "%s\n", h->known_hosts);
    if (!h->private_key || write_file(out->key_path, h->private_key) != 0) return -1;
    return write_file(out->kh_path, kh);
}

/* The options every ssh, scp and sftp here gets. */
#define CONN_OPTS(khopt, key)                                                                      \
    "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", khopt,      \
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-i", key, "-o",       \
        "ConnectTimeout=30", "-o", "LogLevel=ERROR"

int gv_ssh_opt(const server *s, const gv_host *h, const char *option, const char *command,
               spawn_result *res)
{
    char port[16], khopt[500], home[300];
    snprintf(port, sizeof port, "%d", h->port);
    snprintf(khopt, sizeof khopt, "UserKnownHostsFile=%s", h->kh_path);
    snprintf(home, sizeof home, "HOME=%s", s->dir);
    const char *argv[] = {
        CONN_OPTS(khopt, h->key_path),     "-p",        port,    "-l", h->user, "-o",
        option ? option : "ForwardX11=no", "127.0.0.1", command, NULL};
    const char *env[] = {"PATH=/usr/bin:/bin", home, NULL};
    spawn_opts o = {argv, env, SPAWN_PIPES, NULL, NULL, 120000};
    return spawn_run("/usr/bin/ssh", &o, res);
}

int gv_ssh(const server *s, const gv_host *h, const char *command, spawn_result *res)
{
    return gv_ssh_opt(s, h, NULL, command, res);
}

char *gv_ssh_out(const server *s, const gv_host *h, const char *command, int *status)
{
    spawn_result r;
    if (gv_ssh(s, h, command, &r) != 0) {
        *status = -1;
        return strdup("");
    }
    *status = r.status;
    if (r.status != 0)
        fprintf(stderr, "ssh '%.80s': status %d, stderr: %.300s\n", command, r.status, r.err);
    char *out = r.out;
    r.out = NULL;
    spawn_result_free(&r);
    return out ? out : strdup("");
}

int gv_copy(const server *s, const gv_host *h, const char *program, const char *const *args,
            const char *stdin_text)
{
    char port[16], khopt[500], home[300], target[128], batch[400];
    snprintf(port, sizeof port, "%d", h->port);
    snprintf(khopt, sizeof khopt, "UserKnownHostsFile=%s", h->kh_path);
    snprintf(home, sizeof home, "HOME=%s", s->dir);
    snprintf(target, sizeof target, "%s@127.0.0.1", h->user);
    const char *argv[40] = {CONN_OPTS(khopt, h->key_path), "-P", port};
    size_t n = 0;
    while (argv[n])
        n++;
    if (stdin_text) { /* sftp: the commands come from a batch file */
        snprintf(batch, sizeof batch, "%s/sftp.batch", s->dir);
        if (write_file(batch, stdin_text) != 0) return -1;
        argv[n++] = "-b";
        argv[n++] = batch;
        argv[n++] = target;
    }
    for (size_t i = 0; args[i] && n < 38; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    const char *env[] = {"PATH=/usr/bin:/bin", home, NULL};
    spawn_opts o = {argv, env, SPAWN_PIPES, NULL, NULL, 120000};
    spawn_result r;
    if (spawn_run(program, &o, &r) != 0) return -1;
    int st = r.status;
    if (st != 0) fprintf(stderr, "%s: status %d: %.300s\n", program, st, r.err);
    spawn_result_free(&r);
    return st;
}

/* 1 when the file (read whole, up to 4 MiB) holds needle. */
static int file_mentions(const char *path, const char *needle, int nul_separated)
{
    size_t cap = 4 << 20, n = 0;
    char *buf = malloc(cap);
    int fd = buf ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        free(buf);
        return 0;
    }
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    for (size_t i = 0; nul_separated && i < n; i++)
        if (buf[i] == '\0') buf[i] = ' ';
    buf[n] = '\0';
    int found = strstr(buf, needle) != NULL;
    free(buf);
    return found;
}

int gv_leftovers(const char *state_dir, const char *id)
{
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/gvisor/%s", state_dir, id);
    char real[4096];
    if (realpath(state_dir, real)) snprintf(dir, sizeof dir, "%s/gvisor/%s", real, id);
    int left = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[300], target[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int ours = file_mentions(path, dir, 1);
        snprintf(path, sizeof path, "/proc/%s/fd/2", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            ours |= strncmp(target, dir, strlen(dir)) == 0;
        }
        if (ours) {
            fprintf(stderr, "left behind: process %s\n", e->d_name);
            left++;
        }
    }
    if (d) closedir(d);
    if (file_mentions("/proc/self/mountinfo", dir, 0)) {
        fprintf(stderr, "left behind: a mount in %s\n", dir);
        left++;
    }
    d = opendir("/sys/block");
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "loop", 4) != 0) continue;
        char path[300];
        snprintf(path, sizeof path, "/sys/block/%s/loop/backing_file", e->d_name);
        if (file_mentions(path, dir, 0)) {
            fprintf(stderr, "left behind: %s\n", e->d_name);
            left++;
        }
    }
    if (d) closedir(d);
    struct stat st;
    char v2[600];
    snprintf(v2, sizeof v2, "/sys/fs/cgroup/litterbox-gvisor/%s", id);
    if (lstat(v2, &st) == 0) {
        fprintf(stderr, "left behind: cgroup %s\n", v2);
        left++;
    }
    d = opendir("/sys/fs/cgroup");
    while (d && (e = readdir(d)) != NULL) {
        char path[600];
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s/litterbox-gvisor/%s", e->d_name, id);
        if (e->d_name[0] != '.' && lstat(path, &st) == 0) {
            fprintf(stderr, "left behind: cgroup %s\n", path);
            left++;
        }
    }
    if (d) closedir(d);
    if (lstat(dir, &st) == 0) {
        fprintf(stderr, "left behind: %s\n", dir);
        left++;
    }
    return left;
}

lb_host *gv_create(lb_client *c, const char *const *env, const char *instance_type,
                   long long disk_gb)
{
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    o.env = env;
    o.instance_type = instance_type;
    o.disk_gb = disk_gb;
    lb_host *h = NULL;
    lb_error err;
    if (lb_create_host(c, &o, &h, &err) != LB_OK) {
        fprintf(stderr, "create: %s: %s\n", lb_code_name(err.code), err.message);
        return NULL;
    }
    return h;
}
