/* The server over time: start-up refusals, restart persistence, SIGTERM
 * with a create in flight, concurrent creates with one idempotency key,
 * lease expiry, capacity, a crash in the middle of a create, the two wire
 * generations, tokens from the environment. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_tree.h>

#include "check.h"
#include "harness.h"
#include "../cli/spawn.h"

static const char *const nothing[] = {NULL};

/* Run the server binary to its end (it must refuse to start). */
static int run_refused(const char *const *args, const char *tokens_env, char **err_out)
{
    char tokens[256];
    snprintf(tokens, sizeof tokens, "LITTERBOX_SERVER_TOKENS=%s", tokens_env ? tokens_env : "");
    const char *env[] = {"PATH=/usr/bin:/bin", "HOME=/nonexistent", tokens, NULL};
    spawn_opts o = {args, env, SPAWN_PIPES, NULL, NULL, 20000};
    spawn_result r;
    if (spawn_run(LBS_PATH, &o, &r) != 0) return -1;
    *err_out = r.err;
    free(r.out);
    return r.status;
}

static void test_refusals(void)
{
    char *err = NULL;
    check_set_case("no token: refuses and says how to give one");
    const char *a1[] = {"--listen", "127.0.0.1:0", "--db", ":memory:", "--state-dir", "/tmp", NULL};
    CHECK_EQ_INT(run_refused(a1, NULL, &err), 2);
    CHECK_CONTAINS(err, "--token-file");
    CHECK_CONTAINS(err, "LITTERBOX_SERVER_TOKENS");
    free(err);

    check_set_case("a remote address needs --allow-remote");
    const char *a2[] = {"--listen", "0.0.0.0:0", "--db", ":memory:", "--state-dir", "/tmp", NULL};
    CHECK(run_refused(a2, "t", &err) != 0);
    CHECK_CONTAINS(err, "--allow-remote");
    free(err);

    static const char *const bad[][2] = {{"--wire", "v2"},
                                         {"--lease-ttl", "5x"},
                                         {"--reap-interval", "0s"},
                                         {"--max-hosts", "0"},
                                         {"--default-provider", "aws"},
                                         {"--fake-delay", "-1"},
                                         {"--warm-pool", "-1"},
                                         {"--warm-pool", "65"},
                                         {"--warm-pool", "2x"},
                                         {"--listen", "127.0.0.1"},
                                         {"--bogus", "1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_set_case("refused: %s %s", bad[i][0], bad[i][1]);
        const char *a[] = {"--db", ":memory:", "--state-dir", "/tmp", bad[i][0], bad[i][1], NULL};
        CHECK_EQ_INT(run_refused(a, "t", &err), 2);
        CHECK(err && strlen(err) > 0);
        free(err);
    }
}

static lb_host *create_key(lb_client *c, const char *key, long long expires)
{
    lb_error err;
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    o.idempotency_key = key;
    o.expires_at = expires;
    lb_host *h = NULL;
    if (lb_create_host(c, &o, &h, &err) != LB_OK)
        CHECK_FAIL("create: %s (%d): %s", lb_code_name(err.code), err.http_status, err.message);
    return h;
}

static void test_restart(void)
{
    server s;
    lb_error err;
    check_set_case("restart: hosts and leases survive");
    if (server_init(&s) != 0 || server_start(&s, nothing) != 0) {
        CHECK_FAIL("server did not start");
        server_cleanup(&s);
        return;
    }
    lb_client *c = server_client(&s, NULL);
    lb_host *h1 = create_key(c, NULL, LB_EXPIRES_DEFAULT);
    lb_host *h2 = create_key(c, NULL, LB_EXPIRES_NEVER);
    lb_host *h3 = create_key(c, "persist-1", 4102444800LL); /* 2100-01-01 */
    lb_host *r1 = NULL;
    long long renew_to = (long long)time(NULL) + 7200;
    if (h1) CHECK_EQ_INT(lb_renew_host(c, h1->id, renew_to, &r1, &err), LB_OK);
    lb_client_close(c);
    CHECK_EQ_INT(server_stop(&s), 0);

    if (server_start(&s, nothing) != 0) {
        CHECK_FAIL("server did not start again");
    } else if (h1 && h2 && h3 && r1) {
        c = server_client(&s, NULL);
        lb_host_list *list = NULL;
        CHECK_EQ_INT(lb_list_hosts(c, &list, &err), LB_OK);
        if (list && list->count == 3) {
            CHECK_EQ_STR(list->hosts[0]->id, h3->id);
            CHECK_EQ_STR(list->hosts[1]->id, h2->id);
            CHECK_EQ_STR(list->hosts[2]->id, h1->id);
            CHECK_EQ_STR(list->hosts[2]->expires_at, r1->expires_at);
            CHECK(list->hosts[1]->expires_at == NULL);
            CHECK_EQ_STR(list->hosts[0]->expires_at, "2100-01-01T00:00:00Z");
            CHECK_EQ_STR(list->hosts[0]->known_hosts, h3->known_hosts);
            CHECK_EQ_STR(list->hosts[0]->status, "active");
        } else {
            CHECK_FAIL("list after restart: %zu hosts, want 3", list ? list->count : 0);
        }
        lb_host_list_free(list);

        check_set_case("restart: an idempotent replay still returns the host and its key");
        /* The same request: a key reused with another one is a 409
         * (test_server_idempotency.c). */
        lb_host *again = create_key(c, "persist-1", 4102444800LL);
        if (again) {
            CHECK_EQ_STR(again->id, h3->id);
            CHECK_EQ_STR(again->private_key, h3->private_key);
        }
        lb_host_free(again);
        lb_client_close(c);
        CHECK_EQ_INT(server_stop(&s), 0);
    }
    lb_host_free(h1);
    lb_host_free(h2);
    lb_host_free(h3);
    lb_host_free(r1);
    server_cleanup(&s);
}

/* ---- creates on threads -------------------------------------------------- */

typedef struct create_thread {
    const server *s;
    const char *key;
    const char *image;
    lb_code code;
    lb_error err;
    lb_host *host;
    pthread_t t;
} create_thread;

static void *create_main(void *arg)
{
    create_thread *ct = arg;
    lb_client *c = server_client(ct->s, NULL);
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    o.idempotency_key = ct->key;
    o.image = ct->image;
    ct->code = c ? lb_create_host(c, &o, &ct->host, &ct->err) : LB_ERR_INVALID;
    lb_client_close(c);
    return NULL;
}

/* Wait until the server lists a host in `provisioning`; its id. */
static int wait_provisioning(const server *s, char id[40])
{
    for (int i = 0; i < 300; i++) {
        raw_resp r;
        if (raw_request(s, "GET", "/hosts", TEST_TOKEN, NULL, NULL, 0, &r) == 0) {
            const char *p = strstr(r.body, "\"status\":\"provisioning\"");
            if (p) {
                /* the id is the first field of that record */
                const char *start = p;
                while (start > r.body && strncmp(start, "{\"id\":\"", 7) != 0)
                    start--;
                sscanf(start + 7, "%36[0-9a-f-]", id);
                raw_resp_free(&r);
                return 0;
            }
            raw_resp_free(&r);
        }
        sleep_ms(20);
    }
    return -1;
}

static void test_concurrent_idempotency(void)
{
    server s;
    const char *args[] = {"--fake-delay", "3", "--reap-interval", "1h", NULL};
    check_set_case("one idempotency key, two creates at once: one host");
    if (server_init(&s) != 0 || server_start(&s, args) != 0) {
        CHECK_FAIL("server did not start");
        server_cleanup(&s);
        return;
    }
    create_thread a = {&s, "same-key", NULL, 0, {0}, NULL, 0}, b = a;
    pthread_create(&a.t, NULL, create_main, &a);
    char id[40] = "";
    CHECK_EQ_INT(wait_provisioning(&s, id), 0);
    pthread_create(&b.t, NULL, create_main, &b); /* while the first is running */

    check_set_case("while provisioning: delete, renew and attach are 409 HOST_STATE");
    char path[128];
    raw_resp r;
    snprintf(path, sizeof path, "/hosts/%s", id);
    CHECK_EQ_INT(raw_request(&s, "DELETE", path, TEST_TOKEN, NULL, NULL, 0, &r), 0);
    CHECK_EQ_INT(r.status, 409);
    CHECK_CONTAINS(r.body, "\"error_code\":\"HOST_STATE\"");
    raw_resp_free(&r);
    snprintf(path, sizeof path, "/hosts/%s/renew", id);
    CHECK_EQ_INT(raw_request(&s, "POST", path, TEST_TOKEN, NULL, "{}", 2, &r), 0);
    CHECK_EQ_INT(r.status, 409);
    CHECK_CONTAINS(r.body, "\"error_code\":\"HOST_STATE\"");
    raw_resp_free(&r);
    snprintf(path, sizeof path, "/http-proxies/api/hosts/%s", id);
    CHECK_EQ_INT(raw_request(&s, "POST", path, TEST_TOKEN, NULL, NULL, 0, &r), 0);
    CHECK_EQ_INT(r.status, 409);
    raw_resp_free(&r);

    check_set_case("GETs stay fast while creates are held");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ_INT(raw_request(&s, "GET", "/healthz", NULL, NULL, NULL, 0, &r), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_EQ_INT(r.status, 200);
    raw_resp_free(&r);
    /* generous: the create holds 3 s; a GET must not wait for it */
    CHECK((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 < 2.0);

    pthread_join(a.t, NULL);
    pthread_join(b.t, NULL);
    check_set_case("one idempotency key, two creates at once: one host");
    CHECK_EQ_INT(a.code, LB_OK);
    CHECK_EQ_INT(b.code, LB_OK);
    if (a.host && b.host) {
        CHECK_EQ_STR(a.host->id, b.host->id);
        CHECK_EQ_STR(a.host->id, id);
        CHECK_EQ_STR(a.host->private_key, b.host->private_key);
    }
    lb_client *c = server_client(&s, NULL);
    lb_host_list *list = NULL;
    lb_error err;
    CHECK_EQ_INT(lb_list_hosts(c, &list, &err), LB_OK);
    CHECK(list && list->count == 1);
    lb_host_list_free(list);

    check_set_case("one key: the first create fails, the waiting one provisions anew");
    create_thread f = {&s, "retry-key", "litterbox/fake:fail", 0, {0}, NULL, 0};
    create_thread g = {&s, "retry-key", NULL, 0, {0}, NULL, 0};
    pthread_create(&f.t, NULL, create_main, &f);
    char failed_id[40] = "";
    for (int i = 0; i < 300 && (!failed_id[0] || strcmp(failed_id, id) == 0); i++)
        if (wait_provisioning(&s, failed_id) != 0) break;
    pthread_create(&g.t, NULL, create_main, &g);
    pthread_join(f.t, NULL);
    pthread_join(g.t, NULL);
    CHECK_EQ_INT(f.code, LB_ERR_PROVISIONING);
    CHECK_EQ_INT(f.err.http_status, 502);
    CHECK_EQ_STR(f.err.error_code, "PROVISIONING_FAILED");
    CHECK_CONTAINS(f.err.message, "fails the image");
    CHECK_EQ_INT(g.code, LB_OK);
    if (g.host) {
        CHECK(strcmp(g.host->id, failed_id) != 0);
        CHECK_EQ_STR(g.host->status, "active");
    }
    lb_host *failed = NULL;
    /* The failed host stays in error, its lease at its failure, until the
     * reaper's next pass (an hour away here). */
    CHECK_EQ_INT(lb_get_host(c, failed_id, &failed, &err), LB_OK);
    if (failed) {
        CHECK_EQ_STR(failed->status, "error");
        CHECK_CONTAINS(failed->last_error, "fails the image");
        CHECK(failed->expires_at != NULL);
    }
    lb_host_free(failed);
    lb_host_free(f.host);
    lb_host_free(g.host);

    check_set_case("SIGTERM with a create in flight: it finishes, exit 0");
    create_thread d = {&s, NULL, NULL, 0, {0}, NULL, 0};
    pthread_create(&d.t, NULL, create_main, &d);
    char id2[40] = "";
    for (int i = 0; i < 300 && (!id2[0] || strcmp(id2, id) == 0); i++)
        if (wait_provisioning(&s, id2) != 0) break;
    CHECK(id2[0] != '\0');
    CHECK_EQ_INT(server_stop(&s), 0);
    pthread_join(d.t, NULL);
    CHECK_EQ_INT(d.code, LB_OK);
    CHECK(d.host && strcmp(d.host->id, id2) == 0);

    lb_client_close(c);
    lb_host_free(a.host);
    lb_host_free(b.host);
    lb_host_free(d.host);
    server_cleanup(&s);
}

static void test_crash_mid_create(void)
{
    server s;
    const char *slow[] = {"--fake-delay", "30", NULL};
    check_set_case("a crash mid-create: the host is error after the restart");
    if (server_init(&s) != 0 || server_start(&s, slow) != 0) {
        CHECK_FAIL("server did not start");
        server_cleanup(&s);
        return;
    }
    create_thread a = {&s, NULL, NULL, 0, {0}, NULL, 0};
    pthread_create(&a.t, NULL, create_main, &a);
    char id[40] = "";
    CHECK_EQ_INT(wait_provisioning(&s, id), 0);
    server_kill(&s);
    pthread_join(a.t, NULL);
    CHECK_EQ_INT(a.code, LB_ERR_UNAVAILABLE);
    lb_host_free(a.host);
    if (server_start(&s, nothing) != 0) {
        CHECK_FAIL("server did not start again");
    } else {
        lb_client *c = server_client(&s, NULL);
        lb_host *h = NULL;
        lb_error err;
        CHECK_EQ_INT(lb_get_host(c, id, &h, &err), LB_OK);
        if (h) {
            CHECK_EQ_STR(h->status, "error");
            CHECK_CONTAINS(h->last_error, "server stopped before this host was ready");
            /* its lease ends now: the reaper takes it at its next pass */
            CHECK(h->expires_at != NULL);
        }
        lb_host_free(h);
        lb_client_close(c);
        CHECK_EQ_INT(server_stop(&s), 0);
    }
    server_cleanup(&s);
}

static void test_lease_expiry(void)
{
    server s;
    lb_error err;
    const char *args[] = {"--lease-ttl", "2s", "--reap-interval", "0.2s", NULL};
    check_set_case("lease expiry: the reaper deletes the host");
    if (server_init(&s) != 0 || server_start(&s, args) != 0) {
        CHECK_FAIL("server did not start");
        server_cleanup(&s);
        return;
    }
    lb_client *c = server_client(&s, NULL);
    lb_host *h = create_key(c, "lease-1", LB_EXPIRES_DEFAULT);
    lb_host *forever = create_key(c, NULL, LB_EXPIRES_NEVER);
    int gone = 0;
    for (int i = 0; h && i < 300 && !gone; i++) { /* up to 30 s */
        lb_host *g = NULL;
        lb_code rc = lb_get_host(c, h->id, &g, &err);
        gone = rc == LB_ERR_NOT_FOUND;
        lb_host_free(g);
        if (!gone) sleep_ms(100);
    }
    CHECK(gone);
    if (forever) {
        lb_host *g = NULL;
        CHECK_EQ_INT(lb_get_host(c, forever->id, &g, &err), LB_OK);
        lb_host_free(g);
    }
    check_set_case("lease expiry frees the idempotency key");
    lb_host *again = create_key(c, "lease-1", LB_EXPIRES_NEVER);
    if (again && h) CHECK(strcmp(again->id, h->id) != 0);
    lb_host_free(again);
    char *log = server_log(&s);
    CHECK_CONTAINS(log, "expired and was deleted");
    free(log);
    lb_host_free(h);
    lb_host_free(forever);
    lb_client_close(c);
    CHECK_EQ_INT(server_stop(&s), 0);
    server_cleanup(&s);
}

static void test_capacity(void)
{
    server s;
    lb_error err;
    const char *args[] = {"--max-hosts", "2", NULL};
    check_set_case("--max-hosts: beyond it 503 CAPACITY");
    if (server_init(&s) != 0 || server_start(&s, args) != 0) {
        CHECK_FAIL("server did not start");
        server_cleanup(&s);
        return;
    }
    lb_client *c = server_client(&s, NULL);
    lb_host *a = create_key(c, "cap-a", LB_EXPIRES_DEFAULT);
    lb_host *b = create_key(c, NULL, LB_EXPIRES_DEFAULT);
    lb_host *x = NULL;
    CHECK_EQ_INT(lb_create_host(c, NULL, &x, &err), LB_ERR_UNAVAILABLE);
    CHECK_EQ_INT(err.http_status, 503);
    CHECK_EQ_STR(err.error_code, "CAPACITY");
    check_set_case("--max-hosts: a replay is not a new host");
    lb_host *again = create_key(c, "cap-a", LB_EXPIRES_DEFAULT);
    if (again && a) CHECK_EQ_STR(again->id, a->id);
    lb_host_free(again);
    check_set_case("--max-hosts: room again after a delete");
    if (b) CHECK_EQ_INT(lb_delete_host(c, b->id, &err), LB_OK);
    CHECK_EQ_INT(lb_create_host(c, NULL, &x, &err), LB_OK);
    lb_host_free(x);
    lb_host_free(a);
    lb_host_free(b);
    lb_client_close(c);
    CHECK_EQ_INT(server_stop(&s), 0);
    server_cleanup(&s);
}

/* The keys of the first object of a JSON body, sorted and comma-joined. */
static void keys_of(const char *body, char *out, size_t size)
{
    char errbuf[128];
    out[0] = '\0';
    yajl_val v = yajl_tree_parse(body, errbuf, sizeof errbuf);
    if (!YAJL_IS_OBJECT(v)) {
        yajl_tree_free(v);
        return;
    }
    size_t n = YAJL_GET_OBJECT(v)->len;
    const char **keys = calloc(n, sizeof *keys);
    for (size_t i = 0; i < n; i++)
        keys[i] = YAJL_GET_OBJECT(v)->keys[i];
    for (size_t i = 0; i < n; i++) /* insertion sort: a few keys */
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "," : "", keys[i]);
    free(keys);
    yajl_tree_free(v);
}

#define CURRENT_KEYS                                                                               \
    "activated_at,created_at,disk_gb,expires_at,external_ssh_host,external_ssh_port,id,"           \
    "image,instance_type,internal_ssh_host,known_hosts,last_error,name,private_key,provider,"      \
    "ssh_username,status,tailscale_device_id,updated_at"
#define V1_KEYS                                                                                    \
    "activated_at,created_at,disk_gb,expires_at,external_ssh_host,external_ssh_port,id,"           \
    "image,instance_type,internal_ssh_host,known_hosts,last_error,name,private_key,provider,"      \
    "ssh_host,ssh_port,ssh_username,status,tailscale_device_id,updated_at"

static void test_wire(const char *wire, const char *want_keys)
{
    server s;
    const char *args[] = {"--wire", wire, NULL};
    check_set_case("--wire %s: the generation's keys", wire);
    if (server_init(&s) != 0 || server_start(&s, args) != 0) {
        CHECK_FAIL("server did not start");
        server_cleanup(&s);
        return;
    }
    raw_resp r;
    char keys[1024], id[40] = "";
    CHECK_EQ_INT(raw_request(&s, "POST", "/hosts", TEST_TOKEN, NULL, "{}", 2, &r), 0);
    CHECK_EQ_INT(r.status, 201);
    keys_of(r.body, keys, sizeof keys);
    CHECK_EQ_STR(keys, want_keys);
    const char *p = strstr(r.body, "\"id\":\"");
    if (p) sscanf(p + 6, "%36[0-9a-f-]", id);
    raw_resp_free(&r);
    char path[80];
    snprintf(path, sizeof path, "/hosts/%s", id);
    CHECK_EQ_INT(raw_request(&s, "GET", path, TEST_TOKEN, NULL, NULL, 0, &r), 0);
    keys_of(r.body, keys, sizeof keys);
    CHECK_EQ_STR(keys, want_keys);
    if (strcmp(wire, "v1") == 0) {
        CHECK_CONTAINS(r.body, "\"ssh_host\":\"127.0.0.1\",\"ssh_port\":22");
    }
    raw_resp_free(&r);
    /* The SDK reads either generation. */
    lb_client *c = server_client(&s, NULL);
    lb_host *h = NULL;
    lb_error err;
    CHECK_EQ_INT(lb_get_host(c, id, &h, &err), LB_OK);
    if (h) {
        CHECK_EQ_STR(h->ssh_host, "127.0.0.1");
        CHECK_EQ_INT(h->ssh_port, 22);
    }
    lb_host_free(h);
    lb_client_close(c);
    CHECK_EQ_INT(server_stop(&s), 0);
    server_cleanup(&s);
}

static void test_env_tokens(void)
{
    server s;
    check_set_case("tokens from LITTERBOX_SERVER_TOKENS, trimmed, comma-separated");
    if (server_init(&s) != 0) {
        CHECK_FAIL("init");
        return;
    }
    s.tokens_env = " first-token , second-token,";
    s.no_token_file = 1;
    if (server_start(&s, nothing) != 0) {
        CHECK_FAIL("server did not start");
        server_cleanup(&s);
        return;
    }
    static const struct {
        const char *token;
        int status;
    } cases[] = {{"first-token", 200},
                 {"second-token", 200},
                 {TEST_TOKEN, 403},
                 {" first-token", 200},
                 {"", 401}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_resp r;
        CHECK_EQ_INT(raw_request(&s, "GET", "/hosts", cases[i].token, NULL, NULL, 0, &r), 0);
        CHECK_EQ_INT(r.status, cases[i].status);
        raw_resp_free(&r);
    }
    CHECK_EQ_INT(server_stop(&s), 0);
    char *log = server_log(&s);
    CHECK_LACKS(log, "first-token");
    CHECK_LACKS(log, "second-token");
    free(log);
    server_cleanup(&s);
}

int main(void)
{
    test_refusals();
    test_restart();
    test_concurrent_idempotency();
    test_crash_mid_create();
    test_lease_expiry();
    test_capacity();
    test_wire("current", CURRENT_KEYS);
    test_wire("v1", V1_KEYS);
    test_env_tokens();
    return check_summary();
}
