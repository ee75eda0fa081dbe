/* The four /http-proxies routes. Neither provider of this server has HTTP
 * proxies, so each validates (422) and then answers as docs/wire.md orders it:
 * create and delete act on the default provider (501); attach and detach
 * check the host first (404, then 409 unless bootstrapping or active), then
 * its provider (501). */
#include <stdio.h>
#include <string.h>

#include "server.h"

static void unsupported(request *r, const char *provider_name)
{
    char detail[160];
    snprintf(detail, sizeof detail, "the %s provider has no HTTP proxies", provider_name);
    reply_error(r, 501, detail, "HTTP_PROXY_UNSUPPORTED");
}

void route_proxy_create(request *r, const char *const *p)
{
    verrs e = {0};
    size_t len;
    const char *text = request_body(r, &len);
    jnode *body = NULL;
    if (text) {
        json_error err;
        body = json_parse(text, len, &err);
        if (!body) verrs_json_invalid(&e, &err);
    }
    if (!text || body) validate_proxy_create(body, &e);
    json_free(body);
    if (e.count) {
        reply_verrs(r, &e);
        return;
    }
    unsupported(r, g_config.default_provider);
}

void route_proxy_delete(request *r, const char *const *p)
{
    verrs e = {0};
    if (validate_proxy_name(p[0], &e) != 0) {
        reply_verrs(r, &e);
        return;
    }
    unsupported(r, g_config.default_provider);
}

/* Attach and detach: the same checks in the same order. */
static void proxy_host(request *r, const char *const *p)
{
    verrs e = {0};
    validate_proxy_name(p[0], &e);
    validate_host_id(p[1], &e);
    if (e.count) {
        reply_verrs(r, &e);
        return;
    }
    host_rec h;
    if (store_host_get(p[1], &h) != 0) {
        reply_error(r, 404, "host not found", NULL);
        return;
    }
    if (h.status != HOST_ACTIVE) {
        char detail[128];
        snprintf(detail, sizeof detail,
                 "host is %s; proxies attach to bootstrapping or active hosts",
                 host_status_name(h.status));
        reply_error(r, 409, detail, "HOST_STATE");
    } else {
        unsupported(r, h.provider);
    }
    host_rec_clear(&h);
}

void route_proxy_attach(request *r, const char *const *p)
{
    proxy_host(r, p);
}

void route_proxy_detach(request *r, const char *const *p)
{
    proxy_host(r, p);
}
