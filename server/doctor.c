/* GET /doctor: the database and each provider, every key of every check
 * always present (docs/wire.md). Always 200; "ok" says whether all is well. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server.h"

static void add_check(sbuf *b, int first, const char *name, const char *status, const char *detail,
                      long long latency_ms, const char *hint)
{
    if (!first) sbuf_add(b, ",", 1);
    sbuf_adds(b, "{\"name\":");
    sbuf_json_strz(b, name);
    sbuf_adds(b, ",\"status\":");
    sbuf_json_strz(b, status);
    sbuf_adds(b, ",\"detail\":");
    sbuf_json_strz(b, detail && *detail ? detail : NULL);
    if (latency_ms >= 0)
        sbuf_addf(b, ",\"latency_ms\":%lld", latency_ms);
    else
        sbuf_adds(b, ",\"latency_ms\":null");
    sbuf_adds(b, ",\"hint\":");
    sbuf_json_strz(b, hint && *hint ? hint : NULL);
    sbuf_add(b, "}", 1);
}

static long long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

void route_doctor(request *r, const char *const *p)
{
    sbuf checks = {0};
    int ok = 1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char why[256];
    int db = store_ping(why, sizeof why);
    add_check(&checks, 1, "database", db == 0 ? "ok" : "error", db == 0 ? "SQLite" : why,
              elapsed_ms(&t0), db == 0 ? NULL : "check --db and the state folder's permissions");
    ok &= db == 0;

    for (size_t i = 0; i < providers_count(); i++) {
        const char *name, *fail;
        provider *prov = providers_at(i, &name, &fail);
        char check_name[64];
        snprintf(check_name, sizeof check_name, "provider:%s", name);
        /* Only the default provider decides "ok": a provider nobody uses by
         * default may be missing on a machine that does not need it. */
        int is_default = strcmp(name, g_config.default_provider) == 0;
        if (!prov) {
            add_check(&checks, 0, check_name, "error", fail, -1,
                      "see the server's start-up messages");
            if (is_default) ok = 0;
            continue;
        }
        provider_check c;
        memset(&c, 0, sizeof c);
        c.latency_ms = -1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        prov->doctor(prov, &c);
        if (c.latency_ms < 0) c.latency_ms = elapsed_ms(&t0);
        if (!c.status[0]) snprintf(c.status, sizeof c.status, "error");
        add_check(&checks, 0, check_name, c.status, c.detail, c.latency_ms, c.hint);
        if (is_default) ok &= strcmp(c.status, "ok") == 0;
    }

    sbuf b = {0};
    sbuf_addf(&b, "{\"ok\":%s,\"active_provider\":", ok ? "true" : "false");
    sbuf_json_strz(&b, g_config.default_provider);
    sbuf_adds(&b, ",\"tailscale_enabled\":false,\"checks\":[");
    if (checks.data) sbuf_add(&b, checks.data, checks.len);
    sbuf_adds(&b, "]}");
    sbuf_free(&checks);
    reply_json(r, 200, sbuf_take(&b));
}

void route_healthz(request *r, const char *const *p)
{
    reply_json(r, 200, xstrdup("{\"status\":\"ok\"}"));
}
