/* The local provider through provider.h alone, no HTTP: the paths the
 * server's validation never lets through (bad ids, bad env keys), failure
 * leaving nothing behind, destroy's idempotence and its care with pids from
 * a state it cannot trust, alive() on a stopped or killed sshd, doctor;
 * and the removal of any tree a session can make (no depth limit).
 *
 * The provider's sources are compiled into this program: the server's
 * CMake links them into litterbox-server only. */
#define _GNU_SOURCE /* run.c's unshare(), declared by the first system header */
#include "../../server/buf.c"
#include "../../server/provider_local.c"
#include "../../server/local/env.c"
#include "../../server/local/files.c"
#include "../../server/local/keys.c"
#include "../../server/local/proc.c"
#include "../../server/local/run.c"
#include "../../server/local/sandbox.c"
#include "../../server/local/sshd.c"

#include "check.h"
#include "harness.h"
#include "../cli/spawn.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>

static char g_state[256];
static char g_scratch[256]; /* keys, known_hosts, other state folders */

static int count_hosts(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/hosts", g_state);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void info_clear(host_info *h)
{
    free(h->image);
    free(h->ssh_host);
    free(h->ssh_username);
    free(h->known_hosts);
    if (h->private_key) {
        local_wipe(h->private_key, strlen(h->private_key));
        free(h->private_key);
    }
    free(h->instance_type);
    free(h->state);
    memset(h, 0, sizeof *h);
}

static host_spec spec_of(const char *id, const char *name)
{
    host_spec s;
    memset(&s, 0, sizeof s);
    s.id = id;
    s.name = name;
    return s;
}

static void test_new(void)
{
    char why[512];
    check_set_case("provider_local_new refuses what it cannot use");
    CHECK(provider_local_new(NULL, why, sizeof why) == NULL);
    provider_config cfg = {0, 0};
    char odd[300];
    snprintf(odd, sizeof odd, "%s/with space", g_state);
    cfg.state_dir = odd;
    CHECK(provider_local_new(&cfg, why, sizeof why) == NULL);
    CHECK_CONTAINS(why, "may only hold");
    rmdir(odd);
}

static void test_check(provider *p)
{
    char detail[256];
    host_spec s = spec_of("x", "sb-000000000000");
    check_set_case("check");
    CHECK_EQ_INT(p->check(p, &s, detail, sizeof detail), 0);
    s.image = "local";
    CHECK_EQ_INT(p->check(p, &s, detail, sizeof detail), 0);
    s.image = "ubuntu:22.04";
    CHECK_EQ_INT(p->check(p, &s, detail, sizeof detail), -1);
    CHECK_CONTAINS(detail, "\"ubuntu:22.04\"");
    CHECK_CONTAINS(detail, "\"local\"");
    s.image = "evil\"\n\x01image-with-a-very-long-name-that-goes-on-and-on-and-on-and-on-and-on";
    CHECK_EQ_INT(p->check(p, &s, detail, sizeof detail), -1);
    CHECK_LACKS(detail, "\n");
    CHECK_CONTAINS(detail, "...");
    s.image = NULL;
    s.instance_type = "cx33";
    CHECK_EQ_INT(p->check(p, &s, detail, sizeof detail), -1);
    CHECK_CONTAINS(detail, "instance_type");
    s.instance_type = NULL;
    s.disk_gb = 10;
    CHECK_EQ_INT(p->check(p, &s, detail, sizeof detail), -1);
    CHECK_CONTAINS(detail, "disk_gb");
}

static void test_create_failures(provider *p)
{
    char why[512];
    host_info info;
    check_set_case("a create that fails leaves nothing");
    const char *keys[] = {"GOOD", "1BAD"};
    const char *values[] = {"secret-value-1", "secret-value-2"};
    host_spec s = spec_of("11111111-1111-4111-8111-111111111111", "sb-111111111111");
    s.env_keys = keys;
    s.env_values = values;
    s.env_count = 2;
    CHECK_EQ_INT(p->create(p, &s, &info, why, sizeof why), -1);
    CHECK_CONTAINS(why, "env key");
    CHECK_LACKS(why, "secret-value");
    CHECK_EQ_INT(count_hosts(), 0);

    check_set_case("ids and names that are not the server's are refused");
    host_spec bad = spec_of("../../etc", "sb-111111111111");
    CHECK_EQ_INT(p->create(p, &bad, &info, why, sizeof why), -1);
    bad = spec_of("22222222-2222-4222-8222-222222222222", "sb-2 $(x)");
    CHECK_EQ_INT(p->create(p, &bad, &info, why, sizeof why), -1);
    CHECK_EQ_INT(count_hosts(), 0);
    CHECK_EQ_INT(p->destroy(p, "../../etc", NULL, why, sizeof why), -1);
}

static void test_lifecycle(provider *p)
{
    char why[512];
    host_info info;
    const char *id = "33333333-3333-4333-8333-333333333333";
    host_spec s = spec_of(id, "sb-333333333333");
    check_set_case("create, alive, stopped, destroy, destroy again");
    if (p->create(p, &s, &info, why, sizeof why) != 0) {
        CHECK_FAIL("create: %s", why);
        return;
    }
    CHECK_EQ_STR(info.image, "local");
    CHECK_EQ_STR(info.ssh_host, "127.0.0.1");
    char prefix[64];
    snprintf(prefix, sizeof prefix, "[127.0.0.1]:%d ssh-ed25519 ", info.ssh_port);
    CHECK(strncmp(info.known_hosts, prefix, strlen(prefix)) == 0);
    CHECK(info.private_key && strstr(info.private_key, "OPENSSH PRIVATE KEY"));
    CHECK_EQ_STR(info.instance_type, NULL);
    CHECK_EQ_INT(info.disk_gb, 0);
    pid_t pid = (pid_t)state_number(info.state, "pid");
    CHECK(pid > 1);
    CHECK_EQ_INT(p->alive(p, id, info.state, why, sizeof why), 1);

    /* Stopped: the port accepts, but nothing answers. */
    kill(pid, SIGSTOP);
    why[0] = '\0';
    CHECK_EQ_INT(p->alive(p, id, info.state, why, sizeof why), 0);
    CHECK_CONTAINS(why, "does not answer");
    kill(pid, SIGCONT);
    CHECK_EQ_INT(p->alive(p, id, info.state, why, sizeof why), 1);

    /* A state that lies (pid 1, our own pid) must never kill those. */
    char lie[128];
    snprintf(lie, sizeof lie, "{\"pid\":%d,\"port\":%d}", (int)getpid(), info.ssh_port);
    CHECK_EQ_INT(p->alive(p, id, lie, why, sizeof why), 0);

    /* Destroy with no state at all still finds the sshd (by its log). */
    CHECK_EQ_INT(p->destroy(p, id, NULL, why, sizeof why), 0);
    CHECK(!local_proc_alive(pid));
    CHECK_EQ_INT(count_hosts(), 0);
    CHECK_EQ_INT(p->alive(p, id, info.state, why, sizeof why), 0);
    CHECK_CONTAINS(why, "no longer running");
    CHECK_EQ_INT(p->destroy(p, id, info.state, why, sizeof why), 0);
    CHECK_EQ_INT(p->destroy(p, id, "{\"pid\":1,\"port\":22}", why, sizeof why), 0);
    snprintf(lie, sizeof lie, "{\"pid\":%d}", (int)getpid());
    CHECK_EQ_INT(p->destroy(p, id, lie, why, sizeof why), 0);
    info_clear(&info);
}

/* Folders nested depth deep below dir ("d/d/d/..."), made one level at a
 * time through fds as a session would (the path outgrows PATH_MAX), with a
 * file, a symlink out of the tree and a folder of mode 000 along the way. */
static int make_deep(const char *dir, int depth, const char *outside)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; fd >= 0 && i < depth; i++) {
        if (i % 500 == 7) {
            int f = openat(fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
            if (f >= 0) close(f);
            symlinkat(outside, fd, "link-out");
            mkdirat(fd, "locked", 0);
        }
        int sub =
            mkdirat(fd, "d", 0700) == 0 ? openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        close(fd);
        fd = sub;
    }
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

static void test_remove_tree(void)
{
    static const int depths[] = {1, 255, 300, 5000};
    char why[512];
    char outside[300], kept[340];
    snprintf(outside, sizeof outside, "%s/outside", g_scratch);
    snprintf(kept, sizeof kept, "%s/kept", outside);
    mkdir(outside, 0700);
    int f = open(kept, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (f >= 0) close(f);
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        check_set_case("local_remove_tree: folders %d deep", depths[i]);
        char top[300];
        snprintf(top, sizeof top, "%s/tree", g_scratch);
        mkdir(top, 0700);
        CHECK_EQ_INT(make_deep(top, depths[i], outside), 0);
        why[0] = '\0';
        CHECK_EQ_INT(local_remove_tree(top, why, sizeof why), 0);
        CHECK_EQ_STR(why, "");
        CHECK(access(top, F_OK) != 0);
        CHECK_EQ_INT(access(kept, F_OK), 0); /* links are removed, not followed */
    }
    check_set_case("local_remove_tree: a missing path is success");
    CHECK_EQ_INT(local_remove_tree("/nonexistent/lbs-nothing", why, sizeof why), 0);
}

/* A session that nests 3000 folders in its home must not make its host
 * undeletable. */
static void test_destroy_deep_home(provider *p)
{
    char why[512];
    host_info info;
    const char *id = "55555555-5555-4555-8555-555555555555";
    host_spec s = spec_of(id, "sb-555555555555");
    check_set_case("destroy: a home with 3000 nested folders");
    if (p->create(p, &s, &info, why, sizeof why) != 0) {
        CHECK_FAIL("create: %s", why);
        return;
    }
    char home[400], outside[300];
    snprintf(home, sizeof home, "%s/hosts/%s/session/home", g_state, id);
    snprintf(outside, sizeof outside, "%s/outside", g_scratch);
    CHECK_EQ_INT(make_deep(home, 3000, outside), 0);
    why[0] = '\0';
    CHECK_EQ_INT(p->destroy(p, id, info.state, why, sizeof why), 0);
    CHECK_EQ_STR(why, "");
    CHECK_EQ_INT(count_hosts(), 0);
    info_clear(&info);
}

static void test_killed(provider *p)
{
    char why[512];
    host_info info;
    const char *id = "44444444-4444-4444-8444-444444444444";
    host_spec s = spec_of(id, "sb-444444444444");
    check_set_case("a killed sshd is reported dead; destroy still cleans up");
    if (p->create(p, &s, &info, why, sizeof why) != 0) {
        CHECK_FAIL("create: %s", why);
        return;
    }
    pid_t pid = (pid_t)state_number(info.state, "pid");
    kill(pid, SIGKILL);
    for (int i = 0; i < 200 && local_proc_alive(pid); i++)
        local_sleep_ms(10);
    CHECK_EQ_INT(p->alive(p, id, info.state, why, sizeof why), 0);
    CHECK_CONTAINS(why, "sshd");
    CHECK_EQ_INT(p->destroy(p, id, info.state, why, sizeof why), 0);
    CHECK_EQ_INT(count_hosts(), 0);
    info_clear(&info);
}

/* ssh in with what create returned; the output, malloc'd ("" on failure). */
static char *ssh_run(const host_info *h, const char *command)
{
    char key[300], kh[300], khopt[320], port[16], home[300];
    snprintf(key, sizeof key, "%s/ssh.key", g_scratch);
    snprintf(kh, sizeof kh, "%s/ssh.known_hosts", g_scratch);
    snprintf(khopt, sizeof khopt, "UserKnownHostsFile=%s", kh);
    snprintf(port, sizeof port, "%d", h->ssh_port);
    snprintf(home, sizeof home, "HOME=%s", g_scratch);
    char why[256];
    unlink(key);
    unlink(kh);
    if (local_write_file(key, h->private_key, strlen(h->private_key), 0600, why, sizeof why) ||
        local_write_file(kh, h->known_hosts, strlen(h->known_hosts), 0600, why, sizeof why))
        return strdup("");
    const char *argv[] = {"-F",        "/dev/null",
                          "-o",        "BatchMode=yes",
                          "-o",        "StrictHostKeyChecking=yes",
                          "-o",        khopt,
                          "-o",        "GlobalKnownHostsFile=/dev/null",
                          "-o",        "IdentitiesOnly=yes",
                          "-i",        key,
                          "-o",        "LogLevel=ERROR",
                          "-p",        port,
                          "-l",        h->ssh_username,
                          "127.0.0.1", command,
                          NULL};
    const char *env[] = {"PATH=/usr/bin:/bin", home, NULL};
    spawn_opts o = {argv, env, SPAWN_PIPES, NULL, NULL, 60000};
    spawn_result r;
    if (spawn_run("/usr/bin/ssh", &o, &r) != 0) return strdup("");
    if (r.status != 0) fprintf(stderr, "ssh: status %d: %s\n", r.status, r.err);
    char *out = r.out ? r.out : strdup("");
    r.out = NULL;
    spawn_result_free(&r);
    return out;
}

/* Whether the session user (the sandbox user as root) can read path. */
static int session_can_read(const char *path)
{
    if (geteuid() != 0) return access(path, R_OK) == 0;
    struct passwd *pw = getpwnam(LOCAL_SANDBOX_USER);
    if (!pw) return 0;
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) _exit(2);
        _exit(access(path, R_OK) == 0 ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A state folder below a folder the sandbox user cannot enter, and private
 * paths (a token file, a folder) outside /tmp, next to a file that is not
 * private: sessions still start, see the control file and none of the
 * private ones. */
static void test_hidden_paths(void)
{
    char why[512], open_dir[300], state[400], token[400], secrets[400], secret_file[440],
        control[400];
    check_set_case("private paths are hidden; a state folder out of the user's reach works");
    /* Outside /tmp (every session has its own): a folder sessions see. */
    char base[200];
    if (visible_dir(base, sizeof base) != 0) {
        printf("SKIP %s: no writable folder that sessions can see\n", __func__);
        return;
    }
    snprintf(open_dir, sizeof open_dir, "%s/lbs-local-open.XXXXXX", base);
    if (!mkdtemp(open_dir) || chmod(open_dir, 0755)) {
        CHECK_FAIL("mkdtemp in %s", base);
        return;
    }
    char *open_abs = realpath(open_dir, NULL);
    snprintf(state, sizeof state, "%s/deep/er/state", g_scratch);
    snprintf(token, sizeof token, "%s/token", open_abs);
    snprintf(secrets, sizeof secrets, "%s/secrets", open_abs);
    snprintf(secret_file, sizeof secret_file, "%s/file", secrets);
    snprintf(control, sizeof control, "%s/control", open_abs);
    char deep[300], er[300];
    snprintf(deep, sizeof deep, "%s/deep", g_scratch);
    snprintf(er, sizeof er, "%s/deep/er", g_scratch);
    if (mkdir(deep, 0700) || mkdir(er, 0755) || mkdir(secrets, 0755) ||
        local_write_file(token, "TOKEN-MARKER\n", 13, 0644, why, sizeof why) ||
        local_write_file(secret_file, "SECRET-MARKER\n", 14, 0644, why, sizeof why) ||
        local_write_file(control, "CONTROL-MARKER\n", 15, 0644, why, sizeof why)) {
        CHECK_FAIL("setup");
        goto out;
    }
    const char *paths[] = {token, secrets, "/nonexistent/lbs-x", NULL};
    provider_config cfg = {state, 0};
    provider *p = provider_local_new(&cfg, why, sizeof why);
    if (!p || provider_local_set_private_paths(p, paths) != 0) {
        CHECK_FAIL("provider_local_new: %s", why);
        goto out;
    }
    host_info info;
    host_spec s = spec_of("55555555-5555-4555-8555-555555555555", "sb-555555555555");
    if (p->create(p, &s, &info, why, sizeof why) != 0) {
        CHECK_FAIL("create: %s", why);
    } else {
        char cmd[2400];
        snprintf(cmd, sizeof cmd,
                 "cat '%s' '%s' '%s' 2>/dev/null; ls -A '%s' '%s' 2>/dev/null; echo end", token,
                 secret_file, control, secrets, state);
        char *out = ssh_run(&info, cmd);
        CHECK_CONTAINS(out, "end");
        CHECK_LACKS(out, "TOKEN-MARKER");
        CHECK_LACKS(out, "SECRET-MARKER");
        CHECK_LACKS(out, "hosts");
        if (session_can_read(control))
            CHECK_CONTAINS(out, "CONTROL-MARKER"); /* so the hiding is what hid them */
        else
            printf("note: %s is out of the session user's reach; control skipped\n", control);
        free(out);
        CHECK_EQ_INT(p->destroy(p, s.id, info.state, why, sizeof why), 0);
        info_clear(&info);
    }
    p->close(p);
out:
    local_remove_tree(open_abs ? open_abs : open_dir, why, sizeof why);
    free(open_abs);
}

/* sshd on a port another process took meanwhile: start says so (the
 * provider then retries on another port). */
static void test_port_taken(void)
{
    char why[512], dir[300], key[340];
    check_set_case("a port taken between the pick and sshd's bind is reported as such");
    snprintf(dir, sizeof dir, "%s/porthost", g_scratch);
    snprintf(key, sizeof key, "%s/ssh_host_ed25519_key", dir);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (mkdir(dir, 0700) || local_keygen(key, "test", why, sizeof why) ||
        bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 1) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        CHECK_FAIL("setup: %s", why);
        close(fd);
        return;
    }
    int taken = ntohs(a.sin_port);
    local_sshd_conf conf = {.host_dir = dir,
                            .session_dir = dir,
                            .login_user = "nobody",
                            .inner_shell = "/bin/sh",
                            .strict_modes = 0};
    int busy = 0;
    CHECK_EQ_INT(local_sshd_write_config(&conf, taken, why, sizeof why), 0);
    pid_t pid = local_sshd_start(dir, taken, NULL, 10000, &busy, why, sizeof why);
    CHECK_EQ_INT(pid, -1);
    CHECK_EQ_INT(busy, 1);
    CHECK_CONTAINS(why, "Address already in use");
    close(fd);
    local_remove_tree(dir, why, sizeof why);
}

static void test_doctor(provider *p)
{
    provider_check c;
    check_set_case("doctor");
    p->doctor(p, &c);
    CHECK_EQ_STR(c.status, "ok");
    CHECK_CONTAINS(c.detail, "image \"local\"");
    CHECK(c.latency_ms >= 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_state, sizeof g_state, "%s/lbs-local-provider.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_state)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_scratch, sizeof g_scratch, "%s/lbs-local-scratch.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_scratch)) {
        perror("mkdtemp");
        return 1;
    }
    char why[512];
    test_remove_tree();
    if (access(LOCAL_SSHD, X_OK) != 0 || access(LOCAL_BWRAP, X_OK) != 0) {
        printf("SKIP: the provider's tests need %s and %s\n", LOCAL_SSHD, LOCAL_BWRAP);
        local_remove_tree(g_state, why, sizeof why);
        local_remove_tree(g_scratch, why, sizeof why);
        return check_summary();
    }
    test_new();
    provider_config cfg = {g_state, 0};
    provider *p = provider_local_new(&cfg, why, sizeof why);
    check_set_case("provider_local_new");
    if (!p) {
        CHECK_FAIL("%s", why);
    } else {
        CHECK_EQ_STR(p->name, "local");
        test_check(p);
        test_doctor(p);
        test_create_failures(p);
        test_lifecycle(p);
        test_destroy_deep_home(p);
        test_killed(p);
        test_port_taken();
        p->close(p);
        test_hidden_paths();
    }
    local_remove_tree(g_state, why, sizeof why);
    local_remove_tree(g_scratch, why, sizeof why);
    return check_summary();
}
