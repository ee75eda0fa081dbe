/* The CLI's state folder: what it must keep between runs so that a key
 * the service returns once is never lost.
 *
 *   $XDG_STATE_HOME/litterbox/      (else ~/.local/state/litterbox), 0700
 *     hosts/<id>/private_key        0600, as create received it
 *     hosts/<id>/known_hosts        the host's keys, for StrictHostKeyChecking
 *     hosts/<id>/name
 *     creates/<idempotency key>     the request that key was first sent with
 *
 * Every file goes through file_write_private (0600, temporary name, rename,
 * no symbolic links). Host ids and idempotency keys are checked before
 * they become file names: the library allows neither '/' nor a leading
 * '.', and this file does not rely on it. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int state_path(const char *sub, char *buf, size_t size)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/litterbox%s%s", xdg, *sub ? "/" : "", sub);
    else if (home && home[0] == '/')
        n = snprintf(buf, size, "%s/.local/state/litterbox%s%s", home, *sub ? "/" : "", sub);
    else
        return -1;
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/** A name that is safe as one path component. */
static int component_ok(const char *s)
{
    if (!s || !*s || s[0] == '.' || strlen(s) > 255) return 0;
    for (const char *p = s; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20) return 0;
    return 1;
}

/** mkdir -p of @p path, each new folder 0700. */
static int make_folders(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
            *p = c;
            if (c == '\0') break;
        }
    }
    /* Made earlier with looser bits, or by someone else: it holds keys. */
    struct stat st;
    if (lstat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return (st.st_mode & 077) ? chmod(path, 0700) : 0;
}

int state_prepare(char *why, size_t why_size)
{
    static const char *const subs[] = {"hosts", "creates"};
    char path[PATH_MAX];
    if (state_path("", path, sizeof path) != 0) {
        snprintf(why, why_size, "no state folder: set HOME or XDG_STATE_HOME to an absolute path");
        return -1;
    }
    if (make_folders(path) != 0) {
        snprintf(why, why_size, "cannot make the state folder %s: %s", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (state_path(subs[i], path, sizeof path) != 0 || make_folders(path) != 0) {
            snprintf(why, why_size, "cannot make %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/** hosts/<id>/<file> into @p buf. */
static int host_file(const char *id, const char *file, char *buf, size_t size)
{
    char sub[PATH_MAX];
    if (!component_ok(id)) return -1;
    snprintf(sub, sizeof sub, "hosts/%s%s%s", id, *file ? "/" : "", file);
    return state_path(sub, buf, size);
}

/** Write @p text to hosts/<id>/<file>, making the host's folder first. */
static int save_host_file(const lb_host *h, const char *file, const char *text, char *path,
                          size_t size, char *why, size_t why_size)
{
    char dir[PATH_MAX];
    if (host_file(h->id, "", dir, sizeof dir) != 0 || host_file(h->id, file, path, size) != 0) {
        snprintf(why, why_size, "host id '%s' cannot name a folder", h->id);
        return -1;
    }
    if (make_folders(dir) != 0) {
        snprintf(why, why_size, "cannot make %s: %s", dir, strerror(errno));
        return -1;
    }
    return file_write_private(path, text, strlen(text), why, why_size);
}

int state_save_known_hosts(const lb_host *h, char *path, size_t size, char *why, size_t why_size)
{
    size_t n = strlen(h->known_hosts);
    char *text = malloc(n + 2);
    if (!text) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    memcpy(text, h->known_hosts, n + 1);
    if (n && text[n - 1] != '\n') memcpy(text + n, "\n", 2);
    int rc = save_host_file(h, "known_hosts", text, path, size, why, why_size);
    free(text);
    return rc;
}

int state_save_host(const lb_host *h, char *key_path, size_t key_path_size, char *why,
                    size_t why_size)
{
    char path[PATH_MAX];
    key_path[0] = '\0';
    /* The key first: it is the one thing that cannot be asked for again. */
    if (h->private_key && save_host_file(h, "private_key", h->private_key, key_path, key_path_size,
                                         why, why_size) != 0) {
        key_path[0] = '\0';
        return -1;
    }
    char name[300];
    snprintf(name, sizeof name, "%s\n", h->name);
    if (save_host_file(h, "name", name, path, sizeof path, why, why_size) != 0) return -1;
    return state_save_known_hosts(h, path, sizeof path, why, why_size);
}

int state_key_path(const char *id, char *path, size_t size)
{
    return host_file(id, "private_key", path, size) == 0 && access(path, R_OK) == 0;
}

void state_forget_host(const char *id)
{
    char dir[PATH_MAX], path[PATH_MAX + 300];
    if (host_file(id, "", dir, sizeof dir) != 0) return;
    DIR *d = opendir(dir);
    if (!d) return;
    /* The files this program writes, and any temporary one it left. */
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int state_check_create(const char *key, const char *request, char *why, size_t why_size)
{
    char sub[PATH_MAX], path[PATH_MAX];
    if (!component_ok(key)) {
        snprintf(why, why_size, "idempotency key '%s' cannot name a file", key);
        return -1;
    }
    snprintf(sub, sizeof sub, "creates/%s", key);
    if (state_path(sub, path, sizeof path) != 0) {
        snprintf(why, why_size, "no state folder");
        return -1;
    }
    size_t len;
    char *first = file_read_all(path, &len);
    if (first) {
        int same = strcmp(first, request) == 0;
        memset(first, 0, len); /* env values may be secrets */
        free(first);
        return same ? 0 : 1;
    }
    if (errno != ENOENT) {
        snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    return file_write_private(path, request, strlen(request), why, why_size);
}

void state_forget_create(const char *key)
{
    char sub[PATH_MAX], path[PATH_MAX];
    if (!component_ok(key)) return;
    snprintf(sub, sizeof sub, "creates/%s", key);
    if (state_path(sub, path, sizeof path) == 0) unlink(path);
}
