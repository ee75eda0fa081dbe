/* Every call of docs/wire.md against litterbox-server with the fake provider,
 * through liblitterbox (blocking and non-blocking), the raw HTTP answers,
 * and the `litterbox` CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "harness.h"

static server srv;
static lb_client *client;

/* "2026-01-02T03:04:05Z" (optionally with .mmm) to Unix seconds. */
static long long unix_of(const char *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

static int is_hex12(const char *s)
{
    if (strlen(s) != 12) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
    return 1;
}

static void test_health_and_doctor(void)
{
    lb_error err;
    check_set_case("health");
    CHECK_EQ_INT(lb_health(client, &err), LB_OK);

    check_set_case("doctor");
    lb_doctor_report *rep = NULL;
    CHECK_EQ_INT(lb_doctor(client, &rep, &err), LB_OK);
    if (rep) {
        CHECK(rep->ok);
        CHECK_EQ_STR(rep->active_provider, "fake");
        CHECK(!rep->tailscale_enabled);
        CHECK(rep->check_count >= 3);
        int db = 0, fake = 0;
        for (size_t i = 0; i < rep->check_count; i++) {
            db += strcmp(rep->checks[i]->name, "database") == 0 &&
                  strcmp(rep->checks[i]->status, "ok") == 0;
            fake += strcmp(rep->checks[i]->name, "provider:fake") == 0 &&
                    strcmp(rep->checks[i]->status, "ok") == 0;
        }
        CHECK_EQ_INT(db, 1);
        CHECK_EQ_INT(fake, 1);
    }
    lb_doctor_report_free(rep);

    /* Every check carries all five keys, null or not. */
    raw_resp r;
    CHECK_EQ_INT(raw_request(&srv, "GET", "/doctor", TEST_TOKEN, NULL, NULL, 0, &r), 0);
    CHECK_EQ_INT(r.status, 200);
    int checks = 0;
    for (const char *p = r.body; (p = strstr(p, "{\"name\":")); p++)
        checks++;
    static const char *const keys[] = {
        "\"name\":", "\"status\":", "\"detail\":", "\"latency_ms\":", "\"hint\":"};
    for (size_t k = 0; k < 5; k++) {
        int n = 0;
        for (const char *p = r.body; (p = strstr(p, keys[k])); p++)
            n++;
        /* "status" also never appears elsewhere in the report */
        CHECK_EQ_INT(n, checks);
    }
    CHECK_CONTAINS(r.body, "\"ok\":true");
    CHECK_CONTAINS(r.body, "\"tailscale_enabled\":false");
    raw_resp_free(&r);
}

static lb_host *create(const char *key, long long expires, const char *image)
{
    lb_error err;
    const char *env[] = {"FOO=bar baz", "QUOTE=it's \"quoted\" $HOME", NULL};
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    o.env = env;
    o.idempotency_key = key;
    o.expires_at = expires;
    o.image = image;
    lb_host *h = NULL;
    if (lb_create_host(client, &o, &h, &err) != LB_OK)
        CHECK_FAIL("create: %s: %s", lb_code_name(err.code), err.message);
    return h;
}

static void test_create_get_list(void)
{
    lb_error err;
    check_set_case("create: the record");
    long long before = (long long)time(NULL);
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    o.instance_type = "cx33";
    o.disk_gb = 40;
    o.image = "ghcr.io/example/sandbox:1";
    lb_host *h = NULL;
    CHECK_EQ_INT(lb_create_host(client, &o, &h, &err), LB_OK);
    if (!h) return;
    CHECK_EQ_INT(strlen(h->id), 36);
    CHECK(strncmp(h->name, "sb-", 3) == 0 && is_hex12(h->name + 3));
    CHECK_EQ_STR(h->status, "active");
    CHECK_EQ_STR(h->provider, "fake");
    CHECK_EQ_STR(h->image, "ghcr.io/example/sandbox:1");
    CHECK_EQ_STR(h->ssh_host, "127.0.0.1");
    CHECK_EQ_INT(h->ssh_port, 22);
    CHECK(strncmp(h->known_hosts, "127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 47) == 0);
    CHECK(h->private_key && strstr(h->private_key, "BEGIN OPENSSH PRIVATE KEY"));
    CHECK_EQ_STR(h->instance_type, "cx33");
    CHECK_EQ_INT(h->disk_gb, 40);
    CHECK_EQ_STR(h->last_error, "");
    CHECK(h->activated_at != NULL);
    /* The default lease: --lease-ttl, 1 h. */
    long long exp = unix_of(h->expires_at);
    CHECK(exp >= before + 3600 - 5 && exp <= (long long)time(NULL) + 3600 + 5);

    check_set_case("get: same host, never the private key");
    lb_host *g = NULL;
    CHECK_EQ_INT(lb_get_host(client, h->id, &g, &err), LB_OK);
    if (g) {
        CHECK_EQ_STR(g->id, h->id);
        CHECK_EQ_STR(g->name, h->name);
        CHECK_EQ_STR(g->known_hosts, h->known_hosts);
        CHECK_EQ_STR(g->expires_at, h->expires_at);
        CHECK(g->private_key == NULL);
    }
    lb_host_free(g);
    g = NULL;
    CHECK_EQ_INT(lb_attach_host(client, h->id, &g, &err), LB_OK);
    CHECK(g && g->private_key == NULL);
    lb_host_free(g);

    char path[80];
    snprintf(path, sizeof path, "/hosts/%s", h->id);
    raw_resp r;
    CHECK_EQ_INT(raw_request(&srv, "GET", path, TEST_TOKEN, NULL, NULL, 0, &r), 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_CONTAINS(r.head, "Content-Type: application/json");
    CHECK_CONTAINS(r.body, "\"private_key\":null");
    CHECK_LACKS(r.body, "PRIVATE KEY");
    CHECK_LACKS(r.body, "FOO"); /* env is never returned */
    raw_resp_free(&r);

    check_set_case("list: newest first, no private keys");
    lb_host *h2 = create(NULL, LB_EXPIRES_DEFAULT, NULL);
    lb_host *h3 = create(NULL, LB_EXPIRES_NEVER, NULL);
    CHECK(h3 && h3->expires_at == NULL); /* explicit null: permanent */
    if (h2) CHECK_EQ_STR(h2->image, "litterbox/fake:latest");
    lb_host_list *list = NULL;
    CHECK_EQ_INT(lb_list_hosts(client, &list, &err), LB_OK);
    if (list && h2 && h3) {
        CHECK(list->count >= 3);
        if (list->count >= 3) {
            CHECK_EQ_STR(list->hosts[0]->id, h3->id);
            CHECK_EQ_STR(list->hosts[1]->id, h2->id);
            CHECK_EQ_STR(list->hosts[2]->id, h->id);
        }
        for (size_t i = 0; i < list->count; i++)
            CHECK(list->hosts[i]->private_key == NULL);
    }
    lb_host_list_free(list);
    CHECK_EQ_INT(raw_request(&srv, "GET", "/hosts", TEST_TOKEN, NULL, NULL, 0, &r), 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.body[0] == '[');
    CHECK_LACKS(r.body, "PRIVATE KEY");
    raw_resp_free(&r);

    check_set_case("renew: sets, shortens, never permanent");
    lb_host *n = NULL;
    long long t2h = (long long)time(NULL) + 7200;
    CHECK_EQ_INT(lb_renew_host(client, h->id, t2h, &n, &err), LB_OK);
    CHECK(n && unix_of(n->expires_at) == t2h);
    lb_host_free(n);
    n = NULL;
    long long t10m = (long long)time(NULL) + 600;
    CHECK_EQ_INT(lb_renew_host(client, h->id, t10m, &n, &err), LB_OK);
    CHECK(n && unix_of(n->expires_at) == t10m);
    lb_host_free(n);
    n = NULL;
    if (h3) { /* a permanent host renewed gets the default lease */
        CHECK_EQ_INT(lb_renew_host(client, h3->id, 0, &n, &err), LB_OK);
        CHECK(n && n->expires_at && unix_of(n->expires_at) >= (long long)time(NULL) + 3500);
        lb_host_free(n);
        n = NULL;
    }
    CHECK_EQ_INT(lb_renew_host(client, "00000000-0000-4000-8000-000000000000", 0, &n, &err),
                 LB_ERR_NOT_FOUND);
    snprintf(path, sizeof path, "/hosts/%s/renew", h->id);
    CHECK_EQ_INT(raw_request(&srv, "POST", path, TEST_TOKEN, NULL, "{\"expires_at\":null}", 19, &r),
                 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_LACKS(r.body, "\"expires_at\":null");
    raw_resp_free(&r);
    CHECK_EQ_INT(raw_request(&srv, "POST", path, TEST_TOKEN, NULL, NULL, 0, &r), 0);
    CHECK_EQ_INT(r.status, 200); /* no body at all */
    raw_resp_free(&r);

    check_set_case("delete: 204, then 404");
    snprintf(path, sizeof path, "/hosts/%s", h->id);
    CHECK_EQ_INT(raw_request(&srv, "DELETE", path, TEST_TOKEN, NULL, NULL, 0, &r), 0);
    CHECK_EQ_INT(r.status, 204);
    CHECK_EQ_INT(r.body_len, 0);
    raw_resp_free(&r);
    lb_host *gone = NULL;
    CHECK_EQ_INT(lb_get_host(client, h->id, &gone, &err), LB_ERR_NOT_FOUND);
    CHECK_EQ_STR(err.message, "host not found");
    CHECK_EQ_INT(lb_delete_host(client, h->id, &err), LB_ERR_NOT_FOUND);
    if (h2) CHECK_EQ_INT(lb_delete_host(client, h2->id, &err), LB_OK);
    if (h3) CHECK_EQ_INT(lb_delete_host(client, h3->id, &err), LB_OK);
    lb_host_free(h);
    lb_host_free(h2);
    lb_host_free(h3);
}

static void test_idempotent_replay(void)
{
    check_set_case("idempotency: a repeat returns the same host and its key");
    lb_host *a = create("replay-1", LB_EXPIRES_DEFAULT, NULL);
    lb_host *b = create("replay-1", LB_EXPIRES_DEFAULT, NULL);
    if (a && b) {
        CHECK_EQ_STR(b->id, a->id);
        CHECK(a->private_key && b->private_key);
        CHECK_EQ_STR(b->private_key, a->private_key);
    }
    lb_host *c = create("replay-2", LB_EXPIRES_DEFAULT, NULL);
    if (a && c) CHECK(strcmp(c->id, a->id) != 0);
    lb_error err;
    /* Deleting the host frees its key: the next create is a new host. */
    if (a) {
        CHECK_EQ_INT(lb_delete_host(client, a->id, &err), LB_OK);
        lb_host *d = create("replay-1", LB_EXPIRES_DEFAULT, NULL);
        CHECK(d && strcmp(d->id, a->id) != 0);
        if (d) lb_delete_host(client, d->id, &err);
        lb_host_free(d);
    }
    if (c) lb_delete_host(client, c->id, &err);
    lb_host_free(a);
    lb_host_free(b);
    lb_host_free(c);
}

static void test_proxies(void)
{
    lb_error err;
    lb_proxy *p = NULL;
    check_set_case("proxies: 501 HTTP_PROXY_UNSUPPORTED after validation");
    const char *headers[] = {"X-Api-Key: secret", NULL};
    CHECK_EQ_INT(lb_create_proxy(client, "api", "https://api.example", headers, &p, &err),
                 LB_ERR_RESPONSE);
    CHECK_EQ_INT(err.http_status, 501);
    CHECK_EQ_STR(err.error_code, "HTTP_PROXY_UNSUPPORTED");
    CHECK_EQ_INT(lb_delete_proxy(client, "api", &err), LB_ERR_RESPONSE);
    CHECK_EQ_STR(err.error_code, "HTTP_PROXY_UNSUPPORTED");
    const char *nohost = "00000000-0000-4000-8000-000000000000";
    CHECK_EQ_INT(lb_attach_proxy(client, "api", nohost, &p, &err), LB_ERR_NOT_FOUND);
    CHECK_EQ_INT(lb_detach_proxy(client, "api", nohost, &err), LB_ERR_NOT_FOUND);
    lb_host *h = create(NULL, LB_EXPIRES_DEFAULT, NULL);
    if (h) {
        CHECK_EQ_INT(lb_attach_proxy(client, "api", h->id, &p, &err), LB_ERR_RESPONSE);
        CHECK_EQ_INT(err.http_status, 501);
        CHECK_EQ_STR(err.error_code, "HTTP_PROXY_UNSUPPORTED");
        CHECK_EQ_INT(lb_detach_proxy(client, "api", h->id, &err), LB_ERR_RESPONSE);
        CHECK_EQ_STR(err.error_code, "HTTP_PROXY_UNSUPPORTED");
        lb_delete_host(client, h->id, &err);
    }
    lb_host_free(h);
    CHECK(p == NULL);
}

static void test_provider_choice(void)
{
    lb_error err;
    lb_host *h = NULL;
    check_set_case("provider: unknown is 400; fake by name works");
    lb_create_opts o = LB_CREATE_OPTS_INIT;
    o.provider = "no-such-cloud";
    CHECK_EQ_INT(lb_create_host(client, &o, &h, &err), LB_ERR_RESPONSE);
    CHECK_EQ_INT(err.http_status, 400);
    CHECK_CONTAINS(err.message, "unknown provider");
    o.provider = "fake";
    CHECK_EQ_INT(lb_create_host(client, &o, &h, &err), LB_OK);
    if (h) {
        CHECK_EQ_STR(h->provider, "fake");
        lb_delete_host(client, h->id, &err);
    }
    lb_host_free(h);
}

/* ---- the non-blocking API ---------------------------------------------- */

typedef struct async_state {
    int done, ok;
    char ids[4][40];
} async_state;

static void on_created(lb_call *call, const lb_result *res, void *ud)
{
    async_state *st = ud;
    if (res->code == LB_OK && res->host) {
        snprintf(st->ids[st->ok], sizeof st->ids[0], "%s", res->host->id);
        st->ok++;
        lb_host_free(res->host);
    } else {
        fprintf(stderr, "async create: %s\n", res->error ? res->error->message : "?");
    }
    st->done++;
}

static void on_got(lb_call *call, const lb_result *res, void *ud)
{
    async_state *st = ud;
    st->done++;
    if (res->code == LB_OK) {
        st->ok++;
        lb_host_free(res->host);
    }
}

static void test_async(void)
{
    check_set_case("async: three creates at once, then gets and deletes");
    lb_error err;
    async_state st;
    memset(&st, 0, sizeof st);
    for (int i = 0; i < 3; i++)
        CHECK(lb_create_host_async(client, NULL, on_created, &st, &err) != NULL);
    CHECK_EQ_INT(lb_client_run(client, 60, NULL, &err), LB_OK);
    CHECK_EQ_INT(st.done, 3);
    CHECK_EQ_INT(st.ok, 3);
    async_state got;
    memset(&got, 0, sizeof got);
    /* Calls in flight together may reach the server in any order: the gets
     * finish before the deletes start. */
    for (int i = 0; i < st.ok; i++)
        lb_get_host_async(client, st.ids[i], on_got, &got, &err);
    CHECK_EQ_INT(lb_client_run(client, 60, NULL, &err), LB_OK);
    for (int i = 0; i < st.ok; i++)
        lb_delete_host_async(client, st.ids[i], on_got, &got, &err);
    CHECK_EQ_INT(lb_client_run(client, 60, NULL, &err), LB_OK);
    CHECK_EQ_INT(got.done, 2 * st.ok);
    CHECK_EQ_INT(got.ok, 2 * st.ok);
}

/* ---- the CLI ------------------------------------------------------------ */

/* The "id" of a --json host document. */
static void json_id(const char *doc, char id[40])
{
    id[0] = '\0';
    const char *p = doc ? strstr(doc, "\"id\":") : NULL;
    if (p && (p = strchr(p + 5, '"'))) sscanf(p + 1, "%36[0-9a-f-]", id);
}

static void test_cli(void)
{
    cli_result r;
    char id[40] = "";
    char keyfile[400];
    snprintf(keyfile, sizeof keyfile, "%s/id_host", srv.dir);

    check_set_case("cli: create");
    const char *create_args[] = {
        "--json", "create",     "--env", "GREETING=hello world", "--expires-at",
        "+2h",    "--key-file", keyfile, "--idempotency-key",    "cli-1",
        NULL};
    CHECK_EQ_INT(cli_run(&srv, create_args, &r), 0);
    CHECK_EQ_INT(r.status, 0);
    json_id(r.out, id);
    CHECK_EQ_INT(strlen(id), 36);
    if (r.status != 0) fprintf(stderr, "cli stderr: %s\n", r.err);
    cli_result_free(&r);
    FILE *kf = fopen(keyfile, "r");
    CHECK(kf != NULL);
    if (kf) {
        char line[64] = "";
        CHECK(fgets(line, sizeof line, kf) != NULL);
        CHECK_CONTAINS(line, "BEGIN OPENSSH PRIVATE KEY");
        fclose(kf);
    }

    check_set_case("cli: get, list, renew, doctor, health");
    const char *get_args[] = {"--json", "get", id, NULL};
    CHECK_EQ_INT(cli_run(&srv, get_args, &r), 0);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, id);
    cli_result_free(&r);
    const char *list_args[] = {"list", NULL};
    CHECK_EQ_INT(cli_run(&srv, list_args, &r), 0);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, id);
    cli_result_free(&r);
    const char *renew_args[] = {"renew", id, "--expires-at", "+3h", NULL};
    CHECK_EQ_INT(cli_run(&srv, renew_args, &r), 0);
    CHECK_EQ_INT(r.status, 0);
    cli_result_free(&r);
    const char *doctor_args[] = {"doctor", NULL};
    CHECK_EQ_INT(cli_run(&srv, doctor_args, &r), 0);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "database");
    cli_result_free(&r);
    const char *health_args[] = {"health", NULL};
    CHECK_EQ_INT(cli_run(&srv, health_args, &r), 0);
    CHECK_EQ_INT(r.status, 0);
    cli_result_free(&r);

    check_set_case("cli: exit statuses of the service's errors");
    const char *bad_env[] = {"create", "--env", "TAILSCALE_AUTHKEY=x", NULL};
    CHECK_EQ_INT(cli_run(&srv, bad_env, &r), 0);
    /* The CLI may refuse the reserved key itself (2) or pass the 422 on (9). */
    CHECK(r.status == 9 || r.status == 2);
    cli_result_free(&r);
    const char *proxy_args[] = {"proxy", "delete", "api", NULL};
    CHECK_EQ_INT(cli_run(&srv, proxy_args, &r), 0);
    CHECK_EQ_INT(r.status, 8);
    CHECK_CONTAINS(r.err, "HTTP 501");
    cli_result_free(&r);

    check_set_case("cli: delete, then get is 4");
    const char *del_args[] = {"delete", id, NULL};
    CHECK_EQ_INT(cli_run(&srv, del_args, &r), 0);
    CHECK_EQ_INT(r.status, 0);
    cli_result_free(&r);
    CHECK_EQ_INT(cli_run(&srv, get_args, &r), 0);
    CHECK_EQ_INT(r.status, 4);
    cli_result_free(&r);
}

int main(void)
{
    if (server_init(&srv) != 0 || server_start(&srv, NULL) != 0) {
        CHECK_FAIL("the server did not start");
        server_cleanup(&srv);
        return check_summary();
    }
    client = server_client(&srv, NULL);
    if (client) {
        test_health_and_doctor();
        test_create_get_list();
        test_idempotent_replay();
        test_proxies();
        test_provider_choice();
        test_async();
        test_cli();
        lb_client_close(client);
    }
    check_set_case("SIGTERM: exit 0");
    CHECK_EQ_INT(server_stop(&srv), 0);
    char *log = server_log(&srv);
    check_set_case("log: one line per request, never the token");
    CHECK_CONTAINS(log, "POST /hosts 201 ");
    CHECK_CONTAINS(log, "GET /healthz 200 ");
    CHECK_LACKS(log, TEST_TOKEN);
    CHECK_LACKS(log, "hello world");
    free(log);
    server_cleanup(&srv);
    return check_summary();
}
