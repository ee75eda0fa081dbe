/* The `gvisor` provider: each host is one long-lived gVisor sandbox
 * (runsc) with its own kernel, init and process tree, no network beyond its
 * own loopback, the host's limits, and a writable layer of disk_gb over a
 * shared read-only Debian 12 image (scripts/gvisor-image.sh builds it).
 *
 * SSH: the host's sshd runs outside the sandbox, on 127.0.0.1 (the local
 * provider's sshd pieces, with a fresh ed25519 host key and user key per
 * host); its ForceCommand, litterbox-gvisor-session, puts every session
 * inside the sandbox with `runsc exec`. sshd inside the sandbox, behind a
 * forwarder, was measured too and is slower by seconds: under runsc's
 * ptrace platform each of sshd's execs and syscalls costs, and a login
 * took 2.6-3.2 s against 0.3-0.4 s this way (docs/gvisor.md).
 *
 * Root only: runsc, loop devices and mounts need it. Hosts outlive the
 * server; the state ({"pid":..,"port":..,"dir":..}) finds the sshd again,
 * and the host's folder finds everything else, even with no state (a
 * create the server did not see finish). See gvisor/gvisor.h for the
 * folder's layout.
 *
 * With --warm-pool N, up to N sandboxes of the default size and image wait
 * started (gvisor/pool.c refills them); a create that asks for exactly that
 * takes one and only adds what is the host's own: env, keys, hostname,
 * sshd. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include "provider.h"
#include "gvisor/gvisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SANDBOX_START_MS 30000
#define SSHD_READY_MS 20000
#define STOP_GRACE_MS 3000

typedef struct gvisor_data {
    char *hosts_dir;       /* <state_dir>/gvisor */
    char *images_dir;      /* --gvisor-images */
    char *session_program; /* litterbox-gvisor-session, next to the server */
    gv_pool *pool;         /* NULL: no --warm-pool */
    /* The start gate: at most one sandbox start per CPU at once. */
    pthread_mutex_t lock;
    pthread_cond_t start_done;
    int starts_left;
} gvisor_data;

static gvisor_data *data_of(provider *p)
{
    return p->data;
}

/* A sandbox start (`runsc run`) keeps about a CPU busy for a third of a
 * second, in several threads and processes that the ptrace platform
 * switches between all the time. Started all at once, twenty creates on
 * two CPUs share the CPUs until nearly all are done; taking turns, one
 * start per CPU, the first host is ready in 2.1-2.6 s instead of
 * 3.4-4.7 s, the median in 7.3 s instead of 11.2 s, and the twenty take
 * 7% less time and 8% less CPU in all (bench/gvisor.sh's T6, measured
 * alternately). So a start waits for its turn; the rest of a create (keys,
 * sshd) runs while its sandbox starts. */
static void start_begin(gvisor_data *d)
{
    pthread_mutex_lock(&d->lock);
    while (d->starts_left <= 0)
        pthread_cond_wait(&d->start_done, &d->lock);
    d->starts_left--;
    pthread_mutex_unlock(&d->lock);
}

static void start_end(gvisor_data *d)
{
    pthread_mutex_lock(&d->lock);
    d->starts_left++;
    pthread_cond_signal(&d->start_done);
    pthread_mutex_unlock(&d->lock);
}

/* A sandbox start in flight: while its runsc is not reaped, it holds a
 * turn at the gate. */
typedef struct sandbox_start {
    gvisor_data *d;
    pid_t runsc; /* -1: none, or reaped (and the turn given back) */
} sandbox_start;

/* Waits for a turn, then launches the sandbox of dir. 0, or -1 with why
 * (then the turn is given back). */
static int start_launch(sandbox_start *st, const char *dir, const char *id, char *why,
                        size_t why_size)
{
    start_begin(st->d);
    st->runsc = gv_runsc_launch(dir, id, why, why_size);
    if (st->runsc >= 0) return 0;
    start_end(st->d);
    return -1;
}

/* Waits for the sandbox to run, gives the turn back, then puts the
 * host's CPU quota on it. 0, or -1 with why. */
static int start_finish(sandbox_start *st, const char *dir, const char *id, int cpus, char *why,
                        size_t why_size)
{
    int rc = gv_runsc_wait(dir, st->runsc, SANDBOX_START_MS, why, why_size);
    st->runsc = -1;
    start_end(st->d);
    return rc == 0 ? gv_cgroup_cpu_quota(id, cpus, why, why_size) : -1;
}

/* On a create's way out, after its teardown: reaps what start_launch
 * began and gives the turn back. */
static void start_abandon(sandbox_start *st)
{
    if (st->runsc < 0) return;
    gv_runsc_forget(st->runsc);
    st->runsc = -1;
    start_end(st->d);
}

/* Host ids come from the server (UUIDs); anything else never becomes a
 * path or a runsc container id. */
static int id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF-", id[i])) return 0;
    return 1;
}

/* The image's root folder, resolved (a host keeps the image it was made
 * from, even when the image is rebuilt later). malloc'd, or NULL with why
 * and the command that builds it. */
static char *image_rootfs(gvisor_data *d, char *why, size_t why_size)
{
    char *link = local_path(d->images_dir, GV_IMAGE);
    char *ready = NULL, *rootfs = NULL, *resolved = NULL;
    if (link) resolved = realpath(link, NULL);
    if (resolved) ready = local_path(resolved, "ready");
    if (resolved) rootfs = local_path(resolved, "rootfs");
    if (!ready || !rootfs || access(ready, F_OK) != 0 || !local_plain_path(rootfs)) {
        snprintf(why, why_size,
                 "the image " GV_IMAGE " is not built in %s: run 'sudo bash "
                 "scripts/gvisor-image.sh %s' (once; a few minutes)",
                 d->images_dir, d->images_dir);
        free(rootfs);
        rootfs = NULL;
    }
    free(link);
    free(ready);
    free(resolved);
    return rootfs;
}

/* What every create needs; the why says which command fixes it. */
static int prerequisites(gvisor_data *d, char *why, size_t why_size)
{
    if (geteuid() != 0) {
        snprintf(why, why_size,
                 "the gvisor provider needs root (runsc, loop devices and mounts): run "
                 "litterbox-server as root");
        return -1;
    }
    if (access(GV_RUNSC, X_OK) != 0) {
        snprintf(why, why_size, "%s is missing: apt-get install runsc", GV_RUNSC);
        return -1;
    }
    if (access(LOCAL_SSHD, X_OK) != 0 || access(LOCAL_SSH_KEYGEN, X_OK) != 0) {
        snprintf(why, why_size, "sshd or ssh-keygen is missing: apt-get install openssh-server");
        return -1;
    }
    if (access(GV_MKFS, X_OK) != 0 || access(GV_MOUNT, X_OK) != 0) {
        snprintf(why, why_size, "%s or %s is missing: apt-get install e2fsprogs mount", GV_MKFS,
                 GV_MOUNT);
        return -1;
    }
    if (!d->session_program) {
        snprintf(why, why_size,
                 GV_SESSION_PROGRAM " is not next to litterbox-server (build it: cmake --build "
                                    "BUILD --target litterbox_gvisor_session)");
        return -1;
    }
    if (mkdir("/run/sshd", 0755) != 0 && errno != EEXIST) {
        snprintf(why, why_size, "cannot create /run/sshd: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void shown_text(const char *s, char *out, size_t size)
{
    size_t i = 0;
    for (; *s && i < size - 4; s++)
        out[i++] = (*s >= 0x20 && *s < 0x7f && *s != '"') ? *s : '?';
    snprintf(out + i, size - i, "%s", *s ? "..." : "");
}

static int gvisor_check(provider *p, const host_spec *spec, char *detail, size_t detail_size)
{
    (void)p;
    char shown[64];
    if (!gv_image_known(spec->image)) {
        shown_text(spec->image, shown, sizeof shown);
        snprintf(detail, detail_size,
                 "image \"%s\" is not available on the gvisor provider: its one image is "
                 "\"" GV_IMAGE "\" (omit image to use it)",
                 shown);
        return -1;
    }
    if (!gv_size_find(spec->instance_type)) {
        shown_text(spec->instance_type, shown, sizeof shown);
        snprintf(detail, detail_size,
                 "instance_type \"%s\" is not offered by the gvisor provider: it has %s", shown,
                 gv_size_names());
        return -1;
    }
    if (spec->disk_gb < 0 || spec->disk_gb > GV_DISK_MAX_GB) {
        snprintf(detail, detail_size,
                 "disk_gb %lld is more than the gvisor provider gives a host (1 to %d)",
                 spec->disk_gb, GV_DISK_MAX_GB);
        return -1;
    }
    return 0;
}

static long long state_number(const char *state, const char *key)
{
    if (!state) return 0;
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(state, pat);
    return at ? strtoll(at + strlen(pat), NULL, 10) : 0;
}

/* Stops the sshd, the sandbox and every process of the host, unmounts its
 * layer and removes its folder. The folder goes only once nothing is
 * mounted in it. */
static int teardown(const char *dir, const char *id, pid_t sshd_pid, char *why, size_t why_size)
{
    struct stat st;
    if (lstat(dir, &st) != 0 && errno == ENOENT) return 0;
    char *needle = local_sshd_needle(dir);
    char *log = local_path(dir, "sshd.log");
    int rc = -1;
    if (!needle || !log) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    if (local_proc_kill_host(sshd_pid, needle, log, STOP_GRACE_MS, why, why_size) != 0 ||
        gv_runsc_stop(dir, id, why, why_size) != 0 || gv_layer_remove(dir, why, why_size) != 0)
        goto out;
    rc = local_remove_tree(dir, why, why_size);
out:
    free(needle);
    free(log);
    return rc;
}

/* The host's env as NUL-separated KEY=VALUE entries, readable by root
 * only. */
static int write_env(const char *dir, const host_spec *spec, char *why, size_t why_size)
{
    sbuf b = {0};
    for (size_t i = 0; i < spec->env_count; i++) {
        if (!local_env_key_ok(spec->env_keys[i])) {
            snprintf(why, why_size, "env key %zu is not a plain name", i);
            sbuf_wipe(&b);
            return -1;
        }
        sbuf_adds(&b, spec->env_keys[i]);
        sbuf_adds(&b, "=");
        sbuf_arg(&b, spec->env_values[i]);
    }
    char *path = local_path(dir, "env");
    int rc = -1;
    if (!path || b.failed)
        snprintf(why, why_size, "out of memory");
    else
        rc = local_write_file(path, b.data ? b.data : "", b.len, 0600, why, why_size);
    free(path);
    sbuf_wipe(&b);
    return rc;
}

static int write_buf(const char *dir, const char *name, sbuf *b, char *why, size_t why_size)
{
    char *path = local_path(dir, name);
    int rc = -1;
    if (!path || b->failed)
        snprintf(why, why_size, "out of memory");
    else
        rc = local_write_file(path, b->data, b->len, 0600, why, why_size);
    free(path);
    sbuf_wipe(b);
    return rc;
}

/* config.json (the sandbox) and session.conf (its sessions). */
static int write_specs(const char *dir, const host_spec *spec, const gv_size *size, char *why,
                       size_t why_size)
{
    char *rootfs = local_path(dir, "rootfs");
    char cgroup[128];
    snprintf(cgroup, sizeof cgroup, "/" GV_CGROUP_PARENT "/%s", spec->id);
    gv_limits limits = {size->memory_mib << 20, size->pids};
    gv_sandbox sb = {rootfs ? rootfs : "",
                     spec->name,
                     cgroup,
                     size->cpus,
                     (size->memory_mib + GV_SANDBOX_OVERHEAD_MIB) << 20,
                     limits};
    sbuf config = {0}, conf = {0};
    gv_config_json(&config, &sb);
    sbuf_addf(&conf, "id %s\nrunsc_root %s/runsc\nmemory_bytes %lld\nnproc %lld\n", spec->id, dir,
              limits.memory_bytes, limits.nproc);
    int rc = -1;
    if (!rootfs) {
        snprintf(why, why_size, "out of memory");
        sbuf_wipe(&config);
        sbuf_wipe(&conf);
    } else if (write_buf(dir, "config.json", &config, why, why_size) == 0 &&
               write_buf(dir, "session.conf", &conf, why, why_size) == 0) {
        rc = 0;
    } else {
        sbuf_wipe(&conf);
    }
    free(rootfs);
    return rc;
}

/* The host key; its public half (no comment) in *public_host. */
static int make_host_key(const char *dir, const char *name, char **public_host, char *why,
                         size_t why_size)
{
    char *host_key = local_path(dir, "ssh_host_ed25519_key");
    char *host_pub = local_path(dir, "ssh_host_ed25519_key.pub");
    char comment[96];
    int rc = -1;
    snprintf(comment, sizeof comment, "litterbox %s", name);
    if (!host_key || !host_pub)
        snprintf(why, why_size, "out of memory");
    else if (local_keygen(host_key, comment, why, why_size) == 0 &&
             (*public_host = local_public_key(host_pub, why, why_size)) != NULL)
        rc = 0;
    free(host_key);
    free(host_pub);
    return rc;
}

/* The user key pair: the private key comes back in *private_key (its file
 * deleted at once), the public one goes to authorized_keys. */
static int make_user_key(const char *dir, const char *name, char **private_key, char *why,
                         size_t why_size)
{
    char *key = local_path(dir, "user_key"), *pub = local_path(dir, "user_key.pub");
    char *public_key = NULL, comment[96];
    int rc = -1;
    snprintf(comment, sizeof comment, "litterbox %s", name);
    if (!key || !pub) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    if (local_keygen(key, comment, why, why_size) != 0 ||
        !(*private_key = local_read_file(key, 65536, NULL, why, why_size)) ||
        !(public_key = local_public_key(pub, why, why_size)))
        goto out;
    sbuf ak = {0};
    sbuf_addf(&ak, "restrict,pty %s\n", public_key);
    rc = write_buf(dir, "authorized_keys", &ak, why, why_size);
out:
    if (key) unlink(key);
    if (pub) unlink(pub);
    free(key);
    free(pub);
    free(public_key);
    return rc;
}

static pid_t start_sshd(gvisor_data *d, const char *dir, int *port_out, char *why, size_t why_size)
{
    sbuf force = {0};
    sbuf_addf(&force, "exec %s %s", d->session_program, dir);
    char *config = local_path(dir, "sshd_config");
    pid_t pid = -1;
    if (force.failed || !config) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    local_sshd_conf conf = {.host_dir = dir,
                            .session_dir = dir,
                            .login_user = GV_LOGIN_USER,
                            .inner_shell = GV_SHELL,
                            /* Only root can reach the host's folder (0700)
                             * at all; StrictModes would also refuse a state
                             * folder below a sticky /tmp. */
                            .strict_modes = 0,
                            .force_command = force.data};
    for (int attempt = 0; attempt < 5 && pid < 0; attempt++) {
        int busy = 0;
        unlink(config);
        *port_out = local_free_port(why, why_size);
        if (!*port_out || local_sshd_write_config(&conf, *port_out, why, why_size) != 0) break;
        pid = local_sshd_start(dir, *port_out, NULL, SSHD_READY_MS, &busy, why, why_size);
        if (pid < 0 && !busy) break;
    }
out:
    sbuf_wipe(&force);
    free(config);
    return pid;
}

static char *dup_or_fail(const char *s, int *failed)
{
    char *c = s ? strdup(s) : NULL;
    if (s && !c) *failed = 1;
    return c;
}

/* sandbox: the warm sandbox's id when the host was made from the pool
 * (its folder and runsc id keep that name), else NULL. */
static int fill_info(host_info *out, const gv_size *size, long long disk_gb, int port,
                     const char *public_host, pid_t pid, const char *dir, const char *sandbox,
                     char **private_key)
{
    int failed = 0;
    sbuf kh = {0}, st = {0};
    sbuf_addf(&kh, "[127.0.0.1]:%d %s", port, public_host);
    sbuf_addf(&st, "{\"pid\":%d,\"port\":%d,\"dir\":", (int)pid, port);
    gv_json_str(&st, dir);
    if (sandbox) {
        sbuf_adds(&st, ",\"sandbox\":");
        gv_json_str(&st, sandbox);
    }
    sbuf_adds(&st, "}");
    out->image = dup_or_fail(GV_IMAGE, &failed);
    out->ssh_host = dup_or_fail("127.0.0.1", &failed);
    out->ssh_port = port;
    out->ssh_username = dup_or_fail(GV_LOGIN_USER, &failed);
    out->known_hosts = kh.failed ? (failed = 1, NULL) : kh.data;
    out->instance_type = dup_or_fail(size->name, &failed);
    out->disk_gb = disk_gb;
    out->state = st.failed ? (failed = 1, NULL) : st.data;
    out->private_key = *private_key;
    *private_key = NULL;
    if (failed) host_info_free(out);
    return failed ? -1 : 0;
}

/* ---- the warm pool ---- */

#define WARM_NAME "litterbox-warm"
#define HOSTNAME_MS 10000

/* A create the pool can serve: the default image, size and disk. */
static int pool_fits(const host_spec *spec, const gv_size *size, long long disk_gb)
{
    return size == gv_size_find(NULL) && disk_gb == GV_DISK_DEFAULT_GB &&
           gv_image_known(spec->image);
}

static int touch(const char *dir, const char *name, const char *text, char *why, size_t why_size)
{
    char *path = local_path(dir, name);
    int rc = path ? local_write_file(path, text, strlen(text), 0600, why, why_size) : -1;
    if (!path) snprintf(why, why_size, "out of memory");
    free(path);
    return rc;
}

/* The sandbox was started as WARM_NAME; the host's name is its hostname,
 * as on a cold host. Setting it takes a capability no session of the host
 * has, so it is set from outside: `init --hostname` (the image's), started
 * in the warm sandbox with CAP_SYS_ADMIN once the sandbox runs, waits on a
 * pipe for the name. A take then costs a line on that pipe instead of a
 * `runsc exec` (a Go program's start: 60-100 ms, most of a take). The
 * namer is the sandbox's handle in the pool. */
typedef struct warm_namer {
    pid_t runsc; /* its `runsc exec`, our child; -1 once reaped */
    int fd;      /* the pipe's end we write; -1 once closed */
} warm_namer;

static warm_namer *namer_start(const char *dir, const char *id, char *why, size_t why_size)
{
    warm_namer *n = malloc(sizeof *n);
    char *log = local_path(dir, "runsc.log");
    size_t len = strlen(dir) + 16;
    char *root_flag = malloc(len);
    int pipefd[2] = {-1, -1};
    if (!n || !log || !root_flag) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    snprintf(root_flag, len, "--root=%s/runsc", dir);
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        snprintf(why, why_size, "pipe: %s", strerror(errno));
        goto fail;
    }
    const char *argv[] = {GV_RUNSC, root_flag, "exec",       "--cap", "CAP_SYS_ADMIN",
                          id,       GV_INIT,   "--hostname", NULL};
    n->runsc = local_spawn_child(argv, pipefd[0], log, why, why_size);
    if (n->runsc < 0) goto fail;
    close(pipefd[0]);
    n->fd = pipefd[1];
    free(log);
    free(root_flag);
    return n;
fail:
    if (pipefd[0] >= 0) close(pipefd[0]);
    if (pipefd[1] >= 0) close(pipefd[1]);
    free(n);
    free(log);
    free(root_flag);
    return NULL;
}

/* Hands the name over; namer_finish then waits for it to be set. */
static int namer_send(warm_namer *n, const char *name, char *why, size_t why_size)
{
    char line[80];
    int len = snprintf(line, sizeof line, "%s\n", name);
    ssize_t w = len > 0 && (size_t)len < sizeof line ? write(n->fd, line, (size_t)len) : -1;
    int err = errno;
    close(n->fd);
    n->fd = -1;
    if (w == len) return 0;
    snprintf(why, why_size, "cannot hand the warm sandbox its name: %s",
             w < 0 ? strerror(err) : "a short write");
    return -1;
}

static int namer_finish(warm_namer *n, char *why, size_t why_size)
{
    char how[128];
    int rc = local_wait_child(n->runsc, HOSTNAME_MS, how, sizeof how);
    n->runsc = -1;
    if (rc == 0) return 0;
    if (rc > 0) snprintf(how, sizeof how, "exit %d", rc);
    snprintf(why, why_size, "cannot set the hostname (%s; see runsc.log)", how);
    return -1;
}

/* Closing the pipe unsent ends the namer with nothing set; the sandbox's
 * teardown kills it if it still runs. */
static void namer_free(warm_namer *n)
{
    if (!n) return;
    if (n->fd >= 0) close(n->fd);
    if (n->runsc > 0) {
        char ignored[128];
        local_wait_child(n->runsc, STOP_GRACE_MS, ignored, sizeof ignored);
    }
    free(n);
}

/* gv_pool_ops.make: all of a cold create that is not the host's own: the
 * sandbox (under its own id and a placeholder hostname), the layer, the
 * host key and the sshd, which lets nobody in until authorized_keys is
 * written. Once all is up, `warm_sshd` says "PID PORT" of that sshd. */
static int warm_make(void *ctx, const char *id, void **handle, char *why, size_t why_size)
{
    gvisor_data *d = ctx;
    if (prerequisites(d, why, why_size) != 0) return -1;
    char *rootfs = image_rootfs(d, why, why_size);
    char *dir = rootfs ? local_path(d->hosts_dir, id) : NULL;
    char *public_host = NULL, sshd[64];
    host_spec spec = {.id = id, .name = WARM_NAME};
    sandbox_start st = {d, -1};
    warm_namer *namer = NULL;
    pid_t pid = -1;
    int port = 0, rc = -1;
    if (rootfs && !dir) snprintf(why, why_size, "out of memory");
    if (!dir || local_mkdir(dir, 0700, (uid_t)-1, (gid_t)-1, why, why_size) != 0) goto out;
    /* `warm` first: whatever happens next, a restart finds the folder. */
    if (touch(dir, "warm", "", why, why_size) == 0 &&
        write_specs(dir, &spec, gv_size_find(NULL), why, why_size) == 0 &&
        gv_layer_make(dir, rootfs, GV_DISK_DEFAULT_GB, why, why_size) == 0 &&
        start_launch(&st, dir, id, why, why_size) == 0 &&
        make_host_key(dir, WARM_NAME, &public_host, why, why_size) == 0 &&
        (pid = start_sshd(d, dir, &port, why, why_size)) >= 0 &&
        start_finish(&st, dir, id, gv_size_find(NULL)->cpus, why, why_size) == 0 &&
        (namer = namer_start(dir, id, why, why_size)) != NULL) {
        snprintf(sshd, sizeof sshd, "%d %d\n", (int)pid, port);
        rc = touch(dir, "warm_sshd", sshd, why, why_size);
    }
    if (rc != 0) {
        char ignored[256];
        teardown(dir, id, pid, ignored, sizeof ignored);
        namer_free(namer);
        namer = NULL;
    }
    start_abandon(&st);
    *handle = namer;
out:
    free(public_host);
    free(rootfs);
    free(dir);
    return rc;
}

static void warm_destroy(void *ctx, const char *id, void *handle)
{
    gvisor_data *d = ctx;
    char *dir = local_path(d->hosts_dir, id);
    char why[256];
    /* The sshd is found by its log even without its pid. */
    if (dir && teardown(dir, id, -1, why, sizeof why) != 0)
        fprintf(stderr, "litterbox-server: cannot remove the warm sandbox %s: %s\n", id, why);
    namer_free(handle);
    free(dir);
}

/* The sshd the warm sandbox's `warm_sshd` names, and its host key. */
static int warm_sshd(const char *dir, pid_t *pid, int *port, char **public_host, char *why,
                     size_t why_size)
{
    char *warm = local_path(dir, "warm_sshd");
    char *pub = local_path(dir, "ssh_host_ed25519_key.pub");
    char *text = warm ? local_read_file(warm, 64, NULL, why, why_size) : NULL;
    int p = 0, rc = -1;
    if (!warm || !pub)
        snprintf(why, why_size, "out of memory");
    else if (text && (sscanf(text, "%d %d", &p, port) != 2 || p <= 0 || *port <= 0))
        snprintf(why, why_size, "the warm sandbox names no sshd");
    else if (text && (*public_host = local_public_key(pub, why, why_size)) != NULL)
        rc = 0;
    *pid = (pid_t)p;
    free(text);
    free(warm);
    free(pub);
    return rc;
}

/* A create served by the warm sandbox `sandbox` and its namer (both
 * already the caller's): the host's env, user key and hostname. On
 * failure the sandbox is gone. The namer is freed either way. */
static int create_from_warm(gvisor_data *d, const host_spec *spec, const char *sandbox,
                            warm_namer *namer, host_info *out, char *why, size_t why_size)
{
    char *dir = local_path(d->hosts_dir, sandbox);
    char *warm = dir ? local_path(dir, "warm") : NULL;
    char *private_key = NULL, *public_host = NULL;
    pid_t pid = -1;
    int port = 0, rc = -1;
    if (!warm || !namer) {
        snprintf(why, why_size, "%s",
                 warm ? "the warm sandbox has no name setter" : "out of memory");
        goto out;
    }
    /* owner before warm goes: a restart in between sees a host's folder.
     * The name is set while the user key is made; the create answers only
     * once it is, so before anyone holds the host's key. */
    if (warm_sshd(dir, &pid, &port, &public_host, why, why_size) != 0 ||
        touch(dir, "owner", spec->id, why, why_size) != 0 || unlink(warm) != 0 ||
        write_env(dir, spec, why, why_size) != 0 ||
        namer_send(namer, spec->name, why, why_size) != 0 ||
        make_user_key(dir, spec->name, &private_key, why, why_size) != 0 ||
        namer_finish(namer, why, why_size) != 0)
        goto out;
    if (fill_info(out, gv_size_find(NULL), GV_DISK_DEFAULT_GB, port, public_host, pid, dir, sandbox,
                  &private_key) != 0) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && dir) {
        char ignored[256];
        teardown(dir, sandbox, pid, ignored, sizeof ignored);
    }
    namer_free(namer);
    if (private_key) {
        local_wipe(private_key, strlen(private_key));
        free(private_key);
    }
    free(public_host);
    free(warm);
    free(dir);
    return rc;
}

/* 1 when the folder `name` of hosts_dir holds `file`. */
static int has_file(const char *hosts_dir, const char *name, const char *file)
{
    char *dir = local_path(hosts_dir, name);
    char *path = dir ? local_path(dir, file) : NULL;
    struct stat st;
    int has = path && lstat(path, &st) == 0;
    free(dir);
    free(path);
    return has;
}

/* Removes the warm sandboxes no host took: a server that stopped without
 * its pool's shutdown (a crash, SIGKILL) left them. */
static void sweep_warm(gvisor_data *d)
{
    DIR *hosts = opendir(d->hosts_dir);
    struct dirent *e;
    while (hosts && (e = readdir(hosts)) != NULL) {
        if (!id_ok(e->d_name) || !has_file(d->hosts_dir, e->d_name, "warm") ||
            has_file(d->hosts_dir, e->d_name, "owner"))
            continue;
        warm_destroy(d, e->d_name, NULL);
    }
    if (hosts) closedir(hosts);
}

/* The folder of the warm sandbox that host `id` took, when its state
 * never reached the store (a crash during the create): found by its
 * owner file. Copied into sandbox; 1 when found. */
static int find_owned(gvisor_data *d, const char *id, char sandbox[GV_POOL_ID_SIZE])
{
    DIR *hosts = opendir(d->hosts_dir);
    struct dirent *e;
    int found = 0;
    while (hosts && !found && (e = readdir(hosts)) != NULL) {
        if (!id_ok(e->d_name) || strlen(e->d_name) >= GV_POOL_ID_SIZE) continue;
        char *dir = local_path(d->hosts_dir, e->d_name);
        char *owner = dir ? local_path(dir, "owner") : NULL, why[64];
        char *text = owner ? local_read_file(owner, 128, NULL, why, sizeof why) : NULL;
        if (text && strcmp(text, id) == 0) {
            snprintf(sandbox, GV_POOL_ID_SIZE, "%.64s", e->d_name);
            found = 1;
        }
        free(text);
        free(owner);
        free(dir);
    }
    if (hosts) closedir(hosts);
    return found;
}

/* The runsc id and folder name of host `id`: the warm sandbox it was made
 * from (its state's "sandbox", or an owner file), else its own id. */
static void sandbox_of(gvisor_data *d, const char *id, const char *state,
                       char sandbox[GV_POOL_ID_SIZE])
{
    const char *at = state ? strstr(state, "\"sandbox\":\"") : NULL;
    size_t n = at ? strcspn(at + 11, "\"") : 0;
    snprintf(sandbox, GV_POOL_ID_SIZE, "%.64s", id);
    if (at && n < GV_POOL_ID_SIZE) {
        snprintf(sandbox, GV_POOL_ID_SIZE, "%.*s", (int)n, at + 11);
        if (!id_ok(sandbox)) snprintf(sandbox, GV_POOL_ID_SIZE, "%.64s", id);
    } else if (!has_file(d->hosts_dir, id, ".")) {
        find_owned(d, id, sandbox);
    }
}

static int gvisor_create(provider *p, const host_spec *spec, host_info *out, char *why,
                         size_t why_size)
{
    gvisor_data *d = data_of(p);
    memset(out, 0, sizeof *out);
    const gv_size *size = gv_size_find(spec->instance_type);
    long long disk_gb = spec->disk_gb > 0 ? spec->disk_gb : GV_DISK_DEFAULT_GB;
    if (!id_ok(spec->id) || !spec->name || !local_plain_path(spec->name) || !size) {
        snprintf(why, why_size, "the gvisor provider got a host it cannot make");
        return -1;
    }
    if (prerequisites(d, why, why_size) != 0) return -1;
    char sandbox[GV_POOL_ID_SIZE];
    void *namer = NULL;
    if (d->pool && pool_fits(spec, size, disk_gb) && gv_pool_take(d->pool, sandbox, &namer)) {
        int made = create_from_warm(d, spec, sandbox, namer, out, why, why_size);
        gv_pool_refill(d->pool);
        if (made == 0) return 0;
        /* The sandbox is gone; the host is still made, cold. */
        fprintf(stderr, "litterbox-server: a warm sandbox failed, making %s cold: %s\n", spec->id,
                why);
    }
    char *rootfs = image_rootfs(d, why, why_size);
    if (!rootfs) return -1;

    char *dir = local_path(d->hosts_dir, spec->id);
    char *private_key = NULL, *public_host = NULL;
    sandbox_start st = {d, -1};
    pid_t pid = -1;
    int port = 0, made_dir = 0;
    if (!dir) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    if (local_mkdir(dir, 0700, (uid_t)-1, (gid_t)-1, why, why_size) != 0) goto fail;
    made_dir = 1;
    /* The sandbox starts (most of a create's time) while the keys are made
     * and the sshd starts. */
    if (write_env(dir, spec, why, why_size) != 0 ||
        write_specs(dir, spec, size, why, why_size) != 0 ||
        gv_layer_make(dir, rootfs, disk_gb, why, why_size) != 0 ||
        start_launch(&st, dir, spec->id, why, why_size) != 0 ||
        make_host_key(dir, spec->name, &public_host, why, why_size) != 0 ||
        make_user_key(dir, spec->name, &private_key, why, why_size) != 0 ||
        (pid = start_sshd(d, dir, &port, why, why_size)) < 0 ||
        start_finish(&st, dir, spec->id, size->cpus, why, why_size) != 0)
        goto fail;
    if (fill_info(out, size, disk_gb, port, public_host, pid, dir, NULL, &private_key) != 0) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    free(rootfs);
    free(dir);
    free(public_host);
    return 0;

fail:
    if (made_dir) {
        char ignored[256];
        teardown(dir, spec->id, pid, ignored, sizeof ignored);
    }
    start_abandon(&st);
    if (private_key) {
        local_wipe(private_key, strlen(private_key));
        free(private_key);
    }
    free(rootfs);
    free(dir);
    free(public_host);
    return -1;
}

static int gvisor_destroy(provider *p, const char *id, const char *state, char *why,
                          size_t why_size)
{
    gvisor_data *d = data_of(p);
    if (!id_ok(id)) {
        snprintf(why, why_size, "not a host id of the gvisor provider");
        return -1;
    }
    char sandbox[GV_POOL_ID_SIZE];
    sandbox_of(d, id, state, sandbox);
    char *dir = local_path(d->hosts_dir, sandbox);
    if (!dir) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    int rc = teardown(dir, sandbox, (pid_t)state_number(state, "pid"), why, why_size);
    free(dir);
    return rc;
}

static int gvisor_alive(provider *p, const char *id, const char *state, char *why, size_t why_size)
{
    gvisor_data *d = data_of(p);
    pid_t pid = (pid_t)state_number(state, "pid");
    int port = (int)state_number(state, "port");
    char sandbox[GV_POOL_ID_SIZE] = "";
    if (id_ok(id)) sandbox_of(d, id, state, sandbox);
    char *dir = sandbox[0] ? local_path(d->hosts_dir, sandbox) : NULL;
    char *needle = dir ? local_sshd_needle(dir) : NULL;
    int alive = 0;
    if (!needle)
        snprintf(why, why_size, "no such gvisor host");
    else if (pid <= 0 || port <= 0)
        snprintf(why, why_size, "the host's state names no sshd");
    else if (!local_proc_matches(pid, needle))
        snprintf(why, why_size, "its sshd (pid %d) is no longer running", (int)pid);
    else if (!gv_runsc_running(dir, sandbox, why, why_size))
        ; /* why says what runsc said */
    else if (!local_sshd_answers(port, 3000))
        snprintf(why, why_size, "its sshd (pid %d) does not answer on 127.0.0.1:%d", (int)pid,
                 port);
    else
        alive = 1;
    free(dir);
    free(needle);
    return alive;
}

static void gvisor_doctor(provider *p, provider_check *out)
{
    gvisor_data *d = data_of(p);
    char pre_why[256] = "", image_why[256] = "";
    int pre_ok = prerequisites(d, pre_why, sizeof pre_why) == 0;
    char *rootfs = pre_ok ? image_rootfs(d, image_why, sizeof image_why) : NULL;
    char pool[96];
    if (d->pool) {
        int ready, size;
        long long served;
        gv_pool_counts(d->pool, &ready, &size, &served);
        snprintf(pool, sizeof pool, "warm pool %d of %d ready, %lld served", ready, size, served);
    }
    gv_doctor_in in = {pre_ok ? NULL : pre_why, rootfs, image_why, d->images_dir,
                       d->pool ? pool : NULL};
    gv_doctor(&in, out);
    free(rootfs);
}

static void gvisor_close(provider *p)
{
    if (!p) return;
    gvisor_data *d = data_of(p);
    if (d) {
        gv_pool_stop(d->pool);
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->start_done);
        free(d->hosts_dir);
        free(d->images_dir);
        free(d->session_program);
        free(d);
    }
    free(p);
}

/* litterbox-gvisor-session in the server's own folder; NULL when it is
 * not there (doctor says so) or its path cannot go into sshd_config. */
static char *find_session_program(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return NULL;
    *slash = '\0';
    char *path = local_path(self, GV_SESSION_PROGRAM);
    if (path && (access(path, X_OK) != 0 || !local_plain_path(path))) {
        free(path);
        path = NULL;
    }
    return path;
}

int provider_gvisor_set_images(provider *p, const char *images_dir)
{
    gvisor_data *d = data_of(p);
    char *copy = strdup(images_dir);
    if (!copy) return -1;
    free(d->images_dir);
    d->images_dir = copy;
    return 0;
}

int provider_gvisor_set_warm_pool(provider *p, int size)
{
    gvisor_data *d = data_of(p);
    if (size <= 0 || d->pool) return 0;
    gv_pool_ops ops = {d, warm_make, warm_destroy};
    d->pool = gv_pool_start(size, &ops);
    return d->pool ? 0 : -1;
}

provider *provider_gvisor_new(const provider_config *cfg, char *why, size_t why_size)
{
    if (!cfg || !cfg->state_dir || !*cfg->state_dir) {
        snprintf(why, why_size, "the gvisor provider needs a state folder");
        return NULL;
    }
    provider *p = calloc(1, sizeof *p);
    gvisor_data *d = calloc(1, sizeof *d);
    if (!p || !d) {
        free(p);
        free(d);
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    p->data = d;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->start_done, NULL);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    d->starts_left = cpus > 0 ? (int)cpus : 1;
    p->name = "gvisor";
    p->check = gvisor_check;
    p->create = gvisor_create;
    p->destroy = gvisor_destroy;
    p->alive = gvisor_alive;
    p->doctor = gvisor_doctor;
    p->close = gvisor_close;

    char *state_dir = NULL;
    if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, why_size, "cannot create %s: %s", cfg->state_dir, strerror(errno));
        goto fail;
    }
    state_dir = realpath(cfg->state_dir, NULL);
    if (!state_dir || !local_plain_path(state_dir) || strpbrk(state_dir, ",:")) {
        snprintf(why, why_size,
                 "the gvisor provider puts host paths into sshd_config and overlay options, "
                 "so the state folder %s may only hold the characters A-Z a-z 0-9 / . _ + = @ -",
                 cfg->state_dir);
        goto fail;
    }
    d->hosts_dir = local_path(state_dir, "gvisor");
    d->images_dir = strdup(GV_DEFAULT_IMAGES);
    if (!d->hosts_dir || !d->images_dir) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    if ((mkdir(d->hosts_dir, 0700) != 0 && errno != EEXIST) || chmod(d->hosts_dir, 0700) != 0) {
        snprintf(why, why_size, "cannot create %s: %s", d->hosts_dir, strerror(errno));
        goto fail;
    }
    d->session_program = find_session_program();
    sweep_warm(d);
    free(state_dir);
    return p;
fail:
    free(state_dir);
    gvisor_close(p);
    return NULL;
}
