/* The gvisor provider's line of GET /doctor: each thing a host needs, in
 * the order a fresh machine lacks them, with the command that fixes the
 * first one missing; then a real sandbox started and stopped. */
#include "gvisor.h"
#include "../provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRY_MS 30000

/* 1 when the memory and cpu controllers are there (cgroup v1 or v2). */
static int cgroups_ok(void)
{
    if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0 &&
        access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", F_OK) == 0)
        return 1;
    char err[64];
    char *controllers =
        local_read_file("/sys/fs/cgroup/cgroup.controllers", 4096, NULL, err, sizeof err);
    int ok = controllers && strstr(controllers, "memory") && strstr(controllers, "cpu");
    free(controllers);
    return ok;
}

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r') *s = ' ';
}

void gv_doctor(const gv_doctor_in *in, provider_check *out)
{
    long long t0 = local_now_ms();
    memset(out, 0, sizeof *out);
    out->latency_ms = -1;
    snprintf(out->status, sizeof out->status, "error");
    if (in->prerequisites_why) {
        snprintf(out->detail, sizeof out->detail, "%s", in->prerequisites_why);
        snprintf(out->hint, sizeof out->hint,
                 "bash scripts/install-deps.sh installs runsc, debootstrap and openssh-server; "
                 "the server must run as root");
        return;
    }
    if (!in->image_rootfs) {
        snprintf(out->detail, sizeof out->detail, "%s", in->image_why);
        snprintf(out->hint, sizeof out->hint, "sudo bash scripts/gvisor-image.sh %s",
                 in->images_dir);
        return;
    }
    if (!cgroups_ok()) {
        snprintf(out->detail, sizeof out->detail,
                 "no memory and cpu cgroup controllers under /sys/fs/cgroup: a host's limits "
                 "could not be enforced");
        snprintf(out->hint, sizeof out->hint,
                 "mount the cgroup controllers (cgroup v2: mount -t cgroup2 none /sys/fs/cgroup; "
                 "in a container: run it with its own cgroup namespace, writable)");
        return;
    }
    char text[512], why[256] = "", version[64] = "?";
    const char *v[] = {GV_RUNSC, "--version", NULL};
    if (local_run(v, NULL, text, sizeof text, why, sizeof why) == 0)
        snprintf(version, sizeof version, "%.*s", (int)strcspn(text, "\n"), text);
    const char *try[] = {GV_RUNSC, "--network=none", "do", "true", NULL};
    local_run_opts opts = {TRY_MS, (uid_t)-1, (gid_t)-1};
    long long t1 = local_now_ms();
    int rc = local_run(try, &opts, text, sizeof text, why, sizeof why);
    out->latency_ms = local_now_ms() - t0;
    if (rc != 0) {
        one_line(text);
        snprintf(out->detail, sizeof out->detail, "runsc cannot start a sandbox here: %.180s",
                 rc > 0 ? text : why);
        snprintf(out->hint, sizeof out->hint,
                 "try 'runsc --network=none do true' as root; runsc's ptrace platform needs "
                 "ptrace allowed (kernel.yama.ptrace_scope <= 1) and no seccomp filter on "
                 "the server");
        return;
    }
    snprintf(out->status, sizeof out->status, "ok");
    snprintf(out->detail, sizeof out->detail,
             "image \"" GV_IMAGE "\" (%.100s); %s; a sandbox started and stopped in %lld ms; "
             "%s%ssizes %s",
             in->image_rootfs, version, local_now_ms() - t1, in->pool ? in->pool : "",
             in->pool ? "; " : "", gv_size_names());
}
