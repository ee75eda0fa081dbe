/* The /hosts routes: create (deferred to a thread of its own), get, list,
 * delete, renew; and the start-up check of hosts the store remembers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Statuses in which a host is still being made: delete answers 409. */
static int is_provisioning(const char *status)
{
    return strcmp(status, "provisioning") == 0 || strcmp(status, "creating_network") == 0 ||
           strcmp(status, "creating_vm") == 0;
}

static int is_renewable(const char *status)
{
    return strcmp(status, "bootstrapping") == 0 || strcmp(status, "active") == 0;
}

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
    char *idem_key;
    provider *prov;
} create_job;

static void create_job_free(create_job *j)
{
    create_req_free(&j->req);
    free(j->idem_key);
    free(j);
}

/* Provision a new host; answers r. Returns the host id on success (for the
 * idempotency key), with *private_key set. */
static int provision(request *r, create_job *j, char id_out[37], char **private_key)
{
    host_rec h;
    memset(&h, 0, sizeof h);
    new_uuid(h.id);
    new_host_name(h.name);
    snprintf(h.status, sizeof h.status, "provisioning");
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
    if (rc != 0) {
        if (rc == -1) {
            char detail[160];
            snprintf(detail, sizeof detail,
                     "host capacity reached: this server runs at most %ld live hosts "
                     "(--max-hosts)",
                     g_config.max_hosts);
            reply_error(r, 503, detail, "CAPACITY");
        } else {
            reply_error(r, 503, "the database could not record the host", NULL);
        }
        host_rec_clear(&h);
        return -1;
    }

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
    if (j->prov->create(j->prov, &spec, &info, why, sizeof why) != 0) {
        /* As the service: the host stays in `error` with its lease at now,
         * so the reaper removes it soon. */
        if (!why[0]) snprintf(why, sizeof why, "the %s provider failed", j->prov->name);
        snprintf(h.status, sizeof h.status, "error");
        free(h.last_error);
        h.last_error = xstrdup(why);
        h.updated_ms = now_ms();
        h.expires_ms = h.updated_ms;
        store_host_update(&h);
        char detail[600];
        snprintf(detail, sizeof detail, "provisioning failed: %s", why);
        reply_error(r, 502, detail, "PROVISIONING_FAILED");
        host_info_free(&info);
        host_rec_clear(&h);
        return -1;
    }
    snprintf(h.status, sizeof h.status, "active");
    free(h.image);
    h.image = xstrdup(info.image ? info.image : (j->req.image ? j->req.image : ""));
    free(h.ssh_host);
    h.ssh_host = xstrdup(info.ssh_host ? info.ssh_host : "");
    h.ssh_port = info.ssh_port > 0 && info.ssh_port < 65536 ? info.ssh_port : 22;
    free(h.ssh_username);
    h.ssh_username = xstrdup(info.ssh_username ? info.ssh_username : "");
    free(h.known_hosts);
    h.known_hosts = xstrdup(info.known_hosts ? info.known_hosts : "");
    free(h.instance_type);
    h.instance_type = xstrdup(info.instance_type);
    h.disk_gb = info.disk_gb;
    h.state = xstrdup(info.state);
    h.updated_ms = h.activated_ms = now_ms();
    if (store_host_update(&h) != 0) {
        char dwhy[256];
        j->prov->destroy(j->prov, h.id, h.state, dwhy, sizeof dwhy);
        store_host_delete(h.id);
        reply_error(r, 503, "the database could not record the host", NULL);
        host_info_free(&info);
        host_rec_clear(&h);
        return -1;
    }
    reply_host(r, 201, &h, info.private_key);
    memcpy(id_out, h.id, 37);
    *private_key = xstrdup(info.private_key);
    host_info_free(&info);
    host_rec_clear(&h);
    return 0;
}

static void create_run(request *r, void *data)
{
    create_job *j = data;
    if (!j->idem_key) {
        char id[37], *pk = NULL;
        if (provision(r, j, id, &pk) == 0) free_secret(pk);
        create_job_free(j);
        return;
    }
    char id[37], *pk = NULL;
    if (store_idem_claim(j->idem_key, id, &pk) == IDEM_REPLAY) {
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
    if (provision(r, j, id, &pk) == 0) {
        store_idem_finish(j->idem_key, id, pk, g_config.idem_ttl_ms);
        free_secret(pk);
    } else {
        store_idem_finish(j->idem_key, NULL, NULL, 0);
    }
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
    j->idem_key = xstrdup(key);
    request_defer(r, create_run, j);
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
    if (store_host_json(p[0], g_config.wire, &b) != 0) {
        sbuf_free(&b);
        reply_error(r, 404, "host not found", NULL);
        return;
    }
    reply_json(r, 200, sbuf_take(&b));
}

void route_host_list(request *r, const char *const *p)
{
    sbuf b = {0};
    store_list_json(g_config.wire, &b);
    reply_json(r, 200, sbuf_take(&b));
}

/* ---- delete ------------------------------------------------------------ */

int hosts_destroy(const host_rec *h, char *why, size_t why_size)
{
    int unknown;
    provider *prov = providers_get(h->provider, &unknown, why, why_size);
    if (!prov) return -1;
    if (prov->destroy(prov, h->id, h->state, why, why_size) != 0) return -1;
    store_host_delete(h->id);
    return 0;
}

void route_host_delete(request *r, const char *const *p)
{
    verrs e = {0};
    validate_host_id(p[0], &e);
    if (e.count) {
        reply_verrs(r, &e);
        return;
    }
    host_rec h;
    if (store_host_get(p[0], &h) != 0) {
        reply_error(r, 404, "host not found", NULL);
        return;
    }
    if (is_provisioning(h.status)) {
        char detail[128];
        snprintf(detail, sizeof detail, "host is %s; delete it once it is active or in error",
                 h.status);
        reply_error(r, 409, detail, "HOST_STATE");
        host_rec_clear(&h);
        return;
    }
    char why[512] = "";
    if (hosts_destroy(&h, why, sizeof why) != 0) {
        char detail[600];
        snprintf(detail, sizeof detail, "host teardown failed: %s", why);
        reply_error(r, 503, detail, "HOST_TEARDOWN");
    } else {
        reply_json(r, 204, NULL);
    }
    host_rec_clear(&h);
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
    if (store_host_get(p[0], &h) != 0) {
        reply_error(r, 404, "host not found", NULL);
        return;
    }
    if (!is_renewable(h.status)) {
        char detail[128];
        snprintf(detail, sizeof detail, "host is %s; only bootstrapping or active hosts renew",
                 h.status);
        reply_error(r, 409, detail, "HOST_STATE");
        host_rec_clear(&h);
        return;
    }
    h.updated_ms = now_ms();
    h.expires_ms = expires ? expires : h.updated_ms + g_config.lease_ttl_ms;
    int rc = store_host_update(&h);
    if (rc == -1)
        reply_error(r, 404, "host not found", NULL); /* deleted meanwhile */
    else if (rc != 0)
        reply_error(r, 503, "the database could not record the lease", NULL);
    else
        reply_host(r, 200, &h, NULL);
    host_rec_clear(&h);
}

/* ---- start-up ---------------------------------------------------------- */

static void mark_error(host_rec *h, const char *why)
{
    snprintf(h->status, sizeof h->status, "error");
    free(h->last_error);
    h->last_error = xstrdup(why);
    h->updated_ms = now_ms();
    store_host_update(h);
    fprintf(stderr, "litterbox-server: host %s (%s): %s\n", h->id, h->name, why);
}

void hosts_check_at_start(void)
{
    size_t n;
    host_rec *all = store_hosts_all(&n);
    for (size_t i = 0; i < n; i++) {
        host_rec *h = &all[i];
        int unknown;
        char why[512] = "";
        provider *prov = providers_get(h->provider, &unknown, why, sizeof why);
        if (is_provisioning(h->status)) {
            /* The server stopped in the middle of this create: whatever the
             * provider made is removed, and the lease ends now. */
            if (prov) prov->destroy(prov, h->id, h->state, why, sizeof why);
            h->expires_ms = now_ms();
            mark_error(h, "the server stopped before this host was ready");
            continue;
        }
        if (!is_renewable(h->status)) continue;
        if (!prov) {
            fprintf(stderr, "litterbox-server: host %s: cannot check it: %s\n", h->id, why);
            continue;
        }
        why[0] = '\0';
        if (prov->alive(prov, h->id, h->state, why, sizeof why) != 1) {
            char msg[640];
            snprintf(msg, sizeof msg, "the host was found dead when the server started: %s",
                     why[0] ? why : "its provider says it is gone");
            mark_error(h, msg);
        }
    }
    for (size_t i = 0; i < n; i++)
        host_rec_clear(&all[i]);
    free(all);
}
