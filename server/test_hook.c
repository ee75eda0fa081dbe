/* Pause points for tests, so that a race is driven step by step instead of
 * by sleeping. Off unless LITTERBOX_SERVER_TEST_HOOKS names a folder when
 * the server starts (a test sets it; nobody else has a reason to).
 *
 * At a point ("create": before the provider's create; "destroy": after the
 * claim, before the provider's destroy), when <folder>/<point> is a FIFO,
 * the thread opens it for writing (so it waits until the test reads),
 * writes the host id and a newline, then reads one byte from the FIFO
 * <folder>/<point>.go: the test, which holds that FIFO open, releases one
 * paused thread per byte it writes (or all of them by closing it). A point
 * whose FIFO does not exist costs one failed stat(). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

static char hook_dir[PATH_MAX];

void test_hook_init(void)
{
    const char *dir = getenv("LITTERBOX_SERVER_TEST_HOOKS");
    if (dir && *dir && strlen(dir) < sizeof hook_dir - 32) {
        snprintf(hook_dir, sizeof hook_dir, "%s", dir);
        fprintf(stderr, "litterbox-server: test pause points in %s\n", hook_dir);
    }
}

static int open_retrying(const char *path, int flags)
{
    int fd;
    while ((fd = open(path, flags | O_CLOEXEC)) < 0 && errno == EINTR) {
    }
    return fd;
}

void test_hook_pause(const char *point, const char *id)
{
    if (!hook_dir[0]) return;
    char path[PATH_MAX + 64];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", hook_dir, point);
    if (stat(path, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
    int fd = open_retrying(path, O_WRONLY);
    if (fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof line, "%s\n", id);
    if (write(fd, line, (size_t)n) != n) {
        /* The test went away: run on. */
    }
    close(fd);
    snprintf(path, sizeof path, "%s/%s.go", hook_dir, point);
    fd = open_retrying(path, O_RDONLY);
    if (fd < 0) return;
    char go;
    while (read(fd, &go, 1) < 0 && errno == EINTR) {
    }
    close(fd);
}
