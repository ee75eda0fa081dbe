/* Preloaded in every process of a gvisor host (the image's
 * /etc/ld.so.preload). This runsc refuses statx() with AT_NO_AUTOMOUNT
 * (EINVAL, whatever the mask), and Debian 12's coreutils passes that flag,
 * so `ls` and `stat` fail inside the sandbox. A sandbox has no automount
 * points, so dropping the flag changes nothing else. Built by
 * scripts/gvisor-image.sh with the image's own compiler ABI (glibc). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)
{
    return (int)syscall(SYS_statx, dirfd, path, flags & ~AT_NO_AUTOMOUNT, mask, buf);
}
