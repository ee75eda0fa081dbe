/* A gvisor sandbox that cannot start, for real: the server is pointed at an
 * image whose root holds no init, so `runsc run` fails after the layer is
 * made and while the sandbox's turn at the start gate is held.
 *
 * Checked: the create is a 502 that quotes runsc's own words (read from
 * its exit status and log, not from a later `runsc state`); nothing of the
 * host is left (no folder, whose removal needs its mounts gone first, and
 * no process naming it); and more such
 * creates at once than the gate lets start together all answer, so a
 * failed start gives its turn back (a turn kept would leave the last ones
 * waiting for ever, until the client's timeout). After them, doctor still
 * answers.
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

#define CREATES_MAX 16

/* <dir>/images/debian-12 -> broken: ready, and a root with no init. */
static int make_broken_image(const server *s, char *images, size_t size)
{
    char path[600];
    snprintf(images, size, "%s/images", s->dir);
    snprintf(path, sizeof path, "%s/broken", images);
    if (mkdir(images, 0755) != 0 || mkdir(path, 0755) != 0) return -1;
    snprintf(path, sizeof path, "%s/broken/rootfs", images);
    if (mkdir(path, 0755) != 0) return -1;
    snprintf(path, sizeof path, "%s/broken/ready", images);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fclose(f);
    snprintf(path, sizeof path, "%s/debian-12", images);
    return symlink("broken", path);
}

typedef struct attempt {
    lb_client *c;
    lb_code code;
    char message[512];
} attempt;

static void *create_one(void *arg)
{
    attempt *a = arg;
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    lb_host *h = NULL;
    lb_error err;
    a->code = lb_create_host(a->c, &o, &h, &err);
    snprintf(a->message, sizeof a->message, "%s", a->code == LB_OK ? "" : err.message);
    lb_host_free(h);
    return NULL;
}

/* Host folders left under the provider's state, and processes whose
 * command line names one (runsc's do, with the folder's --root): 0 when
 * none. A folder goes only once nothing is mounted in it. */
static int leftovers(const server *s)
{
    char path[400], real[4096];
    snprintf(path, sizeof path, "%s/gvisor", s->state_dir);
    if (!realpath(path, real)) return 1;
    DIR *d = opendir(real);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        fprintf(stderr, "left: %s/%s\n", real, e->d_name);
        n++;
    }
    if (d) closedir(d);
    d = opendir("/proc");
    while (d && (e = readdir(d)) != NULL) {
        char cmdline[600], buf[8192];
        snprintf(cmdline, sizeof cmdline, "/proc/%s/cmdline", e->d_name);
        FILE *f = e->d_name[0] >= '1' && e->d_name[0] <= '9' ? fopen(cmdline, "r") : NULL;
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        for (size_t i = 0; i < len; i++)
            if (buf[i] == '\0') buf[i] = ' ';
        buf[len] = '\0';
        if (len && strstr(buf, real)) {
            fprintf(stderr, "left: process %s: %.200s\n", e->d_name, buf);
            n++;
        }
    }
    if (d) closedir(d);
    return n;
}

int main(void)
{
    const char *why = gv_cannot_run();
    if (why) {
        printf("SKIP: gvisor start failures: %s\n", why);
        return 0;
    }
    server s = {0};
    char images[400];
    if (server_init(&s) != 0) return 1;
    check_set_case("a broken image made");
    if (!CHECK(make_broken_image(&s, images, sizeof images) == 0)) {
        server_cleanup(&s);
        return check_summary();
    }
    const char *args[] = {"--default-provider", "gvisor", "--gvisor-images", images, NULL};
    if (server_start(&s, args) != 0) {
        server_cleanup(&s);
        return 1;
    }
    lb_client *c = server_client(&s, NULL);

    check_set_case("a sandbox that cannot start: a 502 with runsc's words");
    attempt one = {c, LB_OK, ""};
    create_one(&one);
    CHECK_EQ_INT(one.code, LB_ERR_PROVISIONING);
    CHECK_CONTAINS(one.message, "the sandbox did not start (runsc run: exit");
    CHECK_CONTAINS(one.message, "init");
    check_set_case("nothing of it is left");
    CHECK_EQ_INT(leftovers(&s), 0);

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cpus > 0 && cpus + 2 <= CREATES_MAX ? (int)cpus + 2 : CREATES_MAX;
    check_set_case("%d failing creates at once, more than the start gate's %ld turns", n, cpus);
    attempt many[CREATES_MAX];
    pthread_t threads[CREATES_MAX];
    int started = 0;
    for (int i = 0; i < n; i++) {
        many[i] = (attempt){c, LB_OK, ""};
        if (pthread_create(&threads[i], NULL, create_one, &many[i]) != 0) break;
        started++;
    }
    CHECK_EQ_INT(started, n);
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        CHECK_EQ_INT(many[i].code, LB_ERR_PROVISIONING);
        CHECK_CONTAINS(many[i].message, "the sandbox did not start");
    }
    CHECK_EQ_INT(leftovers(&s), 0);

    check_set_case("the server still answers");
    raw_resp r;
    int answered = raw_request(&s, "GET", "/doctor", TEST_TOKEN, NULL, NULL, 0, &r) == 0;
    CHECK(answered && r.status == 200);
    if (answered) raw_resp_free(&r);

    lb_client_close(c);
    check_set_case("the server stops cleanly");
    CHECK_EQ_INT(server_stop(&s), 0);
    server_cleanup(&s);
    return check_summary();
}
