/* T3 (docs/performance.md): N concurrent creates on one thread against a server that
 * holds each for 2 s, through liblitterbox's non-blocking API ("lb") or a
 * plain libcurl multi loop ("curl", the baseline).
 *
 *   bench_async lb|curl URL N
 *
 * Prints one line: mode, calls, ok, wall seconds from the first start to
 * the last completion, CPU seconds (user+sys) of the whole run, and the
 * peak RSS growth per call in flight in KiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "litterbox.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long peak_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int ok_count, failed_count;
static double last_done; /* when the last call completed */

static void on_created(lb_call *call, const lb_result *r, void *userdata)
{
    (void)call;
    (void)userdata;
    last_done = now_s();
    if (r->code == LB_OK)
        ok_count++;
    else if (failed_count++ == 0)
        fprintf(stderr, "bench_async: %s: %s\n", lb_code_name(r->code), r->error->message);
    lb_host_free(r->host);
}

static int run_lb(const char *url, int n)
{
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.max_connections = n;
    o.timeout_s = 60;
    lb_error err;
    lb_client *c = lb_client_new(url, "bench-token", &o, &err);
    if (!c) {
        fprintf(stderr, "bench_async: %s\n", err.message);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (!lb_create_host_async(c, NULL, on_created, NULL, &err)) {
            fprintf(stderr, "bench_async: %s\n", err.message);
            return -1;
        }
    lb_client_run(c, 120, NULL, NULL);
    lb_client_close(c);
    return ok_count;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static int run_curl(const char *url, int n)
{
    char target[512];
    snprintf(target, sizeof target, "%s/hosts", url);
    CURLM *m = curl_multi_init();
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Authorization: Bearer bench-token");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    CURL **easy = calloc((size_t)n, sizeof *easy);
    for (int i = 0; i < n; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, target);
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy[i], CURLOPT_TIMEOUT, 60L);
        curl_multi_add_handle(m, easy[i]);
    }
    int running = 1, ok = 0;
    while (running) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            last_done = now_s();
            if (msg->data.result == CURLE_OK)
                ok++;
        }
        if (running)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    for (int i = 0; i < n; i++) {
        curl_multi_remove_handle(m, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    free(easy);
    curl_slist_free_all(h);
    curl_multi_cleanup(m);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_async lb|curl URL N\n");
        return 2;
    }
    int n = atoi(argv[3]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    long rss0 = rss_kib();
    double t0 = now_s(), c0 = cpu_s();
    int ok = strcmp(argv[1], "lb") == 0 ? run_lb(argv[2], n) : run_curl(argv[2], n);
    /* Wall time: from just before the first call starts to the last
     * completion; CPU time: the whole run, set-up and teardown included. */
    double wall = last_done - t0, cpu = cpu_s() - c0;
    double per_call = (double)(peak_kib() - rss0) / n;
    printf("%s calls=%d ok=%d wall_s=%.3f cpu_s=%.3f rss_per_call_kib=%.1f fd_limit=%ld\n",
           argv[1], n, ok, wall, cpu, per_call, (long)rl.rlim_cur);
    return ok == n ? 0 : 1;
}
