/* T1: sequential lb_get_host on one client against the plain libcurl loop
 * (one easy handle reused, body discarded), same server, same run.
 *
 * usage: bench_get BASE_URL HOST_ID [CALLS [ROUNDS]]
 * Each round times CALLS requests of each kind, in ten interleaved blocks;
 * the figures are the medians over the rounds, the ratio the median of
 * the rounds' ratios. Prints
 *   T1 sdk_rps=... curl_rps=... ratio=...
 * plus one line per round. Exit 1 when a request fails.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "litterbox.h"

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

/* Requests per second of `calls` GETs through one reused easy handle. */
static double run_curl(CURL *h, long calls)
{
    double t0 = now_s();
    for (long i = 0; i < calls; i++) {
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200) {
            fprintf(stderr, "bench_get: curl: %s, status %ld\n", curl_easy_strerror(rc), status);
            exit(1);
        }
    }
    return (double)calls / (now_s() - t0);
}

static double run_sdk(lb_client *c, const char *id, long calls)
{
    double t0 = now_s();
    for (long i = 0; i < calls; i++) {
        lb_host *h = NULL;
        lb_error err;
        if (lb_get_host(c, id, &h, &err) != LB_OK) {
            fprintf(stderr, "bench_get: lb_get_host: %s (%s, HTTP %d)\n", err.message,
                    lb_code_name(err.code), err.http_status);
            exit(1);
        }
        lb_host_free(h);
    }
    return (double)calls / (now_s() - t0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BASE_URL HOST_ID [CALLS [ROUNDS]]\n", argv[0]);
        return 2;
    }
    const char *base = argv[1], *id = argv[2];
    long calls = argc > 3 ? atol(argv[3]) : 20000;
    int rounds = argc > 4 ? atoi(argv[4]) : 5;
    if (calls < 1 || rounds < 1 || rounds > 99) {
        fprintf(stderr, "bench_get: bad CALLS or ROUNDS\n");
        return 2;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    char url[2048];
    snprintf(url, sizeof url, "%s/hosts/%s", base, id);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);

    lb_error err;
    lb_client *c = lb_client_new(base, "bench-token", NULL, &err);
    if (!c) {
        fprintf(stderr, "bench_get: lb_client_new: %s\n", err.message);
        return 1;
    }

    /* Warm up both: connections open, nginx's file cache filled. */
    run_curl(h, calls / 10 + 1);
    run_sdk(c, id, calls / 10 + 1);

    /* Load from other processes drifts over seconds on a shared machine:
     * each round interleaves short blocks of the two, so that both see the
     * same conditions. */
    const int blocks = 10;
    long per_block = calls / blocks > 0 ? calls / blocks : 1;
    double sdk[99], base_rps[99], ratio[99];
    for (int r = 0; r < rounds; r++) {
        double sdk_s = 0, curl_s = 0;
        for (int b = 0; b < blocks; b++) {
            if ((r + b) % 2) {
                sdk_s += (double)per_block / run_sdk(c, id, per_block);
                curl_s += (double)per_block / run_curl(h, per_block);
            } else {
                curl_s += (double)per_block / run_curl(h, per_block);
                sdk_s += (double)per_block / run_sdk(c, id, per_block);
            }
        }
        sdk[r] = (double)(per_block * blocks) / sdk_s;
        ratio[r] = curl_s / sdk_s;
        base_rps[r] = (double)(per_block * blocks) / curl_s;
        printf("T1 round %d: sdk %.0f req/s, curl %.0f req/s, ratio %.3f\n", r + 1, sdk[r],
               base_rps[r], sdk[r] / base_rps[r]);
        fflush(stdout);
    }
    /* The ratio is the median of each round's: both kinds of a round ran
     * under the same load, which the medians of each alone do not pair. */
    double mr = median(ratio, rounds);
    double ms = median(sdk, rounds), mb = median(base_rps, rounds);
    printf("T1 sdk_rps=%.0f curl_rps=%.0f ratio=%.3f calls=%ld rounds=%d\n", ms, mb, mr, calls,
           rounds);

    lb_client_close(c);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return 0;
}
