/* See harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cli/spawn.h"

#ifndef LBS_PATH
#error "LBS_PATH (the litterbox-server binary) must be defined"
#endif
#ifndef LBS_CLI_PATH
#error "LBS_CLI_PATH (the litterbox binary) must be defined"
#endif

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int server_init(server *s)
{
    memset(s, 0, sizeof *s);
    s->pid = -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/lbs-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(s->state_dir, sizeof s->state_dir, "%s/state", s->dir);
    snprintf(s->log_path, sizeof s->log_path, "%s/server.log", s->dir);
    snprintf(s->token_file, sizeof s->token_file, "%s/token", s->dir);
    FILE *f = fopen(s->token_file, "w");
    if (!f) return -1;
    fputs(TEST_TOKEN "\n", f);
    fclose(f);
    chmod(s->token_file, 0600);
    return 0;
}

int server_start(server *s, const char *const *args)
{
    const char *argv[80];
    int n = 0;
    /* LBS_VALGRIND=1: the server runs under valgrind, and a leak or error
     * turns its exit status into 99 (which every stop checks). */
    int under_valgrind = getenv("LBS_VALGRIND") && strcmp(getenv("LBS_VALGRIND"), "1") == 0;
    if (under_valgrind) {
        argv[n++] = "valgrind";
        argv[n++] = "-q";
        argv[n++] = "--leak-check=full";
        argv[n++] = "--errors-for-leak-kinds=definite";
        argv[n++] = "--error-exitcode=99";
    }
    argv[n++] = LBS_PATH;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--state-dir";
    argv[n++] = s->state_dir;
    if (!s->no_token_file) {
        argv[n++] = "--token-file";
        argv[n++] = s->token_file;
    }
    int has_provider = 0;
    for (int i = 0; args && args[i] && n < 76; i++) {
        if (strcmp(args[i], "--default-provider") == 0) has_provider = 1;
        argv[n++] = args[i];
    }
    if (!has_provider) {
        argv[n++] = "--default-provider";
        argv[n++] = "fake";
    }
    argv[n] = NULL;

    int out[2];
    if (pipe(out) != 0) return -1;
    int logfd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        /* A test that crashes must not leave its server behind. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(out[1], 1);
        dup2(logfd, 2);
        close(out[0]);
        close(out[1]);
        if (s->tokens_env)
            setenv("LITTERBOX_SERVER_TOKENS", s->tokens_env, 1);
        else
            unsetenv("LITTERBOX_SERVER_TOKENS");
        if (under_valgrind)
            execvp("valgrind", (char *const *)argv);
        else
            execv(LBS_PATH, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(logfd);
    s->pid = pid;

    /* Read "listening on http://127.0.0.1:PORT\n". */
    char line[256];
    size_t len = 0;
    double deadline = mono_s() + (under_valgrind ? 120 : 30);
    while (len < sizeof line - 1 && mono_s() < deadline) {
        struct pollfd p = {out[0], POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) continue;
        ssize_t got = read(out[0], line + len, 1);
        if (got <= 0) break;
        if (line[len] == '\n') break;
        len += (size_t)got;
    }
    line[len] = '\0';
    close(out[0]);
    const char *pre = "listening on http://127.0.0.1:";
    if (strncmp(line, pre, strlen(pre)) != 0) {
        fprintf(stderr, "harness: the server did not say it was listening (got \"%s\")\n", line);
        char *log = server_log(s);
        fprintf(stderr, "harness: its stderr:\n%s\n", log ? log : "");
        free(log);
        server_stop(s);
        return -1;
    }
    s->port = atoi(line + strlen(pre));
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    return 0;
}

int server_stop(server *s)
{
    if (s->pid <= 0) return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    double deadline = mono_s() + 30;
    pid_t got;
    while ((got = waitpid(s->pid, &st, WNOHANG)) == 0 && mono_s() < deadline)
        sleep_ms(20);
    if (got == 0) {
        fprintf(stderr, "harness: the server ignored SIGTERM for 30 s; killing it\n");
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
        s->pid = -1;
        return 128 + SIGKILL;
    }
    s->pid = -1;
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
    if (rc != 0) { /* a sanitizer's report, or why it failed: the log goes with the folder */
        char *log = server_log(s);
        fprintf(stderr, "harness: the server exited with %d; its log:\n%s\n", rc,
                log ? log : "(unreadable)");
        free(log);
    }
    return rc;
}

void server_kill(server *s)
{
    if (s->pid <= 0) return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = -1;
}

static void remove_tree(const char *path)
{
    /* The folder is ours alone, made by mkdtemp. */
    char cmd[600];
    if (strncmp(path, "/", 1) != 0 || strstr(path, "lbs-test.") == NULL || strchr(path, '\''))
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "harness: could not remove %s\n", path);
}

void server_cleanup(server *s)
{
    if (s->pid > 0) server_stop(s);
    if (s->dir[0] && !getenv("LBS_KEEP_TMP")) remove_tree(s->dir);
}

char *server_log(const server *s)
{
    FILE *f = fopen(s->log_path, "r");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2048) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

lb_client *server_client(const server *s, const char *token)
{
    lb_error err;
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.timeout_s = 60;
    lb_client *c = lb_client_new(s->url, token ? token : TEST_TOKEN, &o, &err);
    if (!c) fprintf(stderr, "harness: lb_client_new: %s\n", err.message);
    return c;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int raw_request(const server *s, const char *method, const char *path, const char *token,
                const char *extra_headers, const char *body, size_t body_len, raw_resp *out)
{
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Accept: application/json\r\n%s%s%s%s",
                     method, path, token ? "Authorization: Bearer " : "", token ? token : "",
                     token ? "\r\n" : "", extra_headers ? extra_headers : "");
    if (body && !(extra_headers && strstr(extra_headers, "Transfer-Encoding")))
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    int rc = write_all(fd, head, (size_t)n);
    if (rc == 0 && body)
        write_all(fd, body, body_len); /* the server may answer before it all went */

    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    double deadline = mono_s() + 60;
    while (buf && mono_s() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 500) <= 0) continue;
        if (cap - len < 4096) {
            char *b = realloc(buf, cap *= 2);
            if (!b) break;
            buf = b;
        }
        ssize_t got = recv(fd, buf + len, cap - len - 1, 0);
        if (got <= 0) break;
        len += (size_t)got;
    }
    close(fd);
    if (!buf) return -1;
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        free(buf);
        return -1;
    }
    *sep = '\0';
    out->head = buf;
    out->body_len = len - (size_t)(sep + 4 - buf);
    out->body = malloc(out->body_len + 1);
    memcpy(out->body, sep + 4, out->body_len);
    out->body[out->body_len] = '\0';
    return 0;
}

void raw_resp_free(raw_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int cli_run(const server *s, const char *const *args, cli_result *out)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = "--url";
    argv[n++] = s->url;
    argv[n++] = "--token-file";
    argv[n++] = s->token_file;
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    const char *env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
    spawn_opts o = {argv, env, SPAWN_PIPES, NULL, NULL, 60000};
    spawn_result r;
    memset(out, 0, sizeof *out);
    if (spawn_run(LBS_CLI_PATH, &o, &r) != 0) return -1;
    out->status = r.status;
    out->out = r.out;
    out->err = r.err;
    return 0;
}

void cli_result_free(cli_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

static int under(const char *path, const char *root)
{
    size_t n = strlen(root);
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

int visible_dir(char *buf, size_t size)
{
    static const char *const fresh[] = {"/tmp", "/var/tmp", "/home", "/root", "/run", "/dev"};
    char cwd[PATH_MAX];
    char *real = getcwd(cwd, sizeof cwd) ? realpath(cwd, NULL) : NULL;
    const char *candidates[] = {real, "/var/lib", "/srv"};
    int rc = -1;
    for (size_t i = 0; i < 3 && rc != 0; i++) {
        const char *c = candidates[i];
        if (!c || access(c, W_OK) != 0)
            continue;
        int hidden = 0;
        for (size_t k = 0; k < sizeof fresh / sizeof *fresh; k++)
            hidden |= under(c, fresh[k]);
        if (!hidden && strlen(c) < size) {
            snprintf(buf, size, "%s", c);
            rc = 0;
        }
    }
    free(real);
    return rc;
}
