/* Fetch several hosts at once from a plain poll(2) loop.
 *   example-poll ID...   (SANDBOX_SERVICE_URL, SANDBOX_SERVICE_TOKEN) */
#include <stdio.h>

#include "adapters/poll.h"

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
        fprintf(stderr, "example-poll: %s\n", err.message);
        return 2;
    }
    lb_poll *adapter = lb_poll_attach(client);
    for (int i = 1; i < argc && adapter; i++)
        if (!lb_get_host_async(client, argv[i], on_host, argv[i], &err)) {
            fprintf(stderr, "%s: %s\n", argv[i], err.message);
            failures++;
        }
    while (adapter && lb_client_pending(client)) {
        struct pollfd fds[LB_POLL_MAX];
        size_t n = lb_poll_fill(adapter, fds, LB_POLL_MAX);
        int timeout = lb_poll_timeout(adapter);
        poll(fds, (nfds_t)n, timeout < 0 || timeout > 1000 ? 1000 : timeout);
        lb_poll_dispatch(adapter, fds, n);
    }
    lb_client_close(client);
    if (adapter)
        lb_poll_detach(adapter);
    return failures || !adapter ? 1 : 0;
}
