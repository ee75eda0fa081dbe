/* Shared helpers of the sdk suite: fixtures, a JSON equality that ignores
 * key order and spacing, request checks and host comparison. Header-only:
 * each sdk test is one program that includes it once (check.h keeps its
 * counters per program). */
#ifndef LB_SDK_HARNESS_H
#define LB_SDK_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "check.h"
#include "fake_server.h"
#include "litterbox.h"

#define H_UNUSED __attribute__((unused))

#define TOKEN "tok-SECRET-0123456789abcdef"
#define UA_DEFAULT "liblitterbox/1.0.0"

/* ---- fixtures ---- */

#define CURRENT_GEN_BODY                                                                        \
    "{\"id\":\"3f2a6c1e-1b2c-4d5e-8f90-123456789abc\",\"name\":\"sb-0123456789ab\","            \
    "\"status\":\"active\",\"provider\":\"hetzner\",\"image\":\"ubuntu-24.04\","                \
    "\"external_ssh_host\":\"203.0.113.5\",\"external_ssh_port\":2222,"                         \
    "\"ssh_username\":\"sandbox\",\"internal_ssh_host\":\"sb-0123456789ab.tail1234.ts.net\","    \
    "\"known_hosts\":\"[203.0.113.5]:2222 ssh-ed25519 AAAAC3Nz\","                               \
    "\"private_key\":\"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXk=\\n-----END "      \
    "OPENSSH PRIVATE KEY-----\\n\",\"tailscale_device_id\":\"nDEV123CNTRL\","                    \
    "\"instance_type\":\"cx33\",\"disk_gb\":80,\"last_error\":\"\","                            \
    "\"created_at\":\"2026-11-26T12:00:00+00:00\",\"updated_at\":\"2026-11-26T12:00:30+00:00\"," \
    "\"activated_at\":\"2026-11-26T12:00:30+00:00\",\"expires_at\":\"2026-11-27T12:00:00+00:00\"}"

#define PRIVATE_KEY_MARK "b3BlbnNzaC1rZXk" /* never in a log line */

static const lb_host want_current H_UNUSED = {
    .id = "3f2a6c1e-1b2c-4d5e-8f90-123456789abc",
    .name = "sb-0123456789ab",
    .status = "active",
    .provider = "hetzner",
    .image = "ubuntu-24.04",
    .ssh_host = "203.0.113.5",
    .ssh_port = 2222,
    .ssh_username = "sandbox",
    .internal_ssh_host = "sb-0123456789ab.tail1234.ts.net",
    .known_hosts = "[203.0.113.5]:2222 ssh-ed25519 AAAAC3Nz",
    .private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH "
                   "PRIVATE KEY-----\n",
    .tailscale_device_id = "nDEV123CNTRL",
    .instance_type = "cx33",
    .disk_gb = 80,
    .last_error = "",
    .created_at = "2026-11-26T12:00:00+00:00",
    .updated_at = "2026-11-26T12:00:30+00:00",
    .activated_at = "2026-11-26T12:00:30+00:00",
    .expires_at = "2026-11-27T12:00:00+00:00",
};

/* What a get returns for the same host: no private key. */
#define CURRENT_GET_BODY                                                                        \
    "{\"id\":\"3f2a6c1e-1b2c-4d5e-8f90-123456789abc\",\"name\":\"sb-0123456789ab\","            \
    "\"status\":\"active\",\"provider\":\"hetzner\",\"image\":\"ubuntu-24.04\","                \
    "\"external_ssh_host\":\"203.0.113.5\",\"external_ssh_port\":2222,"                         \
    "\"ssh_username\":\"sandbox\",\"internal_ssh_host\":null,"                                   \
    "\"known_hosts\":\"[203.0.113.5]:2222 ssh-ed25519 AAAAC3Nz\",\"private_key\":null,"         \
    "\"tailscale_device_id\":null,\"instance_type\":\"cx33\",\"disk_gb\":null,"                  \
    "\"last_error\":\"\",\"created_at\":\"2026-11-26T12:00:00+00:00\","                         \
    "\"updated_at\":\"2026-11-26T12:00:30+00:00\",\"activated_at\":null,\"expires_at\":null}"

static const lb_host want_current_get H_UNUSED = {
    .id = "3f2a6c1e-1b2c-4d5e-8f90-123456789abc",
    .name = "sb-0123456789ab",
    .status = "active",
    .provider = "hetzner",
    .image = "ubuntu-24.04",
    .ssh_host = "203.0.113.5",
    .ssh_port = 2222,
    .ssh_username = "sandbox",
    .internal_ssh_host = NULL,
    .known_hosts = "[203.0.113.5]:2222 ssh-ed25519 AAAAC3Nz",
    .private_key = NULL,
    .tailscale_device_id = NULL,
    .instance_type = "cx33",
    .disk_gb = 0,
    .last_error = "",
    .created_at = "2026-11-26T12:00:00+00:00",
    .updated_at = "2026-11-26T12:00:30+00:00",
    .activated_at = NULL,
    .expires_at = NULL,
};

#define FIRST_GEN_BODY                                                                          \
    "{\"id\":\"8d1b0c2e-0000-4000-8000-00000000beef\",\"name\":\"sb-abcdefabcdef\","            \
    "\"status\":\"bootstrapping\",\"provider\":\"local\",\"image\":\"debian-12\","              \
    "\"ssh_host\":\"198.51.100.7\",\"ssh_port\":22,\"known_hosts\":\"198.51.100.7 ssh-ed25519 " \
    "AAAA\",\"tailscale_device_id\":null,\"last_error\":\"\","                                   \
    "\"created_at\":\"2025-01-02T03:04:05Z\",\"updated_at\":\"2025-01-02T03:04:06Z\","           \
    "\"activated_at\":null,\"expires_at\":\"2025-01-03T03:04:05Z\"}"

static const lb_host want_first H_UNUSED = {
    .id = "8d1b0c2e-0000-4000-8000-00000000beef",
    .name = "sb-abcdefabcdef",
    .status = "bootstrapping",
    .provider = "local",
    .image = "debian-12",
    .ssh_host = "198.51.100.7",
    .ssh_port = 22,
    .ssh_username = "",
    .known_hosts = "198.51.100.7 ssh-ed25519 AAAA",
    .last_error = "",
    .created_at = "2025-01-02T03:04:05Z",
    .updated_at = "2025-01-02T03:04:06Z",
    .expires_at = "2025-01-03T03:04:05Z",
};

#define DOCTOR_BODY                                                                             \
    "{\"ok\":false,\"active_provider\":\"hetzner\",\"tailscale_enabled\":true,\"checks\":["     \
    "{\"name\":\"database\",\"status\":\"ok\",\"detail\":null,\"latency_ms\":3,\"hint\":null}," \
    "{\"name\":\"provider\",\"status\":\"error\",\"detail\":\"timeout\",\"latency_ms\":null,"   \
    "\"hint\":\"check the token\"}]}"

/* ---- JSON equality: same values, any key order, any spacing ---- */

static H_UNUSED int json_node_eq(yajl_val a, yajl_val b)
{
    if (!a || !b)
        return a == b;
    if (YAJL_IS_STRING(a))
        return YAJL_IS_STRING(b) && strcmp(a->u.string, b->u.string) == 0;
    if (YAJL_IS_NUMBER(a)) {
        if (!YAJL_IS_NUMBER(b))
            return 0;
        if (YAJL_IS_INTEGER(a) && YAJL_IS_INTEGER(b))
            return a->u.number.i == b->u.number.i;
        return a->u.number.d == b->u.number.d;
    }
    if (YAJL_IS_TRUE(a))
        return YAJL_IS_TRUE(b);
    if (YAJL_IS_FALSE(a))
        return YAJL_IS_FALSE(b);
    if (YAJL_IS_NULL(a))
        return YAJL_IS_NULL(b);
    if (YAJL_IS_ARRAY(a)) {
        if (!YAJL_IS_ARRAY(b) || a->u.array.len != b->u.array.len)
            return 0;
        for (size_t i = 0; i < a->u.array.len; i++)
            if (!json_node_eq(a->u.array.values[i], b->u.array.values[i]))
                return 0;
        return 1;
    }
    if (YAJL_IS_OBJECT(a)) {
        if (!YAJL_IS_OBJECT(b) || a->u.object.len != b->u.object.len)
            return 0;
        for (size_t i = 0; i < a->u.object.len; i++) {
            /* no key twice */
            for (size_t j = 0; j < i; j++)
                if (strcmp(a->u.object.keys[i], a->u.object.keys[j]) == 0)
                    return 0;
            size_t k = 0;
            while (k < b->u.object.len && strcmp(a->u.object.keys[i], b->u.object.keys[k]) != 0)
                k++;
            if (k == b->u.object.len ||
                !json_node_eq(a->u.object.values[i], b->u.object.values[k]))
                return 0;
        }
        return 1;
    }
    return 0;
}

/* 1 when got (any bytes) is the JSON text want denotes. */
static H_UNUSED int json_equal(const char *got, size_t got_len, const char *want)
{
    if (strlen(got) != got_len)
        return 0; /* a NUL inside */
    char eb[256];
    yajl_val g = yajl_tree_parse(got, eb, sizeof eb);
    yajl_val w = yajl_tree_parse(want, eb, sizeof eb);
    if (!w) {
        fprintf(stderr, "harness: expected JSON does not parse: %s\n", want);
        abort();
    }
    int eq = g && json_node_eq(g, w);
    yajl_tree_free(g);
    yajl_tree_free(w);
    return eq;
}

#define CHECK_JSON(got, got_len, want)                                                          \
    do {                                                                                        \
        if (json_equal((got), (got_len), (want)))                                               \
            CHECK(1);                                                                           \
        else                                                                                    \
            CHECK_FAIL("JSON body %s, want %s", (got) ? (got) : "NULL", (want));                \
    } while (0)

/* ---- hosts ---- */

static H_UNUSED void check_host(const lb_host *got, const lb_host *want)
{
    if (!CHECK(got != NULL))
        return;
    CHECK_EQ_STR(got->id, want->id);
    CHECK_EQ_STR(got->name, want->name);
    CHECK_EQ_STR(got->status, want->status);
    CHECK_EQ_STR(got->provider, want->provider);
    CHECK_EQ_STR(got->image, want->image);
    CHECK_EQ_STR(got->ssh_host, want->ssh_host);
    CHECK_EQ_INT(got->ssh_port, want->ssh_port);
    CHECK_EQ_STR(got->ssh_username, want->ssh_username);
    CHECK_EQ_STR(got->internal_ssh_host, want->internal_ssh_host);
    CHECK_EQ_STR(got->known_hosts, want->known_hosts);
    CHECK_EQ_STR(got->private_key, want->private_key);
    CHECK_EQ_STR(got->tailscale_device_id, want->tailscale_device_id);
    CHECK_EQ_STR(got->instance_type, want->instance_type);
    CHECK_EQ_INT(got->disk_gb, want->disk_gb);
    CHECK_EQ_STR(got->last_error, want->last_error);
    CHECK_EQ_STR(got->created_at, want->created_at);
    CHECK_EQ_STR(got->updated_at, want->updated_at);
    CHECK_EQ_STR(got->activated_at, want->activated_at);
    CHECK_EQ_STR(got->expires_at, want->expires_at);
}

/* ---- requests ---- */

/* The headers every request carries (docs/wire.md, Requests). auth: 1 when the token must
 * be there, 0 when it must not. */
static H_UNUSED void check_common_headers(const fs_request *r, int auth, const char *ua)
{
    if (!CHECK(r != NULL))
        return;
    if (auth)
        CHECK_EQ_STR(fs_header(r, "Authorization"), "Bearer " TOKEN);
    else
        CHECK(fs_header(r, "Authorization") == NULL);
    CHECK_EQ_INT(fs_header_count(r, "Authorization"), auth ? 1 : 0);
    CHECK_EQ_STR(fs_header(r, "Accept"), "application/json");
    CHECK_EQ_INT(fs_header_count(r, "Accept"), 1);
    CHECK_EQ_STR(fs_header(r, "User-Agent"), ua ? ua : UA_DEFAULT);
    if (r->has_body && r->body_len > 0) {
        const char *ct = fs_header(r, "Content-Type");
        if (!CHECK(ct != NULL && strncmp(ct, "application/json", 16) == 0))
            CHECK_FAIL("Content-Type %s", ct ? ct : "absent");
    }
}

/* A client on fs's URL plus a path prefix ("" for none). */
static H_UNUSED lb_client *client_for(fake_server *fs, const char *prefix,
                                      const lb_client_options *opts)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", fs_url(fs), prefix);
    lb_error err;
    memset(&err, 0, sizeof err);
    lb_client *c = lb_client_new(url, TOKEN, opts, &err);
    if (!c) {
        fprintf(stderr, "harness: lb_client_new(%s) failed: %s\n", url, err.message);
        exit(1);
    }
    return c;
}

/* A sentinel-filled error, to see that success leaves it alone. */
static H_UNUSED void err_sentinel(lb_error *e)
{
    memset(e, 0x5a, sizeof *e);
    e->code = (lb_code)77;
    e->http_status = -77;
    e->message[sizeof e->message - 1] = '\0';
    e->error_code[sizeof e->error_code - 1] = '\0';
}

static H_UNUSED int err_is_sentinel(const lb_error *e)
{
    lb_error s;
    err_sentinel(&s);
    return memcmp(&s, e, sizeof s) == 0;
}

/* A pointer value no result ever has: out params must be NULL on failure. */
#define OUT_SENTINEL ((void *)&check_passed_n)

/* Milliseconds on a monotonic clock. */
#include <time.h>
static H_UNUSED double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

#endif
