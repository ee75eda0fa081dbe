/* Thread rules (litterbox.h): blocking calls from many threads on one
 * client, while the thread that owns the non-blocking API drives its own
 * calls. Run under ThreadSanitizer by `make check`. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_server.h"
#include "litterbox.h"

#define THREADS 8
#define CALLS 25
#define ASYNC_CALLS 40

static const char host[] = "{\"id\":\"h\",\"status\":\"active\",\"external_ssh_host\":\"x\","
                           "\"external_ssh_port\":22}";

typedef struct worker {
    lb_client *client;
    int ok, failed;
} worker;

static void *blocking_worker(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < CALLS; i++) {
        lb_host *h = NULL;
        lb_error err;
        if (lb_get_host(w->client, "h", &h, &err) == LB_OK && strcmp(h->id, "h") == 0)
            w->ok++;
        else
            w->failed++;
        lb_host_free(h);
    }
    return NULL;
}

static int async_ok;

static void on_done(lb_call *call, const lb_result *r, void *userdata)
{
    (void)call;
    (void)userdata;
    if (r->code == LB_OK)
        async_ok++;
    lb_host_free(r->host);
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    for (int i = 0; i < THREADS * CALLS + ASYNC_CALLS; i++) {
        fs_response r = {.status = 200, .body = host};
        fs_push(fs, &r);
    }
    lb_client *c = lb_client_new(fs_url(fs), "tok", NULL, NULL);
    worker w[THREADS];
    pthread_t tid[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].client = c;
        pthread_create(&tid[i], NULL, blocking_worker, &w[i]);
    }
    for (int i = 0; i < ASYNC_CALLS; i++)
        lb_get_host_async(c, "h", on_done, NULL, NULL);
    CHECK_EQ_INT(lb_client_run(c, 60, NULL, NULL), LB_OK);
    int ok = 0, failed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        ok += w[i].ok;
        failed += w[i].failed;
    }
    check_set_case("blocking calls from %d threads and the loop thread's calls", THREADS);
    CHECK_EQ_INT(ok, THREADS * CALLS);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(async_ok, ASYNC_CALLS);
    /* Kept-alive connections: no more than one per thread plus the loop's. */
    CHECK(fs_connection_count(fs) <= THREADS + 20);
    lb_client_close(c);
    fs_stop(fs);
    return check_summary();
}
