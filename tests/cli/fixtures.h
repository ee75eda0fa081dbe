/* Canned service answers for the CLI tests, and what the CLI must print
 * for them. */
#ifndef LB_TEST_CLI_FIXTURES_H
#define LB_TEST_CLI_FIXTURES_H

#define TOKEN "tok-SECRET-7f3a9c"
#define FILE_TOKEN "file-token-Q8w2e4"

#define ID1 "6f1c2a4e-0000-4000-8000-000000000001"
#define ID2 "6f1c2a4e-0000-4000-8000-000000000002"
#define ID3 "6f1c2a4e-0000-4000-8000-000000000003"

#define PRIVATE_KEY                                                                                \
    "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\\n"                     \
    "-----END OPENSSH PRIVATE KEY-----\\n"
#define PRIVATE_KEY_TEXT                                                                           \
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n"                       \
    "-----END OPENSSH PRIVATE KEY-----\n"

#define KNOWN_HOSTS_WIRE                                                                           \
    "[203.0.113.7]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1\\n"                               \
    "[203.0.113.7]:2222 ecdsa-sha2-nistp256 AAAAE2VjZHNh\\n"
#define KNOWN_HOSTS_TEXT                                                                           \
    "[203.0.113.7]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1\n"                                \
    "[203.0.113.7]:2222 ecdsa-sha2-nistp256 AAAAE2VjZHNh\n"

/* The current wire generation, every field set. EXTRA goes before the
 * closing brace (e.g. a private key). */
#define HOST_V2_WITH(EXTRA)                                                                        \
    "{\"id\":\"" ID1 "\",\"name\":\"sb-0123456789ab\",\"status\":\"active\","                      \
    "\"provider\":\"hetzner\",\"image\":\"ubuntu-24.04\",\"external_ssh_host\":\"203.0.113.7\","   \
    "\"external_ssh_port\":2222,\"ssh_username\":\"sandbox\","                                     \
    "\"internal_ssh_host\":\"sb-0123456789ab.tail.ts.net\",\"known_hosts\":\"" KNOWN_HOSTS_WIRE    \
    "\",\"tailscale_device_id\":null,\"instance_type\":\"cx33\",\"disk_gb\":40,"                   \
    "\"last_error\":\"\",\"created_at\":\"2030-01-01T00:00:00Z\","                                 \
    "\"updated_at\":\"2030-01-01T00:00:30Z\",\"activated_at\":\"2030-01-01T00:00:30Z\","           \
    "\"expires_at\":\"2030-01-02T00:00:00Z\"" EXTRA "}"
#define HOST_V2 HOST_V2_WITH("")
#define HOST_V2_KEY HOST_V2_WITH(",\"private_key\":\"" PRIVATE_KEY "\"")

/* What --json prints for HOST_V2: docs/cli.md's keys, in its order. */
#define HOST_V2_JSON_WITH(KEY)                                                                     \
    "{\"id\":\"" ID1 "\",\"name\":\"sb-0123456789ab\",\"status\":\"active\","                      \
    "\"provider\":\"hetzner\",\"image\":\"ubuntu-24.04\",\"ssh_host\":\"203.0.113.7\","            \
    "\"ssh_port\":2222,\"ssh_username\":\"sandbox\","                                              \
    "\"internal_ssh_host\":\"sb-0123456789ab.tail.ts.net\",\"known_hosts\":\"" KNOWN_HOSTS_WIRE    \
    "\",\"private_key\":" KEY ",\"tailscale_device_id\":null,\"instance_type\":\"cx33\","          \
    "\"disk_gb\":40,\"last_error\":\"\",\"created_at\":\"2030-01-01T00:00:00Z\","                  \
    "\"updated_at\":\"2030-01-01T00:00:30Z\",\"activated_at\":\"2030-01-01T00:00:30Z\","           \
    "\"expires_at\":\"2030-01-02T00:00:00Z\"}"
#define HOST_V2_JSON HOST_V2_JSON_WITH("null")

/* Human output says how far a time is from now; the test expands
 * "@REL<unix time>" to that text when it runs (see expand() in test_cli.c). */
#define REL_EXPIRES "@REL1893542400"

/* What people see for HOST_V2. */
#define HOST_V2_HUMAN_WITH(KEY_LINE)                                                               \
    "id:                  " ID1 "\n"                                                               \
    "name:                sb-0123456789ab\n"                                                       \
    "status:              active\n"                                                                \
    "provider:            hetzner\n"                                                               \
    "image:               ubuntu-24.04\n"                                                          \
    "ssh_host:            203.0.113.7\n"                                                           \
    "ssh_port:            2222\n"                                                                  \
    "ssh_username:        sandbox\n"                                                               \
    "internal_ssh_host:   sb-0123456789ab.tail.ts.net\n"                                           \
    "known_hosts:         [203.0.113.7]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1\n"           \
    "                     [203.0.113.7]:2222 ecdsa-sha2-nistp256 AAAAE2VjZHNh\n"                   \
    "private_key:         " KEY_LINE "\n"                                                          \
    "tailscale_device_id: -\n"                                                                     \
    "instance_type:       cx33\n"                                                                  \
    "disk_gb:             40\n"                                                                    \
    "last_error:          -\n"                                                                     \
    "created_at:          2030-01-01 00:00:00 UTC\n"                                               \
    "updated_at:          2030-01-01 00:00:30 UTC\n"                                               \
    "activated_at:        2030-01-01 00:00:30 UTC\n"                                               \
    "expires_at:          2030-01-02 00:00:00 UTC (" REL_EXPIRES ")\n"
#define HOST_V2_HUMAN HOST_V2_HUMAN_WITH("-")

/* The first wire generation: ssh_host/ssh_port, none of the newer fields,
 * a permanent host. */
#define HOST_V1                                                                                    \
    "{\"id\":\"" ID2 "\",\"name\":\"sb-aaaaaaaaaaaa\",\"status\":\"active\","                      \
    "\"provider\":\"incus\",\"image\":\"debian-12\",\"ssh_host\":\"198.51.100.4\","                \
    "\"ssh_port\":22,\"known_hosts\":\"198.51.100.4 ssh-ed25519 AAAAv1\","                         \
    "\"tailscale_device_id\":\"dev-77\",\"last_error\":\"\","                                      \
    "\"created_at\":\"2030-01-01T00:00:00Z\",\"updated_at\":\"2030-01-01T00:00:09Z\","             \
    "\"activated_at\":null,\"expires_at\":null}"

/* Reachable only over the tailnet: the SSH host is empty. */
#define HOST_INTERNAL                                                                              \
    "{\"id\":\"" ID3 "\",\"name\":\"sb-bbbbbbbbbbbb\",\"status\":\"bootstrapping\","               \
    "\"provider\":\"hetzner\",\"image\":\"ubuntu-24.04\",\"external_ssh_host\":\"\","              \
    "\"external_ssh_port\":22,\"ssh_username\":\"\","                                              \
    "\"internal_ssh_host\":\"sb-bbbbbbbbbbbb.tail.ts.net\","                                       \
    "\"known_hosts\":\"sb-bbbbbbbbbbbb.tail.ts.net ssh-ed25519 AAAAin\","                          \
    "\"tailscale_device_id\":\"dev-9\",\"instance_type\":null,\"disk_gb\":null,"                   \
    "\"last_error\":\"\",\"created_at\":\"2030-01-01T00:00:00Z\","                                 \
    "\"updated_at\":\"2030-01-01T00:00:09Z\",\"activated_at\":null,\"expires_at\":null}"

/* A host whose name would smuggle a directive into an SSH config. */
#define HOST_EVIL_NAME                                                                             \
    "{\"id\":\"" ID1 "\",\"name\":\"sb-x\\n    ProxyCommand touch pwned\",\"status\":\"active\","  \
    "\"provider\":\"p\",\"image\":\"i\",\"ssh_host\":\"203.0.113.7\",\"ssh_port\":22,"             \
    "\"known_hosts\":\"203.0.113.7 ssh-ed25519 AAAA\",\"last_error\":\"\","                        \
    "\"created_at\":\"2030-01-01T00:00:00Z\",\"updated_at\":\"2030-01-01T00:00:00Z\"}"

/* A host whose name, used as the default known_hosts file name, would
 * leave the current folder. */
#define HOST_DOTDOT_NAME                                                                           \
    "{\"id\":\"" ID1 "\",\"name\":\"../escaped\",\"status\":\"active\","                           \
    "\"provider\":\"p\",\"image\":\"i\",\"ssh_host\":\"203.0.113.7\",\"ssh_port\":22,"             \
    "\"known_hosts\":\"203.0.113.7 ssh-ed25519 AAAA\",\"last_error\":\"\","                        \
    "\"created_at\":\"2030-01-01T00:00:00Z\",\"updated_at\":\"2030-01-01T00:00:00Z\"}"

/* The service echoing the token back inside a host field. */
#define HOST_ECHOING_TOKEN                                                                         \
    "{\"id\":\"" ID1 "\",\"name\":\"sb-0123456789ab\",\"status\":\"error\","                       \
    "\"provider\":\"p\",\"image\":\"i\",\"ssh_host\":\"203.0.113.7\",\"ssh_port\":22,"             \
    "\"known_hosts\":\"\",\"last_error\":\"auth with " TOKEN " failed\","                          \
    "\"created_at\":\"2030-01-01T00:00:00Z\",\"updated_at\":\"2030-01-01T00:00:00Z\"}"

/* Created long ago, for list --older-than. */
#define HOST_OLD                                                                                   \
    "{\"id\":\"" ID3 "\",\"name\":\"sb-cccccccccccc\",\"status\":\"active\","                      \
    "\"provider\":\"p\",\"image\":\"i\",\"ssh_host\":\"203.0.113.9\",\"ssh_port\":22,"             \
    "\"known_hosts\":\"203.0.113.9 ssh-ed25519 AAAA\",\"last_error\":\"\","                        \
    "\"created_at\":\"2020-01-01T00:00:00Z\",\"updated_at\":\"2020-01-01T00:00:00Z\"}"

#define DOCTOR_OK                                                                                  \
    "{\"ok\":true,\"active_provider\":\"hetzner\",\"tailscale_enabled\":true,\"checks\":["         \
    "{\"name\":\"database\",\"status\":\"ok\",\"detail\":null,\"latency_ms\":3,\"hint\":null},"    \
    "{\"name\":\"provider_api\",\"status\":\"ok\",\"detail\":\"reachable\",\"latency_ms\":120,"    \
    "\"hint\":null}]}"
#define DOCTOR_BAD                                                                                 \
    "{\"ok\":false,\"active_provider\":\"hetzner\",\"tailscale_enabled\":false,\"checks\":["       \
    "{\"name\":\"provider_api\",\"status\":\"error\",\"detail\":\"timeout\",\"latency_ms\":null,"  \
    "\"hint\":\"check the API token\"}]}"

#define PROXY_CREATED "{\"name\":\"web\",\"status\":\"created\"}"
#define PROXY_ATTACHED "{\"name\":\"web\",\"host_id\":\"" ID1 "\",\"status\":\"attached\"}"

#endif
