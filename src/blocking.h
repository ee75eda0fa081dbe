/* The blocking driver: a request run to its end on the calling thread, the
 * way curl_easy_perform runs on a private multi handle. Never installed. */
#ifndef LB_BLOCKING_H
#define LB_BLOCKING_H

#include <pthread.h>

#include "request.h"

/* Lanes: an easy handle on its own multi handle each, pooled per client so
 * that connections stay alive across calls and threads, and no two threads
 * use one lane at once. At most `max` lanes exist. */
typedef struct lane_pool {
    pthread_mutex_t lock;
    pthread_cond_t lane_free; /* a lane came back */
    struct lane *idle;
    long out; /* lanes in use: at most max */
    long max;
} lane_pool;

/* 0, or -1 when the lock could not be made. */
int lane_pool_init(lane_pool *p, long max);
/* No lane may be out. */
void lane_pool_free(lane_pool *p);
/* Runs r on a lane, waiting for one while max are in use; returns r->code
 * with r->error and r->result set. */
lb_code blocking_run(lane_pool *p, lb_request *r);

#endif
