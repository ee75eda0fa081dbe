/* The provider interface of litterbox-server: what turns a validated
 * create into a running host, and tears it down again.
 *
 * Three implementations: provider_fake.c (no processes; answers after
 * --fake-delay), provider_local.c (one OpenSSH sshd per host on
 * 127.0.0.1, sessions under bubblewrap) and provider_gvisor.c (one gVisor
 * sandbox per host, sessions entering it through its sshd). The HTTP layer and the store never
 * look inside a provider; everything a provider needs to find its host again
 * after a restart is in host_info.state, which the store persists. */
#ifndef LBS_PROVIDER_H
#define LBS_PROVIDER_H

#include <stddef.h>

/* A create, already validated by the HTTP layer (docs/wire.md rules). */
typedef struct host_spec {
    const char *id;            /* UUID the server chose */
    const char *name;          /* "sb-" + 12 lowercase hex */
    const char *image;         /* NULL: the provider's default */
    const char *const *env_keys; /* env_count keys, [A-Za-z_][A-Za-z0-9_]* */
    const char *const *env_values; /* any bytes but NUL, as given */
    size_t env_count;
    const char *instance_type; /* NULL when absent */
    long long disk_gb;         /* 0 when absent */
} host_spec;

/* What a provider hands back for a created host. Every string is malloc'd
 * and owned by the struct; host_info_free() releases it (wiping
 * private_key). */
typedef struct host_info {
    char *image;         /* the image actually used */
    char *ssh_host;      /* e.g. "127.0.0.1" */
    int ssh_port;
    char *ssh_username;  /* "" when none */
    char *known_hosts;   /* OpenSSH known_hosts line(s) for ssh_host:ssh_port */
    char *private_key;   /* OpenSSH private key, or NULL */
    char *instance_type; /* NULL when none */
    long long disk_gb;   /* 0 when none */
    char *state;         /* provider-private, persisted: how to find it again */
} host_info;

void host_info_free(host_info *info);

/* One line of GET /doctor. */
typedef struct provider_check {
    char status[16];     /* "ok" or "error" */
    char detail[256];    /* "" when none */
    char hint[256];      /* "" when none */
    long long latency_ms;/* -1 when not measured */
} provider_check;

typedef struct provider provider;

struct provider {
    const char *name; /* "local", "gvisor", "fake": the value of `provider` on the wire */

    /* Refuse what this provider cannot do, before a host record exists.
     * Return 0, or -1 with a detail for a 400 (e.g. an unknown image, or
     * instance_type / disk_gb on a provider without sizes). */
    int (*check)(provider *p, const host_spec *spec, char *detail, size_t detail_size);

    /* Provision: blocks until the host is ready (the server calls it on a
     * worker thread, never on an HTTP thread). Return 0 with *out filled, or
     * -1 with why (the host then becomes `error` with last_error = why; the
     * client gets 502 PROVISIONING_FAILED). Must leave nothing behind on
     * failure. */
    int (*create)(provider *p, const host_spec *spec, host_info *out, char *why,
                  size_t why_size);

    /* Remove every process, file and key of the host. Idempotent: a host
     * already gone is success. Return 0, or -1 with why. */
    int (*destroy)(provider *p, const char *id, const char *state, char *why, size_t why_size);

    /* Is the host still serving? 1 alive, 0 dead (with why), for the start-up
     * check of live hosts. */
    int (*alive)(provider *p, const char *id, const char *state, char *why, size_t why_size);

    /* The provider's line for GET /doctor. */
    void (*doctor)(provider *p, provider_check *out);

    /* Release the provider itself (never its hosts: they outlive a restart). */
    void (*close)(provider *p);

    void *data;
};

/* Options a provider may need, from the command line. */
typedef struct provider_config {
    const char *state_dir;  /* the server's state folder; a provider keeps its files below it */
    double fake_delay_s;    /* --fake-delay */
} provider_config;

/* Each returns NULL with why filled when it cannot start. */
provider *provider_fake_new(const provider_config *cfg, char *why, size_t why_size);
provider *provider_local_new(const provider_config *cfg, char *why, size_t why_size);
provider *provider_gvisor_new(const provider_config *cfg, char *why, size_t why_size);

/* The local provider only (added for it): files and folders outside the
 * state folder that no session may see, e.g. the --token-file and a --db
 * kept elsewhere. paths is NULL-terminated and copied. 0, or -1 when out of
 * memory. Call it before the first create. */
int provider_local_set_private_paths(provider *p, const char *const *paths);

/* The gvisor provider only: where scripts/gvisor-image.sh built its images
 * (--gvisor-images; the default is /var/cache/litterbox/gvisor). Copied.
 * 0, or -1 when out of memory. Call it before the first create. */
int provider_gvisor_set_images(provider *p, const char *images_dir);

/* The gvisor provider only: keep up to size sandboxes of the default size
 * and image started, for creates that ask for exactly that
 * (--warm-pool; 0, the default, keeps none). 0, or -1 when the pool
 * cannot start. Call it once, before the first create. */
int provider_gvisor_set_warm_pool(provider *p, int size);

#endif
