/* lb_keep_host_async: a lease kept alive by renews every third of the TTL
 * until the host is refused, the service stays away past the lease, or the
 * call is cancelled; transient failures retried; the callback once, at the
 * end. Every scenario runs on each loop that can drive it: the library's
 * own, and the poll, libuv and libevent adapters (the keeper shares the
 * loop's one timer with libcurl). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "drivers.h"
#include "fake_server.h"

static const char host[] = "{\"id\":\"h\",\"status\":\"active\",\"external_ssh_host\":\"x\","
                           "\"external_ssh_port\":22}";
static const char gone[] = "{\"detail\":\"host not found\"}";
static const char busy[] = "{\"detail\":\"database unavailable\"}";
static const char wrong_state[] = "{\"detail\":\"host is deleting\",\"error_code\":\"HOST_STATE\"}";

typedef struct tally {
    int fired;
    lb_code code;
    int had_host; /* a keeper's end carries no result */
} tally;

static void on_end(lb_call *call, const lb_result *r, void *userdata)
{
    (void)call;
    tally *t = userdata;
    t->fired++;
    t->code = r->code;
    t->had_host = r->host != NULL;
    lb_host_free(r->host);
}

/* The answers a scenario's renews get, in order. */
typedef struct keep_case {
    int line;
    const char *name;
    int statuses[32]; /* 0 ends the list */
    lb_code code;     /* the one callback's code */
    int min_requests, max_requests;
} keep_case;

static const keep_case cases[] = {
    {__LINE__, "renews until the host is gone", {200, 200, 200, 404}, LB_ERR_NOT_FOUND, 4, 4},
    {__LINE__, "transient failures are retried", {200, 503, 503, 200, 409}, LB_ERR_CONFLICT, 5, 5},
    {__LINE__, "a 429 is retried too", {429, 200, 401}, LB_ERR_AUTH, 3, 3},
    /* After the last renew that worked, retries go on until its lease
     * (1 s) passes: a twelfth, a sixth, a third, a third... of a second. */
    {__LINE__, "unreachable until the lease passes",
     {200, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503},
     LB_ERR_UNAVAILABLE, 4, 12},
};

static void push_statuses(fake_server *fs, const int *statuses)
{
    for (size_t i = 0; statuses[i]; i++) {
        int st = statuses[i];
        const char *body = st == 200 ? host : st == 404 ? gone : st == 409 ? wrong_state : busy;
        fs_push_json(fs, st, body);
    }
}

static lb_client *client_for(fake_server *fs)
{
    return lb_client_new(fs_url(fs), "tok", NULL, NULL);
}

/* Checks every renew the server got; returns how many there were. */
static size_t check_renews(fake_server *fs)
{
    size_t renews = 0;
    for (size_t i = 0; i < fs_request_count(fs); i++) {
        const fs_request *r = fs_request_at(fs, i);
        if (strcmp(r->target, "/hosts/other") == 0)
            continue;
        renews++;
        CHECK_EQ_STR(r->method, "POST");
        CHECK_EQ_STR(r->target, "/hosts/h/renew");
        CHECK_CONTAINS(r->body, "\"expires_at\":\"");
    }
    return renews;
}

static void run_case(fake_server *fs, const keep_case *kc, driver_id id)
{
    check_set_case("%s, %s (line %d)", kc->name, driver_names[id], kc->line);
    fs_reset(fs);
    /* First in the queue: responses with no match would answer it too. */
    fs_response other = {.status = 200, .body = host, .delay_ms = 200, .match = "/hosts/other"};
    fs_push(fs, &other);
    push_statuses(fs, kc->statuses);
    driver d;
    if (driver_attach(&d, id, client_for(fs)) != 0) {
        CHECK_FAIL("driver did not attach");
        return;
    }
    tally t = {0};
    lb_error err;
    lb_call *call = lb_keep_host_async(d.client, "h", 1.0, on_end, &t, &err);
    CHECK(call != NULL);
    /* An ordinary call next to the keeper ends as usual. */
    tally t_get = {0};
    CHECK(lb_get_host_async(d.client, "other", on_end, &t_get, NULL) != NULL);
    CHECK_EQ_INT(driver_run(&d, 20), 0);
    CHECK_EQ_INT(t_get.fired, 1);
    CHECK_EQ_INT(t_get.code, LB_OK);
    CHECK_EQ_INT(t.fired, 1);
    CHECK_EQ_INT(t.code, kc->code);
    CHECK_EQ_INT(t.had_host, 0);
    size_t n = check_renews(fs);
    CHECK(n >= (size_t)kc->min_requests && n <= (size_t)kc->max_requests);
    driver_close(&d);
}

/* The first renew goes at once, the next not before a third of the TTL. */
static void test_spacing(fake_server *fs)
{
    check_set_case("renews are a third of the TTL apart");
    fs_reset(fs);
    int many[] = {200, 200, 200, 200, 200, 200, 200, 200, 0};
    push_statuses(fs, many);
    lb_client *c = client_for(fs);
    tally t = {0};
    lb_call *call = lb_keep_host_async(c, "h", 3.0, on_end, &t, NULL);
    CHECK_EQ_INT(lb_client_run(c, 0.5, NULL, NULL), LB_OK);
    CHECK_EQ_INT(fs_request_count(fs), 1); /* the next is due after 1 s */
    CHECK_EQ_INT(lb_client_pending(c), 1);
    CHECK_EQ_INT(t.fired, 0);
    size_t left = 0;
    CHECK_EQ_INT(lb_client_run(c, 1.2, &left, NULL), LB_OK);
    CHECK_EQ_INT(left, 1);
    CHECK(fs_request_count(fs) >= 2);

    check_set_case("cancel a sleeping keeper");
    CHECK_EQ_INT(lb_call_cancel(call), LB_OK);
    CHECK_EQ_INT(t.fired, 1);
    CHECK_EQ_INT(t.code, LB_ERR_CANCELLED);
    CHECK_EQ_INT(lb_client_pending(c), 0);
    size_t sent = fs_request_count(fs);
    CHECK_EQ_INT(lb_client_run(c, 1.2, NULL, NULL), LB_OK);
    CHECK_EQ_INT(fs_request_count(fs), sent); /* nothing after the cancel */

    check_set_case("close with a keeper alive fires it, cancelled");
    tally t2 = {0};
    CHECK(lb_keep_host_async(c, "h", 3.0, on_end, &t2, NULL) != NULL);
    CHECK_EQ_INT(lb_client_run(c, 0.3, NULL, NULL), LB_OK);
    lb_client_close(c);
    CHECK_EQ_INT(t2.fired, 1);
    CHECK_EQ_INT(t2.code, LB_ERR_CANCELLED);
}

/* With every connection slot taken, a renew goes before the calls that
 * were waiting already: a lease runs out while it waits, a get does not. */
static void test_renews_go_first(fake_server *fs)
{
    check_set_case("a renew goes ahead of calls waiting for a slot");
    fs_reset(fs);
    fs_response slow = {.status = 200, .body = host, .delay_ms = 300, .match = "/hosts/g"};
    for (int i = 0; i < 3; i++)
        fs_push(fs, &slow);
    int statuses[] = {404, 0};
    push_statuses(fs, statuses);
    lb_client_options o = LB_CLIENT_OPTIONS_INIT;
    o.max_connections = 1;
    lb_client *c = lb_client_new(fs_url(fs), "tok", &o, NULL);
    tally gets[3] = {{0}}, keep = {0};
    for (int i = 0; i < 3; i++)
        CHECK(lb_get_host_async(c, "g", on_end, &gets[i], NULL) != NULL);
    CHECK(lb_keep_host_async(c, "h", 60, on_end, &keep, NULL) != NULL);
    CHECK_EQ_INT(lb_client_run(c, 10, NULL, NULL), LB_OK);
    CHECK_EQ_INT(keep.code, LB_ERR_NOT_FOUND);
    CHECK_EQ_INT(fs_request_count(fs), 4);
    if (fs_request_count(fs) == 4) {
        CHECK_EQ_STR(fs_request_at(fs, 0)->target, "/hosts/g"); /* on the wire first */
        CHECK_EQ_STR(fs_request_at(fs, 1)->target, "/hosts/h/renew");
        CHECK_EQ_STR(fs_request_at(fs, 2)->target, "/hosts/g");
    }
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(gets[i].code, LB_OK);
    lb_client_close(c);
}

typedef struct refusal {
    int line;
    const char *name;
    const char *id;
    double ttl_s;
    lb_callback cb;
    const char *names;
} refusal;

static const refusal refusals[] = {
    {__LINE__, "ttl below a second", "h", 0.5, on_end, "ttl"},
    {__LINE__, "ttl NaN", "h", NAN, on_end, "ttl"},
    {__LINE__, "ttl infinite", "h", INFINITY, on_end, "ttl"},
    {__LINE__, "ttl over ten years", "h", 1e10, on_end, "ttl"},
    {__LINE__, "id NULL", NULL, 60, on_end, "host id"},
    {__LINE__, "id with a slash", "a/b", 60, on_end, "host id"},
    {__LINE__, "callback NULL", "h", 60, NULL, "callback"},
};

static void test_refusals(fake_server *fs)
{
    lb_client *c = client_for(fs);
    fs_reset(fs);
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const refusal *r = &refusals[i];
        check_set_case("refused: %s (line %d)", r->name, r->line);
        tally t = {0};
        lb_error err;
        CHECK(lb_keep_host_async(c, r->id, r->ttl_s, r->cb, &t, &err) == NULL);
        CHECK_EQ_INT(err.code, LB_ERR_INVALID);
        CHECK_CONTAINS(err.message, r->names);
        CHECK_EQ_INT(lb_client_pending(c), 0);
        CHECK_EQ_INT(t.fired, 0);
    }
    CHECK_EQ_INT(fs_request_count(fs), 0);
    lb_client_close(c);
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int id = D_OWN_LOOP; id < D_COUNT; id++)
            run_case(fs, &cases[i], (driver_id)id);
    test_spacing(fs);
    test_renews_go_first(fs);
    test_refusals(fs);
    fs_stop(fs);
    check_set_case("%s", "");
    return check_summary();
}
