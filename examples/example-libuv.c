/* Fetch several hosts at once on a libuv loop.
 *   example-libuv ID...   (SANDBOX_SERVICE_URL, SANDBOX_SERVICE_TOKEN) */
#include <stdio.h>

#include "adapters/libuv.h"

static int failures;

static void on_host(lb_call *call, const lb_result *res, void *userdata)
{
    (void)call;
    const char *id = userdata;
    if (res->code != LB_OK) {
        fprintf(stderr, "%s: %s: %s\n", id, lb_code_name(res->code), res->error->message);
        failures++;
        return;
    }
    printf("%s %s %s:%d\n", res->host->id, res->host->status, res->host->ssh_host,
           res->host->ssh_port);
    lb_host_free(res->host); /* the callback owns the result */
}

int main(int argc, char **argv)
{
    lb_error err;
    lb_client *client = lb_client_from_env(NULL, NULL, &err);
    if (!client) {
        fprintf(stderr, "example-libuv: %s\n", err.message);
        return 2;
    }
    uv_loop_t *loop = uv_default_loop();
    lb_libuv *adapter = lb_libuv_attach(loop, client);
    for (int i = 1; i < argc && adapter; i++)
        if (!lb_get_host_async(client, argv[i], on_host, argv[i], &err)) {
            fprintf(stderr, "%s: %s\n", argv[i], err.message);
            failures++;
        }
    uv_run(loop, UV_RUN_DEFAULT); /* returns when every call has ended */
    lb_client_close(client);
    if (adapter)
        lb_libuv_detach(adapter);
    uv_run(loop, UV_RUN_DEFAULT); /* lets the adapter's handles close */
    uv_loop_close(loop);
    return failures ? 1 : 0;
}
