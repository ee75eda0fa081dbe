/* The `local` provider: each host is one OpenSSH sshd on 127.0.0.1 with a
 * fresh ed25519 host key and user key pair, whose sessions run under
 * bubblewrap. The parts are in server/local/ (see local.h for the layout of
 * a host's folder); this file is the provider.h face of them.
 *
 * As root, sshd logs in the unprivileged LOCAL_SANDBOX_USER (created when
 * missing) and runs in a mount namespace of its own, where its host's
 * session/ folder is the only part of the state folder that user can
 * reach. As an ordinary user, sshd can only log in that user, so that is
 * the ssh_username. Hosts outlive the server: their sshd runs in a session
 * of its own, and the host's state ({"pid":..,"port":..}) finds it again. */
#include "provider.h"
#include "local/local.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SSHD_READY_MS 20000
#define STOP_GRACE_MS 3000

typedef struct local_data {
    char *state_dir; /* absolute, resolved */
    char *hosts_dir; /* <state_dir>/hosts */
    int as_root;
    char login_user[64];
    char login_home[1024]; /* "" as root */
    char login_shell[256]; /* runs ForceCommand; "" as root (the sandbox user's /bin/sh) */
    char sandbox_home[128];
    uid_t session_uid; /* who sessions run as */
    gid_t session_gid;
    const char *inner_shell;
    char **private_paths; /* NULL-terminated, absolute */
    pthread_mutex_t lock; /* guards ready */
    int ready;
} local_data;

static local_data *data_of(provider *p)
{
    return p->data;
}

/* Host ids come from the server (UUIDs); anything else never becomes a
 * path. */
static int id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF-", id[i])) return 0;
    return 1;
}

static char *host_dir(local_data *d, const char *id)
{
    return local_path(d->hosts_dir, id);
}

/* The login shell runs the ForceCommand line (POSIX syntax). */
static int posix_shell(const char *shell)
{
    static const char *const known[] = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", NULL};
    const char *base = strrchr(shell, '/');
    base = base ? base + 1 : shell;
    for (int i = 0; known[i]; i++)
        if (strcmp(base, known[i]) == 0) return access(shell, X_OK) == 0;
    return 0;
}

/* What creating a host needs once per process: as root, the sandbox user,
 * sshd's privilege separation folder and the session mount point. */
static int ensure_ready(local_data *d, char *why, size_t why_size)
{
    int rc = 0;
    pthread_mutex_lock(&d->lock);
    if (d->ready) goto out;
    if (access(LOCAL_SSHD, X_OK) != 0 || access(LOCAL_BWRAP, X_OK) != 0 ||
        access(LOCAL_SSH_KEYGEN, X_OK) != 0) {
        snprintf(why, why_size,
                 "the local provider needs %s, %s and %s (packages openssh-server, "
                 "openssh-client, bubblewrap)",
                 LOCAL_SSHD, LOCAL_SSH_KEYGEN, LOCAL_BWRAP);
        rc = -1;
        goto out;
    }
    if (d->as_root) {
        struct stat st;
        if ((mkdir("/run/sshd", 0755) != 0 && errno != EEXIST) ||
            (mkdir(LOCAL_SESSION_MOUNT, 0755) != 0 && errno != EEXIST) ||
            stat(LOCAL_SESSION_MOUNT, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(why, why_size, "cannot create /run/sshd or %s: %s", LOCAL_SESSION_MOUNT,
                     strerror(errno));
            rc = -1;
            goto out;
        }
        if (!local_can_unshare_mounts()) {
            snprintf(why, why_size,
                     "as root, each sshd runs in a mount namespace of its own, and "
                     "unshare(CLONE_NEWNS) is not permitted here");
            rc = -1;
            goto out;
        }
        if (local_sandbox_user(&d->session_uid, &d->session_gid, why, why_size) != 0) {
            rc = -1;
            goto out;
        }
    }
    if (!d->as_root && !posix_shell(d->login_shell)) {
        snprintf(why, why_size,
                 "sshd runs every session through the login shell of %s (%s), and the local "
                 "provider's ForceCommand needs a POSIX shell there",
                 d->login_user, d->login_shell);
        rc = -1;
        goto out;
    }
    d->ready = 1;
out:
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static int local_check(provider *p, const host_spec *spec, char *detail, size_t detail_size)
{
    (void)p;
    if (spec->image && strcmp(spec->image, LOCAL_IMAGE) != 0) {
        char shown[64];
        size_t i = 0;
        for (const char *s = spec->image; *s && i < sizeof shown - 4; s++)
            shown[i++] = (*s >= 0x20 && *s < 0x7f && *s != '"') ? *s : '?';
        shown[i] = '\0';
        snprintf(detail, detail_size,
                 "image \"%s%s\" is not available on the local provider: its one image is "
                 "\"" LOCAL_IMAGE "\" (omit image to use it)",
                 shown, strlen(spec->image) > i ? "..." : "");
        return -1;
    }
    if (spec->instance_type) {
        snprintf(detail, detail_size,
                 "instance_type is not supported by the local provider: a local host is "
                 "processes on this machine, with no size to choose (omit instance_type)");
        return -1;
    }
    if (spec->disk_gb != 0) {
        snprintf(detail, detail_size,
                 "disk_gb is not supported by the local provider: a local host uses this "
                 "machine's disk (omit disk_gb)");
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

/* Stops whatever of the host runs and removes its folder. */
static int teardown(local_data *d, const char *dir, pid_t pid, char *why, size_t why_size)
{
    char *needle = local_sshd_needle(dir);
    char *log = local_path(dir, "sshd.log");
    int rc = -1;
    if (!needle || !log) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    if (local_proc_kill_host(pid, needle, log, STOP_GRACE_MS, why, why_size) != 0) goto out;
    rc = local_remove_tree(dir, why, why_size);
out:
    (void)d;
    free(needle);
    free(log);
    return rc;
}

static int make_session_dirs(local_data *d, const char *session, char *why, size_t why_size)
{
    uid_t u = d->as_root ? d->session_uid : (uid_t)-1;
    gid_t g = d->as_root ? d->session_gid : (gid_t)-1;
    char *home = local_path(session, "home"), *tmp = local_path(session, "tmp");
    int rc = -1;
    if (!home || !tmp)
        snprintf(why, why_size, "out of memory");
    else if (local_mkdir(session, d->as_root ? 0750 : 0700, d->as_root ? 0 : (uid_t)-1, g, why,
                         why_size) == 0 &&
             local_mkdir(home, 0700, u, g, why, why_size) == 0 &&
             local_mkdir(tmp, 01777, u, g, why, why_size) == 0)
        rc = 0;
    free(home);
    free(tmp);
    return rc;
}

/* Writes a session file; as root, readable by the sandbox user's group. */
static int write_session_file(local_data *d, const char *session, const char *name, const sbuf *b,
                              char *why, size_t why_size)
{
    char *path = local_path(session, name);
    if (!path || b->failed) {
        snprintf(why, why_size, "out of memory");
        free(path);
        return -1;
    }
    int rc = local_write_file(path, b->data, b->len, d->as_root ? 0640 : 0600, why, why_size);
    if (rc == 0 && d->as_root && chown(path, 0, d->session_gid) != 0) {
        snprintf(why, why_size, "cannot chown %s: %s", path, strerror(errno));
        rc = -1;
    }
    free(path);
    return rc;
}

/* The user key pair: the private key comes back in *private_key (the file
 * is deleted at once), the public one goes to authorized_keys. */
static int user_keys(local_data *d, const char *dir, const char *session, const char *comment,
                     char **private_key, char *why, size_t why_size)
{
    char *key = local_path(dir, "user_key"), *pub = local_path(dir, "user_key.pub");
    char *public_key = NULL;
    int rc = -1;
    if (!key || !pub) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    if (local_keygen(key, comment, why, why_size) != 0) goto out;
    *private_key = local_read_file(key, 65536, NULL, why, why_size);
    public_key = local_public_key(pub, why, why_size);
    if (!*private_key || !public_key) goto out;
    sbuf ak = {0};
    sbuf_addf(&ak, "restrict,pty %s\n", public_key);
    rc = write_session_file(d, session, "authorized_keys", &ak, why, why_size);
    sbuf_wipe(&ak);
out:
    if (key) unlink(key);
    if (pub) unlink(pub);
    if (rc != 0 && *private_key) {
        local_wipe(*private_key, strlen(*private_key));
        free(*private_key);
        *private_key = NULL;
    }
    free(key);
    free(pub);
    free(public_key);
    return rc;
}

static char *dup_or_fail(const char *s, int *failed)
{
    char *c = strdup(s ? s : "");
    if (!c) *failed = 1;
    return c;
}

static int local_create(provider *p, const host_spec *spec, host_info *out, char *why,
                        size_t why_size)
{
    local_data *d = data_of(p);
    memset(out, 0, sizeof *out);
    if (!id_ok(spec->id) || !spec->name || !local_plain_path(spec->name)) {
        snprintf(why, why_size, "the local provider got a host id or name it cannot use");
        return -1;
    }
    if (ensure_ready(d, why, why_size) != 0) return -1;

    char *dir = host_dir(d, spec->id);
    char *session = dir ? local_path(dir, "session") : NULL;
    char *host_key = dir ? local_path(dir, "ssh_host_ed25519_key") : NULL;
    char *host_pub = dir ? local_path(dir, "ssh_host_ed25519_key.pub") : NULL;
    char *private_key = NULL, *public_host = NULL;
    pid_t pid = -1;
    int port = 0, made_dir = 0;
    if (!dir || !session || !host_key || !host_pub) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    if (local_mkdir(dir, 0700, (uid_t)-1, (gid_t)-1, why, why_size) != 0) goto fail;
    made_dir = 1;
    if (make_session_dirs(d, session, why, why_size) != 0) goto fail;

    char comment[96];
    snprintf(comment, sizeof comment, "litterbox %s", spec->name);
    if (local_keygen(host_key, comment, why, why_size) != 0 ||
        !(public_host = local_public_key(host_pub, why, why_size)) ||
        user_keys(d, dir, session, comment, &private_key, why, why_size) != 0)
        goto fail;

    /* The sandbox's options, then the env: everything bwrap reads on fd 3. */
    const char *session_seen = d->as_root ? LOCAL_SESSION_MOUNT : session;
    local_sandbox sb = {.state_dir = d->state_dir,
                        .session_dir = session_seen,
                        .login_home = d->login_home[0] ? d->login_home : NULL,
                        .sandbox_home = d->sandbox_home,
                        .hostname = spec->name,
                        .inner_shell = d->inner_shell,
                        .login_user = d->login_user,
                        .as_root = d->as_root,
                        .uid = d->session_uid,
                        .gid = d->session_gid,
                        .private_paths = (const char *const *)d->private_paths};
    sbuf args = {0};
    local_sandbox_args(&args, &sb);
    int env_rc =
        local_env_args(&args, spec->env_keys, spec->env_values, spec->env_count, why, why_size);
    int args_rc =
        env_rc == 0 ? write_session_file(d, session, "bwrap.args", &args, why, why_size) : -1;
    sbuf_wipe(&args);
    if (args_rc != 0) goto fail;

    local_sshd_conf conf = {.host_dir = dir,
                            .session_dir = session_seen,
                            .login_user = d->login_user,
                            .inner_shell = d->inner_shell,
                            .strict_modes = d->as_root};
    char *config = local_path(dir, "sshd_config");
    if (!config) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    for (int attempt = 0; attempt < 5 && pid < 0; attempt++) {
        int busy = 0;
        unlink(config);
        port = local_free_port(why, why_size);
        if (!port || local_sshd_write_config(&conf, port, why, why_size) != 0) break;
        pid = local_sshd_start(dir, port, d->as_root ? session : NULL, SSHD_READY_MS, &busy, why,
                               why_size);
        if (pid < 0 && !busy) break;
    }
    free(config);
    if (pid < 0) goto fail;

    int failed = 0;
    char num[128];
    sbuf kh = {0};
    sbuf_addf(&kh, "[127.0.0.1]:%d %s", port, public_host);
    out->image = dup_or_fail(LOCAL_IMAGE, &failed);
    out->ssh_host = dup_or_fail("127.0.0.1", &failed);
    out->ssh_port = port;
    out->ssh_username = dup_or_fail(d->login_user, &failed);
    out->known_hosts = kh.failed ? (failed = 1, NULL) : kh.data;
    out->private_key = private_key;
    private_key = NULL;
    out->instance_type = NULL;
    out->disk_gb = 0;
    snprintf(num, sizeof num, "{\"pid\":%d,\"port\":%d,\"dir\":\"", (int)pid, port);
    sbuf st = {0};
    sbuf_adds(&st, num);
    sbuf_adds(&st, dir);
    sbuf_adds(&st, "\"}");
    out->state = st.failed ? (failed = 1, NULL) : st.data;
    if (failed) {
        snprintf(why, why_size, "out of memory");
        free(out->image);
        free(out->ssh_host);
        free(out->ssh_username);
        free(out->known_hosts);
        if (out->private_key) {
            local_wipe(out->private_key, strlen(out->private_key));
            free(out->private_key);
        }
        free(out->state);
        memset(out, 0, sizeof *out);
        goto fail;
    }
    free(dir);
    free(session);
    free(host_key);
    free(host_pub);
    free(public_host);
    return 0;

fail:
    if (made_dir) {
        char ignored[256];
        teardown(d, dir, pid, ignored, sizeof ignored);
    }
    if (private_key) {
        local_wipe(private_key, strlen(private_key));
        free(private_key);
    }
    free(dir);
    free(session);
    free(host_key);
    free(host_pub);
    free(public_host);
    return -1;
}

static int local_destroy(provider *p, const char *id, const char *state, char *why, size_t why_size)
{
    local_data *d = data_of(p);
    if (!id_ok(id)) {
        snprintf(why, why_size, "not a host id of the local provider");
        return -1;
    }
    char *dir = host_dir(d, id);
    if (!dir) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    int rc = teardown(d, dir, (pid_t)state_number(state, "pid"), why, why_size);
    free(dir);
    return rc;
}

static int local_alive(provider *p, const char *id, const char *state, char *why, size_t why_size)
{
    local_data *d = data_of(p);
    pid_t pid = (pid_t)state_number(state, "pid");
    int port = (int)state_number(state, "port");
    char *dir = id_ok(id) ? host_dir(d, id) : NULL;
    char *needle = dir ? local_sshd_needle(dir) : NULL;
    int alive = 0;
    if (!needle)
        snprintf(why, why_size, "no such local host");
    else if (pid <= 0 || port <= 0)
        snprintf(why, why_size, "the host's state names no sshd");
    else if (!local_proc_matches(pid, needle))
        snprintf(why, why_size, "its sshd (pid %d) is no longer running", (int)pid);
    else if (!local_sshd_answers(port, 3000))
        snprintf(why, why_size, "its sshd (pid %d) does not answer on 127.0.0.1:%d", (int)pid,
                 port);
    else
        alive = 1;
    free(dir);
    free(needle);
    return alive;
}

/* First line of a program's output, up to the first ',' (for versions). */
static void first_words(const char *text, char *out, size_t size)
{
    size_t n = strcspn(text, ",\r\n");
    if (n >= size) n = size - 1;
    memcpy(out, text, n);
    out[n] = '\0';
}

static void local_doctor(provider *p, provider_check *out)
{
    local_data *d = data_of(p);
    long long t0 = local_now_ms();
    char why[256] = "", sshd_v[64] = "?", bwrap_v[64] = "?", text[512];
    memset(out, 0, sizeof *out);
    out->latency_ms = -1;

    int ok = ensure_ready(d, why, sizeof why) == 0;
    if (ok) {
        const char *v1[] = {LOCAL_SSHD, "-V", NULL};
        local_run(v1, NULL, text, sizeof text, why, sizeof why);
        first_words(text, sshd_v, sizeof sshd_v);
        const char *v2[] = {LOCAL_BWRAP, "--version", NULL};
        if (local_run(v2, NULL, text, sizeof text, why, sizeof why) == 0)
            first_words(text, bwrap_v, sizeof bwrap_v);
        /* Can the session user really build a sandbox here? */
        const char *try[] = {LOCAL_BWRAP,
                             "--ro-bind",
                             "/",
                             "/",
                             "--dev",
                             "/dev",
                             "--proc",
                             "/proc",
                             "--unshare-user",
                             "--disable-userns",
                             "--unshare-net",
                             "--unshare-pid",
                             "--die-with-parent",
                             "--cap-drop",
                             "ALL",
                             "--",
                             "/bin/true",
                             NULL};
        local_run_opts as = {10000, d->as_root ? d->session_uid : (uid_t)-1,
                             d->as_root ? d->session_gid : (gid_t)-1};
        int rc = local_run(try, &as, text, sizeof text, why, sizeof why);
        if (rc != 0) {
            for (char *c = text; *c; c++)
                if (*c == '\n') *c = ' ';
            snprintf(why, sizeof why, "bubblewrap cannot build a sandbox as %s: %.150s",
                     d->login_user, text[0] ? text : "no output");
            snprintf(out->hint, sizeof out->hint,
                     "bwrap needs unprivileged user namespaces: user.max_user_namespaces > 0, "
                     "kernel.unprivileged_userns_clone=1, and on Ubuntu "
                     "kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile)");
            ok = 0;
        }
    } else if (access(LOCAL_SSHD, X_OK) || access(LOCAL_BWRAP, X_OK) ||
               access(LOCAL_SSH_KEYGEN, X_OK)) {
        snprintf(out->hint, sizeof out->hint,
                 "install openssh-server, openssh-client and bubblewrap "
                 "(bash scripts/install-deps.sh)");
    } else if (!d->as_root) {
        snprintf(out->hint, sizeof out->hint,
                 "run litterbox-server as a user whose login shell is sh, bash, dash, zsh or ksh");
    } else if (strstr(why, "mount namespace")) {
        snprintf(out->hint, sizeof out->hint,
                 "give the server CAP_SYS_ADMIN (an unprivileged container lacks it), or run it "
                 "as an ordinary user");
    }
    out->latency_ms = local_now_ms() - t0;
    snprintf(out->status, sizeof out->status, "%s", ok ? "ok" : "error");
    if (ok)
        snprintf(out->detail, sizeof out->detail,
                 "image \"%s\"; %s, %s; sessions as %s under bubblewrap", LOCAL_IMAGE, sshd_v,
                 bwrap_v, d->login_user);
    else
        snprintf(out->detail, sizeof out->detail, "%s", why);
}

static void local_close(provider *p)
{
    if (!p) return;
    local_data *d = data_of(p);
    if (d) {
        pthread_mutex_destroy(&d->lock);
        free(d->state_dir);
        free(d->hosts_dir);
        for (size_t i = 0; d->private_paths && d->private_paths[i]; i++)
            free(d->private_paths[i]);
        free(d->private_paths);
        free(d);
    }
    free(p);
}

/* Keeps the paths, made absolute (they are resolved again at each create:
 * a database may not exist yet). */
static int copy_private_paths(local_data *d, const char *const *paths)
{
    for (size_t i = 0; d->private_paths && d->private_paths[i]; i++)
        free(d->private_paths[i]);
    free(d->private_paths);
    size_t n = 0;
    while (paths && paths[n])
        n++;
    d->private_paths = calloc(n + 1, sizeof *d->private_paths);
    if (!d->private_paths) return -1;
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        d->private_paths[i] =
            paths[i][0] == '/' || !cwd[0] ? strdup(paths[i]) : local_path(cwd, paths[i]);
        if (!d->private_paths[i]) return -1;
    }
    return 0;
}

int provider_local_set_private_paths(provider *p, const char *const *paths)
{
    return copy_private_paths(data_of(p), paths);
}

provider *provider_local_new(const provider_config *cfg, char *why, size_t why_size)
{
    if (!cfg || !cfg->state_dir || !*cfg->state_dir) {
        snprintf(why, why_size, "the local provider needs a state folder");
        return NULL;
    }
    provider *p = calloc(1, sizeof *p);
    local_data *d = calloc(1, sizeof *d);
    if (!p || !d) {
        free(p);
        free(d);
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    p->data = d;
    pthread_mutex_init(&d->lock, NULL);
    p->name = "local";
    p->check = local_check;
    p->create = local_create;
    p->destroy = local_destroy;
    p->alive = local_alive;
    p->doctor = local_doctor;
    p->close = local_close;

    if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, why_size, "cannot create %s: %s", cfg->state_dir, strerror(errno));
        goto fail;
    }
    d->state_dir = realpath(cfg->state_dir, NULL);
    if (!d->state_dir) {
        snprintf(why, why_size, "cannot resolve %s: %s", cfg->state_dir, strerror(errno));
        goto fail;
    }
    if (!local_plain_path(d->state_dir)) {
        snprintf(why, why_size,
                 "the local provider puts host paths into sshd_config and a ForceCommand, so "
                 "the state folder %s may only hold the characters A-Z a-z 0-9 / . _ + , : = @ -",
                 d->state_dir);
        goto fail;
    }
    d->hosts_dir = local_path(d->state_dir, "hosts");
    if (!d->hosts_dir) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    if ((mkdir(d->hosts_dir, 0700) != 0 && errno != EEXIST) || chmod(d->hosts_dir, 0700) != 0) {
        snprintf(why, why_size, "cannot create %s: %s", d->hosts_dir, strerror(errno));
        goto fail;
    }
    if (copy_private_paths(d, NULL) != 0) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    d->inner_shell = local_inner_shell();
    d->as_root = geteuid() == 0;
    if (d->as_root) {
        snprintf(d->login_user, sizeof d->login_user, "%s", LOCAL_SANDBOX_USER);
    } else {
        char buf[4096];
        struct passwd pw, *res = NULL;
        getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res);
        if (!res || !local_plain_path(res->pw_name) ||
            strlen(res->pw_name) >= sizeof d->login_user) {
            snprintf(why, why_size,
                     "the local provider logs sessions in as the user running the server, "
                     "and uid %d has no plain user name",
                     (int)geteuid());
            goto fail;
        }
        snprintf(d->login_user, sizeof d->login_user, "%s", res->pw_name);
        snprintf(d->login_home, sizeof d->login_home, "%s", res->pw_dir ? res->pw_dir : "");
        snprintf(d->login_shell, sizeof d->login_shell, "%s",
                 res->pw_shell && *res->pw_shell ? res->pw_shell : "/bin/sh");
        d->session_uid = geteuid();
        d->session_gid = getegid();
    }
    snprintf(d->sandbox_home, sizeof d->sandbox_home, "/home/%s", d->login_user);
    return p;
fail:
    local_close(p);
    return NULL;
}
