/* The examples run against the fake server: each fetches three hosts at
 * once through its event loop and one unknown id, and must print the hosts
 * and exit 1 for the failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "fake_server.h"

static const char *const examples[] = {EXAMPLE_LIBUV, EXAMPLE_LIBEVENT, EXAMPLE_POLL};

static const char host[] = "{\"id\":\"h1\",\"status\":\"active\",\"external_ssh_host\":\"10.1.2.3\","
                           "\"external_ssh_port\":2200}";

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    setenv("SANDBOX_SERVICE_URL", fs_url(fs), 1);
    setenv("SANDBOX_SERVICE_TOKEN", "tok", 1);
    for (size_t i = 0; i < sizeof examples / sizeof *examples; i++) {
        check_set_case("%s", examples[i]);
        fs_reset(fs);
        for (int k = 0; k < 3; k++) {
            fs_response r = {.status = 200, .body = host, .delay_ms = 200};
            fs_push(fs, &r);
        }
        fs_response missing = {.status = 404, .body = "{\"detail\":\"host not found\"}",
                               .delay_ms = 400};
        fs_push(fs, &missing);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s a b c d 2>&1", examples[i]);
        FILE *p = popen(cmd, "r");
        if (!CHECK(p != NULL))
            continue;
        char out[4096];
        size_t n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        int status = pclose(p);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        int lines = 0;
        for (const char *s = out; (s = strstr(s, "h1 active 10.1.2.3:2200\n")); s++)
            lines++;
        CHECK_EQ_INT(lines, 3);
        CHECK_CONTAINS(out, "not_found: host not found");
        CHECK_EQ_INT(fs_request_count(fs), 4);
        /* All four were in flight together: the three 200 ms answers and the
         * 400 ms one share connections only if they ran one after another. */
        CHECK(fs_connection_count(fs) >= 3);
    }
    fs_stop(fs);
    return check_summary();
}
