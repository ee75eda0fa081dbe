/* A host's writable layer. The image is shared and never written; each
 * host writes into an overlay whose upper half lives on an ext4 file
 * system of its own, disk_gb large (a sparse file: it costs what is
 * written), so a full disk is ENOSPC in that host and nowhere else. The
 * sandbox's gofer reads and writes the overlay like any folder. */
#include "gvisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAYER_CMD_MS 60000

int gv_is_mount(const char *path)
{
    struct stat st, parent;
    char *up = local_path(path, "..");
    int mounted = up && stat(path, &st) == 0 && stat(up, &parent) == 0 &&
                  (st.st_dev != parent.st_dev || st.st_ino == parent.st_ino);
    free(up);
    return mounted;
}

static int make_sparse(const char *path, long long disk_gb, char *why, size_t why_size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, why_size, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = ftruncate(fd, (off_t)disk_gb << 30);
    if (rc != 0) snprintf(why, why_size, "cannot size %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* Runs a program of the layer's making; its output becomes the why. */
static int run_step(const char *const argv[], char *why, size_t why_size)
{
    char out[512];
    local_run_opts opts = {LAYER_CMD_MS, (uid_t)-1, (gid_t)-1};
    int rc = local_run(argv, &opts, out, sizeof out, why, why_size);
    if (rc == 0) return 0;
    if (rc > 0) {
        for (char *c = out; *c; c++)
            if (*c == '\n') *c = ' ';
        snprintf(why, why_size, "%s failed (exit %d): %.300s", argv[0], rc, out);
    }
    return -1;
}

int gv_layer_make(const char *dir, const char *image_rootfs, long long disk_gb, char *why,
                  size_t why_size)
{
    char *img = local_path(dir, "disk.img"), *disk = local_path(dir, "disk");
    char *rootfs = local_path(dir, "rootfs");
    char *upper = disk ? local_path(disk, "upper") : NULL;
    char *work = disk ? local_path(disk, "work") : NULL;
    sbuf opts = {0};
    int rc = -1;
    if (!img || !disk || !rootfs || !upper || !work) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    /* The overlay's options are comma-separated paths. */
    if (strpbrk(dir, ",:") || strpbrk(image_rootfs, ",:")) {
        snprintf(why, why_size, "the paths of an overlay may not hold ',' or ':' (%s, %s)", dir,
                 image_rootfs);
        goto out;
    }
    if (make_sparse(img, disk_gb, why, why_size) != 0 ||
        local_mkdir(disk, 0700, (uid_t)-1, (gid_t)-1, why, why_size) != 0 ||
        local_mkdir(rootfs, 0755, (uid_t)-1, (gid_t)-1, why, why_size) != 0)
        goto out;
    /* No reserved blocks (the host owns the whole disk), no lazy
     * initialisation left for a kernel thread to do later. */
    const char *mkfs[] = {
        GV_MKFS, "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard",
        img,     NULL};
    const char *mount_disk[] = {GV_MOUNT, "-o", "loop,nosuid,nodev", img, disk, NULL};
    if (run_step(mkfs, why, why_size) != 0 || run_step(mount_disk, why, why_size) != 0) goto out;
    if (local_mkdir(upper, 0755, (uid_t)-1, (gid_t)-1, why, why_size) != 0 ||
        local_mkdir(work, 0700, (uid_t)-1, (gid_t)-1, why, why_size) != 0)
        goto out;
    sbuf_addf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s", image_rootfs, upper, work);
    if (opts.failed) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    if (mount("overlay", rootfs, "overlay", MS_NOSUID | MS_NODEV, opts.data) != 0) {
        snprintf(why, why_size, "cannot mount the host's overlay on %s: %s", rootfs,
                 strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && dir) {
        char ignored[128];
        gv_layer_remove(dir, ignored, sizeof ignored);
    }
    sbuf_wipe(&opts);
    free(img);
    free(disk);
    free(rootfs);
    free(upper);
    free(work);
    return rc;
}

/* umount, else a lazy one (a process may still hold a file there for a
 * moment); the mount is gone from the tree either way. */
static int unmount(const char *path, char *why, size_t why_size)
{
    if (!gv_is_mount(path)) return 0;
    if (umount2(path, 0) == 0 || umount2(path, MNT_DETACH) == 0) return 0;
    snprintf(why, why_size, "cannot unmount %s: %s", path, strerror(errno));
    return -1;
}

int gv_layer_remove(const char *dir, char *why, size_t why_size)
{
    char *disk = local_path(dir, "disk"), *rootfs = local_path(dir, "rootfs");
    int rc = -1;
    if (!disk || !rootfs)
        snprintf(why, why_size, "out of memory");
    else if (unmount(rootfs, why, why_size) == 0 && unmount(disk, why, why_size) == 0)
        rc = 0;
    free(disk);
    free(rootfs);
    return rc;
}
