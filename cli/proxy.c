/* The HTTP-proxy commands: `proxy create|delete|attach|detach`. */
#include <stdio.h>

#include "cli.h"

/** A proxy call's error; a 501 also says why, since no provider of
 *  litterbox-server has proxies and a newcomer meets this first. */
static int proxy_error(const lb_error *err)
{
    int status = report_error(err, NULL);
    if (err->http_status == 501)
        fail(0, "note",
             "this service's provider does not support HTTP proxies (neither "
             "litterbox-server provider, local or fake, does)");
    return status;
}

int cmd_proxy_create(cli_ctx *ctx)
{
    const cmd_args *a = &ctx->a;
    if (!a->target) return usage_error("proxy create: --target URL is required");
    /* Header values may be secrets: files first, flags after, all to the SDK. */
    str_list headers = {0};
    int status = 0;
    for (size_t i = 0; i < a->header_files.count && status == 0; i++)
        status = header_file_load(a->header_files.items[i], &headers);
    for (size_t i = 0; i < a->headers.count && status == 0; i++)
        if (str_list_push(&headers, a->headers.items[i]) != 0)
            status = fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    /* The service refuses a proxy without one (litterbox-server says 422):
     * say so before sending. */
    if (status == 0 && headers.count == 0)
        status = usage_error("proxy create: at least one --header or --header-file line is "
                             "required");
    lb_client *c = status == 0 ? cli_client(ctx, &status) : NULL;
    if (c) {
        lb_proxy *p;
        lb_error err;
        if (lb_create_proxy(c, a->pos[0], a->target, headers.count ? headers.items : NULL, &p,
                            &err) != LB_OK) {
            status = proxy_error(&err);
        } else {
            out_proxy(ctx, p);
            lb_proxy_free(p);
        }
    }
    str_list_free(&headers);
    return status;
}

int cmd_proxy_attach(cli_ctx *ctx)
{
    int status;
    const char *id;
    if ((status = resolve_hosts(ctx, ctx->a.pos + 1, 1, &id)) != 0) return status;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_proxy *p;
    lb_error err;
    if (lb_attach_proxy(c, ctx->a.pos[0], id, &p, &err) != LB_OK) return proxy_error(&err);
    out_proxy(ctx, p);
    lb_proxy_free(p);
    return 0;
}

int cmd_proxy_delete(cli_ctx *ctx)
{
    int status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_error err;
    if (lb_delete_proxy(c, ctx->a.pos[0], &err) != LB_OK) return proxy_error(&err);
    out_done(ctx, "deleted proxy %s", ctx->a.pos[0]);
    return 0;
}

int cmd_proxy_detach(cli_ctx *ctx)
{
    int status;
    const char *id;
    if ((status = resolve_hosts(ctx, ctx->a.pos + 1, 1, &id)) != 0) return status;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_error err;
    if (lb_detach_proxy(c, ctx->a.pos[0], id, &err) != LB_OK) return proxy_error(&err);
    out_done(ctx, "detached %s from proxy %s", ctx->a.pos[1], ctx->a.pos[0]);
    return 0;
}
