/* The local provider for real: litterbox-server with --default-provider
 * local, hosts created through the API, and /usr/bin/ssh logging in with
 * nothing but what the create returned (known_hosts, private key, port,
 * user) and StrictHostKeyChecking=yes.
 *
 * Checked: hostile env values arrive byte for byte and nothing in them is
 * executed; sessions cannot see the state folder, the token, the real /tmp
 * or other hosts; $HOME and /tmp are the host's own and persist between its
 * sessions; a wrong host key is refused; sizing and foreign images are 400s;
 * an sshd outlives a server restart, and a killed one is reported after it;
 * delete ends open sessions and removes the sshd and every file.
 *
 * Run as root it covers the root mode (sessions as litterbox-sandbox) and
 * then runs itself again as that unprivileged user (the ordinary-user mode:
 * sshd can only log in the user running it). */
#include "harness.h"
#include "check.h"
#include "../cli/spawn.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_USER "litterbox-sandbox"
#define AS_USER_ENV "LBS_LOCAL_TEST_AS_USER"

/* ---- small helpers ---- */

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return -1;
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int running(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* A live process other than `except` whose command line contains needle,
 * or 0. */
static pid_t find_proc_except(const char *needle, pid_t except)
{
    DIR *d = opendir("/proc");
    pid_t found = 0;
    struct dirent *e;
    while (d && !found && (e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        for (ssize_t i = 0; i < n; i++)
            if (!buf[i]) buf[i] = ' ';
        buf[n] = '\0';
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid != except && strstr(buf, needle) && running(pid)) found = pid;
    }
    if (d) closedir(d);
    return found;
}

static pid_t find_proc(const char *needle)
{
    return find_proc_except(needle, 0);
}

/* The pid of the sshd whose command line names config, or 0. */
static pid_t find_sshd(const char *config)
{
    char needle[600];
    snprintf(needle, sizeof needle, "-f %s", config);
    return find_proc(needle);
}

/* ---- a created host and ssh into it ---- */

typedef struct host {
    char id[64], name[64], user[64];
    int port;
    char key_path[400], kh_path[400];
    char known_hosts[512];
    char dir[600]; /* <state>/hosts/<id> */
} host;

static const server *g_srv;

static int host_from(const lb_host *h, const char *label, host *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", h->id);
    snprintf(out->name, sizeof out->name, "%s", h->name);
    snprintf(out->user, sizeof out->user, "%s", h->ssh_username);
    snprintf(out->known_hosts, sizeof out->known_hosts, "%s", h->known_hosts);
    out->port = h->ssh_port;
    snprintf(out->key_path, sizeof out->key_path, "%s/%s.key", g_srv->dir, label);
    snprintf(out->kh_path, sizeof out->kh_path, "%s/%s.known_hosts", g_srv->dir, label);
    snprintf(out->dir, sizeof out->dir, "%s/hosts/%s", g_srv->state_dir, h->id);
    if (!h->private_key || write_file(out->key_path, h->private_key, 0600) != 0) return -1;
    char kh[600];
    snprintf(kh, sizeof kh, "%s\n", h->known_hosts);
    return write_file(out->kh_path, kh, 0600);
}

/* ssh into h with only what the create returned; kh_path overrides the
 * known_hosts file (NULL: the host's own). */
static int ssh_run(const host *h, const char *kh_path, const char *command, spawn_result *res)
{
    char port[16], khopt[500], home[300];
    snprintf(port, sizeof port, "%d", h->port);
    snprintf(khopt, sizeof khopt, "UserKnownHostsFile=%s", kh_path ? kh_path : h->kh_path);
    snprintf(home, sizeof home, "HOME=%s", g_srv->dir);
    const char *argv[] = {"-F",        "/dev/null",
                          "-o",        "BatchMode=yes",
                          "-o",        "StrictHostKeyChecking=yes",
                          "-o",        khopt,
                          "-o",        "GlobalKnownHostsFile=/dev/null",
                          "-o",        "IdentitiesOnly=yes",
                          "-i",        h->key_path,
                          "-o",        "ConnectTimeout=30",
                          "-o",        "LogLevel=ERROR",
                          "-p",        port,
                          "-l",        h->user,
                          "127.0.0.1", command,
                          NULL};
    const char *env[] = {"PATH=/usr/bin:/bin", home, NULL};
    spawn_opts o = {argv, env, SPAWN_PIPES, NULL, NULL, 60000};
    return spawn_run("/usr/bin/ssh", &o, res);
}

/* One line of output per line of `command`; out is NUL-terminated. */
static char *ssh_out(const host *h, const char *command, int *status)
{
    spawn_result r;
    if (ssh_run(h, NULL, command, &r) != 0) {
        *status = -1;
        return strdup("");
    }
    *status = r.status;
    if (r.status != 0) fprintf(stderr, "ssh %s: status %d, stderr: %s\n", command, r.status, r.err);
    char *out = r.out;
    r.out = NULL;
    spawn_result_free(&r);
    return out ? out : strdup("");
}

static lb_host *create(lb_client *c, const char *const *env, const char *image, lb_error *err)
{
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    o.env = env;
    o.image = image;
    lb_host *h = NULL;
    if (lb_create_host(c, &o, &h, err) != LB_OK) return NULL;
    return h;
}

/* ---- the cases ---- */

static void test_refusals(const server *s)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"{\"image\":\"ubuntu:22.04\"}", "\\\"local\\\""},
        {"{\"instance_type\":\"m5.large\"}", "instance_type"},
        {"{\"disk_gb\":20}", "disk_gb"},
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
    check_set_case("refusals create nothing");
    char hosts[400];
    snprintf(hosts, sizeof hosts, "%s/hosts", s->state_dir);
    DIR *d = opendir(hosts);
    int entries = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK_EQ_INT(entries, 0);
}

static void test_doctor(const server *s)
{
    check_set_case("doctor");
    raw_resp r;
    if (raw_request(s, "GET", "/doctor", TEST_TOKEN, NULL, NULL, 0, &r) != 0) {
        CHECK_FAIL("no answer");
        return;
    }
    CHECK_EQ_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "OpenSSH");
    CHECK_CONTAINS(r.body, "bubblewrap");
    CHECK_CONTAINS(r.body, "image \\\"local\\\"");
    raw_resp_free(&r);
}

/* Env values no shell may ever interpret. */
static char long_value[32768 + 1];
static char pwned1[128], pwned2[128], pwned3[128];
static char dollar_value[512], semi_value[512];

static const char *hostile_keys[] = {"SPACES",    "QUOTES",   "DOLLAR", "SEMI",   "NEWLINES",
                                     "BACKSLASH", "UTF8",     "EMPTY",  "EQUALS", "DASHES",
                                     "LONG",      "GREETING", NULL};
static const char *hostile_values[13];

static void hostile_init(void)
{
    snprintf(pwned1, sizeof pwned1, "/tmp/lbs-pwned1-%d", (int)getpid());
    snprintf(pwned2, sizeof pwned2, "/tmp/lbs-pwned2-%d", (int)getpid());
    snprintf(pwned3, sizeof pwned3, "/tmp/lbs-pwned3-%d", (int)getpid());
    snprintf(dollar_value, sizeof dollar_value, "$HOME ${PATH} $(touch %s) `touch %s` $$ $1",
             pwned1, pwned2);
    snprintf(semi_value, sizeof semi_value, "; touch %s; echo owned && exit 3 | cat > /x", pwned3);
    for (size_t i = 0; i < sizeof long_value - 1; i++)
        long_value[i] = (char)('a' + i % 26);
    long_value[sizeof long_value - 1] = '\0';
    const char *v[] = {"  two  spaces\tand a tab ",
                       "single ' double \" back ` end '\"",
                       dollar_value,
                       semi_value,
                       "line1\nline2\r\n\nForceCommand /bin/sh -c 'touch /tmp/x'\nSetEnv A=B\n",
                       "a\\b\\\\c\\n\\0 \\x41 \\",
                       "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac "
                       "\xf0\x9f\x90\xb1",
                       "",
                       "a=b=c",
                       "--setenv X Y --bind / /mnt",
                       long_value,
                       "hello from litterbox",
                       NULL};
    memcpy(hostile_values, v, sizeof v);
}

static char **hostile_env(void)
{
    size_t n = 0;
    while (hostile_keys[n])
        n++;
    char **env = calloc(n + 1, sizeof *env);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(hostile_keys[i]) + 1 + strlen(hostile_values[i]) + 1;
        env[i] = malloc(len);
        snprintf(env[i], len, "%s=%s", hostile_keys[i], hostile_values[i]);
    }
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* env -0 in the session: each KEY=VALUE exactly, once. */
static void test_env(const host *a)
{
    check_set_case("env arrives exactly");
    spawn_result r;
    if (ssh_run(a, NULL, "env -0", &r) != 0) {
        CHECK_FAIL("ssh did not run");
        return;
    }
    CHECK_EQ_INT(r.status, 0);
    for (size_t k = 0; hostile_keys[k]; k++) {
        size_t klen = strlen(hostile_keys[k]);
        int found = 0;
        const char *value = NULL;
        for (size_t off = 0; off < r.out_len;) {
            const char *entry = r.out + off;
            size_t len = strnlen(entry, r.out_len - off);
            if (len > klen && !strncmp(entry, hostile_keys[k], klen) && entry[klen] == '=') {
                found++;
                value = entry + klen + 1;
            }
            off += len + 1;
        }
        if (found != 1) {
            CHECK_FAIL("%s present %d times", hostile_keys[k], found);
            continue;
        }
        if (strcmp(value, hostile_values[k]) != 0)
            CHECK_FAIL("%s differs (got %zu bytes, want %zu)", hostile_keys[k], strlen(value),
                       strlen(hostile_values[k]));
        else
            CHECK(1);
    }
    spawn_result_free(&r);

    check_set_case("env through the shell: echo \"$GREETING\"");
    int st;
    char *out = ssh_out(a, "echo \"$GREETING\"; printf '%s|' \"$DOLLAR\"", &st);
    char want[700];
    snprintf(want, sizeof want, "hello from litterbox\n%s|", dollar_value);
    CHECK_EQ_STR(out, want);
    free(out);

    check_set_case("nothing in a value was executed");
    char path[800];
    const char *marks[] = {pwned1, pwned2, pwned3};
    for (int i = 0; i < 3; i++) {
        CHECK(!exists(marks[i])); /* outside any sandbox */
        snprintf(path, sizeof path, "%s/session/tmp/%s", a->dir, marks[i] + strlen("/tmp/"));
        CHECK(!exists(path)); /* inside one */
    }
}

static void test_identity(const host *a, const char *want_user)
{
    check_set_case("who and where a session is");
    int st;
    char *out = ssh_out(a, "id -un; id -u; echo \"$HOME\"; pwd; hostname", &st);
    CHECK_EQ_INT(st, 0);
    char want[512];
    snprintf(want, sizeof want, "%s\n%d\n/home/%s\n/home/%s\n%s\n", want_user,
             geteuid() == 0 ? -1 : (int)geteuid(), want_user, want_user, a->name);
    if (geteuid() == 0) {
        /* Root mode: the uid is the sandbox user's, never 0. */
        struct passwd *pw = getpwnam(SANDBOX_USER);
        snprintf(want, sizeof want, "%s\n%d\n/home/%s\n/home/%s\n%s\n", want_user,
                 pw ? (int)pw->pw_uid : -1, want_user, want_user, a->name);
        CHECK_LACKS(out, "\n0\n");
    }
    CHECK_EQ_STR(out, want);
    free(out);
}

static void test_isolation(const host *a, const host *b, const char *real_tmp_marker)
{
    check_set_case("a session sees no state, token, real /tmp or other host");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "for p in '%s' '%s' '%s' '%s' '%s' '%s' '%s/session/bwrap.args' "
             "  /run/litterbox-session/bwrap.args /run/sshd /run/user; do "
             "  if test -e \"$p\"; then echo \"SEES $p\"; fi; "
             "  if cat \"$p\" >/dev/null 2>&1; then echo \"READS $p\"; fi; "
             "done; ls -A /tmp; ls -A /home; "
             "tr '\\0' '\\n' < /proc/1/cmdline | head -n 1; "
             "ls /proc | grep -c '^[0-9][0-9]*$'",
             g_srv->state_dir, g_srv->token_file, g_srv->dir, b->dir, a->dir, real_tmp_marker,
             b->dir);
    int st;
    char *out = ssh_out(a, cmd, &st);
    CHECK_EQ_INT(st, 0);
    CHECK_LACKS(out, "SEES");
    CHECK_LACKS(out, "READS");
    CHECK_LACKS(out, strrchr(real_tmp_marker, '/') + 1);
    /* pid namespace: pid 1 is bwrap, and only a handful of processes. */
    CHECK_CONTAINS(out, "bwrap");
    const char *nl = out + strlen(out);
    while (nl > out && nl[-1] == '\n')
        nl--;
    const char *start = nl;
    while (start > out && start[-1] != '\n')
        start--;
    int nproc = atoi(start);
    CHECK(nproc > 0 && nproc < 10);
    free(out);

    check_set_case("$HOME and /tmp are the host's own, kept between its sessions");
    out = ssh_out(a, "echo home-a > \"$HOME/f\" && echo tmp-a > /tmp/g && echo ok", &st);
    CHECK_EQ_STR(out, "ok\n");
    free(out);
    out = ssh_out(a, "cat \"$HOME/f\" /tmp/g", &st);
    CHECK_EQ_STR(out, "home-a\ntmp-a\n");
    free(out);
    out = ssh_out(b, "cat \"$HOME/f\" /tmp/g 2>/dev/null; echo end", &st);
    CHECK_EQ_STR(out, "end\n");
    free(out);
    out = ssh_out(a,
                  "touch /etc/lbs-x 2>/dev/null && echo WROTE-ETC; "
                  "touch /usr/lbs-x 2>/dev/null && echo WROTE-USR; echo end",
                  &st);
    CHECK_EQ_STR(out, "end\n");
    free(out);
}

/* What a session cannot reach or make: a user namespace (where it would be
 * root), the API, another host's sshd, any network but its own loopback. */
static void test_confinement(const host *a, const host *b)
{
    check_set_case("a session cannot make a user namespace or reach the API or another host");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "unshare -U -r true 2>/dev/null && echo USERNS; "
             "for port in %d %d; do "
             "  timeout 5 bash -c \"exec 3<>/dev/tcp/127.0.0.1/$port\" 2>/dev/null && "
             "echo \"REACHES $port\"; "
             "done; grep -c : /proc/net/dev; echo end",
             g_srv->port, b->port);
    int st;
    char *out = ssh_out(a, cmd, &st);
    CHECK_EQ_INT(st, 0);
    CHECK_LACKS(out, "USERNS");
    CHECK_LACKS(out, "REACHES");
    CHECK_EQ_STR(out, "1\nend\n"); /* lo alone */
    free(out);

    check_set_case("each sshd limits unauthenticated connections and their time");
    char path[700];
    snprintf(path, sizeof path, "%s/sshd_config", b->dir);
    FILE *f = fopen(path, "r");
    char conf[8192] = "";
    if (f) {
        conf[fread(conf, 1, sizeof conf - 1, f)] = '\0';
        fclose(f);
    }
    CHECK_CONTAINS(conf, "\nMaxStartups 4:50:10\n");
    CHECK_CONTAINS(conf, "\nLoginGraceTime 10\n");
}

static void test_strict_host_key(const host *a, const host *b)
{
    check_set_case("a host key other than the one returned is refused");
    /* b's key under a's address. */
    const char *key = strchr(b->known_hosts, ' ');
    char line[600], path[500];
    snprintf(line, sizeof line, "[127.0.0.1]:%d%s\n", a->port, key ? key : " x");
    snprintf(path, sizeof path, "%s/wrong.known_hosts", g_srv->dir);
    write_file(path, line, 0600);
    spawn_result r;
    if (ssh_run(a, path, "echo IN", &r) != 0) {
        CHECK_FAIL("ssh did not run");
        return;
    }
    CHECK_EQ_INT(r.status, 255);
    CHECK_LACKS(r.out, "IN");
    spawn_result_free(&r);

    check_set_case("known_hosts has the form OpenSSH matches for the port");
    char want[64];
    snprintf(want, sizeof want, "[127.0.0.1]:%d ssh-ed25519 AAAA", a->port);
    CHECK(strncmp(a->known_hosts, want, strlen(want)) == 0);
}

static void test_files(const host *a)
{
    check_set_case("the host folder");
    struct stat st;
    CHECK(stat(a->dir, &st) == 0 && (st.st_mode & 07777) == 0700);
    char p[800];
    snprintf(p, sizeof p, "%s/ssh_host_ed25519_key", a->dir);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 077) == 0);
    snprintf(p, sizeof p, "%s/user_key", a->dir);
    CHECK(!exists(p)); /* the user's private key is never kept */
    CHECK(stat(a->key_path, &st) == 0);
}

/* A session open across the delete: it must end, and the sshd with it. */
static pid_t ssh_background(const host *a, const char *command)
{
    char port[16], khopt[500];
    snprintf(port, sizeof port, "%d", a->port);
    snprintf(khopt, sizeof khopt, "UserKnownHostsFile=%s", a->kh_path);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        const char *argv[] = {"/usr/bin/ssh",
                              "-F",
                              "/dev/null",
                              "-o",
                              "BatchMode=yes",
                              "-o",
                              "StrictHostKeyChecking=yes",
                              "-o",
                              khopt,
                              "-i",
                              a->key_path,
                              "-p",
                              port,
                              "-l",
                              a->user,
                              "127.0.0.1",
                              command,
                              NULL};
        const char *env[] = {"PATH=/usr/bin:/bin", "HOME=/tmp", NULL};
        execve(argv[0], (char *const *)argv, (char *const *)env);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid, int ms)
{
    for (int i = 0; i < ms / 50; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return 1;
        sleep_ms(50);
    }
    return 0;
}

static void test_delete(lb_client *c, const host *a)
{
    check_set_case("delete ends open sessions, the sshd and every file");
    char config[700];
    snprintf(config, sizeof config, "%s/sshd_config", a->dir);
    pid_t sshd = find_sshd(config);
    CHECK(sshd > 0);
    char marker[64], command[128];
    snprintf(marker, sizeof marker, "lbs-session-%d", (int)getpid());
    snprintf(command, sizeof command, "sleep 300; echo %s", marker);
    pid_t bg = ssh_background(a, command);
    /* Wait until the session runs in its sandbox. */
    for (int i = 0; i < 400 && !find_proc_except(marker, bg); i++)
        sleep_ms(50);
    CHECK(find_proc_except(marker, bg) > 0);
    lb_error err;
    CHECK_EQ_INT(lb_delete_host(c, a->id, &err), LB_OK);
    CHECK(!running(sshd));
    CHECK(find_sshd(config) == 0);
    CHECK(find_proc_except(marker, bg) == 0); /* the sandboxed session is gone too */
    CHECK(!exists(a->dir));
    int ended = wait_exit(bg, 20000);
    CHECK(ended);
    if (!ended) {
        kill(bg, SIGKILL);
        waitpid(bg, NULL, 0);
    }
}

/* Four creates at once (the server provisions on several workers): four
 * sshds on four ports, each host with its own env and keys. */
#define PARALLEL 4
typedef struct par_arg {
    lb_client *c;
    int i;
    lb_host *h;
    lb_error err;
} par_arg;

static void *par_create(void *p)
{
    par_arg *a = p;
    char kv[32];
    snprintf(kv, sizeof kv, "N=%d", a->i);
    const char *env[] = {kv, NULL};
    a->h = create(a->c, env, NULL, &a->err);
    return NULL;
}

static void test_parallel(lb_client *c)
{
    check_set_case("four creates at once");
    par_arg args[PARALLEL];
    pthread_t t[PARALLEL];
    for (int i = 0; i < PARALLEL; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].c = c;
        args[i].i = i;
        pthread_create(&t[i], NULL, par_create, &args[i]);
    }
    for (int i = 0; i < PARALLEL; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < PARALLEL; i++) {
        if (!args[i].h) {
            CHECK_FAIL("create %d: %s", i, args[i].err.message);
            continue;
        }
        for (int j = 0; j < i; j++)
            if (args[j].h) CHECK(args[j].h->ssh_port != args[i].h->ssh_port);
        char label[16], want[16];
        snprintf(label, sizeof label, "p%d", i);
        host h;
        int st = -1;
        char *out = NULL;
        if (host_from(args[i].h, label, &h) == 0) out = ssh_out(&h, "echo \"$N\"", &st);
        snprintf(want, sizeof want, "%d\n", i);
        CHECK_EQ_STR(out, want);
        free(out);
    }
    for (int i = 0; i < PARALLEL; i++) {
        if (args[i].h) CHECK_EQ_INT(lb_delete_host(c, args[i].h->id, &args[i].err), LB_OK);
        lb_host_free(args[i].h);
    }
}

/* Kill whatever sshd of this state folder is left (after a failed case). */
static void kill_leftovers(const char *state_dir)
{
    char hosts[400];
    snprintf(hosts, sizeof hosts, "%s/hosts", state_dir);
    DIR *d = opendir(hosts);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char config[700];
        snprintf(config, sizeof config, "%s/%s/sshd_config", hosts, e->d_name);
        pid_t pid;
        while ((pid = find_sshd(config)) > 0) {
            fprintf(stderr, "test_local: killing leftover sshd %d\n", (int)pid);
            kill(pid, SIGKILL);
            sleep_ms(100);
            if (running(pid)) break;
        }
    }
    if (d) closedir(d);
}

static void run_suite(const char *mode)
{
    server s;
    if (server_init(&s) != 0) {
        CHECK_FAIL("server_init");
        return;
    }
    g_srv = &s;
    const char *args[] = {"--default-provider", "local", NULL};
    check_set_case("%s: server starts", mode);
    if (server_start(&s, args) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&s);
        return;
    }
    lb_client *c = server_client(&s, NULL);
    const char *want_user = NULL;
    struct passwd *pw = getpwuid(geteuid());
    want_user = geteuid() == 0 ? SANDBOX_USER : (pw ? pw->pw_name : "?");

    test_refusals(&s);
    test_doctor(&s);
    test_parallel(c);

    char real_marker[300];
    snprintf(real_marker, sizeof real_marker, "/tmp/lbs-real-tmp-marker-%d", (int)getpid());
    write_file(real_marker, "x", 0644);

    check_set_case("%s: create two hosts", mode);
    char **env = hostile_env();
    lb_error err;
    lb_host *ha = create(c, (const char *const *)env, "local", &err);
    if (!ha) CHECK_FAIL("create a: %s", err.message);
    const char *benv[] = {"WHO=b", NULL};
    lb_host *hb = create(c, benv, NULL, &err);
    if (!hb) CHECK_FAIL("create b: %s", err.message);
    free_env(env);
    host a, b;
    if (ha && hb && host_from(ha, "a", &a) == 0 && host_from(hb, "b", &b) == 0) {
        CHECK_EQ_STR(ha->image, "local");
        CHECK_EQ_STR(ha->ssh_host, "127.0.0.1");
        CHECK_EQ_STR(ha->ssh_username, want_user);
        CHECK(ha->private_key &&
              strstr(ha->private_key, "-----BEGIN OPENSSH PRIVATE KEY-----") != NULL);
        CHECK(ha->ssh_port != hb->ssh_port);
        CHECK(strcmp(ha->known_hosts, hb->known_hosts) != 0);
        CHECK_EQ_STR(ha->instance_type, NULL);

        test_files(&a);
        test_env(&a);
        test_identity(&a, want_user);
        test_isolation(&a, &b, real_marker);
        test_confinement(&a, &b);
        test_strict_host_key(&a, &b);

        check_set_case("%s: a host's sshd outlives a server restart; a killed one is "
                       "reported",
                       mode);
        char config[700];
        snprintf(config, sizeof config, "%s/sshd_config", b.dir);
        pid_t bsshd = find_sshd(config);
        CHECK(bsshd > 0);
        if (bsshd > 0) kill(bsshd, SIGKILL);
        for (int i = 0; i < 100 && running(bsshd); i++)
            sleep_ms(50);
        lb_client_close(c);
        c = NULL;
        CHECK_EQ_INT(server_stop(&s), 0);
        if (server_start(&s, args) != 0) {
            CHECK_FAIL("the server did not start again");
        } else {
            c = server_client(&s, NULL);
            lb_host *got = NULL;
            CHECK_EQ_INT(lb_get_host(c, b.id, &got, &err), LB_OK);
            if (got) {
                CHECK_EQ_STR(got->status, "error");
                CHECK_CONTAINS(got->last_error, "sshd");
                lb_host_free(got);
            }
            got = NULL;
            CHECK_EQ_INT(lb_get_host(c, a.id, &got, &err), LB_OK);
            if (got) {
                CHECK_EQ_STR(got->status, "active");
                CHECK_EQ_STR(got->private_key, NULL);
                lb_host_free(got);
            }
            int st;
            char *out = ssh_out(&a, "echo after-restart", &st);
            CHECK_EQ_STR(out, "after-restart\n");
            free(out);

            test_delete(c, &a);

            check_set_case("%s: delete of a host whose sshd died", mode);
            CHECK_EQ_INT(lb_delete_host(c, b.id, &err), LB_OK);
            CHECK(!exists(b.dir));
        }
    }
    lb_host_free(ha);
    lb_host_free(hb);
    if (c) lb_client_close(c);
    unlink(real_marker);
    unlink(pwned1);
    unlink(pwned2);
    unlink(pwned3);

    check_set_case("%s: nothing left", mode);
    char hosts[400];
    snprintf(hosts, sizeof hosts, "%s/hosts", s.state_dir);
    DIR *d = opendir(hosts);
    int entries = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK_EQ_INT(entries, 0);
    kill_leftovers(s.state_dir);
    server_cleanup(&s);
    g_srv = NULL;
}

/* A token file and a database outside the state folder's tree (so that
 * hiding the state folder does not cover them) stay out of sessions too. */
static void test_private_paths(const char *mode)
{
    check_set_case("%s: a session reads neither a --token-file nor a --db kept elsewhere", mode);
    /* Not under /tmp, /home or /run: sessions get fresh ones of those. */
    char outside[PATH_MAX];
    if (visible_dir(outside, sizeof outside - 32) != 0) {
        printf("SKIP %s: no writable folder that sessions can see\n", __func__);
        return;
    }
    strcat(outside, "/lbs-private.XXXXXX");
    if (!CHECK(mkdtemp(outside) != NULL)) return;
    chmod(outside, 0755); /* readable, so that only the hiding can keep it out */
    char token[PATH_MAX + 16], db[PATH_MAX + 16];
    snprintf(token, sizeof token, "%s/token", outside);
    snprintf(db, sizeof db, "%s/hosts.db", outside);
    write_file(token, TEST_TOKEN "\n", 0644);
    server s;
    if (server_init(&s) != 0) {
        CHECK_FAIL("server_init");
        return;
    }
    s.no_token_file = 1;
    const char *args[] = {"--default-provider", "local", "--token-file", token, "--db", db, NULL};
    g_srv = &s;
    if (server_start(&s, args) == 0) {
        lb_client *c = server_client(&s, NULL);
        lb_error err;
        lb_host *h = create(c, NULL, NULL, &err);
        host a;
        if (!h) CHECK_FAIL("create: %s", err.message);
        if (h && host_from(h, "a", &a) == 0) {
            char cmd[3 * PATH_MAX + 200];
            /* Hidden files read as empty (/dev/null is bound over them). */
            snprintf(cmd, sizeof cmd, "cat '%s' '%s' '%s-wal' 2>/dev/null | wc -c", token, db, db);
            int st;
            char *out = ssh_out(&a, cmd, &st);
            CHECK_EQ_INT(st, 0);
            CHECK_EQ_STR(out, "0\n");
            free(out);
            CHECK_EQ_INT(lb_delete_host(c, h->id, &err), LB_OK);
        }
        lb_host_free(h);
        lb_client_close(c);
    } else {
        CHECK_FAIL("the server did not start");
    }
    kill_leftovers(s.state_dir);
    server_cleanup(&s);
    g_srv = NULL;
    unlink(token);
    char side[PATH_MAX + 32];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", db, suffix[i]);
        unlink(side);
    }
    rmdir(outside);
}

/* Root: run this program again as the unprivileged sandbox user, which then
 * starts its own server (the ordinary-user mode), and count its checks. */
static void run_as_user(char **argv)
{
    check_set_case("ordinary-user mode (as %s)", SANDBOX_USER);
    struct passwd *pw = getpwnam(SANDBOX_USER);
    if (!pw) {
        CHECK_FAIL("no user %s (the root mode should have made it)", SANDBOX_USER);
        return;
    }
    int pipefd[2];
    if (pipe(pipefd) != 0) return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
            _exit(126);
        /* This program runs through /proc/self/exe whatever folder it is
         * in, but the server is started by its path: a build under a 0700
         * home (root's clone in /root) is out of the user's reach. */
        if (access(LBS_PATH, X_OK) != 0 || access(LBS_CLI_PATH, X_OK) != 0) _exit(78);
        setenv(AS_USER_ENV, "1", 1);
        setenv("HOME", "/tmp", 1);
        setenv("TMPDIR", "/tmp", 1);
        unsetenv("XDG_STATE_HOME");
        execv("/proc/self/exe", argv);
        _exit(77);
    }
    close(pipefd[1]);
    FILE *f = fdopen(pipefd[0], "r");
    char line[1024];
    int passed = -1, failed = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%d passed, %d failed", &passed, &failed) == 2) continue;
        fputs(line, stdout);
    }
    if (f) fclose(f);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        printf("SKIP ordinary-user mode: %s cannot execute this test program\n", SANDBOX_USER);
        return;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 78) {
        printf("SKIP ordinary-user mode: %s cannot execute %s (a folder on its path is closed "
               "to other users, e.g. a 0700 home)\n",
               SANDBOX_USER, LBS_PATH);
        return;
    }
    if (passed < 0) {
        CHECK_FAIL("the ordinary-user run printed no summary (status %d)", st);
        return;
    }
    printf("ordinary-user mode: %d passed, %d failed\n", passed, failed);
    check_passed_n += passed;
    check_failed_n += failed;
}

int main(int argc, char **argv)
{
    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    hostile_init();
    if (access("/usr/sbin/sshd", X_OK) != 0 || access("/usr/bin/bwrap", X_OK) != 0 ||
        access("/usr/bin/ssh", X_OK) != 0) {
        printf("SKIP: needs /usr/sbin/sshd, /usr/bin/ssh and /usr/bin/bwrap\n");
        return check_summary();
    }
    int as_user = getenv(AS_USER_ENV) != NULL;
    run_suite(geteuid() == 0 ? "root" : "user");
    if (geteuid() == 0) /* as the sandbox user, the working folder may not be ours */
        test_private_paths("root");
    if (geteuid() == 0 && !as_user) run_as_user(argv);
    return check_summary();
}
