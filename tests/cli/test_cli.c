/* The `litterbox` program, end to end: the fake server runs in this
 * process, the built binary runs as a child with a controlled environment
 * and no terminal, and each case checks the exit status, stdout, stderr
 * and the requests the server received.
 *
 * Most cases are rows of one table (cases[]); what needs files, a
 * terminal or a signal has a function of its own below it. Every run, of
 * either kind, also goes through check_run_invariants(): the token never
 * appears, a pipe never gets colour or a progress line, and a --json run
 * prints exactly one JSON document whose hosts carry docs/cli.md's keys. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "check.h"
#include "cli.h"
#include "fake_server.h"
#include "keepalive.h"
#include "cases.h"
#include "spawn.h"

#ifndef LB_CLI_PATH
#error "LB_CLI_PATH must name the built litterbox binary"
#endif

static fake_server *fs;
static char workdir[PATH_MAX];
static time_t run_started;

/* ---- running the program ---- */

/** The child's environment: the service URL and token, sanitizer settings,
 *  then @p extra ("NAME=value" adds or replaces, "-NAME" removes). */
static char **env_build(const char *const *extra)
{
    static const char *const passthrough[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                              "PATH"};
    char **env = calloc(64, sizeof *env);
    size_t n = 0;
    char buf[PATH_MAX + 64];
    snprintf(buf, sizeof buf, "SANDBOX_SERVICE_URL=%s", fs_url(fs));
    env[n++] = strdup(buf);
    env[n++] = strdup("SANDBOX_SERVICE_TOKEN=" TOKEN);
    /* The CLI's state folder (keys kept by create) inside the work folder. */
    snprintf(buf, sizeof buf, "XDG_STATE_HOME=%s/state", workdir);
    env[n++] = strdup(buf);
    snprintf(buf, sizeof buf, "HOME=%s", workdir);
    env[n++] = strdup(buf);
    for (size_t i = 0; i < sizeof passthrough / sizeof passthrough[0]; i++) {
        const char *v = getenv(passthrough[i]);
        if (v) {
            snprintf(buf, sizeof buf, "%s=%s", passthrough[i], v);
            env[n++] = strdup(buf);
        }
    }
    for (size_t i = 0; extra && extra[i] && n < 62; i++) {
        const char *e = extra[i];
        const char *name = e[0] == '-' ? e + 1 : e;
        size_t name_len = e[0] == '-' ? strlen(name) : (size_t)(strchr(e, '=') - e);
        for (size_t k = 0; k < n; k++) {
            if (strncmp(env[k], name, name_len) == 0 && env[k][name_len] == '=') {
                free(env[k]);
                env[k] = env[--n];
                env[n] = NULL;
                break;
            }
        }
        if (e[0] != '-') env[n++] = strdup(e);
    }
    env[n] = NULL;
    return env;
}

static void env_free(char **env)
{
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

static int has_arg(const char *const *argv, const char *arg)
{
    for (size_t i = 0; argv[i]; i++)
        if (strcmp(argv[i], arg) == 0) return 1;
    return 0;
}

/* docs/cli.md's host keys, in order. */
static const char *const host_keys[] = {"id",
                                        "name",
                                        "status",
                                        "provider",
                                        "image",
                                        "ssh_host",
                                        "ssh_port",
                                        "ssh_username",
                                        "internal_ssh_host",
                                        "known_hosts",
                                        "private_key",
                                        "tailscale_device_id",
                                        "instance_type",
                                        "disk_gb",
                                        "last_error",
                                        "created_at",
                                        "updated_at",
                                        "activated_at",
                                        "expires_at"};
#define HOST_KEY_COUNT (sizeof host_keys / sizeof host_keys[0])

static void check_host_object_keys(yajl_val v)
{
    if (!CHECK(YAJL_IS_OBJECT(v))) return;
    if (!CHECK_EQ_INT(v->u.object.len, HOST_KEY_COUNT)) return;
    for (size_t i = 0; i < HOST_KEY_COUNT; i++)
        CHECK_EQ_STR(v->u.object.keys[i], host_keys[i]);
}

/** What must hold for every run, whatever the command. */
static void check_run_invariants(const char *const *argv, int mode, const spawn_result *r)
{
    CHECK_LACKS(r->out, TOKEN);
    CHECK_LACKS(r->err, TOKEN);
    CHECK_LACKS(r->out, FILE_TOKEN);
    CHECK_LACKS(r->err, FILE_TOKEN);
    CHECK_EQ_INT(strlen(r->out), r->out_len); /* no NUL bytes */
    if (!(mode & SPAWN_STDOUT_TTY)) CHECK_LACKS(r->out, "\033[");
    if (!(mode & SPAWN_STDERR_TTY)) {
        /* Every line on stderr is one of ours: an error is one line. */
        for (const char *line = r->err; *line;) {
            const char *nl = strchr(line, '\n');
            if (!CHECK(strncmp(line, "litterbox: ", 11) == 0 ||
                       strncmp(line, "Try 'litterbox --help'.\n", 24) == 0))
                fprintf(stderr, "  stray stderr line: %.*s\n", (int)(nl ? nl - line : 80), line);
            CHECK(nl != NULL); /* and it ends with a newline */
            line = nl ? nl + 1 : line + strlen(line);
        }
        CHECK_LACKS(r->err, "\033[");
        CHECK_LACKS(r->err, "provisioning\xe2\x80\xa6");
    }
    if (has_arg(argv, "--json") && r->out_len > 0) {
        /* One document, one trailing newline. */
        CHECK(r->out[r->out_len - 1] == '\n');
        CHECK(strchr(r->out, '\n') == r->out + r->out_len - 1);
        char errbuf[256];
        yajl_val doc = yajl_tree_parse(r->out, errbuf, sizeof errbuf);
        if (!CHECK(doc != NULL)) {
            fprintf(stderr, "  not JSON: %s\n  stdout: %s\n", errbuf, r->out);
            return;
        }
        if (YAJL_IS_OBJECT(doc) &&
            yajl_tree_get(doc, (const char *[]){"known_hosts", NULL}, yajl_t_any))
            check_host_object_keys(doc);
        if (YAJL_IS_ARRAY(doc))
            for (size_t i = 0; i < doc->u.array.len; i++)
                if (!YAJL_IS_STRING(doc->u.array.values[i])) /* list -q: ids */
                    check_host_object_keys(doc->u.array.values[i]);
        yajl_tree_free(doc);
    }
}

/**
 * @p s with each "@REL<unix time>" replaced by how far that time is from
 * now, as human output says it ("in 1126 d"). Returns one of a few
 * rotating buffers, so that several may be used in one expression.
 */
static const char *expand(const char *s)
{
    static char bufs[4][16384];
    static int next;
    char *buf = bufs[next++ % 4];
    size_t n = 0;
    while (*s && n + 64 < sizeof bufs[0]) {
        if (strncmp(s, "@REL", 4) == 0) {
            char *end;
            long long t = strtoll(s + 4, &end, 10);
            when_relative(t, (long long)time(NULL), buf + n, sizeof bufs[0] - n);
            n += strlen(buf + n);
            s = end;
        } else {
            buf[n++] = *s++;
        }
    }
    buf[n] = '\0';
    return buf;
}

/** Run the program with @p argv (after "litterbox"). */
static void run_cli(const char *const *argv, const char *const *extra_env, int mode,
                    spawn_result *r)
{
    char **env = env_build(extra_env);
    spawn_opts o = {argv, (const char *const *)env, mode, NULL, NULL, 0};
    run_started = time(NULL);
    if (spawn_run(LB_CLI_PATH, &o, r) != 0) CHECK_FAIL("could not run %s", LB_CLI_PATH);
    env_free(env);
    check_run_invariants(argv, mode, r);
}

static void dump_run(const spawn_result *r)
{
    fprintf(stderr, "  exit %d\n  stdout: <<%s>>\n  stderr: <<%s>>\n", r->status, r->out, r->err);
}

/* ---- comparing JSON bodies ---- */

static int json_equal(yajl_val a, yajl_val b)
{
    if (!a || !b) return a == b;
    if (a->type != b->type) return 0;
    switch (a->type) {
    case yajl_t_string:
        return strcmp(a->u.string, b->u.string) == 0;
    case yajl_t_number:
        return strcmp(a->u.number.r, b->u.number.r) == 0;
    case yajl_t_array:
        if (a->u.array.len != b->u.array.len) return 0;
        for (size_t i = 0; i < a->u.array.len; i++)
            if (!json_equal(a->u.array.values[i], b->u.array.values[i])) return 0;
        return 1;
    case yajl_t_object:
        if (a->u.object.len != b->u.object.len) return 0;
        for (size_t i = 0; i < a->u.object.len; i++) {
            const char *path[] = {a->u.object.keys[i], NULL};
            if (!json_equal(a->u.object.values[i], yajl_tree_get(b, path, yajl_t_any))) return 0;
        }
        return 1;
    default:
        return 1; /* true, false, null: the type says it all */
    }
}

/**
 * Check one assertion about a request body:
 *   "a.b=JSON"  the value at a.b equals JSON
 *   "=JSON"     the whole body equals JSON
 *   "!a.b"      a.b is absent
 *   "a@T"       a is an RFC 3339 time equal to Unix time T; "a@+N": now + N (±5 s)
 * An empty body counts as {}.
 */
static void check_body(const fs_request *req, const char *assertion)
{
    char errbuf[256];
    const char *text = req->body_len ? req->body : "{}";
    yajl_val doc = yajl_tree_parse(text, errbuf, sizeof errbuf);
    if (!CHECK(doc != NULL)) {
        fprintf(stderr, "  request body is not JSON: %s\n", text);
        return;
    }
    char spec[512];
    snprintf(spec, sizeof spec, "%s", assertion[0] == '!' ? assertion + 1 : assertion);
    char *op = strpbrk(spec, "=@");
    char opc = op ? *op : '\0';
    if (op) *op = '\0';
    const char *path[8];
    size_t n = 0;
    for (char *tok = strtok(spec, "."); tok && n < 7; tok = strtok(NULL, "."))
        path[n++] = tok;
    path[n] = NULL;
    yajl_val at = n ? yajl_tree_get(doc, path, yajl_t_any) : doc;
    if (assertion[0] == '!') {
        if (!CHECK(at == NULL)) fprintf(stderr, "  %s present in %s\n", assertion + 1, text);
    } else if (opc == '=') {
        yajl_val want = yajl_tree_parse(op + 1, errbuf, sizeof errbuf);
        if (!CHECK(want != NULL && json_equal(at, want)))
            fprintf(stderr, "  body %s: want %s\n", text, assertion);
        yajl_tree_free(want);
    } else if (opc == '@') {
        long long got = 0;
        char why[256];
        if (CHECK(YAJL_IS_STRING(at)) &&
            CHECK(time_arg_parse(at->u.string, 0, &got, why, sizeof why) == 0)) {
            const char *t = op + 1;
            long long want = t[0] == '+' ? (long long)run_started + atoll(t + 1) : atoll(t);
            long long slack = t[0] == '+' ? 5 : 0;
            if (!CHECK(got >= want - slack && got <= want + slack))
                fprintf(stderr, "  %s is %s (%lld), want %lld\n", spec, at->u.string, got, want);
        }
    } else {
        CHECK_FAIL("bad body assertion %s", assertion);
    }
    yajl_tree_free(doc);
}

/** Replace "URL" in argv/env entries with the fake server's URL. */
static const char *with_url(const char *s, char *buf, size_t size)
{
    if (!s) return NULL;
    if (strcmp(s, "URL") == 0) return fs_url(fs);
    const char *at = strstr(s, "=URL");
    if (at && at[4] == '\0') {
        snprintf(buf, size, "%.*s=%s", (int)(at - s), s, fs_url(fs));
        return buf;
    }
    return s;
}

/** Of the n recorded requests, the one with e's method, target and
 *  headers (for calls made at once, which arrive in any order); the first
 *  with e's method and target when none has all, so that the checks say
 *  what differs. */
static const fs_request *request_like(const req_expect *e, int n)
{
    const fs_request *fallback = NULL;
    for (int i = 0; i < n; i++) {
        const fs_request *r = fs_request_at(fs, (size_t)i);
        if (strcmp(r->method, e->method) != 0 || strcmp(r->target, e->target) != 0) continue;
        if (!fallback) fallback = r;
        int all = 1;
        for (size_t k = 0; k < 4 && e->headers[k] && all; k++) {
            const char *h = e->headers[k];
            if (h[0] == '!') {
                all = fs_header(r, h + 1) == NULL;
                continue;
            }
            const char *colon = strchr(h, ':');
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(colon - h), h);
            const char *got = fs_header(r, name);
            all = got && strcmp(got, colon + 2) == 0;
        }
        if (all) return r;
    }
    return fallback ? fallback : fs_request_at(fs, 0);
}

static void check_request(const fs_request *r, const req_expect *e)
{
    CHECK_EQ_STR(r->method, e->method);
    CHECK_EQ_STR(r->target, e->target);
    for (size_t i = 0; i < 4 && e->headers[i]; i++) {
        const char *h = e->headers[i];
        if (h[0] == '!') {
            if (!CHECK(fs_header(r, h + 1) == NULL)) fprintf(stderr, "  header %s sent\n", h + 1);
            continue;
        }
        const char *colon = strchr(h, ':');
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(colon - h), h);
        CHECK_EQ_STR(fs_header(r, name), colon + 2);
    }
    for (size_t i = 0; i < 8 && e->body[i]; i++)
        check_body(r, e->body[i]);
}

static void run_case(const cli_case *c)
{
    check_set_case("%s", c->name);
    fs_reset(fs);
    for (size_t i = 0; i < 4 && c->resp[i].status; i++)
        fs_push(fs, &c->resp[i]);
    char bufs[24][512];
    const char *argv[21], *env[5];
    size_t n = 0;
    for (; c->argv[n]; n++)
        argv[n] = with_url(c->argv[n], bufs[n], sizeof bufs[n]);
    argv[n] = NULL;
    for (n = 0; n < 4 && c->env[n]; n++)
        env[n] = with_url(c->env[n], bufs[20 + n], sizeof bufs[20 + n]);
    env[n] = NULL;

    spawn_result r;
    run_cli(argv, env, SPAWN_PIPES, &r);
    int ok = CHECK_EQ_INT(r.status, c->exit);
    if (c->out) ok &= CHECK_EQ_STR(r.out, expand(c->out));
    for (size_t i = 0; i < 6 && c->out_has[i]; i++)
        ok &= CHECK_CONTAINS(r.out, expand(c->out_has[i]));
    for (size_t i = 0; i < 3 && c->out_lacks[i]; i++)
        ok &= CHECK_LACKS(r.out, c->out_lacks[i]);
    if (c->err) ok &= CHECK_EQ_STR(r.err, c->err);
    for (size_t i = 0; i < 4 && c->err_has[i]; i++)
        ok &= CHECK_CONTAINS(r.err, c->err_has[i]);
    for (size_t i = 0; i < 3 && c->err_lacks[i]; i++)
        ok &= CHECK_LACKS(r.err, c->err_lacks[i]);
    if (!ok) dump_run(&r);
    if (CHECK_EQ_INT(fs_request_count(fs), c->nreq))
        for (int i = 0; i < c->nreq; i++)
            check_request(c->any_order ? request_like(&c->req[i], c->nreq)
                                       : fs_request_at(fs, (size_t)i),
                          &c->req[i]);
    spawn_result_free(&r);
}

/* ---- help and version ---- */

static void test_help(void)
{
    static const char *const names[][2] = {
        {"create", NULL},     {"get", NULL},       {"attach", NULL},    {"list", NULL},
        {"delete", NULL},     {"renew", NULL},     {"doctor", NULL},    {"health", NULL},
        {"ssh-config", NULL}, {"proxy", "create"}, {"proxy", "delete"}, {"proxy", "attach"},
        {"proxy", "detach"}};
    spawn_result r;
    fs_reset(fs);
    for (int h = 0; h < 2; h++) {
        const char *flag = h ? "-h" : "--help";
        check_set_case("litterbox %s", flag);
        run_cli((const char *[]){flag, NULL}, NULL, SPAWN_PIPES, &r);
        CHECK_EQ_INT(r.status, 0);
        CHECK_CONTAINS(r.out, "Usage: litterbox [OPTIONS] COMMAND [ARGS]");
        CHECK_EQ_STR(r.err, "");
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char line[64];
            snprintf(line, sizeof line, "  %s%s%s ", names[i][0], names[i][1] ? " " : "",
                     names[i][1] ? names[i][1] : "");
            CHECK_CONTAINS(r.out, line);
        }
        for (const char *const *o =
                 (const char *const[]){"--url", "--token-file", "--timeout", "--env-prefix",
                                       "--json", "--verbose", "--version", NULL};
             *o; o++)
            CHECK_CONTAINS(r.out, *o);
        spawn_result_free(&r);
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "Usage: litterbox [OPTIONS] %s%s%s", names[i][0],
                 names[i][1] ? " " : "", names[i][1] ? names[i][1] : "");
        check_set_case("%s --help", want + 27);
        const char *argv[4] = {names[i][0], names[i][1] ? names[i][1] : "--help",
                               names[i][1] ? "--help" : NULL, NULL};
        run_cli(argv, NULL, SPAWN_PIPES, &r);
        CHECK_EQ_INT(r.status, 0);
        CHECK(strncmp(r.out, want, strlen(want)) == 0);
        CHECK_EQ_STR(r.err, "");
        spawn_result_free(&r);
    }
    check_set_case("create --help lists its options");
    run_cli((const char *[]){"create", "--help", NULL}, NULL, SPAWN_PIPES, &r);
    for (const char *const *o =
             (const char *const[]){"--image", "--env KEY=VALUE", "--env-file", "--expires-at",
                                   "--idempotency-key", "--provider", "--instance-type",
                                   "--disk-gb", "--key-file", "--count", NULL};
         *o; o++)
        CHECK_CONTAINS(r.out, *o);
    spawn_result_free(&r);

    check_set_case("proxy --help");
    run_cli((const char *[]){"proxy", "--help", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "proxy create NAME --target URL");
    CHECK_CONTAINS(r.out, "proxy detach NAME HOST");
    spawn_result_free(&r);

    check_set_case("--version");
    run_cli((const char *[]){"--version", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, "litterbox " LB_VERSION " (liblitterbox " LB_VERSION ")\n");
    spawn_result_free(&r);
    CHECK_EQ_INT(fs_request_count(fs), 0);
}

/* ---- files ---- */

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        CHECK_FAIL("cannot create %s: %s", path, strerror(errno));
        return;
    }
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/** A whole small file, NUL-terminated; NULL when it cannot be read. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

static void write_fixture_files(void)
{
    write_text("token.txt", FILE_TOKEN "\r\n", 0600);
    write_text("good.env",
               "# a comment\nA=1\n\n   # indented comment\r\n"
               "B=has = sign and spaces \r\n",
               0600);
    write_text("more.env", "D=4", 0600);
    write_text("bad.env", "A=1\nNOT A PAIR\n", 0600);
    write_text("good.headers", "# headers\nAuthorization: Bearer abc\n\nX-Trace: 1\n", 0600);
    write_text("bad.headers", "no colon here\n", 0600);
    write_text("export.env", "export A=1\n  export\tB_2=x=y\n", 0600);
    write_text("badkey.env", "A=1\n# fine\n1BAD=2\n", 0600);
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return (mode_t)-1;
    return st.st_mode & 07777;
}

static size_t count_temp_files(void)
{
    /* A failed or finished write leaves no ".NAME.XXXXXX" behind. */
    FILE *p = popen("ls -A | grep -c '^\\..*\\.[A-Za-z0-9]\\{6\\}$'", "r");
    size_t n = 0;
    if (p) {
        if (fscanf(p, "%zu", &n) != 1) n = 0;
        pclose(p);
    }
    return n;
}

static void test_key_file(void)
{
    spawn_result r;
    check_set_case("create --key-file writes the key, mode 0600");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2_KEY});
    unlink("host.key");
    write_text("host.key", "old contents", 0644); /* replaced, and made private */
    run_cli((const char *[]){"create", "--key-file", "host.key", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, expand(HOST_V2_HUMAN_WITH("saved to host.key (mode 0600)")));
    CHECK_EQ_INT(file_mode("host.key"), 0600);
    char *key = read_text("host.key");
    CHECK_EQ_STR(key, PRIVATE_KEY_TEXT);
    free(key);
    spawn_result_free(&r);

    check_set_case("create --count --key-file: FILE-i");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2_KEY});
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2_KEY});
    run_cli((const char *[]){"--json", "create", "--count", "2", "--key-file", "multi.key", NULL},
            NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_INT(file_mode("multi.key-1"), 0600);
    CHECK_EQ_INT(file_mode("multi.key-2"), 0600);
    CHECK(access("multi.key", F_OK) != 0);
    spawn_result_free(&r);

    check_set_case("create --key-file with no key returned");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2});
    unlink("none.key");
    run_cli((const char *[]){"create", "--key-file", "none.key", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.err, "returned no private key");
    CHECK(access("none.key", F_OK) != 0);
    spawn_result_free(&r);

    check_set_case("create --key-file refuses a symlink, before creating anything");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2_KEY});
    write_text("victim.txt", "precious\n", 0644);
    unlink("link.key");
    if (symlink("victim.txt", "link.key") != 0) CHECK_FAIL("symlink: %s", strerror(errno));
    run_cli((const char *[]){"create", "--key-file", "link.key", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "litterbox: local: refusing to write link.key: it is a symbolic link");
    CHECK_EQ_INT(fs_request_count(fs), 0);
    char *victim = read_text("victim.txt");
    CHECK_EQ_STR(victim, "precious\n");
    free(victim);
    CHECK_EQ_INT(file_mode("victim.txt"), 0644);
    spawn_result_free(&r);

    check_set_case("create --count --key-file refuses a symlinked FILE-2 up front");
    fs_reset(fs);
    unlink("multi.key-2");
    if (symlink("victim.txt", "multi.key-2") != 0) CHECK_FAIL("symlink: %s", strerror(errno));
    run_cli((const char *[]){"create", "--count", "2", "--key-file", "multi.key", NULL}, NULL,
            SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 1);
    CHECK_EQ_STR(r.err, "litterbox: local: refusing to write multi.key-2: it is a symbolic link\n");
    CHECK_EQ_INT(fs_request_count(fs), 0);
    spawn_result_free(&r);

    check_set_case("create: a key that cannot be written; the host is still printed");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2_KEY});
    /* A file-size limit of 0 (set by a shell for the child only) makes the
     * write itself fail after every check before it has passed. */
    signal(SIGXFSZ, SIG_IGN);
    /* No state folder either: --key-file is then the only place for it. */
    char **env = env_build((const char *[]){"-XDG_STATE_HOME", "-HOME", NULL});
    const char *sh_argv[] = {
        "-c", "ulimit -f 0; exec \"$0\" \"$@\"", LB_CLI_PATH, "create", "--key-file", "big.key",
        NULL};
    spawn_opts o = {sh_argv, (const char *const *)env, SPAWN_PIPES, NULL, NULL, 0};
    if (spawn_run("/bin/sh", &o, &r) != 0) CHECK_FAIL("could not run /bin/sh");
    env_free(env);
    signal(SIGXFSZ, SIG_DFL);
    check_run_invariants(sh_argv + 3, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 1);
    CHECK_EQ_STR(r.out,
                 expand(HOST_V2_HUMAN_WITH("returned but not kept (see the error); not shown")));
    CHECK_CONTAINS(r.err, "litterbox: local: cannot write big.key: write: ");
    CHECK_CONTAINS(r.err, "(host " ID1 ")\n");
    CHECK(access("big.key", F_OK) != 0);
    CHECK_EQ_INT(fs_request_count(fs), 1);
    spawn_result_free(&r);

    check_set_case("create --key-file in a missing folder");
    fs_reset(fs);
    run_cli((const char *[]){"create", "--key-file", "no/such/dir/k", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "litterbox: local: cannot write no/such/dir/k");
    CHECK_EQ_INT(fs_request_count(fs), 0);
    spawn_result_free(&r);
    CHECK_EQ_INT(count_temp_files(), 0);
}

/**
 * Have OpenSSH itself read @p block (`ssh -G` prints the options it would
 * use, and connects to nothing) and check the resolved lines @p want.
 * Skipped where ssh is not installed.
 */
static void check_ssh_reads(const char *block, const char *host, const char *const *want)
{
    if (access("/usr/bin/ssh", X_OK) != 0) {
        printf("SKIP ssh -G: /usr/bin/ssh not installed\n");
        return;
    }
    write_text("ssh.conf", block, 0600);
    char home[PATH_MAX + 8];
    snprintf(home, sizeof home, "HOME=%s", workdir);
    const char *env[] = {home, "PATH=/usr/bin:/bin", NULL};
    const char *argv[] = {"-G", "-F", "ssh.conf", host, NULL};
    spawn_opts o = {argv, env, SPAWN_PIPES, NULL, NULL, 0};
    spawn_result r;
    if (spawn_run("/usr/bin/ssh", &o, &r) != 0) {
        CHECK_FAIL("could not run ssh -G");
        return;
    }
    CHECK_EQ_INT(r.status, 0);
    for (size_t i = 0; want[i]; i++)
        CHECK_CONTAINS(r.out, want[i]);
    spawn_result_free(&r);
}

static void test_ssh_config(void)
{
    spawn_result r;
    char want[3 * PATH_MAX];

    check_set_case("ssh-config, default known_hosts file");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V2});
    unlink("sb-0123456789ab.known_hosts");
    run_cli((const char *[]){"ssh-config", ID1, NULL}, NULL, SPAWN_PIPES, &r);
    /* ID1 was created above: its kept key is the default IdentityFile. */
    snprintf(want, sizeof want,
             "Host sb-0123456789ab\n    HostName 203.0.113.7\n    Port 2222\n    User sandbox\n"
             "    IdentityFile %s/state/litterbox/hosts/" ID1 "/private_key\n"
             "    UserKnownHostsFile %s/sb-0123456789ab.known_hosts\n"
             "    StrictHostKeyChecking yes\n",
             workdir, workdir);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, want);
    CHECK_EQ_STR(r.err, "");
    char line[3][PATH_MAX + 64];
    snprintf(line[0], sizeof line[0], "\nuserknownhostsfile %s/sb-0123456789ab.known_hosts\n",
             workdir);
    check_ssh_reads(r.out, "sb-0123456789ab",
                    (const char *[]){"\nhostname 203.0.113.7\n", "\nport 2222\n",
                                     "\nuser sandbox\n", "\nstricthostkeychecking true\n", line[0],
                                     NULL});
    CHECK_EQ_INT(file_mode("sb-0123456789ab.known_hosts"), 0600);
    char *kh = read_text("sb-0123456789ab.known_hosts");
    CHECK_EQ_STR(kh, KNOWN_HOSTS_TEXT);
    free(kh);
    if (CHECK_EQ_INT(fs_request_count(fs), 1)) {
        CHECK_EQ_STR(fs_request_at(fs, 0)->method, "GET");
        CHECK_EQ_STR(fs_request_at(fs, 0)->target, "/hosts/" ID1);
    }
    spawn_result_free(&r);

    check_set_case("ssh-config --known-hosts --identity-file, internal-only host");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_INTERNAL});
    if (mkdir("kh dir", 0700) != 0 && errno != EEXIST) CHECK_FAIL("mkdir: %s", strerror(errno));
    run_cli((const char *[]){"ssh-config", ID3, "--known-hosts", "kh dir/100%.kh",
                             "--identity-file", "keys/id", NULL},
            NULL, SPAWN_PIPES, &r);
    snprintf(want, sizeof want,
             "Host sb-bbbbbbbbbbbb\n    HostName sb-bbbbbbbbbbbb.tail.ts.net\n    Port 22\n"
             "    IdentityFile %s/keys/id\n"
             "    UserKnownHostsFile \"%s/kh dir/100%%%%.kh\"\n"
             "    StrictHostKeyChecking yes\n",
             workdir, workdir);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, want);
    snprintf(line[1], sizeof line[1], "\nuserknownhostsfile %s/kh dir/100%%.kh\n", workdir);
    snprintf(line[2], sizeof line[2], "\nidentityfile %s/keys/id\n", workdir);
    check_ssh_reads(r.out, "sb-bbbbbbbbbbbb",
                    (const char *[]){"\nhostname sb-bbbbbbbbbbbb.tail.ts.net\n", "\nport 22\n",
                                     "\nstricthostkeychecking true\n", line[1], line[2], NULL});
    CHECK_EQ_INT(file_mode("kh dir/100%.kh"), 0600);
    kh = read_text("kh dir/100%.kh");
    CHECK_EQ_STR(kh, "sb-bbbbbbbbbbbb.tail.ts.net ssh-ed25519 AAAAin\n");
    free(kh);
    spawn_result_free(&r);

    check_set_case("ssh-config --json");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V1});
    run_cli((const char *[]){"--json", "ssh-config", ID2, "--known-hosts", "v1.kh", NULL}, NULL,
            SPAWN_PIPES, &r);
    snprintf(want, sizeof want,
             "{\"known_hosts_file\":\"%s/v1.kh\",\"ssh_config\":\"Host sb-aaaaaaaaaaaa\\n"
             "    HostName 198.51.100.4\\n    Port 22\\n    UserKnownHostsFile %s/v1.kh\\n"
             "    StrictHostKeyChecking yes\\n\"}\n",
             workdir, workdir);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, want);
    spawn_result_free(&r);

    check_set_case("ssh-config refuses a symlinked known_hosts");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V2});
    write_text("victim2.txt", "precious\n", 0644);
    unlink("link.kh");
    if (symlink("victim2.txt", "link.kh") != 0) CHECK_FAIL("symlink: %s", strerror(errno));
    run_cli((const char *[]){"ssh-config", ID1, "--known-hosts", "link.kh", NULL}, NULL,
            SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 1);
    CHECK_EQ_STR(r.out, "");
    CHECK_EQ_STR(r.err, "litterbox: local: refusing to write link.kh: it is a symbolic link\n");
    char *victim = read_text("victim2.txt");
    CHECK_EQ_STR(victim, "precious\n");
    free(victim);
    spawn_result_free(&r);

    check_set_case("ssh-config refuses a name that would inject directives");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_EVIL_NAME});
    run_cli((const char *[]){"ssh-config", ID1, "--known-hosts", "evil.kh", NULL}, NULL,
            SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 8);
    CHECK_EQ_STR(r.out, "");
    CHECK_CONTAINS(r.err, "litterbox: response: ");
    CHECK(access("evil.kh", F_OK) != 0);
    spawn_result_free(&r);

    check_set_case("ssh-config: a name that is no safe file name needs --known-hosts");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_DOTDOT_NAME});
    run_cli((const char *[]){"ssh-config", ID1, NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 8);
    CHECK_EQ_STR(r.out, "");
    CHECK_EQ_STR(r.err, "litterbox: response: the host's name is not a safe file name; use "
                        "--known-hosts FILE\n");
    CHECK(access("../escaped.known_hosts", F_OK) != 0);
    spawn_result_free(&r);

    check_set_case("ssh-config of an unknown host");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 404, .body = "{\"detail\":\"host not found\"}"});
    run_cli((const char *[]){"ssh-config", ID1, NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 4);
    CHECK_EQ_STR(r.err, "litterbox: not_found: host not found (HTTP 404)\n");
    spawn_result_free(&r);
    CHECK_EQ_INT(count_temp_files(), 0);
}

/** Stdout that cannot be written is a local failure, not a silent success. */
static void test_stdout_full(void)
{
    if (access("/dev/full", W_OK) != 0) {
        printf("SKIP %s: no /dev/full\n", __func__);
        return;
    }
    check_set_case("stdout is /dev/full");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V2});
    char **env = env_build(NULL);
    const char *argv[] = {"-c", "exec \"$0\" \"$@\" >/dev/full", LB_CLI_PATH, "get", ID1, NULL};
    spawn_opts o = {argv, (const char *const *)env, SPAWN_PIPES, NULL, NULL, 0};
    spawn_result r;
    if (spawn_run("/bin/sh", &o, &r) != 0) CHECK_FAIL("could not run /bin/sh");
    env_free(env);
    CHECK_EQ_INT(r.status, 1);
    CHECK_EQ_STR(r.err, "litterbox: local: cannot write the output\n");
    spawn_result_free(&r);
}

/* ---- terminals ---- */

static void test_colour(void)
{
    if (!spawn_pty_available()) {
        printf("SKIP %s: no pseudo-terminal here\n", __func__);
        return;
    }
    spawn_result r;
    check_set_case("a terminal gets colour");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V2});
    run_cli((const char *[]){"get", ID1, NULL}, (const char *[]){"TERM=xterm", NULL},
            SPAWN_STDOUT_TTY, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "\033[32mactive\033[0m");
    CHECK_CONTAINS(r.out, "sb-0123456789ab");
    spawn_result_free(&r);

    check_set_case("NO_COLOR turns colour off on a terminal");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V2});
    run_cli((const char *[]){"get", ID1, NULL}, (const char *[]){"TERM=xterm", "NO_COLOR=1", NULL},
            SPAWN_STDOUT_TTY, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, expand(HOST_V2_HUMAN));
    spawn_result_free(&r);

    check_set_case("NO_COLOR set but empty does not count (no-color.org)");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V2});
    run_cli((const char *[]){"get", ID1, NULL}, (const char *[]){"TERM=xterm", "NO_COLOR=", NULL},
            SPAWN_STDOUT_TTY, &r);
    CHECK_CONTAINS(r.out, "\033[32mactive\033[0m");
    spawn_result_free(&r);

    check_set_case("--json on a terminal is plain JSON");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V2});
    run_cli((const char *[]){"--json", "get", ID1, NULL}, (const char *[]){"TERM=xterm", NULL},
            SPAWN_STDOUT_TTY, &r);
    CHECK_EQ_STR(r.out, HOST_V2_JSON "\n");
    spawn_result_free(&r);
    /* A pipe never gets colour: check_run_invariants() holds every table
     * case to that. */
}

static void test_progress(void)
{
    if (!spawn_pty_available()) {
        printf("SKIP %s: no pseudo-terminal here\n", __func__);
        return;
    }
    spawn_result r;
    check_set_case("create shows elapsed time on a terminal, then clears it");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2, .delay_ms = 2600});
    run_cli((const char *[]){"create", NULL}, NULL, SPAWN_STDERR_TTY, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.err, "\r\033[Kprovisioning\xe2\x80\xa6 0s");
    CHECK_CONTAINS(r.err, "\r\033[Kprovisioning\xe2\x80\xa6 1s");
    CHECK_CONTAINS(r.err, "\r\033[Kprovisioning\xe2\x80\xa6 2s");
    /* Cleared at the end: the last thing on the terminal is the erase. */
    CHECK(r.err_len >= 4 && strcmp(r.err + r.err_len - 4, "\r\033[K") == 0);
    CHECK_EQ_STR(r.out, expand(HOST_V2_HUMAN));
    spawn_result_free(&r);

    check_set_case("create --count: one progress line for all the hosts on a terminal");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2, .match = "k-1"});
    fs_push(fs, &(fs_response){.status = 503, .body = "{\"detail\":\"busy\"}", .match = "k-2"});
    run_cli((const char *[]){"create", "--count", "2", "--idempotency-key", "k", NULL}, NULL,
            SPAWN_STDERR_TTY, &r);
    CHECK_EQ_INT(r.status, 7);
    CHECK_CONTAINS(r.err, "\r\033[Kprovisioning 2 hosts\xe2\x80\xa6 0s");
    CHECK_CONTAINS(r.err, "\r\033[Klitterbox: unavailable: host 2 of 2: busy (HTTP 503)\n");
    spawn_result_free(&r);

    check_set_case("no progress line when stderr is a pipe");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2, .delay_ms = 1200});
    run_cli((const char *[]){"create", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.err, "");
    spawn_result_free(&r);
}

/* ---- SIGINT ---- */

static void interrupt_when_sent(pid_t pid, void *data)
{
    (void)data;
    /* Wait until the request is at the server: the call is under way. */
    for (int i = 0; i < 500 && fs_request_count(fs) == 0; i++)
        usleep(10000);
    usleep(100000);
    kill(pid, SIGINT);
}

static void test_sigint(void)
{
    for (int tty = 0; tty < 1 + spawn_pty_available(); tty++) {
        check_set_case("SIGINT during create (%s)", tty ? "terminal" : "pipe");
        fs_reset(fs);
        fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2, .delay_ms = 3000});
        char **env = env_build(NULL);
        const char *argv[] = {"create", NULL};
        int mode = tty ? SPAWN_STDERR_TTY : SPAWN_PIPES;
        spawn_opts o = {argv, (const char *const *)env, mode, interrupt_when_sent, NULL, 0};
        spawn_result r;
        if (spawn_run(LB_CLI_PATH, &o, &r) != 0) CHECK_FAIL("could not run the program");
        env_free(env);
        check_run_invariants(argv, mode, &r);
        CHECK_EQ_INT(r.status, 130);
        CHECK_EQ_STR(r.out, "");
        CHECK_CONTAINS(r.err, "litterbox: cancelled: interrupted\n");
        /* The key was made for it, and the resume command carries it. */
        CHECK_CONTAINS(r.err, "litterbox: note: the host may still be created; this resumes it "
                              "and returns its key: litterbox create --idempotency-key lb-");
        if (tty) CHECK(strstr(r.err, "\r\033[Klitterbox: cancelled") != NULL);
        spawn_result_free(&r);
    }
}

/* ---- what create keeps, and the commands that use it ---- */

static char state_dir_of_host[PATH_MAX + 128];

static const char *host_state(const char *id, const char *file)
{
    snprintf(state_dir_of_host, sizeof state_dir_of_host, "%s/state/litterbox/hosts/%s%s%s",
             workdir, id, *file ? "/" : "", file);
    return state_dir_of_host;
}

static void test_state_folder(void)
{
    spawn_result r;
    check_set_case("create keeps key, known_hosts and name, private");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2_KEY});
    run_cli((const char *[]){"create", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_INT(file_mode(host_state(ID1, "")), 0700);
    CHECK_EQ_INT(file_mode(host_state(ID1, "private_key")), 0600);
    char *text = read_text(host_state(ID1, "private_key"));
    CHECK_EQ_STR(text, PRIVATE_KEY_TEXT);
    free(text);
    text = read_text(host_state(ID1, "known_hosts"));
    CHECK_EQ_STR(text, KNOWN_HOSTS_TEXT);
    free(text);
    text = read_text(host_state(ID1, "name"));
    CHECK_EQ_STR(text, "sb-0123456789ab\n");
    free(text);
    /* A key was made for the request: "lb-" and 24 hex digits. */
    const char *key =
        fs_request_count(fs) ? fs_header(fs_request_at(fs, 0), "Idempotency-Key") : NULL;
    if (CHECK(key != NULL)) {
        CHECK_EQ_INT(strlen(key), 27);
        CHECK(strncmp(key, "lb-", 3) == 0 && strspn(key + 3, "0123456789abcdef") == 24);
    }
    char first_key[64];
    snprintf(first_key, sizeof first_key, "%s", key ? key : "");
    spawn_result_free(&r);

    check_set_case("each create gets its own key");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V1});
    run_cli((const char *[]){"create", NULL}, NULL, SPAWN_PIPES, &r);
    key = fs_request_count(fs) ? fs_header(fs_request_at(fs, 0), "Idempotency-Key") : NULL;
    CHECK(key && strncmp(key, "lb-", 3) == 0 && strcmp(key, first_key) != 0);
    spawn_result_free(&r);

    check_set_case("list shows which hosts have a key here");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = "[" HOST_V2 "," HOST_V1 "]"});
    run_cli((const char *[]){"list", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, expand(REL_EXPIRES "  local\n"));
    const char *id2 = strstr(r.out, ID2); /* ID2 came back without a key */
    const char *eol = id2 ? strchr(id2, '\n') : NULL;
    CHECK(eol && eol - id2 > 3 && strncmp(eol - 3, "  -", 3) == 0);
    spawn_result_free(&r);

    check_set_case("delete forgets the host's folder");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 204});
    run_cli((const char *[]){"delete", ID1, NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK(access(host_state(ID1, ""), F_OK) != 0);
    spawn_result_free(&r);

    check_set_case("a failed delete keeps the key");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2_KEY});
    run_cli((const char *[]){"create", NULL}, NULL, SPAWN_PIPES, &r);
    spawn_result_free(&r);
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 409, .body = "{\"detail\":\"busy\"}"});
    run_cli((const char *[]){"delete", ID1, NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 5);
    CHECK_EQ_INT(file_mode(host_state(ID1, "private_key")), 0600);
    spawn_result_free(&r);
}

/* A stand-in for OpenSSH on PATH: prints its arguments one a line. */
static void write_fake_ssh(void)
{
    if (mkdir("fakebin", 0700) != 0 && errno != EEXIST) CHECK_FAIL("mkdir fakebin");
    write_text("fakebin/ssh",
               "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n"
               "printf 'token in env: %s\\n' \"${SANDBOX_SERVICE_TOKEN:-none}\"\nexit 42\n",
               0700);
}

static void test_ssh(void)
{
    spawn_result r;
    char path_env[PATH_MAX + 64], want[4 * PATH_MAX];
    write_fake_ssh();
    snprintf(path_env, sizeof path_env, "PATH=%s/fakebin:/usr/bin:/bin", workdir);

    check_set_case("ssh NAME -- command: the kept key, strict checking, ssh's status");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = "[" HOST_V2 "]"});
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V2});
    run_cli((const char *[]){"ssh", "sb-0123456789ab", "--", "uname", "-a", NULL},
            (const char *[]){path_env, NULL}, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 42);
    snprintf(want, sizeof want,
             "ssh\n-i\n%s/state/litterbox/hosts/" ID1 "/private_key\n"
             "-o\nUserKnownHostsFile=%s/state/litterbox/hosts/" ID1 "/known_hosts\n"
             "-o\nGlobalKnownHostsFile=/dev/null\n-o\nStrictHostKeyChecking=yes\n"
             "-o\nIdentitiesOnly=yes\n-p\n2222\n-l\nsandbox\n--\n203.0.113.7\nuname\n-a\n"
             "token in env: none\n",
             workdir, workdir);
    /* $0 is not printed by the stand-in: its first line is the -i. */
    CHECK_EQ_STR(r.out, want + 4);
    CHECK_EQ_STR(r.err, "");
    spawn_result_free(&r);

    check_set_case("ssh to a host created elsewhere needs --identity-file");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V1});
    run_cli((const char *[]){"ssh", ID2, NULL}, (const char *[]){path_env, NULL}, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 1);
    CHECK_EQ_STR(r.out, "");
    CHECK_CONTAINS(r.err, "litterbox: local: no private key for host " ID2 " here");
    CHECK_CONTAINS(r.err, "give --identity-file FILE");
    spawn_result_free(&r);

    check_set_case("ssh --identity-file, internal-only host on port 22");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_INTERNAL});
    run_cli((const char *[]){"ssh", ID3, "--identity-file", "my.key", NULL},
            (const char *[]){path_env, NULL}, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 42);
    CHECK(strncmp(r.out, "-i\nmy.key\n", 10) == 0);
    CHECK_CONTAINS(r.out, "-p\n22\n--\nsb-bbbbbbbbbbbb.tail.ts.net\n");
    CHECK_LACKS(r.out, "-l\n");
    spawn_result_free(&r);

    check_set_case("ssh: words after the host need --");
    fs_reset(fs);
    run_cli((const char *[]){"ssh", ID1, "uname", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "a command goes after --");
    CHECK_EQ_INT(fs_request_count(fs), 0);
    spawn_result_free(&r);
}

/* ---- wait's deadline, renew --keep ---- */

static void test_wait_deadline(void)
{
    spawn_result r;
    check_set_case("wait --timeout: gives up, exit 7, says what it saw");
    fs_reset(fs);
    for (int i = 0; i < 8; i++)
        fs_push(fs, &(fs_response){.status = 200,
                                   .body = HOST_V2_WITH(",\"status\":\"provisioning\"")});
    run_cli((const char *[]){"wait", ID1, "--timeout", "1.5", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 7);
    CHECK_EQ_STR(r.err, "litterbox: unavailable: host " ID1
                        " is provisioning, not active, after 1.5 s (--timeout)\n");
    CHECK(fs_request_count(fs) >= 2 && fs_request_count(fs) <= 4); /* 1 s, then 2 s apart */
    spawn_result_free(&r);
}

static void interrupt_after_three(pid_t pid, void *data)
{
    (void)data;
    for (int i = 0; i < 1500 && fs_request_count(fs) < 3; i++)
        usleep(10000);
    kill(pid, *(int *)data);
}

static void test_renew_keep(void)
{
    static const int signals[] = {SIGINT, SIGTERM};
    for (size_t s = 0; s < 2; s++) {
        check_set_case("renew --keep --ttl 3s, stopped by %s",
                       signals[s] == SIGINT ? "SIGINT" : "SIGTERM");
        /* The service grants the 3 s asked for: renewals 1 s apart. */
        char until[32], body[4096];
        time_t end = time(NULL) + 3;
        strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", gmtime(&end));
        snprintf(body, sizeof body, "%s", HOST_V2);
        char *at = strstr(body, "2030-01-02T00:00:00Z");
        if (at) memcpy(at, until, strlen(until));
        fs_reset(fs);
        fs_push(fs, &(fs_response){.status = 200, .body = body});
        fs_push(fs, &(fs_response){.status = 503, .body = "{\"detail\":\"busy\"}"});
        for (int i = 0; i < 4; i++)
            fs_push(fs, &(fs_response){.status = 200, .body = body});
        char **env = env_build(NULL);
        const char *argv[] = {"renew", "--keep", ID1, "--ttl", "3s", NULL};
        int sig = signals[s];
        spawn_opts o = {argv, (const char *const *)env, SPAWN_PIPES, interrupt_after_three, &sig,
                        0};
        spawn_result r;
        run_started = time(NULL);
        if (spawn_run(LB_CLI_PATH, &o, &r) != 0) CHECK_FAIL("could not run the program");
        env_free(env);
        check_run_invariants(argv, SPAWN_PIPES, &r);
        CHECK_EQ_INT(r.status, 0);
        CHECK_EQ_STR(r.out, "");
        /* renewed, a 503 retried after a second, renewed again */
        char line[256];
        snprintf(line, sizeof line, "litterbox: note: renewed " ID1 " until %s; next in 1 s\n",
                 until);
        CHECK_CONTAINS(r.err, line);
        CHECK_CONTAINS(r.err, "litterbox: unavailable: " ID1 ": busy (HTTP 503)\n"
                              "litterbox: note: retrying in 1 s\n");
        CHECK_CONTAINS(r.err, "litterbox: note: stopped renewing " ID1 "; its lease ends at ");
        CHECK_LACKS(r.err, "cancelled");
        CHECK(fs_request_count(fs) >= 3);
        for (size_t i = 0; i < fs_request_count(fs) && i < 3; i++) {
            CHECK_EQ_STR(fs_request_at(fs, i)->target, "/hosts/" ID1 "/renew");
            check_body(fs_request_at(fs, i), "expires_at@+3");
        }
        spawn_result_free(&r);
    }

    spawn_result r;
    check_set_case("renew --keep stops on an error retrying cannot fix");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 404, .body = "{\"detail\":\"host not found\"}"});
    run_cli((const char *[]){"renew", ID1, "--keep", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 4);
    CHECK_EQ_STR(r.err, "litterbox: not_found: " ID1 ": host not found (HTTP 404)\n");
    spawn_result_free(&r);

    check_set_case("renew --keep of a host that never expires");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = HOST_V1});
    run_cli((const char *[]){"renew", ID2, "--keep", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.err, "litterbox: note: " ID2 " never expires: nothing to keep alive\n");
    if (CHECK_EQ_INT(fs_request_count(fs), 1)) check_body(fs_request_at(fs, 0), "!expires_at");
    spawn_result_free(&r);

    check_set_case("renew --ttl without --keep");
    fs_reset(fs);
    run_cli((const char *[]){"renew", ID1, "--ttl", "1h", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 2);
    CHECK_EQ_INT(fs_request_count(fs), 0);
    spawn_result_free(&r);
}

/* keepalive.c's schedule as a table: the outcome of one renewal and what
 * came before, and the delay until the next. */
static void test_keepalive_schedule(void)
{
    static const struct {
        const char *name;
        keepalive before;
        lb_code code;
        long long now, expires_at, want;
        int failures_after;
    } rows[] = {
        {"renewed for an hour: again in 20 min", {3600, 0, 0}, LB_OK, 1000, 4600, 1200, 0},
        {"a success forgets earlier failures", {3600, 4000, 3}, LB_OK, 1000, 4600, 1200, 0},
        {"a tiny lease: at least a second", {0, 0, 0}, LB_OK, 1000, 1001, 1, 0},
        {"never expires: stop", {0, 0, 0}, LB_OK, 1000, 0, -1, 0},
        {"first transient failure: 1 s", {3600, 4600, 0}, LB_ERR_UNAVAILABLE, 1000, 0, 1, 1},
        {"second: 2 s", {3600, 4600, 1}, LB_ERR_UNAVAILABLE, 1000, 0, 2, 2},
        {"fourth: 8 s", {3600, 4600, 3}, LB_ERR_UNAVAILABLE, 1000, 0, 8, 4},
        {"many: at most 30 s", {3600, 4600, 20}, LB_ERR_UNAVAILABLE, 1000, 0, 30, 21},
        {"never past a quarter of the lease left",
         {3600, 1040, 5},
         LB_ERR_UNAVAILABLE,
         1000,
         0,
         10,
         6},
        {"lease gone: still a second apart", {3600, 900, 5}, LB_ERR_UNAVAILABLE, 1000, 0, 30, 6},
        {"not found: stop", {3600, 4600, 0}, LB_ERR_NOT_FOUND, 1000, 0, -1, 0},
        {"auth: stop", {3600, 4600, 0}, LB_ERR_AUTH, 1000, 0, -1, 0},
        {"conflict: stop", {3600, 4600, 0}, LB_ERR_CONFLICT, 1000, 0, -1, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_set_case("keepalive: %s", rows[i].name);
        keepalive k = rows[i].before;
        CHECK_EQ_INT(keepalive_next(&k, rows[i].code, rows[i].now, rows[i].expires_at),
                     rows[i].want);
        CHECK_EQ_INT(k.failures, rows[i].failures_after);
    }
}

/* ---- the manual page and docs/cli.md say what the program does ---- */

/** A copy of @p s with "-" written as groff's "\-". */
static void groff_dashes(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; *s && n + 3 < size; s++) {
        if (*s == '-') buf[n++] = '\\';
        buf[n++] = *s;
    }
    buf[n] = '\0';
}

static void test_docs_agree(void)
{
    char *man = read_text(LB_SOURCE_DIR "/docs/litterbox.1");
    char *md = read_text(LB_SOURCE_DIR "/docs/cli.md");
    if (!CHECK(man && md)) {
        free(man);
        free(md);
        return;
    }
    size_t count;
    spawn_result r;
    run_cli((const char *[]){"--help", NULL}, NULL, SPAWN_PIPES, &r);
    /* Each command of --help: in the man page's synopsis and in cli.md,
     * and each option its help names, in both. */
    const char *line = strstr(r.out, "Commands:\n");
    count = 0;
    for (line = line ? strchr(line, '\n') + 1 : ""; *line == ' '; line = strchr(line, '\n') + 1) {
        char name[64], want[256];
        const char *p = line + 2;
        size_t n = strcspn(p, " ");
        if (strncmp(p, "proxy", n) == 0) n += 1 + strcspn(p + n + 1, " ");
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        count++;
        check_set_case("docs: command %s", name);
        char g[128];
        groff_dashes(name, g, sizeof g);
        snprintf(want, sizeof want, "\n.B litterbox %s\n", g);
        CHECK_CONTAINS(man, want);
        snprintf(want, sizeof want, "`%s", name);
        CHECK_CONTAINS(md, want);
        spawn_result h;
        char sub[64];
        const char *words[4] = {"help", name, NULL, NULL};
        if (strncmp(name, "proxy ", 6) == 0) {
            snprintf(sub, sizeof sub, "%s", name + 6);
            words[1] = "proxy";
            words[2] = sub;
        }
        run_cli(words, NULL, SPAWN_PIPES, &h);
        CHECK_EQ_INT(h.status, 0);
        for (const char *o = strstr(h.out, "--"); o; o = strstr(o + 2, "--")) {
            size_t len = 2 + strspn(o + 2, "abcdefghijklmnopqrstuvwxyz-");
            if (len <= 3 || strncmp(o, "--help", len) == 0) continue;
            char opt[64], gopt[128];
            snprintf(opt, sizeof opt, "%.*s", (int)len, o);
            groff_dashes(opt, gopt, sizeof gopt);
            if (!CHECK(strstr(man, gopt) != NULL)) fprintf(stderr, "  man lacks %s\n", opt);
            if (!CHECK(strstr(md, opt) != NULL)) fprintf(stderr, "  cli.md lacks %s\n", opt);
        }
        spawn_result_free(&h);
    }
    check_set_case("docs: --help lists the commands");
    CHECK(count >= 16); /* create ... help, proxy ones included */
    spawn_result_free(&r);
    free(man);
    free(md);
}

/* ---- shell completion, end to end ---- */

/* How each shell is made to complete a line: bash and zsh call the
 * script's function as their completion system would (zsh's compadd and
 * compdef stood in for, since they need a terminal), fish asks its own
 * `complete -C`. @LINE@ is the line. */
static const struct {
    const char *shell, *script;
} shells[] = {
    {"/bin/bash", "source <(litterbox completion bash) || exit 9\n"
                  "COMP_WORDS=(@LINE@); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                  "_litterbox; printf '%s\\n' \"${COMPREPLY[@]}\"\n"},
    {"/usr/bin/zsh", "compdef() { :; }; compadd() { [[ $1 == -a ]] && print -l -- ${(P)2}; }\n"
                     "_files() { print FILES; }\n"
                     "source <(litterbox completion zsh) || exit 9\n"
                     "words=(@LINE@); CURRENT=${#words}; _litterbox\n"},
    {"/usr/bin/fish", "litterbox completion fish | source; or exit 9\n"
                      "complete -C '@LINE@'\n"},
};

static void test_shell_completion(void)
{
    static const struct {
        const char *line; /* the words; the last one is being completed */
        const char *want;
    } rows[] = {
        {"litterbox cr", "create\n"},
        {"litterbox --json get sb-0", "sb-0123456789ab\n"},
        {"litterbox proxy att", "attach\n"},
        {"litterbox list --q", "--quiet\n"},
    };
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s", LB_CLI_PATH);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    for (size_t k = 0; k < sizeof shells / sizeof shells[0]; k++) {
        if (access(shells[k].shell, X_OK) != 0) {
            printf("SKIP %s: no %s\n", __func__, shells[k].shell);
            continue;
        }
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            const char *line = rows[i].line;
            check_set_case("%s completes '%s'", shells[k].shell, line);
            fs_reset(fs);
            fs_push(fs, &(fs_response){.status = 200, .body = "[" HOST_V2 "," HOST_V1 "]"});
            char script[1024], path_env[PATH_MAX + 128];
            const char *at = strstr(shells[k].script, "@LINE@");
            snprintf(script, sizeof script, "%.*s%s%s", (int)(at - shells[k].script),
                     shells[k].script, line, at + 6);
            snprintf(path_env, sizeof path_env, "PATH=%s:/usr/bin:/bin", dir);
            char **env = env_build((const char *[]){path_env, NULL});
            spawn_opts o = {(const char *[]){"-c", script, NULL},
                            (const char *const *)env,
                            SPAWN_PIPES,
                            NULL,
                            NULL,
                            0};
            spawn_result r;
            if (spawn_run(shells[k].shell, &o, &r) != 0) CHECK_FAIL("could not run the shell");
            env_free(env);
            CHECK_EQ_INT(r.status, 0);
            if (!CHECK_EQ_STR(r.out, rows[i].want)) fprintf(stderr, "  stderr: %s\n", r.err);
            spawn_result_free(&r);
        }
    }
}

/* ---- the config file ---- */

static void test_config_file(void)
{
    spawn_result r;
    char text[1024], cfg_env[PATH_MAX + 32];
    if (mkdir("cfg", 0700) != 0 && errno != EEXIST) CHECK_FAIL("mkdir cfg");
    if (mkdir("cfg/litterbox", 0700) != 0 && errno != EEXIST) CHECK_FAIL("mkdir cfg/litterbox");
    snprintf(text, sizeof text,
             "# settings\nurl = %s\n  token_file = ../../token.txt\n\nimage=img-from-config\n",
             fs_url(fs));
    write_text("cfg/litterbox/config", text, 0600);
    snprintf(cfg_env, sizeof cfg_env, "XDG_CONFIG_HOME=%s/cfg", workdir);
    const char *no_env[] = {cfg_env, "-SANDBOX_SERVICE_URL", "-SANDBOX_SERVICE_TOKEN", NULL};

    check_set_case("config file: url and token_file (relative to its folder)");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = "[]"});
    run_cli((const char *[]){"list", "-q", NULL}, no_env, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    if (CHECK_EQ_INT(fs_request_count(fs), 1))
        CHECK_EQ_STR(fs_header(fs_request_at(fs, 0), "Authorization"), "Bearer " FILE_TOKEN);
    spawn_result_free(&r);

    check_set_case("config file: create's defaults, a flag beats them");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V1});
    fs_push(fs, &(fs_response){.status = 201, .body = HOST_V1});
    run_cli((const char *[]){"create", NULL}, no_env, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    spawn_result_free(&r);
    run_cli((const char *[]){"create", "--image", "img-from-flag", NULL}, no_env, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    spawn_result_free(&r);
    if (CHECK_EQ_INT(fs_request_count(fs), 2)) {
        check_body(fs_request_at(fs, 0), "image=\"img-from-config\"");
        check_body(fs_request_at(fs, 1), "image=\"img-from-flag\"");
    }

    check_set_case("config file: the environment beats it");
    snprintf(text, sizeof text, "url = http://127.0.0.1:1\ntimeout = 7\n");
    write_text("cfg/litterbox/config", text, 0600);
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = "[]"});
    run_cli((const char *[]){"list", NULL}, (const char *[]){cfg_env, NULL}, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_INT(fs_request_count(fs), 1);
    spawn_result_free(&r);

    check_set_case("litterbox config: each value and where it came from, the token as ***");
    fs_reset(fs);
    run_cli((const char *[]){"config", "--timeout", "9", NULL}, (const char *[]){cfg_env, NULL},
            SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    char want[2 * PATH_MAX];
    snprintf(want, sizeof want,
             "config file:    %s/cfg/litterbox/config (read)\n"
             "url             %s (SANDBOX_SERVICE_URL)\n"
             "token           *** (SANDBOX_SERVICE_TOKEN)\n"
             "timeout         9 (--timeout)\n"
             "image           - (unset)\n",
             workdir, fs_url(fs));
    CHECK(strncmp(r.out, want, strlen(want)) == 0);
    if (strncmp(r.out, want, strlen(want)) != 0) dump_run(&r);
    CHECK_EQ_INT(fs_request_count(fs), 0);
    spawn_result_free(&r);

    check_set_case("litterbox config --json");
    run_cli((const char *[]){"--json", "config", NULL}, no_env, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "\"url\":{\"value\":\"http://127.0.0.1:1\",\"from\":\"");
    CHECK_CONTAINS(r.out, "\"timeout\":{\"value\":\"7\",\"from\":\"");
    CHECK_CONTAINS(r.out, "\"token_file\":{\"value\":null,\"from\":\"unset\"}");
    spawn_result_free(&r);

    static const struct {
        const char *text, *err;
    } bad[] = {
        {"url = x\nimag = y\n",
         "/cfg/litterbox/config:2: unknown key 'imag'; did you mean 'image'?"},
        {"token = abc\n", "/cfg/litterbox/config:1: no token here: use token_file = FILE"},
        {"just words\n", "/cfg/litterbox/config:1: expected key = value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_set_case("config file error: %s", bad[i].err);
        write_text("cfg/litterbox/config", bad[i].text, 0600);
        fs_reset(fs);
        run_cli((const char *[]){"list", NULL}, (const char *[]){cfg_env, NULL}, SPAWN_PIPES, &r);
        CHECK_EQ_INT(r.status, 2);
        CHECK_CONTAINS(r.err, bad[i].err);
        CHECK_EQ_INT(fs_request_count(fs), 0);
        spawn_result_free(&r);
    }
    unlink("cfg/litterbox/config");
}

/* ---- delete --all asks a person first ---- */

static void test_delete_all_asks(void)
{
    if (!spawn_pty_available()) {
        printf("SKIP %s: no pseudo-terminal here\n", __func__);
        return;
    }
    static const struct {
        const char *typed;
        int deletes;
    } rows[] = {{"y\n", 1}, {"n\n", 0}, {"\n", 0}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_set_case("delete --all at a terminal, answered '%c'", rows[i].typed[0]);
        fs_reset(fs);
        fs_push(fs, &(fs_response){.status = 200, .body = "[" HOST_V2 "]"});
        fs_push(fs, &(fs_response){.status = 204});
        char **env = env_build(NULL);
        spawn_opts o = {(const char *[]){"delete", "--all", NULL},
                        (const char *const *)env,
                        SPAWN_STDIN_TTY,
                        NULL,
                        NULL,
                        0};
        spawn_result r;
        if (spawn_run_typing(LB_CLI_PATH, &o, rows[i].typed, &r) != 0)
            CHECK_FAIL("could not run the program");
        env_free(env);
        CHECK(strncmp(r.err, "Delete all 1 host? [y/N] ", 25) == 0);
        CHECK_EQ_INT(fs_request_count(fs), 1 + rows[i].deletes);
        CHECK_EQ_INT(r.status, rows[i].deletes ? 0 : 2);
        CHECK_EQ_STR(r.out, rows[i].deletes ? "deleted " ID1 "\n" : "");
        if (!rows[i].deletes) CHECK_CONTAINS(r.err, "litterbox: cancelled: nothing deleted\n");
        spawn_result_free(&r);
    }
    check_set_case("delete --all --yes at a terminal does not ask");
    fs_reset(fs);
    fs_push(fs, &(fs_response){.status = 200, .body = "[" HOST_V2 "]"});
    fs_push(fs, &(fs_response){.status = 204});
    char **env = env_build(NULL);
    spawn_opts o = {(const char *[]){"delete", "--all", "--yes", NULL},
                    (const char *const *)env,
                    SPAWN_STDIN_TTY,
                    NULL,
                    NULL,
                    0};
    spawn_result r;
    if (spawn_run_typing(LB_CLI_PATH, &o, "", &r) != 0) CHECK_FAIL("could not run the program");
    env_free(env);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.err, "");
    CHECK_EQ_INT(fs_request_count(fs), 2);
    spawn_result_free(&r);
}

/* ---- times for people, in-process ---- */

static void test_when(void)
{
    static const struct {
        long long t;
        const char *want;
    } rel[] = {
        {1000000, "in 0 s"},
        {1000059, "in 59 s"},
        {1000060, "in 1 min"},
        {1000000 + 89 * 60, "in 89 min"},
        {1000000 + 90 * 60, "in 1 h"},
        {1000000 + 23 * 3600 + 59, "in 23 h"},
        {1000000 + 47 * 3600, "in 47 h"},
        {1000000 + 48 * 3600, "in 2 d"},
        {999990, "10 s ago"},
        {1000000 - 5 * 60, "5 min ago"},
        {1000000 - 3 * 86400, "3 d ago"},
    };
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        check_set_case("relative time %s", rel[i].want);
        char buf[64];
        when_relative(rel[i].t, 1000000, buf, sizeof buf);
        CHECK_EQ_STR(buf, rel[i].want);
    }
    static const struct {
        const char *text;
        int relative;
        const char *want;
    } human[] = {
        {"2030-01-02T00:00:00Z", 0, "2030-01-02 00:00:00 UTC"},
        {"2026-12-02T05:35:57.761Z", 0, "2026-12-02 05:35:57 UTC"}, /* the local server's form */
        {"2030-01-02T02:00:00+02:00", 0, "2030-01-02 00:00:00 UTC"},
        {"1970-01-12T13:46:40Z", 1, "1970-01-12 13:46:40 UTC (in 0 s)"},
        {"1970-01-13T13:46:40Z", 1, "1970-01-13 13:46:40 UTC (in 24 h)"},
        {"yesterday", 1, "yesterday"}, /* not a time: as sent */
    };
    for (size_t i = 0; i < sizeof human / sizeof human[0]; i++) {
        check_set_case("human time %s", human[i].text);
        char buf[96];
        when_human(human[i].text, 1000000, human[i].relative, buf, sizeof buf);
        CHECK_EQ_STR(buf, human[i].want);
    }
}

/* ---- TIME, in-process ---- */

/* ---- create --count and delete ID... run their calls at once ---- */

static void test_at_once(void)
{
    spawn_result r;
    /* One after another, the calls would share one kept-alive connection;
     * all at once, each has its own, and every request is in before the
     * first (slow) answer leaves. */
    check_set_case("create --count 4 sends all four at once");
    fs_reset(fs);
    for (int i = 0; i < 4; i++)
        fs_push(fs, &(fs_response){.status = 201, .body = HOST_V2, .delay_ms = 300});
    run_cli((const char *[]){"--json", "create", "--count", "4", NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_INT(fs_request_count(fs), 4);
    CHECK_EQ_INT(fs_connection_count(fs), 4);
    spawn_result_free(&r);

    check_set_case("delete with three ids sends all three at once");
    fs_reset(fs);
    for (int i = 0; i < 3; i++)
        fs_push(fs, &(fs_response){.status = 204, .delay_ms = 300});
    run_cli((const char *[]){"delete", ID1, ID2, ID3, NULL}, NULL, SPAWN_PIPES, &r);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, "deleted " ID1 "\ndeleted " ID2 "\ndeleted " ID3 "\n");
    CHECK_EQ_INT(fs_connection_count(fs), 3);
    spawn_result_free(&r);
}

static void test_time_arg(void)
{
    static const struct {
        const char *s;
        long long want; /* 0: refused */
    } rows[] = {
        {"2030-06-01T12:00:00Z", 1906545600},
        {"2030-06-01t12:00:00z", 1906545600},
        {"2030-06-01T12:00:00+00:00", 1906545600},
        {"2030-06-01T12:00:00+02:00", 1906538400},
        {"2030-06-01T12:00:00-05:30", 1906565400},
        {"2030-06-01T12:00:00.999Z", 1906545600},
        {"2000-02-29T00:00:00Z", 951782400},
        {"+90s", 1000090},
        {"+30m", 1001800},
        {"+2h", 1007200},
        {"+7d", 1604800},
        {"", 0},
        {"+", 0},
        {"+5", 0},
        {"+0s", 0},
        {"+5y", 0},
        {"+-5s", 0},
        {"+5s ", 0},
        {"+99999999999999999999s", 0},
        {"never", 0},
        {"2030-06-01T12:00:00", 0},
        {"2030-06-01 12:00:00Z", 0},
        {"2030-13-01T00:00:00Z", 0},
        {"2031-02-29T00:00:00Z", 0},
        {"2030-06-01T24:00:00Z", 0},
        {"2030-06-01T12:00:00+2:00", 0},
        {"2030-06-01T12:00:00Zjunk", 0},
        {"2030-06-01T12:00:00.Z", 0},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59Z", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_set_case("TIME '%s'", rows[i].s);
        long long got = -7;
        char why[256] = "";
        int rc = time_arg_parse(rows[i].s, 1000000, &got, why, sizeof why);
        if (rows[i].want) {
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(got, rows[i].want);
        } else {
            CHECK_EQ_INT(rc, -1);
            CHECK_EQ_INT(got, -7);
            CHECK(why[0] != '\0');
        }
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_time_arg();
    test_keepalive_schedule();
    test_when();

    char tmpl[] = "/tmp/litterbox-cli-test.XXXXXX";
    if (!mkdtemp(tmpl) || chdir(tmpl) != 0 || !getcwd(workdir, sizeof workdir)) {
        perror("work folder");
        return 1;
    }
    fs = fs_start();
    if (!fs) {
        fprintf(stderr, "cannot start the fake server\n");
        return 1;
    }
    write_fixture_files();

    for (size_t i = 0; i < cli_case_count; i++)
        run_case(&cli_cases[i]);
    test_help();
    test_key_file();
    test_ssh_config();
    test_stdout_full();
    test_colour();
    test_progress();
    test_sigint();
    test_at_once();
    test_state_folder();
    test_ssh();
    test_wait_deadline();
    test_renew_keep();
    test_docs_agree();
    test_shell_completion();
    test_config_file();
    test_delete_all_asks();

    fs_stop(fs);
    if (check_failed_n == 0) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", workdir);
    } else {
        fprintf(stderr, "work folder kept: %s\n", workdir);
    }
    return check_summary();
}
