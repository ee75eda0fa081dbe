/* The blocking driver: each call runs on a lane, an easy handle on a multi
 * handle of its own, and the calling thread waits on that multi handle
 * until the transfer ends, as curl_easy_perform does. Lanes are pooled, so
 * connections are kept alive across calls and threads, and a thread never
 * shares its lane while it runs. */
#include <stdlib.h>

#include "blocking.h"
#include "engine.h"

typedef struct lane {
    CURLM *multi;
    CURL *easy;
    struct lane *next;
} lane;

int lane_pool_init(lane_pool *p, long max)
{
    p->idle = NULL;
    p->out = 0;
    p->max = max;
    if (pthread_mutex_init(&p->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&p->lane_free, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        return -1;
    }
    return 0;
}

static void lane_free(lane *l)
{
    curl_easy_cleanup(l->easy);
    curl_multi_cleanup(l->multi);
    free(l);
}

void lane_pool_free(lane_pool *p)
{
    while (p->idle) {
        lane *l = p->idle;
        p->idle = l->next;
        lane_free(l);
    }
    pthread_cond_destroy(&p->lane_free);
    pthread_mutex_destroy(&p->lock);
}

/* Waits while max lanes are out. NULL when out of memory. */
static lane *lane_take(lane_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (!p->idle && p->out >= p->max)
        pthread_cond_wait(&p->lane_free, &p->lock);
    lane *l = p->idle;
    if (l)
        p->idle = l->next;
    p->out++;
    pthread_mutex_unlock(&p->lock);
    if (l)
        return l;
    l = calloc(1, sizeof *l);
    if (l) {
        l->multi = curl_multi_init();
        l->easy = curl_easy_init();
    }
    if (!l || !l->multi || !l->easy) {
        if (l)
            lane_free(l);
        pthread_mutex_lock(&p->lock);
        p->out--;
        pthread_cond_signal(&p->lane_free);
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    return l;
}

/* Every lane out is kept: there are never more than max. */
static void lane_give(lane_pool *p, lane *l)
{
    pthread_mutex_lock(&p->lock);
    l->next = p->idle;
    p->idle = l;
    p->out--;
    pthread_cond_signal(&p->lane_free);
    pthread_mutex_unlock(&p->lock);
}

/* Drives the lane's multi handle until its one transfer ends; the
 * transfer's CURLcode. */
static CURLcode perform(lane *l)
{
    CURLMcode mc = curl_multi_add_handle(l->multi, l->easy);
    int running = mc == CURLM_OK;
    while (running && mc == CURLM_OK) {
        mc = curl_multi_perform(l->multi, &running);
        if (mc == CURLM_OK && running)
            mc = curl_multi_poll(l->multi, NULL, 0, 1000, NULL);
    }
    if (mc != CURLM_OK)
        return mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
    CURLcode transport = CURLE_OK;
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(l->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == l->easy)
            transport = msg->data.result;
    return transport;
}

lb_code blocking_run(lane_pool *p, lb_request *r)
{
    lane *l = lane_take(p);
    if (!l)
        return r->code = error_set(&r->error, LB_ERR_NOMEM, 0, "out of memory");
    curl_easy_reset(l->easy);
    if (engine_setup(r, l->easy) == LB_OK) {
        engine_complete(r, l->easy, perform(l));
        curl_multi_remove_handle(l->multi, l->easy);
    } else {
        r->code = r->error.code;
    }
    lane_give(p, l);
    return r->code;
}
