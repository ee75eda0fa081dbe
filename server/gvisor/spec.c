/* The JSON runsc reads. Written by hand (small objects of strings and
 * numbers), every string through gv_json_str, so that no value can end a
 * string early. */
#include "gvisor.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void gv_json_str(sbuf *b, const char *s)
{
    sbuf_add(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char esc[2] = {'\\', (char)*c};
            sbuf_add(b, esc, 2);
        } else if (*c < 0x20 || *c == 0x7f) {
            sbuf_addf(b, "\\u%04x", *c);
        } else {
            sbuf_add(b, c, 1);
        }
    }
    sbuf_add(b, "\"", 1);
}

static void str_array(sbuf *b, const char *const *v, size_t n)
{
    sbuf_add(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i) sbuf_add(b, ",", 1);
        gv_json_str(b, v[i]);
    }
    sbuf_add(b, "]", 1);
}

/* What root in a host may do: own and change its files, switch users,
 * kill its processes. Not CAP_SYS_RESOURCE (it would lift the limits),
 * CAP_SYS_ADMIN, CAP_NET_ADMIN or anything else that reaches the sandbox's
 * own machinery. */
static const char *const capabilities[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",      "CAP_FOWNER",
    "CAP_SETGID", "CAP_SETUID",       "CAP_SETFCAP",     "CAP_SETPCAP",
    "CAP_KILL",   "CAP_SYS_CHROOT",   "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE",
};
#define NCAPS (sizeof capabilities / sizeof capabilities[0])

void gv_process_json(sbuf *b, const gv_process *p)
{
    sbuf_addf(b, "{\"terminal\":%s,\"user\":{\"uid\":0,\"gid\":0},\"args\":",
              p->terminal ? "true" : "false");
    str_array(b, p->args, p->nargs);
    sbuf_adds(b, ",\"env\":");
    str_array(b, p->env, p->nenv);
    sbuf_adds(b, ",\"cwd\":\"/root\",\"capabilities\":{");
    static const char *const sets[] = {"bounding", "effective", "permitted"};
    for (size_t i = 0; i < 3; i++) {
        sbuf_addf(b, "%s\"%s\":", i ? "," : "", sets[i]);
        str_array(b, capabilities, NCAPS);
    }
    sbuf_addf(b,
              "},\"rlimits\":["
              "{\"type\":\"RLIMIT_NOFILE\",\"hard\":65536,\"soft\":65536},"
              "{\"type\":\"RLIMIT_AS\",\"hard\":%lld,\"soft\":%lld},"
              "{\"type\":\"RLIMIT_NPROC\",\"hard\":%lld,\"soft\":%lld}],"
              "\"noNewPrivileges\":true}",
              p->limits.memory_bytes, p->limits.memory_bytes, p->limits.nproc, p->limits.nproc);
}

void gv_config_json(sbuf *b, const gv_sandbox *s)
{
    static const char *const init_args[] = {GV_INIT};
    static const char *const init_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                           "/usr/bin:/sbin:/bin",
                                           "HOME=/root"};
    gv_process init = {init_args, 1, init_env, 2, 0, s->limits};
    sbuf_adds(b, "{\"ociVersion\":\"1.0.0\",\"process\":");
    gv_process_json(b, &init);
    sbuf_adds(b, ",\"root\":{\"path\":");
    gv_json_str(b, s->rootfs);
    sbuf_adds(b, ",\"readonly\":false},\"hostname\":");
    gv_json_str(b, s->hostname);
    /* /tmp in the writable layer (on disk, counted in disk_gb), not in the
     * sandbox's memory. */
    sbuf_adds(b, ",\"mounts\":["
                 "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                 "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
                 "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
                 "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}],"
                 "\"linux\":{\"cgroupsPath\":");
    gv_json_str(b, s->cgroup);
    /* The quota here is the machine's CPUs (no limit): the sandbox's start
     * runs several threads at once and would take a third longer under
     * the host's own quota, which gv_cgroup_cpu_quota sets once it runs,
     * before anything of the host's does. Asking for one makes runsc give
     * the cgroup its cpu controller (cgroup v2 enables it only then). */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < s->cpus) cpus = s->cpus;
    sbuf_addf(b,
              ",\"resources\":{\"memory\":{\"limit\":%lld},"
              "\"cpu\":{\"quota\":%lld,\"period\":%d}},"
              "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},"
              "{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}]}}",
              s->cgroup_memory_bytes, (long long)cpus * GV_CPU_PERIOD_US, GV_CPU_PERIOD_US);
}
