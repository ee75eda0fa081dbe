/* The local provider through provider.h alone, no HTTP: the paths the
 * server's validation never lets through (bad ids, bad env keys), failure
 * leaving nothing behind, destroy's idempotence and its care with pids from
 * a state it cannot trust, alive() on a stopped or killed sshd, doctor.
 *
 * The provider's sources are compiled into this program: the server's
 * CMake links them into litterbox-server only. */
#define _GNU_SOURCE /* run.c's unshare(), declared by the first system header */
#include "../../server/provider_local.c"
#include "../../server/local/env.c"
#include "../../server/local/files.c"
#include "../../server/local/keys.c"
#include "../../server/local/proc.c"
#include "../../server/local/run.c"
#include "../../server/local/sandbox.c"
#include "../../server/local/sshd.c"

#include "check.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

static char g_state[256];

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
    provider_config cfg = {0};
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
    if (access(LOCAL_SSHD, X_OK) != 0 || access(LOCAL_BWRAP, X_OK) != 0) {
        printf("SKIP: needs %s and %s\n", LOCAL_SSHD, LOCAL_BWRAP);
        return check_summary();
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(g_state, sizeof g_state, "%s/lbs-local-provider.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_state)) {
        perror("mkdtemp");
        return 1;
    }
    test_new();
    char why[512];
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
        test_killed(p);
        p->close(p);
    }
    local_remove_tree(g_state, why, sizeof why);
    return check_summary();
}
