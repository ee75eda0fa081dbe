/* Idempotency keys belong to the token that used them, and name one
 * request: the same request replays the first host (also after a
 * restart), another request with the key is refused with 409
 * IDEMPOTENCY_KEY_REUSED, and another token's same key is another key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define OTHER_TOKEN "lbs-other-token-41d8"

typedef struct icase {
    const char *name;
    const char *token;
    const char *key;
    const char *body;
    int status;
    const char *want;  /* in the body */
    int same_as_first; /* 1: the first host's id; 0: another id; -1: no host */
} icase;

static const icase cases[] = {
    {"first create", TEST_TOKEN, "k1", "{\"env\":{\"A\":\"1\",\"B\":\"2\"}}", 201,
     "\"private_key\":\"-----BEGIN", 1},
    {"same request: the same host, key included", TEST_TOKEN, "k1",
     "{\"env\":{\"A\":\"1\",\"B\":\"2\"}}", 201, "\"private_key\":\"-----BEGIN", 1},
    {"same env in another order: the same request", TEST_TOKEN, "k1",
     "{\"env\":{\"B\":\"2\",\"A\":\"1\"}}", 201, "\"status\":\"active\"", 1},
    {"another env value: refused", TEST_TOKEN, "k1", "{\"env\":{\"A\":\"1\",\"B\":\"3\"}}", 409,
     "\"error_code\":\"IDEMPOTENCY_KEY_REUSED\"", -1},
    {"another field: refused", TEST_TOKEN, "k1",
     "{\"env\":{\"A\":\"1\",\"B\":\"2\"},\"expires_at\":null}", 409, "IDEMPOTENCY_KEY_REUSED", -1},
    {"another image: refused", TEST_TOKEN, "k1",
     "{\"env\":{\"A\":\"1\",\"B\":\"2\"},\"image\":\"x/y:1\"}", 409, "IDEMPOTENCY_KEY_REUSED", -1},
    {"another token, same key and request: its own host", OTHER_TOKEN, "k1",
     "{\"env\":{\"A\":\"1\",\"B\":\"2\"}}", 201, "\"status\":\"active\"", 0},
};

static void id_of(const char *body, char id[37])
{
    const char *at = body ? strstr(body, "\"id\":\"") : NULL;
    snprintf(id, 37, "%.36s", at ? at + 6 : "");
}

static void run_cases(const server *s, char first[37], const char *phase)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const icase *c = &cases[i];
        check_set_case("%s: %s", phase, c->name);
        char head[128], id[37];
        snprintf(head, sizeof head, "Idempotency-Key: %s\r\n", c->key);
        raw_resp r;
        CHECK_EQ_INT(raw_request(s, "POST", "/hosts", c->token, head, c->body, strlen(c->body), &r),
                     0);
        CHECK_EQ_INT(r.status, c->status);
        CHECK_CONTAINS(r.body, c->want);
        id_of(r.body, id);
        if (i == 0 && !first[0]) snprintf(first, 37, "%s", id);
        if (c->same_as_first == 1) CHECK_EQ_STR(id, first);
        if (c->same_as_first == 0) CHECK(strcmp(id, first) != 0);
        raw_resp_free(&r);
    }
}

int main(void)
{
    server s;
    const char *const args[] = {NULL};
    if (server_init(&s) != 0) return 1;
    s.tokens_env = OTHER_TOKEN;
    if (server_start(&s, args) != 0) {
        CHECK_FAIL("the server did not start");
        return check_summary();
    }
    char first[37] = "";
    run_cases(&s, first, "running");
    CHECK_EQ_INT(server_stop(&s), 0);
    /* The same answers after a restart; the other token's host exists
     * already, so its row replays too (same_as_first 0 still holds). */
    if (server_start(&s, args) != 0) {
        CHECK_FAIL("the server did not start again");
    } else {
        run_cases(&s, first, "after a restart");
        CHECK_EQ_INT(server_stop(&s), 0);
    }
    char *log = server_log(&s);
    CHECK_LACKS(log, OTHER_TOKEN);
    CHECK_LACKS(log, TEST_TOKEN);
    free(log);
    server_cleanup(&s);
    return check_summary();
}
