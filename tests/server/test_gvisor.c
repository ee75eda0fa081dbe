/* The gvisor provider for real: litterbox-server with --default-provider
 * gvisor, hosts created through the API, /usr/bin/ssh logging in with
 * nothing but what the create returned and StrictHostKeyChecking=yes.
 *
 * Checked: hostile env values arrive byte for byte in every session and
 * nothing in them runs; `ls -l /` and `stat /` work (the image's statx
 * shim); a background process outlives its session; a host reaches
 * neither the API port nor another host's sshd; scp and sftp; the limits
 * of an instance type (a memory hog fails, a fork loop stops, a full disk
 * is ENOSPC, and the host and server live on; the CPU quota the sandbox
 * is left with after its start); the sshd's key exchanges; unknown images and sizes
 * are 400s; delete leaves no process, mount, loop device or file.
 *
 * Prints a SKIP line and passes where runsc cannot run (not root, runsc
 * missing, no image). */
#include "harness.h"
#include "check.h"
#include "gvisor_hosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_refusals(const server *s)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"{\"image\":\"ubuntu:22.04\"}", "\\\"debian-12\\\""},
        {"{\"instance_type\":\"m5.large\"}", "gv-small"},
        {"{\"disk_gb\":100000}", "disk_gb"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("refused: %s", cases[i].body);
        raw_resp r;
        if (raw_request(s, "POST", "/hosts", TEST_TOKEN, "Content-Type: application/json\r\n",
                        cases[i].body, strlen(cases[i].body), &r) != 0) {
            CHECK_FAIL("no answer");
            continue;
        }
        CHECK_EQ_INT(r.status, 400);
        CHECK_CONTAINS(r.body, cases[i].want);
        raw_resp_free(&r);
    }
}

static void test_doctor(const server *s)
{
    check_set_case("doctor: the gvisor line");
    raw_resp r;
    if (raw_request(s, "GET", "/doctor", TEST_TOKEN, NULL, NULL, 0, &r) != 0) {
        CHECK_FAIL("no answer");
        return;
    }
    CHECK_EQ_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "a sandbox started and stopped");
    CHECK_CONTAINS(r.body, "debian-12");
    raw_resp_free(&r);
}

/* Env values no shell may ever interpret. */
static const char *const env_keys[] = {"SPACES", "QUOTES", "DOLLAR", "NEWLINES",
                                       "UTF8",   "EMPTY",  "EQUALS", NULL};
static const char *const env_values[] = {
    "  two  spaces\tand a tab ",
    "single ' double \" back ` end '\"",
    "$HOME ${PATH} $(touch /root/pwned1) `touch /root/pwned2` $$",
    "line1\nline2\r\n\n\"}],\"args\":[\"/bin/touch\",\"/root/pwned3\"]",
    "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x90\xb1",
    "",
    "a=b=c",
    NULL};

static void test_env(const server *s, const gv_host *a)
{
    check_set_case("env arrives exactly, in two sessions");
    for (int round = 0; round < 2; round++) {
        spawn_result r;
        if (gv_ssh(s, a, "env -0", &r) != 0) {
            CHECK_FAIL("ssh did not run");
            return;
        }
        CHECK_EQ_INT(r.status, 0);
        for (size_t k = 0; env_keys[k]; k++) {
            size_t klen = strlen(env_keys[k]);
            int found = 0;
            const char *value = NULL;
            for (size_t off = 0; off < r.out_len;) {
                const char *entry = r.out + off;
                size_t len = strnlen(entry, r.out_len - off);
                if (len > klen && !strncmp(entry, env_keys[k], klen) && entry[klen] == '=') {
                    found++;
                    value = entry + klen + 1;
                }
                off += len + 1;
            }
            if (found != 1)
                CHECK_FAIL("%s present %d times", env_keys[k], found);
            else if (strcmp(value, env_values[k]) != 0)
                CHECK_FAIL("%s differs: got \"%s\"", env_keys[k], value);
            else
                CHECK(1);
        }
        spawn_result_free(&r);
    }
    check_set_case("nothing in a value ran");
    int st;
    char *out =
        gv_ssh_out(s, a, "ls /root/pwned1 /root/pwned2 /root/pwned3 2>/dev/null | wc -l", &st);
    CHECK_EQ_STR(out, "0\n");
    free(out);
}

static void test_identity(const server *s, const gv_host *a)
{
    check_set_case("who and where: root of its own machine; ls and stat work");
    int st;
    char *out = gv_ssh_out(s, a,
                           "id -un; hostname; ls -l / >/dev/null && echo ls-ok; "
                           "stat / >/dev/null && echo stat-ok; cat /proc/1/cmdline",
                           &st);
    char want[256];
    snprintf(want, sizeof want, "root\n%s\nls-ok\nstat-ok\n/usr/lib/litterbox/init", a->name);
    CHECK_EQ_INT(st, 0);
    CHECK_EQ_STR(out, want);
    free(out);
}

static void test_background(const server *s, const gv_host *a)
{
    check_set_case("a background process outlives its session");
    int st;
    char *pid = gv_ssh_out(s, a, "nohup sleep 600 >/dev/null 2>&1 & echo $!", &st);
    CHECK_EQ_INT(st, 0);
    pid[strcspn(pid, "\n")] = '\0';
    char cmd[128];
    snprintf(cmd, sizeof cmd, "cat /proc/%s/cmdline | tr '\\0' ' '", pid);
    char *out = gv_ssh_out(s, a, cmd, &st);
    CHECK_EQ_STR(out, "sleep 600 ");
    free(out);
    free(pid);

    check_set_case("files persist between sessions");
    free(gv_ssh_out(s, a, "echo kept > /root/kept.txt", &st));
    out = gv_ssh_out(s, a, "cat /root/kept.txt", &st);
    CHECK_EQ_STR(out, "kept\n");
    free(out);
}

/* From inside a: connect to a port of the machine's loopback. */
static void expect_unreachable(const server *s, const gv_host *a, int port, const char *what)
{
    check_set_case("unreachable from inside: %s (port %d)", what, port);
    char cmd[400];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import socket\ntry:\n socket.create_connection((\"127.0.0.1\", %d), "
             "3); print(\"connected\")\nexcept OSError as e: print(\"refused\")'",
             port);
    int st;
    char *out = gv_ssh_out(s, a, cmd, &st);
    CHECK_EQ_STR(out, "refused\n");
    free(out);
}

static void test_files(const server *s, const gv_host *a)
{
    char local[400], back[400];
    snprintf(local, sizeof local, "%s/upload.txt", s->dir);
    snprintf(back, sizeof back, "%s/download.txt", s->dir);
    FILE *f = fopen(local, "w");
    if (f) {
        fputs("through scp\n", f);
        fclose(f);
    }
    check_set_case("scp into the host");
    char dest[128];
    snprintf(dest, sizeof dest, "%s@127.0.0.1:/root/upload.txt", a->user);
    const char *scp_args[] = {local, dest, NULL};
    CHECK_EQ_INT(gv_copy(s, a, "/usr/bin/scp", scp_args, NULL), 0);
    int st;
    char *out = gv_ssh_out(s, a, "cat /root/upload.txt", &st);
    CHECK_EQ_STR(out, "through scp\n");
    free(out);

    check_set_case("sftp out of the host");
    char batch[600];
    snprintf(batch, sizeof batch, "get /root/upload.txt %s\n", back);
    const char *none[] = {NULL};
    CHECK_EQ_INT(gv_copy(s, a, "/usr/bin/sftp", none, batch), 0);
    f = fopen(back, "r");
    char line[64] = "";
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        fclose(f);
    }
    CHECK_EQ_STR(line, "through scp\n");
}

static int healthy(const server *s)
{
    raw_resp r;
    if (raw_request(s, "GET", "/healthz", NULL, NULL, NULL, 0, &r) != 0) return 0;
    int ok = r.status == 200;
    raw_resp_free(&r);
    return ok;
}

/* Each limit: the command inside and what it must print. gv-small: 512 MiB
 * a process, 256 processes; the host's disk is 1 GB. */
static const struct {
    const char *name, *command, *want;
} limit_cases[] = {
    {"a memory hog fails, alone", "python3 -c 'b = bytearray(700 << 20)' 2>/dev/null; echo exit=$?",
     "exit=1\n"},
    /* posix_spawn (a vfork): the loop is about processes, not the memory
     * 250 copies of python would dirty. */
    {"a fork loop stops at the pids limit",
     "python3 -c '\nimport os\npids = []\ntry:\n while len(pids) < 2000:\n"
     "  pids.append(os.posix_spawn(\"/bin/sleep\", [\"sleep\", \"60\"], {}))\n"
     "except OSError as e:\n print(\"stopped\", e.errno == 11, 100 < len(pids) <= 256)\n"
     "for p in pids: os.kill(p, 9)'",
     "stopped True True\n"},
    {"a disk fuller than disk_gb is ENOSPC",
     "dd if=/dev/zero of=/root/fill bs=1M count=1300 2>&1 | grep -c 'No space left'; "
     "rm -f /root/fill",
     "1\n"},
    {"the host's sizes as its processes see them", "ulimit -u; ulimit -v", "256\n524288\n"},
};

static void test_limits(const server *s, const gv_host *a)
{
    for (size_t i = 0; i < sizeof limit_cases / sizeof limit_cases[0]; i++) {
        check_set_case("%s", limit_cases[i].name);
        int st;
        char *out = gv_ssh_out(s, a, limit_cases[i].command, &st);
        CHECK_EQ_STR(out, limit_cases[i].want);
        free(out);
        check_set_case("%s: the host and the server live on", limit_cases[i].name);
        out = gv_ssh_out(s, a, "echo alive", &st);
        CHECK_EQ_STR(out, "alive\n");
        free(out);
        CHECK(healthy(s));
    }
}

/* The CFS quota of host id's sandbox cgroup on the machine, in
 * microseconds a 100 ms period (cgroup v2's cpu.max, else v1's
 * cpu.cfs_quota_us); -1 when there is none to read. */
static long long cpu_quota(const char *id)
{
    char path[300], text[64] = "";
    snprintf(path, sizeof path, "/sys/fs/cgroup/litterbox-gvisor/%s/cpu.max", id);
    if (access(path, F_OK) != 0)
        snprintf(path, sizeof path, "/sys/fs/cgroup/cpu/litterbox-gvisor/%s/cpu.cfs_quota_us", id);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    if (!fgets(text, sizeof text, f)) text[0] = '\0';
    fclose(f);
    char *end;
    long long q = strtoll(text, &end, 10);
    return end == text ? -1 : q;
}

static void test_cpu(const gv_host *a, const gv_host *b)
{
    /* The sandbox starts with the machine's CPUs and gets its own quota
     * right after (spec.c): this is what it is left with. */
    check_set_case("CPU quota: gv-small 1 CPU, gv-medium 2");
    CHECK_EQ_INT(cpu_quota(a->id), 100000);
    CHECK_EQ_INT(cpu_quota(b->id), 200000);
}

static void test_other_size(const server *s, const gv_host *b, const lb_host *hb)
{
    check_set_case("instance_type gv-medium: its limits, echoed");
    CHECK_EQ_STR(hb->instance_type, "gv-medium");
    int st;
    char *out = gv_ssh_out(s, b, "ulimit -u; ulimit -v", &st);
    CHECK_EQ_STR(out, "512\n1048576\n");
    free(out);
}

static void test_kex(const server *s, const gv_host *a)
{
    /* sshd_config leaves out the post-quantum hybrid (local/sshd.c says
     * why), and keeps the rest for older clients. */
    static const struct {
        const char *kex;
        int status; /* ssh's: 255 when it could not connect */
    } cases[] = {
        {"KexAlgorithms=sntrup761x25519-sha512@openssh.com", 255},
        {"KexAlgorithms=curve25519-sha256", 0},
        {"KexAlgorithms=ecdh-sha2-nistp256", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("the host's sshd and %s", cases[i].kex);
        spawn_result r;
        if (!CHECK(gv_ssh_opt(s, a, cases[i].kex, "true", &r) == 0)) continue;
        CHECK_EQ_INT(r.status, cases[i].status);
        spawn_result_free(&r);
    }
}

int main(void)
{
    const char *why = gv_cannot_run();
    if (why) {
        printf("SKIP: gvisor provider tests: %s\n", why);
        return 0;
    }
    server s = {0};
    if (server_init(&s) != 0) return 1;
    const char *args[] = {"--default-provider", "gvisor", "--gvisor-images", gv_images_dir(), NULL};
    if (server_start(&s, args) != 0) {
        server_cleanup(&s);
        return 1;
    }
    lb_client *c = server_client(&s, NULL);
    test_refusals(&s);
    test_doctor(&s);

    const char *env[16];
    char entries[16][256];
    size_t n = 0;
    for (; env_keys[n]; n++) {
        snprintf(entries[n], sizeof entries[n], "%s=%s", env_keys[n], env_values[n]);
        env[n] = entries[n];
    }
    env[n] = NULL;
    lb_host *ha = gv_create(c, env, NULL, 1);
    lb_host *hb = gv_create(c, NULL, "gv-medium", 0);
    gv_host a, b;
    check_set_case("two hosts made");
    if (!CHECK(ha && hb) || !CHECK(gv_host_from(&s, ha, "a", &a) == 0) ||
        !CHECK(gv_host_from(&s, hb, "b", &b) == 0))
        goto out;
    CHECK_EQ_STR(ha->image, "debian-12");
    CHECK_EQ_STR(ha->instance_type, "gv-small");
    CHECK_EQ_INT(ha->disk_gb, 1);
    CHECK_EQ_STR(ha->ssh_username, "root");

    test_env(&s, &a);
    test_identity(&s, &a);
    test_background(&s, &a);
    expect_unreachable(&s, &a, s.port, "the API");
    expect_unreachable(&s, &a, b.port, "another host's sshd");
    test_files(&s, &a);
    test_limits(&s, &a);
    test_other_size(&s, &b, hb);
    test_cpu(&a, &b);
    test_kex(&s, &a);

    check_set_case("delete leaves nothing behind");
    lb_error err;
    CHECK_EQ_INT(lb_delete_host(c, a.id, &err), LB_OK);
    CHECK_EQ_INT(lb_delete_host(c, b.id, &err), LB_OK);
    CHECK_EQ_INT(gv_leftovers(s.state_dir, a.id), 0);
    CHECK_EQ_INT(gv_leftovers(s.state_dir, b.id), 0);
out:
    lb_host_free(ha);
    lb_host_free(hb);
    lb_client_close(c);
    check_set_case("the server stops cleanly");
    CHECK_EQ_INT(server_stop(&s), 0);
    server_cleanup(&s);
    return check_summary();
}
