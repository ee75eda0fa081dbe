/* T2: lb_list_hosts of a large list against libcurl downloading the same
 * body to nothing, same server, same run.
 *
 * usage: bench_list BASE_URL EXPECTED_COUNT [ROUNDS]
 * Every measurement runs in a child process of its own (fork), so that its
 * peak RSS (ru_maxrss from wait4) is its own: the SDK's is not inflated by
 * the baseline's, nor the other way round. Rounds alternate which goes
 * first. Prints one line per measurement and
 *   T2 sdk_s=... curl_s=... ratio=... sdk_rss_kb=... curl_rss_kb=... body_bytes=...
 * with medians of the times, the median of the rounds' ratios and the
 * largest peak RSS of each kind.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "litterbox.h"

struct sample {
    double seconds;      /* the call itself */
    double free_seconds; /* lb_host_list_free, sdk only */
    double body_bytes;   /* curl only */
    long start_rss_kb;   /* RSS of the child before it started */
    int ok;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static long self_maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void measure_curl(const char *base, struct sample *s)
{
    char url[2048];
    snprintf(url, sizeof url, "%s/hosts", base);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    s->start_rss_kb = self_maxrss_kb();
    double t0 = now_s();
    CURLcode rc = curl_easy_perform(h);
    s->seconds = now_s() - t0;
    long status = 0;
    curl_off_t size = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &size);
    s->body_bytes = (double)size;
    s->ok = rc == CURLE_OK && status == 200;
    if (!s->ok)
        fprintf(stderr, "bench_list: curl: %s, status %ld\n", curl_easy_strerror(rc), status);
    curl_easy_cleanup(h);
    curl_global_cleanup();
}

static void measure_sdk(const char *base, size_t expected, struct sample *s)
{
    lb_error err;
    lb_client *c = lb_client_new(base, "bench-token", NULL, &err);
    if (!c) {
        fprintf(stderr, "bench_list: lb_client_new: %s\n", err.message);
        return;
    }
    s->start_rss_kb = self_maxrss_kb();
    lb_host_list *list = NULL;
    double t0 = now_s();
    lb_code rc = lb_list_hosts(c, &list, &err);
    s->seconds = now_s() - t0;
    if (rc != LB_OK) {
        fprintf(stderr, "bench_list: lb_list_hosts: %s (%s, HTTP %d)\n", err.message,
                lb_code_name(err.code), err.http_status);
    } else if (list->count != expected) {
        fprintf(stderr, "bench_list: %zu hosts, expected %zu\n", list->count, expected);
    } else {
        s->ok = 1;
    }
    t0 = now_s();
    lb_host_list_free(list);
    s->free_seconds = now_s() - t0;
    lb_client_close(c);
}

/* Run one measurement in a child; its peak RSS comes back through wait4. */
static int measure(const char *kind, const char *base, size_t expected, struct sample *s,
                   long *maxrss_kb)
{
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        struct sample out = {0};
        close(fd[0]);
        if (strcmp(kind, "sdk") == 0)
            measure_sdk(base, expected, &out);
        else
            measure_curl(base, &out);
        ssize_t w = write(fd[1], &out, sizeof out);
        _exit(w == (ssize_t)sizeof out && out.ok ? 0 : 1);
    }
    close(fd[1]);
    memset(s, 0, sizeof *s);
    ssize_t r = read(fd[0], s, sizeof *s);
    close(fd[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) return -1;
    *maxrss_kb = ru.ru_maxrss;
    if (r != (ssize_t)sizeof *s || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_list: %s measurement failed\n", kind);
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BASE_URL EXPECTED_COUNT [ROUNDS]\n", argv[0]);
        return 2;
    }
    const char *base = argv[1];
    size_t expected = (size_t)strtoul(argv[2], NULL, 10);
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    if (rounds < 1 || rounds > 99) {
        fprintf(stderr, "bench_list: bad ROUNDS\n");
        return 2;
    }

    struct sample s;
    long rss;
    /* Warm up: the file into the page cache, nginx's workers awake. */
    if (measure("curl", base, expected, &s, &rss) != 0) return 1;

    double sdk_t[99], curl_t[99], free_t[99], ratio[99], body = 0;
    long sdk_rss = 0, curl_rss = 0, sdk_start = 0, curl_start = 0;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int sdk_turn = (k == 0) == (r % 2 == 1);
            if (measure(sdk_turn ? "sdk" : "curl", base, expected, &s, &rss) != 0) return 1;
            if (sdk_turn) {
                sdk_t[r] = s.seconds;
                free_t[r] = s.free_seconds;
                sdk_rss = rss > sdk_rss ? rss : sdk_rss;
                sdk_start = s.start_rss_kb;
            } else {
                curl_t[r] = s.seconds;
                body = s.body_bytes;
                curl_rss = rss > curl_rss ? rss : curl_rss;
                curl_start = s.start_rss_kb;
            }
            printf("T2 round %d %-4s: %.3f s, peak RSS %ld KiB (%ld KiB before the call)\n", r + 1,
                   sdk_turn ? "sdk" : "curl", s.seconds, rss, s.start_rss_kb);
            fflush(stdout);
        }
    }
    /* The ratio is the median of each round's: a round's two measurements
     * ran back to back, under the same load. */
    for (int r = 0; r < rounds; r++)
        ratio[r] = sdk_t[r] / curl_t[r];
    double mr = median(ratio, rounds);
    double best_sdk = sdk_t[0], best_curl = curl_t[0];
    for (int r = 1; r < rounds; r++) {
        best_sdk = sdk_t[r] < best_sdk ? sdk_t[r] : best_sdk;
        best_curl = curl_t[r] < best_curl ? curl_t[r] : best_curl;
    }
    double ms = median(sdk_t, rounds), mc = median(curl_t, rounds), mf = median(free_t, rounds);
    printf("T2 sdk_s=%.4f curl_s=%.4f ratio=%.3f sdk_rss_kb=%ld curl_rss_kb=%ld "
           "sdk_start_rss_kb=%ld curl_start_rss_kb=%ld body_bytes=%.0f free_s=%.4f rounds=%d "
           "best_sdk_s=%.4f best_curl_s=%.4f\n",
           ms, mc, mr, sdk_rss, curl_rss, sdk_start, curl_start, body, mf, rounds, best_sdk,
           best_curl);
    return 0;
}
