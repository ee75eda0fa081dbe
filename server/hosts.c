/* The /hosts routes: create and delete (each deferred to a thread of its
 * own), get, list, renew; the teardown every path to a provider's destroy
 * goes through; and the start-up check of hosts the store remembers.
 * Status changes are the store's (store.c); this file asks for them and
 * answers with what it got. */
#define _GNU_SOURCE /* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Parse the body (NULL when none was sent); on a syntax error the 422 is
 * added to e and -1 returned. */
static int parse_body(request *r, jnode **out, verrs *e)
{
    size_t len;
    const char *body = request_body(r, &len);
    *out = NULL;
    if (!body) return 0;
    json_error err;
    *out = json_parse(body, len, &err);
    if (!*out) {
        verrs_json_invalid(e, &err);
        return -1;
    }
    return 0;
}

static void reply_host(request *r, int status, const host_rec *h, const char *private_key)
{
    sbuf b = {0};
    host_json(&b, h, g_config.wire, private_key);
    reply_json(r, status, sbuf_take(&b));
}

/* ---- create ------------------------------------------------------------ */

typedef struct create_job {
    create_req req;
    char *idem_key; /* scoped: "<token scope>/<key>" */
    char fingerprint[17];
    provider *prov;
} create_job;

static int by_key(const void *a, const void *b, void *keys)
{
    char **k = keys;
    return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

/* What the create asks for, as a digest: the provider it goes to and every
 * field that shapes the host (env in key order, so that the order of a
 * JSON object does not count). A key reused with another request is
 * refused rather than replayed. */
static void request_fingerprint(const create_req *q, const char *provider_name, char out[17])
{
    uint64_t h;
    fingerprint_start(&h);
    const char *fields[] = {provider_name, q->image ? q->image : "\x01",
                            q->instance_type ? q->instance_type : "\x01"};
    for (size_t i = 0; i < 3; i++)
        fingerprint_add(&h, fields[i], strlen(fields[i]));
    long long nums[] = {q->disk_gb, q->expires_set, q->expires_ms};
    fingerprint_add(&h, nums, sizeof nums);
    size_t *order = xcalloc(q->env_count, sizeof *order);
    for (size_t i = 0; i < q->env_count; i++)
        order[i] = i;
    qsort_r(order, q->env_count, sizeof *order, by_key, q->env_keys);
    for (size_t i = 0; i < q->env_count; i++) {
        fingerprint_add(&h, q->env_keys[order[i]], strlen(q->env_keys[order[i]]));
        fingerprint_add(&h, q->env_values[order[i]], strlen(q->env_values[order[i]]));
    }
    free(order);
    fingerprint_hex(h, out);
}

static void create_job_free(create_job *j)
{
    create_req_free(&j->req);
    free(j->idem_key);
    free(j);
}

static void create_job_drop(void *data)
{
    create_job_free(data);
}

/* What a create came to: the answer to send, and for a new host its id and
 * private key (for the idempotency key). */
typedef struct provision_result {
    int status; /* 201, or the error's status */
    const char *error_code;
    char detail[600];
    host_rec host; /* 201: the record */
    char *private_key;
} provision_result;

static void provision_result_clear(provision_result *res)
{
    host_rec_clear(&res->host);
    free_secret(res->private_key);
    res->private_key = NULL;
}

static int refuse(provision_result *res, int status, const char *code, const char *detail)
{
    res->status = status;
    res->error_code = code;
    snprintf(res->detail, sizeof res->detail, "%s", detail);
    return -1;
}

/* Provision a new host: 0 with res->host and res->private_key, or -1 with
 * the error in res. */
static int provision(create_job *j, provision_result *res)
{
    memset(res, 0, sizeof *res);
    host_rec h;
    memset(&h, 0, sizeof h);
    new_uuid(h.id);
    new_host_name(h.name);
    snprintf(h.provider, sizeof h.provider, "%s", j->prov->name);
    h.image = xstrdup(j->req.image ? j->req.image : "");
    h.ssh_host = xstrdup("");
    h.ssh_port = 22; /* the record needs a port before there is a host */
    h.ssh_username = xstrdup("");
    h.known_hosts = xstrdup("");
    h.instance_type = xstrdup(j->req.instance_type);
    h.disk_gb = j->req.disk_gb;
    h.last_error = xstrdup("");
    h.created_ms = h.updated_ms = now_ms();
    if (j->req.expires_set == 1)
        h.expires_ms = j->req.expires_ms;
    else if (j->req.expires_set == 0)
        h.expires_ms = h.created_ms + g_config.lease_ttl_ms;

    int rc = store_host_insert(&h, g_config.max_hosts);
    host_rec_clear(&h);
    if (rc == -1) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "host capacity reached: this server runs at most %ld live hosts (--max-hosts)",
                 g_config.max_hosts);
        return refuse(res, 503, "CAPACITY", detail);
    }
    if (rc != 0) return refuse(res, 503, NULL, "the database could not record the host");

    host_spec spec = {h.id,
                      h.name,
                      j->req.image,
                      (const char *const *)j->req.env_keys,
                      (const char *const *)j->req.env_values,
                      j->req.env_count,
                      j->req.instance_type,
                      j->req.disk_gb};
    host_info info;
    memset(&info, 0, sizeof info);
    char why[512] = "";
    test_hook_pause("create", h.id);
    if (j->prov->create(j->prov, &spec, &info, why, sizeof why) != 0) {
        /* As the service: the host stays in `error` with its lease at now,
         * so the reaper removes it soon. */
        if (!why[0]) snprintf(why, sizeof why, "the %s provider failed", j->prov->name);
        store_host_fail(h.id, HOST_FROM(HOST_PROVISIONING), why, 1);
        host_info_free(&info);
        char detail[600];
        snprintf(detail, sizeof detail, "provisioning failed: %s", why);
        return refuse(res, 502, "PROVISIONING_FAILED", detail);
    }
    rc = store_host_activate(h.id, &info, &res->host);
    if (rc != 0) {
        /* Not recorded (the database failed, or the server is stopping and
         * marked it `error`): what was made goes at once, and the record
         * becomes `error` so that the reaper forgets it. */
        char dwhy[256];
        if (j->prov->destroy(j->prov, h.id, info.state, dwhy, sizeof dwhy) != 0)
            fprintf(stderr, "litterbox-server: host %s: teardown after a failed create: %s\n", h.id,
                    dwhy);
        store_host_fail(h.id, HOST_FROM(HOST_PROVISIONING),
                        "the database could not record the host", 1);
        host_info_free(&info);
        return refuse(res, 503, NULL,
                      rc == -1 ? "the server is stopping"
                               : "the database could not record the host");
    }
    res->status = 201;
    res->private_key = xstrdup(info.private_key);
    host_info_free(&info);
    return 0;
}

static void reply_result(request *r, const provision_result *res)
{
    if (res->status == 201)
        reply_host(r, 201, &res->host, res->private_key);
    else
        reply_error(r, res->status, res->detail, res->error_code);
}

static void create_run(request *r, void *data)
{
    create_job *j = data;
    provision_result res;
    if (!j->idem_key) {
        provision(j, &res);
        reply_result(r, &res);
        provision_result_clear(&res);
        create_job_free(j);
        return;
    }
    char id[37], *pk = NULL;
    enum idem_result claim = store_idem_claim(j->idem_key, j->fingerprint, id, &pk);
    if (claim == IDEM_MISMATCH) {
        reply_error(r, 409,
                    "this Idempotency-Key was used for a create with a different request; "
                    "send a new key for a new request",
                    "IDEMPOTENCY_KEY_REUSED");
        create_job_free(j);
        return;
    }
    if (claim == IDEM_REPLAY) {
        host_rec h;
        if (store_host_get(id, &h) == 0) {
            reply_host(r, 201, &h, pk);
            host_rec_clear(&h);
        } else { /* deleted between the claim and now */
            reply_error(r, 404, "host not found", NULL);
        }
        free_secret(pk);
        create_job_free(j);
        return;
    }
    if (provision(j, &res) == 0)
        store_idem_finish(j->idem_key, res.host.id, res.private_key, g_config.idem_ttl_ms);
    else
        store_idem_finish(j->idem_key, NULL, NULL, 0);
    reply_result(r, &res);
    provision_result_clear(&res);
    create_job_free(j);
}

void route_host_create(request *r, const char *const *p)
{
    verrs e = {0};
    jnode *body;
    create_job *j = xcalloc(1, sizeof *j);
    const char *key = request_header(r, "Idempotency-Key");
    validate_idempotency_key(key, &e);
    if (parse_body(r, &body, &e) == 0) validate_create(body, &j->req, &e);
    json_free(body);
    if (e.count) {
        create_job_free(j);
        reply_verrs(r, &e);
        return;
    }
    const char *name = j->req.provider ? j->req.provider : g_config.default_provider;
    int unknown = 0;
    char why[512];
    j->prov = providers_get(name, &unknown, why, sizeof why);
    if (!j->prov) {
        reply_error(r, unknown ? 400 : 503, why, NULL);
        create_job_free(j);
        return;
    }
    host_spec spec = {NULL,
                      NULL,
                      j->req.image,
                      (const char *const *)j->req.env_keys,
                      (const char *const *)j->req.env_values,
                      j->req.env_count,
                      j->req.instance_type,
                      j->req.disk_gb};
    why[0] = '\0';
    if (j->prov->check(j->prov, &spec, why, sizeof why) != 0) {
        reply_error(r, 400, why[0] ? why : "the provider refused this host", NULL);
        create_job_free(j);
        return;
    }
    if (key) {
        /* Keys belong to the token that used them: another token's same
         * key is another key. */
        const char *scope = request_token_scope(r);
        size_t n = strlen(scope) + strlen(key) + 2;
        j->idem_key = xcalloc(1, n);
        snprintf(j->idem_key, n, "%s/%s", scope, key);
        request_fingerprint(&j->req, j->prov->name, j->fingerprint);
    }
    request_defer(r, create_run, j, create_job_drop);
}

/* ---- get, list --------------------------------------------------------- */

void route_host_get(request *r, const char *const *p)
{
    verrs e = {0};
    validate_host_id(p[0], &e);
    if (e.count) {
        reply_verrs(r, &e);
        return;
    }
    sbuf b = {0};
    if (render_host(p[0], g_config.wire, &b) != 0) {
        sbuf_free(&b);
        reply_error(r, 404, "host not found", NULL);
        return;
    }
    reply_json(r, 200, sbuf_take(&b));
}

void route_host_list(request *r, const char *const *p)
{
    sbuf b = {0};
    render_host_list(g_config.wire, &b);
    reply_json(r, 200, sbuf_take(&b));
}

/* ---- delete ------------------------------------------------------------ */

int hosts_teardown(const host_rec *h, char *why, size_t why_size)
{
    int unknown;
    provider *prov = providers_get(h->provider, &unknown, why, why_size);
    test_hook_pause("destroy", h->id);
    if (prov && prov->destroy(prov, h->id, h->state, why, why_size) == 0) {
        store_host_gone(h->id);
        return 0;
    }
    /* It stops counting against --max-hosts, shows why, and its lease ends
     * now: the reaper claims it again at its next pass. */
    char msg[640];
    snprintf(msg, sizeof msg, "teardown failed (retried in the background): %s", why);
    store_host_fail(h->id, HOST_FROM(HOST_DELETING), msg, 1);
    return -1;
}

static void reply_claim_refused(request *r, enum claim_result rc, const host_rec *h)
{
    if (rc == CLAIM_UNKNOWN) {
        reply_error(r, 404, "host not found", NULL);
        return;
    }
    char detail[128];
    if (h->status == HOST_DELETING)
        snprintf(detail, sizeof detail, "host is being deleted");
    else
        snprintf(detail, sizeof detail, "host is %s; delete it once it is active or in error",
                 host_status_name(h->status));
    reply_error(r, 409, detail, "HOST_STATE");
}

static void delete_run(request *r, void *data)
{
    char *id = data;
    host_rec h;
    memset(&h, 0, sizeof h);
    enum claim_result rc = store_host_claim(id, 0, &h);
    if (rc != CLAIM_OK) {
        reply_claim_refused(r, rc, &h);
    } else {
        char why[512] = "";
        if (hosts_teardown(&h, why, sizeof why) != 0) {
            char detail[600];
            snprintf(detail, sizeof detail, "host teardown failed: %s", why);
            reply_error(r, 503, detail, "HOST_TEARDOWN");
        } else {
            reply_json(r, 204, NULL);
        }
    }
    host_rec_clear(&h);
    free(id);
}

void route_host_delete(request *r, const char *const *p)
{
    verrs e = {0};
    validate_host_id(p[0], &e);
    if (e.count) {
        reply_verrs(r, &e);
        return;
    }
    /* Teardown stops processes and removes files: off the HTTP threads. */
    request_defer(r, delete_run, xstrdup(p[0]), free);
}

/* ---- renew ------------------------------------------------------------- */

void route_host_renew(request *r, const char *const *p)
{
    verrs e = {0};
    jnode *body = NULL;
    int64_t expires = 0;
    validate_host_id(p[0], &e);
    if (parse_body(r, &body, &e) == 0) validate_renew(body, &expires, &e);
    json_free(body);
    if (e.count) {
        reply_verrs(r, &e);
        return;
    }
    host_rec h;
    memset(&h, 0, sizeof h);
    int rc = store_host_renew(p[0], expires, g_config.lease_ttl_ms, &h);
    if (rc == -1) {
        reply_error(r, 404, "host not found", NULL);
        return;
    }
    if (rc == -2) {
        char detail[128];
        snprintf(detail, sizeof detail, "host is %s; only bootstrapping or active hosts renew",
                 host_status_name(h.status));
        reply_error(r, 409, detail, "HOST_STATE");
    } else if (rc != 0) {
        reply_error(r, 503, "the database could not record the lease", NULL);
    } else {
        reply_host(r, 200, &h, NULL);
    }
    host_rec_clear(&h);
}

/* ---- start-up ---------------------------------------------------------- */

static void mark_error(const host_rec *h, unsigned from, const char *why, int lease_ends)
{
    if (store_host_fail(h->id, from, why, lease_ends) == 0)
        fprintf(stderr, "litterbox-server: host %s (%s): %s\n", h->id, h->name, why);
}

void hosts_check_at_start(void)
{
    size_t n;
    host_rec *all = store_hosts_all(&n);
    for (size_t i = 0; i < n; i++) {
        host_rec *h = &all[i];
        /* The server stopped in the middle of a create or a teardown: the
         * lease ends now, and the reaper's first pass removes whatever the
         * provider had made. */
        if (h->status == HOST_PROVISIONING) {
            mark_error(h, HOST_FROM(HOST_PROVISIONING),
                       "the server stopped before this host was ready", 1);
            continue;
        }
        if (h->status == HOST_DELETING) {
            mark_error(h, HOST_FROM(HOST_DELETING),
                       "the server stopped while tearing this host down; removal is retried", 1);
            continue;
        }
        if (h->status != HOST_ACTIVE) continue;
        int unknown;
        char why[512] = "";
        provider *prov = providers_get(h->provider, &unknown, why, sizeof why);
        if (!prov) {
            fprintf(stderr, "litterbox-server: host %s: cannot check it: %s\n", h->id, why);
            continue;
        }
        why[0] = '\0';
        if (prov->alive(prov, h->id, h->state, why, sizeof why) != 1) {
            char msg[640];
            snprintf(msg, sizeof msg, "the host was found dead when the server started: %s",
                     why[0] ? why : "its provider says it is gone");
            mark_error(h, HOST_FROM(HOST_ACTIVE), msg, 0);
        }
    }
    for (size_t i = 0; i < n; i++)
        host_rec_clear(&all[i]);
    free(all);
}
