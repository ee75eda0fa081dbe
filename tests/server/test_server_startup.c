/* The server's own command line before it serves: --version, and the
 * warning about a token file that others can read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "harness.h"
#include "../cli/spawn.h"

static const char *const nothing[] = {NULL};

static void test_version(void)
{
    check_set_case("--version prints the version and exits 0, needing no token");
    const char *args[] = {"--version", NULL};
    const char *env[] = {"PATH=/usr/bin:/bin", "HOME=/nonexistent", NULL};
    spawn_opts o = {args, env, SPAWN_PIPES, NULL, NULL, 20000};
    spawn_result r;
    if (spawn_run(LBS_PATH, &o, &r) != 0) {
        CHECK_FAIL("could not run the server");
        return;
    }
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, "litterbox-server " LBS_VERSION "\n");
    CHECK_EQ_STR(r.err, "");
    free(r.out);
    free(r.err);
}

/* The token file's mode, and whether the server must warn about it. */
static void test_token_mode(void)
{
    static const struct {
        mode_t mode;
        const char *warning; /* NULL: none */
    } cases[] = {
        {0600, NULL},
        {0400, NULL},
        {0640, "readable by its group (mode 640)"},
        {0644, "readable by others (mode 644)"},
        {0604, "readable by others (mode 604)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_set_case("token file mode %03o", (unsigned)cases[i].mode);
        server s;
        if (server_init(&s) != 0) {
            CHECK_FAIL("init");
            return;
        }
        chmod(s.token_file, cases[i].mode);
        if (server_start(&s, nothing) != 0) {
            CHECK_FAIL("the server did not start");
            server_cleanup(&s);
            continue;
        }
        CHECK_EQ_INT(server_stop(&s), 0);
        char *log = server_log(&s);
        if (cases[i].warning) {
            CHECK_CONTAINS(log, cases[i].warning);
            CHECK_CONTAINS(log, "chmod 600");
        } else {
            CHECK_LACKS(log, "warning");
        }
        CHECK_LACKS(log, TEST_TOKEN);
        free(log);
        server_cleanup(&s);
    }
}

int main(void)
{
    test_version();
    test_token_mode();
    return check_summary();
}
