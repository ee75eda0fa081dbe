/* litterbox-server: the Litterbox host API on one machine (docs/server.md).
 *
 * Reads the options, the tokens and the state; starts the providers, the
 * store, the HTTP server and the lease reaper; waits for SIGTERM or SIGINT;
 * then stops accepting, lets requests in flight finish, closes the
 * database and exits 0. Hosts keep running across the restart. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

server_config g_config;

static const char usage[] =
    "usage: litterbox-server [--listen ADDR:PORT] [--allow-remote] [--token-file FILE]\n"
    "                        [--state-dir DIR] [--db PATH]\n"
    "                        [--default-provider local|gvisor|fake] [--gvisor-images DIR]\n"
    "                        [--warm-pool N]\n"
    "                        [--fake-delay SECONDS] [--lease-ttl DURATION]\n"
    "                        [--idempotency-ttl DURATION] [--reap-interval DURATION]\n"
    "                        [--max-hosts N] [--max-pending N] [--max-client-conns N]\n"
    "                        [--stop-grace DURATION]\n"
    "                        [--wire current|v1]\n"
    "       litterbox-server --version\n"
    "\n"
    "The Litterbox host API on one machine. DURATION is a number with s, m, h or d.\n"
    "Tokens: --token-file (one a line, # comments) and LITTERBOX_SERVER_TOKENS\n"
    "(comma-separated). Defaults: --listen 127.0.0.1:8780, --state-dir\n"
    "$XDG_STATE_HOME/litterbox-server (else ~/.local/state/litterbox-server),\n"
    "--default-provider local, --lease-ttl 1h, --idempotency-ttl 24h,\n"
    "--reap-interval 10s, --max-hosts 64, --max-pending 64, --max-client-conns 256,\n"
    "--stop-grace 10s, --wire current, --gvisor-images /var/cache/litterbox/gvisor\n"
    "(built by scripts/gvisor-image.sh), --warm-pool 0 (gvisor sandboxes of the\n"
    "default size kept started for creates; none).\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    fputs("litterbox-server: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

/* Tokens, trimmed, into a growing list. */
typedef struct tokens {
    char **v;
    size_t n;
} tokens;

static void token_add(tokens *t, const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    if (len == 0 || *s == '#') return;
    char **v = realloc(t->v, (t->n + 1) * sizeof *v);
    if (!v) abort();
    t->v = v;
    t->v[t->n++] = strndup(s, len);
}

static int read_token_file(const char *path, tokens *t)
{
    FILE *f = fopen(path, "r");
    if (!f) return fail("--token-file %s: %s", path, strerror(errno));
    /* Anyone who can read the file can call the API: say so, but start
     * (a shared test machine may want exactly that). */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        fprintf(stderr,
                "litterbox-server: warning: --token-file %s is readable by %s (mode %03o); "
                "anyone who can read it can call this server: chmod 600 %s\n",
                path, (st.st_mode & 007) ? "others" : "its group", (unsigned)(st.st_mode & 0777),
                path);
    char line[4096];
    while (fgets(line, sizeof line, f))
        token_add(t, line, strlen(line));
    wipe(line, sizeof line);
    fclose(f);
    return 0;
}

static void tokens_free(tokens *t)
{
    for (size_t i = 0; i < t->n; i++) {
        wipe(t->v[i], strlen(t->v[i]));
        free(t->v[i]);
    }
    free(t->v);
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *listen_spec = "127.0.0.1:8780", *token_file = NULL, *state_dir = NULL, *db = NULL,
               *wire = "current", *gvisor_images = NULL;
    int allow_remote = 0, warm_pool = 0;
    g_config.default_provider = "local";
    g_config.lease_ttl_ms = 3600 * 1000LL;
    g_config.idem_ttl_ms = 24 * 3600 * 1000LL;
    g_config.reap_interval_ms = 10 * 1000LL;
    g_config.max_hosts = 64;
    g_config.max_pending = 64;
    g_config.max_conns_per_client = 256;
    g_config.stop_grace_ms = 10 * 1000LL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("litterbox-server %s\n", LBS_VERSION);
            return 0;
        }
        if (strcmp(a, "--allow-remote") == 0) {
            allow_remote = 1;
            continue;
        }
        static const char *const with_value[] = {
            "--listen",           "--token-file",       "--state-dir", "--db",
            "--default-provider", "--fake-delay",       "--lease-ttl", "--idempotency-ttl",
            "--reap-interval",    "--max-hosts",        "--wire",      "--max-pending",
            "--stop-grace",       "--max-client-conns", "--gvisor-images",
            "--warm-pool",        NULL};
        const char *val = NULL;
        size_t k;
        for (k = 0; with_value[k]; k++) {
            size_t n = strlen(with_value[k]);
            if (strncmp(a, with_value[k], n) == 0 && a[n] == '=') {
                val = a + n + 1;
                break;
            }
            if (strcmp(a, with_value[k]) == 0) {
                if (i + 1 >= argc) return fail("%s needs a value", a);
                val = argv[++i];
                break;
            }
        }
        if (!with_value[k]) {
            fputs(usage, stderr);
            return fail("unknown option '%s'", a);
        }
        const char *opt = with_value[k];
        if (strcmp(opt, "--listen") == 0) {
            listen_spec = val;
        } else if (strcmp(opt, "--token-file") == 0) {
            token_file = val;
        } else if (strcmp(opt, "--state-dir") == 0) {
            state_dir = val;
        } else if (strcmp(opt, "--db") == 0) {
            db = val;
        } else if (strcmp(opt, "--default-provider") == 0) {
            if (!provider_known(val))
                return fail("--default-provider %s: expected local, gvisor or fake", val);
            g_config.default_provider = val;
        } else if (strcmp(opt, "--fake-delay") == 0) {
            char *end;
            errno = 0;
            g_config.fake_delay_s = strtod(val, &end);
            if (errno || *end || end == val || g_config.fake_delay_s < 0 ||
                g_config.fake_delay_s > 86400)
                return fail("--fake-delay %s: expected seconds, e.g. 0.5", val);
        } else if (strcmp(opt, "--gvisor-images") == 0) {
            gvisor_images = val;
        } else if (strcmp(opt, "--warm-pool") == 0) {
            /* Each warm sandbox holds memory (about an idle host's) and a
             * loop device; 64 is --max-hosts' default. */
            char *end;
            errno = 0;
            long n = strtol(val, &end, 10);
            if (errno || *end || end == val || n < 0 || n > 64)
                return fail("--warm-pool %s: expected a number from 0 to 64", val);
            warm_pool = (int)n;
        } else if (strcmp(opt, "--wire") == 0) {
            if (strcmp(val, "current") != 0 && strcmp(val, "v1") != 0)
                return fail("--wire %s: expected current or v1", val);
            wire = val;
        } else if (strcmp(opt, "--max-hosts") == 0 || strcmp(opt, "--max-pending") == 0 ||
                   strcmp(opt, "--max-client-conns") == 0) {
            char *end;
            errno = 0;
            long n = strtol(val, &end, 10);
            if (errno || *end || end == val || n < 1 || n > 100000)
                return fail("%s %s: expected a number from 1 to 100000", opt, val);
            if (strcmp(opt, "--max-hosts") == 0)
                g_config.max_hosts = n;
            else if (strcmp(opt, "--max-pending") == 0)
                g_config.max_pending = n;
            else
                g_config.max_conns_per_client = n;
        } else if (strcmp(opt, "--stop-grace") == 0) {
            int64_t ms = parse_duration(val);
            if (ms < 0 || ms > 3600 * 1000LL)
                return fail("--stop-grace %s: expected a duration from 0s to 1h, e.g. 10s", val);
            g_config.stop_grace_ms = ms;
        } else {
            int64_t ms = parse_duration(val);
            if (ms <= 0)
                return fail("%s %s: expected a duration such as 30s, 10m, 1h or 2d", opt, val);
            if (strcmp(opt, "--lease-ttl") == 0)
                g_config.lease_ttl_ms = ms;
            else if (strcmp(opt, "--idempotency-ttl") == 0)
                g_config.idem_ttl_ms = ms;
            else
                g_config.reap_interval_ms = ms;
        }
    }
    g_config.wire = strcmp(wire, "v1") == 0 ? WIRE_V1 : WIRE_CURRENT;

    tokens toks = {0};
    if (token_file && read_token_file(token_file, &toks) != 0) return 2;
    const char *env_tokens = getenv("LITTERBOX_SERVER_TOKENS");
    for (const char *s = env_tokens; s && *s;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        token_add(&toks, s, len);
        s += len + (comma ? 1 : 0);
    }
    if (toks.n == 0) {
        fprintf(stderr,
                "litterbox-server: no service token, so no client could call it. Give one:\n"
                "  head -c 32 /dev/urandom | base64 > token && chmod 600 token\n"
                "  litterbox-server --token-file token\n"
                "or set LITTERBOX_SERVER_TOKENS=token1,token2 in its environment.\n");
        return 2;
    }

    char state_buf[PATH_MAX];
    if (!state_dir) {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(state_buf, sizeof state_buf, "%s/litterbox-server", xdg);
        else if (home && *home)
            snprintf(state_buf, sizeof state_buf, "%s/.local/state/litterbox-server", home);
        else {
            tokens_free(&toks);
            return fail("no --state-dir, and neither XDG_STATE_HOME nor HOME is set");
        }
        state_dir = state_buf;
    }
    if (make_dirs(state_dir) != 0) {
        tokens_free(&toks);
        return fail("--state-dir %s: %s", state_dir, strerror(errno));
    }
    char db_buf[PATH_MAX + 16];
    if (!db) {
        snprintf(db_buf, sizeof db_buf, "%s/litterbox.db", state_dir);
        db = db_buf;
    }

    /* Signals are taken by sigwait() below; every thread inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    test_hook_init();
    char why[512];
    umask(077); /* the database holds private keys for a while */
    if (store_open(db, why, sizeof why) != 0) {
        tokens_free(&toks);
        return fail("database %s", why);
    }
    provider_config pcfg = {state_dir, g_config.fake_delay_s};
    providers_start(&pcfg);
    /* Sessions of local hosts must not see the tokens or the database, even
     * when they live outside the state folder. */
    const char *private_paths[5];
    size_t np = 0;
    char wal[PATH_MAX + 32], shm[PATH_MAX + 32];
    struct stat st_private;
    if (token_file && stat(token_file, &st_private) == 0) private_paths[np++] = token_file;
    if (strcmp(db, ":memory:") != 0) {
        snprintf(wal, sizeof wal, "%s-wal", db);
        snprintf(shm, sizeof shm, "%s-shm", db);
        const char *files[] = {db, wal, shm};
        for (size_t i = 0; i < 3; i++)
            if (stat(files[i], &st_private) == 0) private_paths[np++] = files[i];
    }
    private_paths[np] = NULL;
    providers_hide_paths(private_paths);
    if (gvisor_images) providers_set_gvisor_images(gvisor_images);
    if (warm_pool) providers_set_gvisor_warm_pool(warm_pool);
    /* Leases that ran out while the server was down go at the reaper's first
     * pass, one interval after the start: a host marked `error` just now
     * stays visible that long, with its last_error. */
    hosts_check_at_start();

    if (http_start(listen_spec, allow_remote, (const char *const *)toks.v, toks.n, why,
                   sizeof why) != 0) {
        tokens_free(&toks);
        providers_stop();
        store_close();
        return fail("%s", why);
    }
    tokens_free(&toks);
    reaper_start();

    int sig = 0;
    sigwait(&stop_signals, &sig);
    fprintf(stderr, "litterbox-server: %s: finishing requests in flight, then stopping\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    int clean = http_stop(g_config.stop_grace_ms) == 0;
    reaper_stop();
    if (!clean) {
        /* Creates or deletes still run after the grace: their hosts become
         * `error` (the next start's reaper removes what they made), the
         * database closes under the store's lock, and the process ends
         * without freeing the providers or the HTTP daemon those threads
         * still use. */
        size_t n = store_fail_provisioning("the server stopped before this host was ready");
        store_close();
        fprintf(stderr,
                "litterbox-server: stopped after %lld ms with work still running; %zu "
                "unfinished create(s) marked error\n",
                (long long)g_config.stop_grace_ms, n);
        fflush(stderr);
        _exit(0);
    }
    providers_stop();
    store_close();
    fprintf(stderr, "litterbox-server: stopped\n");
    return 0;
}
