/* Lease expiry: every --reap-interval, hosts whose lease has passed are torn
 * down and forgotten, and idempotency keys past their TTL (with the private
 * keys they kept) are wiped. Hosts still being created, or being deleted
 * by someone else, are left alone: the store's claim decides. */
#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server.h"

static struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int running, stop;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

void reaper_pass(void)
{
    int64_t now = now_ms();
    size_t n;
    host_rec *all = store_hosts_all(&n);
    for (size_t i = 0; i < n; i++) {
        const host_rec *seen = &all[i];
        if (!seen->expires_ms || seen->expires_ms > now) continue;
        /* The claim checks the lease again under the store's lock: a renew
         * that came since wins, and one that comes after it gets 409. */
        host_rec h;
        memset(&h, 0, sizeof h);
        if (store_host_claim(seen->id, now, &h) != CLAIM_OK) {
            host_rec_clear(&h);
            continue;
        }
        char why[512] = "";
        if (hosts_teardown(&h, why, sizeof why) == 0)
            fprintf(stderr, "reaper: host %s (%s) expired and was deleted\n", h.id, h.name);
        else
            fprintf(stderr, "reaper: host %s (%s) expired; teardown failed: %s\n", h.id, h.name,
                    why);
        host_rec_clear(&h);
    }
    for (size_t i = 0; i < n; i++)
        host_rec_clear(&all[i]);
    free(all);
    store_idem_expire(now_ms());
}

static void *reaper_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&R.mu);
    while (!R.stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        int64_t ns = (int64_t)t.tv_nsec + (g_config.reap_interval_ms % 1000) * 1000000;
        t.tv_sec += (time_t)(g_config.reap_interval_ms / 1000) + (time_t)(ns / 1000000000);
        t.tv_nsec = (long)(ns % 1000000000);
        while (!R.stop && pthread_cond_timedwait(&R.wake, &R.mu, &t) != ETIMEDOUT) {
        }
        if (R.stop) break;
        pthread_mutex_unlock(&R.mu);
        reaper_pass();
        pthread_mutex_lock(&R.mu);
    }
    pthread_mutex_unlock(&R.mu);
    return NULL;
}

void reaper_start(void)
{
    R.stop = 0;
    R.running = pthread_create(&R.thread, NULL, reaper_main, NULL) == 0;
    if (!R.running) fprintf(stderr, "litterbox-server: the lease reaper could not start\n");
}

void reaper_stop(void)
{
    if (!R.running) return;
    pthread_mutex_lock(&R.mu);
    R.stop = 1;
    pthread_cond_broadcast(&R.wake);
    pthread_mutex_unlock(&R.mu);
    pthread_join(R.thread, NULL);
    R.running = 0;
}
