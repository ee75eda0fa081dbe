/* litterbox-gvisor-session: what the host's sshd runs for every session
 * (its ForceCommand, as `litterbox-gvisor-session HOST_DIR`). It enters
 * the host's sandbox with `runsc exec`: the client's command (or a login
 * shell), sftp and scp all run inside, as root of the host, with the host's
 * limits and its env.
 *
 * The env is read from HOST_DIR/env (NUL-separated, 0600) and handed to
 * runsc inside the process spec, through a memfd: never a shell's parsing,
 * an argv or a file anyone else may read. The client's command travels as
 * one argument of `bash -c` inside the sandbox, as sshd would run it. */
#define _GNU_SOURCE
#include "gvisor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ENV_MAX (1 << 20)

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "litterbox: this host cannot start a session: %s%s%s\n", what,
            detail ? ": " : "", detail ? detail : "");
    return 1;
}

/* One "key value" line of session.conf; malloc'd, or NULL. */
static char *conf_value(const char *conf, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = conf; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return strndup(line + klen + 1, len - klen - 1);
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

/* Adds entry ("K=V") unless the host's env sets K. */
static size_t add_default(const char **env, size_t n, const char *entry, const char *host_env,
                          size_t host_len)
{
    size_t klen = strcspn(entry, "=");
    for (size_t at = 0; at < host_len; at += strlen(host_env + at) + 1)
        if (strncmp(host_env + at, entry, klen + 1) == 0) return n;
    env[n] = entry;
    return n + 1;
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] != '/') return fail("usage", "litterbox-gvisor-session HOST_DIR");
    const char *dir = argv[1];
    char why[256];
    char *conf_path = local_path(dir, "session.conf"), *env_path = local_path(dir, "env");
    if (!conf_path || !env_path) return fail("out of memory", NULL);
    char *conf = local_read_file(conf_path, 65536, NULL, why, sizeof why);
    if (!conf) return fail("session.conf", why);
    size_t host_len = 0;
    char *host_env = local_read_file(env_path, ENV_MAX, &host_len, why, sizeof why);
    if (!host_env) return fail("env", why);
    char *id = conf_value(conf, "id"), *root = conf_value(conf, "runsc_root");
    char *memory = conf_value(conf, "memory_bytes"), *nproc = conf_value(conf, "nproc");
    if (!id || !root || !memory || !nproc) return fail("session.conf is incomplete", NULL);

    /* sshd's own variables first, then the host's env (which wins). */
    size_t n_host = 0;
    for (size_t at = 0; at < host_len; at += strlen(host_env + at) + 1)
        n_host++;
    const char **env = calloc(n_host + 8, sizeof *env);
    if (!env) return fail("out of memory", NULL);
    size_t n = 0;
    static const char *const defaults[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
        "USER=root", "LOGNAME=root", "SHELL=" GV_SHELL};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        n = add_default(env, n, defaults[i], host_env, host_len);
    char term[128];
    const char *t = getenv("TERM");
    if (t && strlen(t) < 100) {
        snprintf(term, sizeof term, "TERM=%s", t);
        n = add_default(env, n, term, host_env, host_len);
    }
    for (size_t at = 0; at < host_len; at += strlen(host_env + at) + 1)
        env[n++] = host_env + at;

    const char *command = getenv("SSH_ORIGINAL_COMMAND");
    const char *shell_args[3] = {GV_SHELL, "-c", command};
    const char *login_args[2] = {GV_SHELL, "-l"};
    gv_process proc = {command ? shell_args : login_args,
                       command ? 3 : 2,
                       env,
                       n,
                       isatty(STDIN_FILENO),
                       {strtoll(memory, NULL, 10), strtoll(nproc, NULL, 10)}};
    sbuf json = {0};
    gv_process_json(&json, &proc);
    if (json.failed) return fail("out of memory", NULL);

    int fd = memfd_create("litterbox-session", MFD_CLOEXEC);
    if (fd < 0) return fail("memfd_create", strerror(errno));
    for (size_t off = 0; off < json.len;) {
        ssize_t w = write(fd, json.data + off, json.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return fail("memfd", strerror(errno));
        off += (size_t)w;
    }
    sbuf_wipe(&json);
    local_wipe(host_env, host_len);
    /* runsc opens the spec by path: the memfd, kept open across exec. */
    int keep = dup(fd);
    if (keep < 0) return fail("dup", strerror(errno));
    char spec_path[64], root_flag[4200];
    snprintf(spec_path, sizeof spec_path, "/proc/self/fd/%d", keep);
    snprintf(root_flag, sizeof root_flag, "--root=%s", root);
    char *const run[] = {GV_RUNSC, root_flag, "exec", "--process", spec_path, id, NULL};
    execv(GV_RUNSC, run);
    return fail("cannot run " GV_RUNSC, strerror(errno));
}
