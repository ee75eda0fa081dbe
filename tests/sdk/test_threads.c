/* Keep-alive and threads (docs/api.md, Threads), and release after any sequence of
 * calls (valgrind and ASan judge the leak part). */
#include <pthread.h>

#include "harness.h"

static void test_keep_alive(fake_server *fs)
{
    check_set_case("sequential calls share one connection");
    fs_reset(fs);
    lb_client *cl = client_for(fs, "/api", NULL);
    fs_push_json(fs, 200, FIRST_GEN_BODY);
    fs_push_json(fs, 200, "[" FIRST_GEN_BODY "]");
    fs_push_json(fs, 204, NULL);
    fs_push_json(fs, 200, FIRST_GEN_BODY);
    fs_push_json(fs, 404, "{\"detail\":\"host not found\"}");
    fs_push_json(fs, 200, "{\"status\":\"ok\"}");
    fs_push_json(fs, 201, CURRENT_GEN_BODY);
    lb_host *h = NULL;
    lb_host_list *l = NULL;
    CHECK_EQ_INT(lb_get_host(cl, "h1", &h, NULL), LB_OK);
    lb_host_free(h);
    CHECK_EQ_INT(lb_list_hosts(cl, &l, NULL), LB_OK);
    lb_host_list_free(l);
    CHECK_EQ_INT(lb_delete_host(cl, "h1", NULL), LB_OK);
    h = NULL;
    CHECK_EQ_INT(lb_renew_host(cl, "h1", 0, &h, NULL), LB_OK);
    lb_host_free(h);
    h = NULL;
    CHECK_EQ_INT(lb_get_host(cl, "h2", &h, NULL), LB_ERR_NOT_FOUND);
    CHECK_EQ_INT(lb_health(cl, NULL), LB_OK);
    h = NULL;
    CHECK_EQ_INT(lb_create_host(cl, NULL, &h, NULL), LB_OK);
    lb_host_free(h);
    CHECK_EQ_INT(fs_request_count(fs), 7);
    CHECK_EQ_INT(fs_connection_count(fs), 1);
    lb_client_close(cl);
}

typedef struct worker {
    lb_client *cl;
    int index;
    int ok, failed;
    char first_error[600];
} worker;

#define THREADS 8
#define CALLS_PER_THREAD 10

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        lb_error err;
        lb_host *h = NULL;
        lb_code rc = (i % 2) ? lb_get_host(w->cl, "h1", &h, &err) : lb_attach_host(w->cl, "h1", &h, &err);
        if (rc == LB_OK && h && strcmp(h->id, "8d1b0c2e-0000-4000-8000-00000000beef") == 0) {
            w->ok++;
        } else {
            if (!w->failed)
                snprintf(w->first_error, sizeof w->first_error, "%s: %s", lb_code_name(rc),
                         rc == LB_OK ? "wrong host" : err.message);
            w->failed++;
        }
        lb_host_free(h);
    }
    return NULL;
}

static void test_threads(fake_server *fs)
{
    check_set_case("%d threads x %d blocking calls on one client", THREADS, CALLS_PER_THREAD);
    fs_reset(fs);
    for (int i = 0; i < THREADS * CALLS_PER_THREAD; i++) {
        fs_response r = {.status = 200, .body = FIRST_GEN_BODY, .delay_ms = i % 3};
        fs_push(fs, &r);
    }
    lb_client *cl = client_for(fs, "/api", NULL);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].cl = cl;
        w[i].index = i;
        if (pthread_create(&t[i], NULL, work, &w[i]) != 0) {
            CHECK_FAIL("pthread_create");
            exit(1);
        }
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        if (w[i].failed)
            CHECK_FAIL("thread %d: %d calls failed, first: %s", i, w[i].failed, w[i].first_error);
    }
    CHECK_EQ_INT(ok, THREADS * CALLS_PER_THREAD);
    CHECK_EQ_INT(fs_request_count(fs), THREADS * CALLS_PER_THREAD);
    /* connections are reused across threads: never more than were busy at once */
    size_t conns = fs_connection_count(fs);
    if (!CHECK(conns >= 1 && conns <= THREADS))
        CHECK_FAIL("%zu connections for %d threads", conns, THREADS);
    for (size_t i = 0; i < fs_request_count(fs); i++)
        check_common_headers(fs_request_at(fs, i), 1, NULL);

    /* and again: the warm connections serve the second round */
    check_set_case("second round reuses the connections");
    size_t before = fs_connection_count(fs);
    for (int i = 0; i < THREADS * CALLS_PER_THREAD; i++)
        fs_push_json(fs, 200, FIRST_GEN_BODY);
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].cl = cl;
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
    }
    CHECK_EQ_INT(ok, THREADS * CALLS_PER_THREAD);
    CHECK(fs_connection_count(fs) <= THREADS);
    CHECK(fs_connection_count(fs) >= before);
    lb_client_close(cl);
}

/* max_connections caps the connections even with more threads. */
static void test_max_connections(fake_server *fs)
{
    check_set_case("max_connections 2 with %d threads", THREADS);
    fs_reset(fs);
    for (int i = 0; i < THREADS * CALLS_PER_THREAD; i++) {
        fs_response r = {.status = 200, .body = FIRST_GEN_BODY, .delay_ms = 2};
        fs_push(fs, &r);
    }
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.max_connections = 2;
    lb_client *cl = client_for(fs, "/api", &o);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].cl = cl;
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        if (w[i].failed)
            CHECK_FAIL("thread %d: %s", i, w[i].first_error);
    }
    CHECK_EQ_INT(ok, THREADS * CALLS_PER_THREAD);
    size_t conns = fs_connection_count(fs);
    if (!CHECK(conns <= 2))
        CHECK_FAIL("%zu connections with max_connections 2", conns);
    lb_client_close(cl);
}

/* A client closed after failures of every kind leaks nothing. */
static void test_close_after_failures(fake_server *fs)
{
    check_set_case("close after failed calls");
    fs_reset(fs);
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.timeout_s = 0.3;
    lb_client *cl = client_for(fs, "/api", &o);
    fs_push_json(fs, 500, "oops");
    fs_response trunc = {.status = 200, .body = "[" FIRST_GEN_BODY "]", .truncate = 1};
    fs_push(fs, &trunc);
    fs_response slow = {.status = 200, .body = "{}", .delay_ms = 2000};
    fs_push(fs, &slow);
    lb_host *h = NULL;
    lb_host_list *l = NULL;
    CHECK_EQ_INT(lb_get_host(cl, "h1", &h, NULL), LB_ERR_RESPONSE);
    CHECK_EQ_INT(lb_list_hosts(cl, &l, NULL), LB_ERR_UNAVAILABLE);
    CHECK_EQ_INT(lb_create_host(cl, NULL, &h, NULL), LB_ERR_UNAVAILABLE);
    CHECK_EQ_INT(lb_get_host(cl, "bad/id", &h, NULL), LB_ERR_INVALID);
    CHECK(h == NULL);
    CHECK(l == NULL);
    lb_client_close(cl);

    check_set_case("close a client that never made a call");
    cl = client_for(fs, "/api", NULL);
    lb_client_close(cl);
    lb_client_close(NULL);
    CHECK(1);
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    test_keep_alive(fs);
    test_threads(fs);
    test_max_connections(fs);
    test_close_after_failures(fs);
    fs_stop(fs);
    check_set_case("%s", "");
    return check_summary();
}
