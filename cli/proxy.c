/* The HTTP-proxy commands: `proxy create|delete|attach|detach`. */
#include <stdio.h>

#include "cli.h"

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
    lb_client *c = status == 0 ? cli_client(ctx, &status) : NULL;
    if (c) {
        lb_proxy *p;
        lb_error err;
        if (lb_create_proxy(c, a->pos[0], a->target, headers.count ? headers.items : NULL, &p,
                            &err) != LB_OK) {
            status = report_error(&err, NULL);
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
    int status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_proxy *p;
    lb_error err;
    if (lb_attach_proxy(c, ctx->a.pos[0], ctx->a.pos[1], &p, &err) != LB_OK)
        return report_error(&err, NULL);
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
    if (lb_delete_proxy(c, ctx->a.pos[0], &err) != LB_OK) return report_error(&err, NULL);
    out_done(ctx, "deleted proxy %s", ctx->a.pos[0]);
    return 0;
}

int cmd_proxy_detach(cli_ctx *ctx)
{
    int status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    lb_error err;
    if (lb_detach_proxy(c, ctx->a.pos[0], ctx->a.pos[1], &err) != LB_OK)
        return report_error(&err, NULL);
    out_done(ctx, "detached %s from proxy %s", ctx->a.pos[1], ctx->a.pos[0]);
    return 0;
}
