/* The warm pool of the gvisor provider (--warm-pool): a create of the
 * default size takes a sandbox the pool started (its folder, named by the
 * sandbox, gets the host as owner; doctor counts it served), and the host
 * is like a cold one: hostile env verbatim, its own hostname, a background
 * process that outlives its session, the default size's limits, delete
 * leaves nothing. The pool refills with a new sandbox; other sizes and
 * disks are made cold; a stop, and a start after a SIGKILL, leave no warm
 * sandbox behind, and that start adopts a host made from the pool.
 *
 * Prints a SKIP line and passes where runsc cannot run. */
#include "harness.h"
#include "check.h"
#include "gvisor_hosts.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READY_WAIT_MS 60000

static int file_in(const server *s, const char *folder, const char *file)
{
    char path[800];
    struct stat st;
    snprintf(path, sizeof path, "%s/gvisor/%s/%s", s->state_dir, folder, file);
    return lstat(path, &st) == 0;
}

/* The first warm folder other than `not` (a sandbox waiting in the pool):
 * copied into id; 1 when found. */
static int find_warm(const server *s, const char * not, char *id, size_t size)
{
    char hosts[400];
    snprintf(hosts, sizeof hosts, "%s/gvisor", s->state_dir);
    DIR *d = opendir(hosts);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, not ) == 0) continue;
        if (file_in(s, e->d_name, "warm") && !file_in(s, e->d_name, "owner")) {
            snprintf(id, size, "%s", e->d_name);
            found = 1;
        }
    }
    if (d) closedir(d);
    return found;
}

/* 1 when doctor's gvisor line says `text` (e.g. "1 of 1 ready"). */
static int doctor_says(const server *s, const char *text)
{
    raw_resp r;
    if (raw_request(s, "GET", "/doctor", TEST_TOKEN, NULL, NULL, 0, &r) != 0) return 0;
    int says = r.status == 200 && r.body && strstr(r.body, text) != NULL;
    raw_resp_free(&r);
    return says;
}

/* Waits until the pool has a ready sandbox other than `not`. */
static int wait_warm(const server *s, const char * not, char *id, size_t size)
{
    for (int waited = 0; waited < READY_WAIT_MS; waited += 100) {
        if (find_warm(s, not, id, size) && doctor_says(s, "warm pool 1 of 1 ready")) return 1;
        sleep_ms(100);
    }
    return 0;
}

static char *owner_of(const server *s, const char *folder)
{
    char path[800];
    snprintf(path, sizeof path, "%s/gvisor/%s/owner", s->state_dir, folder);
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 128);
    if (f && text && !fgets(text, 128, f)) text[0] = '\0';
    if (f) fclose(f);
    return text;
}

static const char *const env_keys[] = {"QUOTES", "DOLLAR", "NEWLINES", "EMPTY", NULL};
static const char *const env_values[] = {
    "single ' double \" back ` end '\"", "$HOME $(touch /root/pwned1) `touch /root/pwned2`",
    "line1\nline2\r\n\n\"}],\"args\":[\"/bin/touch\",\"/root/pwned3\"]", "", NULL};

static void expect_env(const server *s, const gv_host *h)
{
    check_set_case("a host from the pool: env arrives exactly, nothing in it runs");
    spawn_result r;
    if (gv_ssh(s, h, "env -0", &r) != 0) {
        CHECK_FAIL("ssh did not run");
        return;
    }
    CHECK_EQ_INT(r.status, 0);
    for (size_t k = 0; env_keys[k]; k++) {
        size_t klen = strlen(env_keys[k]);
        int found = 0;
        for (size_t off = 0; off < r.out_len;) {
            const char *entry = r.out + off;
            size_t len = strnlen(entry, r.out_len - off);
            if (len > klen && !strncmp(entry, env_keys[k], klen) && entry[klen] == '=' &&
                strcmp(entry + klen + 1, env_values[k]) == 0)
                found++;
            off += len + 1;
        }
        if (found != 1)
            CHECK_FAIL("%s: %d exact copies", env_keys[k], found);
        else
            CHECK(1);
    }
    spawn_result_free(&r);
    int st;
    char *out =
        gv_ssh_out(s, h, "ls /root/pwned1 /root/pwned2 /root/pwned3 2>/dev/null | wc -l", &st);
    CHECK_EQ_STR(out, "0\n");
    free(out);
}

static void expect_like_cold(const server *s, const gv_host *h)
{
    check_set_case("a host from the pool: its own hostname, the default size's limits");
    int st;
    char *out = gv_ssh_out(s, h, "hostname; ulimit -u; ulimit -v; cat /proc/1/cmdline", &st);
    char want[256];
    snprintf(want, sizeof want, "%s\n256\n524288\n/usr/lib/litterbox/init", h->name);
    CHECK_EQ_INT(st, 0);
    CHECK_EQ_STR(out, want);
    free(out);

    check_set_case("a host from the pool: a background process outlives its session");
    char *pid = gv_ssh_out(s, h, "nohup sleep 600 >/dev/null 2>&1 & echo $!", &st);
    pid[strcspn(pid, "\n")] = '\0';
    char cmd[128];
    snprintf(cmd, sizeof cmd, "cat /proc/%s/cmdline | tr '\\0' ' '", pid);
    out = gv_ssh_out(s, h, cmd, &st);
    CHECK_EQ_STR(out, "sleep 600 ");
    free(out);
    free(pid);
}

/* Creates the pool must not serve: each is made cold, under its own id,
 * and the pool's sandbox stays where it is. */
static const struct {
    const char *instance_type;
    long long disk_gb;
} bypass[] = {
    {"gv-medium", 0},
    {NULL, 1},
};

static void test_bypass(const server *s, lb_client *c, const char *warm)
{
    for (size_t i = 0; i < sizeof bypass / sizeof bypass[0]; i++) {
        check_set_case("instance_type %s, disk_gb %lld: made cold, the pool untouched",
                       bypass[i].instance_type ? bypass[i].instance_type : "(default)",
                       bypass[i].disk_gb);
        lb_host *h = gv_create(c, NULL, bypass[i].instance_type, bypass[i].disk_gb);
        if (!CHECK(h != NULL)) continue;
        CHECK(file_in(s, h->id, "runsc"));
        CHECK(file_in(s, warm, "warm"));
        CHECK(!file_in(s, warm, "owner"));
        CHECK(doctor_says(s, "warm pool 1 of 1 ready, 1 served"));
        lb_error err;
        CHECK_EQ_INT(lb_delete_host(c, h->id, &err), LB_OK);
        CHECK_EQ_INT(gv_leftovers(s->state_dir, h->id), 0);
        lb_host_free(h);
    }
}

int main(void)
{
    const char *why = gv_cannot_run();
    if (why) {
        printf("SKIP: gvisor warm pool tests: %s\n", why);
        return 0;
    }
    server s = {0};
    if (server_init(&s) != 0) return 1;
    const char *args[] = {"--default-provider",
                          "gvisor",
                          "--gvisor-images",
                          gv_images_dir(),
                          "--warm-pool",
                          "1",
                          NULL};
    if (server_start(&s, args) != 0) {
        server_cleanup(&s);
        return 1;
    }
    lb_client *c = server_client(&s, NULL);
    char warm[64] = "", refilled[64] = "";
    lb_host *h = NULL;
    gv_host g;
    lb_error err;

    check_set_case("the pool fills: one sandbox started, none served");
    if (!CHECK(wait_warm(&s, "", warm, sizeof warm))) goto out;
    CHECK(doctor_says(&s, "warm pool 1 of 1 ready, 0 served"));

    check_set_case("a create of the default size takes the warm sandbox");
    const char *env[8];
    char entries[8][256];
    size_t n = 0;
    for (; env_keys[n]; n++) {
        snprintf(entries[n], sizeof entries[n], "%s=%s", env_keys[n], env_values[n]);
        env[n] = entries[n];
    }
    env[n] = NULL;
    h = gv_create(c, env, NULL, 0);
    if (!CHECK(h != NULL) || !CHECK(gv_host_from(&s, h, "pooled", &g) == 0)) goto out;
    char *owner = owner_of(&s, warm);
    CHECK_EQ_STR(owner, h->id);
    free(owner);
    CHECK(!file_in(&s, warm, "warm"));
    CHECK(!file_in(&s, h->id, "."));
    CHECK_EQ_STR(h->instance_type, "gv-small");
    CHECK_EQ_INT(h->disk_gb, 4);

    expect_env(&s, &g);
    expect_like_cold(&s, &g);

    check_set_case("the pool refills with a new sandbox");
    CHECK(wait_warm(&s, warm, refilled, sizeof refilled));
    CHECK(doctor_says(&s, "warm pool 1 of 1 ready, 1 served"));

    test_bypass(&s, c, refilled);

    check_set_case("delete of a host from the pool leaves nothing");
    CHECK_EQ_INT(lb_delete_host(c, h->id, &err), LB_OK);
    CHECK_EQ_INT(gv_leftovers(s.state_dir, warm), 0);
    CHECK_EQ_INT(gv_leftovers(s.state_dir, h->id), 0);

    check_set_case("a stop leaves no warm sandbox behind");
    CHECK_EQ_INT(server_stop(&s), 0);
    if (refilled[0]) CHECK_EQ_INT(gv_leftovers(s.state_dir, refilled), 0);

    check_set_case("after a SIGKILL, the next start adopts the host made from the pool and "
                   "removes the warm sandbox left waiting");
    char taken[64] = "", waiting[64] = "";
    lb_host *kept = NULL;
    gv_host k;
    lb_client_close(c);
    c = NULL;
    if (!CHECK(server_start(&s, args) == 0)) goto out;
    c = server_client(&s, NULL);
    if (!CHECK(wait_warm(&s, "", taken, sizeof taken)) || !CHECK(kept = gv_create(c, NULL, NULL, 0)) ||
        !CHECK(gv_host_from(&s, kept, "kept", &k) == 0) ||
        !CHECK(wait_warm(&s, taken, waiting, sizeof waiting)))
        goto out_kept;
    server_kill(&s);
    const char *no_pool[] = {"--default-provider", "gvisor", "--gvisor-images", gv_images_dir(),
                             NULL};
    if (!CHECK(server_start(&s, no_pool) == 0)) goto out_kept;
    lb_client_close(c);
    c = server_client(&s, NULL);
    CHECK_EQ_INT(gv_leftovers(s.state_dir, waiting), 0);
    lb_host *again = NULL;
    CHECK_EQ_INT(lb_get_host(c, kept->id, &again, &err), LB_OK);
    if (again) CHECK_EQ_STR(again->status, "active");
    lb_host_free(again);
    int st;
    char *out = gv_ssh_out(&s, &k, "hostname", &st);
    char want[80];
    snprintf(want, sizeof want, "%s\n", k.name);
    CHECK_EQ_STR(out, want);
    free(out);
    CHECK_EQ_INT(lb_delete_host(c, kept->id, &err), LB_OK);
    CHECK_EQ_INT(gv_leftovers(s.state_dir, taken), 0);
    CHECK_EQ_INT(server_stop(&s), 0);
out_kept:
    lb_host_free(kept);
out:
    lb_host_free(h);
    lb_client_close(c);
    server_cleanup(&s);
    return check_summary();
}
