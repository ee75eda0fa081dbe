/* The bubblewrap sandbox every SSH session of a local host runs in.
 *
 * The whole system read-only; /home, /root, the login user's real home and
 * the server's state folder (with its parent, where a token file usually
 * sits) and /run hidden under empty tmpfs; the host's own home and /tmp bound from its
 * folder, so files persist between sessions of one host and no further; a
 * fresh /dev, /proc, /var/tmp and /dev/shm; its own pid, IPC and UTS
 * namespaces (hostname = the host's name); no capabilities; killed with
 * the connection that started it. Network and the rest of the system are
 * shared (see the README). */
#include "local.h"

#include <errno.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *local_inner_shell(void)
{
    return access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
}

static void opt2(sbuf *b, const char *opt, const char *a)
{
    sbuf_arg(b, opt);
    sbuf_arg(b, a);
}

static void opt3(sbuf *b, const char *opt, const char *a, const char *c)
{
    sbuf_arg(b, opt);
    sbuf_arg(b, a);
    sbuf_arg(b, c);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Folders whose hiding would break the sandbox's system: a state folder
 * directly inside one of them is hidden alone, not with its parent. */
static int is_system_dir(const char *p)
{
    static const char *const dirs[] = {"/",      "/etc",   "/usr",    "/bin",  "/sbin", "/lib",
                                       "/lib32", "/lib64", "/libx32", "/opt",  "/var",  "/var/lib",
                                       "/srv",   "/run",   "/dev",    "/proc", "/sys",  "/boot",
                                       "/mnt",   "/media", NULL};
    for (int i = 0; dirs[i]; i++)
        if (strcmp(p, dirs[i]) == 0) return 1;
    return 0;
}

/* malloc'd folder above path ("/" for "/x"). */
static char *parent_of(const char *path)
{
    char *p = strdup(path);
    if (!p) return NULL;
    char *slash = strrchr(p, '/');
    if (slash == p)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    return p;
}

/* Whether the session user can name path at all: every folder above it
 * searchable. As root that user is the sandbox user, judged by the mode bits
 * (it has no supplementary groups); otherwise it is us, and access(2) says.
 * A path it cannot reach needs no hiding, and bwrap, running as that user,
 * could not mount over it: the session would fail. */
static int searchable(const local_sandbox *s, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) return 0;
    mode_t bit = st.st_uid == s->uid ? S_IXUSR : st.st_gid == s->gid ? S_IXGRP : S_IXOTH;
    return (st.st_mode & bit) != 0;
}

static int reachable(const local_sandbox *s, const char *path)
{
    char *dir = parent_of(path);
    if (!dir) return 0;
    int ok;
    if (!s->as_root) {
        ok = access(dir, X_OK) == 0;
    } else {
        ok = searchable(s, "/");
        for (size_t i = 1; ok && i <= strlen(dir); i++) {
            if (dir[i] != '/' && dir[i] != '\0') continue;
            char saved = dir[i];
            dir[i] = '\0';
            ok = searchable(s, dir);
            dir[i] = saved;
        }
    }
    free(dir);
    return ok;
}

/* An empty tmpfs over a folder, /dev/null over a file; nothing for what
 * does not exist or the session user could not reach anyway. */
static void hide(sbuf *b, const local_sandbox *s, const char *path)
{
    char *real = realpath(path, NULL);
    struct stat st;
    if (real && stat(real, &st) == 0 && reachable(s, real)) {
        if (S_ISDIR(st.st_mode))
            opt2(b, "--tmpfs", real);
        else
            opt3(b, "--ro-bind", "/dev/null", real);
    }
    free(real);
}

void local_sandbox_args(sbuf *b, const local_sandbox *s)
{
    opt3(b, "--ro-bind", "/", "/");
    opt2(b, "--dev", "/dev");
    opt2(b, "--proc", "/proc");
    opt2(b, "--tmpfs", "/home");
    if (is_dir("/root")) opt2(b, "--tmpfs", "/root");
    if (s->login_home && strcmp(s->login_home, "/") != 0 && strncmp(s->login_home, "/home/", 6) &&
        strcmp(s->login_home, "/root") && !is_system_dir(s->login_home))
        hide(b, s, s->login_home);

    /* The state folder, and its parent unless that is a system folder. */
    char *parent = parent_of(s->state_dir);
    if (parent) {
        hide(b, s, is_system_dir(parent) ? s->state_dir : parent);
        free(parent);
    } else {
        b->failed = 1;
    }
    for (size_t i = 0; s->private_paths && s->private_paths[i]; i++)
        hide(b, s, s->private_paths[i]);
    /* /run holds the sockets that would undo the sandbox for the user it
     * runs as (the user's D-Bus and systemd in /run/user, docker.sock,
     * containerd, ...) and, as root, the session mount: an empty one, with
     * only the resolver's folders back (/etc/resolv.conf may point there). */
    opt2(b, "--tmpfs", "/run");
    static const char *const resolver[] = {"/run/systemd/resolve", "/run/resolvconf",
                                           "/run/NetworkManager", NULL};
    for (int i = 0; resolver[i]; i++)
        opt3(b, "--ro-bind-try", resolver[i], resolver[i]);

    sbuf hb = {0}, tb = {0};
    sbuf_addf(&hb, "%s/home", s->session_dir);
    sbuf_addf(&tb, "%s/tmp", s->session_dir);
    if (hb.failed || tb.failed)
        b->failed = 1;
    else {
        opt3(b, "--bind", hb.data, s->sandbox_home);
        opt3(b, "--bind", tb.data, "/tmp");
    }
    sbuf_wipe(&hb);
    sbuf_wipe(&tb);
    opt2(b, "--tmpfs", "/var/tmp");
    opt2(b, "--chdir", s->sandbox_home);

    /* A user namespace of its own, in which no further one can be made
     * (`unshare -U -r` would hand the session a root it can use against
     * kernel interfaces), and a network of its own: only its loopback, so
     * no reaching the API, other hosts' sshd, or anything beyond. */
    sbuf_arg(b, "--unshare-user");
    sbuf_arg(b, "--disable-userns");
    sbuf_arg(b, "--unshare-net");
    sbuf_arg(b, "--unshare-pid");
    sbuf_arg(b, "--unshare-ipc");
    sbuf_arg(b, "--unshare-uts");
    sbuf_arg(b, "--unshare-cgroup-try");
    opt2(b, "--hostname", s->hostname);
    sbuf_arg(b, "--die-with-parent");
    opt2(b, "--cap-drop", "ALL");

    opt3(b, "--setenv", "HOME", s->sandbox_home);
    opt3(b, "--setenv", "SHELL", s->inner_shell);
    opt3(b, "--setenv", "USER", s->login_user);
    opt3(b, "--setenv", "LOGNAME", s->login_user);
    sbuf_arg(b, "--unsetenv");
    sbuf_arg(b, "MAIL");
}

/* sshd (without PAM) refuses a locked account ("!..." in shadow), key or
 * not: a sandbox user made by hand with a plain useradd is locked. */
static int unlock(char *why, size_t why_size)
{
    char buf[4096];
    struct spwd sp, *res = NULL;
    getspnam_r(LOCAL_SANDBOX_USER, &sp, buf, sizeof buf, &res);
    if (!res || !res->sp_pwdp || res->sp_pwdp[0] != '!') return 0;
    const char *argv[] = {"/usr/sbin/usermod", "--password", "*", LOCAL_SANDBOX_USER, NULL};
    char out[256], err[256] = "";
    if (local_run(argv, NULL, out, sizeof out, err, sizeof err) != 0) {
        snprintf(why, why_size,
                 "the sandbox user %s is locked and usermod could not unlock it; sshd refuses "
                 "locked accounts: usermod -p '*' %s",
                 LOCAL_SANDBOX_USER, LOCAL_SANDBOX_USER);
        return -1;
    }
    return 0;
}

int local_sandbox_user(uid_t *uid, gid_t *gid, char *why, size_t why_size)
{
    char buf[4096];
    struct passwd pw, *res = NULL;
    getpwnam_r(LOCAL_SANDBOX_USER, &pw, buf, sizeof buf, &res);
    if (!res) {
        /* Password "*": no password login, but not "locked" ("!"), which
         * sshd refuses even for a key. */
        const char *argv[] = {
            "/usr/sbin/useradd", "--system", "--user-group", "--no-create-home",
            "--home-dir",        "/",        "--shell",      "/bin/sh",
            "--password",        "*",        "--comment",    "litterbox-server sandbox sessions",
            LOCAL_SANDBOX_USER,  NULL};
        char out[512], err[256] = "";
        int rc = 0;
        /* Another process (a second server, a test) may be adding it at the
         * same moment and hold the lock of /etc/passwd: look again, retry. */
        for (int attempt = 0; attempt < 10 && !res; attempt++) {
            if (attempt) local_sleep_ms(200);
            rc = local_run(argv, NULL, out, sizeof out, err, sizeof err);
            getpwnam_r(LOCAL_SANDBOX_USER, &pw, buf, sizeof buf, &res);
        }
        for (char *p = out; *p; p++)
            if (*p == '\n') *p = ' ';
        if (!res) {
            snprintf(why, why_size, "cannot create the sandbox user %s with useradd (%s): %s",
                     LOCAL_SANDBOX_USER, rc < 0 ? err : "failed", out[0] ? out : "no output");
            return -1;
        }
    }
    if (res->pw_uid == 0) {
        snprintf(why, why_size, "the sandbox user %s has uid 0", LOCAL_SANDBOX_USER);
        return -1;
    }
    const char *shell = res->pw_shell && *res->pw_shell ? res->pw_shell : "/bin/sh";
    if (access(shell, X_OK) != 0 || strstr(shell, "nologin") || strstr(shell, "/false")) {
        snprintf(why, why_size,
                 "the sandbox user %s has no usable login shell (%s); sshd runs sessions "
                 "through it: usermod -s /bin/sh %s",
                 LOCAL_SANDBOX_USER, shell, LOCAL_SANDBOX_USER);
        return -1;
    }
    if (unlock(why, why_size) != 0) return -1;
    *uid = res->pw_uid;
    *gid = res->pw_gid;
    return 0;
}
