/* Fetch several hosts at once on a libevent base.
 *   example-libevent ID...   (SANDBOX_SERVICE_URL, SANDBOX_SERVICE_TOKEN) */
#include <stdio.h>

#include "adapters/libevent.h"

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
        fprintf(stderr, "example-libevent: %s\n", err.message);
        return 2;
    }
    struct event_base *base = event_base_new();
    lb_libevent *adapter = base ? lb_libevent_attach(base, client) : NULL;
    for (int i = 1; i < argc && adapter; i++)
        if (!lb_get_host_async(client, argv[i], on_host, argv[i], &err)) {
            fprintf(stderr, "%s: %s\n", argv[i], err.message);
            failures++;
        }
    while (adapter && lb_client_pending(client))
        event_base_loop(base, EVLOOP_ONCE);
    lb_client_close(client);
    if (adapter)
        lb_libevent_detach(adapter);
    if (base)
        event_base_free(base);
    return failures || !adapter ? 1 : 0;
}
