/* The gvisor provider's parts (server/provider_gvisor.c glues them, and
 * reuses the local provider's files, keys, sshd and process pieces):
 *
 *   sizes.c    instance types (CPU, memory, processes), disk sizes, images
 *   spec.c     the JSON runsc reads: the sandbox's OCI config.json and the
 *              process of one session
 *   layer.c    a host's writable layer: a sparse ext4 image of disk_gb,
 *              loop-mounted, and an overlay of it on the read-only image
 *   runsc.c    runsc run / state / delete for one host
 *   pool.c     the warm pool: sandboxes started ahead of the creates
 *   doctor.c   the provider's line of GET /doctor
 *   session.c  the program sshd's ForceCommand runs for every session
 *              (litterbox-gvisor-session): the session enters the sandbox
 *
 * A host lives in <state_dir>/gvisor/<id>/ (0700, root):
 *
 *   sshd_config, ssh_host_ed25519_key(.pub), authorized_keys, sshd.log
 *                   the host's sshd, on 127.0.0.1, outside the sandbox
 *   env             the host's env, NUL-separated KEY=VALUE (0600)
 *   session.conf    what the session program needs: runsc, its root, the id,
 *                   the limits (no secret)
 *   config.json     the sandbox's OCI bundle (no secret)
 *   disk.img disk/  the writable layer's ext4 image and its mount
 *   rootfs/         the overlay the sandbox runs on
 *   runsc/          runsc's --root: this sandbox's state, nothing else
 *   runsc.log       what runsc and the sandbox say
 *
 * A sandbox of the warm pool has the same folder, named by its own id (the
 * sandbox's runsc id), with a file `warm` while it waits (and `warm_sshd`,
 * "PID PORT" of its sshd, once it is ready: the sshd runs, but lets nobody
 * in before the host's authorized_keys is written). The host that
 * takes it writes its id into `owner` first, then removes `warm`, and keeps
 * the folder under the sandbox's name ("sandbox" in the host's state). A
 * folder with `warm` and no `owner` belongs to nobody: a server that
 * starts removes it.
 */
#ifndef LBS_GVISOR_H
#define LBS_GVISOR_H

#include <stddef.h>
#include <sys/types.h>

#include "../local/local.h"

#define GV_RUNSC "/usr/bin/runsc"
#define GV_MOUNT "/usr/bin/mount"
#define GV_MKFS "/usr/sbin/mkfs.ext4"
#define GV_SESSION_PROGRAM "litterbox-gvisor-session"
/* The image's process 1 (server/gvisor/image/init.c). */
#define GV_INIT "/usr/lib/litterbox/init"
#define GV_DEFAULT_IMAGES "/var/cache/litterbox/gvisor"
#define GV_SHELL "/bin/bash"
#define GV_LOGIN_USER "root"
/* Each sandbox's cgroup is <hierarchy>/GV_CGROUP_PARENT/<id>. */
#define GV_CGROUP_PARENT "litterbox-gvisor"
/* The CFS period of a sandbox's CPU quota, in microseconds. */
#define GV_CPU_PERIOD_US 100000

/* ---- sizes.c ---- */

typedef struct gv_size {
    const char *name;
    int cpus;             /* CFS quota, in whole CPUs */
    long long memory_mib; /* per process (RLIMIT_AS); the sandbox's cgroup a little more */
    long long pids;       /* processes and threads in the host (RLIMIT_NPROC) */
} gv_size;

/* The size of instance_type, NULL for the default; NULL when unknown. */
const gv_size *gv_size_find(const char *instance_type);
/* The names, for a detail: "gv-small, gv-medium, gv-large". */
const char *gv_size_names(void);

#define GV_DISK_DEFAULT_GB 4
#define GV_DISK_MAX_GB 256
/* The memory the sandbox's own processes (sentry, gofer) need on top of the
 * host's limit: the cgroup bound is limit + this. */
#define GV_SANDBOX_OVERHEAD_MIB 256

/* The one image name the provider knows. */
#define GV_IMAGE "debian-12"
/* 1 when image is NULL or names GV_IMAGE. */
int gv_image_known(const char *image);

/* ---- spec.c ---- */

/* Appends s as a JSON string (quoted, escaped; any byte but NUL). */
void gv_json_str(sbuf *b, const char *s);

typedef struct gv_limits {
    long long memory_bytes; /* RLIMIT_AS */
    long long nproc;        /* RLIMIT_NPROC */
} gv_limits;

/* A process of the host: args, env ("K=V" strings), tty or not. */
typedef struct gv_process {
    const char *const *args;
    size_t nargs;
    const char *const *env;
    size_t nenv;
    int terminal;
    gv_limits limits;
} gv_process;

/* The process object of the OCI runtime spec: root, in /root, the
 * capabilities a host keeps (none that lift a limit), the limits. */
void gv_process_json(sbuf *b, const gv_process *p);

typedef struct gv_sandbox {
    const char *rootfs; /* the overlay */
    const char *hostname;
    const char *cgroup; /* cgroupsPath */
    int cpus;
    long long cgroup_memory_bytes;
    gv_limits limits;
} gv_sandbox;

/* config.json: process 1 is the image's init, no network namespace
 * sharing, the limits. */
void gv_config_json(sbuf *b, const gv_sandbox *s);

/* ---- layer.c ---- */

/* Makes <dir>/disk.img (sparse, disk_gb), formats it, mounts it on
 * <dir>/disk, and an overlay of image_rootfs with <dir>/disk/upper on
 * <dir>/rootfs. 0, or -1 with why (then nothing stays mounted). */
int gv_layer_make(const char *dir, const char *image_rootfs, long long disk_gb, char *why,
                  size_t why_size);
/* Unmounts <dir>/rootfs and <dir>/disk where mounted (the loop device goes
 * with the last); 0, or -1 with why. */
int gv_layer_remove(const char *dir, char *why, size_t why_size);
/* 1 when path is a mount point. */
int gv_is_mount(const char *path);

/* ---- runsc.c ---- */

/* Starts the sandbox of <dir> (config.json there) as `id`: the pid of
 * `runsc run --detach`, our child, or -1 with why. The create goes on
 * (keys, sshd) while the sandbox starts; then exactly one of gv_runsc_wait
 * and gv_runsc_forget reaps that pid. */
pid_t gv_runsc_launch(const char *dir, const char *id, char *why, size_t why_size);
/* Waits (at most timeout_ms) for that runsc to exit: its status says
 * whether the sandbox runs. 0, or -1 with why (runsc's last words). */
int gv_runsc_wait(const char *dir, pid_t runsc_pid, int timeout_ms, char *why, size_t why_size);
/* Sets the CPU quota of the running sandbox `id` to cpus whole CPUs (its
 * config asked for none while it started). 0, or -1 with why. */
int gv_cgroup_cpu_quota(const char *id, int cpus, char *why, size_t why_size);
/* Kills and reaps that runsc on a create's way out (after gv_runsc_stop
 * when it still ran; a no-op for pid <= 0). */
void gv_runsc_forget(pid_t runsc_pid);
/* 1 when runsc reports the sandbox running; 0 with why. */
int gv_runsc_running(const char *dir, const char *id, char *why, size_t why_size);
/* Stops the sandbox, whatever state it is in, and every process that runsc
 * started for it. 0, or -1 with why. */
int gv_runsc_stop(const char *dir, const char *id, char *why, size_t why_size);

/* ---- pool.c ---- */

/* Room for any id the provider takes (id_ok: up to 64 characters). */
#define GV_POOL_ID_SIZE 65

typedef struct gv_pool_ops {
    void *ctx;
    /* Starts a warm sandbox named id; *handle is the provider's, kept by
     * the pool with the id. 0, or -1 with why (then nothing of it is
     * left). */
    int (*make)(void *ctx, const char *id, void **handle, char *why, size_t why_size);
    /* Stops and removes the warm sandbox id, whatever state it is in, and
     * frees its handle. */
    void (*destroy)(void *ctx, const char *id, void *handle);
} gv_pool_ops;

typedef struct gv_pool gv_pool;

/* Starts the refill (a thread) of a pool of size sandboxes; NULL when out
 * of memory or threads. */
gv_pool *gv_pool_start(int size, const gv_pool_ops *ops);
/* Hands over the oldest ready sandbox: 1 with its id and handle, or 0 when
 * none is ready (never waits for one). The sandbox and its handle are the
 * caller's from then on. */
int gv_pool_take(gv_pool *p, char id[GV_POOL_ID_SIZE], void **handle);
/* Wakes the refill after a take (a start would compete with the take for
 * the CPUs); the refill then waits a moment more, for the host's first
 * session. */
void gv_pool_refill(gv_pool *p);
/* How many are ready, of how many, and how many creates took one. */
void gv_pool_counts(gv_pool *p, int *ready, int *size, long long *served);
/* Stops the refill (a start in flight finishes and is destroyed) and
 * destroys every ready sandbox. p may be NULL. */
void gv_pool_stop(gv_pool *p);

/* ---- doctor.c ---- */

struct provider_check;
typedef struct gv_doctor_in {
    const char *prerequisites_why; /* NULL when root, runsc, sshd... are there */
    const char *image_rootfs;      /* NULL when the image is not built */
    const char *image_why;
    const char *images_dir;
    const char *pool; /* the warm pool's counts, or NULL when there is none */
} gv_doctor_in;

void gv_doctor(const gv_doctor_in *in, struct provider_check *out);

#endif
