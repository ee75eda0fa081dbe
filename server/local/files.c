/* Files of a local host: written with their mode from the start, read
 * whole, removed without following links. */
#include "local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void local_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void local_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

long long local_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *local_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), n = strlen(name);
    char *p = malloc(a + n + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, n + 1);
    return p;
}

int local_plain_path(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("/._+,:=@-", c)))
            return 0;
    }
    return 1;
}

int local_write_file(const char *path, const void *data, size_t n, mode_t mode, char *why,
                     size_t why_size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0600);
    if (fd < 0) {
        snprintf(why, why_size, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(why, why_size, "cannot write %s: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    /* Created 0600 at most, widened only now that it is complete. */
    if (fchmod(fd, mode) != 0 || close(fd) != 0) {
        snprintf(why, why_size, "cannot finish %s: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

char *local_read_file(const char *path, size_t max, size_t *len_out, char *why, size_t why_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, why_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    sbuf b = {0};
    char chunk[4096];
    int bad = 0;
    sbuf_add(&b, "", 0);
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
            bad = 1;
            break;
        }
        if (r == 0) break;
        if (b.len + (size_t)r > max) {
            snprintf(why, why_size, "%s is larger than %zu bytes", path, max);
            bad = 1;
            break;
        }
        sbuf_add(&b, chunk, (size_t)r);
    }
    local_wipe(chunk, sizeof chunk);
    close(fd);
    if (!bad && b.failed) {
        snprintf(why, why_size, "out of memory reading %s", path);
        bad = 1;
    }
    if (bad) {
        sbuf_wipe(&b);
        return NULL;
    }
    if (len_out) *len_out = b.len;
    return b.data;
}

int local_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid, char *why, size_t why_size)
{
    if (mkdir(path, 0700) != 0) {
        snprintf(why, why_size, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if ((uid != (uid_t)-1 && chown(path, uid, gid) != 0) || chmod(path, mode) != 0) {
        snprintf(why, why_size, "cannot set owner and mode of %s: %s", path, strerror(errno));
        rmdir(path);
        return -1;
    }
    return 0;
}

/* rm -rf of a tree a session made, however deep: a session can nest
 * folders far beyond any fixed depth, and a host whose folder cannot go
 * can never be deleted. So no recursion and no fd per level: one directory
 * is open at a time; going down remembers the folder's name and its
 * parent's identity (memory grows with the depth, nothing else), and going
 * back up opens ".." and checks it is that parent before removing the
 * emptied child from it. Every process of the host is gone by then, so the
 * tree holds still. Folders are made writable and searchable on the way
 * down (a session may chmod its files). */
typedef struct level {
    char *name; /* in its parent */
    dev_t parent_dev;
    ino_t parent_ino;
} level;

static int open_dir_at(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
        /* A session may have taken the rights away from its own folder. */
        fchmodat(dirfd, name, 0700, 0);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd >= 0) fchmod(fd, 0700);
    return fd;
}

/* One pass over fd: removes every entry that is not a folder, and returns
 * the name of the first folder (malloc'd), or NULL when fd is now empty.
 * -1 in *failed with why on an error. */
static char *clear_files(int fd, const char *top, int *failed, char *why, size_t why_size)
{
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0) close(dup_fd);
        snprintf(why, why_size, "cannot read a folder below %s: %s", top, strerror(errno));
        *failed = 1;
        return NULL;
    }
    rewinddir(d);
    char *folder = NULL;
    struct dirent *e;
    while (!folder && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (unlinkat(fd, e->d_name, 0) == 0 || errno == ENOENT) continue;
        if (errno != EISDIR && errno != EPERM && errno != EACCES) {
            snprintf(why, why_size, "cannot remove %s below %s: %s", e->d_name, top,
                     strerror(errno));
            *failed = 1;
            break;
        }
        folder = strdup(e->d_name);
        if (!folder) {
            snprintf(why, why_size, "out of memory removing %s", top);
            *failed = 1;
        }
    }
    closedir(d);
    return folder;
}

int local_remove_tree(const char *path, char *why, size_t why_size)
{
    if (unlink(path) == 0 || errno == ENOENT) return 0;
    if (errno != EISDIR && errno != EPERM && errno != EACCES) {
        snprintf(why, why_size, "cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    int fd = open_dir_at(AT_FDCWD, path);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf(why, why_size, "cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    level *stack = NULL;
    size_t depth = 0, cap = 0;
    int rc = -1;
    for (;;) {
        int failed = 0;
        char *name = clear_files(fd, path, &failed, why, why_size);
        if (failed) {
            free(name);
            break;
        }
        if (name) {
            struct stat here;
            int sub = fstat(fd, &here) == 0 ? open_dir_at(fd, name) : -1;
            if (sub < 0) {
                snprintf(why, why_size, "cannot remove %s below %s: %s", name, path,
                         strerror(errno));
                free(name);
                break;
            }
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                level *grown = realloc(stack, ncap * sizeof *grown);
                if (!grown) {
                    snprintf(why, why_size, "out of memory removing %s", path);
                    close(sub);
                    free(name);
                    break;
                }
                stack = grown;
                cap = ncap;
            }
            stack[depth++] = (level){name, here.st_dev, here.st_ino};
            close(fd);
            fd = sub;
            continue;
        }
        /* This folder is empty: remove it from its parent. */
        if (depth == 0) {
            close(fd);
            fd = -1;
            if (rmdir(path) == 0 || errno == ENOENT)
                rc = 0;
            else
                snprintf(why, why_size, "cannot remove %s: %s", path, strerror(errno));
            break;
        }
        level *up = &stack[depth - 1];
        int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat pst;
        if (parent < 0 || fstat(parent, &pst) != 0 || pst.st_dev != up->parent_dev ||
            pst.st_ino != up->parent_ino) {
            snprintf(why, why_size, "cannot remove %s: a folder below it moved", path);
            if (parent >= 0) close(parent);
            break;
        }
        close(fd);
        fd = parent;
        if (unlinkat(fd, up->name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
            snprintf(why, why_size, "cannot remove %s below %s: %s", up->name, path,
                     strerror(errno));
            break;
        }
        free(up->name);
        depth--;
    }
    if (fd >= 0) close(fd);
    while (depth)
        free(stack[--depth].name);
    free(stack);
    return rc;
}
