/* A gvisor host across a crash of the server: SIGKILL in the middle of a
 * create, then a restart on the same state. The finished host is adopted
 * (same sandbox: a process started before the crash is still there, ssh
 * works with the same key); the half-made one becomes `error` and leaves
 * no runsc process, mount, loop device or file behind.
 *
 * Prints a SKIP line and passes where runsc cannot run. */
#include "harness.h"
#include "check.h"
#include "gvisor_hosts.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct pending {
    lb_client *client;
    lb_code code;
} pending;

static void *create_in_background(void *p)
{
    pending *c = p;
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    lb_host *h = NULL;
    lb_error err;
    c->code = lb_create_host(c->client, &o, &h, &err);
    lb_host_free(h);
    return NULL;
}

/* The folder of a host other than `known` whose sandbox is being started
 * (its runsc root exists): copied into id. 1 when found. */
static int find_half_made(const server *s, const char *known, char *id, size_t size)
{
    char hosts[400];
    snprintf(hosts, sizeof hosts, "%s/gvisor", s->state_dir);
    DIR *d = opendir(hosts);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, known) == 0) continue;
        char runsc[800];
        struct stat st;
        snprintf(runsc, sizeof runsc, "%s/%s/runsc", hosts, e->d_name);
        if (stat(runsc, &st) == 0) {
            snprintf(id, size, "%s", e->d_name);
            found = 1;
        }
    }
    if (d) closedir(d);
    return found;
}

int main(void)
{
    const char *why = gv_cannot_run();
    if (why) {
        printf("SKIP: gvisor restart tests: %s\n", why);
        return 0;
    }
    server s = {0};
    if (server_init(&s) != 0) return 1;
    const char *args[] = {"--default-provider", "gvisor", "--gvisor-images", gv_images_dir(),
                          "--reap-interval", "1s", NULL};
    if (server_start(&s, args) != 0) {
        server_cleanup(&s);
        return 1;
    }
    lb_client *c = server_client(&s, NULL);
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    lb_host *hx = NULL;
    lb_error err;
    gv_host x;
    char y[64] = "";
    int st;
    check_set_case("a host made before the crash");
    if (!CHECK(lb_create_host(c, &o, &hx, &err) == LB_OK) ||
        !CHECK(gv_host_from(&s, hx, "x", &x) == 0))
        goto out;
    char *pid = gv_ssh_out(&s, &x, "nohup sleep 900 >/dev/null 2>&1 & echo $!", &st);
    pid[strcspn(pid, "\n")] = '\0';

    check_set_case("SIGKILL while a second create starts its sandbox");
    lb_client *c2 = server_client(&s, NULL);
    pending p = {c2, LB_OK};
    pthread_t t;
    pthread_create(&t, NULL, create_in_background, &p);
    for (int i = 0; i < 3000 && !find_half_made(&s, x.id, y, sizeof y); i++)
        sleep_ms(5);
    server_kill(&s);
    pthread_join(t, NULL);
    lb_client_close(c2);
    CHECK(y[0] != '\0');
    CHECK(p.code != LB_OK);

    check_set_case("restart on the same state");
    if (!CHECK(server_start(&s, args) == 0)) goto out_pid;
    lb_client_close(c);
    c = server_client(&s, NULL);

    check_set_case("the finished host is adopted: same sandbox, same key");
    lb_host *again = NULL;
    CHECK_EQ_INT(lb_get_host(c, x.id, &again, &err), LB_OK);
    if (again) CHECK_EQ_STR(again->status, "active");
    lb_host_free(again);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "cat /proc/%s/cmdline | tr '\\0' ' '", pid);
    char *out = gv_ssh_out(&s, &x, cmd, &st);
    CHECK_EQ_STR(out, "sleep 900 ");
    free(out);

    /* At start the server marks it error with its lease at now; the reaper
     * (every second here) then tears it down like any expired host. */
    check_set_case("the half-made host is error, then reaped, and nothing of it is left");
    if (y[0]) {
        lb_host *hy = NULL;
        lb_code got = lb_get_host(c, y, &hy, &err);
        CHECK(got == LB_OK || got == LB_ERR_NOT_FOUND);
        /* error, or already claimed by the reaper (every second here) */
        if (hy)
            CHECK(strcmp(hy->status, "error") == 0 || strcmp(hy->status, "deleting") == 0);
        lb_host_free(hy);
        int left = -1;
        for (int i = 0; i < 600 && left != 0; i++) {
            hy = NULL;
            got = lb_get_host(c, y, &hy, &err);
            lb_host_free(hy);
            left = got == LB_ERR_NOT_FOUND ? gv_leftovers(s.state_dir, y) : -1;
            if (left != 0) sleep_ms(50);
        }
        CHECK_EQ_INT(got, LB_ERR_NOT_FOUND);
        CHECK_EQ_INT(gv_leftovers(s.state_dir, y), 0);
    }

    check_set_case("delete after the restart leaves nothing");
    CHECK_EQ_INT(lb_delete_host(c, x.id, &err), LB_OK);
    CHECK_EQ_INT(gv_leftovers(s.state_dir, x.id), 0);
    check_set_case("and still nothing of the half-made host, seconds later (a runsc started "
                   "by the dead server may come late)");
    sleep_ms(2000);
    if (y[0]) CHECK_EQ_INT(gv_leftovers(s.state_dir, y), 0);
out_pid:
    free(pid);
out:
    lb_host_free(hx);
    lb_client_close(c);
    check_set_case("the server stops cleanly");
    CHECK_EQ_INT(server_stop(&s), 0);
    server_cleanup(&s);
    return check_summary();
}
