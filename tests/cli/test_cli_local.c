/* A new user's first minutes, end to end, against a real litterbox-server
 * with the local provider: start a server, `litterbox create`, `litterbox
 * ssh NAME -- uname -a`, `litterbox delete NAME`. Nothing but the CLI
 * touches the host: the name comes from create's output, the key and
 * known_hosts from the CLI's own state folder, and ssh checks the host key
 * strictly. Skipped where sshd, ssh or bubblewrap is missing. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "spawn.h"

static server srv;
static char home[PATH_MAX];

/** `litterbox --url URL --token-file F ARGS...` as the user would run it. */
static int run(const char *const *args, spawn_result *r)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = "--url";
    argv[n++] = srv.url;
    argv[n++] = "--token-file";
    argv[n++] = srv.token_file;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char home_env[PATH_MAX + 8];
    snprintf(home_env, sizeof home_env, "HOME=%s", home);
    const char *env[] = {home_env, "PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
    spawn_opts o = {argv, env, SPAWN_PIPES, NULL, NULL, 90000};
    if (spawn_run(LBS_CLI_PATH, &o, r) != 0) {
        CHECK_FAIL("could not run the CLI");
        return -1;
    }
    return 0;
}

/** The value of a `key: value` line of the human output. */
static void field(const char *out, const char *key, char *buf, size_t size)
{
    char want[64];
    snprintf(want, sizeof want, "\n%s:", key);
    const char *at = strstr(out, want);
    buf[0] = '\0';
    if (!at) return;
    at += strlen(want);
    at += strspn(at, " ");
    snprintf(buf, size, "%.*s", (int)strcspn(at, "\n"), at);
}

static void test_first_minutes(void)
{
    spawn_result r;
    char name[128], id[64], path[PATH_MAX + 128];

    check_set_case("litterbox create");
    if (run((const char *[]){"create", NULL}, &r) != 0) return;
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.err, "");
    CHECK_CONTAINS(r.out, "for litterbox ssh\n");
    CHECK_LACKS(r.out, "BEGIN OPENSSH");
    char *out = r.out;
    char with_nl[8192];
    snprintf(with_nl, sizeof with_nl, "\n%s", out);
    field(with_nl, "name", name, sizeof name);
    field(with_nl, "id", id, sizeof id);
    spawn_result_free(&r);
    if (!CHECK(name[0] && id[0])) return;

    check_set_case("litterbox ssh NAME -- uname -a");
    if (run((const char *[]){"ssh", name, "--", "uname", "-a", NULL}, &r) != 0) return;
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "Linux");
    if (r.status != 0) fprintf(stderr, "  ssh stderr: %s\n", r.err);
    spawn_result_free(&r);

    check_set_case("litterbox ssh passes the remote status on");
    if (run((const char *[]){"ssh", name, "--", "exit 7", NULL}, &r) != 0) return;
    CHECK_EQ_INT(r.status, 7);
    spawn_result_free(&r);

    check_set_case("litterbox delete NAME");
    if (run((const char *[]){"delete", name, NULL}, &r) != 0) return;
    CHECK_EQ_INT(r.status, 0);
    char want[160];
    snprintf(want, sizeof want, "deleted %s\n", name);
    CHECK_EQ_STR(r.out, want);
    spawn_result_free(&r);
    snprintf(path, sizeof path, "%s/.local/state/litterbox/hosts/%s", home, id);
    CHECK(access(path, F_OK) != 0);

    check_set_case("the host is gone");
    if (run((const char *[]){"get", id, NULL}, &r) != 0) return;
    CHECK_EQ_INT(r.status, 4);
    spawn_result_free(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (access("/usr/sbin/sshd", X_OK) != 0 || access("/usr/bin/bwrap", X_OK) != 0 ||
        access("/usr/bin/ssh", X_OK) != 0) {
        printf("SKIP: needs /usr/sbin/sshd, /usr/bin/ssh and /usr/bin/bwrap\n");
        return check_summary();
    }
    if (server_init(&srv) != 0 ||
        server_start(&srv, (const char *const[]){"--default-provider", "local", NULL}) != 0) {
        fprintf(stderr, "cannot start litterbox-server\n");
        return 1;
    }
    snprintf(home, sizeof home, "%s/home", srv.dir);
    if (mkdir(home, 0700) != 0) {
        perror(home);
        server_cleanup(&srv);
        return 1;
    }
    test_first_minutes();
    if (check_failed_n) {
        char *log = server_log(&srv);
        fprintf(stderr, "server log:\n%s\n", log ? log : "");
        free(log);
    }
    server_cleanup(&srv);
    return check_summary();
}
