/* Files: the inputs that carry secrets (env files, header files, the token
 * file) and the outputs that are secrets (a private key) or that decide
 * whom ssh trusts (known_hosts). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define FILE_READ_MAX (1024 * 1024)

char *file_read_all(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    /* Pipes are welcome (`--env-file <(pass show x)` keeps a secret off
     * the disk); a folder is not. */
    struct stat st = {0};
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(fd);
        errno = e;
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap >= FILE_READ_MAX) {
                free(buf);
                close(fd);
                errno = EFBIG;
                return NULL;
            }
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                close(fd);
                errno = ENOMEM;
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/** What a line of an input file must look like, and how to say it is not. */
typedef struct line_format {
    char separator;     /* '=' or ':' */
    const char *expect; /* "KEY=VALUE" */
    int dotenv;         /* env files: `export KEY=V` as dotenv files write it; KEY checked */
} line_format;

/** An env KEY as the service takes it: [A-Za-z_][A-Za-z0-9_]*. */
static int env_key_ok(const char *key, size_t len)
{
    if (len == 0 || (key[0] >= '0' && key[0] <= '9')) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/**
 * Append each entry of a line file to @p list, as the SDK wants it:
 * `KEY=VALUE` for env, `Name: value` for headers. Blank lines and lines
 * whose first non-blank character is '#' are skipped; CRLF is accepted.
 */
static int line_file_load(const char *path, const line_format *fmt, str_list *list)
{
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) return fail(CLI_EXIT_LOCAL, "local", "cannot read %s: %s", path, strerror(errno));
    int rc = 0;
    if (memchr(text, '\0', len)) {
        rc = usage_error("%s: not a text file", path);
        goto done;
    }
    size_t lineno = 0;
    for (char *line = text; line && *line; lineno++) {
        char *nl = strchr(line, '\n');
        char *next = nl ? nl + 1 : NULL;
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (n > 0 && line[n - 1] == '\r') n--;
        const char *p = line;
        while (p < line + n && (*p == ' ' || *p == '\t'))
            p++;
        if (p == line + n || *p == '#') {
            line = next;
            continue;
        }
        if (fmt->dotenv && strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
            p += 6;
            while (*p == ' ' || *p == '\t')
                p++;
        }
        size_t rest = (size_t)(line + n - p);
        const char *sep = memchr(p, fmt->separator, rest);
        if (!sep || sep == p) {
            rc = usage_error("%s:%zu: expected %s", path, lineno + 1, fmt->expect);
            goto done;
        }
        if (fmt->dotenv && !env_key_ok(p, (size_t)(sep - p))) {
            rc = usage_error("%s:%zu: '%.*s' is not a KEY (letters, digits and _, not starting "
                             "with a digit)",
                             path, lineno + 1, (int)(sep - p), p);
            goto done;
        }
        if (str_list_push_copy(list, p, rest) != 0) {
            rc = fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
            goto done;
        }
        line = next;
    }
done:
    memset(text, 0, len); /* the values may be secrets */
    free(text);
    return rc;
}

int env_file_load(const char *path, str_list *env)
{
    static const line_format fmt = {'=', "KEY=VALUE", 1};
    return line_file_load(path, &fmt, env);
}

int header_file_load(const char *path, str_list *headers)
{
    static const line_format fmt = {':', "Name: value", 0};
    return line_file_load(path, &fmt, headers);
}

/* The temporary file being written, so that SIGINT can remove it. */
static char temp_path[PATH_MAX];
static volatile sig_atomic_t temp_live;

void file_abandon_temp(void)
{
    if (temp_live) unlink(temp_path);
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/** Split @p path into its folder ("." when none) and last component. */
static int split_path(const char *path, char *dir, size_t dir_size, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dir_size, ".");
        *base = path;
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= dir_size) return -1;
        memcpy(dir, path, n);
        dir[n] = '\0';
        *base = slash + 1;
    }
    return **base ? 0 : -1;
}

/** The checks a target path must pass before anything is written: a name
 *  with a folder we can write to, and no link or special file there. */
static int check_target(const char *path, char *dir, size_t dir_size, const char **base, char *why,
                        size_t why_size)
{
    if (split_path(path, dir, dir_size, base) != 0) {
        snprintf(why, why_size, "cannot write %s: not a file name", path);
        return -1;
    }
    /* rename() would replace a link rather than follow it, but a link here
     * means someone expects the data to land elsewhere: refuse outright. */
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            snprintf(why, why_size, "refusing to write %s: it is a symbolic link", path);
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(why, why_size, "refusing to write %s: not a regular file", path);
            return -1;
        }
    } else if (errno != ENOENT) {
        snprintf(why, why_size, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(why, why_size, "cannot write %s: %s: %s", path, dir, strerror(errno));
        return -1;
    }
    return 0;
}

int file_check_writable(const char *path, char *why, size_t why_size)
{
    char dir[PATH_MAX];
    const char *base;
    return check_target(path, dir, sizeof dir, &base, why, why_size);
}

int file_write_private(const char *path, const char *data, size_t len, char *why, size_t why_size)
{
    char dir[PATH_MAX];
    const char *base;
    if (check_target(path, dir, sizeof dir, &base, why, why_size) != 0) return -1;
    if (snprintf(temp_path, sizeof temp_path, "%s/.%s.XXXXXX", dir, base) >=
        (int)sizeof temp_path) {
        snprintf(why, why_size, "cannot write %s: name too long", path);
        return -1;
    }
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    int fd = mkstemp(temp_path); /* O_EXCL, mode 0600 */
    if (fd >= 0) temp_live = 1;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (fd < 0) {
        snprintf(why, why_size, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    const char *step = "write";
    if (fchmod(fd, 0600) != 0)
        step = "chmod";
    else if (write_all(fd, data, len) != 0)
        step = "write";
    else if (fsync(fd) != 0)
        step = "fsync";
    else
        step = NULL;
    int e = errno;
    if (close(fd) != 0 && !step) {
        step = "close";
        e = errno;
    }
    if (!step && rename(temp_path, path) != 0) {
        step = "rename";
        e = errno;
    }
    if (step) {
        unlink(temp_path);
        temp_live = 0;
        snprintf(why, why_size, "cannot write %s: %s: %s", path, step, strerror(e));
        return -1;
    }
    temp_live = 0;
    /* Make the rename itself durable; failing here loses nothing written. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

char *path_absolute(const char *path)
{
    if (path[0] == '/') return strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    const char *rel = path;
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    size_t n = strlen(cwd) + 1 + strlen(rel) + 1;
    char *abs = malloc(n);
    if (abs) snprintf(abs, n, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, rel);
    return abs;
}
