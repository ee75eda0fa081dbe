/* The rules of the non-blocking API (litterbox.h): exactly one callback per
 * started call, cancellation, close with calls in flight, callbacks that
 * start and cancel calls, the connection limit and its FIFO queue, the
 * timeout counted from the wire, and refusals that never fire. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fake_server.h"
#include "litterbox.h"

static const char host[] = "{\"id\":\"h\",\"status\":\"active\",\"external_ssh_host\":\"x\","
                           "\"external_ssh_port\":22}";

typedef struct tally {
    int fired;
    lb_code code;
    int order; /* when it fired, among all calls */
} tally;

static int fire_counter;

static void on_done(lb_call *call, const lb_result *r, void *userdata)
{
    (void)call;
    tally *t = userdata;
    t->fired++;
    t->code = r->code;
    t->order = ++fire_counter;
    lb_host_free(r->host);
}

static lb_client *client_for(fake_server *fs, long max_connections, double timeout_s)
{
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.max_connections = max_connections;
    o.timeout_s = timeout_s;
    return lb_client_new(fs_url(fs), "tok", &o, NULL);
}

static void push_hosts(fake_server *fs, int n, int delay_ms)
{
    for (int i = 0; i < n; i++) {
        fs_response r = {.status = 200, .body = host, .delay_ms = delay_ms};
        fs_push(fs, &r);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_exactly_once_and_order(fake_server *fs)
{
    check_set_case("max_connections caps the wire; the queue is FIFO");
    fs_reset(fs);
    push_hosts(fs, 6, 150);
    lb_client *c = client_for(fs, 2, 0);
    tally t[6];
    memset(t, 0, sizeof t);
    char ids[6][8];
    for (int i = 0; i < 6; i++) {
        snprintf(ids[i], sizeof ids[i], "h%d", i);
        CHECK(lb_get_host_async(c, ids[i], on_done, &t[i], NULL) != NULL);
    }
    CHECK_EQ_INT(lb_client_pending(c), 6);
    CHECK_EQ_INT(t[0].fired, 0); /* nothing fires inside the starting call */
    CHECK_EQ_INT(lb_client_run(c, 10, NULL, NULL), LB_OK);
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(t[i].fired, 1);
        CHECK_EQ_INT(t[i].code, LB_OK);
    }
    CHECK(fs_connection_count(fs) <= 2);
    CHECK_EQ_INT(fs_request_count(fs), 6);
    for (size_t i = 0; i < fs_request_count(fs) && i < 6; i++) {
        /* With two slots, request i arrives no later than position i+1. */
        char want_a[32], want_b[32];
        snprintf(want_a, sizeof want_a, "/hosts/h%zu", i);
        snprintf(want_b, sizeof want_b, "/hosts/h%zu", i ^ 1);
        const char *got = fs_request_at(fs, i)->target;
        CHECK(strcmp(got, want_a) == 0 || strcmp(got, want_b) == 0);
    }
    lb_client_close(c);
}

static void test_timeout_counts_from_the_wire(fake_server *fs)
{
    check_set_case("timeout counts from the wire, not the queue");
    fs_reset(fs);
    push_hosts(fs, 3, 500);
    lb_client *c = client_for(fs, 1, 1.2); /* three calls in a row take 1.5 s */
    tally t[3];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 3; i++)
        lb_get_host_async(c, "h", on_done, &t[i], NULL);
    double t0 = now_s();
    CHECK_EQ_INT(lb_client_run(c, 10, NULL, NULL), LB_OK);
    CHECK(now_s() - t0 >= 1.45);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_STR(lb_code_name(t[i].code), "ok");
    lb_client_close(c);
}

static void test_cancel(fake_server *fs)
{
    check_set_case("cancel a running and a queued call");
    fs_reset(fs);
    push_hosts(fs, 3, 300);
    lb_client *c = client_for(fs, 1, 0);
    tally t[3];
    memset(t, 0, sizeof t);
    lb_call *running = lb_get_host_async(c, "h", on_done, &t[0], NULL);
    lb_call *queued = lb_get_host_async(c, "h", on_done, &t[1], NULL);
    lb_get_host_async(c, "h", on_done, &t[2], NULL);
    /* Time running out is no error: LB_OK, and the count of calls left. */
    size_t left = 0;
    CHECK_EQ_INT(lb_client_run(c, 0.05, &left, NULL), LB_OK); /* on the wire now */
    CHECK_EQ_INT(left, 3);
    CHECK_EQ_INT(lb_client_pending(c), 3);
    CHECK_EQ_INT(lb_call_cancel(queued), LB_OK);
    CHECK_EQ_INT(t[1].fired, 1); /* fired before cancel returned */
    CHECK_EQ_INT(t[1].code, LB_ERR_CANCELLED);
    CHECK_EQ_INT(lb_call_cancel(running), LB_OK);
    CHECK_EQ_INT(t[0].fired, 1);
    CHECK_EQ_INT(t[0].code, LB_ERR_CANCELLED);
    CHECK_EQ_INT(lb_call_cancel(NULL), LB_ERR_INVALID);
    left = 99;
    CHECK_EQ_INT(lb_client_run(c, 10, &left, NULL), LB_OK);
    CHECK_EQ_INT(left, 0);
    CHECK_EQ_INT(t[2].fired, 1); /* the third took the freed slot */
    CHECK_EQ_INT(t[2].code, LB_OK);
    lb_client_close(c);
}

static void test_close_in_flight(fake_server *fs)
{
    check_set_case("close with calls in flight fires each once, cancelled");
    fs_reset(fs);
    push_hosts(fs, 4, 1000);
    lb_client *c = client_for(fs, 2, 0);
    tally t[4];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 4; i++)
        lb_get_host_async(c, "h", on_done, &t[i], NULL);
    lb_client_run(c, 0.05, NULL, NULL);
    lb_client_close(c);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(t[i].fired, 1);
        CHECK_EQ_INT(t[i].code, LB_ERR_CANCELLED);
    }
}

/* A callback that starts one call and cancels another. */
typedef struct chain {
    lb_client *client;
    lb_call *victim;
    tally victim_tally, started_tally, self;
    lb_code cancel_self, run_inside;
} chain;

static void on_chain(lb_call *call, const lb_result *r, void *userdata)
{
    chain *ch = userdata;
    ch->self.fired++;
    ch->self.code = r->code;
    ch->cancel_self = lb_call_cancel(call); /* its callback is running: refused */
    ch->run_inside = lb_client_run(ch->client, 1, NULL, NULL);
    if (ch->victim && ch->victim_tally.fired == 0) /* its handle is valid until then */
        lb_call_cancel(ch->victim);
    lb_get_host_async(ch->client, "next", on_done, &ch->started_tally, NULL);
    lb_host_free(r->host);
}

static void test_callback_starts_and_cancels(fake_server *fs)
{
    check_set_case("a callback starts one call and cancels another");
    fs_reset(fs);
    fs_response first = {.status = 200, .body = host, .delay_ms = 300, .match = "/first"};
    fs_response slow = {.status = 200, .body = host, .delay_ms = 3000, .match = "/victim"};
    fs_response fast = {.status = 200, .body = host, .match = "/next"};
    fs_push(fs, &first);
    fs_push(fs, &slow);
    fs_push(fs, &fast);
    lb_client *c = client_for(fs, 4, 0);
    chain ch;
    memset(&ch, 0, sizeof ch);
    ch.client = c;
    lb_get_host_async(c, "first", on_chain, &ch, NULL);
    ch.victim = lb_get_host_async(c, "victim", on_done, &ch.victim_tally, NULL);
    CHECK_EQ_INT(lb_client_run(c, 10, NULL, NULL), LB_OK);
    CHECK_EQ_INT(ch.self.fired, 1);
    CHECK_EQ_INT(ch.cancel_self, LB_ERR_INVALID);
    CHECK_EQ_INT(ch.run_inside, LB_ERR_INVALID);
    CHECK_EQ_INT(ch.victim_tally.fired, 1);
    CHECK_EQ_INT(ch.victim_tally.code, LB_ERR_CANCELLED);
    CHECK_EQ_INT(ch.started_tally.fired, 1);
    CHECK_EQ_INT(ch.started_tally.code, LB_OK);
    lb_client_close(c);
}

/* The last call's callback is in no queue while it runs, so "nothing is
 * pending" holds there: the loop must still not change under the one that
 * is running it. */
static void dummy_watch(void *data, int fd, int events)
{
    (void)data, (void)fd, (void)events;
}

static void dummy_timer(void *data, long ms)
{
    (void)data, (void)ms;
}

typedef struct loop_change {
    lb_client *client;
    lb_code set_inside;
    size_t pending_inside;
} loop_change;

static void on_change_loop(lb_call *call, const lb_result *r, void *userdata)
{
    (void)call;
    loop_change *lc = userdata;
    lb_loop_hooks hooks = LB_LOOP_HOOKS_INIT;
    hooks.watch_fd = dummy_watch;
    hooks.set_timer = dummy_timer;
    lc->pending_inside = lb_client_pending(lc->client);
    lc->set_inside = lb_client_set_loop(lc->client, &hooks, NULL);
    lb_host_free(r->host);
}

static void test_no_loop_change_in_a_callback(fake_server *fs)
{
    check_set_case("lb_client_set_loop inside the last call's callback is refused");
    fs_reset(fs);
    push_hosts(fs, 1, 0);
    lb_client *c = client_for(fs, 4, 0);
    loop_change lc = {c, LB_OK, 99};
    CHECK(lb_get_host_async(c, "h", on_change_loop, &lc, NULL) != NULL);
    CHECK_EQ_INT(lb_client_run(c, 10, NULL, NULL), LB_OK);
    CHECK_EQ_INT(lc.pending_inside, 0);
    CHECK_EQ_INT(lc.set_inside, LB_ERR_INVALID);
    lb_client_close(c);
}

/* Two calls that end in the same loop turn: the first one's callback
 * cancels the second, whose completion may already be waiting. */
typedef struct race {
    lb_call *other;
    tally *other_tally;
    tally self;
} race;

static void on_race(lb_call *call, const lb_result *r, void *userdata)
{
    (void)call;
    race *rc = userdata;
    rc->self.fired++;
    if (rc->other && rc->other_tally->fired == 0)
        lb_call_cancel(rc->other);
    lb_host_free(r->host);
}

static void test_cancel_racing_completion(fake_server *fs)
{
    check_set_case("cancel racing completion fires once");
    for (int round = 0; round < 20; round++) {
        fs_reset(fs);
        push_hosts(fs, 2, 50);
        lb_client *c = client_for(fs, 4, 0);
        race a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        lb_call *ca = lb_get_host_async(c, "h", on_race, &a, NULL);
        lb_call *cb = lb_get_host_async(c, "h", on_race, &b, NULL);
        a.other = cb;
        a.other_tally = &b.self;
        b.other = ca;
        b.other_tally = &a.self;
        lb_client_run(c, 10, NULL, NULL);
        CHECK_EQ_INT(a.self.fired, 1);
        CHECK_EQ_INT(b.self.fired, 1);
        lb_client_close(c);
    }
}

static void test_refusals(fake_server *fs)
{
    check_set_case("refused arguments: NULL, err filled, nothing sent, no callback");
    fs_reset(fs);
    lb_client *c = client_for(fs, 0, 0);
    tally t;
    memset(&t, 0, sizeof t);
    lb_error err;
    memset(&err, 0, sizeof err);
    CHECK(lb_get_host_async(c, "bad/id", on_done, &t, &err) == NULL);
    CHECK_EQ_INT(err.code, LB_ERR_INVALID);
    CHECK_CONTAINS(err.message, "host id");
    CHECK(lb_get_host_async(c, "h", NULL, &t, &err) == NULL);
    CHECK_CONTAINS(err.message, "callback");
    CHECK(lb_renew_host_async(c, "h", LB_EXPIRES_NEVER, on_done, &t, &err) == NULL);
    CHECK(lb_get_host_async(NULL, "h", on_done, &t, &err) == NULL);
    CHECK_EQ_INT(lb_client_pending(c), 0);
    CHECK_EQ_INT(lb_client_run(c, 1, NULL, NULL), LB_OK);
    CHECK_EQ_INT(t.fired, 0);
    CHECK_EQ_INT(fs_request_count(fs), 0);

    check_set_case("set_loop refuses while calls are pending, and bad hooks");
    push_hosts(fs, 1, 0);
    lb_get_host_async(c, "h", on_done, &t, NULL);
    lb_loop_hooks hooks;
    memset(&hooks, 0, sizeof hooks);
    hooks.version = LB_LOOP_HOOKS_VERSION;
    CHECK_EQ_INT(lb_client_set_loop(c, &hooks, &err), LB_ERR_INVALID); /* NULL hooks */
    CHECK_EQ_INT(lb_client_set_loop(c, NULL, &err), LB_ERR_INVALID);   /* pending */
    CHECK_CONTAINS(err.message, "pending");
    CHECK_EQ_INT(lb_client_run(c, 10, NULL, NULL), LB_OK);
    CHECK_EQ_INT(t.fired, 1);
    lb_client_close(c);
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    test_exactly_once_and_order(fs);
    test_timeout_counts_from_the_wire(fs);
    test_cancel(fs);
    test_close_in_flight(fs);
    test_callback_starts_and_cancels(fs);
    test_no_loop_change_in_a_callback(fs);
    test_cancel_racing_completion(fs);
    test_refusals(fs);
    fs_stop(fs);
    return check_summary();
}
