/* Every public call against the fake server, as a table of {canned response,
 * call, expected request, expected outcome}: docs/api.md and docs/wire.md as far
 * as one request shows them. The client's base URL carries a path prefix
 * (/api) throughout. Each row runs through the blocking call and through its
 * _async form driven by lb_client_run. */
#include "harness.h"

typedef enum op {
    OP_CREATE,
    OP_GET,
    OP_ATTACH,
    OP_LIST,
    OP_DELETE,
    OP_RENEW,
    OP_HEALTH,
    OP_DOCTOR,
    OP_PROXY_CREATE,
    OP_PROXY_DELETE,
    OP_PROXY_ATTACH,
    OP_PROXY_DETACH,
} op;

typedef enum body_rule {
    B_NONE,     /* no body, or an empty one */
    B_JSON,     /* exactly this JSON (any key order and spacing) */
    B_OPTIONAL, /* no body, an empty one, or {} */
} body_rule;

typedef struct call_case {
    int line;
    const char *name;
    op op;
    /* the call */
    const lb_create_opts *create; /* OP_CREATE; NULL passes NULL */
    const char *a;                /* host id, or proxy name */
    const char *b;                /* proxy target, or the host id of a proxy attach/detach */
    const char *const *headers;   /* OP_PROXY_CREATE */
    long long expires_at;         /* OP_RENEW */
    /* the canned response; status 0: none queued */
    fs_response resp;
    /* the request it must send; method NULL: nothing may be sent */
    const char *method, *path; /* path below the base URL */
    body_rule body_rule;
    const char *body;
    const char *idem; /* Idempotency-Key, NULL: absent */
    /* the outcome */
    lb_code code;
    int http_status; /* 0: the response's status (0 for LB_ERR_INVALID) */
    const char *msg; /* a fragment of err.message */
    const char *error_code;
    const lb_host *host;     /* host results */
    size_t list_count;       /* OP_LIST */
    const lb_host *list[2];  /* OP_LIST: the first hosts */
    const char *proxy[3];    /* name, host_id, status */
} call_case;

/* ---- call arguments ---- */

#define OPTS(...) (&(const lb_create_opts){LB_CREATE_OPTS_VERSION, __VA_ARGS__})

static const char *const env_ab[] = {"A=1", "B=x=y", NULL};
static const char *const env_tricky[] = {"Q=a\"b\\c\n\xc3\xa9\t\x01\x1f\r\b\f/\x7f", "EMPTY=",
                                         "SP=  ", NULL};
static const char *const env_reserved[] = {"TAILSCALE_AUTHKEY=tskey-abc", NULL};
static const char *const env_noeq[] = {"A=1", "NOEQ", NULL};
static const char *const env_dup[] = {"A=1", "A=2", NULL};
static const char *const env_badkey[] = {"1A=x", NULL};
static const char *const env_badutf8[] = {"A=\xff", NULL};

static const lb_create_opts opts_init = LB_CREATE_OPTS_INIT;
static const lb_create_opts opts_everything = {
    .version = LB_CREATE_OPTS_VERSION,
    .image = "ubuntu-24.04",
    .env = env_ab,
    .expires_at = 1906545600,
    .idempotency_key = "job-42:attempt_1.x",
    .provider = "hetzner",
    .instance_type = "cx33",
    .disk_gb = 80,
};

static const char *const hdr_one[] = {"X-Api-Key: k1", NULL};
static const char *const hdr_two[] = {"Authorization: Bearer abc def", "X-Trace: 1", NULL};
static const char *const hdr_bad[] = {"NoColon", NULL};
static const char *const hdr_colon_value[] = {"X-Url: https://a.example:8443/x", NULL};

#define HOST_ID "3f2a6c1e-1b2c-4d5e-8f90-123456789abc"
#define R(st, bd) {.status = (st), .body = (bd)}

static const call_case cases[] = {
    /* ---- create: exactly the fields set (docs/wire.md, Create) ---- */
    {__LINE__, "create, NULL opts", OP_CREATE, .resp = R(201, CURRENT_GEN_BODY),
     .method = "POST", .path = "/hosts", .body_rule = B_JSON, .body = "{}", .code = LB_OK,
     .host = &want_current},
    {__LINE__, "create, INIT opts", OP_CREATE, .create = &opts_init,
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{}", .code = LB_OK, .host = &want_current},
    {__LINE__, "create, image", OP_CREATE, .create = OPTS(.image = "ubuntu-24.04"),
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"image\":\"ubuntu-24.04\"}", .code = LB_OK, .host = &want_current},
    {__LINE__, "create, blank-looking image sent as given", OP_CREATE,
     .create = OPTS(.image = " "), .resp = R(201, CURRENT_GEN_BODY), .method = "POST",
     .path = "/hosts", .body_rule = B_JSON, .body = "{\"image\":\" \"}", .code = LB_OK},
    {__LINE__, "create, env", OP_CREATE, .create = OPTS(.env = env_ab),
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"env\":{\"A\":\"1\",\"B\":\"x=y\"}}", .code = LB_OK},
    {__LINE__, "create, env values escaped", OP_CREATE, .create = OPTS(.env = env_tricky),
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"env\":{\"Q\":\"a\\\"b\\\\c\\n\\u00e9\\t\\u0001\\u001F\\r\\b\\f\\/\x7f\","
             "\"EMPTY\":\"\",\"SP\":\"  \"}}",
     .code = LB_OK},
    {__LINE__, "create, reserved env key is the service's to refuse", OP_CREATE,
     .create = OPTS(.env = env_reserved),
     .resp = R(422, "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\",\"env\"],\"msg\":"
                    "\"Value error, reserved env keys are not allowed: TAILSCALE_AUTHKEY\"}]}"),
     .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"env\":{\"TAILSCALE_AUTHKEY\":\"tskey-abc\"}}", .code = LB_ERR_VALIDATION,
     .msg = "body.env: Value error, reserved env keys are not allowed: TAILSCALE_AUTHKEY"},
    {__LINE__, "create, expires_at", OP_CREATE, .create = OPTS(.expires_at = 1906545600),
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"expires_at\":\"2030-06-01T12:00:00+00:00\"}", .code = LB_OK},
    {__LINE__, "create, past expires_at sent as given", OP_CREATE,
     .create = OPTS(.expires_at = 1), .resp = R(422, "{\"detail\":\"expires_at is in the past\"}"),
     .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"expires_at\":\"1970-01-01T00:00:01+00:00\"}", .code = LB_ERR_VALIDATION,
     .msg = "expires_at is in the past"},
    {__LINE__, "create, permanent", OP_CREATE, .create = OPTS(.expires_at = LB_EXPIRES_NEVER),
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"expires_at\":null}", .code = LB_OK},
    {__LINE__, "create, idempotency key", OP_CREATE,
     .create = OPTS(.idempotency_key = "job-42:attempt_1.x"), .resp = R(201, CURRENT_GEN_BODY),
     .method = "POST", .path = "/hosts", .body_rule = B_JSON, .body = "{}",
     .idem = "job-42:attempt_1.x", .code = LB_OK},
    {__LINE__, "create, provider", OP_CREATE, .create = OPTS(.provider = "hetzner"),
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"provider\":\"hetzner\"}", .code = LB_OK},
    {__LINE__, "create, instance_type", OP_CREATE, .create = OPTS(.instance_type = "cx33"),
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"instance_type\":\"cx33\"}", .code = LB_OK},
    {__LINE__, "create, disk_gb", OP_CREATE, .create = OPTS(.disk_gb = 80),
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"disk_gb\":80}", .code = LB_OK},
    {__LINE__, "create, every field", OP_CREATE, .create = &opts_everything,
     .resp = R(201, CURRENT_GEN_BODY), .method = "POST", .path = "/hosts", .body_rule = B_JSON,
     .body = "{\"image\":\"ubuntu-24.04\",\"env\":{\"A\":\"1\",\"B\":\"x=y\"},"
             "\"expires_at\":\"2030-06-01T12:00:00+00:00\",\"provider\":\"hetzner\","
             "\"instance_type\":\"cx33\",\"disk_gb\":80}",
     .idem = "job-42:attempt_1.x", .code = LB_OK, .host = &want_current},
    {__LINE__, "create, 202", OP_CREATE, .resp = R(202, CURRENT_GEN_BODY), .method = "POST",
     .path = "/hosts", .body_rule = B_JSON, .body = "{}", .code = LB_OK, .host = &want_current},
    {__LINE__, "create, first-generation answer", OP_CREATE, .resp = R(201, FIRST_GEN_BODY),
     .method = "POST", .path = "/hosts", .body_rule = B_JSON, .body = "{}", .code = LB_OK,
     .host = &want_first},
    {__LINE__, "create, provisioning failed", OP_CREATE,
     .resp = R(502, "{\"detail\":\"provisioning failed: no capacity in fsn1\","
                    "\"error_code\":\"PROVISIONING_FAILED\"}"),
     .method = "POST", .path = "/hosts", .body_rule = B_JSON, .body = "{}",
     .code = LB_ERR_PROVISIONING, .msg = "provisioning failed: no capacity in fsn1",
     .error_code = "PROVISIONING_FAILED"},
    {__LINE__, "create, gateway's 502", OP_CREATE,
     .resp = {.status = 502, .headers = "Content-Type: text/html\r\n",
              .body = "<html><body><h1>502 Bad Gateway</h1></body></html>"},
     .method = "POST", .path = "/hosts", .body_rule = B_JSON, .body = "{}",
     .code = LB_ERR_UNAVAILABLE, .msg = "502"},
    {__LINE__, "create, unknown provider", OP_CREATE, .create = OPTS(.provider = "nope"),
     .resp = R(400, "{\"detail\":\"unknown provider: nope\"}"), .method = "POST",
     .path = "/hosts", .body_rule = B_JSON, .body = "{\"provider\":\"nope\"}",
     .code = LB_ERR_RESPONSE, .msg = "unknown provider: nope"},
    {__LINE__, "create, 201 not JSON", OP_CREATE, .resp = R(201, "created!"), .method = "POST",
     .path = "/hosts", .body_rule = B_JSON, .body = "{}", .code = LB_ERR_RESPONSE},
    {__LINE__, "create, 201 empty", OP_CREATE, .resp = R(201, NULL), .method = "POST",
     .path = "/hosts", .body_rule = B_JSON, .body = "{}", .code = LB_ERR_RESPONSE},
    {__LINE__, "create, 201 array", OP_CREATE, .resp = R(201, "[]"), .method = "POST",
     .path = "/hosts", .body_rule = B_JSON, .body = "{}", .code = LB_ERR_RESPONSE},
    {__LINE__, "create, 201 without a port", OP_CREATE,
     .resp = R(201, "{\"id\":\"h1\",\"status\":\"active\",\"external_ssh_host\":\"h\"}"),
     .method = "POST", .path = "/hosts", .body_rule = B_JSON, .body = "{}",
     .code = LB_ERR_RESPONSE, .msg = "ssh_port"},

    /* ---- create: refused arguments, nothing sent (docs/api.md, Argument checks) ---- */
    {__LINE__, "create, image \"\"", OP_CREATE, .create = OPTS(.image = ""),
     .code = LB_ERR_INVALID, .msg = "image"},
    {__LINE__, "create, provider \"\"", OP_CREATE, .create = OPTS(.provider = ""),
     .code = LB_ERR_INVALID, .msg = "provider"},
    {__LINE__, "create, instance_type \"\"", OP_CREATE, .create = OPTS(.instance_type = ""),
     .code = LB_ERR_INVALID, .msg = "instance_type"},
    {__LINE__, "create, disk_gb -1", OP_CREATE, .create = OPTS(.disk_gb = -1),
     .code = LB_ERR_INVALID, .msg = "disk_gb"},
    {__LINE__, "create, expires_at -2", OP_CREATE, .create = OPTS(.expires_at = -2),
     .code = LB_ERR_INVALID, .msg = "expires_at"},
    {__LINE__, "create, idempotency key \"\"", OP_CREATE,
     .create = OPTS(.idempotency_key = ""), .code = LB_ERR_INVALID, .msg = "dempotency"},
    {__LINE__, "create, idempotency key with space", OP_CREATE,
     .create = OPTS(.idempotency_key = "a b"), .code = LB_ERR_INVALID, .msg = "dempotency"},
    {__LINE__, "create, idempotency key with CRLF", OP_CREATE,
     .create = OPTS(.idempotency_key = "a\r\nX-Evil: 1"), .code = LB_ERR_INVALID,
     .msg = "dempotency"},
    {__LINE__, "create, idempotency key of 256", OP_CREATE,
     .create = OPTS(.idempotency_key =
                        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"),
     .code = LB_ERR_INVALID, .msg = "dempotency"},
    {__LINE__, "create, env entry without =", OP_CREATE, .create = OPTS(.env = env_noeq),
     .code = LB_ERR_INVALID, .msg = "env"},
    {__LINE__, "create, env key twice", OP_CREATE, .create = OPTS(.env = env_dup),
     .code = LB_ERR_INVALID, .msg = "env"},
    {__LINE__, "create, env bad key", OP_CREATE, .create = OPTS(.env = env_badkey),
     .code = LB_ERR_INVALID, .msg = "env"},
    {__LINE__, "create, env value not UTF-8", OP_CREATE, .create = OPTS(.env = env_badutf8),
     .code = LB_ERR_INVALID, .msg = "env"},
    {__LINE__, "create, image not UTF-8", OP_CREATE, .create = OPTS(.image = "ubuntu\xc3"),
     .code = LB_ERR_INVALID, .msg = "image"},
    {__LINE__, "create, provider not UTF-8", OP_CREATE, .create = OPTS(.provider = "\xff"),
     .code = LB_ERR_INVALID, .msg = "provider"},
    {__LINE__, "create, unknown opts version", OP_CREATE,
     .create = &(const lb_create_opts){.version = 999}, .code = LB_ERR_INVALID},
    {__LINE__, "create, opts version 0", OP_CREATE, .create = &(const lb_create_opts){.version = 0},
     .code = LB_ERR_INVALID},

    /* ---- get / attach ---- */
    {__LINE__, "get", OP_GET, .a = HOST_ID, .resp = R(200, CURRENT_GET_BODY), .method = "GET",
     .path = "/hosts/" HOST_ID, .code = LB_OK, .host = &want_current_get},
    {__LINE__, "get, first generation", OP_GET, .a = "h1", .resp = R(200, FIRST_GEN_BODY),
     .method = "GET", .path = "/hosts/h1", .code = LB_OK, .host = &want_first},
    {__LINE__, "get, chunked answer", OP_GET, .a = "h1",
     .resp = {.status = 200, .body = CURRENT_GET_BODY, .chunk_size = 7}, .method = "GET",
     .path = "/hosts/h1", .code = LB_OK, .host = &want_current_get},
    {__LINE__, "get, 404", OP_GET, .a = "h1", .resp = R(404, "{\"detail\":\"host not found\"}"),
     .method = "GET", .path = "/hosts/h1", .code = LB_ERR_NOT_FOUND, .msg = "host not found"},
    {__LINE__, "get, 401", OP_GET, .a = "h1",
     .resp = R(401, "{\"detail\":\"service token required\"}"), .method = "GET",
     .path = "/hosts/h1", .code = LB_ERR_AUTH, .msg = "service token required"},
    {__LINE__, "get, 403", OP_GET, .a = "h1",
     .resp = R(403, "{\"detail\":\"service token rejected\"}"), .method = "GET",
     .path = "/hosts/h1", .code = LB_ERR_AUTH, .msg = "service token rejected"},
    {__LINE__, "get, 429", OP_GET, .a = "h1", .resp = R(429, "{\"detail\":\"slow down\"}"),
     .method = "GET", .path = "/hosts/h1", .code = LB_ERR_UNAVAILABLE, .msg = "slow down"},
    {__LINE__, "get, 503", OP_GET, .a = "h1",
     .resp = R(503, "{\"detail\":\"database down\"}"), .method = "GET", .path = "/hosts/h1",
     .code = LB_ERR_UNAVAILABLE, .msg = "database down"},
    {__LINE__, "get, 504 HTML", OP_GET, .a = "h1",
     .resp = {.status = 504, .headers = "Content-Type: text/html\r\n",
              .body = "<html>Gateway Timeout</html>"},
     .method = "GET", .path = "/hosts/h1", .code = LB_ERR_UNAVAILABLE, .msg = "504"},
    {__LINE__, "get, 500 HTML", OP_GET, .a = "h1",
     .resp = {.status = 500, .headers = "Content-Type: text/html\r\n",
              .body = "<html>Internal Server Error</html>"},
     .method = "GET", .path = "/hosts/h1", .code = LB_ERR_RESPONSE, .msg = "500"},
    {__LINE__, "get, 200 HTML", OP_GET, .a = "h1",
     .resp = {.status = 200, .headers = "Content-Type: text/html\r\n",
              .body = "<html>login</html>"},
     .method = "GET", .path = "/hosts/h1", .code = LB_ERR_RESPONSE},
    {__LINE__, "get, string port", OP_GET, .a = "h1",
     .resp = R(200, "{\"id\":\"h1\",\"status\":\"active\",\"ssh_host\":\"h\",\"ssh_port\":\"22\"}"),
     .method = "GET", .path = "/hosts/h1", .code = LB_ERR_RESPONSE, .msg = "ssh_port"},
    {__LINE__, "get, 302 not followed", OP_GET, .a = "h1",
     .resp = {.status = 302, .headers = "Location: /api/hosts/other\r\n", .body = ""},
     .method = "GET", .path = "/hosts/h1", .code = LB_ERR_RESPONSE, .msg = "302"},
    {__LINE__, "get, 301 not followed", OP_GET, .a = "h1",
     .resp = {.status = 301, .headers = "Location: http://127.0.0.1:1/\r\n",
              .body = "{\"detail\":\"moved\"}"},
     .method = "GET", .path = "/hosts/h1", .code = LB_ERR_RESPONSE, .msg = "301"},
    {__LINE__, "get, id NULL", OP_GET, .a = NULL, .code = LB_ERR_INVALID, .msg = "id"},
    {__LINE__, "get, id \"\"", OP_GET, .a = "", .code = LB_ERR_INVALID, .msg = "id"},
    {__LINE__, "get, id with /", OP_GET, .a = "a/b", .code = LB_ERR_INVALID, .msg = "id"},
    {__LINE__, "get, id ..", OP_GET, .a = "..", .code = LB_ERR_INVALID, .msg = "id"},
    {__LINE__, "get, id with ?", OP_GET, .a = "a?b=c", .code = LB_ERR_INVALID, .msg = "id"},
    {__LINE__, "get, id with space", OP_GET, .a = "a b", .code = LB_ERR_INVALID, .msg = "id"},
    {__LINE__, "get, id with %", OP_GET, .a = "a%2F", .code = LB_ERR_INVALID, .msg = "id"},
    {__LINE__, "get, id with CRLF", OP_GET, .a = "a\r\nX: y", .code = LB_ERR_INVALID,
     .msg = "id"},
    {__LINE__, "attach", OP_ATTACH, .a = HOST_ID, .resp = R(200, CURRENT_GET_BODY),
     .method = "GET", .path = "/hosts/" HOST_ID, .code = LB_OK, .host = &want_current_get},
    {__LINE__, "attach, 404", OP_ATTACH, .a = "h1",
     .resp = R(404, "{\"detail\":\"host not found\"}"), .method = "GET", .path = "/hosts/h1",
     .code = LB_ERR_NOT_FOUND, .msg = "host not found"},
    {__LINE__, "attach, bad id", OP_ATTACH, .a = "x/y", .code = LB_ERR_INVALID, .msg = "id"},

    /* ---- list ---- */
    {__LINE__, "list", OP_LIST, .resp = R(200, "[" CURRENT_GET_BODY "," FIRST_GEN_BODY "]"),
     .method = "GET", .path = "/hosts", .code = LB_OK, .list_count = 2,
     .list = {&want_current_get, &want_first}},
    {__LINE__, "list, empty", OP_LIST, .resp = R(200, "[]"), .method = "GET", .path = "/hosts",
     .code = LB_OK, .list_count = 0},
    {__LINE__, "list, chunked", OP_LIST,
     .resp = {.status = 200, .body = "[" FIRST_GEN_BODY "," CURRENT_GET_BODY "]",
              .chunk_size = 13},
     .method = "GET", .path = "/hosts", .code = LB_OK, .list_count = 2,
     .list = {&want_first, &want_current_get}},
    {__LINE__, "list, bad record names its index", OP_LIST,
     .resp = R(200, "[" FIRST_GEN_BODY ",{\"id\":\"h2\",\"ssh_host\":\"h\",\"ssh_port\":22}]"),
     .method = "GET", .path = "/hosts", .code = LB_ERR_RESPONSE, .msg = "status"},
    {__LINE__, "list, object", OP_LIST, .resp = R(200, FIRST_GEN_BODY), .method = "GET",
     .path = "/hosts", .code = LB_ERR_RESPONSE},
    {__LINE__, "list, 401", OP_LIST, .resp = R(401, "{\"detail\":\"service token required\"}"),
     .method = "GET", .path = "/hosts", .code = LB_ERR_AUTH, .msg = "service token required"},

    /* ---- delete (docs/wire.md, Renew and delete) ---- */
    {__LINE__, "delete, 204", OP_DELETE, .a = HOST_ID, .resp = R(204, NULL), .method = "DELETE",
     .path = "/hosts/" HOST_ID, .code = LB_OK},
    {__LINE__, "delete, 200 empty", OP_DELETE, .a = "h1", .resp = R(200, NULL),
     .method = "DELETE", .path = "/hosts/h1", .code = LB_OK},
    {__LINE__, "delete, 200 with a body", OP_DELETE, .a = "h1",
     .resp = R(200, FIRST_GEN_BODY), .method = "DELETE", .path = "/hosts/h1", .code = LB_OK},
    {__LINE__, "delete, 409 while provisioning", OP_DELETE, .a = "h1",
     .resp = R(409, "{\"detail\":\"host is provisioning\",\"error_code\":\"HOST_STATE\"}"),
     .method = "DELETE", .path = "/hosts/h1", .code = LB_ERR_CONFLICT,
     .msg = "host is provisioning", .error_code = "HOST_STATE"},
    {__LINE__, "delete, 404", OP_DELETE, .a = "h1", .resp = R(404, "{\"detail\":\"host not found\"}"),
     .method = "DELETE", .path = "/hosts/h1", .code = LB_ERR_NOT_FOUND},
    {__LINE__, "delete, 503 teardown", OP_DELETE, .a = "h1",
     .resp = R(503, "{\"detail\":\"teardown failed\",\"error_code\":\"HOST_TEARDOWN\"}"),
     .method = "DELETE", .path = "/hosts/h1", .code = LB_ERR_UNAVAILABLE,
     .error_code = "HOST_TEARDOWN"},
    {__LINE__, "delete, bad id", OP_DELETE, .a = "h 1", .code = LB_ERR_INVALID, .msg = "id"},

    /* ---- renew ---- */
    {__LINE__, "renew, default lease", OP_RENEW, .a = "h1", .expires_at = 0,
     .resp = R(200, FIRST_GEN_BODY), .method = "POST", .path = "/hosts/h1/renew",
     .body_rule = B_JSON, .body = "{}", .code = LB_OK, .host = &want_first},
    {__LINE__, "renew, until a time", OP_RENEW, .a = "h1", .expires_at = 1906545600,
     .resp = R(200, FIRST_GEN_BODY), .method = "POST", .path = "/hosts/h1/renew",
     .body_rule = B_JSON, .body = "{\"expires_at\":\"2030-06-01T12:00:00+00:00\"}",
     .code = LB_OK, .host = &want_first},
    {__LINE__, "renew, until the year 9999", OP_RENEW, .a = "h1", .expires_at = 253402300799LL,
     .resp = R(200, FIRST_GEN_BODY), .method = "POST", .path = "/hosts/h1/renew",
     .body_rule = B_JSON, .body = "{\"expires_at\":\"9999-12-31T23:59:59+00:00\"}",
     .code = LB_OK, .host = &want_first},
    {__LINE__, "renew, 409", OP_RENEW, .a = "h1",
     .resp = R(409, "{\"detail\":\"host is not active\",\"error_code\":\"HOST_STATE\"}"),
     .method = "POST", .path = "/hosts/h1/renew", .body_rule = B_JSON, .body = "{}",
     .code = LB_ERR_CONFLICT, .msg = "host is not active", .error_code = "HOST_STATE"},
    {__LINE__, "renew, never is refused", OP_RENEW, .a = "h1", .expires_at = LB_EXPIRES_NEVER,
     .code = LB_ERR_INVALID, .msg = "expires_at"},
    {__LINE__, "renew, negative", OP_RENEW, .a = "h1", .expires_at = -5,
     .code = LB_ERR_INVALID, .msg = "expires_at"},
    {__LINE__, "renew, bad id", OP_RENEW, .a = "", .code = LB_ERR_INVALID, .msg = "id"},

    /* ---- health: no token ---- */
    {__LINE__, "health", OP_HEALTH, .resp = R(200, "{\"status\":\"ok\"}"), .method = "GET",
     .path = "/healthz", .code = LB_OK},
    {__LINE__, "health, degraded", OP_HEALTH, .resp = R(200, "{\"status\":\"degraded\"}"),
     .method = "GET", .path = "/healthz", .code = LB_ERR_RESPONSE},
    {__LINE__, "health, 503", OP_HEALTH, .resp = R(503, "{\"detail\":\"down\"}"),
     .method = "GET", .path = "/healthz", .code = LB_ERR_UNAVAILABLE, .msg = "down"},

    /* ---- doctor ---- */
    {__LINE__, "doctor", OP_DOCTOR, .resp = R(200, DOCTOR_BODY), .method = "GET",
     .path = "/doctor", .code = LB_OK},
    {__LINE__, "doctor, not JSON", OP_DOCTOR, .resp = R(200, "ok"), .method = "GET",
     .path = "/doctor", .code = LB_ERR_RESPONSE},

    /* ---- HTTP proxies ---- */
    {__LINE__, "proxy create", OP_PROXY_CREATE, .a = "web", .b = "https://origin.example",
     .headers = hdr_one, .resp = R(201, "{\"name\":\"web\",\"status\":\"created\"}"),
     .method = "POST", .path = "/http-proxies", .body_rule = B_JSON,
     .body = "{\"name\":\"web\",\"target\":\"https://origin.example\","
             "\"headers\":{\"X-Api-Key\":\"k1\"}}",
     .code = LB_OK, .proxy = {"web", NULL, "created"}},
    {__LINE__, "proxy create, two headers", OP_PROXY_CREATE, .a = "api.v2",
     .b = "http://10.0.0.5:8080", .headers = hdr_two,
     .resp = R(201, "{\"name\":\"api.v2\",\"status\":\"created\"}"), .method = "POST",
     .path = "/http-proxies", .body_rule = B_JSON,
     .body = "{\"name\":\"api.v2\",\"target\":\"http://10.0.0.5:8080\","
             "\"headers\":{\"Authorization\":\"Bearer abc def\",\"X-Trace\":\"1\"}}",
     .code = LB_OK, .proxy = {"api.v2", NULL, "created"}},
    {__LINE__, "proxy create, a colon inside the value", OP_PROXY_CREATE, .a = "web",
     .b = "https://origin.example", .headers = hdr_colon_value,
     .resp = R(201, "{\"name\":\"web\",\"status\":\"created\"}"), .method = "POST",
     .path = "/http-proxies", .body_rule = B_JSON,
     .body = "{\"name\":\"web\",\"target\":\"https://origin.example\","
             "\"headers\":{\"X-Url\":\"https://a.example:8443/x\"}}",
     .code = LB_OK, .proxy = {"web", NULL, "created"}},
    {__LINE__, "proxy create, target is the service's to judge", OP_PROXY_CREATE, .a = "web",
     .b = "ftp://x.example/path?q", .headers = hdr_one,
     .resp = R(422, "{\"detail\":[{\"loc\":[\"body\",\"target\"],\"msg\":\"bad origin\"}]}"),
     .method = "POST", .path = "/http-proxies", .body_rule = B_JSON,
     .body = "{\"name\":\"web\",\"target\":\"ftp://x.example/path?q\","
             "\"headers\":{\"X-Api-Key\":\"k1\"}}",
     .code = LB_ERR_VALIDATION, .msg = "body.target: bad origin"},
    {__LINE__, "proxy create, unsupported", OP_PROXY_CREATE, .a = "web",
     .b = "https://origin.example", .headers = hdr_one,
     .resp = R(501, "{\"detail\":\"no proxies here\",\"error_code\":\"HTTP_PROXY_UNSUPPORTED\"}"),
     .method = "POST", .path = "/http-proxies", .body_rule = B_JSON,
     .body = "{\"name\":\"web\",\"target\":\"https://origin.example\","
             "\"headers\":{\"X-Api-Key\":\"k1\"}}",
     .code = LB_ERR_RESPONSE, .msg = "no proxies here", .error_code = "HTTP_PROXY_UNSUPPORTED"},
    {__LINE__, "proxy create, exists", OP_PROXY_CREATE, .a = "web",
     .b = "https://origin.example", .headers = hdr_one,
     .resp = R(409, "{\"detail\":\"exists\",\"error_code\":\"HTTP_PROXY_EXISTS\"}"),
     .method = "POST", .path = "/http-proxies", .body_rule = B_JSON,
     .body = "{\"name\":\"web\",\"target\":\"https://origin.example\","
             "\"headers\":{\"X-Api-Key\":\"k1\"}}",
     .code = LB_ERR_CONFLICT, .error_code = "HTTP_PROXY_EXISTS"},
    {__LINE__, "proxy create, bad name", OP_PROXY_CREATE, .a = "-web",
     .b = "https://origin.example", .headers = hdr_one, .code = LB_ERR_INVALID, .msg = "name"},
    {__LINE__, "proxy create, name with /", OP_PROXY_CREATE, .a = "a/b",
     .b = "https://origin.example", .headers = hdr_one, .code = LB_ERR_INVALID, .msg = "name"},
    {__LINE__, "proxy create, bad header", OP_PROXY_CREATE, .a = "web",
     .b = "https://origin.example", .headers = hdr_bad, .code = LB_ERR_INVALID,
     .msg = "header"},
    {__LINE__, "proxy create, target not UTF-8", OP_PROXY_CREATE, .a = "web",
     .b = "https://\xff.example", .headers = hdr_one, .code = LB_ERR_INVALID, .msg = "target"},
    {__LINE__, "proxy delete", OP_PROXY_DELETE, .a = "web", .resp = R(204, NULL),
     .method = "DELETE", .path = "/http-proxies/web", .code = LB_OK},
    {__LINE__, "proxy delete, 404", OP_PROXY_DELETE, .a = "web",
     .resp = R(404, "{\"detail\":\"no such proxy\"}"), .method = "DELETE",
     .path = "/http-proxies/web", .code = LB_ERR_NOT_FOUND, .msg = "no such proxy"},
    {__LINE__, "proxy delete, bad name", OP_PROXY_DELETE, .a = "", .code = LB_ERR_INVALID,
     .msg = "name"},
    {__LINE__, "proxy attach", OP_PROXY_ATTACH, .a = "web", .b = HOST_ID,
     .resp = R(200, "{\"name\":\"web\",\"host_id\":\"" HOST_ID "\",\"status\":\"attached\"}"),
     .method = "POST", .path = "/http-proxies/web/hosts/" HOST_ID, .body_rule = B_OPTIONAL,
     .code = LB_OK, .proxy = {"web", HOST_ID, "attached"}},
    {__LINE__, "proxy attach, dotted name", OP_PROXY_ATTACH, .a = "api.v2_x-1", .b = "h_1-A",
     .resp = R(200, "{\"name\":\"api.v2_x-1\",\"host_id\":\"h_1-A\",\"status\":\"attached\"}"),
     .method = "POST", .path = "/http-proxies/api.v2_x-1/hosts/h_1-A", .body_rule = B_OPTIONAL,
     .code = LB_OK, .proxy = {"api.v2_x-1", "h_1-A", "attached"}},
    {__LINE__, "proxy attach, host not active", OP_PROXY_ATTACH, .a = "web", .b = "h1",
     .resp = R(409, "{\"detail\":\"host is not active\",\"error_code\":\"HOST_STATE\"}"),
     .method = "POST", .path = "/http-proxies/web/hosts/h1", .body_rule = B_OPTIONAL,
     .code = LB_ERR_CONFLICT, .error_code = "HOST_STATE"},
    {__LINE__, "proxy attach, bad host id", OP_PROXY_ATTACH, .a = "web", .b = "h/1",
     .code = LB_ERR_INVALID, .msg = "id"},
    {__LINE__, "proxy attach, bad name", OP_PROXY_ATTACH, .a = "we b", .b = "h1",
     .code = LB_ERR_INVALID, .msg = "name"},
    {__LINE__, "proxy detach", OP_PROXY_DETACH, .a = "web", .b = "h1", .resp = R(204, NULL),
     .method = "DELETE", .path = "/http-proxies/web/hosts/h1", .code = LB_OK},
    {__LINE__, "proxy detach, 503", OP_PROXY_DETACH, .a = "web", .b = "h1",
     .resp = R(503, "{\"detail\":\"proxy backend down\",\"error_code\":\"HTTP_PROXY\"}"),
     .method = "DELETE", .path = "/http-proxies/web/hosts/h1", .code = LB_ERR_UNAVAILABLE,
     .error_code = "HTTP_PROXY"},
    {__LINE__, "proxy detach, bad host id", OP_PROXY_DETACH, .a = "web", .b = NULL,
     .code = LB_ERR_INVALID, .msg = "id"},

    /* ---- the token never reaches a message (docs/api.md, Secrets) ---- */
    {__LINE__, "token echoed in a detail", OP_GET, .a = "h1",
     .resp = R(403, "{\"detail\":\"token " TOKEN " rejected\"}"), .method = "GET",
     .path = "/hosts/h1", .code = LB_ERR_AUTH, .msg = "token *** rejected"},
    {__LINE__, "token echoed in an HTML page", OP_LIST,
     .resp = {.status = 500, .headers = "Content-Type: text/html\r\n",
              .body = "<html>Bearer " TOKEN "</html>"},
     .method = "GET", .path = "/hosts", .code = LB_ERR_RESPONSE, .msg = "***"},
    {__LINE__, "token echoed in a 422 list", OP_CREATE,
     .resp = R(422, "{\"detail\":[{\"loc\":[\"header\"],\"msg\":\"" TOKEN "\"}]}"),
     .method = "POST", .path = "/hosts", .body_rule = B_JSON, .body = "{}",
     .code = LB_ERR_VALIDATION, .msg = "header: ***"},
};

/* ---- the runner ---- */

typedef struct outcome {
    lb_code code;
    lb_host *host;
    lb_host_list *list;
    lb_doctor_report *doctor;
    lb_proxy *proxy;
} outcome;

static lb_code perform(lb_client *cl, const call_case *c, outcome *o, lb_error *err)
{
    o->host = OUT_SENTINEL;
    o->list = OUT_SENTINEL;
    o->doctor = OUT_SENTINEL;
    o->proxy = OUT_SENTINEL;
    switch (c->op) {
    case OP_CREATE: return lb_create_host(cl, c->create, &o->host, err);
    case OP_GET: return lb_get_host(cl, c->a, &o->host, err);
    case OP_ATTACH: return lb_attach_host(cl, c->a, &o->host, err);
    case OP_LIST: return lb_list_hosts(cl, &o->list, err);
    case OP_DELETE: return lb_delete_host(cl, c->a, err);
    case OP_RENEW: return lb_renew_host(cl, c->a, c->expires_at, &o->host, err);
    case OP_HEALTH: return lb_health(cl, err);
    case OP_DOCTOR: return lb_doctor(cl, &o->doctor, err);
    case OP_PROXY_CREATE: return lb_create_proxy(cl, c->a, c->b, c->headers, &o->proxy, err);
    case OP_PROXY_DELETE: return lb_delete_proxy(cl, c->a, err);
    case OP_PROXY_ATTACH: return lb_attach_proxy(cl, c->a, c->b, &o->proxy, err);
    case OP_PROXY_DETACH: return lb_detach_proxy(cl, c->a, c->b, err);
    }
    return LB_ERR_INVALID;
}

/* The non-blocking form of the same call, driven by the library's own loop
 * (lb_client_run) until its one callback has fired. */
typedef struct async_done {
    int fired;
    lb_code code;
    int had_error;
    lb_error error;
    outcome *o;
} async_done;

static void on_done(lb_call *call, const lb_result *r, void *userdata)
{
    async_done *d = userdata;
    (void)call;
    d->fired++;
    d->code = r->code;
    d->had_error = r->error != NULL;
    if (r->error)
        d->error = *r->error;
    /* the callback owns the results: hand them to the checks */
    d->o->host = r->host;
    d->o->list = r->list;
    d->o->doctor = r->doctor;
    d->o->proxy = r->proxy;
}

static lb_code perform_async(lb_client *cl, const call_case *c, outcome *o, lb_error *err)
{
    o->host = OUT_SENTINEL;
    o->list = OUT_SENTINEL;
    o->doctor = OUT_SENTINEL;
    o->proxy = OUT_SENTINEL;
    async_done d = {.o = o};
    lb_call *call = NULL;
    switch (c->op) {
    case OP_CREATE: call = lb_create_host_async(cl, c->create, on_done, &d, err); break;
    case OP_GET: call = lb_get_host_async(cl, c->a, on_done, &d, err); break;
    case OP_ATTACH: call = lb_attach_host_async(cl, c->a, on_done, &d, err); break;
    case OP_LIST: call = lb_list_hosts_async(cl, on_done, &d, err); break;
    case OP_DELETE: call = lb_delete_host_async(cl, c->a, on_done, &d, err); break;
    case OP_RENEW:
        call = lb_renew_host_async(cl, c->a, c->expires_at, on_done, &d, err);
        break;
    case OP_HEALTH: call = lb_health_async(cl, on_done, &d, err); break;
    case OP_DOCTOR: call = lb_doctor_async(cl, on_done, &d, err); break;
    case OP_PROXY_CREATE:
        call = lb_create_proxy_async(cl, c->a, c->b, c->headers, on_done, &d, err);
        break;
    case OP_PROXY_DELETE: call = lb_delete_proxy_async(cl, c->a, on_done, &d, err); break;
    case OP_PROXY_ATTACH:
        call = lb_attach_proxy_async(cl, c->a, c->b, on_done, &d, err);
        break;
    case OP_PROXY_DETACH:
        call = lb_detach_proxy_async(cl, c->a, c->b, on_done, &d, err);
        break;
    }
    if (!call) {
        /* refused at the start: never fires, out params as a failure */
        CHECK_EQ_INT(lb_client_run(cl, 5, NULL, NULL), LB_OK);
        CHECK_EQ_INT(d.fired, 0);
        o->host = NULL;
        o->list = NULL;
        o->doctor = NULL;
        o->proxy = NULL;
        return err ? err->code : LB_ERR_INVALID;
    }
    lb_error run_err;
    CHECK_EQ_INT(lb_client_run(cl, 30, NULL, &run_err), LB_OK);
    CHECK_EQ_INT(lb_client_pending(cl), 0);
    if (!CHECK_EQ_INT(d.fired, 1))
        return LB_ERR_NOMEM; /* never matches a row */
    if (d.code == LB_OK) {
        CHECK(!d.had_error);
    } else {
        if (CHECK(d.had_error) && err)
            *err = d.error;
        CHECK_EQ_INT(d.error.code, d.code);
        /* a failed call hands no result */
        CHECK(o->host == NULL && o->list == NULL && o->doctor == NULL && o->proxy == NULL);
    }
    /* results the call does not produce are NULL */
    if (o->host == NULL)
        o->host = OUT_SENTINEL;
    if (o->list == NULL)
        o->list = OUT_SENTINEL;
    if (o->doctor == NULL)
        o->doctor = OUT_SENTINEL;
    if (o->proxy == NULL)
        o->proxy = OUT_SENTINEL;
    if (d.code != LB_OK) {
        o->host = NULL;
        o->list = NULL;
        o->doctor = NULL;
        o->proxy = NULL;
    }
    return d.code;
}

static int has_host_out(op o)
{
    return o == OP_CREATE || o == OP_GET || o == OP_ATTACH || o == OP_RENEW;
}

/* Free whatever a call produced; sentinels are never freed. */
static void release(outcome *o)
{
    if (o->host != OUT_SENTINEL)
        lb_host_free(o->host);
    if (o->list != OUT_SENTINEL)
        lb_host_list_free(o->list);
    if (o->doctor != OUT_SENTINEL)
        lb_doctor_report_free(o->doctor);
    if (o->proxy != OUT_SENTINEL)
        lb_proxy_free(o->proxy);
}

static void check_request(fake_server *fs, const call_case *c, const char *prefix)
{
    size_t n = fs_request_count(fs);
    if (!c->method) {
        if (!CHECK_EQ_INT(n, 0))
            CHECK_FAIL("sent %s %s although the arguments were refused",
                       fs_request_at(fs, 0)->method, fs_request_at(fs, 0)->target);
        return;
    }
    if (!CHECK_EQ_INT(n, 1) || n == 0)
        return;
    const fs_request *r = fs_request_at(fs, 0);
    char path[2048];
    snprintf(path, sizeof path, "%s%s", prefix, c->path);
    CHECK_EQ_STR(r->method, c->method);
    CHECK_EQ_STR(r->target, path);
    check_common_headers(r, c->op != OP_HEALTH, NULL);
    if (c->idem)
        CHECK_EQ_STR(fs_header(r, "Idempotency-Key"), c->idem);
    else
        CHECK(fs_header(r, "Idempotency-Key") == NULL);
    switch (c->body_rule) {
    case B_NONE:
        if (!CHECK_EQ_INT(r->body_len, 0))
            CHECK_FAIL("unexpected body %s", r->body);
        break;
    case B_JSON: CHECK_JSON(r->body, r->body_len, c->body); break;
    case B_OPTIONAL:
        if (r->body_len > 0)
            CHECK_JSON(r->body, r->body_len, "{}");
        break;
    }
}

static void check_result(const call_case *c, outcome *o)
{
    switch (c->op) {
    case OP_CREATE:
    case OP_GET:
    case OP_ATTACH:
    case OP_RENEW:
        if (!CHECK(o->host != NULL && o->host != OUT_SENTINEL)) {
            o->host = OUT_SENTINEL;
            return;
        }
        if (c->host)
            check_host(o->host, c->host);
        break;
    case OP_LIST:
        if (!CHECK(o->list != NULL && o->list != OUT_SENTINEL)) {
            o->list = OUT_SENTINEL;
            return;
        }
        if (CHECK_EQ_INT(o->list->count, c->list_count))
            for (size_t i = 0; i < c->list_count && i < 2; i++)
                if (c->list[i])
                    check_host(o->list->hosts[i], c->list[i]);
        break;
    case OP_DOCTOR:
        if (!CHECK(o->doctor != NULL && o->doctor != OUT_SENTINEL)) {
            o->doctor = OUT_SENTINEL;
            return;
        }
        CHECK_EQ_INT(o->doctor->ok, 0);
        CHECK_EQ_STR(o->doctor->active_provider, "hetzner");
        CHECK_EQ_INT(o->doctor->tailscale_enabled, 1);
        if (CHECK_EQ_INT(o->doctor->check_count, 2)) {
            CHECK_EQ_STR(o->doctor->checks[0]->name, "database");
            CHECK_EQ_INT(o->doctor->checks[0]->latency_ms, 3);
            CHECK_EQ_STR(o->doctor->checks[0]->detail, NULL);
            CHECK_EQ_STR(o->doctor->checks[1]->status, "error");
            CHECK_EQ_INT(o->doctor->checks[1]->latency_ms, -1);
            CHECK_EQ_STR(o->doctor->checks[1]->hint, "check the token");
        }
        break;
    case OP_PROXY_CREATE:
    case OP_PROXY_ATTACH:
        if (!CHECK(o->proxy != NULL && o->proxy != OUT_SENTINEL)) {
            o->proxy = OUT_SENTINEL;
            return;
        }
        CHECK_EQ_STR(o->proxy->name, c->proxy[0]);
        CHECK_EQ_STR(o->proxy->host_id, c->proxy[1]);
        CHECK_EQ_STR(o->proxy->status, c->proxy[2]);
        break;
    default: break;
    }
}

static void run_case(fake_server *fs, lb_client *cl, const char *prefix, const call_case *c,
                     int async)
{
    check_set_case("%s (line %d)%s", c->name, c->line, async ? ", async" : "");
    fs_reset(fs);
    if (c->resp.status)
        fs_push(fs, &c->resp);

    lb_error err;
    err_sentinel(&err);
    outcome o;
    lb_code rc = async ? perform_async(cl, c, &o, &err) : perform(cl, c, &o, &err);
    CHECK_EQ_INT(rc, c->code);
    check_request(fs, c, prefix);

    if (rc == LB_OK) {
        if (!CHECK(err_is_sentinel(&err)))
            CHECK_FAIL("err was written on success");
        if (c->code == LB_OK)
            check_result(c, &o);
    } else {
        /* out params NULL on failure */
        if (has_host_out(c->op)) {
            CHECK(o.host == NULL);
        } else if (c->op == OP_LIST) {
            CHECK(o.list == NULL);
        } else if (c->op == OP_DOCTOR) {
            CHECK(o.doctor == NULL);
        } else if (c->op == OP_PROXY_CREATE || c->op == OP_PROXY_ATTACH) {
            CHECK(o.proxy == NULL);
        }
        CHECK_EQ_INT(err.code, rc);
        int want_status = c->http_status ? c->http_status
                          : c->code == LB_ERR_INVALID ? 0
                                                      : c->resp.status;
        CHECK_EQ_INT(err.http_status, want_status);
        if (CHECK(memchr(err.message, '\0', sizeof err.message) != NULL)) {
            CHECK(err.message[0] != '\0');
            if (c->msg)
                CHECK_CONTAINS(err.message, c->msg);
            CHECK_LACKS(err.message, TOKEN);
            CHECK_LACKS(err.message, "SECRET");
        }
        if (CHECK(memchr(err.error_code, '\0', sizeof err.error_code) != NULL))
            CHECK_EQ_STR(err.error_code, c->error_code ? c->error_code : "");
    }
    /* free what was not a sentinel; a NULL left by a failure is fine too */
    if (o.host == NULL)
        o.host = OUT_SENTINEL;
    if (o.list == NULL)
        o.list = OUT_SENTINEL;
    if (o.doctor == NULL)
        o.doctor = OUT_SENTINEL;
    if (o.proxy == NULL)
        o.proxy = OUT_SENTINEL;
    release(&o);

    /* again with err NULL: same code, nothing crashes */
    check_set_case("%s (line %d)%s, err NULL", c->name, c->line, async ? ", async" : "");
    fs_reset(fs);
    if (c->resp.status)
        fs_push(fs, &c->resp);
    rc = async ? perform_async(cl, c, &o, NULL) : perform(cl, c, &o, NULL);
    CHECK_EQ_INT(rc, c->code);
    if (o.host == NULL)
        o.host = OUT_SENTINEL;
    if (o.list == NULL)
        o.list = OUT_SENTINEL;
    if (o.doctor == NULL)
        o.doctor = OUT_SENTINEL;
    if (o.proxy == NULL)
        o.proxy = OUT_SENTINEL;
    release(&o);
}

/* ---- beyond one request ---- */

static void test_attach_is_not_cached(fake_server *fs, lb_client *cl)
{
    check_set_case("attach twice: two requests");
    fs_reset(fs);
    fs_push_json(fs, 200, FIRST_GEN_BODY);
    fs_push_json(fs, 200, CURRENT_GET_BODY);
    lb_host *h1 = NULL, *h2 = NULL;
    CHECK_EQ_INT(lb_attach_host(cl, "h1", &h1, NULL), LB_OK);
    CHECK_EQ_INT(lb_attach_host(cl, "h1", &h2, NULL), LB_OK);
    CHECK_EQ_INT(fs_request_count(fs), 2);
    if (h1 && h2) {
        check_host(h1, &want_first);
        check_host(h2, &want_current_get);
    }
    lb_host_free(h1);
    lb_host_free(h2);

    check_set_case("get then attach: two requests");
    fs_reset(fs);
    fs_push_json(fs, 200, FIRST_GEN_BODY);
    fs_push_json(fs, 404, "{\"detail\":\"host not found\"}");
    h1 = NULL;
    h2 = OUT_SENTINEL;
    CHECK_EQ_INT(lb_get_host(cl, "h1", &h1, NULL), LB_OK);
    CHECK_EQ_INT(lb_attach_host(cl, "h1", &h2, NULL), LB_ERR_NOT_FOUND);
    CHECK(h2 == NULL);
    CHECK_EQ_INT(fs_request_count(fs), 2);
    lb_host_free(h1);
}

/* Base URLs with and without a prefix and a trailing slash. */
static void test_base_urls(fake_server *fs)
{
    static const struct {
        const char *suffix, *want;
    } rows[] = {
        {"", "/hosts/h1"},
        {"/", "/hosts/h1"},
        {"/api", "/api/hosts/h1"},
        {"/api/", "/api/hosts/h1"},
        {"/v1/litterbox", "/v1/litterbox/hosts/h1"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_set_case("base URL %s%s", fs_url(fs), rows[i].suffix);
        fs_reset(fs);
        fs_push_json(fs, 200, FIRST_GEN_BODY);
        lb_client *cl = client_for(fs, rows[i].suffix, NULL);
        lb_host *h = NULL;
        CHECK_EQ_INT(lb_get_host(cl, "h1", &h, NULL), LB_OK);
        if (CHECK_EQ_INT(fs_request_count(fs), 1))
            CHECK_EQ_STR(fs_request_at(fs, 0)->target, rows[i].want);
        lb_host_free(h);
        fs_reset(fs);
        fs_push_json(fs, 200, "{\"status\":\"ok\"}");
        CHECK_EQ_INT(lb_health(cl, NULL), LB_OK);
        if (CHECK_EQ_INT(fs_request_count(fs), 1)) {
            char want[256];
            snprintf(want, sizeof want, "%.*shealthz",
                     (int)(strlen(rows[i].want) - strlen("hosts/h1")), rows[i].want);
            CHECK_EQ_STR(fs_request_at(fs, 0)->target, want);
        }
        lb_client_close(cl);
    }
}

int main(void)
{
    fake_server *fs = fs_start();
    if (!fs)
        return 1;
    lb_client *cl = client_for(fs, "/api", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(fs, cl, "/api", &cases[i], 0);
    /* the same table through the non-blocking API, on a client of its own */
    lb_client *acl = client_for(fs, "/api", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(fs, acl, "/api", &cases[i], 1);
    lb_client_close(acl);
    test_attach_is_not_cached(fs, cl);
    lb_client_close(cl);
    test_base_urls(fs);
    fs_stop(fs);
    check_set_case("%s", "");
    return check_summary();
}
