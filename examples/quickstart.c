/* Create a host with an env var and an idempotency key, print its SSH
 * details, delete it, close the client.
 *
 *   cc quickstart.c $(pkg-config --cflags --libs litterbox) -o quickstart
 *   SANDBOX_SERVICE_URL=http://127.0.0.1:8780 SANDBOX_SERVICE_TOKEN=... ./quickstart
 */
#include <stdio.h>

#include <litterbox.h>

int main(void)
{
    lb_error err;
    lb_client *client = lb_client_from_env(NULL, NULL, &err); /* SANDBOX_SERVICE_* */
    if (!client) {
        fprintf(stderr, "quickstart: %s: %s\n", lb_code_name(err.code), err.message);
        return 2;
    }

    const char *env[] = {"FOO=bar", NULL};
    lb_create_opts opts = LB_CREATE_OPTS_INIT;
    opts.env = env;
    opts.idempotency_key = "agent-run-42"; /* a retry returns the same host */

    lb_host *host = NULL;
    if (lb_create_host(client, &opts, &host, &err) != LB_OK) {
        fprintf(stderr, "quickstart: create: %s: %s\n", lb_code_name(err.code), err.message);
        if (lb_code_is_retryable(err.code))
            fprintf(stderr, "quickstart: safe to retry with the same idempotency key\n");
        lb_client_close(client);
        return 1;
    }
    printf("host %s (%s)\n", host->id, host->name);
    printf("ssh %s@%s -p %d\n", host->ssh_username, host->ssh_host, host->ssh_port);
    printf("known_hosts:\n%s\n", host->known_hosts);

    int status = 0;
    if (lb_delete_host(client, host->id, &err) != LB_OK) {
        fprintf(stderr, "quickstart: delete: %s: %s\n", lb_code_name(err.code), err.message);
        status = 1;
    }
    lb_host_free(host); /* wipes the private key, if one came back */
    lb_client_close(client);
    return status;
}
