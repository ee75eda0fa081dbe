/* The warm pool (--warm-pool N): up to N sandboxes of the default size and
 * image, already started, that a create takes instead of starting one.
 * One thread refills it, one sandbox at a time, so that a refill never
 * competes with more than one start of its own and a create never waits
 * for it: a create either finds a ready sandbox or makes its own.
 *
 * The pool knows sandboxes only by id; making and destroying one is the
 * provider's (gv_pool_ops). */
#include "gvisor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* After a failed start, the refill waits this long before the next try,
 * so that a missing image does not become a busy loop. */
#define RETRY_MS 5000
/* After a take, the refill lets the new host's first session have the
 * CPUs for this long: a sandbox start costs about a core-second, and a
 * login that competes with one takes twice as long (bench/gvisor.sh, T8). */
#define QUIET_MS 1000

typedef struct gv_pool_entry {
    char id[GV_POOL_ID_SIZE];
    void *handle;
} gv_pool_entry;

struct gv_pool {
    gv_pool_ops ops;
    int size;
    gv_pool_entry *ready; /* size slots, the first n_ready used */
    int n_ready;
    long long served;
    long long quiet_until; /* local_now_ms() before which no start begins */
    int stopping;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
};

/* A fresh id in the shape of the server's host ids (a UUID), so that the
 * provider's checks on ids and paths apply to it unchanged. */
static int new_id(char out[GV_POOL_ID_SIZE])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, GV_POOL_ID_SIZE,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

/* Waits on the pool's condition for at most ms; the lock is held. */
static void wait_ms(gv_pool *p, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&p->wake, &p->lock, &until);
}

static void *refill(void *arg)
{
    gv_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        if (p->n_ready >= p->size) {
            pthread_cond_wait(&p->wake, &p->lock);
            continue;
        }
        long long now = local_now_ms();
        if (now < p->quiet_until) {
            wait_ms(p, (int)(p->quiet_until - now));
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        char id[GV_POOL_ID_SIZE], why[256] = "";
        void *handle = NULL;
        int made = new_id(id) == 0 && p->ops.make(p->ops.ctx, id, &handle, why, sizeof why) == 0;
        if (!made)
            fprintf(stderr, "litterbox-server: the warm pool cannot start a sandbox: %s\n",
                    why[0] ? why : "no random id");
        pthread_mutex_lock(&p->lock);
        if (made && !p->stopping && p->n_ready < p->size) {
            memcpy(p->ready[p->n_ready].id, id, GV_POOL_ID_SIZE);
            p->ready[p->n_ready++].handle = handle;
        } else if (made) {
            /* Stopped while it started: it never joins the pool. */
            pthread_mutex_unlock(&p->lock);
            p->ops.destroy(p->ops.ctx, id, handle);
            pthread_mutex_lock(&p->lock);
        } else if (!p->stopping) {
            wait_ms(p, RETRY_MS);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

gv_pool *gv_pool_start(int size, const gv_pool_ops *ops)
{
    gv_pool *p = calloc(1, sizeof *p);
    if (!p || size <= 0 || !(p->ready = calloc((size_t)size, sizeof *p->ready))) {
        free(p);
        return NULL;
    }
    p->ops = *ops;
    p->size = size;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, refill, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->wake);
        free(p->ready);
        free(p);
        return NULL;
    }
    return p;
}

int gv_pool_take(gv_pool *p, char id[GV_POOL_ID_SIZE], void **handle)
{
    int taken = 0;
    pthread_mutex_lock(&p->lock);
    if (p->n_ready > 0 && !p->stopping) {
        /* The oldest first: each waits about as long as the others. */
        memcpy(id, p->ready[0].id, GV_POOL_ID_SIZE);
        *handle = p->ready[0].handle;
        memmove(&p->ready[0], &p->ready[1], (size_t)(p->n_ready - 1) * sizeof *p->ready);
        p->n_ready--;
        p->served++;
        taken = 1;
    }
    pthread_mutex_unlock(&p->lock);
    return taken;
}

void gv_pool_refill(gv_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->quiet_until = local_now_ms() + QUIET_MS;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

void gv_pool_counts(gv_pool *p, int *ready, int *size, long long *served)
{
    pthread_mutex_lock(&p->lock);
    *ready = p->n_ready;
    *size = p->size;
    *served = p->served;
    pthread_mutex_unlock(&p->lock);
}

void gv_pool_stop(gv_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    for (int i = 0; i < p->n_ready; i++)
        p->ops.destroy(p->ops.ctx, p->ready[i].id, p->ready[i].handle);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->ready);
    free(p);
}
