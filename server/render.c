/* Host records as the wire has them (docs/wire.md), in either generation.
 * The store keeps records; this file alone knows their JSON. */
#include <stdio.h>
#include <string.h>

#include "server.h"

static void add_time(sbuf *out, const char *key, int64_t ms)
{
    char t[32];
    sbuf_adds(out, key);
    if (ms) {
        format_time(ms, t);
        sbuf_add(out, "\"", 1);
        sbuf_adds(out, t);
        sbuf_add(out, "\"", 1);
    } else {
        sbuf_adds(out, "null");
    }
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

void host_json(sbuf *out, const host_rec *h, enum wire_gen wire, const char *private_key)
{
    sbuf_adds(out, "{\"id\":\"");
    sbuf_adds(out, h->id);
    sbuf_adds(out, "\",\"name\":\"");
    sbuf_adds(out, h->name);
    sbuf_adds(out, "\",\"status\":\"");
    sbuf_adds(out, host_status_name(h->status));
    sbuf_adds(out, "\",\"provider\":");
    sbuf_json_strz(out, h->provider);
    sbuf_adds(out, ",\"image\":");
    sbuf_json_strz(out, or_empty(h->image));
    if (wire == WIRE_V1) {
        sbuf_adds(out, ",\"ssh_host\":");
        sbuf_json_strz(out, or_empty(h->ssh_host));
        sbuf_addf(out, ",\"ssh_port\":%d", h->ssh_port);
    }
    sbuf_adds(out, ",\"external_ssh_host\":");
    sbuf_json_strz(out, or_empty(h->ssh_host));
    sbuf_addf(out, ",\"external_ssh_port\":%d,\"ssh_username\":", h->ssh_port);
    sbuf_json_strz(out, or_empty(h->ssh_username));
    sbuf_adds(out, ",\"internal_ssh_host\":null,\"known_hosts\":");
    sbuf_json_strz(out, or_empty(h->known_hosts));
    sbuf_adds(out, ",\"private_key\":");
    sbuf_json_strz(out, private_key);
    sbuf_adds(out, ",\"tailscale_device_id\":null,\"instance_type\":");
    sbuf_json_strz(out, h->instance_type);
    if (h->disk_gb)
        sbuf_addf(out, ",\"disk_gb\":%lld", h->disk_gb);
    else
        sbuf_adds(out, ",\"disk_gb\":null");
    sbuf_adds(out, ",\"last_error\":");
    sbuf_json_strz(out, or_empty(h->last_error));
    add_time(out, ",\"created_at\":", h->created_ms);
    add_time(out, ",\"updated_at\":", h->updated_ms);
    add_time(out, ",\"activated_at\":", h->activated_ms);
    add_time(out, ",\"expires_at\":", h->expires_ms);
    sbuf_add(out, "}", 1);
}

typedef struct render_ctx {
    sbuf *out;
    enum wire_gen wire;
    size_t n;
} render_ctx;

static void render_one(const host_rec *h, void *ctx)
{
    render_ctx *c = ctx;
    if (c->n++) sbuf_add(c->out, ",", 1);
    host_json(c->out, h, c->wire, NULL);
}

int render_host(const char *id, enum wire_gen wire, sbuf *out)
{
    render_ctx c = {out, wire, 0};
    return store_host_visit(id, render_one, &c);
}

void render_host_list(enum wire_gen wire, sbuf *out)
{
    render_ctx c = {out, wire, 0};
    sbuf_add(out, "[", 1);
    store_hosts_visit(render_one, &c);
    sbuf_add(out, "]", 1);
}
